"""Write checked boundary features to PostGIS, set-based, in one transaction.

Regions are updated in place. Grids are versioned: a grid whose geometry changed gets its current
version closed and a new one opened, so "which grid held this point on date D" stays answerable.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.boundaries.reading import (CODE_LENGTHS, OPTIONAL_PARENT, PARENT_LEVEL, BoundaryFile,
                                      Problem)


class BoundaryImportRefused(ValueError):
    """Some features were rejected and the import was not told to skip them; nothing was written."""

    def __init__(self, result: "ImportResult"):
        super().__init__(f"{len(result.rejected)} feature(s) rejected; nothing imported")
        self.result = result


@dataclass
class ImportResult:
    level: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    new_versions: int = 0
    rejected: list[Problem] = field(default_factory=list)
    repaired: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


STAGE = """
CREATE TEMP TABLE boundary_stage (
    feature int, code text, name text, parent_code text, kind text, households int,
    population int, organisation_id bigint, properties jsonb, geom geometry(MultiPolygon, 4326)
) ON COMMIT DROP
"""

STAGE_ROW = text("""
INSERT INTO boundary_stage VALUES (:feature, :code, :name, :parent_code, :kind, :households,
    :population, :organisation_id, CAST(:properties AS jsonb), ST_GeomFromWKB(:wkb, 4326))
""")

# Geometry that moved by less than 1e-7 degree (about 1 cm), such as a file round-tripped
# through another CRS, has not changed.
CHANGED = "(NOT ST_Equals({a}, {b}) AND ST_HausdorffDistance({a}, {b}) > 1e-7)"

# Each check returns (feature, code, problem); parents are looked up in the database.
MISSING_PARENT = text("""
SELECT s.feature, s.code, format('parent %s is not a known %s', s.parent_code, :parent_level)
  FROM boundary_stage s LEFT JOIN region p ON p.code = s.parent_code AND p.level = :parent_level
 WHERE p.code IS NULL AND (s.parent_code IS NOT NULL OR NOT :optional) ORDER BY s.feature
""")
# A county named no city is its city's, the city whose code starts its own, where one is stored;
# and a city's counties stored without one are its own (cities and counties load in any order).
CITY_OF_COUNTY = text("""
UPDATE boundary_stage s SET parent_code = c.code
  FROM region c
 WHERE s.parent_code IS NULL AND c.level = 'city' AND c.code = left(s.code, :length)
""")
COUNTIES_OF_CITY = text("""
UPDATE region r SET parent_code = s.code
  FROM boundary_stage s
 WHERE r.level = 'county' AND r.parent_code IS NULL AND left(r.code, :length) = s.code
""")
WRONG_LEVEL = text("""
SELECT s.feature, s.code, format('code %s is already a %s', s.code, r.level)
  FROM boundary_stage s JOIN region r ON r.code = s.code AND r.level <> :level ORDER BY s.feature
""")
UNKNOWN_ORGANISATION = text("""
SELECT s.feature, s.code, format('no organisation %s', s.organisation_id)
  FROM boundary_stage s LEFT JOIN organisation o ON o.id = s.organisation_id
 WHERE s.organisation_id IS NOT NULL AND o.id IS NULL ORDER BY s.feature
""")
OUTSIDE_PARENT = text("""
SELECT s.feature, s.code,
       format('%s%% of its area lies outside its parent %s', round(share::numeric * 100, 1),
              s.parent_code)
  FROM (SELECT s.*, ST_Area(ST_Difference(s.geom, p.geom)::geography)
                    / ST_Area(s.geom::geography) AS share
          FROM boundary_stage s JOIN region p ON p.code = s.parent_code
         WHERE NOT ST_CoveredBy(s.geom, p.geom)) s
 WHERE share > :tolerance ORDER BY s.feature
