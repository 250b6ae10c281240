"""Campaigns (专项排查): a centre sends the grid workers of a region to check every organisation,
place or component of a kind (every enterprise before the fire season, every market, every
manhole cover) by a date; each worker checks those of its grids on the phone, a hazard found
reported as a case at once; the centre follows each grid's progress.

What a campaign checks is taken when it is made, each thing with its grid then; an organisation
or place closed (注销、停业), or a component the census says removed, by the campaign's due day
and never checked is due no more (reopened, or back in the census, it is due again). Everyone
reads a campaign through the things they may see of it (registry_scope): a grid worker those of
its grids, a county's centre those of its county in a city's campaign.
"""

import json
import os
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import registry_scope
from mapsvc.accounts.model import GRID_ROLES, WORKER_NAME, Account, Role
from mapsvc.db.spreadsheet import copy_statement, local_time, text_cell
from mapsvc.errors import Conflict, Forbidden, InvalidInput, NotFound
from mapsvc.geojson import Filters, code_range, feature_collection, page
from mapsvc.incidents.intake import report_incident
from mapsvc.incidents.model import IncidentReport
from mapsvc.registry.collection import ORGANISATION_KIND_NAMES, standing
from mapsvc.workflow.rates import rate

MAKERS = frozenset({Role.command, Role.admin})
CHECKERS = GRID_ROLES
READERS = MAKERS | CHECKERS

# Each layer's table, the column telling its things apart, the one a campaign's kind picks
# them by (a component's four-digit type, GB/T 30428), and the day one left (closed, removed;
# those standing are there to check: collection.standing).
LAYERS = {
    "organisations": ("organisation", "id::text", "kind", "closed_on"),
    "places": ("place", "id::text", "kind", "closed_on"),
    "things": ("thing", "component_id", "type_code", "removed_on"),
}


# The end of a campaign's (``c``) due day (China Standard Time): a thing checked before it was
# checked on time.
DUE_END = "(CAST(c.due + 1 AS timestamp) AT TIME ZONE 'Asia/Shanghai')"


# The things campaigns check no more, each as (campaign, target): organisations and places
# closed (注销、停业) and components removed by their campaign's due day and never checked. Few:
# asked once per reading.
_NOT_DUE = " UNION ALL ".join(
    "SELECT n.campaign_id, n.target FROM campaign c "
    f"JOIN {table} x ON c.layer = '{layer}' AND x.{left} <= c.due "
    f"JOIN campaign_target n ON n.campaign_id = c.id AND n.target = x.{target} "
    "WHERE NOT EXISTS (SELECT 1 FROM campaign_check k "
    "                   WHERE k.campaign_id = n.campaign_id AND k.target = n.target)"
    for layer, (table, target, _, left) in LAYERS.items())
# A thing of a campaign (t) it still checks, asked of each thing (the lists of things, and
# 按期排查率; the counts of campaigns and grids take the few due no more off theirs instead).
_DUE_THING = f"(t.campaign_id, t.target) NOT IN ({_NOT_DUE})"


def _things(layer: str) -> str:
    table, target, kind, _ = LAYERS[layer]
    return (f"SELECT {target} AS target, {kind} AS kind, name, geom, grid_id, village_code "
            f"FROM {table} WHERE {standing(layer, table)}")


# How the pages name the kinds the registry's own codes give (a place's kind is the words its
# importer gave, a component type's the name its components carry).
KIND_NAMES = {**ORGANISATION_KIND_NAMES, "market": "农贸市场"}

_MAKE = """
INSERT INTO campaign (client_id, title, instructions, layer, kind, region_code, due, created_by)
VALUES (:client_id, :title, :instructions, :layer, :kind, :region, :due, :account)
ON CONFLICT (client_id) DO NOTHING
RETURNING id
"""
_TARGETS = """
INSERT INTO campaign_target (campaign_id, target, name, geom, grid_id, village_code)
SELECT :id, s.target, s.name, s.geom, s.grid_id, s.village_code FROM ({things}) s
 WHERE s.kind = :kind AND {where}
"""

