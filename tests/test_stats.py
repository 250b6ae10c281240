"""The centre's metrics on a fixture whose answers were worked out by hand, per region, grid,
department and grid worker; the figures follow cases walked through the loop; who may read
which figures."""

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from mapsvc.errors import InvalidInput
from mapsvc.workflow.stats import PERIODS, TIMELINE_MOST, periods

PERIOD = {"from": "2025-03-03", "to": "2025-03-07"}  # a week no other test reports in

# Ten cases reported by the grid worker in its grid on 3 March 2025 at 09:00 (r), put in the
# states below. Deadlines before now are long past; "future" is a year ahead.
R = "TIMESTAMPTZ '2025-03-03 09:00+08'"
FUTURE = "now() + interval '1 year'"
CASES = [
    # 1 reported, never filed
    {"status": "'reported'"},
    # 2 rejected: not a valid report
    {"status": "'rejected'"},
    # 3 handled on the spot: valid, handled and closed on time, no handling clock
    {"status": "'self_resolved'", "handled_at": f"{R} + interval '1 hour'",
     "closed_at": f"{R} + interval '1 hour'"},
    # 4 filed and still waiting for dispatch past its dispatch deadline
    {"status": "'filed'", "filed_at": f"{R} + interval '1 hour'",
     "dispatch_deadline": f"{R} + interval '2 hours'"},
    # 5 dispatched on time, in progress past its handling deadline: overdue now
    {"status": "'in_progress'", "filed_at": f"{R} + interval '1 hour'",
     "dispatch_deadline": f"{R} + interval '2 hours'",
     "dispatched_at": f"{R} + interval '90 minutes'",
     "handling_deadline": f"{R} + interval '1 day'", "department_code": "'T1'"},
    # 6 dispatched late, in progress within its deadline
    {"status": "'in_progress'", "filed_at": f"{R} + interval '1 hour'",
     "dispatch_deadline": f"{R} + interval '2 hours'", "dispatched_at": f"{R} + interval '3 hours'",
     "handling_deadline": FUTURE, "department_code": "'T1'"},
    # 7 closed on time: 2 working hours of handling, rated 5, not asked whether resolved; handed
    # back once before (not done the first time)
    {"status": "'evaluated'", "returned_count": "1", "filed_at": f"{R} + interval '1 hour'",
     "dispatch_deadline": f"{R} + interval '2 hours'", "dispatched_at": f"{R} + interval '1 hour'",
     "handling_deadline": f"{R} + interval '1 day'", "handled_at": f"{R} + interval '5 hours'",
     "handling_hours": "2.0", "closed_at": f"{R} + interval '6 hours'",
     "case_deadline": f"{R} + interval '2 days'", "satisfaction": "5", "department_code": "'T1'"},
    # 8 handled late after one rework, 10.5 working hours, closed late, rated 3, resolved
    {"status": "'evaluated'", "resolved": "true", "filed_at": f"{R} + interval '1 hour'",
     "dispatch_deadline": f"{R} + interval '2 hours'", "dispatched_at": f"{R} + interval '1 hour'",
     "handling_deadline": f"{R} + interval '1 day'", "handled_at": f"{R} + interval '3 days'",
     "handling_hours": "10.5", "rework_count": "1", "closed_at": f"{R} + interval '4 days'",
     "case_deadline": f"{R} + interval '2 days'", "satisfaction": "3", "department_code": "'T1'"},
    # 9 handled on time in 3.25 working hours, being checked
    {"status": "'checking'", "filed_at": f"{R} + interval '1 hour'",
     "dispatch_deadline": f"{R} + interval '2 hours'", "dispatched_at": f"{R} + interval '1 hour'",
     "handling_deadline": f"{R} + interval '1 day'", "handled_at": f"{R} + interval '6 hours'",
     "handling_hours": "3.25", "department_code": "'T1'"},
    # 10 filed, then voided
    {"status": "'void'", "filed_at": f"{R} + interval '1 hour'"},
]

# Worked out by hand from the list above.
EXPECTED = {
    "reported": 10, "valid": 8, "filed": 7, "public_filed": 0, "voided": 1,
    "dispatched": 5, "dispatch_due": 6, "dispatched_on_time": 4,  # 5, 7, 8, 9; 4 is waiting late
    "handled": 4, "handled_on_time": 3,  # 3, 7, 9
    "overdue_now": 1, "due": 5,  # 应结案数 = 4 handled + 1 overdue
    "closed": 3, "closed_on_time": 2, "rework": 1, "rated": 2,
    "closed_first_time": 1, "first_time_rate": 0.3333,  # 3; 7 went back, 8 was reworked
    "valid_report_rate": 0.8, "public_report_rate": 0.0,  # all the grid worker's own
    "on_time_dispatch_rate": 0.6667, "closure_rate": 0.6,
    "handling_rate": 0.8, "on_time_handling_rate": 0.6,  # 3, 7, 9 on time, 8 late, 5 overdue
    "on_time_closure_rate": 0.4, "rework_rate": 0.25,
    "handling_hours_avg": 5.25,  # (2 + 10.5 + 3.25) / 3
    "handling_hours_p90": 12.0,  # rank ⌈0.9 × 3⌉ = 3: 10.5 h, in the bin from 8 to 12 hours
    "satisfaction": 4.0,
    # 满意率: rated 4 or 5 (7), of those rated (7, 8); 解决率: resolved (8), of those asked (8)
    "satisfied": 1, "satisfied_rate": 0.5, "resolved": 1, "resolution_asked": 1,
    "resolved_rate": 1.0,
    "public_dispatched": 0, "response_due": 0, "response_waiting": 0,  # none the public's
    "responded": 0, "response_rate": None, "urged": 0, "urged_rate": None,
    "accept_due": 0, "accept_waiting": 0, "accepted_on_time": 0,  # none sent since
    "on_time_accept_rate": None,
}
# The worker's figures: the cases it reported, none of them the public's (no 监督举报率)
EXPECTED_WORKER = {**EXPECTED, "public_report_rate": None}
# Department T1 got cases 5 to 9.
EXPECTED_T1 = {"reported": 5, "dispatched": 5, "dispatched_on_time": 4, "handled": 3,
               "overdue_now": 1, "due": 4, "closed": 2, "closure_rate": 0.5,
               "handling_rate": 0.75, "on_time_handling_rate": 0.5,
               "closed_first_time": 0, "first_time_rate": 0.0,
               "handling_hours_avg": 5.25, "satisfaction": 4.0, "satisfied_rate": 0.5,
               "resolved_rate": 1.0}


@pytest.fixture(scope="module")
def fixture_cases(clients, accounts, grids, db):
    grid_code = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == grid_code].geometry.iloc[0].representative_point()
    ids = []
    for case in CASES:
        r = clients["worker"].post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
            "reported_at": "2025-03-03T09:00:00+08:00", "description": "统计用例"})
        assert r.status_code == 201
        ids.append(r.json()["id"])
        with db.begin() as conn:
            sets = ", ".join(f"{column} = {value}" for column, value in case.items())
            conn.execute(text(f"UPDATE incident SET {sets} WHERE id = :i"), {"i": ids[-1]})
    return grid_code


def _figures(client, **params):
    r = client.get("/stats", params={**PERIOD, **params})
    assert r.status_code == 200, r.text
    return r.json()


def _subset(figures, expected):
    return {k: figures[k] for k in expected}


@pytest.mark.parametrize("level,code_of", [
    ("county", lambda g: g[:6]), ("township", lambda g: g[:9]), ("village", lambda g: g[:12]),
    ("grid", lambda g: g)])
def test_region_figures_match_the_hand_worked_answers(clients, fixture_cases, level, code_of):
    stats = _figures(clients["command"], level=level, code=code_of(fixture_cases))
    assert stats["figures"] == EXPECTED


def test_rows_break_the_region_down(clients, fixture_cases):
    command = clients["command"]
    county = _figures(command, level="county", code=fixture_cases[:6])
    assert county["by"] == "township"
    rows = {r["code"]: r["figures"] for r in county["rows"]}
    assert rows[fixture_cases[:9]] == EXPECTED
    assert all(f["reported"] == 0 for code, f in rows.items() if code != fixture_cases[:9])
    workers = _figures(command, level="county", code=fixture_cases[:6], by="worker")
    by_name = {r["code"]: r["figures"] for r in workers["rows"]}
    assert by_name["worker"] == EXPECTED_WORKER and by_name["chief"]["reported"] == 0
    grids = _figures(command, level="village", code=fixture_cases[:12])
    assert grids["by"] == "grid"
    assert {r["code"]: r["figures"]["reported"] for r in grids["rows"]}[fixture_cases] == 10


