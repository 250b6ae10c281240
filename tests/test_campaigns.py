"""Campaigns (专项排查): a centre sends its workers to check every place of a kind in its
region by a date; each worker checks those of its grids, a hazard reported as a case; the
centre follows each grid's progress."""

import csv
import io
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import morecantile
import pytest
import shapely
from pyproj import Geod
from sqlalchemy import text

from tests.browser import Watch, sign_in, wait_until
from tests.conftest import ARTIFACTS, new_account, registered, signed_in_client
from tests.test_phone import _phone, _signal_back
from tests.test_stats_page import _asked, _row, evaluation  # noqa: F401 (a fixture)
from tests.test_tiles import _features


@pytest.fixture
def kind() -> str:
    """A kind of place of a test's own: its campaign checks no other test's places."""
    return f"测试场所{uuid.uuid4().hex[:6]}"


@pytest.fixture
def places(clients, grids, accounts, kind, db):
    """Places of ``kind``: two in the worker's grid, one in another village of 城区, one in
    武昌区 (outside 城区's centre's region); their ids by where."""
    mine = accounts["worker"][1]["grid_codes"][0]
    chief = set(accounts["chief"][1]["grid_codes"])
    other = grids[grids["code"].str.startswith("441502") & ~grids["code"].isin(chief)].iloc[3]
    wuchang = grids[grids["code"].str.startswith("420106")].iloc[7]
    spots = [grids[grids["code"] == mine].geometry.iloc[0].representative_point()] * 2 + [
        other.geometry.representative_point(), wuchang.geometry.representative_point()]
    names = ["东门菜场", "西门菜场", "南门菜场", "武昌菜场"]
    registered(clients["admin"], "places", [{"name": f"{name}{kind[-6:]}", "kind": kind,
                                             "lon": p.x, "lat": p.y}
                                            for name, p in zip(names, spots)])
    with db.connect() as conn:
        ids = {name[:4]: str(id) for id, name in conn.execute(text(
            "SELECT id, name FROM place WHERE kind = :kind"), {"kind": kind})}
    return {"ids": ids, "mine": mine, "other": other.code}


def campaign_body(kind: str, **overrides) -> dict:
    return {"client_id": str(uuid.uuid4()), "title": "汛期前农贸市场安全排查",
            "instructions": "查消防通道、燃气瓶、电线", "layer": "places", "kind": kind,
            "due": (date.today() + timedelta(days=7)).isoformat(), **overrides}


