"""Backups: the database and its photos into a folder, and back into an empty database, all
or nothing; a folder that holds no backup drops nothing."""

import base64
import io
import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from PIL import Image
from sqlalchemy.engine import make_url

from mapsvc.db.engine import conninfo
from mapsvc.registry.privacy import ID_NUMBER, encrypt, lookup_hash
from mapsvc.settings import MediaSettings

TABLES = ("region", "grid_version", "account", "incident", "incident_log", "media", "attachment")
RESTORED = "mapsvc_test_restored"
ID = "110101199003074514"


def _mapsvc(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mapsvc.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=300)


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(conninfo(url)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.fixture
def restored(database_url):
    url = make_url(database_url).set(database=RESTORED)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(conninfo(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {RESTORED} WITH (FORCE)")


def test_a_backup_restored_holds_what_was_backed_up_with_its_photos(clients, grids, database_url,
                                                                     restored, tmp_path):
    api = clients["admin"]
    shot = io.BytesIO()
    Image.new("RGB", (640, 480), "navy").save(shot, format="JPEG")
    photo = api.post("/media", files={"file": ("a.jpg", shot.getvalue(), "image/jpeg")}).json()
    p = grids.geometry.iloc[3].representative_point()
    case = api.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "0601",
                                        "lon": p.x, "lat": p.y, "description": "备份之前",
                                        "attachments": [photo["id"]]}).json()["id"]
    folder, media = tmp_path / "backup", tmp_path / "media"
    backed = _mapsvc("backup", str(folder))
    assert backed.returncode == 0, backed.stderr
    assert "privacy key is not in the backup" in backed.stderr
    assert (folder.stat().st_mode & 0o777, (folder / "database.dump").stat().st_mode & 0o777) \
        == (0o700, 0o600)
    again = _mapsvc("backup", str(folder))  # photos already there are not copied again
    assert "photos: 0 files copied" in again.stdout
    before = _counts(database_url)

    into = {"MAPSVC_DATABASE_NAME": RESTORED, "MAPSVC_MEDIA_ROOT": str(media)}
    done = _mapsvc("restore", str(folder), **into)
    assert done.returncode == 0, done.stderr
    assert _counts(restored) == before
    with psycopg.connect(conninfo(restored)) as conn:
        assert conn.execute("SELECT description FROM incident WHERE id = %s",
                            [case]).fetchone() == ("备份之前",)
    name = f"{photo['id'][:2]}/{photo['id']}.jpg"
    assert (media / name).read_bytes() == (MediaSettings().root_dir() / name).read_bytes()

    refused = _mapsvc("restore", str(folder), **into)  # into a database that holds tables
    assert refused.returncode == 2 and "holds tables already" in refused.stderr
    assert _mapsvc("restore", str(folder), "--replace", **into).returncode == 0
    assert _counts(restored) == before


def test_a_restore_says_when_the_privacy_key_cannot_read_the_id_numbers(database_url, restored,
                                                                         tmp_path):
    """Restored on a machine with another privacy key (its own, made at first use), the ID
    numbers cannot be read: the restore says so, and how to mend it; with the key, it is whole."""
    with psycopg.connect(conninfo(database_url)) as conn:
        person = conn.execute(
            "INSERT INTO person (name, id_number_enc, id_number_hash, registration, care_tags) "
            "VALUES ('备份测试', %s, %s, 'resident', '{}') RETURNING id",
            [encrypt(ID, ID_NUMBER), lookup_hash(ID)]).fetchone()[0]
    try:
        folder = tmp_path / "backup"
        assert _mapsvc("backup", str(folder)).returncode == 0
        other = base64.urlsafe_b64encode(os.urandom(32)).decode()
        into = {"MAPSVC_DATABASE_NAME": RESTORED, "MAPSVC_MEDIA_ROOT": str(tmp_path / "media")}
        elsewhere = _mapsvc("restore", str(folder), **into, MAPSVC_PRIVACY_KEY=other)
        assert elsewhere.returncode == 1
        assert "encrypted with another privacy key" in elsewhere.stderr
        assert _mapsvc("restore", str(folder), "--replace", **into).returncode == 0
    finally:
        with psycopg.connect(conninfo(database_url)) as conn:
            conn.execute("DELETE FROM person WHERE id = %s", [person])


@pytest.mark.parametrize("dump", [None, b"not a dump at all"])
def test_a_folder_that_holds_no_backup_is_refused_and_drops_nothing(restored, tmp_path, dump):
    url = make_url(restored)
    with psycopg.connect(conninfo(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {RESTORED}")
    with psycopg.connect(conninfo(restored)) as conn:
        conn.execute("CREATE TABLE kept (what text)")
        conn.execute("INSERT INTO kept VALUES ('data')")
    folder = tmp_path / "backup"
    folder.mkdir()
    if dump is not None:
        (folder / "database.dump").write_bytes(dump)
    refused = _mapsvc("restore", str(folder), "--replace", MAPSVC_DATABASE_NAME=RESTORED)
    assert refused.returncode == 2 and "FOLDER:" in refused.stderr
    with psycopg.connect(conninfo(restored)) as conn:
        assert conn.execute("SELECT what FROM kept").fetchall() == [("data",)]
