"""Organisations (实有单位) and places (场所) recorded and corrected one at a time from the field
(动态采集): a grid worker records the shop opened in its grid where it stands, a centre corrects
a name or moves a point put in the wrong place, or closes one (注销、停业), which leaves the lists,
the map and the counts but keeps its record. Each lands in its grid by the rules of a report,
within the account's jurisdiction alone; each is sent once however often (its client id); every
recording and change, from the field, a page or a registry file (mapsvc.registry.importer), is
kept with who made it and what the point was before and after (``registry_change``,
append-only)."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import registry_scope
from mapsvc.accounts.model import Account, Role
from mapsvc.errors import Conflict, Forbidden, InvalidInput, NotFound
from mapsvc.geojson import Filters
from mapsvc.incidents.assignment import located, on
from mapsvc.incidents.model import LOCAL_TIME, Point

# the layers recorded so, and their tables
TABLES = {"organisations": "organisation", "places": "place"}
# an organisation's kinds, as the pages name them
ORGANISATION_KIND_NAMES = {"enterprise": "企业", "social_organisation": "社会组织",
                           "party_branch": "党组织", "service_station": "服务站",
                           "school": "学校", "hospital": "医院", "agency": "机关单位",
                           "other": "其他单位"}
ORGANISATION_KINDS = tuple(ORGANISATION_KIND_NAMES)
# Which records of each layer stand (of ``{t}``): organisations and places closed (注销、停业)
# and components the census says removed leave the lists, the map, the counts and the
# campaigns made since, their records kept.
_STANDING = {"organisations": "{t}.closed_on IS NULL", "places": "{t}.closed_on IS NULL",
             "things": "{t}.state <> 'removed'"}


def standing(layer: str, alias: str = "t") -> str:
    """SQL: whether a record of ``layer`` (as ``alias``) stands (_STANDING)."""
    return _STANDING[layer].format(t=alias)


# the code a registry file knows each by, as a sheet heads it
CODE_HEADINGS = {"organisations": "统一社会信用代码", "places": "场所编码"}
COLLECTORS = frozenset({Role.grid_worker, Role.grid_chief, Role.command, Role.admin})

# What a point's record keeps of it before and after a change (registry_change), of ``t`` and
# its grid ``g``: its name, kind, code, where it lies, its grid and whether it closed.
_KEPT = {"name": "t.name", "kind": "t.kind", "code": "t.code",
         "lon": "round(ST_X(t.geom)::numeric, 7)::float8",
         "lat": "round(ST_Y(t.geom)::numeric, 7)::float8", "grid": "g.code",
         "method": "t.assignment", "closed_on": "to_char(t.closed_on, 'YYYY-MM-DD')"}
KEPT = "jsonb_build_object({})".format(", ".join(f"'{key}', {value}"
                                                 for key, value in _KEPT.items()))
# A point as shown.
_SHOWN = """
SELECT t.id, {kept}, g.name AS grid_name, t.village_code
  FROM {{table}} t LEFT JOIN grid g ON g.id = t.grid_id
 WHERE {{where}}""".format(kept=", ".join(f"{value} AS {key}" for key, value in _KEPT.items()))
# Who changes a point, as its record keeps it: an account, or the system user at a shell
# (``origin``); and the file that changed it (parameters: ``changed_by``).
BY = ":account, :origin, :file"


def changed_by(account: Account | None, origin: str | None = None,
               file: str | None = None) -> dict:
    """``BY``'s parameters."""
    return {"account": account.id if account else None, "origin": origin, "file": file}


def logged_insert(table: str, insert: str, action: str) -> str:
    """SQL: ``insert`` (an INSERT into ``table``, returning its rows) with each point it stores
    kept in its record (``action``: recorded or imported) by ``BY``; returning their ids."""
    return f"""
WITH made AS ({insert} RETURNING *)
INSERT INTO registry_change (account_id, origin, file, layer, entity_id, action, after)
SELECT {BY}, '{table}', t.id, '{action}', {KEPT} FROM made t LEFT JOIN grid g ON g.id = t.grid_id
RETURNING entity_id"""


def logged_update(table: str, update: str) -> str:
    """SQL: ``update`` (an UPDATE of ``table`` as t, returning its rows) with each point it
    changes kept in its record by ``BY``, before and after."""
    return f"""
WITH was AS (SELECT t.id, {KEPT} AS kept FROM {table} t LEFT JOIN grid g ON g.id = t.grid_id),
     changed AS ({update} RETURNING t.*)
INSERT INTO registry_change (account_id, origin, file, layer, entity_id, action, before, after)
SELECT {BY}, '{table}', t.id, 'changed', was.kept, {KEPT}
  FROM changed t JOIN was ON was.id = t.id LEFT JOIN grid g ON g.id = t.grid_id"""


def _kind(layer: str, kind: str) -> str:
    kind = kind.strip()
    if not kind:
        raise InvalidInput("empty", field="kind")
    if layer == "organisations" and kind not in ORGANISATION_KINDS:
        raise InvalidInput(f"must be one of {', '.join(ORGANISATION_KINDS)}", field="kind")
    return kind


def _name(name: str) -> str:
    if not name.strip():
        raise InvalidInput("empty", field="name")
    return name.strip()


