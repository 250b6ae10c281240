"""Which grid holds a point. The rule itself is the SQL function ``locate_grid`` (migration 0001).

Tie-break, in order: a grid holding the point in its interior, then a dedicated grid over a
comprehensive one, then the lowest grid code. Outside every grid, the nearest grid within
``MAPSVC_ASSIGNMENT_TOLERANCE_M`` (ties to the lowest code); farther, unassigned.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.db.reads import Reads
from mapsvc.errors import InvalidInput
from mapsvc.geo.crs import CRS, to_wgs84
from mapsvc.incidents.model import Location, Point

# Used when a point lands in no grid: would it land in one with longitude and latitude swapped?
SWAPPED_COVERED = """
EXISTS (SELECT 1 FROM grid_version sw
         WHERE ST_Covers(sw.geom, ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326))
           AND sw.valid_from <= {at} AND (sw.valid_to IS NULL OR sw.valid_to > {at}))
"""


def swapped_point(lon, lat, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """The WGS84 point the reporter meant if they swapped longitude and latitude (NaN where the
    swapped pair is no valid coordinate)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    valid = (np.abs(lon) <= 90) & (np.abs(lat) <= 180)
    x, y = to_wgs84(np.where(valid, lat, 0.0), np.where(valid, lon, 0.0), crs)
    return np.where(valid, x, np.nan), np.where(valid, y, np.nan)


def normalised(raw_lon, raw_lat, raw_crs) -> tuple[np.ndarray, ...]:
    """Reported points, each in its CRS (``raw_crs``, an array of CRS names), as WGS84
    longitude and latitude, NaN where the latitude is out of range, and the WGS84 points they
    would be if longitude and latitude were swapped (``swapped_point``). Each CRS is converted
    once for all its points."""
    raw_lon, raw_lat = np.asarray(raw_lon, dtype=float), np.asarray(raw_lat, dtype=float)
    raw_crs = np.asarray(raw_crs)
    lon, lat = raw_lon.copy(), raw_lat.copy()
    swap_lon, swap_lat = np.full(len(lon), np.nan), np.full(len(lon), np.nan)
    for name in dict.fromkeys(raw_crs.tolist()):
        rows = raw_crs == name
        x, y = raw_lon[rows], raw_lat[rows]
        lon[rows], lat[rows] = to_wgs84(x, y, CRS(name))
        swap_lon[rows], swap_lat[rows] = swapped_point(x, y, CRS(name))
    out_of_range = np.abs(raw_lat) > 90
    lon[out_of_range], lat[out_of_range] = np.nan, np.nan
    return lon, lat, swap_lon, swap_lat


def swapped_pair(point: Point) -> tuple[float | None, float | None]:
    """``swapped_point`` of one reported point: None, None when the swapped pair is no
    coordinate."""
    x, y = (float(v) for v in swapped_point(point.lon, point.lat, point.crs))
    return (None, None) if x != x else (x, y)


def refusal(lon: float, lat: float, swapped: bool) -> InvalidInput:
    """Why a point that cannot be stored is refused: swapped, or else a latitude out of range
    (the only other way a checked point gets here)."""
    if swapped:
        return InvalidInput(f"lon={lon} and lat={lat} look swapped: the point lies in no grid, "
                            f"but lon={lat}, lat={lon} does", field="lon")
    return InvalidInput(f"lat={lat} must be between -90 and 90", field="lat")


_AT = "coalesce(CAST(:at AS timestamptz), now())"
_SWAPPED = "SELECT " + SWAPPED_COVERED.format(lon=":sx", lat=":sy", at=_AT) + " AS swapped"


def _swapped(point: Point, at: datetime | None) -> dict:
    """The parameters of the swapped test: sx and sy are None when the swapped pair is no
    coordinate (the test is then false)."""
    sx, sy = swapped_pair(point)
    return {"sx": sx, "sy": sy, "at": at}


async def looks_swapped(conn: AsyncConnection, point: Point, at: datetime | None) -> bool:
    params = _swapped(point, at)
    return params["sx"] is not None and (await conn.execute(text(_SWAPPED), params)).scalar_one()


# One statement: the grid, the regions above it (up to the county's city, where it has one)
# and, in no grid, whether the point swapped would be in one.
LOCATE = f"""
SELECT l.method, l.distance_m, l.grid_id, l.grid_version_id, g.code AS grid_code,
       g.name AS grid_name, gv.version, v.code AS village_code, v.name AS village_name,
       t.code AS township_code, t.name AS township_name, c.code AS county_code,
       c.name AS county_name, ci.code AS city_code, ci.name AS city_name,
       l.method = 'unassigned' AND
       {SWAPPED_COVERED.format(lon="CAST(:sx AS float8)", lat="CAST(:sy AS float8)", at=_AT)}
       AS swapped
  FROM locate_grid(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), {_AT}, :tolerance) l
  LEFT JOIN grid g ON g.id = l.grid_id
  LEFT JOIN grid_version gv ON gv.id = l.grid_version_id
  LEFT JOIN region v ON v.code = g.village_code
  LEFT JOIN region t ON t.code = v.parent_code
  LEFT JOIN region c ON c.code = t.parent_code
  LEFT JOIN region ci ON ci.code = c.parent_code
"""


