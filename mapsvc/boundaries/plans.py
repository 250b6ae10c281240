"""Plans (规划方案): a draft of the whole grid layer of one or more villages.

A plan starts as a copy of its villages' grids in force. The planner reshapes, splits, merges,
adds and removes grids in the draft (or loads a redrawn layer from a file); the live grids do not
change until the plan is published (mapsvc.boundaries.publish). A grid's code (网格编码) is its
identity: a drafted code no grid has yet is a new grid, a live grid of the plan's villages
missing from the draft is retired.
"""

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.errors import GeometryTypeError
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.model import Account, Role
from mapsvc.boundaries.halving import halving_line
from mapsvc.boundaries.reading import BoundaryFile, Problem
from mapsvc.errors import Conflict, Forbidden, InvalidInput, NotFound
from mapsvc.geojson import PRECISION, Filters, feature_collection, page

PLANNERS = frozenset({Role.planner, Role.admin})
GRID_KINDS = ("comprehensive", "dedicated")

# A drafted geometry that moved by less than 1e-7 degree (about 1 cm) has not changed.
CHANGED = "(NOT ST_Equals({a}, {b}) AND ST_HausdorffDistance({a}, {b}) > 1e-7)"
# A drawn grid's vertices within SNAP_DEGREES (about 10 cm: coordinates that went through
# GeoJSON's six decimals) of its neighbours in the draft or of its village's edge are moved onto
# them, so that shared edges stay shared and rounding leaves no sliver gap or overlap.
SNAP_DEGREES = 1e-6
SNAPPED = f"""coalesce(ST_Snap(ST_GeomFromWKB(:wkb, 4326), (
    SELECT ST_Collect(near.geom) FROM (
        SELECT n.geom FROM plan_grid n
         WHERE n.plan_id = :p AND n.id IS DISTINCT FROM CAST(:fid AS bigint)
           AND n.geom && ST_Expand(ST_GeomFromWKB(:wkb, 4326), {SNAP_DEGREES})
        UNION ALL
        SELECT v.geom FROM region v WHERE v.code = :village) near), {SNAP_DEGREES}),
    ST_GeomFromWKB(:wkb, 4326))"""
# What publish makes of a drafted geometry (drafts may be invalid: validation reports it).
FIXED = "ST_Multi(ST_CollectionExtract(ST_MakeValid({g}), 3))"


@dataclass(frozen=True)
class Plan:
    id: int
    name: str
    status: str
    villages: tuple[str, ...]


@dataclass
class GridDraft:
    """A grid as drafted in a plan; None leaves an attribute to its default (a new code and
    name, the village holding the geometry) or, on update, as it was."""

    geometry: dict | None = None
    code: str | None = None
    name: str | None = None
    kind: str | None = None
    village_code: str | None = None
    households: int | None = None
    population: int | None = None


def check_planner(account: Account, villages: list[str] | tuple[str, ...]) -> None:
    """Planners plan the villages of their region, admins everywhere."""
    if account.role not in PLANNERS:
        raise Forbidden(f"a {account.role} account may not plan grids")
    if not all(account.covers(v) for v in villages):
        raise Forbidden(f"the plan's villages lie outside region {account.region_code}")


def _shape(geometry, field: str):
    try:
        return shape(geometry)
    except (GeometryTypeError, AttributeError, IndexError, KeyError, TypeError,
            ValueError) as e:  # what shapely raises on GeoJSON it cannot read
        raise InvalidInput(f"not a GeoJSON geometry ({e})", field=field) from None


def polygon(geometry: dict | None, field: str = "geometry"):
    """A drafted polygon from GeoJSON (WGS84); self-intersections are left for validation."""
    if not isinstance(geometry, dict):
        raise InvalidInput("a GeoJSON Polygon or MultiPolygon is required", field=field)
    geom = _shape(geometry, field)
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise InvalidInput(f"must be a Polygon or MultiPolygon, not {geom.geom_type}", field=field)
    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in geom.bounds) or max(abs(minx), abs(maxx)) > 180 \
            or max(abs(miny), abs(maxy)) > 90:
        raise InvalidInput("coordinates must be longitude, latitude in WGS84", field=field)
    return shapely.force_2d(geom)


