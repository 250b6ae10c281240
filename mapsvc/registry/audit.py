"""The audit log of personal-data access (reveals and exports)."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.geojson import page


async def audit_entries(conn: AsyncConnection, *, limit: int, offset: int) -> list[dict]:
    rows = (await conn.execute(text(f"""
        SELECT l.id, l.at, a.username, l.action, l.entity, l.entity_id, l.field, l.reason
          FROM audit_log l JOIN account a ON a.id = l.account_id
         ORDER BY l.id DESC {page(limit, offset)}"""))).mappings().all()
    return [dict(r) for r in rows]