# The last check of each thing of the campaigns ``{checks}`` picks (on k).
_LASTS = """
SELECT DISTINCT ON (k.campaign_id, k.target) k.campaign_id, k.target, k.result, k.at, k.note,
       k.incident_id, k.account_id
  FROM campaign_check k
 WHERE {checks}
 ORDER BY k.campaign_id, k.target, k.at DESC, k.id DESC
"""
# Each thing of a campaign (:id) the account reads, with its last check and who made it:
# ``{where}`` the account's scope on the things (t).
_LAST = f"""
SELECT t.*, l.result, l.at, l.note, l.incident_id, {{worker}} AS checked_by
  FROM campaign_target t
  LEFT JOIN ({_LASTS.replace("{checks}", "k.campaign_id = :id")}) l
    ON l.campaign_id = t.campaign_id AND l.target = t.target
  LEFT JOIN account a ON a.id = l.account_id
 WHERE {{where}}
"""
# How many things of each campaign (or each grid of one) the account reads that their campaigns
# still check (those due no more, few, taken off the count; none of them checked), and of those
# how many were checked and how many stand as hazards: the things counted apart from their
# checks, which are fewer. Groups by ``{by}``, named ``{key}``.
_COUNTED = f"""
held AS (
    SELECT {{by}} AS key, count(*) AS targets, min(t.name) AS a_name
      FROM campaign_target t WHERE {{where}} GROUP BY 1
), gone AS (
    SELECT {{by}} AS key, count(*) AS gone FROM ({_NOT_DUE}) n
      JOIN campaign_target t ON t.campaign_id = n.campaign_id AND t.target = n.target
     WHERE {{where}} GROUP BY 1
), things AS (
    SELECT h.key AS {{key}}, h.targets - coalesce(x.gone, 0) AS targets, h.a_name
      FROM held h LEFT JOIN gone x ON x.key = h.key
     WHERE h.targets > coalesce(x.gone, 0)
), checked AS (
    SELECT {{by}} AS {{key}}, count(*) AS checked,
           count(*) FILTER (WHERE l.result = 'hazard') AS hazards
      FROM ({_LASTS}) l JOIN campaign_target t
        ON t.campaign_id = l.campaign_id AND t.target = l.target
     WHERE {{where}} GROUP BY 1
)"""
_CAMPAIGNS = f"""
WITH {_COUNTED.format(by="t.campaign_id", key="campaign", where="{where}", checks="{checks}")}
SELECT c.id, c.title, c.instructions, c.layer, c.kind, c.due, c.created_at, c.ended_at,
       c.region_code, coalesce(r.name, '全辖区') AS region_name,
       (SELECT {WORKER_NAME} FROM account a WHERE a.id = c.created_by) AS made_by,
       s.a_name, s.targets, coalesce(k.checked, 0) AS checked, coalesce(k.hazards, 0) AS hazards
  FROM things s JOIN campaign c ON c.id = s.campaign
  LEFT JOIN checked k ON k.campaign = s.campaign
  LEFT JOIN region r ON r.code = c.region_code
 ORDER BY c.ended_at IS NOT NULL, c.due < CAST(now() AT TIME ZONE 'Asia/Shanghai' AS date),
          c.due, c.id DESC
{{page}}
"""
# A campaign's grids, the least checked first.
_GRIDS = f"""
WITH {_COUNTED.format(by="coalesce(t.grid_id, 0)", key="grid", where="{where}",
                      checks="k.campaign_id = :id")}
SELECT g.code, coalesce(g.name, '（无网格）') AS name, g.workers, s.targets,
       coalesce(k.checked, 0) AS checked, coalesce(k.hazards, 0) AS hazards
  FROM things s LEFT JOIN checked k ON k.grid = s.grid  -- 0: things in no grid
  LEFT JOIN grid g ON g.id = s.grid
 ORDER BY coalesce(k.checked, 0)::float / s.targets, g.code NULLS FIRST
"""
_FEATURES = f"""
WITH s AS ({_LAST})
SELECT row_number() OVER (ORDER BY s.result IS NOT NULL, g.code, s.name, s.target) AS sort,
       json_build_object(
    'type', 'Feature', 'id', s.target,
    'geometry', ST_AsGeoJSON(s.geom, 7)::json,
    'properties', json_build_object(
        'name', s.name, 'grid', g.code, 'grid_name', g.name, 'result', s.result,
        'checked_at', s.at, 'checked_by', s.checked_by, 'note', s.note,
        'incident', s.incident_id)) AS feature
  FROM s LEFT JOIN grid g ON g.id = s.grid_id
 ORDER BY sort {{page}}
"""


