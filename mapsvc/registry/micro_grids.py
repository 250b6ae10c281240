"""Micro-grids (微网格, 联户): a grid's households in groups of some twenty (urban) or thirty
(rural), a stairwell's or a lane's, each with a resident who knows them, its leader (联户长),
whom the grid worker calls on first.

A grid is divided by its stairwells (a building's entrance; where addresses have no building,
a lane or compound), each split evenly into as few micro-grids as keep within the most
households the rule allows (MAPSVC_PLANS_MICRO_HOUSEHOLDS_MAX, by the village's setting). Divided
again, the addresses registered since join their stairwell's smallest micro-grid, or, in a
stairwell of none, micro-grids of their own; divided afresh (``replace``), the grid's
micro-grids are made again. A micro-grid's code is its grid's and three digits. An address is in
a micro-grid of its grid only: a micro-grid a published plan moves whole goes with its addresses
(mapsvc.boundaries.publish), but an address moved out of its micro-grid is in none of its new
grid's until that grid is divided again.
"""

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.jurisdiction import registry_scope
from mapsvc.accounts.model import Account
from mapsvc.boundaries.sizing import SETTING
from mapsvc.errors import InvalidInput, NotFound
from mapsvc.geojson import Filters
from mapsvc.registry.privacy import MOBILE, decrypt, mask_name, mask_number

_LOCK = 0x6D67  # one division of a grid at a time (with the grid's id)
SERIALS = 999  # the micro-grids a grid may hold: three digits after its code (migration 0076)
# why a worker commonly needs a leader's mobile in full (the reveal is audited with it)
LEADER_REASONS = ("联系联户长了解住户情况", "请联户长协助通知住户")

# An address's (``a``) stairwell, its digits padded so that the stairwells sort as they are
# numbered (2栋 before 12栋): a building's entrance (a building of no compound known by its
# street number), else the lane or compound.
_NUMBERED = "a.building IS NOT NULL AND a.compound IS NULL"
STAIR = f"""concat_ws('|', a.street, lpad(CASE WHEN {_NUMBERED} THEN a.number END, 12, '0'),
                     a.compound, lpad(a.building, 6, '0'), lpad(a.entrance, 4, '0'))"""
# What a stairwell's micro-grid is called.
_STAIR_NAME = """coalesce(nullif(CASE
    WHEN a.building IS NULL THEN concat(a.street, a.compound)
    ELSE concat(coalesce(a.compound, a.street || a.number), a.building || '栋',
                a.entrance || '单元') END, ''), '其他住户')"""
# An address's place in its stairwell: by floor, room and number.
_IN_STAIR = "lpad(a.floor, 4, '0'), lpad(a.room, 6, '0'), lpad(a.number, 12, '0'), a.id"
# Whether an address (``a``) is in a micro-grid of its grid.
PLACED = """EXISTS (SELECT 1 FROM micro_grid m
                     WHERE m.id = a.micro_grid_id AND m.grid_id = a.grid_id)"""
# A micro-grid's (``m``, of grid ``g``) code.
CODE = "g.code || lpad(m.serial::text, 3, '0')"
# Whether a micro-grid's (``m``) leader (``l``) lives in it still.
LEADER_HERE = """l.left_on IS NULL AND EXISTS (
    SELECT 1 FROM household lh JOIN house lho ON lho.id = lh.house_id
      JOIN address la ON la.id = lho.address_id
     WHERE lh.id = l.household_id AND la.micro_grid_id = m.id AND la.grid_id = m.grid_id)"""