async def create_plan(conn: AsyncConnection, account: Account, name: str,
                      villages: list[str]) -> int:
    """A new draft holding the grids now in force in ``villages``."""
    villages = sorted(set(villages))
    if not villages:
        raise InvalidInput("name at least one village", field="villages")
    check_planner(account, villages)
    known = set((await conn.execute(text(
        "SELECT code FROM region WHERE level = 'village' AND code = ANY(:v)"),
        {"v": villages})).scalars())
    if missing := [v for v in villages if v not in known]:
        raise InvalidInput(f"no village {', '.join(missing)}", field="villages")
    plan_id = (await conn.execute(text("""
        INSERT INTO plan (name, village_codes, base_versions, created_by)
        SELECT :name, :villages, coalesce(array_agg(gv.id ORDER BY gv.id), '{}'), :account
          FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
         WHERE g.village_code = ANY(:villages)
        RETURNING id"""), {"name": name, "villages": villages, "account": account.id})).scalar_one()
    await conn.execute(text("""
        INSERT INTO plan_grid (plan_id, code, name, kind, village_code, households, population,
                               geom)
        SELECT :plan, g.code, g.name, g.kind, g.village_code, g.households, g.population, gv.geom
          FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
         WHERE g.village_code = ANY(:villages)"""), {"plan": plan_id, "villages": villages})
    return plan_id


async def load_plan(conn: AsyncConnection, account: Account, plan_id: int, *,
                    draft: bool = False) -> Plan:
    """The plan, if the account may plan its villages; ``draft``: locked for a change, and
    refused (409) unless still a draft."""
    row = (await conn.execute(text(
        "SELECT id, name, status, village_codes FROM plan WHERE id = :id"
        + (" FOR UPDATE" if draft else "")), {"id": plan_id})).one_or_none()
    if row is None:
        raise NotFound(f"no plan {plan_id}", field="plan")
    plan = Plan(row.id, row.name, row.status, tuple(row.village_codes))
    check_planner(account, plan.villages)
    if draft and plan.status != "draft":
        raise Conflict(f"plan {plan_id} is {plan.status}: only a draft changes", field="plan")
    return plan


async def touch(conn: AsyncConnection, plan: Plan) -> None:
    await conn.execute(text("UPDATE plan SET updated_at = now() WHERE id = :id"), {"id": plan.id})


PLAN_DOC = f"""
SELECT json_build_object(
    'id', p.id, 'name', p.name, 'status', p.status, 'villages', p.village_codes,
    'created_by', (SELECT username FROM account WHERE id = p.created_by),
    'created_at', p.created_at, 'updated_at', p.updated_at, 'published_at', p.published_at,
    'published_by', (SELECT username FROM account WHERE id = p.published_by),
    'effective_from', p.effective_from, 'forced_reason', p.forced_reason,
    'grids', (SELECT count(*) FROM plan_grid WHERE plan_id = p.id),
    'retired', CASE WHEN p.status = 'draft' THEN coalesce((
        SELECT json_agg(g.code ORDER BY g.code)
          FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
         WHERE g.village_code = ANY(p.village_codes)
           AND NOT EXISTS (SELECT 1 FROM plan_grid pg WHERE pg.plan_id = p.id
                                                      AND pg.code = g.code)), '[]') END,
    'bbox', (SELECT json_build_array(round(ST_XMin(e)::numeric, {PRECISION}),
                                     round(ST_YMin(e)::numeric, {PRECISION}),
                                     round(ST_XMax(e)::numeric, {PRECISION}),
                                     round(ST_YMax(e)::numeric, {PRECISION}))
               FROM (SELECT ST_Extent(geom) AS e FROM region
                      WHERE code = ANY(p.village_codes)) x))
  FROM plan p
"""


async def plan_doc(conn: AsyncConnection, plan_id: int) -> dict:
    return (await conn.execute(text(PLAN_DOC + " WHERE p.id = :id"), {"id": plan_id})).scalar_one()


async def list_plans(conn: AsyncConnection, account: Account, *, village: str | None = None,
                     status: str | None = None) -> list[dict]:
    check_planner(account, [village] if village else [])
    where, params = ["true"], {}
    if village:
        where.append(":village = ANY(p.village_codes)")
        params["village"] = village
    if status:
        where.append("p.status = :status")
        params["status"] = status
    if account.region_code:  # a region's planners see the plans of their villages
        where.append("p.village_codes[1] LIKE :region || '%'")
        params["region"] = account.region_code
    return list((await conn.execute(text(
        PLAN_DOC + f" WHERE {' AND '.join(where)} ORDER BY p.id DESC LIMIT 200"),
        params)).scalars())