# The campaign's ledger (排查台账): a row per thing, by grid, as a spreadsheet shows it.
_SHEET = f"""
WITH s AS ({_LAST})
SELECT {text_cell("coalesce(g.name, '')")} AS "网格", g.code AS "网格编码",
       {text_cell("s.name")} AS "对象", {text_cell("s.target")} AS "编号",
       CASE s.result WHEN 'normal' THEN '正常' WHEN 'hazard' THEN '存在隐患' ELSE '未排查' END
           AS "排查结果",
       {text_cell("coalesce(s.note, '')")} AS "情况", {text_cell("s.checked_by")} AS "排查人",
       {local_time("s.at")} AS "排查时间", s.incident_id AS "案件编号"
  FROM s LEFT JOIN grid g ON g.id = s.grid_id
 ORDER BY g.code, s.name, s.target
"""


def _scope(account: Account, **params) -> Filters:
    f = Filters(params=params)
    registry_scope(account, f, alias="t", people=False)
    return f


def _due_scope(account: Account, **params) -> Filters:
    """The things of campaigns (t) the account may see that their campaigns still check."""
    f = _scope(account, **params)
    f.add(_DUE_THING)
    return f


async def make_campaign(conn: AsyncConnection, account: Account, *, client_id: UUID, title: str,
                        instructions: str, layer: str, kind: str, region: str | None,
                        due: date) -> tuple[dict, bool]:
    """A campaign by ``account`` over ``region`` (by default the account's own), checking
    every thing of ``kind`` in ``layer`` there by ``due``; the same campaign sent again is the
    one made. None there to check: refused, nothing made. Returns it and whether it is new."""
    region = region or account.region_code
    if region is not None and not (account.covers(region) and (await conn.execute(
            text("SELECT EXISTS (SELECT 1 FROM region WHERE code = :region)"),
            {"region": region})).scalar_one()):
        raise NotFound(f"no region {region!r} in your region", field="region")
    made = (await conn.execute(text(_MAKE), {
        "client_id": client_id, "title": title.strip(), "instructions": instructions,
        "layer": layer, "kind": kind, "region": region, "due": due,
        "account": account.id})).scalar_one_or_none()
    if made is None:
        made = (await conn.execute(text(
            "SELECT id FROM campaign WHERE client_id = :client_id AND created_by = :account"),
            {"client_id": client_id, "account": account.id})).scalar_one_or_none()
        if made is None:
            raise Conflict(f"client_id {client_id} names another account's campaign",
                           field="client_id")
        return await campaign(conn, account, made), False
    f = Filters(params={"id": made, "kind": kind})
    if region is not None:
        f.add(f.code_prefix("s.village_code", "region", region))
    taken = await conn.execute(text(_TARGETS.format(things=_things(layer), where=f.where())),
                               f.params)
    if taken.rowcount == 0:
        raise InvalidInput(f"no {layer} of kind {kind!r} in the region to check", field="kind")
    return await campaign(conn, account, made), True


