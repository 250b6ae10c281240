"""Taking an action on a case: checked, applied and logged in one transaction; the log row is
announced (LISTEN/NOTIFY channel ``incident``) so that pages can follow live."""

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.jurisdiction import incident_scope
from mapsvc.accounts.model import Account
from mapsvc.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Refused
from mapsvc.geojson import Filters
from mapsvc.incidents.assignment import located, on
from mapsvc.incidents.model import PUBLIC_SOURCES, Point
from mapsvc.incidents.queries import readable
from mapsvc.media import attach
from mapsvc.workflow.calendar import WorkingCalendar, load_calendar
from mapsvc.workflow.clocks import (Clock, Limits, case_limits, category_chains, sent_deadlines,
                                   urgent_clock)
from mapsvc.workflow.departments import departments_for
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
MAX_EXTENSION_DAYS = 10  # an extension is of ten working days at most
BATCH_MOST = 200  # the most cases one step is taken on at once (as many as the desk lists)


# The cases of :ids the account may read, locked in the order of their ids (as two batches of
# the same cases meet), with what a step reads of them.
_LOCKED = """
SELECT d.id, d.status, d.escalation_level, d.suspended_at, d.suspended_hours, d.dispatched_at,
       d.handling_deadline, d.handling_warn_at, d.case_deadline, d.case_warn_at,
       d.extension_request, d.extensions, d.urgent_at, d.verify_deadline, d.exempted_at,
       d.exemption_requested_at, d.category_code,
       (SELECT name FROM category WHERE code = d.category_code) AS category_name,
       (SELECT parent_code IS NOT NULL FROM region WHERE code = d.county_code) AS of_a_city,
       (SELECT max({step_at}) FROM incident_log l WHERE l.incident_id = d.id) AS last_step_at
  FROM incident d WHERE {where} ORDER BY d.id FOR UPDATE OF d"""


async def _locked_cases(conn: AsyncConnection, account: Account, ids: list[int]) -> dict:
    """The locked rows (_LOCKED) of the cases of ``ids`` the account may read, by case."""
    f = Filters(params={"ids": ids})
    f.add("d.id = ANY(:ids)")
    incident_scope(account, f)
    return {row.id: row for row in await conn.execute(
        text(_LOCKED.format(step_at=STEP_AT, where=f.where())), f.params)}


def _taken_at(taken: datetime | None, last_step: datetime | None, received: datetime) -> datetime:
    """The time of a step: when it was taken, for one a phone sent after the fact (it waited
    for a signal), else now; never before the case's last step, nor after now."""
    if taken is None:
        return received
    return min(max(taken, last_step or taken), received)