def test_rows_of_workers_and_of_grids_count_their_patrols_in_the_period(clients, grids,
                                                                         fixture_cases):
    command, grid = clients["command"], fixture_cases  # the worker's grid
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()

    def walk(ended: str, metres: float) -> dict:
        r = clients["worker"].post("/patrols", json={
            "client_id": str(uuid.uuid4()), "started_at": ended, "ended_at": ended,
            "points": [[p.x, p.y], [p.x + metres / 102_000, p.y]]})
        assert r.status_code == 201
        return r.json()["properties"]

    within = [walk("2025-03-03T00:00:00+08:00", 200), walk("2025-03-07T23:59:00+08:00", 100)]
    walk("2025-03-08T00:00:00+08:00", 300)  # the day after the period
    workers = {r["code"]: r["patrols"] for r in _figures(
        command, level="county", code=grid[:6], by="worker")["rows"]}
    assert workers["worker"] == {
        "count": 2, "km": round(sum(w["length_m"] for w in within) / 1000, 2)}
    assert workers["chief"] == {"count": 0, "km": 0.0}
    in_grid = sum(g["length_m"] for w in within for g in w["grids"] if g["code"] == grid)
    village = {r["code"]: r["patrols"] for r in _figures(
        command, level="village", code=grid[:12])["rows"]}
    assert village[grid] == {"count": 2, "km": round(in_grid / 1000, 2)}
    townships = _figures(command, level="county", code=grid[:6])["rows"]
    assert all("patrols" not in r for r in townships)  # regions: their grids' rows say it


def test_a_grid_worker_reads_its_own_figures_with_its_patrols(clients, fixture_cases):
    own = _figures(clients["worker"])  # without asking: the cases it reported, its patrols
    assert (own["kind"], own["code"], own["by"], own["rows"]) == ("worker", "worker", None, [])
    assert own["figures"] == EXPECTED_WORKER
    row = next(r for r in _figures(clients["command"], level="county", code=fixture_cases[:6],
                                   by="worker")["rows"] if r["code"] == "worker")
    assert (own["figures"], own["patrols"]) == (row["figures"], row["patrols"])
    chief = _figures(clients["chief"])
    assert chief["figures"]["reported"] == 0 and chief["patrols"] == {"count": 0, "km": 0.0}


def test_a_grid_chief_reads_the_grids_it_leads_by_grid_and_by_worker(clients, accounts,
                                                                     fixture_cases):
    """The chief leads the village's grids, the worker's among them: by grid, a row for each of
    them, the worker's holding the fixture's cases; by worker, its workers and itself; the grids
    together as the centre counts their village."""
    led = accounts["chief"][1]["grid_codes"]
    by_grid = _figures(clients["chief"], by="grid")
    assert (by_grid["kind"], by_grid["by"]) == ("grids", "grid")
    assert [r["code"] for r in by_grid["rows"]] == sorted(led)
    centre = _figures(clients["command"], level="village", code=fixture_cases[:12])
    assert by_grid["rows"] == centre["rows"]  # the same rows, their patrols with them
    assert by_grid["figures"]["reported"] == centre["figures"]["reported"] >= 10
    by_worker = _figures(clients["chief"], by="worker")
    rows = {r["code"]: r for r in by_worker["rows"]}
    assert {"worker", "chief"} <= set(rows) and rows["worker"]["figures"] == EXPECTED_WORKER
    assert rows["worker"]["patrols"] == next(
        r["patrols"] for r in _figures(clients["command"], level="county",
                                       code=fixture_cases[:6], by="worker")["rows"]
        if r["code"] == "worker")
    assert by_worker["figures"] == by_grid["figures"]
    own = _figures(clients["chief"])  # without a breakdown: its own, as before
    assert (own["kind"], own["rows"]) == ("worker", [])
    refused = clients["chief"].get("/stats", params={**PERIOD, "by": "village"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "by"


@pytest.mark.parametrize("who,params,expected", [
    ("command", {"level": "grid", "code": "{grid}"}, EXPECTED),
    ("command", {"level": "county", "code": "{county}"}, EXPECTED),
    ("department", {}, EXPECTED_T1), ("worker", {}, EXPECTED_WORKER)])
def test_figures_by_main_class(clients, fixture_cases, who, params, expected):
    """The fixture's cases are all of 0601, under 06 (市容环境): their figures are the main
    class's, and the other classes have none; the rows add up to the whole."""
    params = {k: v.format(grid=fixture_cases, county=fixture_cases[:6])
              for k, v in params.items()}
    stats = _figures(clients[who], by="category", **params)
    rows = {r["code"]: r for r in stats["rows"]}
    roots = {c["code"] for c in clients[who].get("/categories").json()
             if c["parent_code"] is None}
    assert set(rows) == roots and rows["06"]["kind"] == "category"
    assert _subset(rows["06"]["figures"], expected) == expected
    assert rows["06"]["figures"] == stats["figures"]
    assert all(r["figures"]["reported"] == 0 for code, r in rows.items() if code != "06")


def test_a_class_breaks_down_into_its_subclasses(clients, fixture_cases):
    params = {"level": "grid", "code": fixture_cases}
    main = {r["code"]: r for r in _figures(clients["command"], by="category", **params)["rows"]}
    assert main["06"]["subclasses"] is True
    stats = _figures(clients["command"], category="06", **params)
    assert stats["by"] == "category"
    rows = {r["code"]: r for r in stats["rows"]}
    subclasses = {c["code"] for c in clients["command"].get("/categories").json()
                  if c["parent_code"] == "06"}
    assert set(rows) == {"06", *subclasses} and stats["rows"][0]["code"] == "06"
    assert rows["06"]["name"].endswith("（本类）")  # its cases of no subclass: none here
    assert rows["06"]["figures"]["reported"] == 0
    assert rows["0601"]["figures"] == EXPECTED == main["06"]["figures"]
    assert all(r["figures"]["reported"] == 0 for code, r in rows.items() if code != "0601")


def test_classes_whose_codes_hold_letters_count_their_subclasses(clients, accounts, grids,
                                                                 lettered_classes):
    parent, child = lettered_classes
    grid = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()
    week = {"from": "2025-05-05", "to": "2025-05-09"}  # a week no other test reports in
    for code in (child, child, parent):
        assert clients["worker"].post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": code, "lon": p.x, "lat": p.y,
            "reported_at": "2025-05-06T10:00:00+08:00"}).status_code == 201
    main = clients["command"].get("/stats", params={**week, "by": "category"}).json()
    assert {r["code"]: r["figures"]["reported"] for r in main["rows"]}[parent] == 3
    inner = clients["command"].get("/stats", params={**week, "category": parent}).json()
    assert {r["code"]: r["figures"]["reported"] for r in inner["rows"]} == {parent: 1, child: 2}


@pytest.mark.parametrize("params,status", [
    ({"category": "06", "by": "grid"}, 422), ({"category": "ZZ"}, 404)])
def test_a_class_to_break_down_is_one_there_is(clients, fixture_cases, params, status):
    r = clients["command"].get("/stats", params={**PERIOD, **params})
    assert r.status_code == status, r.text
    assert r.json()["detail"][0]["loc"][-1] == "category"


PUBLIC_WEEK = {"from": "2025-06-16", "to": "2025-06-20"}  # a week no other test reports in


def test_the_share_of_filed_cases_the_public_reported(clients, accounts, grids, db):
    """监督举报率: of a region's filed cases, those a citizen or the hotline reported, the
    problems its grids did not find first; a grid worker's 漏报率, the same of the grids it
    works. Five cases in the worker's grid: the hotline's and a citizen's filed, a citizen's
    rejected, the worker's and a sensor's filed: 2 of 4."""
    grid = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()
    for reporter, source, status in (("command", "hotline", "filed"),
                                     ("command", "citizen", "filed"),
                                     ("command", "citizen", "rejected"),
                                     ("worker", "grid_worker", "filed"),
                                     ("command", "sensor", "filed")):
        r = clients[reporter].post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
            "source": source, "reported_at": "2025-06-17T09:00:00+08:00"})
        assert r.status_code == 201
        with db.begin() as conn:
            conn.execute(text("UPDATE incident SET status = :s, filed_at = CASE :s WHEN "
                              "'filed' THEN reported_at + interval '1 hour' END WHERE id = :i"),
                         {"s": status, "i": r.json()["id"]})
    for level, code in (("county", grid[:6]), ("township", grid[:9]), ("village", grid[:12]),
                        ("grid", grid)):
        figures = clients["command"].get("/stats", params={
            **PUBLIC_WEEK, "level": level, "code": code}).json()["figures"]
        assert _subset(figures, {"filed": 4, "public_filed": 2, "public_report_rate": 0.5}) \
            == {"filed": 4, "public_filed": 2, "public_report_rate": 0.5}, level
    workers = {r["code"]: r for r in clients["command"].get("/stats", params={
        **PUBLIC_WEEK, "level": "county", "code": grid[:6], "by": "worker"}).json()["rows"]}
    assert _subset(workers["worker"]["figures"], {"filed": 1, "public_report_rate": None}) \
        == {"filed": 1, "public_report_rate": None}
    # 漏报率: of the cases filed in the grids each works, the public's; the chief works the
    # village's grids, the worker's among them
    missed = {"filed": 4, "public": 2, "rate": 0.5}
    assert workers["worker"]["missed"] == missed == workers["chief"]["missed"]
    own = clients["worker"].get("/stats", params=PUBLIC_WEEK).json()
    assert own["missed"] == missed
    # 综合指标值, of the rates each has (none verified nor checked): the worker's 有效上报率 1
    # (its one report filed) weighs 40, its 1 − 漏报率 20: (40 × 1 + 20 × 0.5) / 60; the
    # chief's, who reported nothing, 1 − 漏报率 alone
    assert (workers["worker"]["score"], own["score"], workers["chief"]["score"]) == (
        83.3, 83.3, 50.0)
    assert own["score_weights"] == {"valid_report": 40, "missed": 20, "verifies": 20,
                                    "checks": 20}