# The grid's addresses not in a micro-grid of it that share a stairwell with some that are:
# each into its stairwell's micro-grid of the fewest households.
_JOIN_STAIRS = text(f"""
WITH homes AS (
    SELECT a.id, {STAIR} AS stair, a.micro_grid_id, {PLACED} AS placed,
           (SELECT count(*) FROM house ho JOIN household h ON h.house_id = ho.id
             WHERE ho.address_id = a.id) AS households
      FROM address a WHERE a.grid_id = :grid
), sizes AS (
    SELECT stair, micro_grid_id AS micro, sum(households) AS size
      FROM homes WHERE placed GROUP BY 1, 2
), joining AS (
    SELECT DISTINCT ON (u.id) u.id, s.micro FROM homes u JOIN sizes s ON s.stair = u.stair
     WHERE NOT u.placed AND u.households > 0
     ORDER BY u.id, s.size, s.micro
)
UPDATE address a SET micro_grid_id = j.micro FROM joining j WHERE a.id = j.id
""")
# The grid's inhabited addresses in no micro-grid of it: each stairwell split evenly, in the
# order of its addresses, into as few micro-grids as keep within :most households, numbered on
# from the grid's last.
_DIVIDE = text(f"""
WITH homes AS (
    SELECT a.id, {STAIR} AS stair, {_STAIR_NAME} AS name,
           row_number() OVER (ORDER BY {_IN_STAIR}) AS place, count(h.id) AS households
      FROM address a JOIN house ho ON ho.address_id = a.id JOIN household h ON h.house_id = ho.id
     WHERE a.grid_id = :grid AND NOT {PLACED}
     GROUP BY a.id
), counted AS (
    SELECT id, stair, name, households,
           sum(households) OVER (PARTITION BY stair ORDER BY place) - households AS before,
           sum(households) OVER (PARTITION BY stair) AS total
      FROM homes
), parted AS (
    SELECT id, stair, name, ceil(total / CAST(:most AS numeric))::int AS parts,
           floor(before * ceil(total / CAST(:most AS numeric)) / total)::int AS part
      FROM counted
), numbered AS (
    SELECT id, CASE WHEN parts > 1 THEN name || '（' || (part + 1) || '）' ELSE name END AS name,
           (SELECT coalesce(max(serial), 0) FROM micro_grid WHERE grid_id = :grid)
           + dense_rank() OVER (ORDER BY stair, part) AS serial
      FROM parted
), made AS (
    INSERT INTO micro_grid (grid_id, serial, name)
    SELECT DISTINCT :grid, serial, name FROM numbered
    RETURNING id, serial
)
UPDATE address a SET micro_grid_id = made.id
  FROM numbered n JOIN made ON made.serial = n.serial
 WHERE a.id = n.id
""")
# A micro-grid's (``m``) households and the people living in them.
_SIZES = """(SELECT count(*) FROM address a JOIN house ho ON ho.address_id = a.id
          JOIN household h ON h.house_id = ho.id
         WHERE a.micro_grid_id = m.id AND a.grid_id = m.grid_id) AS households,
       (SELECT count(*) FROM address a JOIN house ho ON ho.address_id = a.id
          JOIN household h ON h.house_id = ho.id
          JOIN person p ON p.household_id = h.id AND p.left_on IS NULL
         WHERE a.micro_grid_id = m.id AND a.grid_id = m.grid_id) AS people"""
# A grid's micro-grids, each with its households, its people and its leader.
_LISTED = text(f"""
SELECT {CODE} AS code, m.name, {_SIZES},
       l.id AS leader_id, l.name AS leader_name, l.mobile_enc AS leader_mobile,
       l.id IS NOT NULL AND {LEADER_HERE} AS leader_here
  FROM micro_grid m JOIN grid g ON g.id = m.grid_id
  LEFT JOIN person l ON l.id = m.leader_id
 WHERE m.grid_id = :grid
 ORDER BY m.serial
""")
_HOUSEHOLDS = text(f"""
SELECT count(h.id) AS households, count(h.id) FILTER (WHERE {PLACED}) AS placed
  FROM address a JOIN house ho ON ho.address_id = a.id JOIN household h ON h.house_id = ho.id
 WHERE a.grid_id = :grid
""")


# The micro-grids of the grids ``{where}`` picks (``g``), with their leaders (``l``) who live
# in them still.
_LED = f"""
  FROM micro_grid m JOIN grid g ON g.id = m.grid_id
  LEFT JOIN person l ON l.id = m.leader_id AND {LEADER_HERE}
 WHERE {{where}}"""
