"""Patrols (日常巡查) through the API: a grid worker's track is stored once however often it is
sent, measured on the ellipsoid and cut by the grids it passed through (lengths checked
against pyproj's geodesic on shapely's cuts); it is read by its walker, the chiefs of its grids
and the centres over them, and by no one else; bad tracks are refused naming the field."""

import json
import math
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import psycopg
import pytest
import shapely
from pyproj import Geod
from shapely import LineString
from sqlalchemy import text

from tests.conftest import Server

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def walk(accounts, grids):
    """A walk from the worker's grid over the seam into the next grid of the village: its
    points, and those two grids (code, polygon)."""
    own = accounts["worker"][1]["grid_codes"][0]
    mine = grids[grids["code"] == own].geometry.iloc[0]
    village = grids[grids["code"] == own].village_code.iloc[0]
    beside = next((code, g) for code, g in zip(grids["code"], grids.geometry)
                  if grids[grids["code"] == code].village_code.iloc[0] == village
                  and code != own and mine.intersection(g).length > 0)
    seam = mine.intersection(beside[1]).interpolate(0.5, normalized=True)

    def toward(inside, metres):
        target = inside.representative_point()
        dx, dy = target.x - seam.x, target.y - seam.y
        scale = metres / 104_000 / (dx * dx + dy * dy) ** 0.5
        return [seam.x + dx * scale, seam.y + dy * scale]

    points = [toward(mine, 120), toward(mine, 40), toward(beside[1], 60)]
    assert mine.contains(shapely.Point(points[0])) and beside[1].contains(
        shapely.Point(points[-1]))
    return points, (own, mine), beside


def _patrol(points, ended: datetime | None = None, **fields) -> dict:
    ended = ended or datetime.now(timezone.utc)
    return {"client_id": str(uuid.uuid4()), "started_at": (ended - timedelta(hours=1)).isoformat(),
            "ended_at": ended.isoformat(), "points": points, **fields}


def test_a_patrol_is_stored_once_with_its_length_and_the_grids_it_passed_through(clients,
                                                                              walk, server):
    worker = clients["worker"]
    points, (own, mine), (other, beside) = walk
    sent = _patrol(points, note="夜间巡查")
    r = worker.post("/patrols", json=sent)
    assert r.status_code == 201 and r.headers["content-type"] == "application/geo+json"
    walked = r.json()
    assert walked["geometry"]["coordinates"] == [[round(x, 7), round(y, 7)] for x, y in points]
    line = LineString(points)
    assert walked["properties"]["length_m"] == pytest.approx(GEOD.geometry_length(line),
                                                             abs=0.1)
    lengths = {g["code"]: g["length_m"] for g in walked["properties"]["grids"]}
    assert lengths == pytest.approx({
        own: GEOD.geometry_length(line.intersection(mine)),
        other: GEOD.geometry_length(line.intersection(beside))}, abs=0.1)
    assert [g["code"] for g in walked["properties"]["grids"]] == [own, other]  # longest first
    assert (walked["properties"]["worker"], walked["properties"]["note"],
            walked["properties"]["points"]) == ("worker", "夜间巡查", 3)
    again = worker.post("/patrols", json=sent)  # sent again, on a weak signal
    assert again.status_code == 200 and again.json()["id"] == walked["id"]
    described = httpx.get(f"{server}/openapi.json").json()["paths"]["/api/v1/patrols"]["post"]
    assert [list(described["responses"][status]["content"]) for status in ("200", "201")] == [
        ["application/geo+json"]] * 2
    listed = worker.get("/patrols", params={"grid": other}).json()["features"]
    assert [f["id"] for f in listed].count(walked["id"]) == 1

    def through(region: str) -> bool:  # listed as passing through a region (a code's prefix)
        r = clients["command"].get("/patrols", params={"region": region, "limit": 1000})
        return walked["id"] in [f["id"] for f in r.json()["features"]]

    village = own[:12]  # a grid's code begins with its village's
    assert through(village) and through(village[:9]) and through(village[:6])
    assert not through(village[:9] + "999") and not through(str(int(village[:9]) + 1))
    r = clients["chief"].post("/patrols", json={**_patrol(points), "client_id": sent["client_id"]})
    assert r.status_code == 409 and r.json()["detail"][0]["loc"] == ["body", "client_id"]


