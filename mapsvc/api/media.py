"""Photos: upload one (from a phone, on a weak signal: retries store nothing twice), read it
back without its metadata, or its thumbnail."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.encoders import jsonable_encoder

from mapsvc import settings
from mapsvc.accounts.model import REPORTERS, Role
from mapsvc.api.auth import SignedIn
from mapsvc.api.deps import statements, transaction
from mapsvc.errors import Forbidden, InvalidInput
from mapsvc.incidents.model import ReportTime
from mapsvc.media import photo_file, store_photo

router = APIRouter(prefix="/media", tags=["media"])
UPLOADERS = REPORTERS | {Role.department}
PhotoId = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the photo's SHA-256")]


@router.post("", status_code=201, responses={
    200: {"description": "this photo was uploaded before: the stored one"},
    422: {"description": "not a JPEG, PNG or WebP image, or too large"}})
async def upload(
        request: Request, account: SignedIn,
        file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
        taken_at: Annotated[ReportTime | None, Form(
            description="when it was taken, for a photo with no EXIF time (a copy the phone "
                        "shrank): ISO 8601, no zone meaning China Standard Time")] = None,
        lon: Annotated[float | None, Form(
            ge=-180, le=180, allow_inf_nan=False,
            description="where it was taken (WGS84), for a photo with no EXIF position")] = None,
        lat: Annotated[float | None, Form(ge=-90, le=90, allow_inf_nan=False)] = None,
) -> JSONResponse:
    """Store a photo; answers its id (SHA-256), size, when and where it was taken (its EXIF
    time and position, else those sent with it), and URLs."""
    if account.role not in UPLOADERS:
        raise Forbidden(f"a {account.role} account does not upload photos", field="file")
    if (lon is None) != (lat is None):
        raise InvalidInput("a position needs both lon and lat", field="lat" if lat is None
                           else "lon")
    config = settings.media()
    data = await file.read(config.max_bytes + 1)
    async with transaction(request) as conn:
        doc, created = await store_photo(conn, data, file.filename or "", account, config,
                                         taken_at=taken_at, lon=lon, lat=lat)
    return JSONResponse(jsonable_encoder(doc), status_code=201 if created else 200)


async def _file(request: Request, account, photo_id: str, thumbnail: bool) -> FileResponse:
    async with statements(request) as conn:
        path, content_type = await photo_file(conn, photo_id, account, thumbnail=thumbnail,
                                              config=settings.media())
    # a photo never changes under its id
    return FileResponse(path, media_type=content_type,
                        headers={"Cache-Control": "private, max-age=31536000, immutable"})


@router.get("/{photo_id}", response_class=FileResponse)
async def photo(request: Request, account: SignedIn, photo_id: PhotoId) -> FileResponse:
    """The photo, upright and without EXIF, for its uploader or whoever may read its case."""
    return await _file(request, account, photo_id, thumbnail=False)


@router.get("/{photo_id}/thumbnail", response_class=FileResponse)
async def thumbnail(request: Request, account: SignedIn, photo_id: PhotoId) -> FileResponse:
    """The photo made small (for lists and a phone's weak signal), to whoever may see it."""
    return await _file(request, account, photo_id, thumbnail=True)
