"""The closed loop through the API: each action by the roles that may take it, from the states
it may be taken in; everything else refused; every step in the timeline and announced."""

import csv
import io
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely import Point
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mapsvc.settings import database_url
from mapsvc.workflow.machine import ACTIONS, CENTRE, CLOSED, OPEN


def new_case(client, grids, code_prefix="441502", index=0, category="06", **more) -> int:
    p = grids[grids["code"].str.startswith(code_prefix)].geometry.iloc[index].representative_point()
    r = client.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": category,
                                        "description": "井盖缺失", "lon": p.x, "lat": p.y,
                                        **more})
    assert r.status_code == 201
    return r.json()["id"]


def do(client, case, action, **body):
    return client.post(f"/incidents/{case}/actions/{action}", json=body)


def test_the_whole_loop_with_rework(clients, grids):
    command, department = clients["command"], clients["department"]
    case = new_case(command, grids)
    assert department.get(f"/incidents/{case}").status_code == 404  # not dispatched to it yet
    steps = [(command, "verify", {}), (command, "file", {}),
             (command, "dispatch", {"department": "T1"}),
             (department, "accept", {}), (department, "report_handled", {"note": "已补装井盖"}),
             (command, "check", {}), (command, "check_fail", {"note": "井盖未固定"}),
             (department, "accept", {}), (department, "report_handled", {"note": "已固定"}),
             (command, "check", {}), (command, "check_pass", {}),
             (command, "follow_up", {"satisfaction": 5, "resolved": True})]
    assert do(command, case, "follow_up", satisfaction=5,
              resolved="maybe").json()["detail"][0]["loc"][-1] == "resolved"
    for client, action, body in steps:
        r = do(client, case, action, **body)
        assert r.status_code == 200, (action, r.text)
    stored = command.get(f"/incidents/{case}").json()
    assert (stored["status"], stored["rework_count"], stored["satisfaction"],
            stored["resolved"]) == ("evaluated", 1, 5, True)
    assert stored["department"] == "T1"
    timeline = command.get(f"/incidents/{case}/timeline").json()
    assert [t["action"] for t in timeline] == ["report"] + [a for _, a, _ in steps]
    assert [t["to_status"] for t in timeline][-3:] == ["checking", "closed", "evaluated"]
    assert timeline[5]["actor"] == "department" and timeline[5]["note"] == "已补装井盖"
    assert timeline[3]["data"]["department"] == "T1" and "handling_deadline" in timeline[3]["data"]
    assert timeline[-1]["data"] == {"satisfaction": 5, "resolved": True}
    assert department.get(f"/incidents/{case}/timeline").status_code == 200


WALK = [("reported", None), ("verifying", "verify"), ("filed", "file"),
        ("dispatched", "dispatch"), ("in_progress", "accept"), ("handled", "report_handled"),
        ("checking", "check"), ("closed", "check_pass"), ("evaluated", "follow_up")]
BODY = {"note": "理由", "department": "T1", "satisfaction": 4, "level": "yellow"}


def test_every_state_is_open_or_closed_and_a_case_takes_no_other(clients, grids, db):
    """Incident bins count a case as open when it is not closed: they rely on this."""
    assert not set(OPEN) & set(CLOSED)
    case = new_case(clients["command"], grids)
    for status in (*OPEN, *CLOSED):
        with db.connect() as conn:  # each change rolled back
            conn.execute(text("UPDATE incident SET status = :s WHERE id = :id"),
                         {"s": status, "id": case})
    with db.connect() as conn, pytest.raises(IntegrityError, match="incident_status_check"):
        conn.execute(text("UPDATE incident SET status = 'archived' WHERE id = :id"), {"id": case})


def test_every_illegal_transition_is_refused_naming_the_state(clients, grids):
    admin = clients["admin"]
    case = new_case(admin, grids, index=1)
    for state, step in WALK:
        if step:
            assert do(admin, case, step, **BODY).status_code == 200
        for name, action in ACTIONS.items():
            if state in action.sources or not action.roles & CENTRE:
                continue
            r = do(admin, case, name, **BODY)
            assert r.status_code == 409, (state, name)
            assert state in r.json()["detail"][0]["msg"]
        assert admin.get(f"/incidents/{case}").json()["status"] == state


@pytest.mark.parametrize("role,action", [("department", "file"), ("worker", "dispatch"),
                                         ("planner", "verify"), ("admin", "self_resolve")])
def test_roles_that_may_not_act_get_403(clients, grids, role, action):
    case = new_case(clients["admin"], grids, index=2)
    r = do(clients[role], case, action, **BODY)
    assert r.status_code == 403


def test_a_grid_worker_handles_a_small_matter_on_the_spot(clients, accounts, grids):
    worker = clients["worker"]
    grid = accounts["worker"][1]["grid_codes"][0]
    case = new_case(worker, grids[grids["code"] == grid])
    assert do(worker, case, "self_resolve").status_code == 422  # a note is needed
    r = do(worker, case, "self_resolve", note="已当场清理")
    assert r.status_code == 200 and r.json()["status"] == "self_resolved"


@pytest.mark.parametrize("action,body,field", [("dispatch", {}, "department"),
                                               ("dispatch", {"department": "NOPE"}, "department"),
                                               ("reject", {}, "note"),
                                               ("supervise", {}, "level")])
def test_what_an_action_needs_is_named(clients, grids, action, body, field):
    admin = clients["admin"]
    case = new_case(admin, grids, index=3)
    if action == "dispatch":
        do(admin, case, "file")
    r = do(admin, case, action, **body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field


def test_suspension_supervision_and_the_escalation_chain(clients, grids, lattice):
    admin = clients["admin"]
    case = new_case(admin, grids, index=4)
    for action, body in [("file", {}), ("dispatch", {"department": "T1"})]:
        do(admin, case, action, **body)
    assert do(admin, case, "suspend", note="待拆迁").status_code == 200
    assert admin.get(f"/incidents/{case}").json()["suspended"] is True
    assert do(admin, case, "suspend", note="再挂").status_code == 409
    assert do(admin, case, "resume").status_code == 200
    assert do(admin, case, "supervise", level="red").status_code == 200
    assert admin.get(f"/incidents/{case}").json()["supervision"] == "red"
    levels = []
    for _ in range(5):
        assert do(admin, case, "escalate").status_code == 200
        levels.append(admin.get(f"/incidents/{case}").json()["escalation_level"])
    assert levels == ["village", "township", "county", "city", "department"]
    assert do(admin, case, "escalate").status_code == 409
    # a county of no city the deployment holds hands its cases on to the departments
    x, y = lattice.X0 + 0.5 * lattice.STEP, lattice.Y0 + 0.5 * lattice.STEP
    lone = admin.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "06",
                                          "lon": x, "lat": y}).json()["id"]
    levels = []
    for _ in range(4):
        assert do(admin, lone, "escalate").status_code == 200
        levels.append(admin.get(f"/incidents/{lone}").json()["escalation_level"])
    assert levels == ["village", "township", "county", "department"]