def test_a_campaign_checks_what_its_region_held_of_its_kind_and_counts_each_grid(
        clients, places, kind, db):
    command, worker = clients["command"], clients["worker"]
    body = campaign_body(kind)
    r = command.post("/campaigns", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["targets"], made["checked"], made["hazards"]) == (3, 0, 0)  # not 武昌区's
    assert (made["region_code"], made["region_name"], made["kind_name"]) == (
        "441502", "城区", kind)
    again = command.post("/campaigns", json=body)
    assert again.status_code == 200 and again.json()["id"] == made["id"]
    # taken when made: a place of the kind registered since is not the campaign's
    registered(clients["admin"], "places", [{"name": f"新菜场{kind[-6:]}", "kind": kind,
                                             "lon": 115.37, "lat": 22.78}])
    assert command.get(f"/campaigns/{made['id']}").json()["targets"] == 3

    # the worker reads what is in its grid alone
    listed = {c["id"]: c for c in worker.get("/campaigns").json()}
    assert listed[made["id"]]["targets"] == 2
    features = worker.get(f"/campaigns/{made['id']}/targets").json()["features"]
    assert sorted(f["properties"]["name"][:4] for f in features) == ["东门菜场", "西门菜场"]
    assert {f["properties"]["grid"] for f in features} == {places["mine"]}

    east, west, south = (places["ids"][n] for n in ("东门菜场", "西门菜场", "南门菜场"))
    fine = {"client_id": str(uuid.uuid4()), "target": east, "result": "normal",
            "note": "=1+1 无异常", "at": "2020-01-01T09:00:00+08:00"}  # a clock far wrong
    r = worker.post(f"/campaigns/{made['id']}/checks", json=fine)
    assert r.status_code == 201 and r.json()["properties"]["result"] == "normal"
    assert datetime.fromisoformat(r.json()["properties"]["checked_at"]) == datetime.fromisoformat(
        made["created_at"])  # not before the campaign was made
    assert worker.post(f"/campaigns/{made['id']}/checks", json=fine).status_code == 200
    hazard = {"client_id": str(uuid.uuid4()), "target": west, "result": "hazard",
              "note": "消防通道堵塞", "at": fine["at"]}
    r = worker.post(f"/campaigns/{made['id']}/checks", json=hazard)  # of no class
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "category", r.text
    hazard["category"] = "0601"
    with ThreadPoolExecutor(2) as both:  # sent twice at once (a retry racing the first)
        answers = list(both.map(lambda _: worker.post(f"/campaigns/{made['id']}/checks",
                                                      json=hazard), range(2)))
    assert sorted(r.status_code for r in answers) == [200, 201], [r.text for r in answers]
    assert answers[0].json() == answers[1].json()
    case = answers[0].json()["properties"]["incident"]
    reported = clients["admin"].get(f"/incidents/{case}").json()
    assert reported["grid"]["code"] == places["mine"]
    assert reported["description"] == f"专项排查「汛期前农贸市场安全排查」：西门菜场{kind[-6:]}。消防通道堵塞"
    # reported when the check was made: not before the campaign was, as the check says
    assert datetime.fromisoformat(reported["reported_at"]) == datetime.fromisoformat(
        answers[0].json()["properties"]["checked_at"]) == datetime.fromisoformat(
        made["created_at"])
    r = worker.post(f"/campaigns/{made['id']}/checks", json={**hazard, "result": "normal"})
    assert r.status_code == 409 and r.json()["detail"][0]["loc"][-1] == "client_id"
    with db.connect() as conn:  # sent twice: one check, one case
        assert conn.execute(text(
            "SELECT count(*), count(DISTINCT incident_id) FROM campaign_check "
            "WHERE campaign_id = :id"), {"id": made["id"]}).one() == (2, 1)
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id = :c"),
                            {"c": hazard["client_id"]}).scalar_one() == 1
    r = worker.post(f"/campaigns/{made['id']}/checks", json={**fine, "target": south,
                                                                "client_id": str(uuid.uuid4())})
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "target"

    # the centre: each grid, the least checked first
    assert command.get(f"/campaigns/{made['id']}").json() == {**made, "checked": 2, "hazards": 1}
    rows = command.get(f"/campaigns/{made['id']}/grids").json()
    assert [(g["code"], g["targets"], g["checked"], g["hazards"]) for g in rows] == [
        (places["other"], 1, 0, 0), (places["mine"], 2, 2, 1)]
    unchecked = command.get(f"/campaigns/{made['id']}/targets", params={"result": "none"}).json()
    assert [f["id"] for f in unchecked["features"]] == [south]
    assert unchecked["numberMatched"] == 1

    r = command.get(f"/campaigns/{made['id']}/targets.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    sheet = {row["编号"]: row for row in csv.DictReader(io.StringIO(
        r.content.decode("utf-8-sig"), newline=""))}
    assert [(sheet[t]["网格编码"], sheet[t]["排查结果"], sheet[t]["情况"], sheet[t]["排查人"],
             sheet[t]["案件编号"]) for t in (east, west, south)] == [
        (places["mine"], "正常", "'=1+1 无异常", "worker", ""),  # a formula kept as text
        (places["mine"], "存在隐患", "消防通道堵塞", "worker", str(case)),
        (places["other"], "未排查", "", "", "")]
    assert worker.get(f"/campaigns/{made['id']}/targets.csv").text.count("\n") == 3  # 2 + head

    # the hazard put right and checked again: it stands right
    r = worker.post(f"/campaigns/{made['id']}/checks", json={
        "client_id": str(uuid.uuid4()), "target": west, "result": "normal", "note": "已清理"})
    assert r.status_code == 201
    assert command.get(f"/campaigns/{made['id']}").json()["hazards"] == 0


def test_a_place_closed_before_it_was_checked_is_due_no_more_until_it_reopens(clients, places,
                                                                              kind):
    """Two places of a campaign closed (注销、停业): the one never checked leaves the things the
    campaign checks (its counts, its grids, the worker's things to check, its ledger), the one
    checked before stays checked; the first reopened is due again."""
    command, worker = clients["command"], clients["worker"]
    made = command.post("/campaigns", json=campaign_body(kind)).json()
    east, west, south = (places["ids"][n] for n in ("东门菜场", "西门菜场", "南门菜场"))
    assert worker.post(f"/campaigns/{made['id']}/checks", json={
        "client_id": str(uuid.uuid4()), "target": east, "result": "normal"}).status_code == 201

    def closed(place, shut: bool) -> None:
        r = command.patch(f"/registry/places/{place}", json={"closed": shut})
        assert r.status_code == 200, r.text

    def standing() -> tuple:
        counted = command.get(f"/campaigns/{made['id']}").json()
        grids = {g["code"]: (g["targets"], g["checked"])
                 for g in command.get(f"/campaigns/{made['id']}/grids").json()}
        to_check = [f["id"] for f in worker.get(f"/campaigns/{made['id']}/targets",
                                                params={"result": "none"}).json()["features"]]
        sheet = command.get(f"/campaigns/{made['id']}/targets.csv").content.decode("utf-8-sig")
        ledger = sorted(row["编号"] for row in csv.DictReader(io.StringIO(sheet, newline="")))
        return (counted["targets"], counted["checked"]), grids, to_check, ledger

    before = standing()
    assert before == ((3, 1), {places["mine"]: (2, 1), places["other"]: (1, 0)}, [west],
                      sorted([east, west, south]))
    closed(east, True)
    closed(west, True)
    assert standing() == ((2, 1), {places["mine"]: (1, 1), places["other"]: (1, 0)}, [],
                          sorted([east, south]))
    closed(west, False)
    assert standing() == before


