"""Regions and grids as GeoJSON, filtered by level, parent and bounding box."""

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.geojson import PRECISION, Filters, feature_collection, page


def region_frame(geom: str) -> str:
    """SQL for what a map shows a region in (a box2d), of SQL ``geom``, its boundary: the box of
    its largest part and of the parts near it (within a quarter of that part's width and height
    around it). Islands far off its coast (汕尾市's reefs lie 250 km south of its land) would
    leave the land a speck in the sea."""
    return f"""(SELECT ST_Extent(d.geom) FROM ST_Dump({geom}) d, (
        SELECT ST_Expand(ST_Envelope(p.geom), (ST_XMax(p.geom) - ST_XMin(p.geom)) / 4,
                         (ST_YMax(p.geom) - ST_YMin(p.geom)) / 4) AS near
          FROM ST_Dump({geom}) p ORDER BY ST_Area(p.geom) DESC LIMIT 1) n
     WHERE d.geom && n.near)"""


# A region's ``label``: where a map writes its name, the middle of its largest part (the centre
# of the widest circle within it): the middle of the first, as Leaflet takes it, or of the
# whole may be an island off the coast, or the sea; ``label_radius``, that circle's radius (in
# degrees: a name crowded by its neighbours' may move that far and stay within its region);
# and its ``frame`` (region_frame), [west, south, east, north].
REGIONS = """
SELECT r.code AS sort, jsonb_build_object(
    'type', 'Feature', 'id', r.code, 'geometry', ST_AsGeoJSON(r.geom, {precision})::jsonb,
    'properties', r.properties || jsonb_build_object(
        'code', r.code, 'name', r.name, 'level', r.level, 'parent_code', r.parent_code,
        'label', jsonb_build_array(round(ST_X(l.center)::numeric, {precision}),
                                   round(ST_Y(l.center)::numeric, {precision})),
        'label_radius', round(l.radius::numeric, {precision}),
        'frame', (SELECT jsonb_build_array(round(ST_XMin(f)::numeric, {precision}),
                                           round(ST_YMin(f)::numeric, {precision}),
                                           round(ST_XMax(f)::numeric, {precision}),
                                           round(ST_YMax(f)::numeric, {precision}))
                    FROM (SELECT {frame} AS f) b))) AS feature
  FROM region r
  LEFT JOIN LATERAL (SELECT m.center, m.radius
                       FROM (SELECT d.geom FROM ST_Dump(r.geom) d
                              ORDER BY ST_Area(d.geom) DESC LIMIT 1) largest,
                            ST_MaximumInscribedCircle(largest.geom) m) l ON true
 WHERE {where}
 ORDER BY r.code {page}
"""

# The page is chosen by the grids' codes alone, then each grid of it is read again by its
# version's key to build its feature: a box may hold thousands of grids, and joining each to
# its village and township, or building its feature, before the page is cut is most of the cost.
GRIDS = """
SELECT p.code AS sort, jsonb_build_object(
    'type', 'Feature', 'id', g.code, 'geometry', ST_AsGeoJSON(gv.geom, {precision})::jsonb,
    'properties', g.properties || jsonb_build_object(
        'code', g.code, 'name', g.name, 'kind', g.kind, 'village_code', g.village_code,
        'township_code', v.parent_code, 'county_code', t.parent_code,
        'households', g.households, 'population', g.population,
        'organisation_id', g.organisation_id, 'version', gv.version,
        'valid_from', gv.valid_from, 'valid_to', gv.valid_to)) AS feature
  FROM (SELECT gv.id, g.code
          FROM grid_version gv
          JOIN grid g ON g.id = gv.grid_id
         WHERE {where}
         ORDER BY g.code {page}) p
  JOIN grid_version gv ON gv.id = p.id
  JOIN grid g ON g.id = gv.grid_id
  JOIN region v ON v.code = g.village_code
  JOIN region t ON t.code = v.parent_code
"""


# The regions ``r`` at the deployment's top: its cities, and its counties of no city (a
# county's city is optional).
TOP_REGIONS = "(r.level = 'city' OR r.level = 'county' AND r.parent_code IS NULL)"


async def top_level(conn: AsyncConnection) -> str:
    """The level of the regions the deployment holds at its top: cities where it holds any,
    else counties."""
    cities = (await conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM region WHERE level = 'city')"))).scalar_one()
    return "city" if cities else "county"


async def regions_geojson(conn: AsyncConnection, *, level: str | None = None,
                          parent: str | None = None, top: bool = False,
                          code: str | None = None, bbox=None, limit: int = 100,
                          offset: int = 0) -> str:
    """Regions as GeoJSON; ``top``: those at the deployment's top (TOP_REGIONS)."""
    f = Filters()
    if code:
        f.add("r.code = :code", code=code)
    if level:
        f.add("r.level = :level", level=level)
    if parent:
        f.add("r.parent_code = :parent", parent=parent)
    if top:
        f.add(TOP_REGIONS)
    f.bbox("r.geom", bbox)
    sql = feature_collection(REGIONS.format(where=f.where(), precision=PRECISION,
                                            frame=region_frame("r.geom"),
                                            page=page(limit, offset)))
    return (await conn.execute(text(sql), f.params)).scalar_one()


async def grids_geojson(conn: AsyncConnection, *, parent: str | None = None, bbox=None,
                        at: datetime | None = None, ids: list[int] | None = None,
                        code: str | None = None, kind: str | None = None,
                        limit: int = 100, offset: int = 0) -> str:
    """Grids in force at ``at`` (default: now); ``parent`` is any region above them; ``ids``
    the grids to keep (a worker's own)."""
    f = Filters()
    if code:
        f.add("g.code = :code", code=code)
    if kind:
        f.add("g.kind = :kind", kind=kind)
    if ids is not None:
        f.add("g.id = ANY(:ids)", ids=ids)
    if at is None:
        f.add("gv.valid_to IS NULL")
    else:
        f.add("gv.valid_from <= :at AND (gv.valid_to IS NULL OR gv.valid_to > :at)", at=at)
    if parent:
        f.add(f.code_prefix("g.village_code", "parent", parent))
    f.bbox("gv.geom", bbox)
    sql = feature_collection(GRIDS.format(where=f.where(), precision=PRECISION,
                                          page=page(limit, offset)))
    return (await conn.execute(text(sql), f.params)).scalar_one()
