"""Taking an action on a case: checked, applied and logged in one transaction; the log row is
announced (LISTEN/NOTIFY channel ``incident``) so that pages can follow live."""

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.model import Account
from mapsvc.errors import Conflict, DomainError, Forbidden, InvalidInput, Refused
from mapsvc.incidents.assignment import located, on
from mapsvc.incidents.model import PUBLIC_SOURCES, Point
from mapsvc.incidents.queries import readable
from mapsvc.media import attach
from mapsvc.workflow.calendar import WorkingCalendar, load_calendar
from mapsvc.workflow.clocks import Clock, case_limits, sent_deadlines, urgent_clock
from mapsvc.workflow.departments import SERVING, department_for
from mapsvc.workflow.machine import (ACTIONS, CONDITIONS, ESCALATION, HANDLING, RETURNS, Action,
                                     sql_list)

# Each log row is announced on this LISTEN/NOTIFY channel by the log's trigger (migration 0007).
NOTIFY_CHANNEL = "incident"
# A step's times, as its log row ``l`` gives them: when it was taken, and, for one sent with a
# time of its own (a report, a step a phone kept), when it came (migration 0039).
STEP_AT = "coalesce(l.taken_at, l.at)"
STEP_TIMES = f"{STEP_AT} AS at, CASE WHEN l.taken_at IS NOT NULL THEN l.at END AS received_at"


@dataclass
class ActionRequest:
    note: str = ""
    department: str | None = None
    satisfaction: int | None = None
    resolved: bool | None = None  # follow_up: whether the caller says it was resolved
    level: str | None = None  # supervision: normal, yellow, red
    working_days: int | None = None  # extension
    original: int | None = None  # merge: the case this one repeats
    point: Point | None = None  # relocate: where the case really is
    category: str | None = None  # reclassify: the class it is of
    attachments: list[str] = field(default_factory=list)  # photo ids (mapsvc.media)
    taken_at: datetime | None = None  # when a step sent after the fact was taken; else now


# Parameters the log does not repeat: the time of the action is the log row's own; a
# relocation logs where the case was and where it is (from, to), not the columns it sets.
_PLACE = ("grid_id", "grid_version_id", "village_code", "township_code", "county_code")
_RELOCATED = ("lon", "lat", "method", "distance_m", *_PLACE)
_UNLOGGED = {"now", "category_code", *_RELOCATED}
MAX_EXTENSION_DAYS = 10  # one extension of at most ten working days
BATCH_MOST = 200  # the most cases one step is taken on at once (as many as the desk lists)


async def _locked_case(conn: AsyncConnection, account: Account, incident_id: int):
    await readable(conn, incident_id, account)
    return (await conn.execute(text(
        "SELECT id, status, escalation_level, suspended_at, suspended_hours, dispatched_at, "
        "handling_deadline, handling_warn_at, case_deadline, case_warn_at, extension_request, "
        "urgent_at, verify_deadline, exempted_at, exemption_requested_at, "
        f"(SELECT max({STEP_AT}) FROM incident_log l WHERE l.incident_id = :id) "
        "AS last_step_at "
        "FROM incident WHERE id = :id FOR UPDATE"), {"id": incident_id})).one()


def _taken_at(taken: datetime | None, last_step: datetime | None, received: datetime) -> datetime:
    """The time of a step: when it was taken, for one a phone sent after the fact (it waited
    for a signal), else now; never before the case's last step, nor after now."""
    if taken is None:
        return received
    return min(max(taken, last_step or taken), received)


def _holds(condition: str, case) -> bool:
    """Whether the case (its locked row) meets an action's condition (machine.CONDITIONS)."""
    return {"requested": case.extension_request is not None,
            "suspended": case.suspended_at is not None,
            "running": case.suspended_at is None,
            "ordinary": case.urgent_at is None,
            "counted": case.exempted_at is None,
            "appealable": case.exempted_at is None and case.exemption_requested_at is None,
            "appealed": case.exemption_requested_at is not None,
            "exempted": case.exempted_at is not None}[condition]