def test_the_periods_a_worker_worked_each_grid_are_kept(clients, grids, db):
    """Moved to other grids, a worker's period in a grid it leaves ends, one in a grid it
    takes starts, and one in a grid it keeps goes on whole; disabled, its periods end, and
    enabled, they start again, in the grids given it while disabled too."""
    from tests.conftest import new_account

    first, kept, taken = grids[grids["code"].str.startswith("441502")]["code"].iloc[[40, 41, 42]]
    name = new_account("grid_worker", grid_codes=[first, kept])
    assert clients["admin"].patch(f"/accounts/{name}", json={
        "grids": [kept, taken]}).status_code == 204
    with db.connect() as conn:
        periods = conn.execute(text(
            "SELECT g.code, p.since, p.until FROM account_grid_period p "
            "JOIN grid g ON g.id = p.grid_id JOIN account a ON a.id = p.account_id "
            "WHERE a.username = :u ORDER BY p.since, g.code"), {"u": name}).all()
    assert [(code, until is None) for code, _, until in periods] == [
        (first, False), (kept, True), (taken, True)]
    (_, given, left), (_, kept_since, _), (_, moved, _) = periods
    assert given == kept_since < left == moved
    for active in (False, True):
        assert clients["admin"].patch(f"/accounts/{name}", json={
            "active": active}).status_code == 204
    with db.connect() as conn:
        again = conn.execute(text(
            "SELECT g.code, p.since, p.until FROM account_grid_period p "
            "JOIN grid g ON g.id = p.grid_id JOIN account a ON a.id = p.account_id "
            "WHERE a.username = :u AND p.since > :moved ORDER BY p.since, g.code"),
            {"u": name, "moved": moved}).all()
        ended = conn.execute(text(
            "SELECT count(*) FROM account_grid_period p JOIN account a ON a.id = p.account_id "
            "WHERE a.username = :u AND p.since <= :moved AND p.until > :moved"),
            {"u": name, "moved": moved}).scalar_one()
    assert [(code, until) for code, _, until in again] == [(kept, None), (taken, None)]
    assert ended == 2  # the kept and the taken grids' periods, ended when it was disabled
    # given a grid while disabled: no period there until it is enabled
    open_periods = text(
        "SELECT g.code FROM account_grid_period p JOIN grid g ON g.id = p.grid_id "
        "JOIN account a ON a.id = p.account_id WHERE a.username = :u AND p.until IS NULL "
        "ORDER BY g.code")
    assert clients["admin"].patch(f"/accounts/{name}", json={"active": False}).status_code == 204
    assert clients["admin"].patch(f"/accounts/{name}", json={
        "grids": [kept, taken, first]}).status_code == 204
    with db.connect() as conn:
        assert conn.execute(open_periods, {"u": name}).scalars().all() == []
    assert clients["admin"].patch(f"/accounts/{name}", json={"active": True}).status_code == 204
    with db.connect() as conn:
        assert conn.execute(open_periods, {"u": name}).scalars().all() == sorted(
            [first, kept, taken])


MOVE_WEEK = {"from": "2025-09-01", "to": "2025-09-05"}  # a week no other test reports in


def test_a_worker_answers_for_the_grids_it_worked_when_each_case_came(clients, grids, db):
    """漏报率 counts the cases of the grids a worker worked when they were reported: one who
    left a grid on 3 September answers for its cases until then, the one who took it over for
    those after (as the periods say), whatever grids each works now; the county's evaluation
    of that week lists the one who left for another county, not one who came since."""
    from tests.conftest import new_account

    county = grids[grids["code"].str.startswith("441502")]
    grid = county["code"].iloc[43]
    elsewhere = grids[~grids["code"].str.startswith("441502")]["code"].iloc[0]
    left, came = new_account("grid_worker", grid_codes=[elsewhere]), new_account(
        "grid_worker", grid_codes=[grid])
    since = new_account("grid_worker", grid_codes=[grid])
    moved = "2025-09-03 00:00+08"
    with db.begin() as conn:
        conn.execute(text(
            "INSERT INTO account_grid_period (account_id, grid_id, since, until) "
            "SELECT a.id, g.id, '-infinity', :moved FROM account a, grid g "
            "WHERE a.username = :u AND g.code = :g"), {"u": left, "g": grid, "moved": moved})
        conn.execute(text(
            "UPDATE account_grid_period p SET since = :moved FROM account a "
            "WHERE a.id = p.account_id AND a.username = :u"), {"u": came, "moved": moved})
    p = county[county["code"] == grid].geometry.iloc[0].representative_point()
    for source, day in (("hotline", "02"), ("citizen", "04"), ("grid_worker", "04")):
        r = clients["command"].post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
            "source": source, "reported_at": f"2025-09-{day}T09:00:00+08:00"})
        assert r.status_code == 201
        with db.begin() as conn:
            conn.execute(text("UPDATE incident SET status = 'filed', filed_at = reported_at "
                              "+ interval '1 hour' WHERE id = :i"), {"i": r.json()["id"]})
    workers = {r["code"]: r for r in clients["command"].get("/stats", params={
        **MOVE_WEEK, "level": "county", "code": "441502", "by": "worker"}).json()["rows"]}
    assert workers[left]["missed"] == {"filed": 1, "public": 1, "rate": 1.0}
    assert workers[came]["missed"] == {"filed": 2, "public": 1, "rate": 0.5}
    assert since not in workers


def test_a_centre_weighs_its_workers_rates_as_it_sets(monkeypatch):
    """The 综合指标值's weights are the centre's (MAPSVC_WORKFLOW_WORKER_WEIGHTS): a rate of
    weight 0 counts for nothing; weights no rate has, below 0, or all 0 are refused, named."""
    from pydantic import ValidationError

    from mapsvc import settings
    from mapsvc.workflow.stats import worker_score

    rates = {"missed": {"rate": 0.5}, "verifies": {"rate": 0.0}, "checks": {"rate": None}}
    # (1 × 1 + 3 × 0.5) / 4; with 按时核实率's weight left as it was, 20: its 0 counts,
    # (1 × 1 + 3 × 0.5 + 20 × 0) / 24; 按时核查率, with nothing to count, never
    for weights, score in (('{"valid_report": 1, "missed": 3, "verifies": 0}', 62.5),
                           ('{"valid_report": 1, "missed": 3}', 10.4)):
        monkeypatch.setenv("MAPSVC_WORKFLOW_WORKER_WEIGHTS", weights)
        settings.workflow.cache_clear()
        try:
            assert worker_score({"valid_report_rate": 1.0}, rates) == score
        finally:
            settings.workflow.cache_clear()
    for weights, named in (('{"valid": 40}', "worker_weights.valid"),
                           ('{"checks": -1}', "worker_weights.checks"),
                           ('{"valid_report": 0, "missed": 0, "verifies": 0, "checks": 0}',
                            "at least one weight")):
        monkeypatch.setenv("MAPSVC_WORKFLOW_WORKER_WEIGHTS", weights)
        with pytest.raises(ValidationError, match=named):
            settings.WorkflowSettings()


CHECK_WEEK = {"from": "2025-07-14", "to": "2025-07-18"}  # a week no other test reports in


