"""The centre's staff evaluated by the steps each took (GET /stats?by=operator, 岗位考核), on
cases that operators of their own took through the loop, each step at a time of its own: the
figures worked out by hand; who is listed where; who may ask."""

import uuid

import pytest

from tests.conftest import new_account, signed_in_client
from tests.test_workflow import do

PERIOD = {"from": "2025-04-07", "to": "2025-04-11"}  # a week no other test reports in
MONDAY = "2025-04-07T{}:00+08:00"  # a working day (the dispatch limit: one working hour)
THURSDAY = "2025-04-10T{}:00+08:00"
NONE = {"steps": 0, "taken_in": 0, "filed": 0, "filed_voided": 0, "rejected": 0,
        "dispatched": 0, "dispatch_due": 0, "dispatched_on_time": 0, "redispatched": 0,
        "closed": 0, "checked": 0, "followed_up": 0, "supervised": 0,
        "intake_minutes_median": None, "intake_minutes_p90": None, "accurate_filing_rate": None,
        "on_time_dispatch_rate": None, "accurate_dispatch_rate": None}
# Worked out by hand from the steps below.
CLERK = {**NONE, "steps": 5, "taken_in": 3,  # B rejected after 10 min, A filed after 30, C 60
         "intake_minutes_median": 30.0,
         "intake_minutes_p90": 54.0,  # between 30 and 60, at 0.9 × (3 − 1) = 1.8 of the ranks
         "filed": 2, "filed_voided": 1, "accurate_filing_rate": 0.5,  # C voided after
         "rejected": 1, "closed": 1, "checked": 1}  # A checked and passed (check_pass)
DISPATCHER = {**NONE, "steps": 4, "taken_in": 1,  # D verified after 20 minutes
              "intake_minutes_median": 20.0, "intake_minutes_p90": 20.0,
              "dispatched": 2, "dispatch_due": 2,
              "dispatched_on_time": 1, "on_time_dispatch_rate": 0.5,  # A's second, days late
              "redispatched": 1, "accurate_dispatch_rate": 0.5}  # A's first, handed back


@pytest.fixture(scope="module")
def staff(server, clients, accounts, grids):
    """Four command accounts of the county: a clerk and a dispatcher who walked cases reported
    on Monday 7 April 2025 at 09:00, one who filed a report of that day on its late arrival,
    and one who took no step. Username by part."""
    names = {part: new_account() for part in ("clerk", "dispatcher", "prompt", "idle")}
    clerk, dispatcher, prompt = (signed_in_client(server, names[part])
                                 for part in ("clerk", "dispatcher", "prompt"))
    department = clients["department"]
    grid = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()

    def report(at: str = MONDAY.format("09:00")) -> int:
        r = clients["worker"].post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
            "reported_at": at, "description": "坐席考核用例"})
        assert r.status_code == 201
        return r.json()["id"]

    a, b, c, d = (report() for _ in range(4))
    for client, case, action, at, body in [
        (clerk, a, "file", MONDAY.format("09:30"), {}),
        (dispatcher, a, "dispatch", MONDAY.format("10:00"), {"department": "T1"}),
        (department, a, "hand_back", MONDAY.format("11:00"), {"note": "不属于本单位职责"}),
        (dispatcher, a, "dispatch", THURSDAY.format("09:30"), {"department": "T1"}),
        (department, a, "accept", THURSDAY.format("10:00"), {}),
        (department, a, "report_handled", THURSDAY.format("11:00"), {"note": "已处置"}),
        (clerk, a, "check", THURSDAY.format("14:00"), {}),
        (clerk, a, "check_pass", THURSDAY.format("14:30"), {}),
        (clerk, b, "reject", MONDAY.format("09:10"), {"note": "重复上报"}),
        (clerk, c, "file", MONDAY.format("10:00"), {}),
        (dispatcher, c, "void", MONDAY.format("10:30"), {"note": "误报"}),
        (dispatcher, d, "verify", MONDAY.format("09:20"), {}),
    ]:
        r = do(client, case, action, taken_at=at, **body)
        assert r.status_code == 200, (action, r.text)
    # a phone's report of Tuesday that reached the service only now, filed at once
    assert do(prompt, report(at="2025-04-08T08:00:00+08:00"), "file").status_code == 200
    for client in (clerk, dispatcher, prompt):
        client.close()
    return names


def _rows(client, **params) -> dict:
    r = client.get("/stats", params={**PERIOD, "by": "operator", **params})
    assert r.status_code == 200, r.text
    assert r.json()["by"] == "operator"
    return {row["code"]: row for row in r.json()["rows"]}


@pytest.mark.parametrize("params", [
    {}, {"level": "township", "code": "{grid9}"}, {"level": "grid", "code": "{grid}"}])
def test_each_operators_steps_on_the_regions_cases(clients, accounts, staff, params):
    grid = accounts["worker"][1]["grid_codes"][0]
    params = {k: v.format(grid=grid, grid9=grid[:9]) for k, v in params.items()}
    rows = _rows(clients["command"], **params)
    assert rows[staff["clerk"]]["figures"] == CLERK
    assert rows[staff["dispatcher"]]["figures"] == DISPATCHER
    assert rows[staff["clerk"]]["name"] == staff["clerk"]
    assert rows[staff["clerk"]]["kind"] == "operator" and rows[staff["clerk"]]["role"] == "command"
    # the department's and the worker's steps are not the centre's
    assert "department" not in rows and "worker" not in rows
    # the county's own staff are listed though idle; within a township only those who acted
    assert (staff["idle"] in rows) == (params == {})
    if params == {}:
        assert rows[staff["idle"]]["figures"] == NONE


def test_intake_is_timed_from_the_reports_arrival(clients, staff):
    """The phone's report of Tuesday 8 April 2025, 08:00, came only now: its filing a moment
    after counts a moment, not the year and more since it was made."""
    prompt = _rows(clients["command"])[staff["prompt"]]["figures"]
    assert prompt["taken_in"] == prompt["filed"] == 1
    assert 0 <= prompt["intake_minutes_median"] < 5


def test_the_regions_own_figures_stay_its_cases(clients, staff):
    by_staff = clients["command"].get("/stats", params={**PERIOD, "by": "operator"}).json()
    by_township = clients["command"].get("/stats", params=PERIOD).json()
    assert by_staff["figures"] == by_township["figures"]
    assert by_staff["figures"]["reported"] >= 5 and by_staff["figures"]["voided"] >= 1


def test_another_countys_staff_see_none_of_these_steps(clients, staff):
    rows = _rows(clients["admin"], level="county", code="420106")
    assert staff["clerk"] not in rows and staff["dispatcher"] not in rows


@pytest.mark.parametrize("who", ["chief", "department", "worker"])
def test_only_a_regions_figures_break_down_by_operator(clients, staff, who):
    r = clients[who].get("/stats", params={**PERIOD, "by": "operator"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == "by"