""")

UPSERT_REGIONS = text(f"""
WITH up AS (
    INSERT INTO region AS r (code, level, name, parent_code, properties, geom)
    SELECT code, :level, name, parent_code, properties, geom FROM boundary_stage
    ON CONFLICT (code) DO UPDATE
       SET name = excluded.name, parent_code = excluded.parent_code, geom = excluded.geom,
           properties = CASE WHEN :has_properties THEN excluded.properties ELSE r.properties END
     WHERE (r.name, r.parent_code) IS DISTINCT FROM (excluded.name, excluded.parent_code)
        OR (:has_properties AND r.properties IS DISTINCT FROM excluded.properties)
        OR {CHANGED.format(a="r.geom", b="excluded.geom")}
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
""")

# Attributes the file does not carry (the :has_* flags) keep their stored values.
UPSERT_GRIDS = text("""
WITH up AS (
    INSERT INTO grid AS g (code, name, kind, village_code, households, population,
                           organisation_id, properties)
    SELECT code, name, coalesce(kind, 'comprehensive'), parent_code, households, population,
           organisation_id, properties
      FROM boundary_stage
    ON CONFLICT (code) DO UPDATE
       SET name = excluded.name, village_code = excluded.village_code,
           kind = CASE WHEN :has_kind THEN excluded.kind ELSE g.kind END,
           households = CASE WHEN :has_households THEN excluded.households ELSE g.households END,
           population = CASE WHEN :has_population THEN excluded.population ELSE g.population END,
           organisation_id = CASE WHEN :has_organisation_id THEN excluded.organisation_id
                                  ELSE g.organisation_id END,
           properties = CASE WHEN :has_properties THEN excluded.properties ELSE g.properties END
     WHERE (g.name, g.village_code) IS DISTINCT FROM (excluded.name, excluded.village_code)
        OR (:has_kind AND g.kind IS DISTINCT FROM excluded.kind)
        OR (:has_households AND g.households IS DISTINCT FROM excluded.households)
        OR (:has_population AND g.population IS DISTINCT FROM excluded.population)
        OR (:has_organisation_id AND g.organisation_id IS DISTINCT FROM excluded.organisation_id)
        OR (:has_properties AND g.properties IS DISTINCT FROM excluded.properties)
    RETURNING id, (xmax = 0) AS inserted
)
SELECT id, inserted FROM up
""")

# A staged grid whose geometry differs from its current version: that version ends.
CLOSE_CHANGED_VERSIONS = text(f"""
UPDATE grid_version v SET valid_to = coalesce(CAST(:changed_from AS timestamptz), now())
  FROM boundary_stage s JOIN grid g ON g.code = s.code
 WHERE v.grid_id = g.id AND v.valid_to IS NULL AND {CHANGED.format(a="v.geom", b="s.geom")}
""")
# Then every staged grid without a current version gets one: the first is in force since
# :first_from (default: always), a later one from :changed_from (default: now).
OPEN_VERSIONS = text("""
INSERT INTO grid_version (grid_id, version, geom, valid_from)
SELECT g.id, coalesce(last.version, 0) + 1, s.geom,
       CASE WHEN last.version IS NULL THEN coalesce(CAST(:first_from AS timestamptz), '-infinity')
            ELSE coalesce(CAST(:changed_from AS timestamptz), now()) END
  FROM boundary_stage s
  JOIN grid g ON g.code = s.code
  LEFT JOIN LATERAL (SELECT max(version) AS version FROM grid_version v
                      WHERE v.grid_id = g.id) last ON true
 WHERE NOT EXISTS (SELECT 1 FROM grid_version cur WHERE cur.grid_id = g.id AND cur.valid_to IS NULL)
RETURNING grid_id
""")


def _stage_rows(bf: BoundaryFile) -> list[dict]:
    frame = bf.features
    rows = pd.DataFrame({
        "feature": frame["feature"], "code": frame["code"], "name": frame["name"],
        "parent_code": frame["parent_code"],
        "kind": frame.get("kind"), "households": frame.get("households"),
        "population": frame.get("population"), "organisation_id": frame.get("organisation_id"),
        "properties": [json.dumps(p, ensure_ascii=False) for p in frame["properties"]],
        "wkb": shapely.to_wkb(frame.geometry.values),
    }).astype(object)
    return rows.where(rows.notna(), None).to_dict("records")


async def _problems(conn: AsyncConnection, query, **params) -> list[Problem]:
    rows = (await conn.execute(query, params)).all()
    return [Problem(feature, code, problem) for feature, code, problem in rows]


async def import_boundaries(conn: AsyncConnection, bf: BoundaryFile, *,
                            skip_invalid: bool = False, valid_from: datetime | None = None,
                            outside_tolerance: float = 0.01, on_progress=None) -> ImportResult:
    """Store ``bf`` in the caller's transaction; refuse everything if any feature is rejected
    (unless ``skip_invalid``). New grids are in force since ``valid_from`` (default: always),
    changed grids from ``valid_from`` (default: now)."""
    result = ImportResult(level=bf.level, rejected=list(bf.rejected), repaired=list(bf.repaired))
    await conn.execute(text("DROP TABLE IF EXISTS pg_temp.boundary_stage"))
    await conn.execute(text(STAGE))
    rows = _stage_rows(bf)
    for start in range(0, len(rows), 500):
        await conn.execute(STAGE_ROW, rows[start:start + 500])
        if on_progress:
            on_progress(min(start + 500, len(rows)))
    level, parent_level = bf.level, PARENT_LEVEL.get(bf.level)
    found: list[Problem] = []
    if bf.level != "grid":
        found += await _problems(conn, WRONG_LEVEL, level=level)
    else:
        found += await _problems(conn, UNKNOWN_ORGANISATION)
    if level == "county":
        await conn.execute(CITY_OF_COUNTY, {"length": CODE_LENGTHS["city"]})
    if parent_level:
        found += await _problems(conn, MISSING_PARENT, parent_level=parent_level,
                                 optional=level in OPTIONAL_PARENT)
        result.warnings = await _problems(conn, OUTSIDE_PARENT, tolerance=outside_tolerance)
    result.rejected += found
    result.rejected.sort(key=lambda p: p.feature)
    if result.rejected and not skip_invalid:
        raise BoundaryImportRefused(result)
    if found:
        await conn.execute(text("DELETE FROM boundary_stage WHERE feature = ANY(:f)"),
                           {"f": [p.feature for p in found]})
    staged = (await conn.execute(text("SELECT count(*) FROM boundary_stage"))).scalar_one()
    if bf.level == "grid":
        touched = (await conn.execute(UPSERT_GRIDS, {
            f"has_{attr}": attr in bf.present
            for attr in ("kind", "households", "population", "organisation_id",
                         "properties")})).all()
        new_ids = {grid_id for grid_id, is_new in touched if is_new}
        await conn.execute(CLOSE_CHANGED_VERSIONS, {"changed_from": valid_from})
        versioned = set((await conn.execute(OPEN_VERSIONS, {
            "first_from": valid_from, "changed_from": valid_from})).scalars())
        result.new_versions = len(versioned)
        inserted = len(new_ids)
        updated = len(({grid_id for grid_id, _ in touched} | versioned) - new_ids)
    else:
        inserted, updated = (await conn.execute(UPSERT_REGIONS, {
            "level": level, "has_properties": "properties" in bf.present})).one()
        if level == "city":
            await conn.execute(COUNTIES_OF_CITY, {"length": CODE_LENGTHS["city"]})
    result.inserted, result.updated = inserted, updated
    result.unchanged = staged - inserted - updated
    return result
