"""Micro-grids (微网格, 联户): a grid's households divided by stairwell into groups within the
rule's most households, each with a leader (联户长) living in it; addresses registered since
join their stairwell's smallest; any address put into another micro-grid of its grid."""

import csv
import io
import uuid
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import expect
from sqlalchemy import text

from mapsvc.registry.privacy import MOBILE, decrypt
from tests.browser import Watch, sign_in, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, new_account, registered, signed_in_client
from tests.test_people_page import pick_area
from tests.test_phone import _phone

ROOMS = [f"{floor}0{room}" for floor in range(1, 6) for room in range(1, 6)]  # 25 a stairwell


@pytest.fixture(scope="module")
def estate(server, clients, grids):
    """A grid of 城区 of its own with a worker: in a compound, building 1's 25 flats and
    building 2's entrance 1's 5, and a lane's 3 houses; a person (a household) in each."""
    tag = uuid.uuid4().hex[:6]
    grid = grids[grids["code"].str.startswith("441502")].iloc[61]
    p = grid.geometry.representative_point()
    street, compound = f"微{tag}路", f"联户{tag}小区"
    flats = [f"{street}8号{compound}1栋{room}室" for room in ROOMS] + [
        f"{street}8号{compound}2栋1单元{room}室" for room in ROOMS[:5]]
    houses = [f"{street}{n}号" for n in (1, 2, 3)]
    registered(clients["admin"], "addresses", [
        {"address": a, "lon": p.x, "lat": p.y} for a in flats + houses], county="441502")
    registered(clients["admin"], "people", [
        {"address": a, "name": f"住户{i:02d}", "registration": "resident",
         "mobile": f"139{i:08d}"} for i, a in enumerate(flats + houses)], county="441502")
    worker = new_account(role="grid_worker", grid_codes=[grid.code])
    with signed_in_client(server, worker) as client:
        yield {"grid": grid.code, "point": p, "street": street, "compound": compound,
               "flats": flats, "houses": houses, "worker": client, "username": worker}


def _sizes(listing: dict) -> list[tuple[str, int]]:
    return [(m["name"], m["households"]) for m in listing["micro_grids"]]


def test_a_grid_is_divided_by_stairwell_within_the_most_households_and_grows_as_it_fills(
        clients, estate):
    worker, grid, compound = estate["worker"], estate["grid"], estate["compound"]
    path = f"/registry/grids/{grid}/micro-grids"
    before = worker.get(path).json()
    assert (before["micro_grids"], before["households"], before["placed"]) == ([], 33, 0)
    assert before["households_max"] == 20  # a residents' committee's village: urban

    r = worker.post(path, json={})
    assert r.status_code == 200, r.text
    divided = r.json()
    assert _sizes(divided) == [  # the lane first, then the buildings, each evenly
        (estate["street"], 3), (f"{compound}1栋（1）", 13), (f"{compound}1栋（2）", 12),
        (f"{compound}2栋1单元", 5)]
    assert [m["code"] for m in divided["micro_grids"]] == [f"{grid}00{n}" for n in range(1, 5)]
    assert divided["placed"] == divided["households"] == 33
    assert worker.post(path, json={}).json() == divided  # sent again: nothing more

    # the lower floors in the first of building 1's
    first = worker.get("/registry/people", params={"micro_grid": f"{grid}002",
                                                    "limit": 100}).json()
    assert sorted(p["address"][-4:] for p in first) == sorted(
        f"{room}室" for room in ROOMS[:13])

    # registered since: a flat of building 1 joins its smaller; a new building, its own
    registered(clients["admin"], "addresses", [
        {"address": a, "lon": estate["point"].x, "lat": estate["point"].y}
        for a in (f"{estate['street']}8号{compound}1栋601室",
                  f"{estate['street']}8号{compound}3栋101室")], county="441502")
    registered(clients["admin"], "people", [
        {"address": f"{estate['street']}8号{compound}{flat}", "name": name,
         "registration": "floating"} for flat, name in (("1栋601室", "新来甲"),
                                                         ("3栋101室", "新来乙"))],
        county="441502")
    grown = worker.post(path, json={}).json()
    assert _sizes(grown) == [
        (estate["street"], 3), (f"{compound}1栋（1）", 13), (f"{compound}1栋（2）", 13),
        (f"{compound}2栋1单元", 5), (f"{compound}3栋", 1)]
    assert grown["micro_grids"][-1]["code"] == f"{grid}005"

    # divided afresh by ten: building 1's 26 in three
    again = worker.post(path, json={"households_max": 10, "replace": True}).json()
    assert _sizes(again) == [
        (estate["street"], 3), (f"{compound}1栋（1）", 9), (f"{compound}1栋（2）", 9),
        (f"{compound}1栋（3）", 8), (f"{compound}2栋1单元", 5), (f"{compound}3栋", 1)]
    for body in ({"households_max": 0}, {"households_max": 201}, {"replace": "maybe"}):
        r = worker.post(path, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] in body, r.text
    worker.post(path, json={"replace": True})  # as the other tests find it