def test_a_patrol_is_read_by_its_walker_its_grids_chiefs_and_centres_alone(clients, walk):
    points, (own, _), _ = walk
    walked = clients["worker"].post("/patrols", json=_patrol(points)).json()

    def reads(username) -> bool:
        r = clients[username].get("/patrols", params={"grid": own, "limit": 1000})
        assert r.status_code == 200
        return walked["id"] in [f["id"] for f in r.json()["features"]]

    assert all(reads(who) for who in ("worker", "chief", "command", "township_command",
                                      "city", "admin"))
    for who in ("planner", "department"):
        assert clients[who].get("/patrols").status_code == 403
    for who in ("command", "department", "planner"):
        assert clients[who].post("/patrols", json=_patrol(points)).status_code == 403
    # the chief's own patrol, outside every grid of theirs, is not the worker's to read
    far = [[points[0][0] + 0.5, points[0][1]], [points[0][0] + 0.501, points[0][1]]]
    chiefs = clients["chief"].post("/patrols", json=_patrol(far)).json()
    assert chiefs["properties"]["grids"] == []
    assert chiefs["id"] not in [f["id"] for f in clients["worker"].get(
        "/patrols", params={"limit": 1000}).json()["features"]]
    assert chiefs["id"] in [f["id"] for f in clients["chief"].get(
        "/patrols", params={"limit": 1000}).json()["features"]]


def test_patrols_are_listed_by_when_they_ended(clients, walk):
    worker = clients["worker"]
    points = walk[0]
    ended = datetime(2026, 11, 3, 18, 0, tzinfo=timezone(timedelta(hours=8)))
    old = worker.post("/patrols", json=_patrol(
        points, started_at=(ended - timedelta(hours=2)).isoformat(),
        ended_at=ended.isoformat())).json()
    day = {"from": "2026-11-03T00:00:00+08:00", "to": "2026-11-04T00:00:00+08:00"}
    assert [f["id"] for f in worker.get("/patrols", params=day).json()["features"]] == [
        old["id"]]
    assert old["id"] not in [f["id"] for f in worker.get(
        "/patrols", params={"from": "2026-11-04"}).json()["features"]]