def test_a_case_goes_to_a_department_that_serves_its_place(clients, grids, db):
    """武昌区's 城管局 takes 武昌区's cases, not 城区's; 汕尾市's takes those of its counties; a
    department of no region any case. The desk says why one is refused."""
    admin = clients["admin"]
    with db.begin() as conn:
        conn.execute(text("""
            INSERT INTO department (code, name, region_code)
            VALUES ('WC-CG', '武昌区城管局', '420106'), ('SW-SJ', '汕尾市水务局', '4415')
            ON CONFLICT DO NOTHING"""))
    shanwei, wuchang = new_case(admin, grids, index=31), new_case(admin, grids, "420106", 31)
    for case in (shanwei, wuchang):
        assert do(admin, case, "file").status_code == 200
    r = do(admin, shanwei, "dispatch", department="WC-CG")
    assert r.status_code == 422
    refused = r.json()["detail"][0]
    assert refused["loc"][-1] == "department" and "serves 武昌区 (420106)" in refused["msg"]
    assert refused["ctx"] == {"rule": "elsewhere", "region": "420106", "name": "武昌区"}
    assert admin.get(f"/incidents/{shanwei}").json()["status"] == "filed"  # nothing done
    assert do(admin, wuchang, "dispatch", department="WC-CG").status_code == 200
    assert do(admin, shanwei, "dispatch", department="SW-SJ").status_code == 200  # its city's
    r = do(admin, shanwei, "reassign", department="WC-CG")
    assert r.status_code == 422 and r.json()["detail"][0]["ctx"]["rule"] == "elsewhere"
    assert do(admin, shanwei, "reassign", department="T1").status_code == 200  # of no region


def test_each_call_of_a_caller_urging_their_case_is_counted_on_it(clients, grids):
    """催办: the centre takes a call about a case still open as a step with what was said; the
    case counts the calls, the department it is with sees them and cannot urge itself."""
    command, department = clients["command"], clients["department"]
    case, calm = new_case(command, grids, index=14), new_case(command, grids, index=15)
    assert command.get(f"/incidents/{case}").json()["urged"] == 0
    r = do(command, case, "urge")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "note"
    for step, body in (("file", {}), ("dispatch", {"department": "T1"})):
        for each in (case, calm):
            assert do(command, each, step, **body).status_code == 200
    for said in ("诉求人来电催促办理", "已经一周了，还没人来修"):
        r = do(command, case, "urge", note=said)
        assert r.status_code == 200 and r.json()["status"] == "dispatched"
    assert department.get(f"/incidents/{case}").json()["urged"] == 2
    urged = {f["id"] for f in department.get("/incidents", params={
        "urged": "true", "limit": 1000}).json()["features"]}
    assert case in urged and calm not in urged
    assert do(department, case, "urge", note="自己催").status_code == 403
    timeline = command.get(f"/incidents/{case}/timeline").json()
    assert [(t["action"], t["note"]) for t in timeline if t["action"] == "urge"] == [
        ("urge", "诉求人来电催促办理"), ("urge", "已经一周了，还没人来修")]


def test_the_centre_takes_a_case_out_of_the_hotlines_evaluation_once_with_why(clients, grids):
    """不纳入考核: the centre, once a case is filed, closed or followed up, with why; once only,
    and never by its department; put back (恢复纳入考核) with why, while out."""
    command, department = clients["command"], clients["department"]
    case = new_case(command, grids, index=17, source="hotline")
    assert do(command, case, "exempt", note="诉求明显不合理").status_code == 409  # not filed
    for step, body in (("file", {}), ("dispatch", {"department": "T1"})):
        assert do(command, case, step, **body).status_code == 200
    assert command.get(f"/incidents/{case}").json()["exempted_at"] is None
    r = do(command, case, "exempt")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "note"
    assert do(department, case, "exempt", note="不合理").status_code == 403
    r = do(command, case, "exempt", note="诉求明显不合理")
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    exempted = command.get(f"/incidents/{case}").json()["exempted_at"]
    assert exempted is not None
    r = do(command, case, "exempt", note="再次")
    assert r.status_code == 409 and "out of the evaluation" in r.text
    assert command.get(f"/incidents/{case}").json()["exempted_at"] == exempted
    assert [t["note"] for t in command.get(f"/incidents/{case}/timeline").json()
            if t["action"] == "exempt"] == ["诉求明显不合理"]
    # put back by mistake taken out, with why, only while out; then out again as before
    r = do(command, case, "count_again")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "note"
    assert do(department, case, "count_again", note="应予考核").status_code == 403
    assert do(command, case, "count_again", note="经复核，诉求合理").status_code == 200
    assert command.get(f"/incidents/{case}").json()["exempted_at"] is None
    r = do(command, case, "count_again", note="再次")
    assert r.status_code == 409 and "in the evaluation" in r.text
    assert do(command, case, "exempt", note="同一诉求反复来电，已答复").status_code == 200