def test_a_micro_grid_is_led_by_one_of_its_residents_and_shown_with_each_household(
        clients, grids, estate, db):
    worker, grid = estate["worker"], estate["grid"]
    worker.post(f"/registry/grids/{grid}/micro-grids", json={})
    lane = f"{grid}001"
    residents = {p["address"]: p for p in worker.get(
        "/registry/people", params={"micro_grid": lane}).json()}
    assert sorted(residents) == sorted(estate["houses"])
    leader = residents[estate["houses"][1]]
    r = worker.patch(f"/registry/micro-grids/{lane}", json={"leader": leader["id"],
                                                            "name": "<b>一组</b>"})
    assert r.status_code == 200, r.text
    led = r.json()["micro_grids"][0]
    assert (led["name"], led["leader"]["name"], led["leader"]["mobile"]) == (
        "<b>一组</b>", leader["name"], leader["mobile"])
    assert led["leader"]["mobile"].count("*") == 4  # masked as the register masks it
    elsewhere = worker.get("/registry/people", params={"micro_grid": f"{grid}002",
                                                        "limit": 1}).json()[0]
    r = worker.patch(f"/registry/micro-grids/{lane}", json={"leader": elsewhere["id"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "leader"
    r = worker.patch(f"/registry/micro-grids/{lane}", json={"name": " "})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "name"

    # each household of it says so, with its leader (masked), on the phone's list
    homes = worker.get("/registry/households", params={"grid": grid, "limit": 100}).json()
    at = {h["address"]: h for h in homes}
    assert at[estate["houses"][0]]["micro_grid"] == {
        "code": lane, "name": "<b>一组</b>", "leader": {"id": leader["id"],
                                                      "name": leader["name"]}}
    assert at[estate["flats"][0]]["micro_grid"] == {"code": f"{grid}002",
                                                    "name": f"{estate['compound']}1栋（1）",
                                                    "leader": None}

    # the leaders' roster (联户长名册): the centre's, masked, audited with how many it names
    r = clients["command"].get("/registry/micro-grids.csv", params={
        "region": grid[:9], "reason": "核对联户长"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    mine = [row for row in rows if row["网格编码"] == grid]
    listing = worker.get(f"/registry/grids/{grid}/micro-grids").json()["micro_grids"]
    assert [(row["微网格编码"], row["微网格"], int(row["户数"]), int(row["人数"]), row["联户长"],
             row["联户长手机"]) for row in mine] == [
        (m["code"], m["name"], m["households"], m["people"],
         m["leader"]["name"] if m["leader"] else "", m["leader"]["mobile"] if m["leader"] else "")
        for m in listing]
    audited = clients["admin"].get("/audit", params={"action": "export",
                                                     "username": "command"}).json()
    assert audited[0]["reason"] == "核对联户长"
    assert audited[0]["entity_id"].startswith(f"{sum(1 for row in rows if row['联户长'])} ")
    r = clients["command"].get("/registry/micro-grids.csv", params={"grid": grid})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    assert worker.get("/registry/micro-grids.csv", params={"reason": "越权导出"}).status_code == 403

    # the wall's panel of the grid counts them, and those led: the lane's
    board = clients["command"].get("/stats/board", params={"level": "grid", "code": grid}).json()
    listing = worker.get(f"/registry/grids/{grid}/micro-grids").json()["micro_grids"]
    assert (board["grid"]["micro_grids"], board["grid"]["led"]) == (len(listing), 1)
    assert figures(db, grid) == (len(listing), 1)  # as the township's and county's panels count

    # a house put into building 2's: counted there; another grid's address is not its to put
    r = worker.post(f"/registry/micro-grids/{grid}004/addresses",
                    json={"address": _address_id(db, estate["houses"][0])})
    assert r.status_code == 200, r.text
    assert [m["households"] for m in r.json()["micro_grids"]][::3] == [2, 6]
    beyond = f"{estate['street']}99号"  # in the next grid
    spot = grids[grids["code"].str.startswith("441502")].geometry.iloc[62].representative_point()
    registered(clients["admin"], "addresses", [{"address": beyond, "lon": spot.x,
                                                "lat": spot.y}], county="441502")
    foreign = _address_id(db, beyond)
    r = worker.post(f"/registry/micro-grids/{grid}004/addresses", json={"address": foreign})
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "address", r.text

    # the leader's house put into building 2's: the lane led no more, counted so; back: led
    home = _address_id(db, estate["houses"][1])
    r = worker.post(f"/registry/micro-grids/{grid}004/addresses", json={"address": home})
    assert (r.json()["micro_grids"][0]["leader_gone"], figures(db, grid)) == (
        True, (len(listing), 0))
    worker.post(f"/registry/micro-grids/{lane}/addresses", json={"address": home})
    assert figures(db, grid) == (len(listing), 1)

    # the leader moved away: none, and said so, the region's figures as the grid's list; the
    # departure taken back (recorded by mistake): led again
    r = worker.post(f"/registry/people/{leader['id']}/departure", json={
        "reason": "moved_away", "on": date.today().isoformat()})
    assert r.status_code == 200, r.text
    gone = worker.get(f"/registry/grids/{grid}/micro-grids").json()["micro_grids"][0]
    assert (gone["leader"], gone["leader_gone"]) == (None, True)
    assert figures(db, grid) == (len(listing), 0)
    r = worker.request("DELETE", f"/registry/people/{leader['id']}/departure",
                       params={"reason": "误登记"})
    assert r.status_code == 204, r.text
    assert figures(db, grid) == (len(listing), 1)
    assert worker.post(f"/registry/grids/{grid}/micro-grids",
                       json={"replace": True}).status_code == 200


def test_micro_grids_are_kept_by_those_who_keep_the_grids_register(clients, estate):
    grid = estate["grid"]
    path = f"/registry/grids/{grid}/micro-grids"
    estate["worker"].post(path, json={})
    listing = clients["command"].get(path).json()  # 城区's centre
    assert listing["placed"] == listing["households"] > 0
    r = clients["worker"].get(path)  # another grid's worker
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "grid"
    r = clients["worker"].patch(f"/registry/micro-grids/{grid}001", json={"name": "越权"})
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "grid"
    for role in ("department", "planner"):
        assert clients[role].get(path).status_code == 403
    r = estate["worker"].patch(f"/registry/micro-grids/{grid}999", json={"name": "无"})
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "code"
    assert clients["command"].get(path).json()["micro_grids"][0]["name"] == estate["street"]


def test_the_register_divides_a_grid_names_a_leader_and_the_phone_says_so(
        browser, server, clients, estate, db):
    """The centre's register: the grid chosen, divided afresh by ten; the lane's micro-grid
    renamed and led by one of its residents, shown masked; at a door of it, the worker's phone
    names the micro-grid and its leader."""
    grid = estate["grid"]
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, "/map/people", "command", PASSWORD)
    pick_area(page, grid[:9], grid[:12], grid)
    wait_until(page, "window.mapsvcPeople.micro !== null", "the grid's micro-grids")
    page.fill("#micro-divide input[name=households_max]", "10")
    page.check("#micro-divide input[name=replace]")
    page.click("#micro-divide button[type=submit]")
    wait_until(page, "document.getElementById('people-said').textContent.startsWith('已划分')",
               "divided")
    listing = clients["command"].get(f"/registry/grids/{grid}/micro-grids").json()
    assert max(m["households"] for m in listing["micro_grids"]) <= 10
    assert [row.locator("td").all_inner_texts()[:3] for row in page.locator(
        "#micro-grids tbody tr").all()] == [
        [m["code"], m["name"], str(m["households"])] for m in listing["micro_grids"]]

    lane = page.locator(f"#micro-grids tr[data-code='{grid}001']")
    lane.locator("button", has_text="设置").click()
    expect(page.locator(f"#micro-grids tr[data-code='{grid}001'] + tr.asking "
                        "#micro-lead")).to_have_count(1)  # under its row
    residents = clients["command"].get("/registry/people",
                                       params={"micro_grid": f"{grid}001"}).json()
    wait_until(page, "document.querySelectorAll('#micro-lead select[name=leader] option')"
                     f".length === {len(residents) + 1}", "the lane's residents offered")
    page.fill("#micro-lead input[name=name]", "<i>一组</i>")
    page.select_option("#micro-lead select[name=leader]", index=2)
    page.click("#micro-lead button[type=submit]")
    wait_until(page, "document.querySelector(`#micro-grids tr[data-code='"
                     f"{grid}001'] td:nth-child(2)`).textContent === '<i>一组</i>'",
               "renamed, as text")
    led = clients["command"].get(f"/registry/grids/{grid}/micro-grids").json()["micro_grids"][0]
    assert lane.locator("td").all_inner_texts()[4:6] == [led["leader"]["name"],
                                                         led["leader"]["mobile"]]

    # a flat of building 2 moved into building 1's first: counted there
    sizes = {m["code"]: m["households"] for m in listing["micro_grids"]}
    first = page.locator(f"#micro-grids tr[data-code='{grid}002']")
    first.locator("button", has_text="设置").click()
    moved = estate["flats"][-1]
    page.locator(f"#micro-lead select[name=address] option:text-is('{moved}')").wait_for(
        state="attached")
    page.select_option("#micro-lead select[name=address]", label=moved)
    page.click("#micro-lead button[type=submit]")
    wait_until(page, "document.querySelector(`#micro-grids tr[data-code='"
                     f"{grid}002'] td:nth-child(3)`).textContent === '{sizes[grid + '002'] + 1}'",
               "the flat counted in building 1's first")
    expect(page.locator("#micro-lead")).to_be_hidden()
    expect(page.locator("#micro-grids tr.asking")).to_have_count(0)
    homes = clients["command"].get("/registry/households", params={"grid": grid,
                                                                   "limit": 100}).json()
    assert next(h["micro_grid"]["code"] for h in homes if h["address"] == moved) == f"{grid}002"
    page.screenshot(path=ARTIFACTS / "micro-grids.png")
    page.fill("#micro-export input[name=reason]", "核对联户长")  # the grid chosen's roster
    with page.expect_download() as downloaded:
        page.click("#micro-export button[type=submit]")
    with open(downloaded.value.path(), encoding="utf-8-sig", newline="") as roster:
        assert [row["微网格编码"] for row in csv.DictReader(roster)] == [
            m["code"] for m in listing["micro_grids"]]
    assert watch.problems == []
    context.close()

    # at a door of it, the worker's phone names it and its leader, and calls the leader, the
    # number shown once it says why (audited)
    context, phone = _phone(browser, server, estate["point"], username=estate["username"])
    phone.goto(f"{server}/m/#address={_address_id(db, estate['houses'][0])}")
    home = phone.locator("#households > li")
    home.locator("small.micro").wait_for()
    assert home.locator("small.micro").inner_text() == (
        f"微网格 <i>一组</i>，联户长 {led['leader']['name']}")
    home.locator("button", has_text="联系联户长").click()
    home.locator("form.reveal button", has_text="请联户长协助通知住户").click()
    home.locator("form.reveal button[type=submit]").click()
    dial = home.locator("a[href^='tel:']")
    dial.wait_for()
    with db.connect() as conn:
        mobile, reason = conn.execute(text(
            "SELECT p.mobile_enc, l.reason FROM audit_log l JOIN person p "
            "ON p.id::text = l.entity_id WHERE l.entity = 'person' AND l.field = 'mobile' "
            "AND p.id = :id ORDER BY l.id DESC LIMIT 1"), {"id": led["leader"]["id"]}).one()
    full = decrypt(mobile, MOBILE)
    assert (dial.get_attribute("href"), reason) == (f"tel:{full}", "请联户长协助通知住户")
    assert full[:3] + "****" + full[-4:] == led["leader"]["mobile"]
    context.close()


def test_a_grid_holds_no_more_micro_grids_than_their_codes_can_number(clients, grids, db):
    """1,200 households in a row of a grid: one a micro-grid would be 1,200 of them, past the
    999 a code's three digits number; refused naming the most, and nothing divided."""
    grid = grids[grids["code"].str.startswith("441502")].iloc[63].code
    with db.begin() as conn:
        conn.execute(text("""
            WITH a AS (
                INSERT INTO address (full_text, county_code, street, number, geom, grid_id,
                                     grid_version_id, village_code, assignment)
                SELECT '长街' || n || '号', '441502', '长街', n || '号',
                       ST_PointOnSurface(v.geom), g.id, v.id, g.village_code, 'inside'
                  FROM grid g JOIN grid_version v ON v.grid_id = g.id AND v.valid_to IS NULL,
                       generate_series(1, 1200) n
                 WHERE g.code = :g
                RETURNING id),
            ho AS (INSERT INTO house (address_id) SELECT id FROM a RETURNING id)
            INSERT INTO household (house_id) SELECT id FROM ho"""), {"g": grid})
    path = f"/registry/grids/{grid}/micro-grids"
    r = clients["admin"].post(path, json={"households_max": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "households_max", r.text
    assert clients["admin"].get(path).json()["micro_grids"] == []
    made = clients["admin"].post(path, json={"households_max": 2}).json()["micro_grids"]
    assert (len(made), made[-1]["code"], made[-1]["households"]) == (600, f"{grid}600", 2)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(most=st.integers(min_value=1, max_value=30))
def test_every_household_is_in_one_micro_grid_of_one_stairwell_within_the_most(estate, most,
                                                                                db):
    """Whatever the most: each stairwell is split into as few micro-grids as keep within it,
    their sizes differing by one at most, and every household is in exactly one. The grid's
    figures (the wall's counts) follow."""
    grid = estate["grid"]
    listing = estate["worker"].post(f"/registry/grids/{grid}/micro-grids", json={
        "households_max": most, "replace": True}).json()
    assert listing["placed"] == listing["households"] == sum(
        m["households"] for m in listing["micro_grids"])
    stairs: dict[str, list[int]] = {}
    for m in listing["micro_grids"]:
        stairs.setdefault(m["name"].split("（")[0], []).append(m["households"])
    for sizes in stairs.values():
        assert len(sizes) == -(-sum(sizes) // most)  # as few as keep within the most
        assert max(sizes) <= most and max(sizes) - min(sizes) <= 1
    assert [m["code"] for m in listing["micro_grids"]] == [
        f"{grid}{n:03d}" for n in range(1, len(listing["micro_grids"]) + 1)]
    assert figures(db, grid) == (len(listing["micro_grids"]), 0)  # made afresh: none led yet


def figures(db, grid: str) -> tuple[int, int]:
    """The micro-grids the grid's figures count (grid_figures), and of them those led."""
    with db.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT f.micro_grids, f.micro_led FROM grid_figures f JOIN grid g "
            "ON g.id = f.grid_id WHERE g.code = :g"), {"g": grid}).one())


def _address_id(db, full_text: str) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT id FROM address WHERE full_text = :t"),
                            {"t": full_text}).scalar_one()
