"""The live feed (Server-Sent Events) and the wall screen's panel, over real HTTP."""

import json
import threading
import uuid
from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy import text

from typer.testing import CliRunner

from mapsvc.cli import app
from mapsvc.workflow.feed import RECENT_MAX
from tests.conftest import PASSWORD, new_account
from tests.test_bulk_import import write_csv


def _events(server: str, token: str, found: list, stop: threading.Event, last: str | None,
            params: dict):
    headers = {"Authorization": f"Bearer {token}"}
    if last:
        headers["Last-Event-ID"] = last
    try:
        with httpx.stream("GET", f"{server}/api/v1/events", headers=headers, params=params,
                          timeout=30) as r:
            event = {}
            for line in r.iter_lines():
                if stop.is_set():
                    return
                if not line:
                    if event:
                        found.append(event)
                    event = {}
                elif line.startswith(("event:", "id:", "data:")):
                    key, _, value = line.partition(":")
                    event[key] = value.strip()
    except httpx.HTTPError:
        if not stop.is_set():  # a follower stopped may see the server close it, as it ends
            raise


def _follow(server, token, last=None, **params):
    found, stop = [], threading.Event()
    thread = threading.Thread(target=_events, args=(server, token, found, stop, last, params),
                              daemon=True)
    thread.start()
    return found, stop


def _wait(found, condition, what):
    for _ in range(300):
        if any(condition(e) for e in list(found)):
            return next(e for e in list(found) if condition(e))
        threading.Event().wait(0.05)
    raise AssertionError(f"no {what} in {found}")


def _token(server, username):
    return httpx.post(f"{server}/api/v1/auth/token", data={
        "username": username, "password": PASSWORD}).json()["access_token"]


def _step_of(case):
    return lambda e: e.get("event") == "step" and json.loads(e["data"])["feature"]["id"] == case


def test_steps_arrive_live_within_the_jurisdiction_and_are_replayed_after_a_gap(
        server, clients, grids, lattice):
    token = _token(server, "command")
    found, stop = _follow(server, token)
    ready = _wait(found, lambda e: e.get("event") == "ready", "ready event")
    p = grids[grids["code"].str.startswith("441502")].geometry.iloc[5].representative_point()
    mine = clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
        "description": "<b>实时</b>"}).json()["id"]
    elsewhere = clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": lattice.X0 + 0.0005,
        "lat": lattice.Y0 + 0.0005}).json()["id"]
    step = json.loads(_wait(found, _step_of(mine), "step of the new case")["data"])
    assert step["action"] == "report"
    assert step["feature"]["properties"]["description"] == "<b>实时</b>"
    clients["admin"].post(f"/incidents/{mine}/actions/verify", json={})
    _wait(found,
          lambda e: e.get("event") == "step" and json.loads(e["data"])["status"] == "verifying",
          "the verify step")
    stop.set()
    assert not any(_step_of(elsewhere)(e) for e in found)  # outside the county

    replay, stop_replay = _follow(server, token, last=ready["id"])  # reconnect after a gap
    _wait(replay, _step_of(mine), "the replayed step")
    _wait(replay, lambda e: e.get("event") == "ready", "ready after the replay")
    stop_replay.set()
    assert not any(_step_of(elsewhere)(e) for e in replay)


def test_a_step_that_came_late_arrives_with_the_time_it_was_taken_and_the_time_it_came(
        server, clients, grids):
    token = _token(server, "command")
    found, stop = _follow(server, token)
    _wait(found, lambda e: e.get("event") == "ready", "ready event")
    p = grids[grids["code"].str.startswith("441502")].geometry.iloc[8].representative_point()
    came = datetime.now(timezone.utc)
    made = came - timedelta(hours=5)  # a phone with no signal all afternoon
    late = clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y,
        "reported_at": made.isoformat()}).json()["id"]
    step = json.loads(_wait(found, _step_of(late), "the late report's step")["data"])
    stop.set()
    assert datetime.fromisoformat(step["at"]) == made
    assert datetime.fromisoformat(step["received_at"]) >= came


