"""Standard addresses and the houses and households on them, each address in its grid."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.errors import InvalidInput
from mapsvc.geo.crs import CRS, to_wgs84
from mapsvc.registry.addresses import normalise, split

_ADD_ADDRESS = text("""
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom),
loc AS (SELECT l.*, g.village_code FROM p
         CROSS JOIN LATERAL locate_grid(p.geom, now(), :tolerance) l
          LEFT JOIN grid g ON g.id = l.grid_id)
INSERT INTO address (full_text, county_code, street, number, compound, building, entrance,
                     floor, room, geom, grid_id, grid_version_id, village_code, assignment)
SELECT :full_text, :county, :street, :number, :compound, :building, :entrance, :floor, :room,
       p.geom, loc.grid_id, loc.grid_version_id, loc.village_code, loc.method
  FROM p, loc
ON CONFLICT (county_code, full_text) DO UPDATE SET full_text = excluded.full_text
RETURNING id
""")


async def add_address(conn: AsyncConnection, county_code: str, address: str, lon: float,
                      lat: float, crs: CRS = CRS.wgs84) -> int:
    """The standard address for ``address`` in the county: found if its normalised text is
    already there, else created at the point and assigned to its grid."""
    full_text = normalise(address)
    if not full_text:
        raise InvalidInput("empty address", field="address")
    x, y = (float(v) for v in to_wgs84(lon, lat, crs))
    return (await conn.execute(_ADD_ADDRESS, {
        "lon": x, "lat": y, "tolerance": settings.assignment().tolerance_m,
        "full_text": full_text, "county": county_code, **split(full_text).as_dict()})).scalar_one()


async def add_house(conn: AsyncConnection, address_id: int, *, use: str = "residential",
                    rental: bool = False, area_m2: float | None = None) -> int:
    return (await conn.execute(text("""
        INSERT INTO house (address_id, use, rental, area_m2) VALUES (:a, :use, :rental, :area)
        ON CONFLICT (address_id) DO UPDATE SET use = excluded.use RETURNING id"""),
        {"a": address_id, "use": use, "rental": rental, "area": area_m2})).scalar_one()


async def add_household(conn: AsyncConnection, house_id: int, number: str | None = None) -> int:
    return (await conn.execute(text(
        "INSERT INTO household (house_id, number) VALUES (:h, :n) RETURNING id"),
        {"h": house_id, "n": number})).scalar_one()