@pytest.fixture(scope="module")
def checked_cases(clients, accounts, grids, db):
    """Four cases in the worker's grid handled at 11:00 on 15 July 2025: the worker checks one
    within the hour and one two days later; the chief checks one within the hour; one is never
    checked. Stored once, whichever module asks first (their client ids fixed). The grid's
    code."""
    from tests.test_workflow import do

    grid = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()
    client_ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"mapsvc:checked:{n}")) for n in range(4)]
    with db.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM incident WHERE client_id = ANY(CAST(:ids AS "
                             "uuid[]))"), {"ids": client_ids}).scalar_one():
            return grid
    unused = iter(client_ids)

    def handled() -> int:
        r = clients["command"].post("/incidents", json={
            "client_id": next(unused), "category": "0601", "lon": p.x, "lat": p.y,
            "source": "hotline", "reported_at": "2025-07-15T09:00:00+08:00"})
        assert r.status_code == 201
        case = r.json()["id"]
        for who, action, at, body in (
                ("command", "file", "10:00", {}), ("command", "dispatch", "10:10",
                                                   {"department": "T1"}),
                ("department", "accept", "10:20", {}),
                ("department", "report_handled", "11:00", {"note": "已清理"})):
            step = do(clients[who], case, action, taken_at=f"2025-07-15T{at}:00+08:00", **body)
            assert step.status_code == 200, step.text
        return case

    for who, day, action, body in (("worker", "15", "check_pass", {}),
                                   ("worker", "17", "check_fail", {"note": "仍有垃圾"}),
                                   ("chief", "15", "check_pass", {})):
        case = handled()
        for step, at in (("check", "11:30"), (action, "11:40")):
            r = do(clients[who], case, step, taken_at=f"2025-07-{day}T{at}:00+08:00",
                   **(body if step == action else {}))
            assert r.status_code == 200, r.text
    handled()  # its check clock ran out long ago, with no check taken
    return grid


def test_a_grid_workers_checks_on_site_taken_in_time(clients, checked_cases):
    """按时核查率: of a grid worker's checks due (those it took, and the cases of its grids whose
    check clock ran out with none taken), those taken by the deadline running then."""
    grid = checked_cases
    workers = {r["code"]: r for r in clients["command"].get("/stats", params={
        **CHECK_WEEK, "level": "county", "code": grid[:6], "by": "worker"}).json()["rows"]}
    mine = {"checked": 2, "on_time": 1, "lapsed": 1, "due": 3, "rate": 0.3333}
    assert workers["worker"]["checks"] == mine
    # the chief works the village's grids, the worker's among them
    assert workers["chief"]["checks"] == {"checked": 1, "on_time": 1, "lapsed": 1, "due": 2,
                                          "rate": 0.5}
    assert clients["worker"].get("/stats", params=CHECK_WEEK).json()["checks"] == mine


VERIFY_WEEK = {"from": "2025-08-04", "to": "2025-08-08"}  # a week no other test reports in
VERIFIED = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"mapsvc:verified:{n}")) for n in range(4)]


@pytest.fixture(scope="module")
def verified_cases(clients, accounts, grids, db):
    """Four hotline cases in the worker's grid whose verify task the centre sent at 10:00 on
    5 August 2025 (due at 12:00, two working hours on): the worker finds on one at 10:30 and on
    it again at 11:50, on one the next day; the chief on one at 11:30; on one nobody. Stored
    once, whichever module asks first (their client ids fixed). The grid's code."""
    from tests.test_workflow import do

    grid = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()
    with db.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM incident WHERE client_id = ANY(CAST(:ids AS "
                             "uuid[]))"), {"ids": VERIFIED}).scalar_one():
            return grid
    for client_id, findings in zip(VERIFIED, (
            [("worker", "2025-08-05T10:30"), ("worker", "2025-08-05T11:50")],
            [("worker", "2025-08-06T10:00")], [("chief", "2025-08-05T11:30")], [])):
        r = clients["command"].post("/incidents", json={
            "client_id": client_id, "category": "0601", "lon": p.x, "lat": p.y,
            "source": "hotline", "reported_at": "2025-08-05T09:00:00+08:00"})
        assert r.status_code == 201
        case = r.json()["id"]
        steps = [("command", "verify", "2025-08-05T10:00", {})] + [
            (who, "confirm", at, {"note": "现场属实"}) for who, at in findings]
        for who, action, at, body in steps:
            step = do(clients[who], case, action, taken_at=f"{at}:00+08:00", **body)
            assert step.status_code == 200, step.text
    return grid


def test_a_grid_workers_findings_on_verify_tasks_made_in_time(clients, verified_cases, db):
    """按时核实率: of a grid worker's findings due on verify tasks (the cases it found on, each
    once, and the cases of its grids whose verify clock ran out with none made), those made by
    the task's deadline."""
    grid = verified_cases
    with db.connect() as conn:  # the task's clock: two working hours from 10:00
        deadlines = conn.execute(text(
            "SELECT DISTINCT CAST(l.data ->> 'verify_deadline' AS timestamptz) "
            "FROM incident_log l JOIN incident i ON i.id = l.incident_id "
            "WHERE l.action = 'verify' AND i.client_id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": VERIFIED}).scalars().all()
    assert deadlines == [datetime.fromisoformat("2025-08-05T12:00:00+08:00")]
    workers = {r["code"]: r for r in clients["command"].get("/stats", params={
        **VERIFY_WEEK, "level": "county", "code": grid[:6], "by": "worker"}).json()["rows"]}
    mine = {"verified": 2, "on_time": 1, "lapsed": 1, "due": 3, "rate": 0.3333}
    assert workers["worker"]["verifies"] == mine
    # the chief works the village's grids, the worker's among them
    assert workers["chief"]["verifies"] == {"verified": 1, "on_time": 1, "lapsed": 1, "due": 2,
                                            "rate": 0.5}
    own = clients["worker"].get("/stats", params=VERIFY_WEEK).json()
    assert own["verifies"] == mine
    # 综合指标值: 按时核实率 alone, neither having reported nor any case filed in that week
    assert (workers["worker"]["score"], own["score"], workers["chief"]["score"]) == (
        33.3, 33.3, 50.0)
    # and no check is due of either in that week
    assert workers["worker"]["checks"] == {"checked": 0, "on_time": 0, "lapsed": 0, "due": 0,
                                           "rate": None}


def test_a_workers_findings_are_read_from_its_own_steps_not_the_period_s(
        checked_cases, verified_cases, grids):
    """Among 2,000 more cases reported in the period, each with its step, a worker's 按时核实率
    and 按时核查率 read its own findings from their index (migration 0052) and the steps of
    their cases that set their deadlines, as the service plans it, not the steps of every case
    of the period."""
    from mapsvc.db.engine import async_engine
    from mapsvc.workflow.stats import _FOUND
    from tests.conftest import run, store_cases
    from tests.explain import generic_plan, rows_handled

    spot = grids.geometry.iloc[0].representative_point()

    async def planned():
        engine = async_engine()
        try:
            async with engine.connect() as conn:
                transaction = await conn.begin()  # rolled back: the cases stay out of the others
                await store_cases(conn, [(spot.x, spot.y)] * 2000)
                await conn.execute(text(
                    "UPDATE incident SET reported_at = '2025-07-16 10:00+08' "
                    "WHERE id > (SELECT max(id) - 2000 FROM incident)"))
                await conn.execute(text("ANALYZE incident"))  # as autovacuum would
                worker = (await conn.execute(text(
                    "SELECT id FROM account WHERE username = 'worker'"))).scalar_one()
                plan = await generic_plan(conn, _FOUND, {
                    "keys": f"{{{worker}}}",
                    "start": CHECK_WEEK["from"], "end": CHECK_WEEK["to"]})
                # the worker's findings from the period on, of any test's cases
                found = (await conn.execute(text(
                    "SELECT count(*) FROM incident_log WHERE actor = 'worker' AND action IN "
                    "('confirm', 'check_pass', 'check_fail') AND at >= '2025-07-14'"))
                ).scalar_one()
                await transaction.rollback()
            async with engine.connect() as conn:  # the rolled-back rows out of the indexes
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("VACUUM incident, incident_log")
            return plan, found
        finally:
            await engine.dispose()

    plan, found = run(planned())
    # the worker's findings, and for each the few steps of its case
    assert found >= 5 and found <= rows_handled(plan, "incident_log") <= 6 * found


def _bare_case(conn, **columns) -> int:
    """A case of the scratch county 999999 written straight into a database at an earlier
    migration: the few columns every case needs, and ``columns``; its id."""
    given = {"category_code": "0601", "source": "hotline",
             "reported_at": "2025-06-17 09:00+08", **columns}
    return conn.execute(
        f"INSERT INTO incident (client_id, raw_lon, raw_lat, raw_crs, geom, assignment,"
        f" county_code, {', '.join(given)}) VALUES (gen_random_uuid(), 115, 22, 'wgs84',"
        f" ST_Point(115, 22, 4326), 'unassigned', '999999',"
        f" {', '.join(['%s'] * len(given))}) RETURNING id", list(given.values())).fetchone()[0]