async def kinds(conn: AsyncConnection, account: Account, region: str | None) -> list[dict]:
    """What a campaign of ``region`` (by default the account's) could check: each layer's
    kinds there, named, with how many things of each the registry holds."""
    f = _scope(account)
    if region is not None:
        if not account.covers(region):
            raise NotFound(f"no region {region!r} in your region", field="region")
        f.add(f.code_prefix("t.village_code", "region", region))
    layers = [f"SELECT '{layer}' AS layer, t.kind, min(t.name) AS name, count(*) AS things "
              f"FROM ({_things(layer)}) t WHERE {f.where()} GROUP BY t.kind" for layer in LAYERS]
    rows = (await conn.execute(text(" UNION ALL ".join(layers) + " ORDER BY 1, 4 DESC, 2"),
                               f.params)).mappings()
    return [{"layer": row["layer"], "kind": row["kind"], "things": row["things"],
             "name": _kind_name(row["layer"], row["kind"], row["name"])} for row in rows]


async def campaigns(conn: AsyncConnection, account: Account, *, limit: int = 100,
                    offset: int = 0, ids: list[int] | None = None) -> list[dict]:
    """The campaigns with things the account may see, each with how many of those it holds,
    how many were checked and how many stand as hazards: those running first (then those past
    their date, then those ended), the soonest due first."""
    f = _scope(account)
    checks = "true"
    if ids is not None:
        f.add("t.campaign_id = ANY(:ids)", ids=ids)
        checks = "k.campaign_id = ANY(:ids)"
    sql = _CAMPAIGNS.format(page=page(limit, offset), where=f.where(), checks=checks)
    rows = (await conn.execute(text(sql), f.params)).mappings().all()
    return [{**{k: v for k, v in row.items() if k != "a_name"},
             "kind_name": _kind_name(row["layer"], row["kind"], row["a_name"]),
             "due": row["due"].isoformat(), "created_at": row["created_at"].isoformat(),
             "ended_at": row["ended_at"] and row["ended_at"].isoformat()}
            for row in rows]


def _kind_name(layer: str, kind: str, a_name: str) -> str:
    """A kind as the pages name it: a component type by the name of one of its components."""
    return a_name if layer == "things" else KIND_NAMES.get(kind, kind)


async def campaign(conn: AsyncConnection, account: Account, campaign_id: int) -> dict:
    found = await campaigns(conn, account, ids=[campaign_id], limit=1)
    if not found:
        raise NotFound(f"no campaign {campaign_id} in your jurisdiction", field="id")
    return found[0]


async def campaign_title(conn: AsyncConnection, account: Account, campaign_id: int) -> str:
    """The title of a campaign with things the account may see (NotFound for any other): a
    check before reading one of its lists, its progress left uncounted."""
    f = _scope(account, id=campaign_id)
    f.add("t.campaign_id = c.id")
    title = (await conn.execute(text(
        "SELECT c.title FROM campaign c WHERE c.id = :id "
        f"AND EXISTS (SELECT 1 FROM campaign_target t WHERE {f.where()})"),
        f.params)).scalar_one_or_none()
    if title is None:
        raise NotFound(f"no campaign {campaign_id} in your jurisdiction", field="id")
    return title


