"""The registry's files imported, each kept (``registry_import``, append-only): when, by whom
(an account and the region it is bound to, or the system user at a shell), of what kind, the
file's name, and how many of its rows were stored, updated and refused. A centre reads those of
the accounts of its region; an administrator, and a centre bound to no region, all of them."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.model import Account, Role
from mapsvc.geojson import Filters, page

_KEPT = text("""
INSERT INTO registry_import (account_id, origin, region_code, kind, file, rows, stored, updated,
                             rejected)
VALUES (:account, :origin, :region, :kind, :file, :rows, :stored, :updated, :rejected)""")


async def keep_import(conn: AsyncConnection, account: Account | None, origin: str | None,
                      file: str | None, kind: str, counts: dict[str, int]) -> None:
    """A file of ``kind`` imported by ``account`` (or, with none, ``origin``), in the caller's
    transaction; ``counts``: its rows, and those stored, updated and rejected."""
    await conn.execute(_KEPT, {"account": account.id if account else None, "origin": origin,
                               "region": account.region_code if account else None,
                               "kind": kind, "file": file, **counts})


async def imports_seen(conn: AsyncConnection, account: Account | None, *, limit: int = 100,
                       offset: int = 0) -> list[dict]:
    """The files imported that ``account`` (none: at a shell) may read, the newest first."""
    f = Filters()
    if account is not None and account.role is not Role.admin and account.region_code:
        f.add(f.code_prefix("i.region_code", "region", account.region_code))
    rows = await conn.execute(text(f"""
        SELECT i.at, coalesce(a.username, i.origin) AS username, i.kind, i.file, i.rows,
               i.stored, i.updated, i.rejected
          FROM registry_import i LEFT JOIN account a ON a.id = i.account_id
         WHERE {f.where()}
         ORDER BY i.at DESC, i.id DESC {page(limit, offset)}"""), f.params)
    return [dict(r) for r in rows.mappings()]
