"""Publishing a plan, and previewing what publishing it would do.

Publishing happens in the caller's transaction, so it lands whole or not at all: grid rows take
the drafted names and kinds; the version in force of every retired or reshaped grid closes at
the effective time and the drafted geometry opens the next version; open incidents and registry
records (addresses and so households and people, organisations, components, places) of the
changed grids are located again by locate_grid, each move of an incident logged on it; closed
incidents keep the version they had; micro-grids follow their addresses (MICRO_PARTS). Tile
revisions follow from the triggers on the tables.

The preview runs the same steps inside a savepoint and rolls them back, so it shows exactly
what publishing would move.
"""

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.model import Account, Role
from mapsvc.boundaries.plans import CHANGED, FIXED, Plan
from mapsvc.boundaries.validation import validate
from mapsvc.errors import Conflict, Forbidden, InvalidInput
from mapsvc.incidents.assignment import locate_staged
from mapsvc.registry.micro_grids import SERIALS
from mapsvc.workflow.machine import OPEN_SQL

# The grids a plan touches: the live grids of its villages and any live grid it names.
SCOPE = """
CREATE TEMP TABLE plan_scope ON COMMIT DROP AS
SELECT g.id AS grid_id, g.code, gv.id AS version_id, gv.valid_from, pg.id AS plan_grid_id,
       pg.id IS NULL OR NOT ST_IsValid(pg.geom)
           OR {changed} AS reshaped
  FROM grid g
  JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
  LEFT JOIN plan_grid pg ON pg.plan_id = :plan AND pg.code = g.code
 WHERE g.village_code = ANY(:villages)
    OR g.code IN (SELECT code FROM plan_grid WHERE plan_id = :plan)
""".format(changed=CHANGED.format(a="gv.geom", b="pg.geom"))
AREA = """
CREATE TEMP TABLE plan_area ON COMMIT DROP AS
SELECT ST_Union(geom) AS geom FROM region WHERE code = ANY(:villages)
"""

UPSERT_GRIDS = """
INSERT INTO grid AS g (code, name, kind, village_code, households, population)
SELECT code, name, kind, village_code, households, population FROM plan_grid WHERE plan_id = :plan
ON CONFLICT (code) DO UPDATE
   SET name = excluded.name, kind = excluded.kind, village_code = excluded.village_code,
       households = excluded.households, population = excluded.population
 WHERE (g.name, g.kind, g.village_code, g.households, g.population) IS DISTINCT FROM
       (excluded.name, excluded.kind, excluded.village_code, excluded.households,
        excluded.population)
"""

CLOSE_VERSIONS = """
UPDATE grid_version gv SET valid_to = :at
  FROM plan_scope s WHERE gv.id = s.version_id AND s.reshaped
"""

OPEN_VERSIONS = f"""
INSERT INTO grid_version (grid_id, version, geom, valid_from, plan_id)
SELECT g.id, coalesce((SELECT max(version) FROM grid_version v WHERE v.grid_id = g.id), 0) + 1,
       {FIXED.format(g="pg.geom")}, :at, :plan
  FROM plan_grid pg JOIN grid g ON g.code = pg.code
 WHERE pg.plan_id = :plan
   AND NOT EXISTS (SELECT 1 FROM grid_version cur WHERE cur.grid_id = g.id AND cur.valid_to IS NULL)
"""

# what moved: ``id`` is the record's key as text (a component's is its 16-digit code)
MOVES = """
CREATE TEMP TABLE plan_move (kind text, id text, from_grid bigint, to_grid bigint,
                             from_version bigint, to_version bigint) ON COMMIT DROP
"""

# Records to locate again: those in a grid of the plan, and those in no grid whose point lies
# in one of the plan's villages (a redraw may close a gap); each part read by its own index.
CANDIDATES = """
SELECT r.line, r.geom, now() AS at
  FROM plan_scope s
 CROSS JOIN LATERAL (SELECT r.{key} AS line, r.geom FROM {table} r
                      WHERE r.grid_id = s.grid_id AND {which} OFFSET 0) r
UNION ALL
SELECT r.{key}, r.geom, now()
  FROM plan_area a JOIN {table} r ON r.geom && a.geom AND ST_Covers(a.geom, r.geom)
 WHERE r.grid_id IS NULL AND {which}
"""
# (kind, key column, key type, which records)
RECORDS = [("incident", "id", "bigint", f"r.status IN {OPEN_SQL}"),
           ("address", "id", "bigint", "true"), ("organisation", "id", "bigint", "true"),
           ("thing", "component_id", "text", "true"), ("place", "id", "bigint", "true")]

