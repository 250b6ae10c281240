"""Household visits (户户走到): a grid worker records who was visited, when and where."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import registry_scope
from mapsvc.accounts.model import Account
from mapsvc.errors import NotFound
from mapsvc.geojson import Filters


async def record_visit(conn: AsyncConnection, account: Account, household_id: int, *,
                       lon: float | None, lat: float | None, note: str = "") -> dict:
    """A visit to a household in the account's jurisdiction (404 for any other household)."""
    f = Filters(params={"hh": household_id})
    f.add("h.id = :hh")
    registry_scope(account, f, alias="a")
    found = (await conn.execute(text(
        f"SELECT h.id FROM household h JOIN house ho ON ho.id = h.house_id "
        f"JOIN address a ON a.id = ho.address_id WHERE {f.where()}"), f.params)).first()
    if found is None:
        raise NotFound(f"no household {household_id}", field="household_id")
    row = (await conn.execute(text("""
        INSERT INTO visit (household_id, account_id, geom, note)
        VALUES (:hh, :account,
                CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL
                     ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END, :note)
        RETURNING id, at"""), {"hh": household_id, "account": account.id, "lon": lon,
                                "lat": lat, "note": note})).one()
    return {"id": row.id, "household_id": household_id, "at": row.at.isoformat()}
