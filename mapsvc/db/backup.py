"""Backups: the database in pg_dump's custom format, and the photos beside it.

A backup is a folder: ``database.dump`` and ``media/``. Photos are named by their content's
hash and never change, so a backup into the same folder again copies only the new ones. The
database is dumped before the photos are copied: every photo its dump names is copied (a
photo's file is written before its row). The privacy key is not in it: without the key the ID
numbers it holds cannot be read, which is what keeps a lost backup from giving them away. Keep
a copy of the key apart.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mapsvc import settings
from mapsvc.db.cluster import Cluster, ClusterError
from mapsvc.db.engine import sync_engine
from mapsvc.db.migrate import upgrade
from mapsvc.errors import Conflict, InvalidInput
from mapsvc.registry.privacy import ID_NUMBER, decrypt

DUMP = "database.dump"
MEDIA = "media"


@dataclass
class Copied:
    """What a backup or restore did: the dump's size, the photos' files copied and those
    already there, and (a restore) whether this service's privacy key reads the ID numbers."""

    dump_bytes: int
    copied: int
    present: int
    key_fits: bool = True


def _tool(name: str, url: str | None, *args: str) -> None:
    """Run PostgreSQL's ``name`` (against ``url``, its password in the environment: never on a
    command line others may read)."""
    env, database = dict(os.environ), []
    if url is not None:
        address = make_url(url).set(drivername="postgresql")
        env["PGPASSWORD"] = address.password or ""
        database = [f"--dbname={address.set(password=None).render_as_string(False)}"]
    done = subprocess.run([str(Cluster(settings.ClusterSettings()).bindir() / name), *args,
                           *database], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise ClusterError(f"{name} failed: {done.stderr.strip()}")


def _copy_files(source: Path, target: Path) -> tuple[int, int]:
    """Copy each file under ``source`` missing under ``target`` (whole or not at all);
    return how many were copied and how many were there already."""
    copied = present = 0
    for file in sorted(source.rglob("*")) if source.is_dir() else ():
        if not file.is_file():
            continue
        there = target / file.relative_to(source)
        if there.exists() and there.stat().st_size == file.stat().st_size:
            present += 1
            continue
        there.parent.mkdir(parents=True, exist_ok=True)
        partial = there.with_name(there.name + ".partial")
        shutil.copy2(file, partial)
        os.replace(partial, there)
        copied += 1
    return copied, present


def backup(url: str, folder: Path) -> Copied:
    """Dump the database at ``url`` into ``folder``, then copy the photos missing there."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # people's data: its owner's alone
    partial = folder / f"{DUMP}.partial"
    partial.touch(mode=0o600)
    _tool("pg_dump", url, "--format=custom", "--no-owner", f"--file={partial}")
    os.replace(partial, folder / DUMP)
    copied, present = _copy_files(settings.media().root_dir(), folder / MEDIA)
    return Copied((folder / DUMP).stat().st_size, copied, present)


def check_backup(folder: Path) -> Path:
    """The dump of the backup in ``folder``, read through (its table of contents) before any
    database is touched for it."""
    dump = folder / DUMP
    if not dump.is_file():
        raise InvalidInput(f"{folder}: no {DUMP} (not a backup)", field="folder")
    try:
        _tool("pg_restore", None, "--list", str(dump))
    except ClusterError:
        raise InvalidInput(f"{dump}: not a dump pg_restore reads", field="folder") from None
    return dump


def restore(url: str, dump: Path) -> Copied:
    """Load a backup's dump (as ``check_backup`` gives it) into the empty database at ``url``
    (all of it, or nothing), bring it to the newest schema, and copy the backup's photos
    missing from the media folder."""
    if _scalar(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"):
        raise Conflict("the database holds tables already: restore into an empty one",
                       field="database")
    _tool("pg_restore", url, "--no-owner", "--exit-on-error", "--single-transaction", str(dump))
    upgrade(url)
    copied, present = _copy_files(dump.parent / MEDIA, settings.media().root_dir())
    return Copied(dump.stat().st_size, copied, present, _key_fits(url))


def _scalar(url: str, sql: str):
    engine = sync_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _key_fits(url: str) -> bool:
    """Whether this service's privacy key reads the ID numbers restored (one of them): a backup
    restored on another machine needs the key of the service that made it."""
    sealed = _scalar(url, "SELECT id_number_enc FROM person WHERE id_number_enc IS NOT NULL "
                          "LIMIT 1")
    try:
        return sealed is None or decrypt(sealed, ID_NUMBER) is not None
    except InvalidTag:
        return False