def test_a_department_asks_the_centre_to_take_its_case_out_of_the_evaluation(clients, grids):
    """申诉 (申请不纳入考核): the department a case is with asks, with why, once till the centre
    answers; the centre declines with why (and it may ask again) or takes the case out."""
    command, department = clients["command"], clients["department"]
    case = new_case(command, grids, index=18, source="hotline")
    for step, body in (("file", {}), ("dispatch", {"department": "T1"})):
        assert do(command, case, step, **body).status_code == 200

    def asked() -> tuple:
        r = command.get("/incidents", params={"exemption": "requested", "limit": 1000})
        assert r.status_code == 200, r.text
        doc = command.get(f"/incidents/{case}").json()
        return (case in {f["id"] for f in r.json()["features"]},
                doc["exemption_requested_at"] is not None, doc["exempted_at"] is not None)

    r = do(department, case, "request_exemption")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "note"
    assert do(command, case, "request_exemption", note="不合理").status_code == 403
    assert do(department, case, "request_exemption", note="诉求明显不合理").status_code == 200
    assert asked() == (True, True, False)
    r = do(department, case, "request_exemption", note="再申请")
    assert r.status_code == 409 and "asked to be" in r.text
    r = do(command, case, "decline_exemption")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "note"
    assert do(command, case, "decline_exemption", note="诉求合理，应予考核").status_code == 200
    assert asked() == (False, False, False)
    assert do(command, case, "decline_exemption", note="再次").status_code == 409
    assert do(department, case, "request_exemption", note="同一诉求反复来电").status_code == 200
    assert do(command, case, "exempt", note="同一诉求反复来电，已答复").status_code == 200
    assert asked() == (False, False, True)
    assert do(department, case, "request_exemption", note="又一次").status_code == 409
    assert [(t["action"], t["note"]) for t in department.get(f"/incidents/{case}/timeline").json()
            if "exempt" in t["action"]] == [
        ("request_exemption", "诉求明显不合理"), ("decline_exemption", "诉求合理，应予考核"),
        ("request_exemption", "同一诉求反复来电"), ("exempt", "同一诉求反复来电，已答复")]


def test_a_handler_contacting_the_caller_is_kept_from_the_first_time(clients, grids):
    """联系诉求人: by the case's handler while it handles it, with what it told the caller;
    the first time is the case's, which 响应率 counts. Till then the public's case waits on
    it (待联系诉求人); the grids' own do not."""
    command, department = clients["command"], clients["department"]
    case = new_case(command, grids, index=16, source="hotline")
    own = new_case(command, grids, index=16, source="grid_worker")

    def due():
        r = department.get("/incidents", params={"response": "due", "limit": 1000})
        assert r.status_code == 200, r.text
        return {f["id"] for f in r.json()["features"]}

    assert do(department, case, "contact", note="已联系").status_code == 404  # not its case yet
    for step, body in (("file", {}), ("dispatch", {"department": "T1"})):
        for each in (case, own):
            assert do(command, each, step, **body).status_code == 200
    assert case in due() and own not in due()
    # its caller to be told within the setting's 24 hours of the dispatch; the grid's own no one
    sent = command.get(f"/incidents/{case}").json()
    assert (datetime.fromisoformat(sent["response_deadline"])
            - datetime.fromisoformat(sent["dispatched_at"])) == timedelta(hours=24)
    assert command.get(f"/incidents/{own}").json()["response_deadline"] is None
    assert do(department, case, "contact").json()["detail"][0]["loc"][-1] == "note"
    assert do(department, case, "contact", note="已电话联系诉求人").status_code == 200
    assert case not in due()
    first = command.get(f"/incidents/{case}").json()["contacted_at"]
    assert first is not None
    assert do(department, case, "accept").status_code == 200
    r = do(department, case, "contact", note="再次联系，约定上门")
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    assert command.get(f"/incidents/{case}").json()["contacted_at"] == first
    timeline = department.get(f"/incidents/{case}/timeline").json()
    assert [t["note"] for t in timeline if t["action"] == "contact"] == [
        "已电话联系诉求人", "再次联系，约定上门"]


def test_an_unknown_action_is_refused_naming_it(clients, grids):
    case = new_case(clients["admin"], grids, index=5)
    r = do(clients["admin"], case, "teleport")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "action"


def test_each_action_is_announced(clients, grids):
    admin = clients["admin"]
    case = new_case(admin, grids, index=6)
    url = database_url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute("LISTEN incident")
        assert do(admin, case, "verify").status_code == 200
        notes = [n for n in listener.notifies(timeout=10, stop_after=1)]
    assert notes and f'"id": {case}' in notes[0].payload and '"verifying"' in notes[0].payload


def _calendar():
    from mapsvc.db.engine import in_transaction
    from mapsvc.workflow.calendar import load_calendar
    from tests.conftest import run

    return run(in_transaction(load_calendar))


def _stored(db, case):
    from sqlalchemy import text

    with db.connect() as conn:
        return conn.execute(text("SELECT dispatched_at, handling_deadline, suspended_at "
                                 "FROM incident WHERE id = :i"), {"i": case}).one()


def test_the_handling_clock_follows_the_categorys_limit_in_working_time(clients, grids, db):
    admin = clients["admin"]
    case = new_case(admin, grids, index=7, category="0601")  # 暴露垃圾: 4 working hours
    do(admin, case, "file")
    do(admin, case, "dispatch", department="T1")
    row = _stored(db, case)
    assert row.handling_deadline == _calendar().deadline(row.dispatched_at, 4, "working_hours")
    parent_only = new_case(admin, grids, index=8, category="01")  # no limit: the default
    do(admin, parent_only, "file")
    do(admin, parent_only, "dispatch", department="T1")
    row = _stored(db, parent_only)
    assert row.handling_deadline == _calendar().deadline(row.dispatched_at, 5, "working_days")


def test_suspension_stops_the_clock_and_an_extension_moves_it(clients, grids, db):
    from sqlalchemy import text

    admin = clients["admin"]
    case = new_case(admin, grids, index=9, category="0701")
    do(admin, case, "file")
    do(admin, case, "dispatch", department="T1")
    before = _stored(db, case).handling_deadline
    assert do(admin, case, "extend", note="需协调", working_days=11).status_code == 422
    assert do(admin, case, "extend", note="需协调", working_days=2).status_code == 200
    calendar = _calendar()
    extended = _stored(db, case).handling_deadline
    assert extended == calendar.add_working_hours(before, 2 * calendar.hours_per_day)
    do(admin, case, "suspend", note="等待产权认定")
    with db.begin() as conn:  # suspended since a known working morning
        conn.execute(text("UPDATE incident SET suspended_at = '2026-11-20 09:00+08' "
                          "WHERE id = :i"), {"i": case})
    do(admin, case, "resume")
    resumed_at = datetime.fromisoformat(
        admin.get(f"/incidents/{case}/timeline").json()[-1]["at"])
    stopped = calendar.working_hours_between(datetime.fromisoformat("2026-11-20T09:00+08:00"),
                                             resumed_at)
    assert stopped >= 6.5  # Friday 09:00-12:00 and 14:00-17:30 at least
    expected = calendar.add_working_hours(extended, stopped)
    assert abs((_stored(db, case).handling_deadline - expected).total_seconds()) < 2