def _county_sums(conn, *measures: str) -> tuple:
    """The scratch county's sums of ``measures``, the tally's and its deltas' together."""
    return conn.execute(f"SELECT {', '.join(f'sum({m})' for m in measures)} FROM (SELECT *"
                        " FROM incident_tally UNION ALL SELECT * FROM incident_tally_delta) t"
                        " WHERE kind = 'county' AND subject = '999999'").fetchone()


def test_cases_stored_before_public_reports_were_counted_enter_the_count(database_at):
    """A database of cases stored before the figures counted the public's (migration 0050):
    its filed public reports enter the figures as it is upgraded, and a report filed later
    enters them as ever."""
    connect, upgrade = database_at("mapsvc_public_reports", "0049")
    with connect() as conn:
        for source, filed in (("hotline", True), ("citizen", False), ("grid_worker", True)):
            _bare_case(conn, source=source, status="filed" if filed else "reported",
                       filed_at=datetime.now(timezone.utc) if filed else None)
    counted = ("reported", "filed", "public_filed")
    upgrade()
    with connect() as conn:
        assert _county_sums(conn, *counted) == (3, 2, 1)
        conn.execute("UPDATE incident SET status = 'filed', filed_at = now()"
                     " WHERE source = 'citizen'")
        assert _county_sums(conn, *counted) == (3, 3, 2)


def test_cases_rated_before_satisfaction_was_counted_enter_the_count(database_at):
    """A database of cases rated before the figures counted those rated satisfied (migration
    0059): they enter the figures as it is upgraded (none asked whether resolved), and a case
    followed up later enters them as ever."""
    connect, upgrade = database_at("mapsvc_rated_cases", "0058")
    with connect() as conn:
        for rated in (5, 4, 3, None):
            _bare_case(conn, status="evaluated" if rated else "closed", satisfaction=rated)
    counted = ("rated", "satisfaction", "satisfied", "resolved", "resolution_asked")
    upgrade()
    with connect() as conn:
        assert _county_sums(conn, *counted) == (3, 12, 2, 0, 0)
        conn.execute("UPDATE incident SET status = 'evaluated', satisfaction = 2,"
                     " resolved = true WHERE satisfaction IS NULL")
        assert _county_sums(conn, *counted) == (4, 14, 2, 1, 1)


def test_the_publics_cases_dispatched_before_responses_were_counted_enter_the_count(
        database_at):
    """A database of cases dispatched before the figures counted the callers contacted in time
    (响应率, migration 0060): the public's enter the cases due a response as it is upgraded,
    none contacted; a contact within 24 hours of the dispatch counts, a later one does not."""
    connect, upgrade = database_at("mapsvc_responses", "0059")
    with connect() as conn:
        for source in ("hotline", "citizen", "grid_worker"):
            _bare_case(conn, source=source, status="dispatched",
                       filed_at="2025-06-17 10:00+08", dispatched_at="2025-06-17 11:00+08")
    counted = ("dispatched", "response_due", "responded")
    upgrade()
    with connect() as conn:
        assert _county_sums(conn, *counted) == (3, 2, 0)
        for source, hours in (("hotline", 23), ("citizen", 25), ("grid_worker", 1)):
            conn.execute("UPDATE incident SET contacted_at = dispatched_at"
                         " + make_interval(hours => %s) WHERE source = %s", [hours, source])
        assert _county_sums(conn, *counted) == (3, 2, 1)


def test_the_publics_cases_urged_before_urges_were_counted_enter_the_count(database_at):
    """A database of cases urged before the figures counted them (催办率, migration 0061): the
    public's dispatched and urged enter the count as it is upgraded; a case urged before its
    dispatch enters it once dispatched, and a grid worker's own never."""
    connect, upgrade = database_at("mapsvc_urged_cases", "0060")
    dispatched = {"status": "dispatched", "filed_at": "2025-06-17 10:00+08",
                  "dispatched_at": "2025-06-17 11:00+08"}
    with connect() as conn:
        _bare_case(conn, source="hotline", urged=2, **dispatched)
        _bare_case(conn, source="citizen", **dispatched)
        _bare_case(conn, source="grid_worker", urged=1, **dispatched)
        _bare_case(conn, source="hotline", urged=1, status="filed",
                   filed_at="2025-06-17 10:00+08")
    counted = ("response_due", "urged")
    upgrade()
    with connect() as conn:
        assert _county_sums(conn, *counted) == (2, 1)
        conn.execute("UPDATE incident SET status = 'dispatched', dispatched_at = now()"
                     " WHERE status = 'filed'")
        assert _county_sums(conn, *counted) == (3, 2)
        conn.execute("UPDATE incident SET urged = 1 WHERE source = 'citizen'")
        assert _county_sums(conn, *counted) == (3, 3)


def test_cases_closed_before_the_first_time_was_counted_enter_the_count(database_at):
    """A database of cases closed before the figures counted those done the first time
    (一次完成率, migration 0066): each case counts the times its log says it went back (handed
    back, reassigned, reopened; no other step), and of those closed, the ones that never did
    nor were reworked enter the count as it is upgraded."""
    connect, upgrade = database_at("mapsvc_first_time", "0065")
    closed = {"status": "closed", "filed_at": "2025-06-17 10:00+08",
              "dispatched_at": "2025-06-17 11:00+08", "closed_at": "2025-06-18 11:00+08"}
    steps = [((), 0), (("accept", "urge"), 0), ((), 1), (("hand_back",), 0),
             (("reassign", "reopen"), 0)]
    with connect() as conn:
        cases = [_bare_case(conn, rework_count=rework, **closed) for _, rework in steps]
        for case, (actions, _) in zip(cases, steps):
            for action in actions:
                conn.execute("INSERT INTO incident_log (incident_id, actor, action)"
                             " VALUES (%s, 'admin', %s)", [case, action])
    upgrade()
    with connect() as conn:
        assert _county_sums(conn, "closed", "closed_first_time") == (5, 2)
        assert [conn.execute("SELECT returned_count FROM incident WHERE id = %s",
                             [case]).fetchone()[0] for case in cases] == [None, None, None, 1, 2]
        conn.execute("UPDATE incident SET returned_count = 1 WHERE id = %s", [cases[0]])
        assert _county_sums(conn, "closed", "closed_first_time") == (5, 1)


def test_a_grid_chiefs_grids_by_main_class(clients, fixture_cases):
    stats = _figures(clients["chief"], by="category")
    assert stats["kind"] == "grids"
    rows = {r["code"]: r["figures"] for r in stats["rows"]}
    assert rows["06"] == stats["figures"] and rows["06"]["reported"] >= 10


def test_a_departments_figures(clients, fixture_cases):
    stats = _figures(clients["department"])  # its own, without asking
    assert (stats["kind"], stats["code"]) == ("department", "T1")
    assert _subset(stats["figures"], EXPECTED_T1) == EXPECTED_T1
    assert _figures(clients["command"], department="T1")["figures"] == stats["figures"]


# Cases reported by the grid worker across a month's end (days no other test reports in), and
# the state each is put in: one reported, one past its handling deadline, one closed on time
# reported half an hour into 1 February in China (still 31 January in UTC), one filed and
# waiting past its dispatch deadline, one more past its handling deadline.
TIMELINE = {"from": "2024-01-29", "to": "2024-02-06"}
TIMELINE_CASES = [
    ("2024-01-30T10:00:00+08:00", {"status": "'reported'"}),
    ("2024-01-31T23:30:00+08:00", {
        "status": "'in_progress'", "filed_at": "reported_at", "dispatched_at": "reported_at",
        "handling_deadline": "reported_at + interval '1 day'", "department_code": "'T1'"}),
    ("2024-02-01T00:30:00+08:00", {
        "status": "'closed'", "filed_at": "reported_at", "dispatched_at": "reported_at",
        "handling_deadline": "reported_at + interval '1 day'", "department_code": "'T1'",
        "handled_at": "reported_at + interval '2 hours'", "handling_hours": "2.0",
        "closed_at": "reported_at + interval '3 hours'",
        "case_deadline": "reported_at + interval '2 days'"}),
    ("2024-02-05T09:00:00+08:00", {
        "status": "'filed'", "filed_at": "reported_at",
        "dispatch_deadline": "reported_at + interval '1 hour'"}),
    ("2024-02-06T09:00:00+08:00", {
        "status": "'in_progress'", "filed_at": "reported_at", "dispatched_at": "reported_at",
        "handling_deadline": "reported_at + interval '1 day'", "department_code": "'T1'"}),
]