def _action(account: Account, name: str, many: bool = False) -> Action:
    """The action ``name``, if the account may take it (on ``many`` cases at once, if so
    asked)."""
    action = ACTIONS.get(name)
    if action is None:
        raise InvalidInput(f"no action {name!r}; actions: {', '.join(ACTIONS)}", field="action")
    if many and not action.batched:
        raise InvalidInput(f"{name} is taken on one case at a time", field="action")
    if account.role not in action.roles:
        raise Forbidden(f"a {account.role} account may not {name}", field="action")
    return action


def _given(action: Action, name: str, request: ActionRequest) -> None:
    """Nothing if the request gives what the action needs."""
    if action.needs_note and not request.note.strip():
        raise InvalidInput(f"{name} needs a note saying why", field="note")
    if action.needs_evidence and not (request.note.strip() or request.attachments):
        raise InvalidInput(f"{name} needs a note or a photo of the result", field="note")
    for needed in action.needs:
        if getattr(request, needed) in (None, ""):
            raise InvalidInput(f"{name} needs {needed}", field=needed)


async def act(conn: AsyncConnection, account: Account, incident_id: int, name: str,
              request: ActionRequest, calendar: WorkingCalendar | None = None) -> dict:
    """Apply action ``name`` to the incident for ``account``; return the new state.
    ``calendar``: the working calendar, where the caller has read it already (a batch)."""
    action = _action(account, name)
    case = await _locked_case(conn, account, incident_id)
    if case.status not in action.sources:
        raise Conflict(f"cannot {name} an incident that is {case.status}", field="status",
                       context={"status": case.status})
    _given(action, name, request)
    if action.when is not None and not _holds(action.when, case):
        raise Conflict(CONDITIONS[action.when], field="status",
                       context={"condition": action.when})
    received = datetime.now(timezone.utc)
    at = _taken_at(request.taken_at, case.last_step_at, received)
    changes, data = await _changes(conn, name, case, request, incident_id, at,
                                   calendar or await load_calendar(conn))
    target = action.target or case.status
    # a request for more time lapses once its handler has the case no more
    if case.extension_request is not None and (target not in HANDLING or name == "reassign"):
        changes["extension_request"] = "NULL"
    if name in RETURNS:  # gone back rather than on: no more done the first time (一次完成率)
        changes["returned_count"] = "coalesce(returned_count, 0) + 1"
    sets = ", ".join(f"{column} = {value}" for column, value in changes.items())
    await conn.execute(text(
        f"UPDATE incident SET status = :target, updated_at = now(){', ' + sets if sets else ''} "
        "WHERE id = :id"), {"target": target, "id": incident_id, **data})
    log_id = (await conn.execute(text("""
        INSERT INTO incident_log (incident_id, taken_at, actor, action, from_status, to_status,
                                  note, data)
        VALUES (:id, :taken_at, :actor, :action, :from_status, :to_status, :note,
                CAST(:data AS jsonb))
        RETURNING id"""),
        {"id": incident_id, "taken_at": at if request.taken_at else None,
         "actor": account.username, "action": name,
         "from_status": case.status, "to_status": target, "note": request.note.strip(),
         "data": json.dumps({k: v for k, v in data.items() if v is not None and k not in _UNLOGGED
                             and "_warn" not in k}, ensure_ascii=False,
                           default=str)})).scalar_one()
    if request.attachments:
        await attach(conn, request.attachments, account, incident_id, log_id)
    return {"id": incident_id, "action": name, "from": case.status, "status": target}


async def act_on_many(conn: AsyncConnection, account: Account, ids: list[int], name: str,
                      request: ActionRequest) -> list[dict]:
    """Apply action ``name`` with the same request to each of the incidents ``ids`` (批量办理),
    all or none: each step is the case's own, logged and announced as one taken alone, and the
    cases are locked in the order of their ids, as two batches of the same cases meet. Should
    any case refuse it (out of the account's scope, in a state that does not take it, with no
    department to be dispatched to …), none is taken, and every case refused is named by its
    place in ``ids`` with its reason (``Refused``). Return each case's new state, in the order of
    ``ids``."""
    _given(_action(account, name, many=True), name, request)  # once, not for each case
    calendar = await load_calendar(conn)
    place = {}
    for at, incident_id in enumerate(ids):
        if place.setdefault(incident_id, at) != at:
            raise InvalidInput(f"case {incident_id} is named twice", field="ids")
    done, refusals = {}, []
    for incident_id in sorted(place):
        try:
            done[incident_id] = await act(conn, account, incident_id, name, request, calendar)
        except DomainError as refused:
            refused.context = {"id": incident_id, **(refused.context or {})}
            refusals.append((place[incident_id], refused))
    if refusals:
        raise Refused("ids", sorted(refusals, key=lambda refusal: refusal[0]))
    return [done[incident_id] for incident_id in ids]


