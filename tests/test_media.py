"""Photos: checked by content, kept once by hash with their EXIF time and place, served upright
without EXIF, attached to the steps of a case and readable only where the case is."""

import hashlib
import io
import os
import uuid
from datetime import datetime

import pytest
from PIL import ExifTags, Image
from pyproj import Geod


def _photo(size=(64, 48), orientation: int | None = None, gps=True, colour="red",
           with_exif=True) -> bytes:
    image = Image.new("RGB", size, colour)
    if not with_exif:
        out = io.BytesIO()
        image.save(out, format="JPEG")
        return out.getvalue()
    exif = Image.Exif()
    exif[ExifTags.Base.DateTime] = "2026:11:20 09:30:00"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:11:20 09:15:00"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update({
            ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (22.0, 47.0, 30.0),
            ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (115.0, 22.0, 12.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def _upload(client, data: bytes, name="photo.jpg"):
    return client.post("/media", files={"file": (name, data, "image/jpeg")})


def test_a_photo_is_stored_once_with_its_time_and_place_and_served_without_them(clients):
    worker = clients["worker"]
    data = _photo(size=(80, 40), orientation=6)  # taken with the phone on its side
    r = _upload(worker, data)
    assert r.status_code == 201
    doc = r.json()
    assert doc["id"] == hashlib.sha256(data).hexdigest()
    assert datetime.fromisoformat(doc["taken_at"]) == datetime.fromisoformat(
        "2026-11-20T09:15:00+08:00")  # the camera's local time, China Standard Time
    assert doc["lat"] == pytest.approx(22 + 47 / 60 + 30 / 3600)
    assert doc["lon"] == pytest.approx(115 + 22 / 60 + 12 / 3600)
    again = _upload(worker, data, name="retry.jpg")
    assert again.status_code == 200 and again.json()["id"] == doc["id"]

    served = worker.get(f"/media/{doc['id']}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(served.content))
    assert image.size == (40, 80)  # turned upright
    assert not image.getexif()  # no time, no place, no orientation left
    thumb = Image.open(io.BytesIO(worker.get(f"/media/{doc['id']}/thumbnail").content))
    assert max(thumb.size) <= 320


def test_a_photo_with_no_exif_keeps_the_time_and_place_the_phone_sends_with_it(clients):
    """A copy the phone shrank has no EXIF left: it is taken when and where the phone says;
    a photo's own EXIF says it better."""
    worker = clients["worker"]
    sent = {"taken_at": "2026-11-21T10:05:00+08:00", "lon": "115.3", "lat": "22.8"}
    r = worker.post("/media", data=sent, files={"file": (
        "photo.jpg", _photo(gps=False, colour="purple", with_exif=False), "image/jpeg")})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert datetime.fromisoformat(doc["taken_at"]) == datetime.fromisoformat(sent["taken_at"])
    assert (doc["lon"], doc["lat"]) == (115.3, 22.8)
    own = worker.post("/media", data=sent, files={"file": ("photo.jpg", _photo(colour="olive"),
                                                          "image/jpeg")}).json()
    assert datetime.fromisoformat(own["taken_at"]) == datetime.fromisoformat(
        "2026-11-20T09:15:00+08:00")
    assert own["lon"] == pytest.approx(115 + 22 / 60 + 12 / 3600)
    for half, named in (({"lon": "115.3"}, "lat"), ({"lat": "22.8"}, "lon")):
        r = worker.post("/media", data=half, files={"file": (
            "photo.jpg", _photo(gps=False, colour="navy", with_exif=False), "image/jpeg")})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == named, r.text


@pytest.mark.parametrize("name,data,reason", [
    ("fake.jpg", b"MZ\x90\x00 not an image at all", "not a JPEG, PNG or WebP image"),
    ("anim.jpg", None, "GIF"),
])
def test_what_is_not_a_photo_is_refused_by_its_content(clients, name, data, reason):
    if data is None:
        out = io.BytesIO()
        Image.new("RGB", (4, 4)).save(out, format="GIF")
        data = out.getvalue()
    r = _upload(clients["worker"], data, name=name)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "file" and reason in r.json()["detail"][0]["msg"]


def test_a_photo_larger_than_allowed_is_refused(clients):
    r = _upload(clients["worker"], os.urandom(16 * 1024 * 1024))
    assert r.status_code == 422 and "larger than" in r.json()["detail"][0]["msg"]


def test_photos_attach_to_steps_and_are_seen_where_the_case_is(clients, accounts, grids):
    from tests.test_workflow import do

    worker, admin, department = clients["worker"], clients["admin"], clients["department"]
    grid = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()
    case = worker.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "0601",
                                           "lon": p.x, "lat": p.y}).json()["id"]
    assert do(worker, case, "self_resolve").status_code == 422  # neither note nor photo
    after = _upload(worker, _photo(colour="green")).json()["id"]
    missing = hashlib.sha256(b"never uploaded").hexdigest()
    r = do(worker, case, "self_resolve", attachments=[missing])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "attachments"
    assert do(worker, case, "self_resolve", attachments=[after]).status_code == 200
    step = admin.get(f"/incidents/{case}/timeline").json()[-1]
    assert step["action"] == "self_resolve" and [a["id"] for a in step["attachments"]] == [after]
    # with when it was taken and how far from the case (geodesic, on the WGS84 ellipsoid)
    [shot] = step["attachments"]
    assert datetime.fromisoformat(shot["taken_at"]) == datetime.fromisoformat(
        "2026-11-20T09:15:00+08:00")
    _, _, metres = Geod(ellps="WGS84").inv(115 + 22 / 60 + 12 / 3600, 22 + 47 / 60 + 30 / 3600,
                                           p.x, p.y)
    assert shot["distance_m"] == pytest.approx(metres, abs=1)
    assert admin.get(f"/media/{after}").status_code == 200  # sees the case
    assert department.get(f"/media/{after}").status_code == 404  # does not
    assert clients["planner"].post("/media", files={"file": ("a.jpg", _photo())}).status_code == 403


def test_a_report_comes_with_its_photos_or_not_at_all(clients, accounts, grids):
    worker, admin = clients["worker"], clients["admin"]
    grid = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()
    photo = _upload(worker, _photo(colour="blue")).json()["id"]
    report = {"client_id": str(uuid.uuid4()), "category": "0603", "lon": p.x, "lat": p.y,
              "description": "井盖缺失"}
    missing = hashlib.sha256(b"not uploaded").hexdigest()
    r = worker.post("/incidents", json={**report, "attachments": [photo, missing]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "attachments"
    r = worker.post("/incidents", json={**report, "attachments": [photo]})
    assert r.status_code == 201  # the refused one stored nothing under this client id
    case = r.json()["id"]
    assert [a["id"] for a in admin.get(f"/incidents/{case}/timeline").json()[0]["attachments"]
            ] == [photo]
    again = worker.post("/incidents", json={**report, "attachments": [photo]})
    assert again.status_code == 200 and again.json()["id"] == case
    assert len(admin.get(f"/incidents/{case}/timeline").json()[0]["attachments"]) == 1