@pytest.fixture(scope="module")
def timeline_cases(clients, accounts, grids, db):
    """TIMELINE_CASES, once in a database (the same client ids again: the same cases), for
    each module that uses them."""
    grid_code = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == grid_code].geometry.iloc[0].representative_point()
    for reported_at, case in TIMELINE_CASES:
        r = clients["worker"].post("/incidents", json={
            "client_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mapsvc:timeline:{reported_at}")),
            "category": "0601", "lon": p.x, "lat": p.y, "reported_at": reported_at,
            "description": "分期统计用例"})
        assert r.status_code in (200, 201)
        with db.begin() as conn:
            sets = ", ".join(f"{column} = {value}" for column, value in case.items())
            conn.execute(text(f"UPDATE incident SET {sets} WHERE id = :i"), {"i": r.json()["id"]})
    return grid_code


@pytest.mark.parametrize("who,subject", [
    ("command", lambda g: {"level": "county", "code": g[:6]}),  # from the tally
    ("command", lambda g: {"level": "village", "code": g[:12]}),  # from the cases
    ("command", lambda g: {"level": "grid", "code": g}),
    ("shanwei", lambda g: {}),  # a city: its counties'
    ("admin", lambda g: {}),  # the deployment: all counties'
    ("department", lambda g: {}), ("worker", lambda g: {}),  # their own
    ("chief", lambda g: {}),  # the grids it leads
])
def test_figures_break_down_by_month_week_and_day(clients, timeline_cases, who, subject):
    """分期: a row a month, week (Monday to Sunday) or day of the days asked about, in time, each
    the figures of the cases reported in its days (local days: a case reported at 00:30 on
    1 February is February's) as the figures of those days alone are."""
    asked = subject(timeline_cases)
    months = _figures(clients[who], by="month", **asked, **TIMELINE)
    assert months["by"] == "month"
    assert [(r["kind"], r["code"], r["name"], r["from"], r["to"]) for r in months["rows"]] == [
        ("month", "2024-01", "2024年1月", "2024-01-29", "2024-01-31"),
        ("month", "2024-02", "2024年2月", "2024-02-01", "2024-02-06")]
    weeks = _figures(clients[who], by="week", **asked, **TIMELINE)
    assert [(r["code"], r["name"], r["from"], r["to"]) for r in weeks["rows"]] == [
        ("2024-W05", "2024年1月29日—2月4日", "2024-01-29", "2024-02-04"),
        ("2024-W06", "2024年2月5日—6日", "2024-02-05", "2024-02-06")]
    days = _figures(clients[who], by="day", **asked, **TIMELINE)
    assert [r["name"] for r in days["rows"]][:2] == ["2024年1月29日（周一）", "2024年1月30日（周二）"]
    assert len(days["rows"]) == 9
    reported = {"month": [2, 3], "week": [3, 2], "day": [0, 1, 1, 1, 0, 0, 0, 1, 1]}
    if who == "department":  # the cases sent to it alone: the second, third and fifth
        reported = {"month": [1, 2], "week": [2, 1], "day": [0, 0, 1, 1, 0, 0, 0, 0, 1]}
    if who == "chief":  # its breakdowns are of the grids it leads, as by grid
        asked["by"] = "grid"
    for answer in (months, weeks, days):
        assert answer["figures"] == _figures(clients[who], **asked, **TIMELINE)["figures"]
        assert [r["figures"]["reported"] for r in answer["rows"]] == reported[answer["by"]]
        if answer["by"] != "day":  # the second case and the fifth
            assert [r["figures"]["overdue_now"] for r in answer["rows"]] == [1, 1]
        for row in answer["rows"]:
            alone = _figures(clients[who], **asked, **{"from": row["from"], "to": row["to"]})
            assert row["figures"] == alone["figures"], row["name"]
    closed = [r["figures"]["closed_on_time"] for r in months["rows"]]
    assert closed == [0, 1]  # (in UTC it would be January's)


@settings(max_examples=300, deadline=None)
@given(start=st.dates(), days=st.integers(0, 3000), per=st.sampled_from(PERIODS))
def test_periods_cover_the_days_asked_about_each_day_once(start, days, per):
    """Whatever the days: the periods follow one another, each within one day, week (Monday to
    Sunday) or calendar month, from the first day asked about to the last, each day in one;
    more than TIMELINE_MOST of them refused, naming ``by``."""
    end = start + timedelta(days=min(days, (date.max - start).days))
    try:
        found = periods(start, end, per)
    except InvalidInput as refused:
        assert refused.field == "by"
        assert (end - start).days + 1 > {"day": 1, "week": 7, "month": 28}[per] * (
            TIMELINE_MOST - 1)
        return
    assert found[0].start == start and found[-1].end == end
    for before, after in zip(found, found[1:]):
        assert after.start == before.end + timedelta(days=1)
    for period in found:
        first = date.fromisoformat(period.key)
        assert first <= period.start <= period.end
        if per == "day":
            assert period.start == period.end == first
        elif per == "week":
            assert first.weekday() == 0 and (period.end - first).days <= 6
            assert period.code == "{:04d}-W{:02d}".format(*first.isocalendar()[:2])
        else:
            assert first.day == 1 and (period.end.year, period.end.month) == (
                first.year, first.month)


def test_a_breakdown_in_time_lists_a_year_of_days_at_most_to_the_calendars_ends(clients):
    days = {"from": "2023-02-06", "to": "2024-02-06"}  # 366 days
    assert len(_figures(clients["command"], by="day", **days)["rows"]) == 366
    more = {"from": "2023-02-05", "to": "2024-02-06"}
    refused = clients["command"].get("/stats", params={"by": "day", **more})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "by"]
    assert [r["code"] for r in _figures(clients["command"], by="month", **more)["rows"]] == [
        f"2023-{m:02d}" for m in range(2, 13)] + ["2024-01", "2024-02"]
    # to the calendar's ends: its last week ends with its last day
    last = _figures(clients["command"], by="week", **{"from": "9999-12-01", "to": "9999-12-31"})
    assert [(r["code"], r["from"], r["to"]) for r in last["rows"]][-1] == (
        "9999-W52", "9999-12-27", "9999-12-31")
    first = _figures(clients["command"], by="month", **{"from": "0001-01-01", "to": "0001-02-03"})
    assert [r["code"] for r in first["rows"]] == ["0001-01", "0001-02"]


OVERDUE_WEEK = {"from": "2025-10-13", "to": "2025-10-17"}  # a week no other test reports in


def test_the_cases_overdue_now_are_listed_as_the_figures_count_them(clients, fixture_cases,
                                                                     grids, db):
    """GET /incidents?overdue=true (the desk's 处置超期): the cases in handling past their
    handling deadline, as 当前超期 counts them for a region and a department: of the fixture,
    case 5 alone, not 4 (filed, past its dispatch deadline: red, but not in handling) nor 6
    (within its deadline); a suspended case by the time its clock stopped."""
    command = clients["command"]

    def listed(period: dict, **params) -> set[int]:
        r = command.get("/incidents", params={
            "overdue": "true", "limit": 100, **params,
            "from": f"{period['from']}T00:00:00+08:00", "to": f"{period['to']}T23:59:59+08:00"})
        assert r.status_code == 200, r.text
        return {f["id"] for f in r.json()["features"]}

    with db.connect() as conn:
        late = {row.id for row in conn.execute(text(
            f"SELECT id FROM incident WHERE reported_at = {R} AND status = 'in_progress' "
            "AND handling_deadline < now()"))}
    township = fixture_cases[:9]
    assert late and listed(PERIOD, township=township) == late  # case 5 (of each module's)
    assert len(late) == _figures(command, level="township", code=township)["figures"][
        "overdue_now"]
    assert listed(PERIOD, department="T1") == late
    assert listed(OVERDUE_WEEK, township=township) == set()  # none reported in the days

    # suspended (挂起) before its deadline: not overdue however long it waits; after: overdue
    p = grids[grids["code"] == fixture_cases].geometry.iloc[0].representative_point()
    suspended = {}
    for before in (True, False):
        case = clients["worker"].post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
            "reported_at": f"{OVERDUE_WEEK['from']}T09:00:00+08:00"}).json()["id"]
        with db.begin() as conn:
            conn.execute(text(
                "UPDATE incident SET status = 'in_progress', department_code = 'T1', "
                "filed_at = reported_at, dispatched_at = reported_at, "
                "handling_deadline = reported_at + interval '1 day', "
                "suspended_at = reported_at + :stopped WHERE id = :id"),
                {"id": case, "stopped": timedelta(hours=2 if before else 30)})
        suspended[before] = case
    assert listed(OVERDUE_WEEK, township=township) == {suspended[False]}
    assert _figures(command, level="township", code=township, **OVERDUE_WEEK)["figures"][
        "overdue_now"] == 1


def test_on_time_closure_over_cases_closed_where_practice_counts_so(clients, fixture_cases):
    stats = _figures(clients["command"], level="village", code=fixture_cases[:12],
                     denominator="closed")
    assert stats["figures"]["on_time_closure_rate"] == 0.6667  # 2 of 3 closed