# each record looked up by its key (a township's records are a sliver of the table)
RECORD_MOVES = """
INSERT INTO plan_move
SELECT :kind, l.line::text, r.grid_id, l.grid_id, r.grid_version_id, l.grid_version_id
  FROM plan_located l
 CROSS JOIN LATERAL (SELECT grid_id, grid_version_id FROM {table}
                      WHERE {key} = l.line OFFSET 0) r
 WHERE r.grid_version_id IS DISTINCT FROM l.grid_version_id
"""

MOVE_INCIDENTS = """
WITH moved AS (
    UPDATE incident i
       SET grid_id = l.grid_id, grid_version_id = l.grid_version_id, village_code = v.code,
           township_code = v.parent_code, county_code = t.parent_code, assignment = l.method,
           assignment_distance_m = l.distance_m, updated_at = now()
      FROM plan_move m JOIN plan_located l ON l.line = m.id::bigint
      LEFT JOIN grid g ON g.id = l.grid_id
      LEFT JOIN region v ON v.code = g.village_code
      LEFT JOIN region t ON t.code = v.parent_code
     WHERE m.kind = 'incident' AND i.id = m.id::bigint
    RETURNING i.id
)
INSERT INTO incident_log (incident_id, actor, action, note, data)
SELECT moved.id, :actor, 'regrid', :note, jsonb_build_object(
           'plan', :plan,
           'from', (SELECT jsonb_build_object('code', g.code, 'version', v.version)
                      FROM grid_version v JOIN grid g ON g.id = v.grid_id
                     WHERE v.id = m.from_version),
           'to', (SELECT jsonb_build_object('code', g.code, 'version', v.version)
                    FROM grid_version v JOIN grid g ON g.id = v.grid_id
                   WHERE v.id = m.to_version))
  FROM plan_move m JOIN moved ON moved.id = m.id::bigint
 WHERE m.kind = 'incident'
 ORDER BY moved.id
"""

MOVE_RECORDS = """
UPDATE {table} r SET grid_id = l.grid_id, grid_version_id = l.grid_version_id,
       village_code = g.village_code, assignment = l.method
  FROM plan_move m JOIN plan_located l ON l.line = CAST(m.id AS {type})
  LEFT JOIN grid g ON g.id = l.grid_id
 WHERE m.kind = :kind AND r.{key} = CAST(m.id AS {type})
"""

# Micro-grids (微网格) follow the addresses the plan moves. Each touched micro-grid falls into
# parts by the grid each of its addresses is now in: the part left in its grid keeps it (if none
# is left, the largest part takes it into its new grid, numbered on there); every other part
# becomes a micro-grid of its new grid of the same name, numbered on there, as far as the
# codes' three digits go (past them, its addresses are in none until the grid is divided
# again). The leader (联户长) goes with the part he lives in: a building moved whole keeps its
# micro-grid and leader; a lane the boundary cuts is two, one led.
# The addresses moved that were in a micro-grid, with it (their households, in the impact,
# leave it unless it went with them).
MICRO_BEFORE = """
CREATE TEMP TABLE plan_micro ON COMMIT DROP AS
SELECT a.id AS address_id, a.micro_grid_id, a.grid_id AS to_grid, mg.grid_id AS from_grid
  FROM micro_grid mg JOIN address a ON a.micro_grid_id = mg.id
  LEFT JOIN plan_move m ON m.kind = 'address' AND m.id = a.id::text
 WHERE mg.id IN (SELECT a.micro_grid_id FROM plan_move m JOIN address a
                   ON a.id = m.id::bigint WHERE m.kind = 'address')
   AND (a.grid_id = mg.grid_id OR m.from_grid = mg.grid_id)
"""
# each part leaving its micro-grid's grid: its serial in the grid it goes to, whether it
# takes the micro-grid (``keeps``) or becomes one, and whether the leader lives in it
MICRO_PARTS = """
CREATE TEMP TABLE plan_micro_part ON COMMIT DROP AS
WITH parts AS (
    SELECT micro_grid_id AS id, from_grid, to_grid, array_agg(address_id) AS addresses,
           count(*) AS size
      FROM plan_micro WHERE to_grid IS NOT NULL GROUP BY 1, 2, 3
), ranked AS (
    SELECT p.*, row_number() OVER (PARTITION BY id ORDER BY to_grid = from_grid DESC,
                                                              size DESC, to_grid) = 1 AS keeps
      FROM parts p
), leaving AS (
    SELECT r.*, row_number() OVER (PARTITION BY to_grid ORDER BY id)
           + (SELECT coalesce(max(serial), 0) FROM micro_grid WHERE grid_id = r.to_grid) AS serial
      FROM ranked r WHERE to_grid <> from_grid
)
SELECT l.*, EXISTS (
           SELECT 1 FROM micro_grid mg JOIN person p ON p.id = mg.leader_id
             JOIN household h ON h.id = p.household_id JOIN house ho ON ho.id = h.house_id
            WHERE mg.id = l.id AND ho.address_id = ANY (l.addresses)) AS led
  FROM leaving l WHERE l.serial <= :serials
"""
MICRO_FOLLOW = (
    # the parts that take their micro-grid along
    """UPDATE micro_grid mg SET grid_id = p.to_grid, serial = p.serial
         FROM plan_micro_part p WHERE p.keeps AND mg.id = p.id""",
    # the others: micro-grids of their new grids, with the leader of the one led
    """WITH made AS (
           INSERT INTO micro_grid (grid_id, serial, name, leader_id)
           SELECT p.to_grid, p.serial, mg.name, CASE WHEN p.led THEN mg.leader_id END
             FROM plan_micro_part p JOIN micro_grid mg ON mg.id = p.id WHERE NOT p.keeps
           RETURNING id, grid_id, serial)
       UPDATE address a SET micro_grid_id = made.id
         FROM made JOIN plan_micro_part p ON p.to_grid = made.grid_id AND p.serial = made.serial
        WHERE a.id = ANY (p.addresses)""",
    # whose leader went with a part split off: none until another is named
    """UPDATE micro_grid SET leader_id = NULL
        WHERE id IN (SELECT id FROM plan_micro_part WHERE led AND NOT keeps)""",
)