# The things of the campaigns due from :start to :end (local dates; any ended before the end of
# its due day left out: called off) that ``{things}`` joins to each campaign ``d`` (as ``t``)
# by ``{key}``, each with whether it was checked by the end of its due day and whether that
# time has come; counted per key.
_DUE = f"""
WITH due AS MATERIALIZED (
    SELECT c.id, {DUE_END} AS due_end FROM campaign c
     WHERE c.due BETWEEN :start AND :end AND (c.ended_at IS NULL OR c.ended_at >= {DUE_END})
)
SELECT {{key}} AS key, count(*) FILTER (WHERE f.at < d.due_end OR d.due_end <= now()) AS due,
       count(*) FILTER (WHERE f.at < d.due_end) AS on_time
  FROM due d {{things}}
  LEFT JOIN LATERAL (SELECT min(k.at) AS at FROM campaign_check k
                      WHERE k.campaign_id = t.campaign_id AND k.target = t.target) f ON true
 WHERE {_DUE_THING}
 GROUP BY 1
"""
_DUE_OF = {
    "grid": _DUE.format(key="t.grid_id", things=(
        "JOIN campaign_target t ON t.campaign_id = d.id AND "
        f"{code_range('t.village_code', ':within')} "
        "AND t.grid_id = ANY(CAST(:keys AS bigint[]))")),
    # a worker's: the things in the grids it worked at the end of their due day
    "worker": _DUE.format(key="p.account_id", things=(
        "JOIN account_grid_period p ON p.account_id = ANY(CAST(:keys AS bigint[])) "
        "AND p.since < d.due_end AND coalesce(p.until, 'infinity') >= d.due_end "
        "JOIN campaign_target t ON t.grid_id = p.grid_id AND t.campaign_id = d.id")),
}
# Regions (their codes, ``:keys``): each village's things counted, then summed into the regions
# their codes begin.
_DUE_IN_REGIONS = f"""
SELECT r.key, sum(v.due)::bigint AS due, sum(v.on_time)::bigint AS on_time
  FROM ({_DUE.format(key="t.village_code", things=(
      "JOIN campaign_target t ON t.campaign_id = d.id AND "
      + code_range("t.village_code", ":within")))}) v
  JOIN unnest(CAST(:keys AS text[])) r(key) ON starts_with(v.key, r.key)
 GROUP BY r.key
"""


async def campaigns_due(conn: AsyncConnection, by: str, keys: list[str], start: date,
                        end: date, within: str = "") -> dict[str, dict]:
    """Per region, grid or worker of ``keys`` (those ``by`` names), the things of the campaigns
    due from ``start`` to ``end`` (local dates) it answered for (a worker: in the grids it
    worked on their due day), those checked by the end of their due day (``on_time``), and
    the share (按期排查率): a thing still within its time counts once checked, or once its time
    passes; one closed by then and never checked is due no more. Campaigns ended before the
    end of their due day are left out. Grids are those of the region ``within`` (a code; all:
    ""), whose things its villages' codes find."""
    if by in ("grid", "worker"):
        sql, params = _DUE_OF[by], {"keys": [int(k) for k in keys], "within": within}
    else:  # the regions' things: those of the villages their codes' common start holds
        sql, params = _DUE_IN_REGIONS, {"keys": keys, "within": os.path.commonprefix(keys)}
    rows = await conn.execute(text(sql), {**params, "start": start, "end": end})
    counted = {str(r.key): (r.due, r.on_time) for r in rows}
    return {key: {"due": due, "on_time": on_time, "rate": rate(on_time, due)}
            for key in keys for due, on_time in [counted.get(key, (0, 0))]}


_LOGGED = text("""
INSERT INTO campaign_log (campaign_id, account_id, action, due_before, due, reason)
VALUES (:id, :account, :action, :due_before, :due, :reason)
""")