# Those micro-grids, a row each: the roster of their leaders (联户长名册), by grid.
_ROSTER = f"""
SELECT g.code AS grid, g.name AS grid_name, {CODE} AS code, m.name, {_SIZES},
       l.name AS leader_name, l.mobile_enc AS leader_mobile{_LED}
 ORDER BY g.code, m.serial
"""
ROSTER_HEADINGS = ("网格编码", "网格", "微网格编码", "微网格", "户数", "人数", "联户长", "联户长手机")
_ROSTER_EXPORTED = """
INSERT INTO audit_log (account_id, action, entity, entity_id, reason)
SELECT :account, 'export', 'person', count(l.id) || ' micro-grid leaders' || :what,
       :reason""" + _LED


def roster_cells(row) -> tuple:
    """A row of the roster as the spreadsheet shows it: the leader masked as the pages mask."""
    return (row.grid, row.grid_name, row.code, row.name, row.households, row.people,
            mask_name(row.leader_name) if row.leader_name else "",
            mask_number(decrypt(row.leader_mobile, MOBILE)) if row.leader_mobile else "")


async def export_roster(conn: AsyncConnection, account: Account, reason: str, *,
                        region: str | None = None, grid: str | None = None) -> tuple[str, dict]:
    """The micro-grids of the account's jurisdiction (of ``region`` or ``grid``), with their
    households, people and leaders (masked), as the statement reading them (for
    ``roster_cells``) and its parameters; the export is audited first, with how many leaders
    it names."""
    if not reason.strip():
        raise InvalidInput("say why the export is needed", field="reason")
    f = Filters()
    registry_scope(account, f, alias="g", grid_column="id")
    if region:
        f.add(f.code_prefix("g.village_code", "region", region))
    if grid:
        f.add("g.code = :grid", grid=grid)
    asked = "".join(f", {k}={v}" for k, v in (("region", region), ("grid", grid)) if v)
    await conn.execute(text(_ROSTER_EXPORTED.format(where=f.where())),
                       {**f.params, "account": account.id, "what": asked,
                        "reason": reason.strip()})
    return _ROSTER.format(where=f.where()), f.params


def split_code(code: str) -> tuple[str, int]:
    """A micro-grid's code: its grid's code and its serial."""
    return code[:-3], int(code[-3:])


async def grid_in_reach(conn: AsyncConnection, account: Account, code: str):
    """The grid ``code`` in the account's jurisdiction (its id, code, name and its village's
    setting, urban or rural), or NotFound."""
    f = Filters(params={"code": code})
    f.add("g.code = :code")
    registry_scope(account, f, alias="g", grid_column="id")
    grid = (await conn.execute(text(
        f"SELECT g.id, g.code, g.name, {SETTING} AS setting FROM grid g "
        f"JOIN region v ON v.code = g.village_code WHERE {f.where()}"), f.params)).first()
    if grid is None:
        raise NotFound(f"no grid {code!r} in your jurisdiction", field="grid")
    return grid


async def micro_grids(conn: AsyncConnection, account: Account, grid_code: str) -> dict:
    """A grid's micro-grids, each with its households, its people and its leader (name and
    mobile masked; none if it left or moved out: ``leader_gone``), and over the rule's most
    households or not; with the grid's households, those in a micro-grid, and the rule."""
    grid = await grid_in_reach(conn, account, grid_code)
    return await _listed(conn, grid)


async def _listed(conn: AsyncConnection, grid) -> dict:
    most = settings.plans().micro_households_max[grid.setting]
    rows = (await conn.execute(_LISTED, {"grid": grid.id})).all()
    counted = (await conn.execute(_HOUSEHOLDS, {"grid": grid.id})).one()
    return {"grid": grid.code, "name": grid.name, "households_max": most,
            "households": counted.households, "placed": counted.placed,
            "micro_grids": [_shown(row, most) for row in rows]}


def _shown(row, most: int) -> dict:
    leader = None
    if row.leader_here:
        leader = {"id": row.leader_id, "name": mask_name(row.leader_name),
                  "mobile": mask_number(decrypt(row.leader_mobile, MOBILE))
                  if row.leader_mobile else None}
    return {"code": row.code, "name": row.name, "households": row.households,
            "people": row.people, "over": row.households > most, "leader": leader,
            "leader_gone": row.leader_id is not None and not row.leader_here}