def _urgent(client, **params) -> set[int]:
    r = client.get("/incidents", params={"urgent": "true", "limit": 1000, **params})
    assert r.status_code == 200
    return {f["id"] for f in r.json()["features"]}


def test_an_urgent_case_is_handled_within_the_urgent_limit_on_the_clock(clients, grids, db):
    admin, command, department = clients["admin"], clients["command"], clients["department"]
    case = new_case(command, grids, index=19, category="01")  # 5 working days to handle
    do(command, case, "file")
    do(command, case, "dispatch", department="T1")
    ordinary = _stored(db, case).handling_deadline
    assert do(clients["worker"], case, "expedite", note="燃气泄漏").status_code == 403
    assert do(department, case, "expedite", note="燃气泄漏").status_code == 403
    r = do(command, case, "expedite")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "note"
    assert case not in _urgent(command)
    r = do(command, case, "expedite", note="燃气泄漏，立即处置")
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    stored = command.get(f"/incidents/{case}").json()
    step = command.get(f"/incidents/{case}/timeline").json()[-1]
    assert step["action"] == "expedite" and step["note"] == "燃气泄漏，立即处置"
    urgent_at = datetime.fromisoformat(stored["urgent_at"])
    assert abs(urgent_at - datetime.fromisoformat(step["at"])) < timedelta(seconds=1)
    # four hours on the clock, nights and holidays too, where five working days came later
    assert _stored(db, case).handling_deadline == urgent_at + timedelta(hours=4) < ordinary
    assert datetime.fromisoformat(stored["handling_deadline"]) == urgent_at + timedelta(hours=4)
    r = do(admin, case, "expedite", note="再次加急")
    assert r.status_code == 409 and "already urgent" in r.json()["detail"][0]["msg"]
    assert case in _urgent(command, open="true") and case in _urgent(department)
    assert case not in _urgent(command, open="false")
    assert case not in _urgent(command, urgent="false")
    ledger = command.get("/incidents.csv", params={"urgent": "true"})
    rows = {r["编号"]: r for r in csv.DictReader(io.StringIO(ledger.text.lstrip("\ufeff")))}
    assert rows[str(case)]["加急时间"] == urgent_at.astimezone(
        timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    # reworked, it is back with the department on the urgent clock again
    for client, action, body in [(department, "accept", {}),
                                 (department, "report_handled", {"note": "已关阀"}),
                                 (command, "check", {}),
                                 (command, "check_fail", {"note": "仍有气味"})]:
        assert do(client, case, action, **body).status_code == 200, action
    reworked = datetime.fromisoformat(command.get(f"/incidents/{case}/timeline").json()[-1]["at"])
    due = _stored(db, case).handling_deadline - timedelta(hours=4)
    assert abs(due - reworked) < timedelta(seconds=1)


def test_the_urgent_limit_shortens_no_clock_that_ends_sooner(clients, grids, db):
    command = clients["command"]
    calendar = _calendar()
    early = new_case(command, grids, index=20, category="0602")  # 2 working hours
    assert do(command, early, "expedite", note="主干道油污").status_code == 200  # not yet filed
    do(command, early, "file")
    do(command, early, "dispatch", department="T1")
    row = _stored(db, early)
    assert row.handling_deadline == min(
        calendar.deadline(row.dispatched_at, 2, "working_hours"),
        row.dispatched_at + timedelta(hours=4))
    soon = new_case(command, grids, index=21, category="01")
    do(command, soon, "file")
    do(command, soon, "dispatch", department="T1")
    with db.begin() as conn:  # due within the hour already
        conn.execute(text("UPDATE incident SET handling_deadline = now() + interval '1 hour' "
                          "WHERE id = :i"), {"i": soon})
    due = _stored(db, soon).handling_deadline
    assert do(command, soon, "expedite", note="群众反映强烈").status_code == 200
    assert _stored(db, soon).handling_deadline == due


def test_a_step_sent_after_the_fact_keeps_the_time_it_was_taken(clients, grids, db):
    """A handler's phone with no signal sends its step when the signal comes back: the step,
    and the clocks it stops, keep the time it was taken (never one before the case's last
    step); its log keeps when it came too."""
    from sqlalchemy import text

    admin, department = clients["admin"], clients["department"]
    case = new_case(admin, grids, index=10, category="0701")
    for action, body in (("file", {}), ("dispatch", {"department": "T1"})):
        do(admin, case, action, **body)
    do(department, case, "accept")
    accepted = datetime.fromisoformat(admin.get(f"/incidents/{case}/timeline").json()[-1]["at"])
    time.sleep(1.5)  # the phone goes without signal a while after the step
    taken = accepted + timedelta(seconds=0.5)
    r = do(department, case, "report_handled", note="已处置", taken_at=taken.isoformat())
    assert r.status_code == 200, r.text
    step = admin.get(f"/incidents/{case}/timeline").json()[-1]
    assert datetime.fromisoformat(step["at"]) == taken
    assert datetime.fromisoformat(step["received_at"]) >= taken + timedelta(seconds=1)
    with db.connect() as conn:
        handled = conn.execute(text("SELECT dispatched_at, handled_at, handling_hours "
                                    "FROM incident WHERE id = :i"), {"i": case}).one()
    assert handled.handled_at == taken
    assert handled.handling_hours == pytest.approx(round(
        _calendar().working_hours_between(handled.dispatched_at, taken), 4), abs=1e-4)

    # a time before the case's last step is that step's; one ahead of now (a phone's clock
    # gone wrong) is the time it came
    do(admin, case, "check")
    checked = datetime.fromisoformat(admin.get(f"/incidents/{case}/timeline").json()[-1]["at"])
    r = do(admin, case, "check_pass", taken_at=(checked - timedelta(days=1)).isoformat())
    assert r.status_code == 200, r.text
    closed = admin.get(f"/incidents/{case}/timeline").json()[-1]
    assert (closed["action"], datetime.fromisoformat(closed["at"])) == ("check_pass", checked)
    r = do(admin, case, "follow_up", satisfaction=5, taken_at="2099-01-01T09:00:00")
    assert r.status_code == 200, r.text
    followed = admin.get(f"/incidents/{case}/timeline").json()[-1]
    assert abs(datetime.fromisoformat(followed["at"])
               - datetime.fromisoformat(followed["received_at"])) < timedelta(seconds=1)


def _clock(db, case, stage):
    from sqlalchemy import text

    with db.connect() as conn:
        return conn.execute(text(f"SELECT {stage}_deadline AS deadline, {stage}_warn_at AS warn "
                                 "FROM incident WHERE id = :i"), {"i": case}).one()


def test_each_stage_has_its_clock_and_the_case_one_over_all(clients, grids, db):
    admin, department = clients["admin"], clients["department"]
    calendar = _calendar()
    case = new_case(admin, grids, index=10, category="0601")  # handling: 4 working hours
    do(admin, case, "file")
    filed = admin.get(f"/incidents/{case}").json()
    filed_at = datetime.fromisoformat(filed["filed_at"])
    dispatch = _clock(db, case, "dispatch")  # the setting's 1 working hour
    assert dispatch.deadline == calendar.add_working_hours(filed_at, 1)
    assert dispatch.warn == calendar.add_working_hours(filed_at, 0.8)
    whole = _clock(db, case, "case")  # dispatch, handling and checking in a row: 7 hours
    assert whole.deadline == calendar.add_working_hours(filed_at, 7)
    assert whole.warn == calendar.add_working_hours(filed_at, 7 * 0.8)
    assert filed["clocks"]["dispatch"]["colour"] == "green" and filed["colour"] == "green"
    assert filed["clocks"]["handling"]["colour"] is None  # not running yet

    do(admin, case, "dispatch", department="T1")
    do(department, case, "accept")
    do(department, case, "report_handled", note="已清理")
    handled = admin.get(f"/incidents/{case}").json()
    handled_at = datetime.fromisoformat(handled["handled_at"])
    check = _clock(db, case, "check")  # the setting's 2 working hours
    assert check.deadline == calendar.add_working_hours(handled_at, 2)
    assert handled["clocks"]["check"]["colour"] == "green"
    assert handled["clocks"]["dispatch"]["colour"] is None
    assert handled["handling_hours"] == pytest.approx(calendar.working_hours_between(
        datetime.fromisoformat(handled["dispatched_at"]), handled_at), abs=1e-3)


def test_a_verify_task_runs_on_its_clock_until_the_fields_finding(clients, accounts, grids, db):
    """The verify task (核实) sent to the field runs on the setting's 2 working hours: the case
    turns red past it as at any stage, listed by its colour and overdue in its grid's backlog;
    the field's finding stops the clock, the case still being verified till the centre files."""
    from sqlalchemy import text

    admin, worker = clients["admin"], clients["worker"]
    grid = accounts["worker"][1]["grid_codes"][0]
    case = new_case(admin, grids, code_prefix=grid)
    assert admin.get(f"/incidents/{case}").json()["clocks"]["verify"] == {
        "deadline": None, "colour": None}
    # sent at a time of its own (as a step sent after the fact), from which its clock runs
    sent = datetime.fromisoformat(admin.get(f"/incidents/{case}/timeline").json()[-1]["at"]
                                  ) + timedelta(milliseconds=1)
    assert do(admin, case, "verify", taken_at=sent.isoformat()).status_code == 200
    calendar, clock = _calendar(), _clock(db, case, "verify")
    assert clock.deadline == calendar.add_working_hours(sent, 2)
    assert clock.warn == calendar.add_working_hours(sent, 2 * 0.8)

    def seen():
        doc = admin.get(f"/incidents/{case}").json()
        listed = {colour: case in {f["id"] for f in admin.get("/incidents", params={
            "grid": grid, "colour": colour, "limit": 1000}).json()["features"]}
            for colour in ("green", "red")}
        with db.connect() as conn:  # counted in bulk as the case shows it
            overdue, red_from, in_backlog = conn.execute(text(
                "SELECT incident_overdue(i), incident_red_from(i), "
                "       incident_red_from(i) = ANY(f.red_from) "
                "FROM incident i JOIN grid_figures f ON f.grid_id = i.grid_id WHERE i.id = :i"),
                {"i": case}).one()
        assert overdue == doc["overdue"]
        return (doc["status"], doc["clocks"]["verify"]["colour"], doc["colour"], listed,
                red_from, bool(in_backlog))

    green = {"green": True, "red": False}
    assert seen() == ("verifying", "green", "green", green, clock.deadline, True)
    with db.begin() as conn:
        late = conn.execute(text(
            "UPDATE incident SET verify_warn_at = now() - interval '2 minutes', "
            "verify_deadline = now() - interval '1 minute' WHERE id = :i "
            "RETURNING verify_deadline"), {"i": case}).scalar_one()
    red = {"green": False, "red": True}
    assert seen() == ("verifying", "red", "red", red, late, True)
    assert admin.get(f"/incidents/{case}").json()["overdue"] is True

    assert do(worker, case, "confirm", note="现场确认").status_code == 200
    assert admin.get(f"/incidents/{case}").json()["clocks"]["verify"] == {
        "deadline": None, "colour": None}
    assert seen() == ("verifying", None, None, {"green": False, "red": False}, None, False)
    # the task logged with its deadline; the finding with the deadline it was due by, which
    # another finding on the case (a photo more) no longer has
    assert do(worker, case, "confirm", note="补充照片").status_code == 200
    steps = admin.get(f"/incidents/{case}/timeline").json()
    assert datetime.fromisoformat(steps[-3]["data"]["verify_deadline"]) == clock.deadline
    assert datetime.fromisoformat(steps[-2]["data"]["due_by"]) == late
    assert "due_by" not in steps[-1]["data"]
    assert do(admin, case, "file").status_code == 200


def test_colours_turn_yellow_then_red_and_stand_still_while_suspended(clients, grids, db):
    from sqlalchemy import text

    admin = clients["admin"]
    case = new_case(admin, grids, index=11)
    do(admin, case, "file")
    do(admin, case, "dispatch", department="T1")

    def seen():
        doc = admin.get(f"/incidents/{case}").json()
        with db.connect() as conn:  # the tests that count and list cases in bulk agree
            overdue, colour = conn.execute(text(
                "SELECT incident_overdue(i), incident_colour(i) FROM incident i WHERE id = :i"),
                {"i": case}).one()
        assert (overdue, colour) == (doc["overdue"], doc["colour"])
        return doc["clocks"]["handling"]["colour"], doc["colour"], doc["overdue"]

    def shift(assignments):
        with db.begin() as conn:
            conn.execute(text(f"UPDATE incident SET {assignments} WHERE id = :i"), {"i": case})

    assert seen() == ("green", "green", False)
    shift("handling_warn_at = now() - interval '1 minute'")
    assert seen() == ("yellow", "yellow", False)
    shift("handling_deadline = now() - interval '1 minute'")
    assert seen() == ("red", "red", True)
    do(admin, case, "suspend", note="挂账")
    # suspended an hour ago, when the limit was not yet used up: it stays as it was then
    shift("suspended_at = now() - interval '1 hour', "
          "handling_warn_at = now() - interval '50 minutes', "
          "handling_deadline = now() - interval '40 minutes'")
    assert seen() == ("green", "green", False)


def test_an_extension_is_requested_by_the_handler_and_approved_by_the_centre(clients, grids, db):
    from sqlalchemy import text

    admin, department = clients["admin"], clients["department"]
    calendar = _calendar()
    case = new_case(admin, grids, index=12, category="0701")
    do(admin, case, "file")
    do(admin, case, "dispatch", department="T1")
    before = _clock(db, case, "handling")
    assert do(department, case, "extend", note="自批").status_code == 403
    assert do(department, case, "request_extension", note="需协调",
              working_days=3).status_code == 200
    assert _clock(db, case, "handling") == before  # not before it is approved
    assert admin.get(f"/incidents/{case}").json()["extension_request"]["working_days"] == 3
    assert do(admin, case, "extend", note="同意").status_code == 200
    after = _clock(db, case, "handling")
    assert after.deadline == calendar.add_working_hours(before.deadline, 3 * calendar.hours_per_day)
    assert admin.get(f"/incidents/{case}").json()["extension_request"] is None
    assert admin.get(f"/incidents/{case}").json()["extensions"] == 1
    assert do(admin, case, "decline_extension", note="无申请").status_code == 409
    # once while one handler has it, asked for or not (extensions_most)
    for who, action in ((department, "request_extension"), (admin, "extend")):
        r = do(who, case, action, note="再延", working_days=2)
        assert r.status_code == 409 and r.json()["detail"][0]["ctx"] == {
            "condition": "extendable"}
    assert _clock(db, case, "handling") == after
    # another handler may have it extended once in its turn
    with db.begin() as conn:
        conn.execute(text("INSERT INTO department (code, name) VALUES ('TX2', '延期测试局') "
                          "ON CONFLICT DO NOTHING"))
    assert do(admin, case, "reassign", department="TX2").status_code == 200
    assert admin.get(f"/incidents/{case}").json()["extensions"] == 0
    assert do(admin, case, "extend", note="需协调", working_days=1).status_code == 200
    assert do(admin, case, "extend", note="再延", working_days=1).status_code == 409


def _requested(client, **params) -> set[int]:
    r = client.get("/incidents", params={"extension": "requested", "limit": 1000, **params})
    assert r.status_code == 200
    return {f["id"] for f in r.json()["features"]}


def test_the_cases_waiting_on_an_answer_to_an_extension_request_are_listed(clients, grids):
    admin, command, department = clients["admin"], clients["command"], clients["department"]
    cases = [new_case(admin, grids, index=13 + i, category="0701") for i in range(4)]
    for case in cases:
        do(admin, case, "file")
        do(admin, case, "dispatch", department="T1")
    assert not _requested(command) & set(cases)
    for case in cases:
        assert do(department, case, "request_extension", note="需协调",
                  working_days=2).status_code == 200
    assert _requested(command) >= set(cases)
    approved, declined, handled, waiting = cases
    do(admin, approved, "extend", note="同意")
    do(admin, declined, "decline_extension", note="不同意")
    do(department, handled, "accept")
    do(department, handled, "report_handled", note="已处置")  # the request lapses
    assert _requested(command) & set(cases) == {waiting}
    do(admin, handled, "check")
    do(admin, handled, "check_fail", note="未处置到位")  # back with the department: no request
    assert admin.get(f"/incidents/{handled}").json()["extension_request"] is None
    assert _requested(command) & set(cases) == {waiting}
    assert waiting not in _requested(clients["planner"])  # another county's planner
    r = command.get("/incidents", params={"extension": "granted"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "extension"]


def test_dispatch_goes_to_the_categorys_department_when_none_is_named(clients, grids, db):
    from sqlalchemy import text

    admin = clients["admin"]
    case = new_case(admin, grids, index=13, category="0101")
    do(admin, case, "file")
    r = do(admin, case, "dispatch")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "department"
    with db.begin() as conn:  # the parent class names the department; the leaf inherits it
        conn.execute(text("UPDATE category SET department_code = 'T1' WHERE code = '01'"))
    try:
        assert do(admin, case, "dispatch").status_code == 200
        assert admin.get(f"/incidents/{case}").json()["department"] == "T1"
    finally:
        with db.begin() as conn:
            conn.execute(text("UPDATE category SET department_code = NULL WHERE code = '01'"))


def test_duplicates_are_suggested_and_a_merged_reporter_follows_the_original(clients, lattice):
    admin, worker = clients["admin"], clients["worker"]
    x, y = lattice.X0 + 2.5 * lattice.STEP, lattice.Y0 + 2.5 * lattice.STEP  # cell (2, 2)

    def report(client, dx_m=0.0, category="0601"):
        r = client.post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": category, "lon": x + dx_m / 104_000,
            "lat": y})
        assert r.status_code == 201
        return r.json()

    original = report(admin)
    assert original["possible_duplicates"] == []
    newcomer = report(worker, dx_m=20)
    assert [d["id"] for d in newcomer["possible_duplicates"]] == [original["id"]]
    assert 18 < newcomer["possible_duplicates"][0]["distance_m"] < 22
    assert report(admin, dx_m=20, category="0602")["possible_duplicates"] == []
    assert report(admin, dx_m=150)["possible_duplicates"] == []
    assert worker.get(f"/incidents/{original['id']}").status_code == 404
    r = do(admin, newcomer["id"], "merge", original=original["id"])
    assert r.status_code == 200 and r.json()["status"] == "void"
    assert admin.get(f"/incidents/{newcomer['id']}").json()["duplicate_of"] == original["id"]
    assert worker.get(f"/incidents/{original['id']}").status_code == 200
    assert do(admin, newcomer["id"], "merge", original=original["id"]).status_code == 409
    other = report(admin, dx_m=10, category="0602")
    assert do(admin, other["id"], "merge", original=other["id"]).status_code == 422
    refused = do(admin, other["id"], "merge", original=True)  # not case 1
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "original"