def test_a_component_the_census_says_removed_before_it_was_checked_is_due_no_more(
        clients, places, db):
    """The component census imported again: a component it says removed (拆除) by the
    campaign's due day and never checked leaves the campaign's things, one checked before stays
    checked; said there again, it is due again. The census sent again changes nothing."""
    command, worker = clients["command"], clients["worker"]
    kind = f"9{uuid.uuid4().int % 1000:03d}"  # a component type of this test's own
    ids = [f"441502{kind}{n:06d}" for n in range(1, 4)]
    with db.connect() as conn:
        points = [shapely.from_wkt(conn.execute(text(
            "SELECT ST_AsText(ST_PointOnSurface(v.geom)) FROM grid g JOIN grid_version v "
            "ON v.grid_id = g.id AND v.valid_to IS NULL WHERE g.code = :c"), {"c": code}
            ).scalar_one()) for code in (places["mine"], places["mine"], places["other"])]

    def census(*states: str) -> dict:
        return registered(clients["admin"], "things", [
            {"component_id": i, "name": "消火栓", "lon": p.x, "lat": p.y, "state": state}
            for i, p, state in zip(ids, points, states)])
    assert census("normal", "normal", "damaged")["stored"] == 3
    made = command.post("/campaigns", json=campaign_body(kind, layer="things")).json()
    assert made["targets"] == 3
    assert worker.post(f"/campaigns/{made['id']}/checks", json={
        "client_id": str(uuid.uuid4()), "target": ids[0], "result": "normal"}).status_code == 201

    def standing() -> tuple:
        counted = command.get(f"/campaigns/{made['id']}").json()
        to_check = [f["id"] for f in worker.get(f"/campaigns/{made['id']}/targets",
                                                params={"result": "none"}).json()["features"]]
        return counted["targets"], counted["checked"], to_check

    tile = morecantile.tms.get("WebMercatorQuad").tile(points[0].x, points[0].y, 16)

    def seen() -> tuple:
        """The grid's count of components, and those of the census on the map."""
        [grid] = [g for g in command.get("/registry/grid-counts", params={
            "parent": places["mine"][:12], "limit": 1000}).json() if g["grid"] == places["mine"]]
        return grid["things"], sorted(f["properties"]["component_id"] for f in _features(
            command, "things", tile) if f["properties"]["component_id"] in ids)

    assert standing() == (3, 1, [ids[1]])
    there = seen()
    assert there[1] == ids[:2]
    removed = census("removed", "removed", "damaged")
    assert (removed["stored"], removed["updated"]) == (0, 2)
    with db.connect() as conn:
        days = dict(conn.execute(text("SELECT component_id, removed_on FROM thing "
                                      "WHERE component_id = ANY(:ids)"), {"ids": ids}).all())
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert days == {ids[0]: today, ids[1]: today, ids[2]: None}
    assert standing() == (2, 1, []) and seen() == (there[0] - 2, [])  # off the map, uncounted
    assert census("removed", "removed", "damaged")["updated"] == 0
    assert census("removed", "normal", "damaged")["updated"] == 1
    assert standing() == (3, 1, [ids[1]]) and seen() == (there[0] - 1, [ids[1]])


def test_a_campaign_is_made_within_the_makers_region_of_what_there_is(clients, places, kind,
                                                                     db):
    command = clients["command"]
    outside = campaign_body(kind, region="420106")
    r = command.post("/campaigns", json=outside)
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "region"
    r = clients["city"].post("/campaigns", json=campaign_body(kind, region="219090"))
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "region"  # none such
    nothing = campaign_body(f"{kind}无")
    r = command.post("/campaigns", json=nothing)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "kind"
    with db.connect() as conn:  # refused whole: no campaign without its things
        assert conn.execute(text("SELECT count(*) FROM campaign WHERE client_id IN (:a, :b)"),
                            {"a": outside["client_id"], "b": nothing["client_id"]}
                            ).scalar_one() == 0
    for field, value in (("due", (date.today() - timedelta(days=1)).isoformat()),
                         ("title", "  "), ("layer", "people"), ("region", "44x")):
        r = command.post("/campaigns", json=campaign_body(kind, **{field: value}))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (field, r.text)
    # the whole deployment's centre takes 武昌区's too; 城区's sees its own of it
    made = clients["city"].post("/campaigns", json=campaign_body(kind)).json()
    assert (made["targets"], made["region_code"], made["region_name"]) == (4, None, "全辖区")
    assert command.get(f"/campaigns/{made['id']}").json()["targets"] == 3
    assert clients["planner"].get(f"/campaigns/{made['id']}").status_code == 403
    assert clients["worker"].post("/campaigns", json=campaign_body(kind)).status_code == 403
    assert clients["department"].get("/campaigns").status_code == 403
    offered = {(k["layer"], k["kind"]): k for k in command.get("/campaigns/kinds").json()}
    assert (offered[("places", kind)]["things"], offered[("places", kind)]["name"]) == (3, kind)