async def _now(conn: AsyncConnection) -> datetime:
    return (await conn.execute(text("SELECT now()"))).scalar_one()


async def _apply(conn: AsyncConnection, plan: Plan, at: datetime, actor: str) -> None:
    params = {"plan": plan.id, "villages": list(plan.villages)}
    for table in ("plan_scope", "plan_area", "plan_move", "plan_micro", "plan_micro_part"):
        await conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table}"))
    await conn.execute(text(SCOPE), params)
    await conn.execute(text("ANALYZE plan_scope"))
    await conn.execute(text(AREA), params)
    latest = (await conn.execute(text(
        "SELECT max(valid_from)::text FROM plan_scope WHERE reshaped "
        "HAVING max(valid_from) >= :at"),
        {"at": at})).scalar_one_or_none()
    if latest is not None:
        raise InvalidInput(f"must be after {latest}, when a grid it changes took its present "
                           "shape", field="effective_from")
    await conn.execute(text(UPSERT_GRIDS), params)
    await conn.execute(text(CLOSE_VERSIONS), {"at": at})
    await conn.execute(text(OPEN_VERSIONS), {**params, "at": at})
    await conn.execute(text(MOVES))
    for kind, key, key_type, which in RECORDS:
        await locate_staged(conn, CANDIDATES.format(table=kind, key=key, which=which),
                            into="plan_located")
        await conn.execute(text(RECORD_MOVES.format(table=kind, key=key)), {"kind": kind})
        if kind == "incident":
            await conn.execute(text(MOVE_INCIDENTS), {
                "plan": plan.id, "actor": actor, "note": f"规划方案 {plan.id}：{plan.name}"})
        else:
            await conn.execute(text(MOVE_RECORDS.format(table=kind, key=key, type=key_type)),
                               {"kind": kind})
        if kind == "address":
            await conn.execute(text(MICRO_BEFORE))
            await conn.execute(text(MICRO_PARTS), {"serials": SERIALS})
            for statement in MICRO_FOLLOW:
                await conn.execute(text(statement))


async def publish(conn: AsyncConnection, plan: Plan, account: Account, *,
                  effective_from: datetime | None = None, force_reason: str | None = None,
                  ) -> dict:
    """Publish ``plan`` (loaded for a change) in the caller's transaction. A plan whose report
    has errors is refused unless an admin forces it with a reason; a stale plan never goes."""
    report = await validate(conn, plan)
    if any(f["kind"] == "stale" for f in report["findings"]):
        raise Conflict("the grids of these villages changed after this draft began: "
                       "start a new plan", field="plan")
    reason = (force_reason or "").strip() or None
    if report["errors"]:
        if reason is None:
            raise Conflict(f"the plan has {report['errors']} error(s): fix them, or an admin "
                           "forces it with a reason", field="force_reason")
        if account.role is not Role.admin:
            raise Forbidden("only an admin may force a plan with errors", field="force_reason")
    now = await _now(conn)
    if effective_from is not None and effective_from > now:
        raise InvalidInput("publish when the plan takes effect: it cannot be dated in the "
                           "future", field="effective_from")
    at = effective_from or now
    await _apply(conn, plan, at, account.username)
    await conn.execute(text("""
        UPDATE plan SET status = 'published', published_at = now(), published_by = :account,
               effective_from = :at,
               forced_reason = CASE WHEN :errors > 0 THEN :reason END, updated_at = now()
         WHERE id = :plan"""), {"plan": plan.id, "account": account.id, "at": at,
                                "errors": report["errors"], "reason": reason})
    return await _moves(conn, plan)