async def change_campaign(conn: AsyncConnection, account: Account, campaign_id: int, *,
                          due: date | None, end: bool, reason: str,
                          reopen: bool = False) -> tuple[dict, bool]:
    """Move a campaign's due date, end it before all is checked (no check done since is
    taken), or reopen one ended (``reopen`` with its new ``due``: it runs again, and every
    check is taken again), saying why: a centre's call over the campaign's whole region
    (Forbidden over a part of it). Logged, unless it changes nothing (the same date; ended
    again; reopened again, as a retry). An ended campaign's date stays unless it is reopened.
    Returns the campaign as it now stands and whether it changed."""
    await campaign_title(conn, account, campaign_id)
    was = (await conn.execute(text(
        "SELECT region_code, due, ended_at FROM campaign WHERE id = :id FOR UPDATE"),
        {"id": campaign_id})).one()
    if not account.covers(was.region_code or ""):  # "": the whole deployment's
        raise Forbidden(f"campaign {campaign_id} is changed by a centre over all its region "
                        f"({was.region_code or 'the whole deployment'})", field="id")
    if was.ended_at is not None and due is not None and not reopen:
        raise Conflict(f"campaign {campaign_id} ended at {was.ended_at.isoformat()}: its date "
                       "stays unless it is reopened (reopen: true)", field="due")
    if end:
        action = "end" if was.ended_at is None else None
    elif was.ended_at is not None:
        action = "reopen"
    else:  # its date moved; reopened again (a retry), as moved
        action = "due" if due != was.due else None
    if action is None:
        return await campaign(conn, account, campaign_id), False
    await conn.execute(text({
        "end": "UPDATE campaign SET ended_at = now() WHERE id = :id",
        "due": "UPDATE campaign SET due = :due WHERE id = :id",
        "reopen": "UPDATE campaign SET due = :due, ended_at = NULL WHERE id = :id"}[action]),
        {"id": campaign_id, "due": due})
    await conn.execute(_LOGGED, {"id": campaign_id, "account": account.id, "action": action,
                                 "due_before": was.due, "due": was.due if end else due,
                                 "reason": reason.strip()})
    return await campaign(conn, account, campaign_id), True


async def campaign_log(conn: AsyncConnection, account: Account, campaign_id: int) -> list:
    """What was changed of a campaign the account may see: each due date moved, its end and
    its reopening, with when, by whom and why, the first first."""
    await campaign_title(conn, account, campaign_id)
    rows = (await conn.execute(text(
        f"SELECT l.at, {WORKER_NAME} AS by, l.action, l.due_before, l.due, l.reason "
        "FROM campaign_log l JOIN account a ON a.id = l.account_id "
        "WHERE l.campaign_id = :id ORDER BY l.at, l.id"), {"id": campaign_id})).mappings()
    return [{**row, "at": row["at"].isoformat(), "due_before": row["due_before"].isoformat(),
             "due": row["due"].isoformat()} for row in rows]


async def campaign_grids(conn: AsyncConnection, account: Account, campaign_id: int) -> list:
    """Each grid of a campaign the account may see, with its workers and progress, the least
    checked first."""
    await campaign_title(conn, account, campaign_id)
    f = _scope(account, id=campaign_id)
    f.add("t.campaign_id = :id")
    sql = _GRIDS.format(where=f.where())
    return [dict(row) for row in (await conn.execute(text(sql), f.params)).mappings()]


async def campaign_targets(conn: AsyncConnection, account: Account, campaign_id: int, *,
                           grid: str | None = None, result: str | None = None,
                           limit: int = 100, offset: int = 0) -> str:
    """The things of a campaign the account may see (of a grid; checked with a result, or
    unchecked: ``result`` "none"), the unchecked first, with their last checks: GeoJSON."""
    await campaign_title(conn, account, campaign_id)
    f = _due_scope(account, id=campaign_id)
    f.add("t.campaign_id = :id")
    if grid is not None:
        f.add("t.grid_id = (SELECT id FROM grid WHERE code = :grid)", grid=grid)
    where = f.where()
    if result is not None:
        where = f"({where}) AND l.result IS NOT DISTINCT FROM :result"
        f.params["result"] = None if result == "none" else result
    matched = f"SELECT count(*) FROM ({_LAST.format(worker=WORKER_NAME, where=where)}) m"
    sql = feature_collection(_FEATURES.format(page=page(limit, offset), worker=WORKER_NAME,
                                              where=where), matched=matched)
    return (await conn.execute(text(sql), f.params)).scalar_one()


# When a check was made (``:at``, as the phone says, or now; of a campaign ``c``): never ahead
# of now, nor before the campaign was made (a phone's clock far wrong); a hazard's case is
# reported then too.
_CHECKED_AT = "greatest(least(coalesce(CAST(:at AS timestamptz), now()), now()), c.created_at)"
# A check, at that time, where the phone stood.
_CHECK = text("""
INSERT INTO campaign_check (client_id, campaign_id, target, account_id, at, result, note,
                            geom, incident_id)
VALUES (:client_id, :id, :target, :account, :at, :result, :note,
        CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END, :incident)
ON CONFLICT (client_id) DO NOTHING
RETURNING id
""")