def test_a_campaigns_date_is_moved_and_it_is_ended_by_a_centre_over_its_region_saying_why(
        clients, places, kind, db):
    command, worker = clients["command"], clients["worker"]
    made = command.post("/campaigns", json=campaign_body(kind)).json()
    east, west = places["ids"]["东门菜场"], places["ids"]["西门菜场"]
    path = f"/campaigns/{made['id']}"
    later = (date.today() + timedelta(days=14)).isoformat()
    moved = command.patch(path, json={"due": later, "reason": "部分市场停业，顺延一周"})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {**made, "due": later}
    assert command.patch(path, json={"due": later, "reason": "再次提交"}).json()["due"] == later
    for body, field in (({"reason": "无"}, "end"),  # neither a date nor an end
                        ({"due": later, "end": True, "reason": "两者"}, "end"),
                        ({"due": (date.today() - timedelta(days=1)).isoformat(),
                          "reason": "昨天"}, "due"),
                        ({"due": later, "reason": " "}, "reason")):
        r = command.patch(path, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (body, r.text)
    for role in ("worker", "chief", "planner"):
        assert clients[role].patch(path, json={"end": True, "reason": "越权"}).status_code == 403
    # the whole deployment's campaign is not 城区's centre's to change; 城区's is the city's
    wide = clients["city"].post("/campaigns", json=campaign_body(kind)).json()
    r = command.patch(f"/campaigns/{wide['id']}", json={"end": True, "reason": "越权"})
    assert r.status_code == 403 and r.json()["detail"][0]["loc"][-1] == "id", r.text
    assert clients["city"].patch(path, json={"due": later, "reason": "核对"}).status_code == 200

    # ended: a check done before, sent late, is taken; one done since is not, nor its case
    before = datetime.now().astimezone().isoformat()
    sent = {"client_id": str(uuid.uuid4()), "target": east, "result": "normal"}
    assert worker.post(f"{path}/checks", json=sent).status_code == 201  # at the service's now
    ended = command.patch(path, json={"end": True, "reason": "上级统一部署，改为联合检查"})
    assert ended.status_code == 200 and ended.json()["ended_at"] is not None
    late = {"client_id": str(uuid.uuid4()), "target": west, "result": "normal", "at": before}
    assert worker.post(f"{path}/checks", json=late).status_code == 201
    assert worker.post(f"{path}/checks", json=late).status_code == 200  # sent again
    assert worker.post(f"{path}/checks", json=sent).status_code == 200  # sent again, no time
    since = {"client_id": str(uuid.uuid4()), "target": west, "result": "hazard",
             "category": "0601", "note": "结束后发现"}
    r = worker.post(f"{path}/checks", json=since)
    assert r.status_code == 409 and r.json()["detail"][0]["loc"][-1] == "at", r.text
    assert r.json()["detail"][0]["ctx"]["ended_at"] == ended.json()["ended_at"]
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id = :c"),
                            {"c": since["client_id"]}).scalar_one() == 0
    assert command.get(path).json()["checked"] == 2
    r = command.patch(path, json={"due": later, "reason": "再延"})
    assert r.status_code == 409 and r.json()["detail"][0]["loc"][-1] == "due"
    again = command.patch(path, json={"end": True, "reason": "再次"}).json()  # no new end
    assert again["ended_at"] == ended.json()["ended_at"] and again == command.get(path).json()

    # reopened, with a new date (the hazard back): every check taken again, as is its case
    for body, field in (({"reopen": True, "reason": "无日期"}, "reopen"),
                        ({"reopen": True, "due": later, "end": True, "reason": "两者"}, "end")):
        r = command.patch(path, json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in {said["loc"][-1] for said in r.json()["detail"]}, (body, r.text)
    assert clients["chief"].patch(path, json={"due": later, "reopen": True,
                                              "reason": "越权"}).status_code == 403
    reopening = {"due": (date.today() + timedelta(days=21)).isoformat(), "reopen": True,
                 "reason": "节前发现新隐患，重新排查"}
    reopened = command.patch(path, json=reopening)
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["ended_at"], reopened.json()["due"]) == (None, reopening["due"])
    assert command.patch(path, json=reopening).json() == reopened.json()  # a retry: no more
    r = worker.post(f"{path}/checks", json=since)  # the hazard refused at the end: taken now
    assert r.status_code == 201, r.text
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id = :c"),
                            {"c": since["client_id"]}).scalar_one() == 1

    # those running listed before those ended; each change in the log, read by the worker too
    listed = [c["id"] for c in command.get("/campaigns", params={"limit": 1000}).json()]
    assert listed.index(wide["id"]) < listed.index(made["id"])
    assert [(entry["action"], entry["due_before"], entry["due"], entry["by"], entry["reason"])
            for entry in worker.get(f"{path}/log").json()] == [
        ("due", made["due"], later, "command", "部分市场停业，顺延一周"),
        ("end", later, later, "command", "上级统一部署，改为联合检查"),
        ("reopen", later, reopening["due"], "command", "节前发现新隐患，重新排查")]
    assert clients["department"].get(f"{path}/log").status_code == 403
    with db.connect() as conn, pytest.raises(Exception, match="record of what was done"):
        conn.execute(text("DELETE FROM campaign_log WHERE campaign_id = :id"), {"id": made["id"]})