IMPACT = """
WITH moves AS (
    SELECT m.kind, m.from_grid, m.to_grid, count(*) AS n,
           sum((SELECT count(*) FROM house h JOIN household hh ON hh.house_id = h.id
                 WHERE h.address_id = m.id::bigint)) FILTER (WHERE m.kind = 'address')
               AS households,
           sum((SELECT count(*) FROM house h JOIN household hh ON hh.house_id = h.id
                  JOIN person p ON p.household_id = hh.id AND p.left_on IS NULL
                 WHERE h.address_id = m.id::bigint)) FILTER (WHERE m.kind = 'address') AS people,
           -- those that leave their micro-grid (微网格): into one split off from it, or none
           sum((SELECT count(*) FROM house h JOIN household hh ON hh.house_id = h.id
                  JOIN plan_micro pm ON pm.address_id = h.address_id
                  JOIN address a ON a.id = h.address_id
                 WHERE h.address_id = m.id::bigint
                   AND NOT EXISTS (SELECT 1 FROM micro_grid mg
                                    WHERE mg.id = pm.micro_grid_id AND mg.id = a.micro_grid_id
                                      AND mg.grid_id = a.grid_id)))
               FILTER (WHERE m.kind = 'address') AS micro_households
      FROM plan_move m WHERE m.from_grid IS DISTINCT FROM m.to_grid
     GROUP BY m.kind, m.from_grid, m.to_grid
), pairs AS (
    SELECT from_grid, to_grid,
           coalesce(sum(n) FILTER (WHERE kind = 'incident'), 0) AS incidents,
           coalesce(sum(households), 0) AS households, coalesce(sum(people), 0) AS people,
           coalesce(sum(micro_households), 0) AS micro_households,
           coalesce(sum(n) FILTER (WHERE kind = 'organisation'), 0) AS organisations,
           coalesce(sum(n) FILTER (WHERE kind = 'thing'), 0) AS components,
           coalesce(sum(n) FILTER (WHERE kind = 'place'), 0) AS places
      FROM moves GROUP BY from_grid, to_grid
)
SELECT json_build_object(
    'moves', (SELECT coalesce(json_agg(json_build_object(
                  'from', f.code, 'to', t.code, 'incidents', p.incidents,
                  'households', p.households, 'people', p.people,
                  'micro_households', p.micro_households,
                  'organisations', p.organisations, 'components', p.components,
                  'places', p.places,
                  'from_workers', {from_workers}, 'to_workers', {to_workers})
                  ORDER BY f.code NULLS FIRST, t.code NULLS FIRST), '[]')
                FROM pairs p LEFT JOIN grid f ON f.id = p.from_grid
                LEFT JOIN grid t ON t.id = p.to_grid
               WHERE p.incidents + p.households + p.organisations + p.components + p.places > 0),
    'grids', (SELECT coalesce(json_agg(json_build_object(
                  'code', g.code, 'name', g.name,
                  'change', CASE WHEN s.grid_id IS NULL THEN 'new'
                                 WHEN s.plan_grid_id IS NULL THEN 'retired'
                                 WHEN s.reshaped THEN 'reshaped' ELSE 'unchanged' END,
                  'workers', {workers}) ORDER BY g.code), '[]')
                FROM grid g LEFT JOIN plan_scope s ON s.grid_id = g.id
               WHERE s.grid_id IS NOT NULL
                  OR g.code IN (SELECT code FROM plan_grid WHERE plan_id = :plan)),
    'incidents_regridded', (SELECT count(*) FROM plan_move WHERE kind = 'incident'))
"""

# the workers of a grid: whose jurisdiction a move changes
WORKERS = """(SELECT coalesce(json_agg(a.display_name ORDER BY a.display_name), '[]')
               FROM account_grid ag JOIN account a ON a.id = ag.account_id AND a.active
              WHERE ag.grid_id = {grid})"""


async def _moves(conn: AsyncConnection, plan: Plan) -> dict:
    """What the applied plan moved: per (from grid, to grid) the open incidents, households
    (and of them those leaving their micro-grid), people, organisations, components and places,
    with the workers on each side; per grid its change and workers."""
    sql = IMPACT.format(from_workers=WORKERS.format(grid="p.from_grid"),
                        to_workers=WORKERS.format(grid="p.to_grid"),
                        workers=WORKERS.format(grid="g.id"))
    return (await conn.execute(text(sql), {"plan": plan.id})).scalar_one()


async def preview(conn: AsyncConnection, plan: Plan, account: Account) -> dict:
    """What publishing ``plan`` now would move; nothing is kept."""
    savepoint = await conn.begin_nested()
    try:
        await _apply(conn, plan, await _now(conn), account.username)
        return await _moves(conn, plan)
    finally:
        await savepoint.rollback()