def test_a_case_lists_the_open_cases_it_may_repeat_among_those_the_account_may_read(
        clients, accounts, grids):
    admin, worker = clients["admin"], clients["worker"]
    own = accounts["worker"][1]["grid_codes"][0]
    mine = grids[grids["code"] == own].geometry.iloc[0]
    village = grids[grids["code"] == own].village_code.iloc[0]
    beside = next(g for g in grids[grids["village_code"] == village].geometry
                  if mine.intersection(g).length > 0 and not g.equals(mine))
    seam = mine.intersection(beside).interpolate(0.5, normalized=True)

    def toward(inside, metres):  # from the seam into a grid
        x, y = inside.representative_point().x - seam.x, inside.representative_point().y - seam.y
        scale = metres / 104_000 / (x * x + y * y) ** 0.5
        return seam.x + x * scale, seam.y + y * scale

    def report(client, at, category="0202"):  # a class no other test reports
        r = client.post("/incidents", json={"client_id": str(uuid.uuid4()),
                                            "category": category, "lon": at[0], "lat": at[1]})
        assert r.status_code == 201
        return r.json()

    here, near, across = toward(mine, 8), toward(mine, 30), toward(beside, 8)
    assert mine.contains(Point(here)) and mine.contains(Point(near))
    assert beside.contains(Point(across))
    first = report(admin, here)
    over_the_seam = report(admin, across)  # in the next grid: not the worker's
    later = report(worker, near)
    report(admin, here, category="0201")  # another class: no duplicate
    assert [d["id"] for d in later["possible_duplicates"]] == [first["id"], over_the_seam["id"]]

    def duplicates(client, case):
        r = client.get(f"/incidents/{case['id']}/duplicates")
        assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
        return [(f["id"], f["properties"]["distance_m"]) for f in r.json()["features"]]

    seen = duplicates(admin, first)  # nearest first, the later report among them
    assert [case for case, _ in seen] == [over_the_seam["id"], later["id"]]
    assert seen[1][1] == next(d["distance_m"] for d in later["possible_duplicates"]
                              if d["id"] == first["id"])
    assert duplicates(worker, first) == [seen[1]]  # the case over the seam is not the worker's
    assert worker.get(f"/incidents/{over_the_seam['id']}/duplicates").status_code == 404
    do(admin, later["id"], "merge", original=first["id"])  # voided: no longer open
    assert [case for case, _ in duplicates(admin, first)] == [over_the_seam["id"]]