def test_a_worker_checks_on_the_phone_and_the_centre_follows_each_grid(browser, server, clients,
                                                                       accounts, grids, kind,
                                                                       db):
    """The centre makes a campaign on its page; the grid's worker checks one thing with no
    signal (sent once it is back) and finds a hazard at the other, reported as a case; the
    centre's page counts the grid done, names the hazard and links to its case."""
    with db.connect() as conn:  # a grid no other test's account serves: its worker alone
        served = set(conn.execute(text(
            "SELECT g.code FROM account_grid a JOIN grid g ON g.id = a.grid_id")).scalars())
    grid = grids[grids["code"].str.startswith("441502") & ~grids["code"].isin(served)].iloc[9]
    spot = grid.geometry.representative_point()
    worker = new_account(role="grid_worker", grid_codes=[grid.code])
    # the first warehouse farther from where the phone stands than the second, both in the grid
    corner = max(shapely.points(shapely.get_coordinates(grid.geometry)), key=spot.distance)
    far, near = (shapely.LineString([spot, corner]).interpolate(share, normalized=True)
                 for share in (0.8, 0.2))
    assert grid.geometry.contains(far) and grid.geometry.contains(near)
    registered(clients["admin"], "places", [
        {"name": f"{name}{kind[-6:]}", "kind": kind, "lon": at.x, "lat": at.y}
        for name, at in (("一号仓库", far), ("二号<b>仓库</b>", near))] + [
        # and more of another kind, offered first
        {"name": f"{n}号油库{kind[-6:]}", "kind": f"{kind}丙", "lon": spot.x, "lat": spot.y}
        for n in range(3)])

    # the centre's page: the kind chosen among what the county holds; the township chosen,
    # the kind stays chosen, counted in the township
    centre = browser.new_context(viewport={"width": 1600, "height": 900})
    page = centre.new_page()
    sign_in(page, server, "/map/campaigns", "command", "Test-Passw0rd")
    watch = Watch(page)
    what = f'["places","{kind}"]'
    wait_until(page, "window.mapsvcCampaigns.offered === ''", "what the county holds")
    page.select_option("#campaign-make select[name=what]", what)
    page.select_option("#campaign-area select", grid.code[:9])
    wait_until(page, f"window.mapsvcCampaigns.offered === '{grid.code[:9]}'",
               "what the township holds")
    assert page.input_value("#campaign-make select[name=what]") == what
    assert page.inner_text(f"#campaign-make option[value='{what}']") == f"场所：{kind}（2）"
    title = "<b>仓库</b>消防排查"
    page.fill("#campaign-make input[name=title]", title)
    page.fill("#campaign-make input[name=due]", (date.today() + timedelta(days=3)).isoformat())
    page.click("#campaign-make button[type=submit]")
    wait_until(page, "document.getElementById('campaigns-said').textContent.startsWith('已发起')",
               "the campaign made")
    assert page.inner_text("#campaigns-said") == f"已发起“{title}”：2 个对象待排查"
    with db.connect() as conn:
        made = conn.execute(text("SELECT id, region_code FROM campaign WHERE kind = :kind"),
                            {"kind": kind}).one()
    assert made.region_code == grid.code[:9]

    # the worker's phone: one checked with no signal, a hazard at the other
    context, phone = _phone(browser, server, spot, username=worker)
    listed = f"#campaigns li[data-campaign='{made.id}']"
    wait_until(phone, f"document.querySelectorAll(`{listed} li[data-target]`).length === 2",
               "the campaign's two things")
    assert phone.inner_text(f"{listed} strong") == title  # as text
    # the nearest first, each with how far it is (on the ellipsoid: within Leaflet's sphere's
    # half a percent, rounded to 10 m), and shown on the map at a tap
    wait_until(phone, f"document.querySelector(`{listed} li[data-target] small`).textContent"
                      f".includes('约')", "the things' distances")
    first, second = (phone.locator(f"{listed} li[data-target='{target}']") for target in
                     phone.eval_on_selector_all(f"{listed} li[data-target]",
                                                "items => items.map((i) => i.dataset.target)"))
    for item, (name, at) in zip((first, second), (("二号<b>仓库</b>", near), ("一号仓库", far))):
        assert item.inner_text().startswith(f"{name}{kind[-6:]}")
        metres = Geod(ellps="WGS84").inv(spot.x, spot.y, at.x, at.y)[2]
        said = re.fullmatch(r".+ · 约 ([\d.]+) (米|公里)", item.locator("small").inner_text())
        assert said, item.locator("small").inner_text()
        shown, rounded = (int(said[1]), 5) if said[2] == "米" else (float(said[1]) * 1000, 50)
        assert abs(shown - metres) <= rounded + metres * 0.005, (said[0], metres)
    first.locator("button[data-show=place]").click()
    wait_until(phone, "!!window.mapsvcPhone.placeMark", "the warehouse marked on the map")
    marked = phone.evaluate("(() => { const at = window.mapsvcPhone.placeMark.getLatLng();"
                            " return [at.lng, at.lat]; })()")
    assert marked == pytest.approx([near.x, near.y], abs=1e-6)
    tooltip = phone.locator(".leaflet-tooltip")
    assert (tooltip.inner_text(), tooltip.locator("b").count()) == (
        f"二号<b>仓库</b>{kind[-6:]}", 0)  # the name as typed, as text
    context.set_offline(True)
    first.locator("button", has_text="正常").click()
    wait_until(phone, "window.mapsvcPhone.queued === 1", "the check queued")
    assert phone.locator(f"{listed} li[data-target]").count() == 1
    _signal_back(context, phone, "the check sent")
    second.locator("button", has_text="有隐患").click()
    second.locator("select").select_option("0601")
    second.locator("textarea").fill("灭火器过期")
    second.locator("button", has_text="上报隐患").click()
    wait_until(phone, "document.getElementById('result').textContent.startsWith('已上报隐患')",
               "the hazard reported")
    wait_until(phone, f"document.querySelector(`{listed} p`).textContent === "
                      f"'截止 {date.today() + timedelta(days=3)} · 已排查 2/2'", "both counted")
    phone.screenshot(path=ARTIFACTS / "phone-campaign.png")
    registered(clients["admin"], "places", [{"name": f"三号仓库{kind[-6:]}", "kind": f"{kind}乙",
                                             "lon": spot.x, "lat": spot.y}])
    later = clients["command"].post("/campaigns", json=campaign_body(f"{kind}乙")).json()
    phone.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # looked at again
    wait_until(phone, f"!!document.querySelector(`#campaigns li[data-campaign='{later['id']}'] "
                      f"li[data-target]`)", "the campaign made since")
    context.close()
    with db.connect() as conn:
        case = conn.execute(text(
            "SELECT i.id, i.description, g.code, g.name FROM campaign_check k "
            "JOIN incident i ON i.id = k.incident_id JOIN grid g ON g.id = i.grid_id "
            "WHERE k.campaign_id = :id"), {"id": made.id}).one()
    assert (case.description, case.code) == (
        f"专项排查「{title}」：一号仓库{kind[-6:]}。灭火器过期", grid.code)

    # the centre: the grid done, the hazard named, its case a click away
    watch.reload(page)
    row = page.locator(f"#campaigns tr[data-campaign='{made.id}']")
    row.wait_for()
    assert row.locator("td").all_inner_texts()[4:8] == ["2", "2", "1", "100.0%"]
    row.locator("button", has_text="查看").click()
    wait_until(page, "window.mapsvcCampaigns.grids === 1", "the campaign's grid")
    assert page.locator("#campaign-grids tbody td").all_inner_texts() == [
        case.name, worker, "2", "2", "1", "100.0%", "查看对象"]
    hazard = page.locator("#campaign-hazards tbody tr")
    assert hazard.locator("td").all_inner_texts()[:5] == [
        f"一号仓库{kind[-6:]}", case.name, "存在隐患", "灭火器过期", worker]
    page.click("#campaign-grids tbody button")  # the grid's things, each as it stands
    wait_until(page, "window.mapsvcCampaigns.things === 2", "the grid's things")
    assert page.inner_text("#campaign-grid-title") == f"{case.name}的排查对象（2/2）"
    assert [row.locator("td").all_inner_texts()[:3] for row in page.locator(
        "#campaign-grid-things tbody tr").all()] == [
        [f"{name}{kind[-6:]}", case.name, result] for name, result in (
            ("一号仓库", "存在隐患"), ("二号<b>仓库</b>", "正常"))]
    assert hazard.locator("a").get_attribute("href") == f"/map/desk#case={case.id}"
    with page.expect_download() as downloaded:  # the page's session reads the ledger
        page.click("#campaign-ledger")
    named = downloaded.value.suggested_filename  # (what the title holds a file cannot, gone)
    assert named.startswith("排查台账_") and named.endswith("消防排查.csv"), named
    with open(downloaded.value.path(), encoding="utf-8-sig", newline="") as ledger:
        assert [row["排查结果"] for row in csv.DictReader(ledger)] == ["存在隐患", "正常"]
    page.screenshot(path=ARTIFACTS / "campaigns.png")
    assert watch.problems == []
    centre.close()