@pytest.fixture(scope="module")
def this_years_cases(clients, grids, fixture_cases, db):
    """Two cases reported today in the worker's grid (by the administrator: none of the
    worker's own figures): one closed on time, one overdue (so that the year's 按期结案率 over
    the cases due and over those closed differ)."""
    p = grids[grids["code"] == fixture_cases].geometry.iloc[0].representative_point()
    for state in ("closed_at = now(), handled_at = now(), case_deadline = now() + "
                  "interval '1 day', handling_deadline = now() + interval '1 day'",
                  "handling_deadline = now() - interval '1 hour'"):
        r = clients["admin"].post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y})
        with db.begin() as conn:
            conn.execute(text(
                "UPDATE incident SET status = CASE WHEN :closed THEN 'closed' "
                "ELSE 'in_progress' END, filed_at = now(), dispatched_at = now(), "
                f"department_code = 'T1', {state} WHERE id = :id"),
                {"id": r.json()["id"], "closed": state.startswith("closed")})


@pytest.mark.parametrize("denominator", ["due", "closed"])
def test_the_panels_on_time_closure_is_counted_as_the_evaluations(this_years_cases, monkeypatch,
                                                                   denominator):
    """The wall's 按期结案率 of the year over what the centre counts it over
    (MAPSVC_WORKFLOW_ON_TIME_DENOMINATOR), as its evaluation of the year gives it."""
    from mapsvc import settings
    from mapsvc.accounts.model import Account, Role
    from mapsvc.db.engine import in_transaction
    from mapsvc.incidents.model import LOCAL_TIME
    from mapsvc.workflow.stats import board, statistics
    from tests.conftest import run

    centre = Account(id=0, username="panel", role=Role.command, region_code="441502")
    today = datetime.now(LOCAL_TIME).date()
    monkeypatch.setenv("MAPSVC_WORKFLOW_ON_TIME_DENOMINATOR", denominator)
    settings.workflow.cache_clear()
    try:
        panel = run(in_transaction(lambda conn: board(conn, centre, today=today)))
    finally:
        settings.workflow.cache_clear()
    rates = {over: run(in_transaction(lambda conn, over=over: statistics(
        conn, centre, start=today.replace(month=1, day=1), end=today, denominator=over)))[
        "figures"]["on_time_closure_rate"] for over in ("due", "closed")}
    assert rates["due"] != rates["closed"]  # (the two are told apart)
    assert panel["year"]["on_time_closure_rate"] == rates[denominator]


def test_the_whole_deployment_adds_up_its_cities_and_a_city_its_counties(clients, grids,
                                                                        lattice):
    """Command at four levels (Anshan's): the deployment's figures break down by its cities
    (and its counties of no city, each a row of its own), a city's centre sees its counties'
    together and each of them, and its panel counts its counties' cases, as a county's does
    its own."""
    week = {"from": "2025-11-03", "to": "2025-11-07"}

    def reported() -> tuple[dict, dict]:
        whole = _figures(clients["admin"], **week)
        return whole, {r["code"]: r for r in whole["rows"]}  # (other tests' cities: none)

    before, was = reported()
    in_lattice = shapely.Point(lattice.X0 + lattice.STEP / 2, lattice.Y0 + lattice.STEP / 2)
    for county, n in (("420106", 2), ("441502", 3), (lattice.COUNTY, 1)):
        p = in_lattice if county == lattice.COUNTY else grids[grids["code"].str.startswith(
            county)].geometry.iloc[5].representative_point()
        for _ in range(n):
            assert clients["admin"].post("/incidents", json={
                "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
                "reported_at": "2025-11-04T10:00:00+08:00"}).status_code == 201
    whole, cities = reported()
    assert whole["kind"] == "deployment" and whole["by"] == "city"
    assert [(cities[c]["kind"], cities[c]["name"], cities[c]["figures"]["reported"]
             - was[c]["figures"]["reported"]) for c in ("4201", "4415", lattice.COUNTY)] == [
        ("city", "武汉市", 2), ("city", "汕尾市", 3), ("county", "测试县", 1)]
    assert whole["figures"]["reported"] - before["figures"]["reported"] == 6
    assert whole["figures"]["reported"] == sum(r["figures"]["reported"] for r in cities.values())
    counties = {r["code"]: r for r in _figures(clients["admin"], by="county", **week)["rows"]}
    for city, county in (("4201", "420106"), ("4415", "441502")):  # one county each here
        assert cities[city]["figures"] == counties[county]["figures"], city

    city = _figures(clients["shanwei"], **week)
    assert (city["kind"], city["code"], city["name"], city["by"]) == ("city", "4415", "汕尾市",
                                                                      "county")
    assert [r["code"] for r in city["rows"]] == ["441502"]
    assert city["figures"] == _figures(clients["command"], **week)["figures"]
    assert city["figures"]["reported"] == cities["4415"]["figures"]["reported"] >= 3
    assert clients["shanwei"].get("/stats", params={"level": "city", "code": "4201"}
                                  ).status_code == 404  # another city's
    assert clients["command"].get("/stats", params={"level": "city", "code": "4415"}
                                  ).status_code == 404  # a county's centre sees not its city
    board, county_board = (c.get("/stats/board").json() for c in (clients["shanwei"],
                                                                  clients["command"]))
    assert (board["kind"], board["name"]) == ("city", "汕尾市")
    for figure in ("reported_today", "closed_today", "open", "waiting", "urgent", "overdue"):
        assert board[figure] == county_board[figure], figure
    assert board["year"] == county_board["year"] and board["trend"] == county_board["trend"]
    assert board["patrols"] == county_board["patrols"] and board["patrols"]["grids"] > 0
    assert board["open"] > 0


def test_figures_follow_a_case_through_the_loop(clients, grids):
    """A hotline's case: filed, dispatched (to be taken on, and its caller told, within their
    times: counted once either is done), urged twice by its caller (counted once), its caller
    contacted by the department (twice: the first counts), handled, checked, closed, followed
    up, taken out of the evaluation and put back."""
    from tests.test_workflow import do

    command, department = clients["command"], clients["department"]
    p = grids[grids["code"].str.startswith("441502")].geometry.iloc[20].representative_point()
    case = command.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "description": "热线反映噪音",
        "lon": p.x, "lat": p.y, "source": "hotline"}).json()["id"]
    grid = command.get(f"/incidents/{case}").json()["grid"]["code"]
    before = command.get("/stats", params={"level": "grid", "code": grid}).json()["figures"]
    for action, body in [("file", {}), ("dispatch", {"department": "T1"})]:
        assert do(command, case, action, **body).status_code == 200
    sent = command.get("/stats", params={"level": "grid", "code": grid}).json()["figures"]
    for figure in ("dispatched", "public_dispatched", "accept_waiting", "response_waiting"):
        assert sent[figure] == before[figure] + 1, figure
    for figure in ("accept_due", "accepted_on_time", "response_due", "responded"):
        assert sent[figure] == before[figure], figure  # within their times, not yet done
    assert do(department, case, "contact", note="已电话联系诉求人").status_code == 200
    told = command.get("/stats", params={"level": "grid", "code": grid}).json()["figures"]
    assert (told["response_waiting"], told["response_due"], told["responded"]) == (
        before["response_waiting"], before["response_due"] + 1, before["responded"] + 1)
    assert told["accept_waiting"] == before["accept_waiting"] + 1  # not yet taken on
    for client, action, body in [(command, "urge", {"note": "诉求人来电催促办理"}),
                                 (command, "urge", {"note": "诉求人再次来电反映"}),
                                 (department, "accept", {}),
                                 (department, "contact", {"note": "再次联系，约定上门"}),
                                 (department, "report_handled", {"note": "已清理"}),
                                 (command, "check", {}), (command, "check_pass", {}),
                                 (command, "follow_up", {"satisfaction": 4, "resolved": False})]:
        assert do(client, case, action, **body).status_code == 200
    after = command.get("/stats", params={"level": "grid", "code": grid}).json()["figures"]
    for figure in ("filed", "dispatched", "dispatched_on_time", "handled", "handled_on_time",
                   "closed", "closed_on_time", "rated", "satisfied", "resolution_asked",
                   "public_dispatched", "response_due", "responded", "urged", "accept_due",
                   "accepted_on_time", "closed_first_time"):
        assert after[figure] == before[figure] + 1, figure
    assert (after["accept_waiting"], after["response_waiting"]) == (
        before["accept_waiting"], before["response_waiting"])
    assert after["reported"] == before["reported"]
    assert after["resolved"] == before["resolved"]  # asked, and not resolved
    # taken out of the evaluation (不纳入考核): what its caller judged and called counts no more,
    # its handling as ever
    assert do(command, case, "exempt", note="诉求明显不合理").status_code == 200
    out = command.get("/stats", params={"level": "grid", "code": grid}).json()["figures"]
    for figure in ("rated", "satisfied", "resolution_asked", "public_dispatched",
                   "response_due", "responded", "urged"):
        assert out[figure] == before[figure], figure
    for figure in ("handled", "handled_on_time", "closed", "closed_on_time", "accept_due",
                   "accepted_on_time"):
        assert out[figure] == before[figure] + 1, figure
    # put back (恢复纳入考核): it counts again
    assert do(command, case, "count_again", note="经复核，诉求合理，应予考核").status_code == 200
    back = command.get("/stats", params={"level": "grid", "code": grid}).json()["figures"]
    assert back == after