def test_a_page_that_opens_may_ask_first_for_the_last_steps_it_may_see(
        server, clients, grids, lattice):
    p = grids[grids["code"].str.startswith("441502")].geometry.iloc[6].representative_point()
    mine = clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y}).json()["id"]
    elsewhere = clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": lattice.X0 + 0.0007,
        "lat": lattice.Y0 + 0.0007}).json()["id"]
    clients["admin"].post(f"/incidents/{mine}/actions/verify", json={})
    token = _token(server, "command")

    found, stop = _follow(server, token, recent=2)
    ready = _wait(found, lambda e: e.get("event") == "ready", "ready event")
    stop.set()
    recent = [e for e in found if e.get("event") == "recent"]
    # the county's last two steps, oldest first; the case elsewhere, reported between them, is
    # outside the account's jurisdiction
    assert [(json.loads(e["data"])["feature"]["id"], json.loads(e["data"])["action"])
            for e in recent] == [(mine, "report"), (mine, "verify")]
    assert int(recent[0]["id"]) < int(recent[1]["id"]) <= int(ready["id"])
    assert found.index(recent[-1]) < found.index(ready)
    assert elsewhere not in {json.loads(e["data"])["feature"]["id"] for e in recent}

    # a reconnection catches up instead: nothing before the step it names comes again
    again, stop_again = _follow(server, token, last=recent[0]["id"], recent=2)
    _wait(again, lambda e: e.get("event") == "ready", "ready after the catch-up")
    stop_again.set()
    assert [e.get("event") for e in again] == ["step", "ready"] and _step_of(mine)(again[0])

    too_many = httpx.get(f"{server}/api/v1/events", params={"recent": RECENT_MAX + 1},
                         headers={"Authorization": f"Bearer {token}"})
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"][-1] == "recent"


def test_a_bulk_import_asks_pages_to_reload(server, clients, lattice, tmp_path):
    found, stop = _follow(server, _token(server, "admin"))
    _wait(found, lambda e: e.get("event") == "ready", "ready event")
    rows = [{"client_id": str(uuid.uuid4()), "category": "0601",
             "lon": lattice.X0 + 0.001 + i * 1e-6, "lat": lattice.Y0 + 0.001} for i in range(150)]
    path = write_csv(tmp_path / "many.csv", dict(enumerate(rows)))
    r = clients["admin"].post("/incidents/import", files={"file": ("many.csv", path.read_bytes())})
    assert r.json()["inserted"] == 150
    reload = _wait(found, lambda e: e.get("event") == "reload", "reload event")
    stop.set()
    assert json.loads(reload["data"])["steps"] == 150
    assert not any(e.get("event") == "step" for e in found)


def test_the_feed_of_an_account_disabled_ends(server, accounts):
    """A wall screen left signed in by someone who left: once the account is disabled, its feed
    ends within seconds (the page, reconnecting, is refused and sent to sign in)."""
    name = new_account()
    token = httpx.post(f"{server}/api/v1/auth/token", data={
        "username": name, "password": PASSWORD}).json()["access_token"]
    found, stop = [], threading.Event()
    follower = threading.Thread(target=_events, args=(server, token, found, stop, None, {}),
                                daemon=True)
    follower.start()
    _wait(found, lambda e: e.get("event") == "ready", "ready event")
    assert CliRunner().invoke(app, ["accounts", "disable", name]).exit_code == 0
    follower.join(timeout=60)
    assert not follower.is_alive(), "the feed went on"
    again = httpx.get(f"{server}/api/v1/events", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401


def test_the_panel_counts_today_and_now(clients, grids, db):
    command = clients["command"]
    before = command.get("/stats/board").json()
    assert before["code"] == "441502" and len(before["trend"]) == 14
    p = grids[grids["code"].str.startswith("441502")].geometry.iloc[6].representative_point()
    # now, a week ago, and from a phone whose clock runs a year ahead: reported as it came
    for code, when in (
            ("0601", {}),
            ("06", {"reported_at": (datetime.now(timezone.utc) - timedelta(days=7)).isoformat()}),
            ("0601", {"reported_at": "2099-01-01T09:00:00+08:00"})):
        assert command.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": code,
                                                "lon": p.x, "lat": p.y, **when}).status_code == 201
    after = command.get("/stats/board").json()
    assert after["reported_today"] == before["reported_today"] + 2
    assert after["open"] == before["open"] + 3
    assert after["waiting"] == before["waiting"] + 3  # reported: waiting on the centre
    assert after["trend"][-1]["reported"] == before["trend"][-1]["reported"] + 2
    assert after["trend"][-8]["reported"] == before["trend"][-8]["reported"] + 1
    classes = [{c["code"]: c["reported"] for c in b["classes"]} for b in (before, after)]
    assert classes[1]["06"] == classes[0].get("06", 0) + 3  # 06 and its 0601: all three
    assert list(classes[1].values()) == sorted(classes[1].values(), reverse=True)
    assert sum(classes[1].values()) == sum(t["reported"] for t in after["trend"])
    with db.connect() as conn:  # the report waiting longest to be taken in came then
        first = conn.execute(text(
            "SELECT min(received_at) FROM incident WHERE village_code LIKE '441502%' "
            "AND status IN ('reported', 'verifying')")).scalar_one()
    assert datetime.fromisoformat(after["waiting_since"]) == first
    assert clients["worker"].get("/stats/board").status_code == 403