def test_the_centre_moves_a_campaigns_date_ends_and_reopens_it_and_the_phone_follows(
        browser, server, clients, grids, kind):
    """On the centre's page: the date moved, then the campaign ended, each with why, in its
    log; the phone that still lists it has the check it then makes refused, saying why, and
    lets the campaign go when looked at again; reopened with a new date, the phone lists it
    again and sends the refused check again, taken now. A campaign over more than the
    centre's region is not its to change."""
    grid = grids[grids["code"].str.startswith("441502")].iloc[11]
    spot = grid.geometry.representative_point()
    worker = new_account(role="grid_worker", grid_codes=[grid.code])
    registered(clients["admin"], "places", [
        {"name": f"{name}{kind[-6:]}", "kind": kind, "lon": spot.x, "lat": spot.y}
        for name in ("甲加油站", "乙加油站")])
    made = clients["command"].post("/campaigns", json=campaign_body(
        kind, title="加油站安全排查", region=grid.code[:9])).json()
    wide = clients["city"].post("/campaigns", json=campaign_body(kind, title="全市加油站排查"))
    context, phone = _phone(browser, server, spot, username=worker)
    listed = f"#campaigns li[data-campaign='{made['id']}']"
    wait_until(phone, f"document.querySelectorAll(`{listed} li[data-target]`).length === 2",
               "the campaign's two things")

    centre = browser.new_context(viewport={"width": 1600, "height": 900})
    page = centre.new_page()
    sign_in(page, server, "/map/campaigns", "command", "Test-Passw0rd")
    watch = Watch(page)
    page.locator(f"#campaigns tr[data-campaign='{wide.json()['id']}'] button").click()
    wait_until(page, "window.mapsvcCampaigns.grids > 0", "the city's campaign")
    assert page.locator("#campaign-change").is_hidden()  # the city's, not 城区's, to change
    page.locator(f"#campaigns tr[data-campaign='{made['id']}'] button").click()
    wait_until(page, "document.getElementById('campaign-title').textContent"
                     ".startsWith('加油站安全排查')", "the campaign opened")
    later = (date.today() + timedelta(days=20)).isoformat()
    page.fill("#campaign-change input[name=due]", later)
    page.fill("#campaign-change input[name=reason]", "<i>停业</i>，顺延")
    page.click("#campaign-change button[name=move]")
    wait_until(page, "document.getElementById('campaign-title').textContent.includes("
                     f"'截止 {later}')", "the date moved")
    assert page.inner_text("#campaigns-said") == f"“加油站安全排查”截止日期已调整为 {later}"
    assert page.inner_text("#campaign-log li").endswith(
        f"command 将截止日期由 {made['due']} 调整为 {later}：<i>停业</i>，顺延")  # as text
    page.fill("#campaign-change input[name=reason]", "改为联合检查")
    page.click("#campaign-change button[name=end]")
    page.locator("#campaign-ended").wait_for()
    assert page.inner_text("#campaign-ended").endswith("结束，此后的排查不再接收")
    assert page.locator("#campaign-change button[name=end]").is_hidden()  # only reopened now
    assert page.locator("#campaign-change button[name=move]").is_hidden()
    assert page.locator("#campaign-log li").nth(1).inner_text().endswith(
        "command 结束排查：改为联合检查")
    row = page.locator(f"#campaigns tr[data-campaign='{made['id']}'] td")
    assert row.nth(3).inner_text() == f"{later}（已结束）"
    page.screenshot(path=ARTIFACTS / "campaign-ended.png")

    # the phone, not having asked since: its check refused, kept saying why, then let go
    phone.locator(f"{listed} li[data-target] button", has_text="正常").first.click()
    refused = phone.locator("#queue li.failed")
    refused.wait_for()
    assert refused.inner_text().startswith("未能发送：专项排查已结束，此次排查未被接收")
    phone.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # looked at again
    wait_until(phone, f"!document.querySelector(`{listed}`)", "the ended campaign let go")

    # reopened on the centre's page with a new date: the phone lists it again
    reopened = (date.today() + timedelta(days=25)).isoformat()
    page.fill("#campaign-change input[name=due]", reopened)
    page.fill("#campaign-change input[name=reason]", "发现新隐患，重新排查")
    page.click("#campaign-change button[name=reopen]")
    wait_until(page, "document.getElementById('campaign-ended').hidden", "the campaign reopened")
    assert page.inner_text("#campaigns-said") == f"已重新开启“加油站安全排查”，截止 {reopened}"
    assert page.locator("#campaign-log li").nth(2).inner_text().endswith(
        f"command 重新开启排查，截止日期为 {reopened}：发现新隐患，重新排查")
    assert page.locator("#campaign-change button[name=reopen]").is_hidden()
    assert row.nth(3).inner_text() == reopened
    assert watch.problems == []
    centre.close()
    phone.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    # its refused check sent again and taken: the other thing left to check
    wait_until(phone, f"document.querySelectorAll(`{listed} li[data-target]`).length === 1 "
                      "&& !document.querySelector('#queue li.failed')",
               "the reopened campaign listed again, its refused check taken")
    assert clients["command"].get(f"/campaigns/{made['id']}").json()["checked"] == 1
    context.close()