async def divide(conn: AsyncConnection, account: Account, grid_code: str, *,
                 households_max: int | None = None, replace: bool = False) -> dict:
    """Divide a grid's households into micro-grids of at most ``households_max`` (by default
    the rule's for its village): those not yet in one (addresses registered since join their
    stairwell's smallest), or, ``replace``, all of them afresh (the grid's micro-grids, and so
    their leaders, made again). Sent again, nothing more is divided. Returns the grid's
    micro-grids as ``micro_grids`` lists them."""
    grid = await grid_in_reach(conn, account, grid_code)
    await conn.execute(text("SELECT pg_advisory_xact_lock(:lock, CAST(:grid AS int))"),
                       {"lock": _LOCK, "grid": grid.id})
    if replace:
        await conn.execute(text(
            "UPDATE address SET micro_grid_id = NULL WHERE micro_grid_id IN "
            "(SELECT id FROM micro_grid WHERE grid_id = :grid)"), {"grid": grid.id})
        await conn.execute(text("DELETE FROM micro_grid WHERE grid_id = :grid"),
                           {"grid": grid.id})
    await conn.execute(_JOIN_STAIRS, {"grid": grid.id})
    most = households_max or settings.plans().micro_households_max[grid.setting]
    try:
        await conn.execute(_DIVIDE, {"grid": grid.id, "most": most})
    except IntegrityError:  # past the last serial a code holds: nothing divided
        raise InvalidInput(f"grid {grid.code} would hold more than {SERIALS} micro-grids: "
                           "give a larger most", field="households_max") from None
    return await _listed(conn, grid)


async def _micro_grid(conn: AsyncConnection, account: Account, code: str):
    """The micro-grid ``code`` of a grid in the account's jurisdiction (its id, its grid), or
    NotFound."""
    grid_code, serial = split_code(code)
    grid = await grid_in_reach(conn, account, grid_code)
    found = (await conn.execute(text(
        "SELECT id FROM micro_grid WHERE grid_id = :grid AND serial = :serial"),
        {"grid": grid.id, "serial": serial})).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no micro-grid {code!r} in your jurisdiction", field="code")
    return found, grid


async def change_micro_grid(conn: AsyncConnection, account: Account, code: str,
                            changes: dict) -> dict:
    """Rename a micro-grid (``name``) or name its leader (``leader``: a person living in it;
    None: none). Returns the grid's micro-grids."""
    found, grid = await _micro_grid(conn, account, code)
    if changes.get("leader") is not None:
        here = (await conn.execute(text(
            f"SELECT 1 FROM person l, micro_grid m WHERE l.id = :person AND m.id = :micro "
            f"AND {LEADER_HERE}"), {"person": changes["leader"], "micro": found})).first()
        if here is None:
            raise InvalidInput(f"person {changes['leader']} does not live in micro-grid "
                               f"{code}: its leader is one of its residents", field="leader")
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    columns = {"name": "name", "leader": "leader_id"}
    sets = ", ".join(f"{columns[key]} = :{key}" for key in changes)
    if sets:
        await conn.execute(text(f"UPDATE micro_grid SET {sets} WHERE id = :micro"),
                           {**changes, "micro": found})
    return await _listed(conn, grid)


async def place_address(conn: AsyncConnection, account: Account, code: str,
                        address: int) -> dict:
    """Put an address of the micro-grid's grid (its households) into the micro-grid. Returns
    the grid's micro-grids."""
    found, grid = await _micro_grid(conn, account, code)
    moved = await conn.execute(text(
        "UPDATE address SET micro_grid_id = :micro WHERE id = :address AND grid_id = :grid"),
        {"micro": found, "address": address, "grid": grid.id})
    if moved.rowcount == 0:
        raise NotFound(f"no address {address} in grid {grid.code}", field="address")
    return await _listed(conn, grid)
