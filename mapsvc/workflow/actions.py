"""Taking an action on a case: checked, applied and logged in one transaction, then announced
(LISTEN/NOTIFY channel ``incident``) so that pages can follow live."""

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import incident_scope
from mapsvc.accounts.model import Account
from mapsvc.errors import Conflict, Forbidden, InvalidInput, NotFound
from mapsvc.geojson import Filters
from mapsvc.workflow.calendar import load_calendar
from mapsvc.workflow.machine import ACTIONS, ESCALATION

NOTIFY_CHANNEL = "incident"


@dataclass
class ActionRequest:
    note: str = ""
    department: str | None = None
    satisfaction: int | None = None
    level: str | None = None  # supervision: normal, yellow, red
    working_days: int | None = None  # extension
    original: int | None = None  # merge: the case this one repeats


# The limit of a case: its category's, or the nearest ancestor's that has one.
_LIMIT = text("""
WITH RECURSIVE up AS (
    SELECT c.code, c.parent_code, c.time_limit, c.time_limit_unit, 0 AS depth
      FROM incident i JOIN category c ON c.code = i.category_code WHERE i.id = :id
    UNION ALL
    SELECT c.code, c.parent_code, c.time_limit, c.time_limit_unit, up.depth + 1
      FROM up JOIN category c ON c.code = up.parent_code
)
SELECT time_limit, time_limit_unit FROM up WHERE time_limit IS NOT NULL ORDER BY depth LIMIT 1
""")
# Without any limit in its category tree a case gets this one.
DEFAULT_LIMIT = (5, "working_days")
MAX_EXTENSION_DAYS = 10  # one extension of at most ten working days


async def _locked_case(conn: AsyncConnection, account: Account, incident_id: int):
    f = Filters(params={"id": incident_id})
    f.add("d.id = :id")
    incident_scope(account, f)
    row = (await conn.execute(text(
        f"SELECT d.id FROM incident d WHERE {f.where()}"), f.params)).first()
    if row is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    return (await conn.execute(text(
        "SELECT id, status, escalation_level, suspended_at, rework_count, handling_deadline "
        "FROM incident "
        "WHERE id = :id FOR UPDATE"), {"id": incident_id})).one()


async def act(conn: AsyncConnection, account: Account, incident_id: int, name: str,
              request: ActionRequest) -> dict:
    """Apply action ``name`` to the incident for ``account``; return the new state."""
    action = ACTIONS.get(name)
    if action is None:
        raise InvalidInput(f"no action {name!r}; actions: {', '.join(ACTIONS)}", field="action")
    if account.role not in action.roles:
        raise Forbidden(f"a {account.role} account may not {name}", field="action")
    case = await _locked_case(conn, account, incident_id)
    if case.status not in action.sources:
        raise Conflict(f"cannot {name} an incident that is {case.status}", field="status")
    if action.needs_note and not request.note.strip():
        raise InvalidInput(f"{name} needs a note saying why", field="note")
    for needed in action.needs:
        if getattr(request, needed) in (None, ""):
            raise InvalidInput(f"{name} needs {needed}", field=needed)
    changes, data = await _changes(conn, name, case, request, incident_id)
    target = action.target or case.status
    sets = ", ".join(f"{column} = {value}" for column, value in changes.items())
    await conn.execute(text(
        f"UPDATE incident SET status = :target, updated_at = now(){', ' + sets if sets else ''} "
        "WHERE id = :id"), {"target": target, "id": incident_id, **data})
    await conn.execute(text("""
        INSERT INTO incident_log (incident_id, actor, action, from_status, to_status, note, data)
        VALUES (:id, :actor, :action, :from_status, :to_status, :note, CAST(:data AS jsonb))"""),
        {"id": incident_id, "actor": account.username, "action": name,
         "from_status": case.status, "to_status": target, "note": request.note.strip(),
         "data": json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False,
                           default=str)})
    await conn.execute(text("SELECT pg_notify(:channel, :payload)"), {
        "channel": NOTIFY_CHANNEL,
        "payload": json.dumps({"id": incident_id, "status": target, "action": name})})
    return {"id": incident_id, "action": name, "from": case.status, "status": target}


