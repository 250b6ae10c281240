"""Photos and attachments: checked by their content, stored once by content hash, served
without their metadata.

An upload must be a JPEG, PNG or WebP image by its bytes, whatever its name says, and no larger
than the setting. When and where it was taken are kept as data (a grid worker's photo is
evidence of where the worker stood, and when): its EXIF time and GPS position, or else those
the phone sends with it (a copy the phone shrank has no EXIF left). The copy that is served is
re-encoded without EXIF and turned upright, and a thumbnail is made beside it. The id is the
SHA-256 of the uploaded bytes, so sending the same photo again (a retry on a weak signal)
stores nothing twice.
"""

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import incident_scope
from mapsvc.accounts.model import Account
from mapsvc.errors import InvalidInput, NotFound
from mapsvc.geojson import Filters
from mapsvc.incidents.model import LOCAL_TIME
from mapsvc.settings import MediaSettings

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
           "WEBP": ("image/webp", "webp")}
FORMATS_BY_TYPE = {t: ext for t, ext in FORMATS.values()}
Image.MAX_IMAGE_PIXELS = 80_000_000  # a phone photo is a few tens of megapixels at most


@dataclass
class Photo:
    id: str                     # SHA-256 of the uploaded bytes
    content_type: str
    width: int
    height: int
    taken_at: datetime | None
    lon: float | None
    lat: float | None


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    try:
        def degrees(values, ref, negative):
            d, m, s = (float(v) for v in values)
            value = d + m / 60 + s / 3600
            return -value if ref == negative else value
        lat = degrees(gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLatitudeRef], "S")
        lon = degrees(gps[ExifTags.GPS.GPSLongitude], gps[ExifTags.GPS.GPSLongitudeRef], "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None, None
    return (lon, lat) if abs(lon) <= 180 and abs(lat) <= 90 else (None, None)


def _taken_at(exif: Image.Exif) -> datetime | None:
    value = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal) \
        or exif.get(ExifTags.Base.DateTime)
    try:  # cameras write local time without a zone: China Standard Time
        return datetime.strptime(str(value).strip("\x00 "), "%Y:%m:%d %H:%M:%S").replace(
            tzinfo=LOCAL_TIME)
    except (TypeError, ValueError):
        return None


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a crash leaves no half-written photo under its final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as f:
        f.write(data)
        temporary = f.name
    os.replace(temporary, path)


def _encoded(image: Image.Image, kind: str, **options) -> bytes:
    out = io.BytesIO()
    if kind == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.save(out, format=kind, **options)
    return out.getvalue()


def read_photo(data: bytes, config: MediaSettings) -> tuple[Photo, bytes, bytes]:
    """Check ``data``; return what it is, the copy to serve and its thumbnail."""
    if len(data) > config.max_bytes:
        raise InvalidInput(f"larger than {config.max_bytes} bytes", field="file")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise InvalidInput("not a JPEG, PNG or WebP image", field="file") from None
    if image.format not in FORMATS:
        raise InvalidInput(f"a {image.format} image; send JPEG, PNG or WebP", field="file")
    kind = image.format
    exif = image.getexif()
    lon, lat = _gps(exif)
    photo = Photo(hashlib.sha256(data).hexdigest(), FORMATS[kind][0], image.width, image.height,
                  _taken_at(exif), lon, lat)
    upright = ImageOps.exif_transpose(image)  # the served copy carries no EXIF
    served = _encoded(upright, kind, quality=90) if kind != "PNG" else _encoded(upright, kind)
    thumb = upright.copy()
    thumb.thumbnail((config.thumb_px, config.thumb_px))
    return photo, served, _encoded(thumb, "JPEG", quality=80)


def _paths(config: MediaSettings, photo_id: str, extension: str) -> tuple[Path, Path]:
    folder = config.root_dir() / photo_id[:2]
    return folder / f"{photo_id}.{extension}", folder / f"{photo_id}.thumb.jpg"


