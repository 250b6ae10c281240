"""Taking an action on a case: checked, applied and logged in one transaction, then announced
(LISTEN/NOTIFY channel ``incident``) so that pages can follow live."""

import json
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import incident_scope
from mapsvc.accounts.model import Account
from mapsvc.errors import Conflict, Forbidden, InvalidInput, NotFound
from mapsvc.geojson import Filters
from mapsvc.workflow.machine import ACTIONS, ESCALATION

NOTIFY_CHANNEL = "incident"


@dataclass
class ActionRequest:
    note: str = ""
    department: str | None = None
    satisfaction: int | None = None
    level: str | None = None  # supervision: normal, yellow, red


async def _locked_case(conn: AsyncConnection, account: Account, incident_id: int):
    f = Filters(params={"id": incident_id})
    f.add("d.id = :id")
    incident_scope(account, f)
    row = (await conn.execute(text(
        f"SELECT d.id FROM incident d WHERE {f.where()}"), f.params)).first()
    if row is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    return (await conn.execute(text(
        "SELECT id, status, escalation_level, suspended_at, rework_count FROM incident "
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
    changes, data = await _changes(conn, name, case, request)
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
         "data": json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)})
    await conn.execute(text("SELECT pg_notify(:channel, :payload)"), {
        "channel": NOTIFY_CHANNEL,
        "payload": json.dumps({"id": incident_id, "status": target, "action": name})})
    return {"id": incident_id, "action": name, "from": case.status, "status": target}


async def _changes(conn, name: str, case, request: ActionRequest) -> tuple[dict, dict]:
    """The columns an action sets beside the status (SQL expressions) and its parameters."""
    if name in ("dispatch", "reassign"):
        exists = (await conn.execute(text("SELECT 1 FROM department WHERE code = :d"),
                                     {"d": request.department})).first()
        if not exists:
            raise InvalidInput(f"no department {request.department!r}", field="department")
        return {"department_code": ":department"}, {"department": request.department}
    if name == "check_fail":
        return {"rework_count": "rework_count + 1"}, {}
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
    if name == "resume":
        if case.suspended_at is None:
            raise Conflict("the incident is not suspended", field="status")
        return {"suspended_at": "NULL"}, {}
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