def _started(clocks: dict[str, Clock]) -> tuple[dict, dict]:
    """Columns and parameters that start the given clocks."""
    columns, params = {}, {}
    for stage, clock in clocks.items():
        columns |= {f"{stage}_deadline": f":{stage}_deadline", f"{stage}_warn_at": f":{stage}_warn"}
        params |= {f"{stage}_deadline": clock.deadline, f"{stage}_warn": clock.warn_at}
    return columns, params


def _moved(case, calendar: WorkingCalendar, hours: float, stages=("handling", "case")):
    """Columns and parameters that move the running clocks on by ``hours`` working hours."""
    columns, params = {}, {}
    for stage in stages:
        for column in (f"{stage}_deadline", f"{stage}_warn_at"):
            if getattr(case, column) is not None:
                columns[column] = f":{column}"
                params[column] = calendar.add_working_hours(getattr(case, column), hours)
    return columns, params


async def _department(conn, request: ActionRequest, incident_id: int) -> str:
    """The department named in the request, else the one its class routes it to
    (department_for); one that serves the case's place."""
    code = request.department or await department_for(conn, incident_id)
    if code is None:
        raise InvalidInput("dispatch needs department: the category names none",
                           field="department")
    found = (await conn.execute(SERVING, {"d": code, "id": incident_id})).first()
    if found is None:
        raise InvalidInput(f"no department {code!r}", field="department")
    if not found.serves:
        raise InvalidInput(f"department {code!r} serves {found.name} ({found.region_code}), not "
                           "the case's place", field="department",
                           context={"rule": "elsewhere", "region": found.region_code,
                                    "name": found.name})
    return code