def test_a_case_that_went_back_is_not_done_the_first_time(clients, grids, db):
    """一次完成率: three cases closed, one handed back (退回) and dispatched again, one
    reassigned (改派), one closed, reopened (重新办理) and closed again: each adds one to the
    cases closed and none to those done the first time, and counts the time it went back."""
    from tests.test_workflow import do

    command = clients["command"]
    with db.begin() as conn:
        conn.execute(text("INSERT INTO department (code, name) VALUES ('RA', '改派局')"
                          " ON CONFLICT DO NOTHING"))
    grid = grids[grids["code"].str.startswith("441502")]["code"].iloc[46]
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()

    def figures() -> tuple:
        f = command.get("/stats", params={"level": "grid", "code": grid}).json()["figures"]
        return f["closed"], f["closed_first_time"]

    closing = [("accept", {}), ("report_handled", {"note": "已处置"}), ("check", {}),
               ("check_pass", {})]
    ways = {"hand_back": [("dispatch", {"department": "T1"}),
                          ("hand_back", {"note": "不属于本单位职责"}),
                          ("dispatch", {"department": "T1"}), *closing],
            "reassign": [("dispatch", {"department": "T1"}),
                         ("reassign", {"department": "RA"}), *closing],
            "reopen": [("dispatch", {"department": "T1"}), *closing,
                       ("reopen", {"note": "群众反映问题仍在"}),
                       ("dispatch", {"department": "T1"}), *closing]}
    before = figures()
    for steps in ways.values():
        case = command.post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
            "source": "hotline"}).json()["id"]
        for action, body in [("file", {}), *steps]:
            assert do(command, case, action, **body).status_code == 200, action
        assert command.get(f"/incidents/{case}").json()["returned_count"] == 1
    assert figures() == (before[0] + 3, before[1])


def test_a_caller_waits_while_their_case_goes_back_and_counts_untold_once_it_is_handled(
        clients, grids):
    """响应率: a hotline case handed back within its time to have its caller told waits, out of
    the count, to be sent again; handled with its caller never told, it counts due and not in
    time at once, though its time has not passed."""
    from tests.test_workflow import do

    command, department = clients["command"], clients["department"]
    grid = grids[grids["code"].str.startswith("441502")]["code"].iloc[47]
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()

    def figures() -> tuple:
        f = command.get("/stats", params={"level": "grid", "code": grid}).json()["figures"]
        return f["response_waiting"], f["response_due"], f["responded"]

    case = command.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
        "source": "hotline"}).json()["id"]
    before = figures()
    for who, action, body, waiting, due in [
            (command, "file", {}, 0, 0), (command, "dispatch", {"department": "T1"}, 1, 0),
            (department, "hand_back", {"note": "不属于本单位职责"}, 1, 0),
            (command, "dispatch", {"department": "T1"}, 1, 0), (department, "accept", {}, 1, 0),
            (department, "report_handled", {"note": "已处置"}, 0, 1)]:
        assert do(who, case, action, **body).status_code == 200, action
        assert figures() == (before[0] + waiting, before[1] + due, before[2]), action


def test_a_case_is_to_be_taken_on_within_two_working_hours_of_each_time_it_is_sent(
        clients, grids):
    """及时签收率: dispatched at 10:10 on a Tuesday, a case is to be taken on by 14:10 (two
    working hours, across the lunch break); taken on at 14:30, it is due and not in time. Sent
    back for rework at 15:20, it is to be taken on again by 17:20, and is, in time."""
    from tests.test_workflow import do

    command, department = clients["command"], clients["department"]
    grid = grids[grids["code"].str.startswith("441502")]["code"].iloc[44]
    p = grids[grids["code"] == grid].geometry.iloc[0].representative_point()
    period = {"level": "grid", "code": grid, "from": "2025-07-22", "to": "2025-07-22"}

    def figures() -> tuple:
        f = command.get("/stats", params=period).json()["figures"]
        return f["accept_due"], f["accepted_on_time"], f["on_time_accept_rate"]

    assert figures() == (0, 0, None)
    case = command.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
        "source": "hotline", "reported_at": "2025-07-22T09:00:00+08:00"}).json()["id"]

    def step(who, action: str, at: str, **body) -> dict:
        r = do(who, case, action, taken_at=f"2025-07-22T{at}:00+08:00", **body)
        assert r.status_code == 200, r.text
        return command.get(f"/incidents/{case}").json()

    step(command, "file", "10:00")
    sent = step(command, "dispatch", "10:10", department="T1")
    assert sent["accept_deadline"] == "2025-07-22T06:10:00+00:00"  # 14:10 in China
    assert sent["accepted_at"] is None and figures() == (1, 0, 0.0)
    taken = step(department, "accept", "14:30")
    assert taken["accepted_at"] == "2025-07-22T06:30:00+00:00" and figures() == (1, 0, 0.0)
    step(department, "report_handled", "15:00", note="已清理")
    step(command, "check", "15:10")
    again = step(command, "check_fail", "15:20", note="仍有垃圾")
    assert (again["accept_deadline"], again["accepted_at"]) == ("2025-07-22T09:20:00+00:00", None)
    step(department, "accept", "16:00")
    assert figures() == (1, 1, 1.0)


def test_the_times_a_case_sent_sets_follow_the_centres_settings(monkeypatch):
    """签收 and 响应 by the centre's limits (MAPSVC_WORKFLOW_ACCEPT_LIMIT, _RESPONSE_LIMIT): a
    case sent at 16:30 on a Tuesday, to be taken on within an hour on the clock and its caller
    told within two working hours (one that day, one the next morning)."""
    from mapsvc import settings
    from mapsvc.workflow.calendar import WorkingCalendar
    from mapsvc.workflow.clocks import sent_deadlines

    china = timezone(timedelta(hours=8))
    monkeypatch.setenv("MAPSVC_WORKFLOW_ACCEPT_LIMIT", "1 hours")
    monkeypatch.setenv("MAPSVC_WORKFLOW_RESPONSE_LIMIT", "2 working_hours")
    settings.workflow.cache_clear()
    try:
        due = sent_deadlines(WorkingCalendar(), datetime(2025, 7, 22, 16, 30, tzinfo=china))
    finally:
        settings.workflow.cache_clear()
    assert due == {"accept_by": datetime(2025, 7, 22, 17, 30, tzinfo=china),
                   "respond_by": datetime(2025, 7, 23, 9, 30, tzinfo=china)}


@pytest.mark.parametrize("who,params,status", [
    ("worker", {"level": "county", "code": "441502"}, 403),  # its own figures only
    ("worker", {"department": "T1"}, 403), ("worker", {"by": "grid"}, 422),
    ("planner", {}, 403),
    ("command", {"level": "county", "code": "420106"}, 404),  # another county
    ("township_command", {"level": "county", "code": "441502"}, 404),  # above its township
    ("department", {"department": "T2"}, 403),
    ("department", {"by": "grid"}, 422),  # its own figures break down by class or period
    ("command", {"level": "township"}, 422),  # a level without its code
    ("command", {"from": "2025-03-07", "to": "2025-03-03"}, 422),
    ("command", {"from": "0"}, 422),  # no day: seconds since 1970
])
def test_figures_are_read_within_the_jurisdiction(clients, accounts, who, params, status):
    r = clients[who].get("/stats", params=params)
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["detail"][0]["loc"][-1] in ("code", "from", "to", "by")


def test_folding_the_deltas_into_the_tally_changes_no_figure(clients, fixture_cases, db):
    from mapsvc.db.engine import in_transaction
    from mapsvc.workflow.stats import fold
    from tests.conftest import run

    params = {"level": "county", "code": fixture_cases[:6], "by": "grid"}
    before = _figures(clients["command"], **params)
    run(in_transaction(fold))
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident_tally_delta")).scalar_one() == 0
        folded = conn.execute(text("SELECT count(*) FROM incident_tally")).scalar_one()
    assert folded > 0
    assert _figures(clients["command"], **params) == before