def test_the_panel_counts_cases_closed_today_overdue_and_urgent_now(clients, grids, db):
    command = clients["command"]
    p = grids[grids["code"].str.startswith("441502")].geometry.iloc[7].representative_point()
    closing, late = (command.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y}).json()["id"]
        for _ in range(2))
    before = command.get("/stats/board").json()
    with db.begin() as conn:
        conn.execute(text("UPDATE incident SET status = 'closed', closed_at = now() "
                          "WHERE id = :id"), {"id": closing})
        conn.execute(text("UPDATE incident SET status = 'dispatched', handling_deadline = "
                          "now() - interval '1 minute' WHERE id = :id"), {"id": late})
    assert command.post(f"/incidents/{late}/actions/expedite",
                        json={"note": "群众反映强烈"}).status_code == 200
    after = command.get("/stats/board").json()
    assert after["closed_today"] == before["closed_today"] + 1
    assert after["overdue"] == before["overdue"] + 1
    assert after["open"] == before["open"] - 1
    assert after["waiting"] == before["waiting"] - 2  # one closed, one dispatched
    assert after["urgent"] == before["urgent"] + 1


def test_a_patrol_is_announced_to_those_who_may_read_it(server, clients, accounts, grids):
    from datetime import datetime, timezone

    code = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == code].geometry.iloc[0].representative_point()
    streams = {who: _follow(server, _token(server, who)) for who in ("command", "department")}
    for found, _ in streams.values():
        _wait(found, lambda e: e.get("event") == "ready", "ready event")
    now = datetime.now(timezone.utc).isoformat()
    walked = clients["worker"].post("/patrols", json={
        "client_id": str(uuid.uuid4()), "started_at": now, "ended_at": now,
        "points": [[p.x, p.y], [p.x + 0.0004, p.y]]}).json()
    seen = _wait(streams["command"][0], lambda e: e.get("event") == "patrol", "the patrol")
    assert json.loads(seen["data"]) == walked and "id" not in seen  # not replayed
    admin = clients["admin"]  # a step after it that the department sees: a case sent to it
    case = admin.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": p.x, "lat": p.y}).json()["id"]
    admin.post(f"/incidents/{case}/actions/file", json={})
    admin.post(f"/incidents/{case}/actions/dispatch", json={"department": "T1"})
    found = streams["department"][0]
    _wait(found, _step_of(case), "the dispatch, after the patrol")
    for _, stop in streams.values():
        stop.set()
    assert not any(e.get("event") == "patrol" for e in found)  # a department reads no patrol


def test_a_page_following_a_region_or_a_grid_is_sent_its_own_alone(server, clients, accounts,
                                                                    grids):
    """A feed asked for a township's (``region``) or a grid's (``grid``): the last steps, the
    steps as they come and the patrols of that place alone."""
    code = accounts["worker"][1]["grid_codes"][0]
    grid = grids[grids["code"] == code].iloc[0]
    township = grid.village_code[:9]
    away = grids[grids["village_code"].str.startswith("441502")
                 & ~grids["village_code"].str.startswith(township)].iloc[0]
    here, there = (g.geometry.representative_point() for g in (grid, away))
    admin = clients["admin"]

    def reported(p) -> int:
        r = admin.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "0601",
                                           "lon": p.x, "lat": p.y})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def ids(found, event: str) -> list[int]:
        return [json.loads(e["data"])["feature"]["id"] for e in found if e.get("event") == event]

    before = {"here": reported(here), "there": reported(there)}
    token = _token(server, "command")
    follows = {"township": {"region": township}, "grid": {"grid": code},
               "other": {"region": away.village_code[:9]}}
    streams = {name: _follow(server, token, recent=5, **params)
               for name, params in follows.items()}
    for found, _ in streams.values():
        _wait(found, lambda e: e.get("event") == "ready", "ready event")
    assert ids(streams["township"][0], "recent")[-1] == before["here"]
    assert ids(streams["grid"][0], "recent")[-1] == before["here"]
    assert ids(streams["other"][0], "recent")[-1] == before["there"]
    assert before["there"] not in ids(streams["township"][0], "recent")
    assert before["here"] not in ids(streams["other"][0], "recent")

    elsewhere, inside = reported(there), reported(here)
    now = datetime.now(timezone.utc).isoformat()
    walked = clients["worker"].post("/patrols", json={
        "client_id": str(uuid.uuid4()), "started_at": now, "ended_at": now,
        "points": [[here.x, here.y], [here.x + 0.0002, here.y]]}).json()
    last = reported(there)  # after the patrol: what the other township's follower waits for
    for name in ("township", "grid"):
        found = streams[name][0]
        patrol = _wait(found, lambda e: e.get("event") == "patrol", f"the patrol to {name}")
        assert json.loads(patrol["data"])["id"] == walked["id"]
        assert ids(found, "step") == [inside]
    found = streams["other"][0]
    _wait(found, _step_of(last), "the last case there")
    assert ids(found, "step") == [elsewhere, last]
    assert not any(e.get("event") == "patrol" for e in found)
    for _, stop in streams.values():
        stop.set()