def test_patrols_are_listed_by_when_they_came(clients, walk):
    """A patrol sent by a phone days after it ended (no signal meanwhile) is among those that
    came since a moment before it was sent, not among those that came after."""
    worker = clients["worker"]
    before = datetime.now(timezone.utc)
    late = worker.post("/patrols", json=_patrol(walk[0], before - timedelta(days=3))).json()
    after = datetime.now(timezone.utc)

    def came_from(moment: datetime) -> list[int]:
        r = worker.get("/patrols", params={"received_from": moment.isoformat(), "limit": 1000})
        assert r.status_code == 200, r.text
        return [f["id"] for f in r.json()["features"]]

    assert late["id"] in came_from(before - timedelta(seconds=1))
    assert late["id"] not in came_from(after + timedelta(seconds=1))
    assert late["id"] not in [f["id"] for f in worker.get(
        "/patrols", params={"from": before.isoformat()}).json()["features"]]  # ended before
    r = worker.get("/patrols", params={"received_from": "yesterday"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "received_from"]


def test_a_patrol_from_a_phone_whose_clock_runs_ahead_ends_when_it_comes(clients, walk):
    """Sent from a phone a year ahead: stored, not refused (its walk would be lost), ending as it
    came and lasting as long as it did; listed among the patrols that ended today."""
    ahead = timedelta(days=365)
    before = datetime.now(timezone.utc)
    r = clients["worker"].post("/patrols", json=_patrol(walk[0], before + ahead))
    after = datetime.now(timezone.utc)
    assert r.status_code == 201, r.text
    walked = r.json()["properties"]
    ended = datetime.fromisoformat(walked["ended_at"])
    assert before <= ended <= after
    assert ended - datetime.fromisoformat(walked["started_at"]) == timedelta(hours=1)
    today = clients["worker"].get("/patrols", params={"from": before.isoformat()}).json()
    assert r.json()["id"] in [f["id"] for f in today["features"]]


def test_patrols_are_listed_by_where_their_track_goes(clients, walk):
    """A box a few metres wide on the track's last leg finds it; one 20 m beside that leg
    (inside the box of the track's ends) does not; a bad box is named."""
    worker = clients["worker"]
    points = walk[0]
    sent = worker.post("/patrols", json=_patrol(points, ended=datetime(
        2026, 11, 5, 9, 0, tzinfo=timezone.utc))).json()
    day = {"from": "2026-11-05", "to": "2026-11-06"}
    (x1, y1), (x2, y2) = points[1], points[2]
    on = ((x1 + x2) / 2, (y1 + y2) / 2)
    across = 20 / 102_000 / math.hypot(x2 - x1, y2 - y1)
    beside = max(((on[0] - side * (y2 - y1) * across, on[1] + side * (x2 - x1) * across)
                  for side in (1, -1)), key=lambda p: LineString(points).distance(shapely.Point(p)))
    assert LineString(points).distance(shapely.Point(beside)) > 1e-4

    def found(x, y) -> list[int]:
        box = ",".join(str(v) for v in (x - 2e-5, y - 2e-5, x + 2e-5, y + 2e-5))
        return [f["id"] for f in worker.get("/patrols", params={**day, "bbox": box}).json()[
            "features"]]

    assert found(*on) == [sent["id"]] and found(*beside) == []
    r = worker.get("/patrols", params={"bbox": "1,2,3"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "bbox"]


@pytest.mark.parametrize("change,loc", [
    ({"points": [[115.0, 23.0]]}, ["body", "points"]),
    ({"points": [[115.0, 23.0], [115.0, 95.0]]}, ["body", "points", 1, 1]),
    ({"points": [[115.0, 23.0], [181.0, 23.0]]}, ["body", "points", 1, 0]),
    ({"points": [[115.0, 23.0], [115.0, float("nan")]]}, ["body", "points", 1, 1]),
    ({"points": [[115.0, 23.0], [True, 23.0]]}, ["body", "points", 1, 0]),
    ({"started_at": "2026-11-03T10:00:00+08:00", "ended_at": "2026-11-03T09:00:00+08:00"},
     ["body", "ended_at"]),
    ({"started_at": "2026-11-01T10:00:00+08:00", "ended_at": "2026-11-03T09:00:00+08:00"},
     ["body", "ended_at"]),
    ({"client_id": "not-a-uuid"}, ["body", "client_id"]),
])
def test_a_bad_patrol_is_refused_naming_the_field_and_nothing_is_stored(clients, db, change,
                                                                        loc):
    from sqlalchemy import text

    with db.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM patrol")).scalar_one()
    r = clients["worker"].post("/patrols", content=json.dumps(
        {**_patrol([[115.0, 23.0], [115.001, 23.0]]), **change}),
        headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrol")).scalar_one() == before


def test_a_patrol_is_a_record_of_work_done_never_changed(clients, walk, database_url):
    walked = clients["worker"].post("/patrols", json=_patrol(walk[0])).json()
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        for statement in ("UPDATE patrol SET length_m = 0 WHERE id = %s",
                          "DELETE FROM patrol_grid WHERE patrol_id = %s"):
            with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
                with conn.transaction():
                    conn.execute(statement, (walked["id"],))


def test_the_grids_no_patrol_passed_through_lately_are_counted(clients, accounts, grids, walk):
    points, (own, _), (other, _) = walk
    chief = clients["chief"]  # the grids of the worker's village
    codes = accounts["chief"][1]["grid_codes"]
    before = chief.get("/patrols/coverage", params={"days": 1}).json()
    assert before["grids"] == len(codes)
    clients["worker"].post("/patrols", json=_patrol(points))  # through both grids, now
    after = chief.get("/patrols/coverage", params={"days": 1}).json()
    assert after["unpatrolled"] == len(codes) - 2
    unwalked = {g["code"] for g in after["longest_unpatrolled"]}
    assert not unwalked & {own, other} and len(unwalked) == min(len(codes) - 2, 20)
    county = clients["command"].get("/patrols/coverage",
                                    params={"days": 1, "region": own[:12]}).json()
    assert (county["grids"], county["unpatrolled"]) == (len(codes), len(codes) - 2)

    # a patrol sent late, three days after it ended, through a grid of the next village
    township = own[:9]
    code, area = next((c, g) for c, g in zip(grids["code"], grids.geometry)
                      if c.startswith(township) and c[:12] != own[:12])
    spot = area.representative_point()
    total = int(grids["code"].str.startswith(township).sum())
    ended = datetime.now(timezone.utc) - timedelta(days=3)
    r = clients["worker"].post("/patrols", json=_patrol(
        [[spot.x, spot.y], [spot.x + 1e-6, spot.y]], ended=ended))
    assert r.status_code == 201, r.text

    def lately(days: int) -> tuple[int, dict]:
        shown = clients["command"].get("/patrols/coverage",
                                       params={"days": days, "region": township}).json()
        assert shown["grids"] == total
        assert shown["unpatrolled"] <= 20  # all of them listed
        return shown["unpatrolled"], {g["code"]: g["last_patrolled"]
                                      for g in shown["longest_unpatrolled"]}

    (one_day, listed), (week, listed_week) = lately(1), lately(7)
    assert datetime.fromisoformat(listed[code]) == ended
    assert week == one_day - 1 and code not in listed_week
    board = clients["command"].get("/stats/board", params={
        "level": "township", "code": township, "visit_days": 7}).json()  # the wall's panel
    assert board["patrols"] == {"days": 7, "grids": total, "patrolled": total - week}
    assert clients["command"].get("/patrols/coverage",
                                  params={"region": "420106"}).status_code == 404
    assert clients["department"].get("/patrols/coverage").status_code == 403


def test_a_patrols_track_is_erased_once_its_days_are_over_and_what_it_proved_stays(clients,
                                                                                   walk, db):
    """Where a worker walked (行踪轨迹, sensitive under PIPL) is kept 180 days
    (MAPSVC_PRIVACY_TRACK_DAYS): the service erases older tracks as it runs (at its start, then
    hourly), keeping each patrol's times, length and grids; a younger track is kept whole, and
    nothing else of a patrol may change."""
    worker, points = clients["worker"], walk[0]
    now = datetime.now(timezone.utc)
    old, young = (worker.post("/patrols", json=_patrol(points, ended=now - timedelta(days=d)))
                  .json() for d in (181, 179))
    served = Server("track-erasing").start()
    try:
        for _ in range(300):
            with db.connect() as conn:
                if conn.execute(text("SELECT track IS NULL FROM patrol WHERE id = :i"),
                                {"i": old["id"]}).scalar_one():
                    break
            time.sleep(0.1)
    finally:
        served.stop()
    listed = {f["id"]: f for f in worker.get("/patrols", params={
        "from": (now - timedelta(days=200)).isoformat(), "limit": 1000}).json()["features"]}
    erased = listed[old["id"]]
    assert erased["geometry"] is None
    assert {k: erased["properties"][k] for k in ("started_at", "ended_at", "length_m", "grids")} \
        == {k: old["properties"][k] for k in ("started_at", "ended_at", "length_m", "grids")}
    assert listed[young["id"]]["geometry"] == young["geometry"] is not None
    for change in ("UPDATE patrol SET length_m = 0 WHERE id = :i",
                   "UPDATE patrol SET track = NULL, note = 'x' WHERE id = :i",
                   "UPDATE patrol SET track = ST_Reverse(track) WHERE id = :i",
                   "DELETE FROM patrol_grid WHERE patrol_id = :i",
                   "DELETE FROM patrol WHERE id = :i"):  # a patrol is otherwise kept as it came
        with db.begin() as conn, pytest.raises(Exception, match="records of work done"):
            conn.execute(text(change), {"i": young["id"]})