# Each drafted grid and how it differs from the live grid of the same code.
PLAN_GRIDS = f"""
SELECT pg.id, pg.code, pg.name, pg.kind, pg.village_code, pg.households, pg.population,
       pg.geom,
       CASE WHEN gv.id IS NULL THEN 'new'
            WHEN NOT ST_IsValid(pg.geom) OR {CHANGED.format(a="pg.geom", b="gv.geom")}
                THEN 'reshaped'
            WHEN (g.name, g.kind, g.village_code)
                 IS DISTINCT FROM (pg.name, pg.kind, pg.village_code)
                THEN 'renamed'
            ELSE 'unchanged' END AS change
  FROM plan_grid pg
  LEFT JOIN grid g ON g.code = pg.code
  LEFT JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
 WHERE pg.plan_id = :plan
"""

PLAN_GRID_FEATURE = f"""
SELECT d.code AS sort, jsonb_build_object(
    'type', 'Feature', 'id', d.id,
    'geometry', ST_AsGeoJSON(d.geom, {PRECISION})::jsonb,
    'properties', jsonb_build_object(
        'code', d.code, 'name', d.name, 'kind', d.kind, 'village_code', d.village_code,
        'households', d.households, 'population', d.population, 'change', d.change)) AS feature
  FROM ({PLAN_GRIDS}) d
"""


async def plan_grids_geojson(conn: AsyncConnection, plan: Plan, *, bbox=None, limit: int = 10_000,
                             offset: int = 0) -> str:
    f = Filters(params={"plan": plan.id})
    f.bbox("d.geom", bbox)
    sql = PLAN_GRID_FEATURE + f" WHERE {f.where()} ORDER BY d.code {page(limit, offset)}"
    return (await conn.execute(text(feature_collection(sql)), f.params)).scalar_one()


async def plan_grid_feature(conn: AsyncConnection, plan: Plan, fid: int) -> dict:
    found = (await conn.execute(text(PLAN_GRID_FEATURE + " WHERE d.id = :fid"),
                                {"plan": plan.id, "fid": fid})).one_or_none()
    if found is None:
        raise NotFound(f"plan {plan.id} has no grid {fid}", field="featureId")
    return found.feature


async def next_codes(conn: AsyncConnection, plan: Plan, village: str, n: int) -> list[str]:
    """Codes for new grids of ``village``: its code and the next free serials (3 digits, as
    the grid codes of CJ/T 213 practice), counting every grid ever and the draft's."""
    last = (await conn.execute(text("""
        SELECT coalesce(max(substr(code, length(:v) + 1)::int), 0)
          FROM (SELECT code FROM grid UNION ALL SELECT code FROM plan_grid WHERE plan_id = :p) c
         WHERE code ~ ('^' || :v || '[0-9]{1,4}$')"""), {"v": village, "p": plan.id})).scalar_one()
    return [f"{village}{last + i:03d}" for i in range(1, n + 1)]


async def _village_of(conn: AsyncConnection, plan: Plan, draft: GridDraft, geom) -> str:
    if draft.village_code is not None:
        if draft.village_code not in plan.villages:
            raise InvalidInput(f"village {draft.village_code} is not in plan {plan.id} "
                               f"({', '.join(plan.villages)})", field="village_code")
        return draft.village_code
    if len(plan.villages) == 1:
        return plan.villages[0]
    found = (await conn.execute(text("""
        SELECT code FROM region WHERE code = ANY(:v)
         ORDER BY ST_Area(ST_Intersection(geom, ST_MakeValid(ST_GeomFromWKB(:wkb, 4326)))) DESC
         LIMIT 1"""), {"v": list(plan.villages), "wkb": shapely.to_wkb(geom)})).scalar_one()
    return found


def _checked(draft: GridDraft) -> None:
    if draft.kind is not None and draft.kind not in GRID_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(GRID_KINDS)}", field="kind")
    for field in ("households", "population"):
        value = getattr(draft, field)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 0):  # true is no count of 1
            raise InvalidInput(f"{field} must be a whole number, not negative", field=field)
    for field in ("code", "name"):
        value = getattr(draft, field)
        if value is not None and (not isinstance(value, str) or not value.strip()
                                  or len(value) > 64):
            raise InvalidInput(f"{field} must be text of 1 to 64 characters", field=field)