def test_an_open_case_is_suggested_exactly_when_within_the_radius_anywhere(accounts, db):
    """At any latitude and in any direction from it (the second report placed by pyproj's
    geodesic): within the 50 m by default, and not beyond. Each pair is stored by the
    statement that stores reports, in a transaction rolled back after, so that no pair sees
    another's."""
    from mapsvc.accounts.model import Account
    from mapsvc.db.engine import async_engine
    from mapsvc.incidents.intake import store_reports
    from mapsvc.incidents.model import IncidentReport
    from tests.conftest import run

    with db.connect() as conn:
        admin = Account(id=conn.execute(text("SELECT id FROM account WHERE username = 'admin'"))
                        .scalar_one(), username="admin", role=accounts["admin"][0])

    async def pair(points) -> tuple[int, dict[int, float]]:
        """The first case's id, and the second's suggestions (id → distance)."""
        engine = async_engine()
        try:
            async with engine.connect() as conn:
                docs = []
                for x, y in points:
                    r = IncidentReport(client_id=uuid.uuid4(), category="0601", lon=x, lat=y)
                    docs.append(json.loads((await store_reports(conn, [(r, admin)]))[r.client_id]))
                await conn.rollback()
        finally:
            await engine.dispose()
        return docs[0]["id"], {d["id"]: d["distance_m"] for d in docs[1]["possible_duplicates"]}

    @settings(max_examples=60, deadline=None)
    @given(lon=st.floats(-179, 179), lat=st.floats(-80, 80), bearing=st.floats(0, 360),
           distance_m=st.floats(0, 100))
    @example(lon=20.0, lat=70.0, bearing=90.0, distance_m=45.0)  # 0.0012 degrees east there
    @example(lon=20.0, lat=-70.0, bearing=270.0, distance_m=49.0)
    @example(lon=113.0, lat=0.0, bearing=0.0, distance_m=51.0)
    def suggested_within_the_radius(lon, lat, bearing, distance_m):
        assume(abs(distance_m - 50) > 0.01)
        x, y, _ = Geod(ellps="WGS84").fwd(lon, lat, bearing, distance_m)
        first, suggested = run(pair([(lon, lat), (x, y)]))
        assert (first in suggested) == (distance_m <= 50)
        if first in suggested:
            assert suggested[first] == pytest.approx(distance_m, abs=0.051)

    try:
        suggested_within_the_radius()
    finally:  # the rolled-back cases stay in the indexes until vacuumed; other plans count them
        with db.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM incident"))