async def _clock(conn, incident_id: int) -> dict:
    """A handling clock started now, to the case's time limit in working time."""
    now = datetime.now(timezone.utc)
    row = (await conn.execute(_LIMIT, {"id": incident_id})).first()
    value, unit = (float(row.time_limit), row.time_limit_unit) if row else DEFAULT_LIMIT
    calendar = await load_calendar(conn)
    return {"started": now, "deadline": calendar.deadline(now, value, unit)}


async def _changes(conn, name: str, case, request: ActionRequest,
                   incident_id: int) -> tuple[dict, dict]:
    """The columns an action sets beside the status (SQL expressions) and its parameters."""
    clock = {"dispatched_at": ":started", "handling_deadline": ":deadline"}
    if name in ("dispatch", "reassign"):
        exists = (await conn.execute(text("SELECT 1 FROM department WHERE code = :d"),
                                     {"d": request.department})).first()
        if not exists:
            raise InvalidInput(f"no department {request.department!r}", field="department")
        return ({"department_code": ":department", **clock},
                {"department": request.department, **await _clock(conn, incident_id)})
    if name == "merge":
        original = (await conn.execute(text(
            "SELECT id, status FROM incident WHERE id = :o AND id <> :me"),
            {"o": request.original, "me": incident_id})).first()
        if original is None or original.status == "void":
            raise InvalidInput(f"no open incident {request.original} to merge into",
                               field="original")
        return {"duplicate_of": ":original"}, {"original": request.original}
    if name == "check_fail":  # rework: back to the department with a fresh clock
        return {"rework_count": "rework_count + 1", **clock}, await _clock(conn, incident_id)
    if name == "extend":
        days = request.working_days
        if not days or not 1 <= days <= MAX_EXTENSION_DAYS:
            raise InvalidInput(f"an extension is 1 to {MAX_EXTENSION_DAYS} working days",
                               field="working_days")
        calendar = await load_calendar(conn)
        return {"handling_deadline": ":deadline"}, {
            "deadline": calendar.add_working_hours(case.handling_deadline,
                                                   days * calendar.hours_per_day),
            "working_days": days}
    if name == "follow_up":
        if not 1 <= int(request.satisfaction) <= 5:
            raise InvalidInput("satisfaction is rated 1 to 5", field="satisfaction")
        return {"satisfaction": ":satisfaction"}, {"satisfaction": int(request.satisfaction)}
    if name == "supervise":
        if request.level not in ("normal", "yellow", "red"):
            raise InvalidInput("level is normal, yellow or red", field="level")
        return {"supervision": ":level"}, {"level": request.level}
    if name == "suspend":
        if case.suspended_at is not None:
            raise Conflict("the incident is already suspended", field="status")
        return {"suspended_at": "now()"}, {}
    if name == "resume":  # the clock stood still while suspended (挂账)
        if case.suspended_at is None:
            raise Conflict("the incident is not suspended", field="status")
        calendar = await load_calendar(conn)
        stopped = calendar.working_hours_between(case.suspended_at, datetime.now(timezone.utc))
        return {"suspended_at": "NULL", "handling_deadline": ":deadline"}, {
            "deadline": calendar.add_working_hours(case.handling_deadline, stopped)}
    if name == "escalate":
        level = ESCALATION.index(case.escalation_level)
        if level == len(ESCALATION) - 1:
            raise Conflict("the incident is already with the departments", field="status")
        return {"escalation_level": ":escalation"}, {"escalation": ESCALATION[level + 1]}
    return {}, {}


async def timeline(conn: AsyncConnection, account: Account, incident_id: int) -> list[dict]:
    """Every step of the case, oldest first (404 outside the account's jurisdiction)."""
    f = Filters(params={"id": incident_id})
    f.add("d.id = :id")
    incident_scope(account, f)
    if not (await conn.execute(text(f"SELECT 1 FROM incident d WHERE {f.where()}"),
                               f.params)).first():
        raise NotFound(f"no incident {incident_id}", field="id")
    rows = (await conn.execute(text("""
        SELECT at, actor, action, from_status, to_status, note, data FROM incident_log
         WHERE incident_id = :id ORDER BY at, id"""), {"id": incident_id})).mappings().all()
    return [dict(r) for r in rows]