async def _code_free(conn: AsyncConnection, plan: Plan, code: str, fid: int | None) -> None:
    taken = (await conn.execute(text(
        "SELECT id FROM plan_grid WHERE plan_id = :p AND code = :c AND id IS DISTINCT FROM :fid"),
        {"p": plan.id, "c": code, "fid": fid})).scalar_one_or_none()
    if taken is not None:
        raise Conflict(f"plan {plan.id} already has a grid {code}", field="code")


async def add_grid(conn: AsyncConnection, plan: Plan, draft: GridDraft) -> int:
    """A new grid in the draft (or a live grid's code drawn again); its feature id."""
    _checked(draft)
    geom = polygon(draft.geometry)
    village = await _village_of(conn, plan, draft, geom)
    code = draft.code.strip() if draft.code else (await next_codes(conn, plan, village, 1))[0]
    await _code_free(conn, plan, code, None)
    name = draft.name.strip() if draft.name else None
    fid = (await conn.execute(text(f"""
        INSERT INTO plan_grid (plan_id, code, name, kind, village_code, households, population,
                               geom)
        SELECT :p, :code, coalesce(:name, {default_name("CAST(:code AS text)")}), :kind, v.code,
               :households, :population, {SNAPPED}
          FROM region v WHERE v.code = :village
        RETURNING id"""), {
        "p": plan.id, "fid": None, "code": code, "name": name,
        "kind": draft.kind or "comprehensive",
        "village": village, "households": draft.households, "population": draft.population,
        "wkb": shapely.to_wkb(geom)})).scalar_one()
    await touch(conn, plan)
    return fid


def default_name(code: str) -> str:
    """SQL for the name a new grid ``code`` (an SQL expression) of village ``v`` gets: the
    village's name and the grid's serial, 某某村第3网格."""
    serial = f"substr({code}, length(v.code) + 1)"
    return (f"v.name || '第' || CASE WHEN {serial} ~ '^[0-9]+$' THEN {serial}::int::text "
            f"ELSE {serial} END || '网格'")


# New grids of one village in one statement: their codes and WKB geometries as arrays.
INSERT_NEW = f"""
INSERT INTO plan_grid (plan_id, code, name, kind, village_code, geom)
SELECT :p, n.code, coalesce((SELECT g.name FROM grid g WHERE g.code = n.code),
                            {default_name("n.code")}),
       :kind, v.code, ST_GeomFromWKB(n.wkb, 4326)
  FROM unnest(CAST(:codes AS text[]), CAST(:wkbs AS bytea[])) n(code, wkb)
  JOIN region v ON v.code = :village
"""


async def change_grid(conn: AsyncConnection, plan: Plan, fid: int, draft: GridDraft, *,
                      replace: bool) -> None:
    """Update a drafted grid with what ``draft`` gives; ``replace``: the draft is the whole
    grid (its geometry required, unnamed attributes back to their defaults)."""
    _checked(draft)
    current = (await conn.execute(text(
        "SELECT code, name, kind, village_code, households, population, ST_AsBinary(geom) AS wkb "
        "FROM plan_grid WHERE plan_id = :p AND id = :fid"),
        {"p": plan.id, "fid": fid})).one_or_none()
    if current is None:
        raise NotFound(f"plan {plan.id} has no grid {fid}", field="featureId")
    if replace or draft.geometry is not None:
        geom = polygon(draft.geometry)
    else:
        geom = shapely.from_wkb(current.wkb)
    keep = not replace
    village = (await _village_of(conn, plan, draft, geom) if draft.village_code or replace
               else current.village_code)
    code = draft.code.strip() if draft.code else current.code
    await _code_free(conn, plan, code, fid)

    def pick(field: str, default=None):
        value = getattr(draft, field)
        return value if value is not None else (getattr(current, field) if keep else default)

    await conn.execute(text(f"""
        UPDATE plan_grid SET code = :code, name = :name, kind = :kind, village_code = :village,
               households = :households, population = :population,
               geom = {SNAPPED}
         WHERE id = :fid"""), {
        "p": plan.id, "fid": fid, "code": code, "name": (draft.name or "").strip() or current.name,
        "kind": pick("kind", current.kind), "village": village,
        "households": pick("households"), "population": pick("population"),
        "wkb": shapely.to_wkb(geom)})
    await touch(conn, plan)


async def remove_grid(conn: AsyncConnection, plan: Plan, fid: int) -> None:
    """Take a grid out of the draft: a live grid of that code is retired on publish."""
    gone = (await conn.execute(text("DELETE FROM plan_grid WHERE plan_id = :p AND id = :fid"),
                               {"p": plan.id, "fid": fid})).rowcount
    if not gone:
        raise NotFound(f"plan {plan.id} has no grid {fid}", field="featureId")
    await touch(conn, plan)