async def _changes(conn, name: str, case, request: ActionRequest, incident_id: int,
                   now: datetime, calendar: WorkingCalendar) -> tuple[dict, dict]:
    """The columns an action taken at ``now`` sets beside the status (SQL expressions) and
    its parameters, by ``calendar``."""

    async def start(*stages: str) -> tuple[dict, dict]:
        limits = await case_limits(conn, incident_id, urgent=case.urgent_at is not None)
        return _started({stage: limits.clock(calendar, stage, now) for stage in stages})

    if name == "verify":  # a task for the field, on its clock
        return await start("verify")
    if name == "confirm":  # the field's finding stops the verify clock, logged with its deadline
        return ({"verify_deadline": "NULL", "verify_warn_at": "NULL"},
                {"due_by": case.verify_deadline})
    if name in ("file", "reopen"):
        columns, params = await start("dispatch", "case")
        return ({"filed_at": ":now", "handled_at": "NULL", "closed_at": "NULL",
                 "handling_hours": "NULL", **columns}, {"now": now, **params})
    if name == "hand_back":  # back to the dispatcher: waiting for dispatch again, taken on or not
        columns, params = await start("dispatch")
        return {"accept_deadline": "NULL", **columns}, params
    if name in ("dispatch", "reassign"):
        department = await _department(conn, request, incident_id)
        columns, params = await start("handling")
        return ({"department_code": ":department", "dispatched_at": ":now",
                 "suspended_hours": "0", **columns, **_TO_ACCEPT, **_TO_RESPOND},
                {"department": department, "now": now, **params,
                 **sent_deadlines(calendar, now)})
    if name == "check_fail":  # rework: back to the department with a fresh handling clock
        columns, params = await start("handling")
        return ({"rework_count": "rework_count + 1", "handled_at": "NULL",
                 "handling_hours": "NULL", **columns, **_TO_ACCEPT},
                {**params, "accept_by": sent_deadlines(calendar, now)["accept_by"]})
    if name == "accept":
        return {"accepted_at": ":now"}, {"now": now}
    if name == "report_handled":
        columns, params = await start("check")
        hours = calendar.working_hours_between(case.dispatched_at, now) - case.suspended_hours
        return ({"handled_at": ":now", "handling_hours": ":hours", **columns},
                {"now": now, "hours": round(max(hours, 0.0), 4), **params})
    if name == "self_resolve":
        return {"handled_at": ":now", "closed_at": ":now"}, {"now": now}
    if name == "check_pass":
        return {"closed_at": ":now"}, {"now": now}
    if name == "close":
        return {"closed_at": ":now", "handled_at": "coalesce(handled_at, :now)"}, {"now": now}
    if name == "request_extension":
        days = _extension_days(request.working_days)
        return {"extension_request": "CAST(:request AS jsonb)"}, {"request": json.dumps(
            {"working_days": days, "note": request.note.strip(), "at": now.isoformat()},
            ensure_ascii=False), "working_days": days}
    if name == "extend":  # approves the pending request, or grants one directly
        pending = case.extension_request or {}
        days = _extension_days(request.working_days or pending.get("working_days"))
        columns, params = _moved(case, calendar, days * calendar.hours_per_day)
        return {"extension_request": "NULL", **columns}, {"working_days": days, **params}
    if name == "decline_extension":
        return {"extension_request": "NULL"}, {}
    if name == "merge":
        original = (await conn.execute(text(
            "SELECT id, status FROM incident WHERE id = :o AND id <> :me"),
            {"o": request.original, "me": incident_id})).first()
        if original is None or original.status == "void":
            raise InvalidInput(f"no open incident {request.original} to merge into",
                               field="original")
        return {"duplicate_of": ":original"}, {"original": request.original}
    if name == "follow_up":
        if not 1 <= int(request.satisfaction) <= 5:
            raise InvalidInput("satisfaction is rated 1 to 5", field="satisfaction")
        return ({"satisfaction": ":satisfaction", "resolved": ":resolved"},
                {"satisfaction": int(request.satisfaction), "resolved": request.resolved})
    if name == "supervise":
        if request.level not in ("normal", "yellow", "red"):
            raise InvalidInput("level is normal, yellow or red", field="level")
        return {"supervision": ":level"}, {"level": request.level}
    if name == "expedite":  # a handler's clock runs on to the urgent limit, where that is sooner
        clock = urgent_clock(calendar, now)
        sooner = case.status in HANDLING and (case.handling_deadline is None
                                              or clock.deadline < case.handling_deadline)
        columns, params = _started({"handling": clock} if sooner else {})
        return {"urgent_at": ":now", **columns}, {"now": now, **params}
    if name == "urge":
        return {"urged": "coalesce(urged, 0) + 1"}, {}
    if name == "contact":
        return {"contacted_at": "coalesce(contacted_at, :now)"}, {"now": now}
    if name == "exempt":  # asked for or not
        return {"exempted_at": ":now", "exemption_requested_at": "NULL"}, {"now": now}
    if name == "request_exemption":
        return {"exemption_requested_at": ":now"}, {"now": now}
    if name == "decline_exemption":
        return {"exemption_requested_at": "NULL"}, {}
    if name == "count_again":
        return {"exempted_at": "NULL"}, {}
    if name == "suspend":
        return {"suspended_at": ":now"}, {"now": now}
    if name == "resume":  # the clocks stood still while suspended (挂账)
        stopped = calendar.working_hours_between(case.suspended_at, now)
        columns, params = _moved(case, calendar, stopped)
        return ({"suspended_at": "NULL", "suspended_hours": "suspended_hours + :stopped",
                 **columns}, {"stopped": stopped, **params})
    if name == "relocate":
        return await _relocated(conn, request.point, incident_id)
    if name == "reclassify":
        return await _reclassified(conn, request.category, incident_id)
    if name == "escalate":
        level = ESCALATION.index(case.escalation_level)
        if level == len(ESCALATION) - 1:
            raise Conflict("the incident is already with the departments", field="status")
        above = ESCALATION[level + 1]
        if above == "city" and not (await conn.execute(text(
                "SELECT parent_code IS NOT NULL FROM incident i JOIN region c "
                "ON c.code = i.county_code WHERE i.id = :id"), {"id": incident_id})).scalar():
            above = ESCALATION[level + 2]  # a county of no city: on to the departments
        return {"escalation_level": ":escalation"}, {"escalation": above}
    return {}, {}


