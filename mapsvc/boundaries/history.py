"""The grid layer's history: a grid's versions, and what changed between two dates.

(The grid map as of a date is ``GET /grids?at=``, and ``locate?at=`` answers from it too.)
"""

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.errors import NotFound
from mapsvc.geojson import PRECISION, Filters, feature_collection

VERSIONS = f"""
SELECT gv.version AS sort, jsonb_build_object(
    'type', 'Feature', 'id', g.code || '/' || gv.version,
    'geometry', ST_AsGeoJSON(gv.geom, {PRECISION})::jsonb,
    'properties', jsonb_build_object(
        'code', g.code, 'version', gv.version, 'valid_from', gv.valid_from,
        'valid_to', gv.valid_to, 'area_m2', round(ST_Area(gv.geom::geography)::numeric),
        'plan', (SELECT jsonb_build_object('id', p.id, 'name', p.name,
                                           'forced_reason', p.forced_reason)
                   FROM plan p WHERE p.id = gv.plan_id))) AS feature
  FROM grid g JOIN grid_version gv ON gv.grid_id = g.id
 WHERE g.code = :code
"""


async def grid_versions(conn: AsyncConnection, code: str) -> str:
    """Every version of grid ``code``, oldest first, with the plan that opened it."""
    exists = (await conn.execute(text("SELECT 1 FROM grid WHERE code = :code"),
                                 {"code": code})).scalar_one_or_none()
    if exists is None:
        raise NotFound(f"no grid {code}", field="code")
    return (await conn.execute(text(feature_collection(VERSIONS)), {"code": code})).scalar_one()


IN_FORCE = "SELECT id, grid_id, version, geom, plan_id, valid_to FROM grid_version " \
           "WHERE valid_from <= {t} " \
           "AND (valid_to IS NULL OR valid_to > {t})"

DIFF = f"""
SELECT g.code AS sort, jsonb_build_object(
    'type', 'Feature', 'id', g.code,
    'geometry', ST_AsGeoJSON(coalesce(b.geom, a.geom), {PRECISION})::jsonb,
    'properties', jsonb_build_object(
        'code', g.code, 'name', g.name, 'village_code', g.village_code,
        'change', CASE WHEN a.id IS NULL THEN 'added' WHEN b.id IS NULL THEN 'retired'
                       ELSE 'reshaped' END,
        'version_before', a.version, 'version_after', b.version,
        'area_before_m2', round(ST_Area(a.geom::geography)::numeric),
        'area_after_m2', round(ST_Area(b.geom::geography)::numeric),
        -- the plan that opened the version after, or for a retired grid the plan of its
        -- village in force from when its version closed; none for a boundary file's change
        'plan', (SELECT jsonb_build_object(
                     'id', p.id, 'name', p.name, 'effective_from', p.effective_from,
                     'published_by', (SELECT username FROM account WHERE id = p.published_by))
                   FROM plan p
                  WHERE p.id = b.plan_id
                     OR (b.id IS NULL AND p.status = 'published'
                         AND p.effective_from = a.valid_to
                         AND g.village_code = ANY(p.village_codes))
                  ORDER BY p.id LIMIT 1))) AS feature
  FROM ({IN_FORCE.format(t=":t1")}) a
  FULL JOIN ({IN_FORCE.format(t=":t2")}) b ON b.grid_id = a.grid_id
  JOIN grid g ON g.id = coalesce(a.grid_id, b.grid_id)
 WHERE a.id IS DISTINCT FROM b.id AND {{where}}
"""


async def grid_diff(conn: AsyncConnection, before: datetime, after: datetime, *,
                    parent: str | None = None) -> str:
    """The grids added, retired or reshaped between ``before`` and ``after`` (under
    ``parent``, a village, township or county code): each with the geometry in force after
    (before, for a retired grid), both areas and the plan that changed it."""
    f = Filters(params={"t1": before, "t2": after})
    if parent:
        f.add(f.code_prefix("g.village_code", "parent", parent))
    return (await conn.execute(text(feature_collection(DIFF.format(where=f.where()))),
                               f.params)).scalar_one()