async def _fid(conn: AsyncConnection, plan: Plan, code: str, field: str = "code") -> int:
    fid = (await conn.execute(text("SELECT id FROM plan_grid WHERE plan_id = :p AND code = :c"),
                              {"p": plan.id, "c": code})).scalar_one_or_none()
    if fid is None:
        raise InvalidInput(f"plan {plan.id} has no grid {code}", field=field)
    return fid


# The registered households' homes in an area (SQL for its geometry): how many households at
# each point (several addresses of one building share a point).
HOMES_IN = """
SELECT ST_X(a.geom) AS x, ST_Y(a.geom) AS y, count(hh.id) AS households
  FROM address a JOIN house h ON h.address_id = a.id
  JOIN household hh ON hh.house_id = h.id
 WHERE a.geom && {area} AND ST_Covers({area}, a.geom)
 GROUP BY 1, 2"""
# A drafted grid as the cut takes it, and its homes.
_TO_HALVE = text(f"""
WITH pg AS (SELECT {FIXED.format(g="geom")} AS geom FROM plan_grid WHERE id = :fid)
SELECT ST_AsBinary(pg.geom) AS wkb,
       (SELECT json_agg(json_build_array(x, y, households))
          FROM ({HOMES_IN.format(area="pg.geom")}) AS homes) AS homes
  FROM pg
""")
HALVES = ("area", "households")  # what a grid cut in halves shares out evenly


async def split_grid(conn: AsyncConnection, plan: Plan, code: str, line: dict | None = None,
                     halves: str | None = None) -> list[str]:
    """Cut a drafted grid along ``line`` (GeoJSON LineString drawn across it), or in two
    ``halves`` (of HALVES) across its longer side (``halving_line``): the largest piece keeps
    the grid's code, the others become new grids. The codes, largest first."""
    fid = await _fid(conn, plan, code)
    if halves is not None:
        cut = await _halving(conn, fid, code, halves)
    else:
        cut = _shape(line, "line")
        if cut.geom_type not in ("LineString", "MultiLineString"):
            raise InvalidInput(f"must be a LineString, not {cut.geom_type}", field="line")
    pieces = (await conn.execute(text(f"""
        SELECT ST_AsBinary(part.geom) AS wkb, pg.village_code
          FROM plan_grid pg,
               LATERAL ST_Dump(ST_CollectionExtract(ST_Split({FIXED.format(g="pg.geom")},
                                                             ST_GeomFromWKB(:line, 4326)), 3)) part
         WHERE pg.id = :fid
         ORDER BY ST_Area(part.geom) DESC"""),
        {"fid": fid, "line": shapely.to_wkb(shapely.force_2d(cut))})).all()
    if len(pieces) < 2:
        raise InvalidInput(f"the line does not cut grid {code} in two: draw it across the grid "
                           "from edge to edge", field="line")
    village = pieces[0].village_code
    await conn.execute(text("UPDATE plan_grid SET geom = ST_GeomFromWKB(:wkb, 4326), "
                            "households = NULL, population = NULL WHERE id = :fid"),
                       {"fid": fid, "wkb": pieces[0].wkb})
    codes = await next_codes(conn, plan, village, len(pieces) - 1)
    kind = (await conn.execute(text("SELECT kind FROM plan_grid WHERE id = :fid"),
                               {"fid": fid})).scalar_one()
    await conn.execute(text(INSERT_NEW), {"p": plan.id, "kind": kind, "village": village,
                                          "codes": codes, "wkbs": [p.wkb for p in pieces[1:]]})
    await touch(conn, plan)
    return [code, *codes]


async def _halving(conn: AsyncConnection, fid: int, code: str, halves: str):
    """The line that cuts the drafted grid ``fid`` in ``halves``."""
    grid = (await conn.execute(_TO_HALVE, {"fid": fid})).one()
    if halves == "area":
        return halving_line(shapely.from_wkb(grid.wkb))
    homes = np.array(grid.homes or [], dtype=float).reshape(-1, 3)
    cut = halving_line(shapely.from_wkb(grid.wkb), homes[:, :2], homes[:, 2])
    if cut is None:  # no homes, or all at one place
        raise InvalidInput(f"grid {code} has no registered households to share out in two "
                           "(none, or all at one place along it)",
                           field="halves")
    return cut


