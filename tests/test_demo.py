"""The demo: its hierarchy (real county polygons and names, synthetic geometry that nests
exactly), and the whole demo as `make demo` loads it."""

import json
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import psycopg
import pytest
import shapely
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from mapsvc.boundaries.synthetic import DATA, generate, seed_counties
from mapsvc.cli import app
from mapsvc.db.cluster import Cluster
from mapsvc.demo import CENTRE_STAFF, HOT_SHARE, LOOP
from mapsvc.settings import ClusterSettings
from mapsvc.workflow.machine import STATES
from tests.conftest import Server
from tests.test_live import _follow, _wait


def test_generation_is_deterministic(hierarchy):
    again = generate(400, ["441502", "420106"])
    for level, frame in hierarchy.levels().items():
        other = again.levels()[level]
        assert list(frame["code"]) == list(other["code"])
        assert all(shapely.equals_exact(frame.geometry.values, other.geometry.values, 0))


def test_grids_tile_each_village_with_no_gap_and_no_overlap(hierarchy):
    grids, villages = hierarchy.grids, hierarchy.villages.set_index("code")
    assert shapely.coverage_is_valid(grids.geometry.values)  # no overlap, edges shared exactly
    for code, group in grids.groupby("parent_code"):
        union = shapely.coverage_union_all(group.geometry.values)
        village = villages.geometry[code]
        assert shapely.symmetric_difference(union, village).area < 1e-14
        assert abs(shapely.area(group.geometry.values).sum() - village.area) < 1e-14


def test_each_level_nests_in_its_parent_and_counties_are_the_real_polygons(hierarchy):
    real = seed_counties().set_index("code")
    for _, county in hierarchy.counties.iterrows():
        assert shapely.equals(county.geometry, real.geometry[county.code])
    # the real cities of the counties, coded by their 4 digits, each holding its counties
    real_cities = gpd.read_file(DATA / "cities.geojson").set_index("adcode")
    assert dict(zip(hierarchy.cities["code"], hierarchy.cities["name"])) == {
        "4201": "武汉市", "4415": "汕尾市"}
    for city in hierarchy.cities.itertuples():
        assert shapely.equals(city.geometry, real_cities.geometry[city.code + "00"])
        for county in hierarchy.counties[hierarchy.counties["code"].str[:4] == city.code].geometry:
            assert shapely.difference(county, city.geometry).area < 1e-12
    parents = {"township": hierarchy.counties, "village": hierarchy.townships,
               "grid": hierarchy.villages}
    for level, parent_frame in parents.items():
        parent_geom = parent_frame.set_index("code").geometry
        children = hierarchy.levels()[level]
        # nodes are rounded to 1e-9 degree: nothing sticks out by more than a millimetre
        assert all(shapely.difference(child.geometry,
                                      parent_geom[child.parent_code].buffer(1e-8)).is_empty
                   for child in children.itertuples())


def test_names_are_the_real_township_and_village_names_marked_synthetic(hierarchy):
    names = pd.read_csv(DATA / "villages.csv", dtype=str)
    real_villages = dict(zip(names["village_code"], names["village"]))
    for row in hierarchy.villages.itertuples():
        assert real_villages[row.code] == row.name and row.synthetic
    real_towns = dict(zip(names["township_code"], names["township"]))
    assert all(real_towns[t.code] == t.name for t in hierarchy.townships.itertuples())
    assert hierarchy.grids["synthetic"].all()
    assert set(hierarchy.villages["code"]) == set(
        names.loc[names["county_adcode"].isin(["441502", "420106"]), "village_code"])


def test_grid_codes_extend_their_village_code():
    h = generate(300, ["420302"])
    assert all(g.code.startswith(g.parent_code) and len(g.code) == 15
               for g in h.grids.itertuples())


@pytest.mark.parametrize("n", [3000, 65000])
def test_any_size_is_generated_on_request(n):
    h = generate(n)
    assert len(h.grids) == n
    assert h.grids["code"].is_unique
    assert h.grids.geometry.is_valid.all()
    for _, group in h.grids.groupby(h.grids["code"].str[:6]):
        assert shapely.coverage_is_valid(group.geometry.values)


def test_the_cli_writes_the_five_levels(tmp_path):
    result = CliRunner().invoke(app, ["demo", "generate", "--grids", "2500", str(tmp_path)])
    assert result.exit_code == 0, result.output
    levels = {p.stem: gpd.read_file(p) for p in tmp_path.glob("*.gpkg")}
    assert set(levels) == {"city", "county", "township", "village", "grid"}
    assert len(levels["city"]) == 6 and len(levels["county"]) == 10
    assert len(levels["grid"]) == 2500


