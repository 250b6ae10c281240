"""Household visits (户户走到): a grid worker records who was visited, when and where."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.model import Account
from mapsvc.errors import Conflict
from mapsvc.registry.queries import household_in_reach


async def record_visit(conn: AsyncConnection, account: Account, household_id: int, *,
                       lon: float | None, lat: float | None, note: str = "",
                       client_id: UUID | None = None,
                       at: datetime | None = None) -> tuple[dict, bool]:
    """A visit to a household in the account's jurisdiction (404 for any other household),
    made ``at`` (default: now); with a client id, the same visit sent again is the one
    recorded. Returns it and whether it is new."""
    await household_in_reach(conn, account, household_id)
    params = {"hh": household_id, "account": account.id, "lon": lon, "lat": lat, "note": note,
              "client_id": client_id, "at": at}
    row = (await conn.execute(text("""
        INSERT INTO visit (household_id, account_id, geom, note, client_id, at)
        VALUES (:hh, :account,
                CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL
                     ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END, :note, :client_id,
                least(CAST(:at AS timestamptz), now()))
        ON CONFLICT (client_id) DO NOTHING
        RETURNING id, household_id, at"""), params)).first()
    created = row is not None
    if not created:
        row = (await conn.execute(text(
            "SELECT id, household_id, at FROM visit WHERE client_id = :client_id "
            "AND account_id = :account"), params)).first()
        if row is None:
            raise Conflict(f"client_id {client_id} names another account's visit",
                           field="client_id")
    return {"id": row.id, "household_id": row.household_id, "at": row.at.isoformat()}, created
