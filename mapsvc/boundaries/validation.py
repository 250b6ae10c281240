"""A plan's validation report: every problem of the drafted grid layer, with where it is.

Errors (publish refuses them unless an admin forces it): invalid geometry, overlapping grids,
gaps inside a village, grid parts outside their village, slivers, a code already used by a grid
of another village, a draft begun before the villages' grids last changed, and grids over a
sizing rule's maximum. Warnings: grids in several parts, grids under a sizing rule's minimum,
and a village whose registry is not loaded (no address registered in it), whose grids' sizes
are then not checked. Household and population counts come from the registry: the households
whose address lies in the drafted grid (a point on a shared edge counts once, by the rule of
locate_grid) and the people of those households.
"""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.boundaries.plans import FIXED, Plan
from mapsvc.boundaries.sizing import REGISTERED, SETTING, SIZE, SIZE_CHECKS, sizing_rules
from mapsvc.geojson import PRECISION

# Overlaps and gaps smaller than this are rounding between neighbours' shared edges.
NOISE_M2 = 1.0

# A part's area in m² as grids are drawn, straight in longitude and latitude (its area in
# square degrees at its latitude), which the noise is measured by: on the ellipsoid, where a
# straight edge is no geodesic, the sliver between a village's edge 3 km long and the same edge
# drawn through a point of it (where a split's line meets it) counts tens of m².
DRAWN_M2 = "ST_Area({g}) * 111320 * 110574 * cos(radians((ST_YMin({g}) + ST_YMax({g})) / 2))"

# a drafted grid as the checks take it: as drawn if valid, else made valid
MADE_VALID = "CASE WHEN ST_IsValid({g}) THEN ST_Multi({g}) ELSE " + FIXED + " END"