def _cli(*args: str) -> str:
    done = subprocess.run([Path(sys.executable).with_name("mapsvc"), *args], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.long
def test_the_demo_loads_once_with_cases_in_every_state_of_the_loop(database_url, monkeypatch):
    """What `make demo` loads, in a database of its own: the demo's command centre signs in with
    the demo password and finds cases in every state of the loop, closed and rated, some
    overdue; every grid of its county has a worker, most grids patrolled this month (the demo
    worker round its grids in the last hours), a few not, households visited, and the public's
    reports verified and the departments' work checked by the workers, some in time, a campaign
    under way; a second load changes nothing."""
    Cluster(ClusterSettings()).ensure_database("mapsvc_test_demo", fresh=True)
    monkeypatch.setenv("MAPSVC_DATABASE_NAME", "mapsvc_test_demo")
    monkeypatch.delenv("MAPSVC_DEMO_PASSWORD", raising=False)
    _cli("db", "upgrade")
    assert "incident: 3000" in _cli("demo", "load", "--grids", "300", "--incidents", "3000")
    served = Server("demo-server").start()
    try:
        token = httpx.post(f"{served.base}/api/v1/auth/token", data={
            "username": "command", "password": "Demo-2026"}).json()["access_token"]
        api = httpx.Client(base_url=f"{served.base}/api/v1",
                           headers={"Authorization": f"Bearer {token}"})
        board = api.get("/stats/board").json()
        assert board["open"] > 0
        assert 1 <= board["year"]["satisfaction"] <= 5
        # its follow-ups asked whether the problem was resolved: some said not
        assert 0 < board["year"]["satisfied_rate"] < 1 and 0 < board["year"]["resolved_rate"] < 1
        # the department told the public's callers it had their case, some later than a day
        assert 0 < board["year"]["response_rate"] < 1
        # and some of their callers called again
        assert 0 < board["year"]["urged_rate"] < 1
        # its department asked to take three of its public cases out of the evaluation (申诉):
        # one taken out, one not, one waiting on the centre
        waiting = api.get("/incidents", params={"exemption": "requested"}).json()["features"]
        assert [f["properties"]["status"] for f in waiting] == ["evaluated"]
        # its departments took most cases on in time (签收), some not
        since = (datetime.now(timezone(timedelta(hours=8))).date() - timedelta(days=90))
        county = api.get("/stats", params={"level": "county", "code": "441502",
                                           "from": since.isoformat()}).json()["figures"]
        assert 0 < county["on_time_accept_rate"] < 1
        # and most cases closed were done the first time they were sent, some not (一次完成率)
        assert 0 < county["first_time_rate"] < 1
        assert board["year"]["on_time_closure_rate"] is not None
        assert board["overdue"] > 0  # cases taken through the loop over the last days
        closed = api.get("/incidents", params={"status": "closed", "limit": 1}).json()
        steps = api.get(f"/incidents/{closed['features'][0]['id']}/timeline").json()
        times = [step["at"] for step in steps]  # each step at the time it was taken
        assert times == sorted(times) and len({t[:13] for t in times[1:]}) > 1
        # and come then, as in a service in use: none said to have come late (送达) as the
        # demo loaded, the case not received after it was reported
        assert [step["received_at"] for step in steps] == [None] * len(steps)
        case = api.get(f"/incidents/{closed['features'][0]['id']}").json()
        assert case["received_at"] == case["reported_at"], case
        last = datetime.fromisoformat(steps[-1]["at"])  # when its last step was taken
        assert datetime.fromisoformat(case["updated_at"]) == last, case

        # staffed: a worker for every grid of the county; most grids patrolled this month,
        # the demo worker round its grids in the last day; households visited
        with psycopg.connect(make_url(database_url).set(database="mapsvc_test_demo")
                             .render_as_string(False).replace("+psycopg", "")) as db:
            unstaffed = db.execute("""
                SELECT count(*) FROM grid g WHERE g.village_code LIKE '441502%' AND NOT EXISTS (
                       SELECT 1 FROM account_grid ag JOIN account a ON a.id = ag.account_id
                        WHERE ag.grid_id = g.id AND a.role = 'grid_worker')""").fetchone()[0]
            reporters = db.execute("""
                SELECT a.username, count(*) FROM incident i JOIN account a ON a.id = i.reporter_id
                 GROUP BY 1 ORDER BY 2 DESC""").fetchall()
            appeals = db.execute("""
                SELECT action, count(*) FROM incident_log WHERE action LIKE '%exempt%'
                 GROUP BY 1 ORDER BY 1""").fetchall()
            exempted = db.execute("SELECT count(*) FROM incident WHERE exempted_at IS NOT NULL"
                                  ).fetchone()[0]
            # the campaign's checks (and their hazards' cases) came in as they were made
            checks = [at for (at,) in db.execute("SELECT at FROM campaign_check ORDER BY id")]
        assert len(checks) > 10 and checks == sorted(checks)
        assert unstaffed == 0
        assert appeals == [("decline_exemption", 1), ("exempt", 1), ("request_exemption", 3)]
        assert exempted == 1
        assert 0 < board["patrols"]["patrolled"] < board["patrols"]["grids"]
        worker = httpx.post(f"{served.base}/api/v1/auth/token", data={
            "username": "worker", "password": "Demo-2026"}).json()["access_token"]
        mine = httpx.get(f"{served.base}/api/v1/patrols/coverage", params={"days": 1},
                         headers={"Authorization": f"Bearer {worker}"}).json()
        assert mine["grids"] > 0 and mine["unpatrolled"] == 0
        # the grid workers' own reports are theirs (the phone's 我的上报), as the timeline says
        (name, reported), *_ = reporters
        signed = {"Authorization": "Bearer " + httpx.post(
            f"{served.base}/api/v1/auth/token", data={
                "username": name, "password": "Demo-2026"}).json()["access_token"]}
        own = httpx.get(f"{served.base}/api/v1/incidents", params={"reporter": "me"},
                        headers=signed).json()["features"]
        assert len(own) == reported and {f["properties"]["source"] for f in own} == {
            "grid_worker"}
        first = httpx.get(f"{served.base}/api/v1/incidents/{own[0]['id']}/timeline",
                          headers=signed).json()[0]
        assert (first["action"], first["actor"]) == ("report", name)
        grids = api.get("/registry/grid-counts", params={"days": 30, "limit": 1000}).json()
        assert any(g["visited"] for g in grids)
        assert any(g["visited"] < g["households"] / 2 for g in grids)  # the wall marks these
        # the registry's grids divided into micro-grids, most led by one of their residents
        assert all(g["placed"] == g["households"] and bool(g["micro_grids"]) == bool(
            g["households"]) for g in grids)
        inhabited = next(g["grid"] for g in grids if g["households"])
        micro = api.get(f"/registry/grids/{inhabited}/micro-grids").json()
        assert not any(m["over"] for m in micro["micro_grids"])
        assert 0 < sum(bool(m["leader"]) for m in micro["micro_grids"]) < len(
            micro["micro_grids"])
        # a campaign under way: some grids done, some begun, some not; hazards found, each a
        # case in the grid of the thing
        (campaign,) = api.get("/campaigns").json()
        assert 0 < campaign["hazards"] < campaign["checked"] < campaign["targets"]
        (moved,) = api.get(f"/campaigns/{campaign['id']}/log").json()  # its date moved, why
        assert (moved["action"], moved["due"]) == ("due", campaign["due"]) and moved["reason"]
        progress = {(g["checked"] == g["targets"], g["checked"] == 0)
                    for g in api.get(f"/campaigns/{campaign['id']}/grids").json()}
        assert progress >= {(True, False), (False, True)}
        found = api.get(f"/campaigns/{campaign['id']}/targets",
                        params={"result": "hazard"}).json()["features"]
        cases = [api.get(f"/incidents/{f['properties']['incident']}").json() for f in found]
        assert [c["grid"]["code"] for c in cases] == [f["properties"]["grid"] for f in found]
        # checked over the days since it was made, each hazard reported as it was found
        assert [datetime.fromisoformat(c["reported_at"]) for c in cases] == [
            datetime.fromisoformat(f["properties"]["checked_at"]) for f in found]
        checked = [datetime.fromisoformat(f["properties"]["checked_at"]) for f in api.get(
            f"/campaigns/{campaign['id']}/targets", params={"limit": 1000}).json()["features"]
            if f["properties"]["checked_at"]]
        assert max(checked) - min(checked) > timedelta(days=1)
        assert min(checked) > datetime.fromisoformat(campaign["created_at"])
        shown = {s for s in STATES
                 if api.get("/incidents", params={"status": s, "limit": 1}).json()["features"]}
        assert shown == {"reported", "verifying", "filed", "dispatched", "in_progress",
                         "handled", "checking", "closed", "evaluated", "rejected"}
        urgent = api.get("/incidents", params={"urgent": "true", "limit": 100}).json()
        assert urgent["features"]  # some of the cases with a department marked urgent
        assert {f["properties"]["status"] for f in urgent["features"]} <= {"dispatched",
                                                                           "in_progress"}
        # some of the public's cases with a department were urged by their callers
        urged = api.get("/incidents", params={"urged": "true", "limit": 100}).json()["features"]
        assert urged and {f["properties"]["source"] for f in urged} <= {"hotline", "citizen"}
        # the centre's staff took the cases in, each at its pace, some sent astray and back
        since = (datetime.now(timezone.utc) - timedelta(days=365)).date().isoformat()
        staff = {r["code"]: r["figures"] for r in api.get("/stats", params={
            "by": "operator", "from": since}).json()["rows"]}
        assert all(staff[name]["taken_in"] > 0 for name in CENTRE_STAFF)
        assert (staff["zx01"]["intake_minutes_median"] < staff["zx02"]["intake_minutes_median"]
                < staff["zx03"]["intake_minutes_median"])  # their paces: 0.5, 1 and 2
        assert staff["zx03"]["redispatched"] > 0
        # the grid workers verified the public's reports and checked the departments' work on
        # site, each at its pace: some in time, some not, some findings still awaited
        workers = api.get("/stats", params={"by": "worker", "from": since}).json()["rows"]
        assert all(sum(r[kind][count] for r in workers) > 0 for kind, count in (
            ("verifies", "verified"), ("verifies", "lapsed"), ("checks", "checked")))
        due = [(sum(r[kind]["on_time"] for kind in ("verifies", "checks")),
                sum(r[kind]["due"] for kind in ("verifies", "checks"))) for r in workers]
        rates = [on_time / n for on_time, n in due if n >= 3]
        assert min(rates) < 0.5 < max(rates)  # on site in working hours, whenever it is loaded
        assert len({r["score"] for r in workers}) > 3
        assert sum(r["figures"]["reported"] for r in workers) > 0  # 有效上报率 counted

        # the public's reports say who called, masked; the grid workers' name no one
        for source, called in (("public", True), ("grid_worker", False)):
            case = api.get("/incidents", params={"source": source, "limit": 1}).json()
            caller = api.get(f"/incidents/{case['features'][0]['id']}").json()["caller"]
            assert (caller is not None) == called
            assert not called or (caller["name"].startswith("演*")
                                  and caller["phone"].startswith("100****"))

        # places where a class keeps coming: round one case in HOT_SHARE, of all the counties'
        admin = httpx.post(f"{served.base}/api/v1/auth/token", data={
            "username": "admin", "password": "Demo-2026"}).json()["access_token"]
        hot = httpx.get(f"{served.base}/api/v1/incidents/hotspots",
                        headers={"Authorization": f"Bearer {admin}"}).json()["features"]
        assert len(hot) >= 3000 // HOT_SHARE
        assert all(f["properties"]["cases"] >= 3 for f in hot)

        assert "demo already loaded" in _cli("demo", "load", "--grids", "300",
                                             "--incidents", "3000")
        assert api.get("/stats/board").json() == board

        # kept alive (as `make demo` does beside the server): the wall's feed shows each round's
        # report in the county and its case moved a step, as they happen
        found, stop = _follow(served.base, token)
        _wait(found, lambda e: e.get("event") == "ready", "ready event")
        said = _cli("demo", "live", "--every", "0", "--rounds", "3").splitlines()
        steps = [json.loads(e["data"]) for e in _wait_for(found, 6)]
        stop.set()
        reported = [s["feature"]["properties"] for s in steps if s["action"] == "report"]
        assert len(reported) == 3 and len(said) == 3
        assert all(api.get(f"/incidents/{s['feature']['id']}").json()["caller"]
                   for s in steps if s["action"] == "report")
        assert all(p["county"]["code"] == "441502" and p["method"] == "inside"
                   and p["source"] in ("hotline", "citizen") for p in reported)
        moved = [(s["feature"]["id"], s["action"]) for s in steps if s["action"] != "report"]
        assert [f"#{case} {action}" for case, action in moved] == [
            line.rpartition("; ")[2] for line in said]
        assert all(action in dict(LOOP) for _, action in moved)

        # 汕尾市's centre, above the demo county, sees its counties' cases together; a case of
        # 海丰县 dispatched naming no department goes to 海丰县's 城管, which answers for its
        # class there (负责类别)
        city = httpx.Client(base_url=f"{served.base}/api/v1", headers={
            "Authorization": "Bearer " + httpx.post(f"{served.base}/api/v1/auth/token", data={
                "username": "city", "password": "Demo-2026"}).json()["access_token"]})
        listed = httpx.get(f"{served.base}/api/v1/accounts", params={"limit": 1000},
                           headers={"Authorization": f"Bearer {admin}"}).json()
        assert {a["username"]: a["display_name"] for a in listed if a["username"] in (
            "command", "city")} == {"command": "城区指挥中心（演示）", "city": "汕尾市指挥中心（演示）"}
        above = city.get("/stats/board").json()
        assert (above["kind"], above["name"]) == ("city", "汕尾市")
        assert above["open"] > api.get("/stats/board").json()["open"]
        # its other counties' cases taken through the loop by it too, to their 城管: its
        # evaluation compares its three counties, each with cases closed and rated, some open
        counties = {r["code"]: r["figures"] for r in city.get("/stats", params={
            "from": (datetime.now(timezone.utc) - timedelta(days=60)).date().isoformat()}
        ).json()["rows"]}
        assert set(counties) == {"441502", "441521", "441581"}
        for figures in counties.values():
            assert 0 < figures["closed"] < figures["filed"] < figures["reported"], figures
            assert figures["rated"] > 0 and figures["on_time_closure_rate"] is not None
        waiting = city.get("/incidents", params={"county": "441521", "status": "reported",
                                                 "limit": 1000}).json()["features"]
        assert len(waiting) < counties["441521"]["reported"] / 10  # the last day's, mostly
        grid = city.get("/grids", params={"parent": "441521", "limit": 1}).json()["features"][0]
        spot = shapely.geometry.shape(grid["geometry"]).representative_point()
        case = city.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "0601",
                                             "lon": spot.x, "lat": spot.y}).json()["id"]
        for action in ("file", "dispatch"):
            assert city.post(f"/incidents/{case}/actions/{action}", json={}).status_code == 200
        assert city.get(f"/incidents/{case}").json()["department"] == "441521-CG"

        # the registry's day-to-day work, each step in the audit log the auditor reads
        auditor = httpx.post(f"{served.base}/api/v1/auth/token", data={
            "username": "auditor", "password": "Demo-2026"}).json()["access_token"]
        logged = httpx.get(f"{served.base}/api/v1/audit", headers={
            "Authorization": f"Bearer {auditor}"}).json()
        assert sorted((e["username"], e["action"]) for e in logged) == [
            ("command", "export"), ("command", "lookup"), ("grid_chief", "correct"),
            ("grid_chief", "departure"), ("worker", "reveal"), ("worker", "reveal"),
            ("worker", "reveal")]
        assert all(e["reason"] for e in logged)

        # each other city's centre has taken its counties' cases through the loop the same
        # way: the whole deployment's evaluation compares its six cities, each with cases
        # closed and rated, and few left waiting
        wuhan = httpx.post(f"{served.base}/api/v1/auth/token", data={
            "username": "city4201", "password": "Demo-2026"}).json()["access_token"]
        assert httpx.get(f"{served.base}/api/v1/stats/board", headers={
            "Authorization": f"Bearer {wuhan}"}).json()["name"] == "武汉市"
        cities = {r["name"]: r["figures"] for r in httpx.get(
            f"{served.base}/api/v1/stats", headers={"Authorization": f"Bearer {admin}"},
            params={"from": (datetime.now(timezone.utc) - timedelta(days=60)).date().isoformat()}
        ).json()["rows"]}
        assert set(cities) == {"鞍山市", "汕尾市", "武汉市", "十堰市", "黄石市", "黄冈市"}
        for figures in cities.values():
            assert 0 < figures["closed"] < figures["filed"] < figures["reported"], figures
            assert figures["rated"] > 0
        waiting = httpx.get(f"{served.base}/api/v1/stats/board", headers={
            "Authorization": f"Bearer {admin}"}).json()["waiting"]
        assert 0 < waiting < sum(f["reported"] for f in cities.values()) / 10
    finally:
        served.stop()


def _wait_for(found: list, n: int) -> list:
    """The first ``n`` steps the feed said."""
    for _ in range(600):
        steps = [e for e in list(found) if e.get("event") == "step"]
        if len(steps) >= n:
            return steps[:n]
        time.sleep(0.05)
    raise AssertionError(f"{n} steps never came: {found}")


def test_a_demo_password_its_accounts_may_not_have_is_refused(database_url):
    result = CliRunner().invoke(app, ["demo", "load"], env={"MAPSVC_DEMO_PASSWORD": "demo"})
    assert result.exit_code == 2
    assert "--password (MAPSVC_DEMO_PASSWORD): must be at least 8 characters" in result.output