def targets_sheet(account: Account, campaign_id: int) -> tuple[str, dict]:
    """The COPY statement writing the campaign's ledger of the things the account may see,
    each with its last check, in psycopg's parameter style; and its parameters."""
    f = _due_scope(account, id=campaign_id)
    f.add("t.campaign_id = :id")
    return copy_statement(_SHEET.format(worker=WORKER_NAME, where=f.where()), f.params)


async def record_check(conn: AsyncConnection, account: Account, campaign_id: int, *,
                       client_id: UUID, target: str, result: str, note: str,
                       category: str | None, at: datetime | None, lon: float | None,
                       lat: float | None) -> tuple[dict, bool]:
    """A check of a thing of the campaign in the account's grids (404 for any other); a
    hazard is reported as a case of ``category`` at the thing, by the same client id, in
    the same transaction. The same check sent again is the one recorded. Returns the thing
    as it stands (a GeoJSON Feature) and whether the check is new."""
    f = _scope(account, id=campaign_id, target=target, at=at)
    f.add("t.campaign_id = :id AND t.target = :target")
    thing = (await conn.execute(text(
        "SELECT c.title, t.name, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat, c.ended_at, "
        f"       {_CHECKED_AT} AS at "
        f"FROM campaign_target t JOIN campaign c ON c.id = t.campaign_id WHERE {f.where()}"),
        f.params)).first()
    if thing is None:
        raise NotFound(f"no {target!r} of campaign {campaign_id} in your grids", field="target")
    late = thing.ended_at is not None and thing.ended_at < thing.at
    if late and not await _recorded(conn, client_id):  # done after the campaign ended
        raise Conflict(f"campaign {campaign_id} ended at {thing.ended_at.isoformat()}: a check "
                       "done since is not taken (a hazard is reported as a case)", field="at",
                       context={"ended_at": thing.ended_at.isoformat()})
    incident = None
    if result == "hazard":  # reported once, however often (and however at once) it is sent
        words = f"专项排查「{thing.title}」：{thing.name}" + (f"。{note}" if note else "")
        stored, _ = await report_incident(conn, IncidentReport(  # when the check was made
            client_id=client_id, category=category, description=words[:4000], lon=thing.lon,
            lat=thing.lat, reported_at=None if at is None else thing.at), account)
        incident = json.loads(stored)["id"]
    params = {"client_id": client_id, "id": campaign_id, "target": target,
              "account": account.id, "at": thing.at, "result": result, "note": note,
              "lon": lon, "lat": lat, "incident": incident}
    created = (await conn.execute(_CHECK, params)).first() is not None
    if not created and await _recorded(conn, client_id) != (campaign_id, target, account.id,
                                                            result):
        raise Conflict(f"client_id {client_id} names another check", field="client_id")
    return await _standing(conn, account, campaign_id, target), created


async def _recorded(conn: AsyncConnection, client_id: UUID) -> tuple | None:
    """The check recorded by ``client_id``: its campaign, thing, account and result."""
    sent = (await conn.execute(text(
        "SELECT campaign_id, target, account_id, result FROM campaign_check "
        "WHERE client_id = :client_id"), {"client_id": client_id})).first()
    return None if sent is None else tuple(sent)


async def _standing(conn: AsyncConnection, account: Account, campaign_id: int,
                    target: str) -> dict:
    f = _scope(account, id=campaign_id, target=target)
    f.add("t.campaign_id = :id AND t.target = :target")
    sql = feature_collection(_FEATURES.format(page=page(1), worker=WORKER_NAME,
                                              where=f.where()))
    return json.loads((await conn.execute(text(sql), f.params)).scalar_one())["features"][0]