def test_a_classs_duplicate_rule_holds_for_the_classes_under_it_unless_they_set_their_own(
        clients, lattice, db):
    from sqlalchemy import text

    admin = clients["admin"]
    x, y = lattice.X0 + 0.1 * lattice.STEP, lattice.Y0 + 2.5 * lattice.STEP  # cell (0, 2)

    def report(dx_m: float) -> dict:
        r = admin.post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "0603", "lon": x + dx_m / 104_000,
            "lat": y})
        assert r.status_code == 201
        return r.json()

    def suggested(dx_m: float) -> list[int]:
        return [d["id"] for d in report(dx_m)["possible_duplicates"]]

    def rule(code: str, radius_m: float | None) -> None:  # None: the class sets none
        with db.begin() as conn:
            conn.execute(text("UPDATE category SET properties = properties - 'duplicate_radius_m'"
                              " WHERE code = :code"), {"code": code})
            if radius_m is not None:
                conn.execute(text("UPDATE category SET properties = properties || "
                                  "jsonb_build_object('duplicate_radius_m', CAST(:r AS float8)) "
                                  "WHERE code = :code"), {"r": radius_m, "code": code})

    original = report(0)["id"]
    assert original not in suggested(150)  # 50 m by default
    rule("06", 200)
    try:
        assert original in suggested(150)
        rule("0603", 10)
        assert original not in suggested(40)
    finally:
        rule("06", None)
        rule("0603", None)


def _queue(client, **params) -> set[int]:
    r = client.get("/incidents", params={"queue": "mine", "limit": 1000, **params})
    assert r.status_code == 200
    return {f["id"] for f in r.json()["features"]}