async def _where_it_lands(conn: AsyncConnection, account: Account, point: Point) -> dict:
    """The grid ``point`` lands in now, by the rules of a report; refused (naming ``point``)
    where the account may not record: outside its grids, or its region."""
    try:
        row = await located(on(conn), point)
    except InvalidInput as refused:
        raise InvalidInput(refused.reason, field=f"point.{refused.field}") from None
    f = Filters()
    registry_scope(account, f, alias="p", people=False)
    reachable = (await conn.execute(text(
        f"SELECT {f.where()} FROM (SELECT CAST(:grid_id AS bigint) AS grid_id, "
        "CAST(:village_code AS text) AS village_code) p"),
        {**f.params, "grid_id": row["grid_id"], "village_code": row["village_code"]})).scalar()
    if not reachable:
        where = f"grid {row['grid_code']}" if row["grid_code"] else "no grid"
        raise Forbidden(f"the point lies in {where}, outside your jurisdiction", field="point")
    return row


async def _shown(conn: AsyncConnection, account: Account, layer: str, point_id: int, *,
                 lock: bool = False) -> dict:
    """The point ``point_id`` of ``layer`` as shown, in the account's jurisdiction (404
    otherwise); ``lock``: held until the transaction ends."""
    f = Filters()
    f.add("t.id = :id", id=point_id)
    registry_scope(account, f, alias="t", people=False)
    sql = _SHOWN.format(table=TABLES[layer], where=f.where()) + (" FOR UPDATE OF t" if lock
                                                                  else "")
    row = (await conn.execute(text(sql), f.params)).mappings().one_or_none()
    if row is None:
        raise NotFound(f"no {TABLES[layer]} {point_id} in your jurisdiction", field="id")
    return dict(row)


async def _sent(conn: AsyncConnection, table: str, client_id: UUID):
    """The record ``client_id`` was sent with before (its id, who recorded it), or None."""
    return (await conn.execute(text(f"SELECT id, recorded_by FROM {table} "
                                    "WHERE client_id = :client_id"),
                               {"client_id": client_id})).one_or_none()


async def record_point(conn: AsyncConnection, account: Account, layer: str, *, client_id: UUID,
                       name: str, kind: str, point: Point) -> tuple[dict, bool]:
    """An organisation or place (``layer``) recorded at ``point``, in the grid it lands in, in
    the caller's transaction; the same client id again is the one recorded. Returns it as shown
    and whether it is new."""
    name, kind = _name(name), _kind(layer, kind)
    table = TABLES[layer]
    sent = await _sent(conn, table, client_id)
    if sent is None:
        row = await _where_it_lands(conn, account, point)
        made = (await conn.execute(text(logged_insert(table, f"""
            INSERT INTO {table} (name, kind, geom, grid_id, grid_version_id, village_code,
                                 assignment, client_id, recorded_by)
            VALUES (:name, :kind, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :grid_id,
                    :grid_version_id, :village_code, :method, :client_id, :account)
            ON CONFLICT (client_id) DO NOTHING""", "recorded")),
            {**row, **changed_by(account), "name": name, "kind": kind,
             "client_id": client_id})).scalar()
        if made is not None:
            return await _shown(conn, account, layer, made), True
        sent = await _sent(conn, table, client_id)  # sent at once by another request
    if sent.recorded_by != account.id:
        raise Conflict(f"client_id {client_id} names another account's record", field="client_id")
    return await _shown(conn, account, layer, sent.id), False


async def change_point(conn: AsyncConnection, account: Account, layer: str, point_id: int, *,
                       name: str | None = None, kind: str | None = None,
                       point: Point | None = None, closed: bool | None = None) -> dict:
    """An organisation or place in the account's jurisdiction renamed, put in another kind,
    moved (to the grid its new point lands in, also within the jurisdiction), closed (注销、停业:
    today, China's day) or reopened, in the caller's transaction; the change is kept, before
    and after. The same change sent again changes nothing more."""
    table = TABLES[layer]
    before = await _shown(conn, account, layer, point_id, lock=True)
    closed_on = before["closed_on"]  # closed again, it keeps the day it first closed
    if closed is not None and closed != bool(closed_on):
        closed_on = datetime.now(LOCAL_TIME).date().isoformat() if closed else None
    values = {"name": before["name"] if name is None else _name(name),
              "kind": before["kind"] if kind is None else _kind(layer, kind),
              "closed_on": closed_on}
    moved = ""
    if point is not None:
        row = await _where_it_lands(conn, account, point)
        values.update({key: row[key] for key in ("lon", "lat", "grid_id", "grid_version_id",
                                                  "village_code", "method")})
        moved = """, geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), grid_id = :grid_id,
                   grid_version_id = :grid_version_id, village_code = :village_code,
                   assignment = :method"""
    if all(values[key] == before[key] for key in ("name", "kind", "closed_on")) and (
            not moved or (round(values["lon"], 7), round(values["lat"], 7))
            == (before["lon"], before["lat"])):
        return before  # sent again: nothing to change, nor for the tiles to draw anew
    await conn.execute(text(logged_update(table, f"""
        UPDATE {table} t SET name = :name, kind = :kind,
               closed_on = CAST(:closed_on AS date){moved} WHERE t.id = :id""")),
                       {**values, **changed_by(account), "id": point_id})
    return await _shown(conn, account, layer, point_id)


async def point_changes(conn: AsyncConnection, account: Account, layer: str,
                        point_id: int) -> list[dict]:
    """The recording or import and the changes of an organisation or place in the account's
    jurisdiction, oldest first: when, by whom (an account's name, or the system user who
    imported a file at a shell), from which file, and the point before and after."""
    await _shown(conn, account, layer, point_id)
    rows = (await conn.execute(text("""
        SELECT c.at, coalesce(a.username, c.origin) AS username, c.file, c.action, c.before,
               c.after
          FROM registry_change c LEFT JOIN account a ON a.id = c.account_id
         WHERE c.layer = :layer AND c.entity_id = :id
         ORDER BY c.id"""), {"layer": TABLES[layer], "id": point_id})).mappings().all()
    return [dict(r) for r in rows]