_STORE = text("""
INSERT INTO media (id, content_type, bytes, width, height, taken_at, geom, uploaded_by, name)
VALUES (:id, :content_type, :bytes, :width, :height, :taken_at,
        CASE WHEN CAST(:lon AS float8) IS NOT NULL
             THEN ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END, :uploaded_by, :name)
ON CONFLICT (id) DO NOTHING
RETURNING id
""")


async def store_photo(conn: AsyncConnection, data: bytes, name: str, account: Account,
                      config: MediaSettings, *, taken_at: datetime | None = None,
                      lon: float | None = None, lat: float | None = None) -> tuple[dict, bool]:
    """Store an upload (files first, then its row), taken when and where its EXIF says, or
    else at ``taken_at`` and (``lon``, ``lat``) as the phone says; return it and whether it
    is new."""
    photo, served, thumb = read_photo(data, config)
    if photo.taken_at is None:
        photo = replace(photo, taken_at=taken_at)
    if photo.lon is None:
        photo = replace(photo, lon=lon, lat=lat)
    main, small = _paths(config, photo.id, FORMATS_BY_TYPE[photo.content_type])
    if not main.exists():
        _write(main, served)
        _write(small, thumb)
    created = (await conn.execute(_STORE, {
        **photo.__dict__, "bytes": len(data), "uploaded_by": account.id,
        "name": name[:200]})).first() is not None
    return await media_doc(conn, photo.id, account), created


_DOC = text("""
SELECT m.id, m.content_type, m.bytes, m.width, m.height, m.taken_at, m.name, m.uploaded_at,
       ST_X(m.geom) AS lon, ST_Y(m.geom) AS lat, m.uploaded_by
  FROM media m WHERE m.id = :id
""")


async def media_doc(conn: AsyncConnection, photo_id: str, account: Account) -> dict:
    """A photo's data, for whoever uploaded it or may read a case it is attached to."""
    row = (await conn.execute(_DOC, {"id": photo_id})).mappings().first()
    if row is None or not await _may_see(conn, account, photo_id, row["uploaded_by"]):
        raise NotFound(f"no photo {photo_id}", field="id")
    doc = {k: v for k, v in row.items() if k != "uploaded_by"}
    return {**doc, "url": f"/api/v1/media/{photo_id}",
            "thumbnail_url": f"/api/v1/media/{photo_id}/thumbnail"}


async def _may_see(conn: AsyncConnection, account: Account, photo_id: str,
                   uploaded_by: int) -> bool:
    if uploaded_by == account.id:
        return True
    f = Filters(params={"photo": photo_id})
    incident_scope(account, f)
    return (await conn.execute(text(f"""
        SELECT EXISTS (SELECT 1 FROM attachment a JOIN incident d ON d.id = a.incident_id
                        WHERE a.media_id = :photo AND {f.where()})"""), f.params)).scalar_one()


async def photo_file(conn: AsyncConnection, photo_id: str, account: Account, *,
                     thumbnail: bool, config: MediaSettings) -> tuple[Path, str]:
    doc = await media_doc(conn, photo_id, account)
    main, small = _paths(config, photo_id, FORMATS_BY_TYPE[doc["content_type"]])
    return (small, "image/jpeg") if thumbnail else (main, doc["content_type"])


async def attach(conn: AsyncConnection, ids: list[str], account: Account,
                 logged: dict[int, int]) -> None:
    """Attach photos to logged steps (``logged``: each case's log row): photos the account may
    see (its own uploads, mostly)."""
    for photo_id in ids:  # a handful at most (the API caps the list)
        try:
            await media_doc(conn, photo_id, account)
        except NotFound:
            raise InvalidInput(f"no photo {photo_id}: upload it first", field="attachments") \
                from None
    await conn.execute(text("""
        INSERT INTO attachment (media_id, incident_id, log_id)
        SELECT m.id, s.incident, s.log
          FROM unnest(CAST(:ids AS text[])) m(id),
               unnest(CAST(:incidents AS bigint[]), CAST(:logs AS bigint[])) s(incident, log)
            ON CONFLICT DO NOTHING"""),
        {"ids": ids, "incidents": list(logged), "logs": list(logged.values())})