def _holds(condition: str, case) -> bool:
    """Whether the case (its locked row) meets an action's condition (machine.CONDITIONS)."""
    return {"requested": case.extension_request is not None,
            "extendable": (case.extensions or 0) < settings.workflow().extensions_most,
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


@dataclass
class _Step:
    """A step on one case, worked out before anything is written: the state it leads to, the
    columns it sets beside it (SQL expressions over the parameters ``data``) and its time."""
    case: Row
    target: str
    changes: dict[str, str]
    data: dict
    at: datetime


_UNREAD = object()


class _Reads:
    """What the steps of one request read beside their cases' rows, each for all of its cases
    in one statement when first needed: their classes' limits, the departments they go to,
    the class they are put in."""

    def __init__(self, conn: AsyncConnection, ids: list[int], request: ActionRequest,
                 calendar: WorkingCalendar):
        self.conn, self.ids, self.request, self.calendar = conn, ids, request, calendar
        self._chains = self._departments = None
        self._category = _UNREAD

    async def limits(self, case) -> Limits:
        if self._chains is None:
            self._chains = await category_chains(self.conn, self.ids)
        return case_limits(self._chains[case.id], urgent=case.urgent_at is not None)

    async def department(self, incident_id: int) -> str:
        """The department the request names, else the one its class routes the case to; one
        that serves the case's place."""
        if self._departments is None:
            self._departments = await departments_for(self.conn, self.ids,
                                                      self.request.department or None)
        found = self._departments[incident_id]
        if found.code is None:
            raise InvalidInput("dispatch needs department: the category names none",
                               field="department")
        if not found.known:
            raise InvalidInput(f"no department {found.code!r}", field="department")
        if not found.serves:
            raise InvalidInput(f"department {found.code!r} serves {found.name} "
                               f"({found.region_code}), not the case's place",
                               field="department", context={
                                   "rule": "elsewhere", "region": found.region_code,
                                   "name": found.name})
        return found.code

    async def category(self) -> Row | None:
        """The class the request names (code, name), None if there is none such."""
        if self._category is _UNREAD:
            self._category = (await self.conn.execute(
                text("SELECT code, name FROM category WHERE code = :code"),
                {"code": self.request.category})).first()
        return self._category


async def act(conn: AsyncConnection, account: Account, incident_id: int, name: str,
              request: ActionRequest) -> dict:
    """Apply action ``name`` to the incident for ``account``; return the new state."""
    action = _action(account, name)
    steps, refusals = await _steps(conn, account, action, name, request, [incident_id])
    if refusals:
        raise refusals[0][1]
    return (await _taken(conn, account, name, request, steps))[incident_id]


async def act_on_many(conn: AsyncConnection, account: Account, ids: list[int], name: str,
                      request: ActionRequest) -> list[dict]:
    """Apply action ``name`` with the same request to each of the incidents ``ids`` (批量办理),
    all or none: each step is the case's own, logged and announced as one taken alone, and the
    cases are locked in the order of their ids, as two batches of the same cases meet. Should
    any case refuse it (out of the account's scope, in a state that does not take it, with no
    department to be dispatched to …), none is taken, and every case refused is named by its
    place in ``ids`` with its reason (``Refused``). Return each case's new state, in the order of
    ``ids``. The cases are read, changed and logged together, a statement for all of them."""
    action = _action(account, name, many=True)
    _given(action, name, request)  # once, not for each case
    place = {}
    for at, incident_id in enumerate(ids):
        if place.setdefault(incident_id, at) != at:
            raise InvalidInput(f"case {incident_id} is named twice", field="ids")
    steps, refusals = await _steps(conn, account, action, name, request, ids)
    if refusals:
        for incident_id, refused in refusals:
            refused.context = {"id": incident_id, **(refused.context or {})}
        raise Refused("ids", sorted(((place[incident_id], refused)
                                     for incident_id, refused in refusals),
                                    key=lambda refusal: refusal[0]))
    done = await _taken(conn, account, name, request, steps)
    return [done[incident_id] for incident_id in ids]


async def _steps(conn: AsyncConnection, account: Account, action: Action, name: str,
                 request: ActionRequest, ids: list[int]) -> tuple[dict, list]:
    """The step on each case of ``ids`` (locked), by case in the order of their ids, and each
    case that refuses it with why."""
    cases = await _locked_cases(conn, account, ids)
    reads = _Reads(conn, sorted(cases), request, await load_calendar(conn))
    received = datetime.now(timezone.utc)
    steps, refusals = {}, []
    for incident_id in sorted(ids):
        try:
            steps[incident_id] = await _step(action, name, request, cases.get(incident_id),
                                             incident_id, received, reads)
        except DomainError as refused:
            refusals.append((incident_id, refused))
    return steps, refusals


async def _step(action: Action, name: str, request: ActionRequest, case, incident_id: int,
                received: datetime, reads: _Reads) -> _Step:
    """The step on one case (its locked row; None if the account may not read it), or why the
    case refuses it."""
    if case is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    if case.status not in action.sources:
        raise Conflict(f"cannot {name} an incident that is {case.status}", field="status",
                       context={"status": case.status})
    _given(action, name, request)
    if action.when is not None and not _holds(action.when, case):
        raise Conflict(CONDITIONS[action.when], field="status",
                       context={"condition": action.when})
    at = _taken_at(request.taken_at, case.last_step_at, received)
    changes, data = await _changes(reads, name, case, request, at)
    target = action.target or case.status
    # a request for more time lapses once its handler has the case no more
    if case.extension_request is not None and (target not in HANDLING or name == "reassign"):
        changes["extension_request"] = "NULL"
    if name in RETURNS:  # gone back rather than on: no more done the first time (一次完成率)
        changes["returned_count"] = "coalesce(returned_count, 0) + 1"
    return _Step(case, target, changes, data, at)


_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")  # a bound parameter in a SQL expression


def _update(sets: dict[str, str], steps: dict[int, dict]) -> tuple[str, dict]:
    """One UPDATE setting the columns ``sets`` (SQL expressions over parameters) of each case
    of ``steps`` by that case's parameters: the parameters come as a VALUES list, a row a case.
    A parameter NULL for every case is written NULL (a column of NULLs alone would be text)."""
    names = sorted({n for expression in sets.values() for n in _PARAMETER.findall(expression)})
    given = [n for n in names if any(data.get(n) is not None for data in steps.values())]
    rows, params = [], {}
    for k, (incident_id, data) in enumerate(steps.items()):
        rows.append("(" + ", ".join([f":id_{k}", *(f":{n}_{k}" for n in given)]) + ")")
        params |= {f"id_{k}": incident_id, **{f"{n}_{k}": data.get(n) for n in given}}

    def over_values(expression: str) -> str:
        return _PARAMETER.sub(lambda m: f"v.p_{m[1]}" if m[1] in given else "NULL", expression)

    columns = ", ".join(["case_id", *(f"p_{n}" for n in given)])
    sql = ("UPDATE incident SET "
           + ", ".join(f"{column} = {over_values(e)}" for column, e in sets.items())
           + f" FROM (VALUES {', '.join(rows)}) AS v({columns}) WHERE incident.id = v.case_id")
    return sql, params


def _logged(data: dict) -> str:
    return json.dumps({k: v for k, v in data.items()
                       if v is not None and k not in _UNLOGGED and "_warn" not in k},
                      ensure_ascii=False, default=str)


async def _taken(conn: AsyncConnection, account: Account, name: str, request: ActionRequest,
                 steps: dict[int, _Step]) -> dict[int, dict]:
    """Write the ``steps`` (by case, in the order of their ids): the cases changed, an UPDATE
    for the cases a step changes alike, and logged, one INSERT; the new state of each."""
    if not steps:
        return {}
    alike: dict[tuple, dict[int, dict]] = {}
    for incident_id, step in steps.items():
        sets = {"status": ":target", "updated_at": "now()", **step.changes}
        alike.setdefault(tuple(sets.items()), {})[incident_id] = {"target": step.target,
                                                                  **step.data}
    for sets, of_cases in alike.items():
        sql, params = _update(dict(sets), of_cases)
        await conn.execute(text(sql), params)
    rows, params = [], {"actor": account.username, "action": name, "note": request.note.strip()}
    for k, (incident_id, step) in enumerate(steps.items()):
        rows.append(f"(:id_{k}, :taken_at_{k}, :actor, :action, :from_{k}, :to_{k}, :note, "
                    f"CAST(:data_{k} AS jsonb))")
        params |= {f"id_{k}": incident_id, f"taken_at_{k}": step.at if request.taken_at else None,
                   f"from_{k}": step.case.status, f"to_{k}": step.target,
                   f"data_{k}": _logged(step.data)}
    logged = dict((await conn.execute(text(
        "INSERT INTO incident_log (incident_id, taken_at, actor, action, from_status, to_status, "
        f"note, data) VALUES {', '.join(rows)} RETURNING incident_id, id"), params)).all())
    if request.attachments:
        await attach(conn, request.attachments, account, logged)
    return {incident_id: {"id": incident_id, "action": name, "from": step.case.status,
                          "status": step.target} for incident_id, step in steps.items()}


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


async def _changes(reads: _Reads, name: str, case, request: ActionRequest,
                   now: datetime) -> tuple[dict, dict]:
    """The columns an action taken at ``now`` on ``case`` (its locked row) sets beside the
    status (SQL expressions) and its parameters, by the working calendar."""
    conn, calendar, incident_id = reads.conn, reads.calendar, case.id

    async def start(*stages: str) -> tuple[dict, dict]:
        limits = await reads.limits(case)
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
        department = await reads.department(incident_id)
        columns, params = await start("handling")
        return ({"department_code": ":department", "dispatched_at": ":now",
                 "suspended_hours": "0", "extensions": "NULL", **columns, **_TO_ACCEPT,
                 **_TO_RESPOND},
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
        return ({"extension_request": "NULL", "extensions": "coalesce(extensions, 0) + 1",
                 **columns}, {"working_days": days, **params})
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
        return _reclassified(case, request.category, await reads.category())
    if name == "escalate":
        level = ESCALATION.index(case.escalation_level)
        if level == len(ESCALATION) - 1:
            raise Conflict("the incident is already with the departments", field="status")
        above = ESCALATION[level + 1]
        if above == "city" and not case.of_a_city:
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


def _reclassified(case, code: str, category) -> tuple[dict, dict]:
    """A case put in another class (更正类别), ``category`` (None: there is no class ``code``):
    the log keeps the class before and after, each with its name as it was then."""
    if category is None:
        raise InvalidInput(f"unknown category code {code!r}", field="category")
    if category.code == case.category_code:
        raise Conflict(f"the incident is of category {code} already", field="category",
                       context={"category": code})
    return {"category_code": ":category_code"}, {
        "category_code": code,
        "category": {"from": {"code": case.category_code, "name": case.category_name},
                     "to": {"code": category.code, "name": category.name}}}


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