def test_a_grid_chief_follows_the_campaigns_of_its_grids_and_makes_none(browser, server,
                                                                        clients, places, kind):
    """The chief's page (linked from its phone): the campaign counted over its grids alone,
    each a click from its things; no form to make one, as the service makes none for it."""
    made = clients["command"].post("/campaigns", json=campaign_body(kind)).json()
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, "/map/campaigns", "chief", "Test-Passw0rd")
    row = page.locator(f"#campaigns tr[data-campaign='{made['id']}']")
    row.wait_for()
    assert row.locator("td").all_inner_texts()[4:8] == ["2", "0", "0", "0.0%"]  # its grid's
    assert page.locator("#campaign-make").is_hidden()
    assert "人口台账" in page.inner_text("header nav") and "手机端" in page.inner_text("header nav")
    row.locator("button", has_text="查看").click()
    wait_until(page, "window.mapsvcCampaigns.grids === 1", "the chief's grid")
    page.click("#campaign-grids tbody button")
    wait_until(page, "window.mapsvcCampaigns.things === 2", "its things")
    assert watch.problems == []
    context.close()
    assert clients["chief"].get("/campaigns/kinds").status_code == 403


CAMPAIGN_WEEK = {"from": "2025-10-06", "to": "2025-10-10"}  # the campaigns due then: below