# The other grids in force within :reach metres of the point, nearest first, as one JSON
# array: a phone whose fix may be off by so much may stand in one of them. Found through the
# grids' index by a box holding the circle (a degree of latitude is over 110 km, one of
# longitude over 111 km times the latitude's cosine).
NEARBY = f"""
SELECT coalesce(json_agg(json_build_object('code', n.code, 'name', n.name, 'distance_m', n.d)
                         ORDER BY n.d, n.code), '[]') AS nearby
  FROM (SELECT g.code, g.name,
               round(ST_Distance(gv.geom::geography, p.geom::geography)::numeric, 1)::float8 AS d
          FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom,
                       CAST(:reach AS float8) AS reach) p
          JOIN grid_version gv
            ON gv.geom && ST_Expand(p.geom, p.reach / greatest(111000 * cosd(:lat), 1e-9),
                                    p.reach / 110000)
           AND gv.valid_from <= {_AT} AND (gv.valid_to IS NULL OR gv.valid_to > {_AT})
           AND ST_DWithin(gv.geom::geography, p.geom::geography, p.reach)
          JOIN grid g ON g.id = gv.grid_id
         WHERE g.id IS DISTINCT FROM CAST(:grid_id AS bigint)
         ORDER BY 3, 1 LIMIT 3) n
"""


def _place(row: dict, prefix: str) -> dict | None:
    code = row[f"{prefix}_code"]
    return None if code is None else {"code": code, "name": row[f"{prefix}_name"]}


async def located(one: Callable[[str, dict], Awaitable[dict]], point: Point,
                  at: datetime | None = None) -> dict:
    """The LOCATE row of ``point`` at ``at`` (now when None), with the point in WGS84 (``lon``,
    ``lat``); refused as a report there would be (out of range, or looking swapped). ``one``
    runs a statement and answers its row: the hot paths' pool (``Reads.one``) or a
    transaction's connection (``on``)."""
    swapped = _swapped(point, at)
    if not point.in_range:
        raise refusal(point.lon, point.lat, swapped["sx"] is not None
                      and (await one(_SWAPPED, swapped))["swapped"])
    x, y = (float(v) for v in to_wgs84(point.lon, point.lat, point.crs))
    row = await one(LOCATE, {**swapped, "lon": x, "lat": y, "at": at,
                             "tolerance": settings.assignment().tolerance_m})
    if row["swapped"]:
        raise refusal(point.lon, point.lat, swapped=True)
    return {**row, "lon": x, "lat": y}


def on(conn: AsyncConnection) -> Callable[[str, dict], Awaitable[dict]]:
    """``located``'s ``one`` in the transaction of ``conn``."""
    async def one(sql: str, params: dict) -> dict:
        return dict((await conn.execute(text(sql), params)).mappings().one())
    return one


async def locate(reads: Reads, point: Point, at: datetime | None = None,
                 reach_m: float | None = None) -> Location:
    """Where ``point`` falls at ``at``; with ``reach_m``, also the other grids that near it."""
    row = await located(reads.one, point, at)
    grid = None if row["grid_code"] is None else {
        "code": row["grid_code"], "name": row["grid_name"], "version": row["version"]}
    nearby = None if reach_m is None else (await reads.one(NEARBY, {
        "lon": row["lon"], "lat": row["lat"], "at": at, "reach": reach_m,
        "grid_id": row["grid_id"]}))["nearby"]
    return Location(method=row["method"], grid=grid, village=_place(row, "village"),
                    township=_place(row, "township"), county=_place(row, "county"),
                    city=_place(row, "city"), distance_m=row["distance_m"], lon=row["lon"],
                    lat=row["lat"], nearby=nearby)


# Many points at once. Most lie inside exactly one grid: those are found by one spatial join
# driven from the grids within the points' extent (each grid's polygon tested against the
# points in its box, with the points indexed and stored in the space-filling order PostGIS
# sorts geometries by, so that a grid's points lie on a page or two), and for them locate_grid
# could only answer the same. The rest (edges, overlaps, outside every grid) go through
# locate_grid itself.
_LOCATE_MANY = [
    "CREATE TEMP TABLE {into}_point ON COMMIT DROP AS SELECT * FROM ({points}) p ORDER BY geom",
    "CREATE INDEX ON {into}_point USING gist (geom)",
    "ANALYZE {into}_point",
    """CREATE TEMP TABLE {into}_sole ON COMMIT DROP AS
       WITH versions AS MATERIALIZED (
           SELECT id, grid_id, geom, valid_from, valid_to FROM grid_version
            WHERE geom && (SELECT ST_SetSRID(ST_Extent(geom)::geometry, 4326)
                             FROM {into}_point))
       SELECT p.line, min(v.id) AS grid_version_id, min(v.grid_id) AS grid_id
         FROM versions v
         JOIN {into}_point p ON ST_Covers(v.geom, p.geom) AND v.valid_from <= p.at
                            AND (v.valid_to IS NULL OR v.valid_to > p.at)
        GROUP BY p.line
       HAVING count(*) = 1 AND bool_and(ST_Contains(v.geom, p.geom))""",
    """CREATE TEMP TABLE {into} ON COMMIT DROP AS
       SELECT line, grid_version_id, grid_id, 'inside' AS method, NULL::float8 AS distance_m
         FROM {into}_sole
       UNION ALL
       SELECT p.line, l.grid_version_id, l.grid_id, l.method, l.distance_m
         FROM {into}_point p
        CROSS JOIN LATERAL locate_grid(p.geom, p.at, :tolerance) l
        WHERE NOT EXISTS (SELECT 1 FROM {into}_sole f WHERE f.line = p.line)""",
    "ANALYZE {into}",
]


async def locate_staged(conn: AsyncConnection, points: str, *, into: str) -> None:
    """Locate the rows of ``points`` (a query yielding ``line``, ``geom`` and ``at``) into the
    temporary table ``into`` (line, grid_version_id, grid_id, method, distance_m), by the same
    rule as one point, set-based."""
    for table in (into, f"{into}_point", f"{into}_sole"):
        await conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table}"))
    for statement in _LOCATE_MANY:
        await conn.execute(text(statement.format(into=into, points=points)),
                           {"tolerance": settings.assignment().tolerance_m})