async def merge_grids(conn: AsyncConnection, plan: Plan, codes: list[str]) -> str:
    """Merge drafted grids into the first of ``codes``, which keeps its code and name."""
    codes = list(dict.fromkeys(codes))
    if len(codes) < 2:
        raise InvalidInput("name two grids or more to merge", field="codes")
    fids = [await _fid(conn, plan, c, "codes") for c in codes]
    villages = set((await conn.execute(text(
        "SELECT village_code FROM plan_grid WHERE id = ANY(:f)"), {"f": fids})).scalars())
    if len(villages) > 1:
        raise InvalidInput("grids of different villages cannot be merged", field="codes")
    await conn.execute(text(f"""
        UPDATE plan_grid SET
               geom = (SELECT ST_Multi(ST_Union({FIXED.format(g="geom")})) FROM plan_grid
                        WHERE id = ANY(:all)),
               households = (SELECT sum(households) FROM plan_grid WHERE id = ANY(:all)),
               population = (SELECT sum(population) FROM plan_grid WHERE id = ANY(:all))
         WHERE id = :keep"""), {"keep": fids[0], "all": fids})
    await conn.execute(text("DELETE FROM plan_grid WHERE id = ANY(:others)"),
                       {"others": fids[1:]})
    await touch(conn, plan)
    return codes[0]


class LayerRefused(InvalidInput):
    """Features of a redrawn layer could not be taken; the draft was left as it was."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} feature(s) rejected; the draft is unchanged",
                         field="file")
        self.problems = problems


async def load_layer(conn: AsyncConnection, plan: Plan, bf: BoundaryFile) -> int:
    """Replace the draft with a redrawn grid layer (as read by mapsvc.boundaries.reading).
    Attributes the file lacks come from the live grid of the same code."""
    problems = list(bf.rejected)
    frame = bf.features
    for feature, code, village in zip(frame["feature"], frame["code"], frame["parent_code"]):
        if village not in plan.villages:
            problems.append(Problem(int(feature), code,
                                    f"village {village} is not in plan {plan.id}",
                                    {"rule": "outside_plan", "village": village}))
    if problems:
        raise LayerRefused(sorted(problems, key=lambda p: p.feature))
    rows = [{"code": r.code, "name": r.name, "village": r.parent_code,
             "kind": None if r.kind is None or r.kind != r.kind else r.kind,
             "households": None if "households" not in bf.present or r.households is None
             or r.households != r.households else int(r.households),
             "population": None if "population" not in bf.present or r.population is None
             or r.population != r.population else int(r.population),
             "wkb": shapely.to_wkb(r.geometry)}
            for r in frame.astype(object).where(frame.notna(), None).itertuples()]
    await conn.execute(text("DELETE FROM plan_grid WHERE plan_id = :p"), {"p": plan.id})
    await conn.execute(text("""
        INSERT INTO plan_grid (plan_id, code, name, kind, village_code, households, population,
                               geom)
        SELECT :p, CAST(:code AS text), :name, coalesce(:kind, g.kind, 'comprehensive'),
               :village, coalesce(CAST(:households AS int), g.households),
               coalesce(CAST(:population AS int), g.population), ST_GeomFromWKB(:wkb, 4326)
          FROM (SELECT 1) one LEFT JOIN grid g ON g.code = CAST(:code AS text)"""),
        [{"p": plan.id, **row} for row in rows])
    await touch(conn, plan)
    return len(rows)


async def discard_plan(conn: AsyncConnection, plan: Plan) -> None:
    await conn.execute(text("UPDATE plan SET status = 'discarded', updated_at = now() "
                            "WHERE id = :id"), {"id": plan.id})


def feature_draft(feature: dict, *, partial: bool = False) -> GridDraft:
    """A GeoJSON Feature (as QGIS or the planner page sends it) as a GridDraft."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInput("send a GeoJSON Feature", field="type")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidInput("must be an object", field="properties")
    if "geometry" not in feature and not partial:
        raise InvalidInput("a Polygon or MultiPolygon is required", field="geometry")
    known = {f for f in GridDraft.__dataclass_fields__ if f != "geometry"}
    return GridDraft(geometry=feature.get("geometry"),
                     **{k: v for k, v in props.items() if k in known})


def layer_problems(problems: list[Problem]) -> list[dict]:
    return [{"feature": p.feature, "code": p.code, "problem": p.problem, "ctx": p.ctx}
            for p in problems]