@pytest.fixture(scope="module")
def due_campaigns(server, clients, grids, db):
    """A campaign of 城区's centre due on 8 October 2025 over three places of a worker's grid
    and one of another township: one checked in time, one the day after, two never (one of
    them closed since); another over the same places ended before it was due (called off); a
    third due in two days, one of its places checked already. A fourth place of the grid,
    closed on 5 October and never checked, is due in none."""
    kind = f"测试场所{uuid.uuid4().hex[:6]}"
    county = grids[grids["code"].str.startswith("441502")]
    grid = county.iloc[47]
    other = county[county["code"].str[:9] != grid.code[:9]].iloc[5]
    worker = new_account(role="grid_worker", grid_codes=[grid.code])
    spots = [grid.geometry.representative_point()] * 3 + [
        other.geometry.representative_point(), grid.geometry.representative_point()]
    registered(clients["admin"], "places", [
        {"name": f"{n}号库{kind[-6:]}", "kind": kind, "lon": p.x, "lat": p.y}
        for n, p in zip("一二三四五", spots)])
    made = {title: clients["command"].post("/campaigns", json=campaign_body(
        kind, title=title, due=(date.today() + timedelta(days=2)).isoformat())).json()
        for title in ("到期", "撤销", "未到期")}
    with db.begin() as conn:
        conn.execute(text(
            "UPDATE campaign SET created_at = '2025-10-01 09:00+08', due = '2025-10-08', "
            "ended_at = CASE WHEN id = :ended THEN timestamptz '2025-10-03 09:00+08' END "
            "WHERE id IN (:due, :ended)"), {"due": made["到期"]["id"], "ended": made["撤销"]["id"]})
        conn.execute(text(  # it worked the grid then
            "UPDATE account_grid_period p SET since = '2025-01-01' FROM account a "
            "WHERE a.id = p.account_id AND a.username = :u"), {"u": worker})
        places = dict(conn.execute(text("SELECT left(name, 1), id::text FROM place "
                                        "WHERE kind = :kind"), {"kind": kind}).all())
    for place in ("三", "五"):  # closed today: after the campaign was due, and before it
        assert clients["command"].patch(f"/registry/places/{places[place]}",
                                        json={"closed": True}).status_code == 200
    with db.begin() as conn:
        conn.execute(text("UPDATE place SET closed_on = '2025-10-05' WHERE id = :id"),
                     {"id": int(places["五"])})
    with signed_in_client(server, worker) as phone:
        for campaign, target, at in (("到期", "一", "2025-10-08T23:59:00+08:00"),
                                     ("到期", "二", "2025-10-09T00:00:00+08:00"),
                                     ("撤销", "一", "2025-10-02T10:00:00+08:00"),
                                     ("未到期", "三", None)):
            r = phone.post(f"/campaigns/{made[campaign]['id']}/checks", json={
                "client_id": str(uuid.uuid4()), "target": places[target], "result": "normal",
                **({"at": at} if at else {})})
            assert r.status_code == 201, r.text
    return {"worker": worker, "grid": grid.code, "other": other.code}


def test_regions_grids_and_workers_are_judged_by_the_things_their_campaigns_due_checked_in_time(
        server, clients, due_campaigns):
    command, grid, other = clients["command"], due_campaigns["grid"], due_campaigns["other"]

    def rows(**params) -> dict:
        answer = command.get("/stats", params={**CAMPAIGN_WEEK, **params}).json()
        return {r["code"]: r.get("campaigns") for r in answer["rows"]}

    in_time = {"due": 3, "on_time": 1, "rate": 0.3333}  # checked by the 8th's end: one
    assert rows(level="county", code="441502", by="worker")[due_campaigns["worker"]] == in_time
    with signed_in_client(server, due_campaigns["worker"]) as worker:  # its own, on its phone
        assert worker.get("/stats", params=CAMPAIGN_WEEK).json()["campaigns"] == in_time
    grids = rows(level="village", code=grid[:12])
    assert grids[grid] == in_time
    assert {g: c["due"] for g, c in grids.items() if g != grid} == dict.fromkeys(
        set(grids) - {grid}, 0)
    townships = rows(level="county", code="441502")
    assert (townships[grid[:9]], townships[other[:9]]) == (
        in_time, {"due": 1, "on_time": 0, "rate": 0.0})
    # due in two days: the thing checked already counts, those still within their time not
    soon = (date.today() + timedelta(days=2)).isoformat()
    assert rows(**{"from": soon, "to": soon, "level": "village", "code": grid[:12]})[grid] == {
        "due": 1, "on_time": 1, "rate": 1.0}
    assert all("campaigns" not in r for r in command.get("/stats", params={
        **CAMPAIGN_WEEK, "level": "county", "code": "441502", "by": "category"}).json()["rows"])


def test_the_evaluation_ranks_grid_workers_by_their_campaigns_checked_in_time(evaluation,
                                                                              due_campaigns):
    page = evaluation
    _asked(page, "worker", CAMPAIGN_WEEK)
    shown = _row(page, due_campaigns["worker"])
    assert (shown["应排查"], shown["按期排查率"]) == ("3", "33.3%")
    page.click("#stats thead th:text-is('按期排查率')")
    assert _row(page, due_campaigns["worker"])["名次"] == "—"  # three things: too few to rank
    _asked(page, "category", CAMPAIGN_WEEK)  # classes answer for no campaign
    assert "按期排查率" not in page.locator("#stats thead th").all_inner_texts()