def test_escalation_hands_the_case_to_the_next_levels_queue(clients, accounts, grids):
    admin, worker = clients["admin"], clients["worker"]
    case = new_case(admin, grids, code_prefix=accounts["worker"][1]["grid_codes"][0])
    # the centres of its township, county and city (汕尾市), and one over the whole deployment
    holders = {"grid": {"worker"}, "township": {"township_command"}, "county": {"command", "city"},
               "city": {"shanwei", "city"}}
    seen = []
    for level in ("grid", "village", "township", "county", "city"):
        waiting = {who for who in ("worker", "township_command", "command", "shanwei", "city")
                   if case in _queue(clients[who])}
        seen.append((level, waiting))
        if level != "city":
            assert do(clients["worker"] if level == "grid" else admin, case,
                      "escalate").status_code == 200
    assert seen == [(level, holders.get(level, set()))
                    for level in ("grid", "village", "township", "county", "city")]
    do(admin, case, "escalate")  # to the departments: dispatched to one, it waits there
    do(admin, case, "file")
    do(admin, case, "dispatch", department="T1")
    assert case in _queue(clients["department"]) and case not in _queue(worker)


def test_cases_are_listed_by_their_warning_colour(clients, grids, db):
    from sqlalchemy import text

    admin = clients["admin"]
    case = new_case(admin, grids, index=15)
    do(admin, case, "file")
    assert case in _queue(admin, colour="green") and case not in _queue(admin, colour="red")
    with db.begin() as conn:
        conn.execute(text("UPDATE incident SET dispatch_warn_at = now() - interval '1 second' "
                          "WHERE id = :i"), {"i": case})
    assert case in _queue(admin, colour="yellow") and case not in _queue(admin, colour="green")
    with db.begin() as conn:
        conn.execute(text("UPDATE incident SET dispatch_deadline = now() - interval '1 second' "
                          "WHERE id = :i"), {"i": case})
    assert case in _queue(admin, colour="red") and case not in _queue(admin, colour="yellow")


def test_the_field_confirms_a_verify_task_and_the_centre_files(clients, accounts, grids):
    admin, worker = clients["admin"], clients["worker"]
    case = new_case(admin, grids, code_prefix=accounts["worker"][1]["grid_codes"][0])
    assert do(worker, case, "confirm", note="属实").status_code == 409  # no verify task yet
    do(admin, case, "verify")
    assert do(worker, case, "confirm").status_code == 422  # neither note nor photo
    assert do(admin, case, "confirm", note="属实").status_code == 403  # a field finding
    assert do(worker, case, "confirm", note="现场确认井盖缺失").status_code == 200
    assert admin.get(f"/incidents/{case}").json()["status"] == "verifying"
    assert do(admin, case, "file").status_code == 200
    steps = admin.get(f"/incidents/{case}/timeline").json()
    assert [s["action"] for s in steps][-2:] == ["confirm", "file"]
    assert steps[-2]["actor"] == "worker" and steps[-2]["note"] == "现场确认井盖缺失"


def test_a_case_reported_in_the_wrong_class_is_put_in_its_class_before_dispatch(clients, grids,
                                                                                db):
    """Reported as 市容环境 (no limit of its own: five working days) and filed, the case is put
    in 暴露垃圾 (four working hours; its parent class's department T1): the clock the filing
    started keeps its deadline, the handling clock dispatch starts is the new class's, and a
    dispatch naming no department sends it to the new class's; the step keeps both classes."""
    admin = clients["admin"]
    case = new_case(admin, grids, index=9, category="06")
    do(admin, case, "file")
    with db.connect() as conn:
        filed = conn.execute(text("SELECT case_deadline FROM incident WHERE id = :i"),
                             {"i": case}).scalar_one()
    r = do(admin, case, "reclassify", category="0601", note="经核实，上报类别有误")
    assert r.status_code == 200 and r.json()["status"] == "filed"
    assert admin.get(f"/incidents/{case}").json()["category"] == "0601"
    step = admin.get(f"/incidents/{case}/timeline").json()[-1]
    assert (step["action"], step["note"], step["data"]) == (
        "reclassify", "经核实，上报类别有误",
        {"category": {"from": {"code": "06", "name": "市容环境"},
                      "to": {"code": "0601", "name": "暴露垃圾"}}})
    assert case in {f["id"] for f in admin.get("/incidents", params={
        "category": "0601", "status": "filed", "limit": 1000}).json()["features"]}
    with db.begin() as conn:
        conn.execute(text("UPDATE category SET department_code = 'T1' WHERE code = '06'"))
        conn.execute(text("UPDATE category SET department_code = NULL WHERE code = '0601'"))
    try:
        assert do(admin, case, "dispatch").status_code == 200
    finally:
        with db.begin() as conn:
            conn.execute(text("UPDATE category SET department_code = NULL WHERE code = '06'"))
    stored = admin.get(f"/incidents/{case}").json()
    assert stored["department"] == "T1"
    row = _stored(db, case)
    assert row.handling_deadline == _calendar().deadline(row.dispatched_at, 4, "working_hours")
    with db.connect() as conn:
        assert conn.execute(text("SELECT case_deadline FROM incident WHERE id = :i"),
                            {"i": case}).scalar_one() == filed
    # dispatched: its class is settled, as its department's limit runs
    r = do(admin, case, "reclassify", category="06", note="再改")
    assert r.status_code == 409


@pytest.mark.parametrize("who,body,status,field", [
    ("admin", {"note": "类别有误"}, 422, "category"),
    ("admin", {"category": "0601"}, 422, "note"),
    ("admin", {"category": "NOPE", "note": "类别有误"}, 422, "category"),
    ("admin", {"category": "01", "note": "类别有误"}, 409, "category"),  # its class already
    ("department", {"category": "0601", "note": "类别有误"}, 403, None),
    ("worker", {"category": "0601", "note": "类别有误"}, 403, None),
])
def test_a_class_put_right_is_a_known_other_class_with_a_reason(clients, grids, who, body,
                                                                status, field):
    case = new_case(clients["admin"], grids, index=10, category="01")
    r = do(clients[who], case, "reclassify", **body)
    assert r.status_code == status, r.text
    if field:
        assert r.json()["detail"][0]["loc"][-1] == field
    assert clients["admin"].get(f"/incidents/{case}").json()["category"] == "01"