_WHERE_IT_WAS = """
SELECT round(ST_X(i.geom)::numeric, 7)::float8 AS lon,
       round(ST_Y(i.geom)::numeric, 7)::float8 AS lat, g.code, i.assignment AS method
  FROM incident i LEFT JOIN grid g ON g.id = i.grid_id WHERE i.id = :id"""


async def _relocated(conn, point: Point, incident_id: int) -> tuple[dict, dict]:
    """A case moved to where it really is (更正位置): its point, and the grid and regions that
    point lands in now, by the rules of a report (the raw coordinates reported stay as they
    were); the log keeps the point and grid (its code, as a redrawn grid's step names it)
    before and after."""
    was = dict((await conn.execute(text(_WHERE_IT_WAS), {"id": incident_id})).mappings().one())
    try:
        row = await located(on(conn), point)
    except InvalidInput as refused:
        raise InvalidInput(refused.reason, field=f"point.{refused.field}") from None
    columns = {"geom": "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)", "assignment": ":method",
               "assignment_distance_m": ":distance_m", **{c: f":{c}" for c in _PLACE}}
    there = {"lon": round(row["lon"], 7), "lat": round(row["lat"], 7), "code": row["grid_code"],
             "method": row["method"]}
    return columns, {**{key: row[key] for key in _RELOCATED}, "from": was,
                     "to": {**there, "given": {"lon": point.lon, "lat": point.lat,
                                               "crs": point.crs.value}}}


_CLASSES = text("""
SELECT was.code AS was_code, was.name AS was_name, c.code, c.name
  FROM incident i JOIN category was ON was.code = i.category_code
  LEFT JOIN category c ON c.code = :code
 WHERE i.id = :id""")


async def _reclassified(conn, code: str, incident_id: int) -> tuple[dict, dict]:
    """A case put in another class (更正类别): the log keeps the class before and after, each
    with its name as it was then."""
    row = (await conn.execute(_CLASSES, {"code": code, "id": incident_id})).one()
    if row.code is None:
        raise InvalidInput(f"unknown category code {code!r}", field="category")
    if row.code == row.was_code:
        raise Conflict(f"the incident is of category {code} already", field="category",
                       context={"category": code})
    return {"category_code": ":category_code"}, {
        "category_code": code, "category": {"from": {"code": row.was_code, "name": row.was_name},
                                            "to": {"code": row.code, "name": row.name}}}


# a case sent to its handler, to be taken on (签收) by a time: counted in 及时签收率; a public
# case dispatched, its caller to be told (响应) by a time: counted in 响应率
_TO_ACCEPT = {"accept_deadline": ":accept_by", "accepted_at": "NULL"}
_TO_RESPOND = {"response_deadline":
               f"CASE WHEN source IN {sql_list(PUBLIC_SOURCES)} THEN :respond_by END"}


def _extension_days(days) -> int:
    if days is None:
        raise InvalidInput("an extension needs working_days", field="working_days")
    if not 1 <= int(days) <= MAX_EXTENSION_DAYS:
        raise InvalidInput(f"an extension is 1 to {MAX_EXTENSION_DAYS} working days",
                           field="working_days")
    return int(days)


async def timeline(conn: AsyncConnection, account: Account, incident_id: int) -> list[dict]:
    """Every step of the case, oldest first (404 outside the account's jurisdiction): each at
    the time it was taken, and, for one sent with a time of its own, ``received_at``; its photos
    each with when it was taken and how far from the case's point (null where unknown)."""
    await readable(conn, incident_id, account)
    rows = (await conn.execute(text(f"""
        SELECT {STEP_TIMES}, l.actor, l.action, l.from_status, l.to_status, l.note, l.data,
               coalesce((SELECT json_agg(json_build_object(
                                     'id', m.id, 'taken_at', m.taken_at, 'distance_m',
                                     round(ST_Distance(m.geom::geography, i.geom::geography)))
                                 ORDER BY m.id)
                           FROM attachment a JOIN media m ON m.id = a.media_id
                          WHERE a.log_id = l.id), '[]') AS attachments
          FROM incident_log l CROSS JOIN (SELECT geom FROM incident WHERE id = :id) i
         WHERE l.incident_id = :id ORDER BY l.at, l.id"""), {"id": incident_id})).mappings().all()
    return [dict(r) for r in rows]
