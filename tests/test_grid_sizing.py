"""Where grids need redrawing: the grids in force against the sizing rules
(`GET /api/v1/grids/sizing`), counted per region and listed, and the planner's page showing
them. A server of this module's own holds small rules, so that a hand-made area's grids (A: 1
household of 2 people, B: 3 households of 5, C: 1 of 1) are within and over them."""

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from mapsvc.cli import app
from tests.browser import Watch, sign_in, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, WORKER, Server, registered, signed_in_client
from tests.test_planner_page import planner_of

URBAN = {"households_min": 1, "households_max": 2, "population_max": 4}


@pytest.fixture(scope="module")
def sized(hierarchy, accounts):
    """The API served with the rules above, for urban comprehensive grids alone."""
    name = "-".join(filter(None, ["sizing", WORKER]))
    served = Server(name, env={"MAPSVC_PLANS_SIZING": json.dumps(
        {"comprehensive/urban": URBAN})}).start()
    yield served.base
    served.stop()


def sizing(client, parent: str) -> dict:
    r = client.get("/grids/sizing", params={"parent": parent})
    assert r.status_code == 200, r.text
    return r.json()


def figures(part: dict) -> tuple:
    return (part["code"], part["grids"], part["over"], part["under"], part["ok"],
            part["no_rule"], part["no_registry"], part["households"], part["population"])


def people_at(client, a, address: str, households: list[str]) -> None:
    registered(client, "people", [{"address": address, "name": f"新居民{h}",
                                   "registration": "resident", "household": h}
                                  for h in households], county=a.county)


def test_each_region_counts_its_grids_against_the_rules_and_lists_those_over(
        sized, area, db, api):
    a, _ = area
    admin = signed_in_client(sized, "admin")
    township = sizing(admin, a.township)
    assert township["parent"] == {"code": a.township, "name": "规划测试镇", "level": "township"}
    # the neighbour village has no registry loaded: nothing is known of its grid's size
    assert [figures(p) for p in township["parts"]] == [
        (a.village, 3, 1, 0, 2, 0, 0, 5, 8), (a.neighbour, 1, 0, 0, 0, 0, 1, 0, 0)]

    # registered, and rural: no rule is set for a rural grid
    with db.begin() as conn:
        conn.execute(text("UPDATE region SET properties = properties || '{\"setting\": "
                          "\"rural\"}' WHERE code = :c"), {"c": a.neighbour})
    x, y = a.at(1.5, 1.5)
    registered(api, "addresses", [{"address": "邻村路1号", "lon": x, "lat": y}], county=a.county)
    people_at(api, a, "邻村路1号", ["1"])
    county = sizing(admin, a.county)
    assert [figures(p) for p in county["parts"]] == [(a.township, 4, 1, 0, 2, 1, 0, 6, 9)]
    assert figures({**county["totals"], "code": a.township}) == figures(county["parts"][0])
    assert [(g["code"], g["households"], g["population"], g["size"], g["rule"])
            for g in county["grids"]] == [(a.code("B"), 3, 5, "over", URBAN)]

    # a village's grids, each with its size; a member who left is not counted
    with db.connect() as conn:
        person = conn.execute(text(
            "SELECT p.id FROM person p JOIN household hh ON hh.id = p.household_id "
            "JOIN house h ON h.id = hh.house_id JOIN address ad ON ad.id = h.address_id "
            "WHERE ad.county_code = :c AND p.name = '居民3'"), {"c": a.county}).scalar_one()
    left = api.post(f"/registry/people/{person}/departure", json={"reason": "moved_away"})
    assert left.status_code == 200, left.text
    village = sizing(admin, a.village)
    assert village["parts"] == []
    assert [(g["code"], g["households"], g["population"], g["size"])
            for g in village["grids"]] == [(a.code("A"), 1, 2, "ok"), (a.code("B"), 3, 4, "over"),
                                           (a.code("C"), 1, 1, "ok")]

    # C now four households against a maximum of two: further over than B's three
    people_at(api, a, "规划路C1号", ["2", "3", "4"])
    listed = sizing(admin, a.township)["grids"]
    assert [(g["code"], g["households"]) for g in listed] == [(a.code("C"), 4), (a.code("B"), 3)]


def test_sizing_is_for_the_planners_of_the_region(clients, area):
    a, _ = area
    r = clients["planner"].get("/grids/sizing", params={"parent": a.county})
    assert r.status_code == 403 and r.json()["detail"][0]["loc"] == ["query", "parent"], r.text
    own = clients["planner"].get("/grids/sizing")
    assert own.status_code == 200 and own.json()["parent"]["code"] == "420106", own.text
    for username in ("worker", "command", "auditor"):
        assert clients[username].get("/grids/sizing").status_code == 403
    r = clients["admin"].get("/grids/sizing", params={"parent": f"{a.county}999"})
    assert r.status_code == 404 and r.json()["detail"][0]["loc"] == ["query", "parent"], r.text


def test_the_command_line_counts_a_regions_grids_against_the_rules(area):
    """The rules as set by default: an urban grid of fewer than 300 households is under."""
    a, _ = area
    said = CliRunner().invoke(app, ["grids", "sizing", "--parent", a.township])
    assert said.exit_code == 0, said.output
    assert said.output.splitlines() == [
        "规划测试镇  4 grids: 0 over, 3 under, 0 ok, 0 no rule, 1 no registry; "
        "5 households, 8 people",
        f"{a.village}  规划测试社区  3 grids: 0 over, 3 under, 0 ok, 0 no rule, "
        "0 no registry; 5 households, 8 people",
        f"{a.neighbour}  邻村  1 grid: 0 over, 0 under, 0 ok, 0 no rule, 1 no registry; "
        "0 households, 0 people"]
    said = CliRunner().invoke(app, ["grids", "sizing", "--parent", a.village])
    assert said.output.splitlines()[2] == (
        f"{a.code('B')}  规划测试网格B  under: 3 households (at most 500), 5 people (at most 2500)")
    said = CliRunner().invoke(app, ["grids", "sizing", "--parent", f"{a.county}999"])
    assert said.exit_code == 2 and f"--parent: no region {a.county}999" in said.output


def test_the_planner_sees_where_grids_are_over_and_goes_there(sized, browser, area):
    a, _ = area
    username = planner_of(a.county)
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, sized, "/map/plan", username, PASSWORD)
    wait_until(page, "document.querySelectorAll('#plan-over li').length === 1", "the list")
    option = page.locator(f"#pick-township option[value='{a.township}']")
    assert option.inner_text() == "规划测试镇（1 个网格超出上限）"
    assert page.inner_text("#plan-over-title") == "超出上限的网格：1 个"
    listed = page.locator("#plan-over button")
    assert listed.inner_text() == "规划测试网格B 3 户（上限 2），5 人（上限 4）"
    listed.click()
    wait_until(page, "!document.getElementById('plan-drafts').hidden", "the village")
    assert page.input_value("#pick-village") == a.village
    assert page.is_hidden("#plan-over-box")
    labels = sorted(page.locator(".grid-tip").all_inner_texts())
    assert labels == ["001 1户", "002 3户", "003 1户"]
    colours = page.evaluate("""() => { const colours = {};
        window.mapsvcPlan.grids.eachLayer((l) => {
            colours[l.feature.properties.code] = l.options.fillColor; });
        return colours; }""")
    assert colours == {a.code("A"): "#2e7d32", a.code("B"): "#c62828", a.code("C"): "#2e7d32"}
    page.screenshot(path=str(ARTIFACTS / "plan_sizing.png"))
    assert watch.problems == []
    context.close()