REPORT = f"""
WITH pg AS MATERIALIZED (
    SELECT id, code, name, kind, village_code, geom, ST_IsValid(geom) AS valid,
           {MADE_VALID.format(g="geom")} AS fixed
      FROM plan_grid WHERE plan_id = :plan
), villages AS MATERIALIZED (
    SELECT v.code, v.name, v.geom, {SETTING} AS setting, {REGISTERED} AS registered
      FROM region v WHERE v.code = ANY(:villages)
), homes AS (  -- each registered household's address, in the one drafted grid holding it
    SELECT DISTINCT ON (a.id) a.id AS address_id, pg.id AS plan_grid_id
      FROM pg JOIN address a ON a.geom && pg.fixed AND ST_Covers(pg.fixed, a.geom)
     ORDER BY a.id, ST_Contains(pg.fixed, a.geom) DESC, pg.kind = 'dedicated' DESC, pg.code
), counts AS (
    SELECT homes.plan_grid_id, count(DISTINCT hh.id) AS households, count(p.id) AS population
      FROM homes JOIN house h ON h.address_id = homes.address_id
      JOIN household hh ON hh.house_id = h.id
      LEFT JOIN person p ON p.household_id = hh.id AND p.left_on IS NULL
     GROUP BY homes.plan_grid_id
), sizes AS MATERIALIZED (
    SELECT pg.id, pg.code, pg.kind, pg.village_code, v.setting, v.registered,
           coalesce(c.households, 0) AS households, coalesce(c.population, 0) AS population,
           CAST(:rules AS jsonb) -> (pg.kind || '/' || v.setting) AS rule
      FROM pg JOIN villages v ON v.code = pg.village_code
      LEFT JOIN counts c ON c.plan_grid_id = pg.id
), size_checks AS (
    SELECT s.code, c.* FROM sizes s, {SIZE_CHECKS} WHERE c.broken AND s.registered
), found (kind, severity, codes, village_code, message, geom, value) AS (
    SELECT 'invalid', 'error', ARRAY[pg.code], pg.village_code,
           format('grid %s: %s', pg.code, ST_IsValidReason(pg.geom)),
           (ST_IsValidDetail(pg.geom)).location, NULL::float8
      FROM pg WHERE NOT pg.valid
    UNION ALL
    SELECT 'overlap', 'error', ARRAY[a.code, b.code], a.village_code,
           format('grids %s and %s overlap by %s m²', a.code, b.code, round(x.area)),
           x.geom, x.area
      FROM pg a
      -- the neighbours from the drafts' index (the fixed geometry's box lies within the
      -- drafted one's), each made valid as in pg
      JOIN plan_grid n ON n.plan_id = :plan AND n.id > a.id AND n.geom && a.fixed,
           LATERAL (SELECT n.code, {MADE_VALID.format(g="n.geom")} AS fixed) b,
           LATERAL (SELECT g AS geom, ST_Area(g::geography) AS area, {DRAWN_M2.format(g="g")}
                             AS drawn
                      FROM ST_CollectionExtract(ST_Intersection(a.fixed, b.fixed), 3) g) x
     WHERE ST_Relate(a.fixed, b.fixed, '2********') AND x.drawn > :noise
    UNION ALL
    SELECT 'gap', 'error', '{{}}', v.code,
           format('%s m² of village %s lie in no grid', round(x.area), v.name), x.geom, x.area
      FROM villages v,
           LATERAL (SELECT ST_Difference(v.geom, coalesce(ST_Union(pg.fixed),
                                                          'GEOMETRYCOLLECTION EMPTY')) AS rest
                      FROM pg WHERE pg.fixed && v.geom) d,
           LATERAL (SELECT part.geom, ST_Area(part.geom::geography) AS area,
                           {DRAWN_M2.format(g="part.geom")} AS drawn
                      FROM ST_Dump(ST_CollectionExtract(d.rest, 3)) part) x
     WHERE x.drawn > :noise
    UNION ALL
    SELECT 'outside_village', 'error', ARRAY[pg.code], pg.village_code,
           format('%s m² of grid %s lie outside village %s', round(x.area), pg.code, v.name),
           x.geom, x.area
      FROM pg JOIN villages v ON v.code = pg.village_code,
           LATERAL (SELECT g AS geom, ST_Area(g::geography) AS area, {DRAWN_M2.format(g="g")}
                             AS drawn
                      FROM ST_CollectionExtract(ST_Difference(pg.fixed, v.geom), 3) g) x
     WHERE x.drawn > :noise
    UNION ALL
    SELECT 'sliver', 'error', ARRAY[pg.code], pg.village_code,
           format('grid %s has a part of only %s m²', pg.code, round(x.area::numeric, 1)),
           x.geom, x.area
      FROM pg, LATERAL (SELECT part.geom, ST_Area(part.geom::geography) AS area
                          FROM ST_Dump(pg.fixed) part) x
     WHERE x.area < :sliver
    UNION ALL
    SELECT 'multipart', 'warning', ARRAY[pg.code], pg.village_code,
           format('grid %s is in %s separate parts', pg.code, ST_NumGeometries(pg.fixed)),
           pg.fixed, ST_NumGeometries(pg.fixed)
      FROM pg WHERE ST_NumGeometries(pg.fixed) > 1
    UNION ALL
    SELECT 'code_taken', 'error', ARRAY[pg.code], pg.village_code,
           format('code %s belongs to grid %s of village %s', pg.code, g.name, g.village_code),
           ST_PointOnSurface(pg.fixed), NULL
      FROM pg JOIN grid g ON g.code = pg.code
     WHERE NOT g.village_code = ANY(:villages)
       AND EXISTS (SELECT 1 FROM grid_version gv WHERE gv.grid_id = g.id AND gv.valid_to IS NULL)
    UNION ALL
    SELECT 'stale', 'error', '{{}}', NULL,
           'the grids of these villages changed after this draft began: start a new plan',
           NULL, NULL
      FROM plan p
     WHERE p.id = :plan AND p.base_versions IS DISTINCT FROM (
           SELECT coalesce(array_agg(gv.id ORDER BY gv.id), '{{}}')
             FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
            WHERE g.village_code = ANY(:villages))
    UNION ALL
    SELECT c.kind, c.severity, ARRAY[s.code], s.village_code,
           format('grid %s has %s %s, %s the %s %s %s of %s', s.code, c.value, c.what,
                  c.side, s.setting, s.kind, c.bound_name, c.bound),
           NULL, c.value
      FROM sizes s JOIN size_checks c ON c.code = s.code
    UNION ALL
    SELECT 'no_registry', 'warning', '{{}}', v.code,
           format('village %s has no registered household: its grids'' sizes are not checked',
                  v.name), NULL, NULL
      FROM villages v WHERE NOT v.registered
)
SELECT json_build_object(
    'findings', (SELECT coalesce(json_agg(json_build_object(
                     'kind', f.kind, 'severity', f.severity, 'grids', f.codes,
                     'village_code', f.village_code, 'message', f.message,
                     'value', round(f.value::numeric, 1),
                     'geometry', ST_AsGeoJSON(
                         coalesce(f.geom, (SELECT ST_PointOnSurface(pg.fixed) FROM pg
                                            WHERE pg.code = f.codes[1])), {PRECISION})::json)
                     ORDER BY f.severity, f.kind, f.codes), '[]') FROM found f),
    'grids', (SELECT coalesce(json_agg(json_build_object(
                  'id', s.id, 'code', s.code, 'kind', s.kind, 'setting', s.setting,
                  'households', s.households, 'population', s.population, 'rule', s.rule,
                  'size', CASE WHEN NOT s.registered THEN 'no_registry' ELSE coalesce(
                      (SELECT {SIZE} FROM size_checks c WHERE c.code = s.code), 'ok') END)
                  ORDER BY s.code), '[]') FROM sizes s))
"""


async def validate(conn: AsyncConnection, plan: Plan) -> dict:
    """The report: ``findings`` (each with kind, severity, grids, message and a geometry to
    show), ``grids`` (each drafted grid's counts against its sizing rule), and totals."""
    plans = settings.plans()
    report = (await conn.execute(text(REPORT), {
        "plan": plan.id, "villages": list(plan.villages), "noise": NOISE_M2,
        "sliver": plans.sliver_m2, "rules": sizing_rules()})).scalar_one()
    report["errors"] = sum(f["severity"] == "error" for f in report["findings"])
    report["warnings"] = len(report["findings"]) - report["errors"]
    report["plan"] = plan.id
    return report
