"""Is the service up, and on which database."""

from fastapi import APIRouter, Request
from sqlalchemy import text

from mapsvc.api.deps import statements

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request) -> dict:
    """200 while the service reaches its database, with the PostgreSQL and PostGIS versions
    (no sign-in: for a load balancer's or a monitor's checks)."""
    async with statements(request) as conn:
        row = (await conn.execute(text(
            "SELECT current_setting('server_version') AS database, postgis_lib_version() AS postgis"
        ))).one()
    return {"status": "ok", "database": f"PostgreSQL {row.database}", "postgis": row.postgis}
