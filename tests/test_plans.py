"""Planners redraw grids: drafts that leave the live grids alone, validation, impact preview,
publish in one transaction, and history."""

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import shapely
from shapely.geometry import LineString, mapping, shape
from sqlalchemy import text

from tests.conftest import run
from tests.planning import Area


def same(geojson: dict, geom) -> bool:
    """Equal to within the 6 decimals of a degree (10 cm) that GeoJSON answers carry."""
    return shape(geojson).hausdorff_distance(geom) < 1e-6


def new_plan(client, a, name="调整方案"):
    r = client.post("/plans", json={"name": name, "villages": [a.village]})
    assert r.status_code == 201, r.text
    return r.json()


def live_grids(api, a) -> dict[str, dict]:
    body = api.get("/grids", params={"parent": a.village}).json()
    return {f["properties"]["code"]: f for f in body["features"]}


def drafted(api, plan) -> dict[str, dict]:
    body = api.get(f"/plans/{plan['id']}/grids").json()
    return {f["properties"]["code"]: f for f in body["features"]}


def split_b(api, a, plan, at=1.4):
    line = LineString([a.at(at, -0.2), a.at(at, 1.2)])
    r = api.post(f"/plans/{plan['id']}/split", json={"code": a.code("B"), "line": mapping(line)})
    assert r.status_code == 200, r.text
    return r.json()["codes"]


def test_a_draft_holds_the_villages_grids_and_edits_leave_the_live_grids_alone(api, area):
    a, _ = area
    before = live_grids(api, a)
    plan = new_plan(api, a)
    assert plan["status"] == "draft" and plan["grids"] == 3 and plan["retired"] == []
    assert set(drafted(api, plan)) == {a.code(n) for n in "ABC"}
    codes = split_b(api, a, plan)
    assert codes == [a.code("B"), f"{a.village}004"]  # the larger (east) piece keeps the code
    grids = drafted(api, plan)
    assert same(grids[a.code("B")]["geometry"], a.cell(1.4, 0, 0.6))
    assert same(grids[f"{a.village}004"]["geometry"], a.cell(1, 0, 0.4))
    assert grids[a.code("B")]["properties"]["change"] == "reshaped"
    assert grids[f"{a.village}004"]["properties"]["change"] == "new"
    assert grids[a.code("A")]["properties"]["change"] == "unchanged"
    r = api.post(f"/plans/{plan['id']}/merge", json={"codes": [a.code("A"), f"{a.village}004"]})
    assert r.status_code == 200, r.text
    grids = drafted(api, plan)
    assert same(grids[a.code("A")]["geometry"], a.cell(0, 0, 1.4))
    assert live_grids(api, a) == before


def test_a_grid_is_cut_in_two_halves_of_equal_area_across_its_longer_side(api, area):
    """Asked for halves of equal area (no line drawn, as from the keyboard): grid B, a square
    of degrees and so taller than wide on the ground at 21°N, cut across at half its height;
    asked with a line as well, or with neither, refused naming the line."""
    a, _ = area
    plan = new_plan(api, a)
    split = f"/plans/{plan['id']}/split"
    line = mapping(LineString([a.at(1.4, -0.2), a.at(1.4, 1.2)]))
    for body in ({"code": a.code("B")}, {"code": a.code("B"), "halves": "area", "line": line}):
        r = api.post(split, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "line"
    r = api.post(split, json={"code": a.code("B"), "halves": "area"})
    assert r.status_code == 200, r.text
    codes = r.json()["codes"]
    assert codes[0] == a.code("B") and len(codes) == 2
    grids = drafted(api, plan)
    halves = [a.cell(1, 0, 1, 0.5), a.cell(1, 0.5, 1, 0.5)]  # south, north
    assert sorted([same(grids[c]["geometry"], half) for half in halves] for c in codes) == [
        [False, True], [True, False]]
    assert api.get(f"/plans/{plan['id']}/validation").json()["errors"] == 0


def test_a_grid_is_cut_in_two_halves_of_its_registered_households(api, area):
    """Asked for halves of households: B's homes (one household at its west, two at its east)
    lie at one height, across which B is cut: refused naming the halves; A and B merged (wider
    than tall) hold A's household, B's west one and B's east two: cut halfway between B's
    homes, two households on either side, as the validation counts them."""
    a, _ = area
    plan = new_plan(api, a)
    split = f"/plans/{plan['id']}/split"
    r = api.post(split, json={"code": a.code("B"), "halves": "households"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "halves"
    assert api.post(f"/plans/{plan['id']}/merge",
                    json={"codes": [a.code("A"), a.code("B")]}).status_code == 200
    r = api.post(split, json={"code": a.code("A"), "halves": "households"})
    assert r.status_code == 200, r.text
    west, east = r.json()["codes"]
    grids = drafted(api, plan)
    assert same(grids[west]["geometry"], a.cell(0, 0, 1.5))
    assert same(grids[east]["geometry"], a.cell(1.5, 0, 0.5))
    report = api.get(f"/plans/{plan['id']}/validation").json()
    assert {g["code"]: g["households"] for g in report["grids"]
            if g["code"] in (west, east)} == {west: 2, east: 2}


def test_a_line_that_does_not_cross_the_grid_is_refused_naming_it(api, area):
    a, _ = area
    plan = new_plan(api, a)
    line = LineString([a.at(1.4, 0.2), a.at(1.4, 0.8)])  # inside B, from no edge to no edge
    r = api.post(f"/plans/{plan['id']}/split", json={"code": a.code("B"), "line": mapping(line)})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "line"
    r = api.post(f"/plans/{plan['id']}/merge", json={"codes": [a.code("A"), "nope"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "codes"


def test_only_planners_of_the_region_and_admins_plan(clients, area):
    a, _ = area
    for role in ("command", "worker", "department"):
        assert clients[role].post("/plans", json={"name": "x", "villages": [a.village]}
                                  ).status_code == 403
    # the planner account plans 武昌区 only
    assert clients["planner"].post("/plans", json={"name": "x", "villages": [a.village]}
                                   ).status_code == 403
    r = clients["admin"].post("/plans", json={"name": "x", "villages": ["990399999999"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "villages"


def ogc(client, path: str) -> str:
    """The OGC API path beside the client's /api/v1 base."""
    return str(client.base_url).removesuffix("/api/v1/") + "/ogc" + path


def plan_items(client, plan) -> str:
    return ogc(client, f"/collections/plan-{plan['id']}/items")


def patch_grid(api, plan, which, **changes):
    fid = drafted(api, plan)[which]["id"]
    body = {"type": "Feature", "properties": {k: v for k, v in changes.items() if k != "geometry"}}
    if "geometry" in changes:
        body["geometry"] = mapping(changes["geometry"])
    r = api.patch(f"{plan_items(api, plan)}/{fid}", json=body)
    assert r.status_code == 204, r.text


def findings(api, plan, kind=None) -> list[dict]:
    report = api.get(f"/plans/{plan['id']}/validation").json()
    return [f for f in report["findings"] if kind is None or f["kind"] == kind]


@pytest.fixture(scope="module")
def drafting(clients, hierarchy, tmp_path_factory):
    """An area only drafted in, never published: shared by the validation tests."""
    from mapsvc.db.engine import in_transaction
    from mapsvc.demo import load_hierarchy

    a = Area(90)
    run(in_transaction(lambda conn: load_hierarchy(
        conn, a.write_files(tmp_path_factory.mktemp("drafting")))))
    return a


def test_a_clean_draft_has_no_errors_and_counts_households_from_the_registry(api, area):
    a, _ = area
    plan = new_plan(api, a)
    split_b(api, a, plan)
    report = api.get(f"/plans/{plan['id']}/validation").json()
    assert report["errors"] == 0, report["findings"]
    sizes = {g["code"]: (g["households"], g["population"], g["setting"], g["size"])
             for g in report["grids"]}
    assert sizes == {a.code("A"): (1, 2, "urban", "under"), a.code("B"): (2, 4, "urban", "under"),
                     f"{a.village}004": (1, 1, "urban", "under"),
                     a.code("C"): (1, 1, "urban", "under")}
    # an urban grid under 300 households is worth a warning, not an error
    assert {f["kind"] for f in report["findings"]} == {"households_under"}


def test_people_who_left_are_not_counted_in_a_drafts_sizes_or_its_impact(api, area, db):
    a, _ = area
    with db.connect() as conn:
        ids = dict(conn.execute(text(
            "SELECT p.name, p.id FROM person p JOIN household hh ON hh.id = p.household_id "
            "JOIN house h ON h.id = hh.house_id JOIN address ad ON ad.id = h.address_id "
            "WHERE ad.county_code = :c"), {"c": a.county}).all())
    for name in ("居民2", "居民3"):  # the one in B's west, one of the four in B's east
        r = api.post(f"/registry/people/{ids[name]}/departure", json={"reason": "moved_away"})
        assert r.status_code == 200, r.text
    plan = new_plan(api, a)
    split_b(api, a, plan)
    report = api.get(f"/plans/{plan['id']}/validation").json()
    sizes = {g["code"]: (g["households"], g["population"]) for g in report["grids"]}
    new = f"{a.village}004"
    assert sizes == {a.code("A"): (1, 2), a.code("B"): (2, 3), new: (1, 0), a.code("C"): (1, 1)}
    moved = api.get(f"/plans/{plan['id']}/impact").json()["moves"]
    assert [(m["to"], m["households"], m["people"]) for m in moved] == [(new, 1, 0)]


@pytest.mark.parametrize("problem", ["gap", "overlap", "outside_village", "invalid", "sliver",
                                     "multipart", "code_taken"])
def test_validation_finds_each_kind_of_problem_where_it_is(api, drafting, problem):
    a = drafting
    plan = new_plan(api, a, f"有{problem}的方案")
    if problem == "gap":
        patch_grid(api, plan, a.code("A"), geometry=a.cell(0, 0, 0.875))
        where, grids = a.at(0.94, 0.5), []
    elif problem == "overlap":
        patch_grid(api, plan, a.code("C"), geometry=a.cell(1.875, 0, 1.125))
        where, grids = a.at(1.94, 0.5), [a.code("B"), a.code("C")]
    elif problem == "outside_village":
        patch_grid(api, plan, a.code("C"), geometry=a.cell(2, 0, 1.125))
        where, grids = a.at(3.06, 0.5), [a.code("C")]
    elif problem == "invalid":  # a bow tie over C
        x0, y0 = a.at(2, 0)
        x1, y1 = a.at(3, 1)
        patch_grid(api, plan, a.code("C"), geometry=shapely.Polygon(
            [(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)]))
        where, grids = a.at(2.5, 0.5), [a.code("C")]
    elif problem == "sliver":  # a corner of A, about 4 m by 4 m, drawn as a grid of its own
        r = api.post(plan_items(api, plan), json={"type": "Feature", "properties": {},
                                                 "geometry": mapping(a.cell(0, 0, 0.01, 0.01))})
        assert r.status_code == 201
        where, grids = a.at(0.005, 0.005), [f"{a.village}004"]
    elif problem == "multipart":
        r = api.post(f"/plans/{plan['id']}/merge", json={"codes": [a.code("A"), a.code("C")]})
        assert r.status_code == 200
        where, grids = a.at(2.5, 0.5), [a.code("A")]
    else:  # the neighbour village's grid code
        patch_grid(api, plan, a.code("C"), code=f"{a.neighbour}001")
        where, grids = a.at(2.5, 0.5), [f"{a.neighbour}001"]
    found = findings(api, plan, problem)
    assert len(found) == 1, findings(api, plan)
    assert found[0]["grids"] == grids
    assert shape(found[0]["geometry"]).distance(shapely.Point(where)) < 1e-6
    assert found[0]["severity"] == ("warning" if problem == "multipart" else "error")


def test_a_village_with_no_registry_has_its_sizes_left_unjudged(api, drafting):
    """Nothing is known of its grids' households: they are not called under their minimum."""
    a = drafting
    plan = new_plan(api, a, "未登记住户的村")
    report = api.get(f"/plans/{plan['id']}/validation").json()
    assert [(f["kind"], f["severity"], f["village_code"]) for f in report["findings"]] == [
        ("no_registry", "warning", a.village)]
    assert {g["code"]: g["size"] for g in report["grids"]} == {
        a.code(n): "no_registry" for n in "ABC"}


def test_an_invalid_grid_is_made_valid_before_its_overlaps_are_measured(api, drafting):
    a = drafting
    plan = new_plan(api, a, "蝴蝶结跨入乙")
    x0, y0 = a.at(1.5, 0)
    x1, y1 = a.at(3, 1)
    # a bow tie over C whose western triangle reaches halfway into B
    patch_grid(api, plan, a.code("C"), geometry=shapely.Polygon(
        [(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)]))
    assert [f["grids"] for f in findings(api, plan, "invalid")] == [[a.code("C")]]
    overlap = findings(api, plan, "overlap")
    assert [f["grids"] for f in overlap] == [[a.code("B"), a.code("C")]]
    # the triangle's part in B: from x = 1.5 to 2 cells, narrowing to its tip at 2.25
    expected = shapely.Polygon([a.at(1.5, 0), a.at(2, 1 / 3), a.at(2, 2 / 3), a.at(1.5, 1)])
    assert same(overlap[0]["geometry"], expected)


def test_sizing_rules_are_settings_per_kind_and_setting(db, area, monkeypatch, api):
    """Households and population over the configured maximum are errors."""
    from mapsvc import settings
    from mapsvc.accounts.model import Account, Role
    from mapsvc.boundaries.plans import load_plan
    from mapsvc.boundaries.validation import validate
    from mapsvc.db.engine import in_transaction

    a, _ = area
    plan = new_plan(api, a)
    monkeypatch.setenv("MAPSVC_PLANS_SIZING", '{"comprehensive/urban": {"households_max": 1, '
                                              '"population_max": 3}}')
    settings.plans.cache_clear()
    try:
        admin = Account(id=1, username="admin", role=Role.admin)

        async def check(conn):
            return await validate(conn, await load_plan(conn, admin, plan["id"]))
        report = run(in_transaction(check))
    finally:
        monkeypatch.delenv("MAPSVC_PLANS_SIZING")
        settings.plans.cache_clear()
    found = {(f["kind"], tuple(f["grids"]), f["value"]) for f in report["findings"]}
    assert found == {("households_over", (a.code("B"),), 3),
                     ("population_over", (a.code("B"),), 5)}
    assert {g["code"]: g["size"] for g in report["grids"]} == {
        a.code("A"): "ok", a.code("B"): "over", a.code("C"): "ok"}


def case_grid(db, case) -> tuple[str | None, int | None, str]:
    with db.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT g.code, gv.version, i.assignment FROM incident i "
            "LEFT JOIN grid g ON g.id = i.grid_id "
            "LEFT JOIN grid_version gv ON gv.id = i.grid_version_id "
            "WHERE i.id = :id"), {"id": case}).one())


def snapshot(db, a) -> dict:
    """Everything a publish may change in the area."""
    with db.connect() as conn:
        return {
            "versions": conn.execute(text(
                "SELECT g.code, gv.version, gv.valid_to FROM grid g JOIN grid_version gv "
                "ON gv.grid_id = g.id WHERE g.village_code = :v ORDER BY 1, 2"),
                {"v": a.village}).all(),
            "incidents": conn.execute(text(
                "SELECT id, grid_version_id FROM incident WHERE county_code = :c ORDER BY id"),
                {"c": a.county}).all(),
            "logs": conn.execute(text(
                "SELECT count(*) FROM incident_log l JOIN incident i ON i.id = l.incident_id "
                "WHERE i.county_code = :c"), {"c": a.county}).scalar_one(),
            "addresses": conn.execute(text(
                "SELECT id, grid_version_id FROM address WHERE county_code = :c ORDER BY id"),
                {"c": a.county}).all(),
        }


def b2_into(api, a, db, micro: str) -> dict:
    """B's second house (规划路B2号, staying in B when it is split) put into the micro-grid
    ``micro``: B's micro-grids as the answer lists them."""
    with db.connect() as conn:
        house = conn.execute(text("SELECT id FROM address WHERE street = '规划路B2号' "
                                  "AND grid_id = (SELECT id FROM grid WHERE code = :g)"),
                             {"g": a.code("B")}).scalar_one()
    r = api.post(f"/registry/micro-grids/{micro}/addresses", json={"address": house})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_impact_preview_shows_what_would_move_and_changes_nothing(api, area, db):
    a, _ = area
    plan = new_plan(api, a)
    split_b(api, a, plan)
    # B's two houses in one micro-grid, which the new boundary splits: the household moving
    # leaves it
    west, east = (m["code"] for m in api.post(f"/registry/grids/{a.code('B')}/micro-grids",
                                              json={}).json()["micro_grids"])
    b2_into(api, a, db, west)
    before = snapshot(db, a)
    impact = api.get(f"/plans/{plan['id']}/impact").json()
    new = f"{a.village}004"
    assert impact["moves"] == [{
        "from": a.code("B"), "to": new, "incidents": 1, "households": 1, "people": 1,
        "micro_households": 1, "organisations": 0, "components": 0, "places": 0,
        "from_workers": [], "to_workers": []}]
    changes = {g["code"]: g["change"] for g in impact["grids"]}
    assert changes == {a.code("A"): "unchanged", a.code("B"): "reshaped", a.code("C"): "unchanged",
                       new: "new"}
    assert snapshot(db, a) == before
    assert api.get(f"/plans/{plan['id']}").json()["status"] == "draft"


def test_a_micro_grid_a_redraw_moves_whole_goes_with_its_households_and_leader(api, area, db):
    """B divided, a micro-grid a house: the west house's moves whole into the new grid, led as
    before; the east's stays. No household leaves its micro-grid."""
    a, _ = area
    plan = new_plan(api, a)
    split_b(api, a, plan)
    listed = api.post(f"/registry/grids/{a.code('B')}/micro-grids",
                      json={}).json()["micro_grids"]
    assert [m["households"] for m in listed] == [1, 2]
    west, east = (m["code"] for m in listed)
    [resident] = api.get("/registry/people", params={"micro_grid": west}).json()
    assert api.patch(f"/registry/micro-grids/{west}",
                     json={"leader": resident["id"]}).status_code == 200
    [move] = api.get(f"/plans/{plan['id']}/impact").json()["moves"]
    assert (move["households"], move["micro_households"]) == (1, 0)
    assert api.post(f"/plans/{plan['id']}/publish", json={}).status_code == 200

    new = f"{a.village}004"
    moved = api.get(f"/registry/grids/{new}/micro-grids").json()
    [followed] = moved["micro_grids"]
    assert (followed["code"], followed["name"], followed["households"]) == (
        f"{new}001", listed[0]["name"], 1)
    assert followed["leader"]["id"] == resident["id"] and not followed["leader_gone"]
    assert (moved["households"], moved["placed"]) == (1, 1)
    stayed = api.get(f"/registry/grids/{a.code('B')}/micro-grids").json()
    assert [m["code"] for m in stayed["micro_grids"]] == [east]
    assert (stayed["households"], stayed["placed"]) == (2, 2)
    with db.connect() as conn:  # the grids' figures (the wall's counts) follow
        assert dict(conn.execute(text(
            "SELECT g.code, f.micro_grids || '/' || f.micro_led FROM grid_figures f "
            "JOIN grid g ON g.id = f.grid_id WHERE g.code IN (:b, :new)"),
            {"b": a.code("B"), "new": new}).all()) == {a.code("B"): "1/0", new: "1/1"}


def test_a_micro_grid_a_redraw_cuts_is_two_and_its_leader_goes_with_his_part(api, area, db):
    """B divided, then B's second house put into the west house's micro-grid, led by the west
    house's resident: the new boundary cuts it. The part moving is a micro-grid of the new grid
    of the same name, led by him; the part staying keeps its code, led by none until another is
    named. The preview says the household moving leaves its micro-grid."""
    a, _ = area
    plan = new_plan(api, a)
    split_b(api, a, plan)
    listed = api.post(f"/registry/grids/{a.code('B')}/micro-grids",
                      json={}).json()["micro_grids"]
    west, east = (m["code"] for m in listed)
    before = {m["code"]: m["households"] for m in b2_into(api, a, db, west)["micro_grids"]}
    [resident] = [p for p in api.get("/registry/people", params={"micro_grid": west}).json()
                  if "规划路B2号" not in p["address"]]  # the west house's
    assert api.patch(f"/registry/micro-grids/{west}",
                     json={"leader": resident["id"]}).status_code == 200
    [move] = api.get(f"/plans/{plan['id']}/impact").json()["moves"]
    assert (move["households"], move["micro_households"]) == (1, 1)
    assert api.post(f"/plans/{plan['id']}/publish", json={}).status_code == 200

    new = f"{a.village}004"
    moved = api.get(f"/registry/grids/{new}/micro-grids").json()
    [split] = moved["micro_grids"]
    assert (split["code"], split["name"], split["households"]) == (
        f"{new}001", listed[0]["name"], 1)
    assert split["leader"]["id"] == resident["id"]
    assert (moved["households"], moved["placed"]) == (1, 1)
    stayed = api.get(f"/registry/grids/{a.code('B')}/micro-grids").json()
    assert [(m["code"], m["households"], m["leader"], m["leader_gone"])
            for m in stayed["micro_grids"]] == [(west, before[west] - 1, None, False),
                                                (east, before[east], None, False)]
    assert stayed["placed"] == stayed["households"]
    with db.connect() as conn:
        assert dict(conn.execute(text(
            "SELECT g.code, f.micro_grids || '/' || f.micro_led FROM grid_figures f "
            "JOIN grid g ON g.id = f.grid_id WHERE g.code IN (:b, :new)"),
            {"b": a.code("B"), "new": new}).all()) == {a.code("B"): "2/0", new: "1/1"}


def grid_tile_etag(api, a) -> str:
    import morecantile

    tile = morecantile.tms.get("WebMercatorQuad").tile(*a.at(1.5, 0.5), 14)
    r = api.get(ogc(api, f"/collections/grids/tiles/WebMercatorQuad/14/{tile.x}/{tile.y}"))
    assert r.status_code == 200
    return r.headers["etag"]


def test_publishing_moves_open_cases_keeps_closed_ones_and_keeps_history(api, area, db):
    a, cases = area
    plan = new_plan(api, a)
    split_b(api, a, plan)
    etag = grid_tile_etag(api, a)
    r = api.post(f"/plans/{plan['id']}/publish", json={})
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["status"] == "published" and published["forced_reason"] is None
    assert grid_tile_etag(api, a) != etag  # the wall's grid tiles are drawn again
    new = f"{a.village}004"
    assert case_grid(db, cases["west"]) == (new, 1, "inside")     # open: moved to the new grid
    assert case_grid(db, cases["east"]) == (a.code("B"), 2, "inside")  # open: B's new version
    assert case_grid(db, cases["void"]) == (a.code("B"), 1, "inside")  # closed: as it was
    log = api.get(f"/incidents/{cases['west']}/timeline").json()
    regrid = [step for step in log if step["action"] == "regrid"]
    assert len(regrid) == 1 and regrid[0]["data"]["from"] == {"code": a.code("B"), "version": 1}
    assert regrid[0]["data"]["to"] == {"code": new, "version": 1}
    # the live grids, the history and the registry
    grids = live_grids(api, a)
    assert set(grids) == {a.code("A"), a.code("B"), a.code("C"), new}
    assert same(grids[a.code("B")]["geometry"], a.cell(1.4, 0, 0.6))
    versions = api.get(f"/grids/{a.code('B')}/versions").json()["features"]
    assert [v["properties"]["version"] for v in versions] == [1, 2]
    assert versions[1]["properties"]["plan"]["id"] == plan["id"]
    assert versions[0]["properties"]["valid_to"] == versions[1]["properties"]["valid_from"]
    switched = versions[1]["properties"]["valid_from"]
    x, y = a.at(1.2, 0.5)
    then = api.get("/locate", params={"lon": x, "lat": y, "at": "2020-01-01T00:00:00Z"}).json()
    now = api.get("/locate", params={"lon": x, "lat": y}).json()
    assert (then["grid"]["code"], now["grid"]["code"]) == (a.code("B"), new)
    old_map = api.get("/grids", params={"parent": a.village, "at": "2020-01-01T00:00:00Z"}).json()
    assert sorted(f["properties"]["code"] for f in old_map["features"]) == [
        a.code(n) for n in "ABC"]

    def changes(since: str, until: str) -> dict[str, tuple]:
        diff = api.get("/grids/diff", params={"from": since, "to": until, "parent": a.village})
        return {f["properties"]["code"]: (f["properties"]["change"],
                                          f["properties"]["plan"]["id"],
                                          f["properties"]["plan"]["published_by"])
                for f in diff.json()["features"]}

    assert changes("2020-01-01T00:00:00Z", switched) == {
        a.code("B"): ("reshaped", plan["id"], "admin"), new: ("added", plan["id"], "admin")}
    with db.connect() as conn:
        homes = dict(conn.execute(text(
            "SELECT a.full_text, g.code FROM address a JOIN grid g ON g.id = a.grid_id "
            "WHERE a.county_code = :c"), {"c": a.county}).all())
    assert homes["规划路B1号"] == new and homes["规划路B2号"] == a.code("B")
    # a published plan no longer changes
    assert api.post(f"/plans/{plan['id']}/split", json={
        "code": a.code("A"), "line": mapping(LineString([a.at(0.5, -1), a.at(0.5, 2)]))}
                    ).status_code == 409
    # merged again by a second plan, which the changes since the first name
    again = new_plan(api, a, "合并回去")
    merged = api.post(f"/plans/{again['id']}/merge", json={"codes": [a.code("B"), new]})
    assert merged.status_code == 200, merged.text
    assert api.post(f"/plans/{again['id']}/publish", json={}).status_code == 200
    assert changes(switched, datetime.now(UTC).isoformat()) == {
        a.code("B"): ("reshaped", again["id"], "admin"), new: ("retired", again["id"], "admin")}


def drawn_grids(api, db, a) -> dict[tuple, dict]:
    """Each grid tile over the area, zooms 12 to 16, as served: ``{tile: {grid id: its drawn
    geometry (JSON)}}``, checked against the current grid versions clipped to that tile
    afresh."""
    import mapbox_vector_tile
    import morecantile

    (west, south), (east, north) = a.at(0, 0), a.at(3, 2)
    drawn = {}
    for t in morecantile.tms.get("WebMercatorQuad").tiles(west, south, east, north,
                                                          range(12, 17)):
        r = api.get(ogc(api, f"/collections/grids/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"))
        assert r.status_code == 200, r.text
        with db.connect() as conn:
            afresh = conn.execute(text(
                "SELECT ST_AsMVT(t, 'grids', 4096, 'geom', 'id') FROM ("
                " SELECT gv.grid_id AS id, ST_AsMVTGeom(gv.geom_3857, ST_TileEnvelope(:z, :x, :y),"
                "                                       4096, 64, true) AS geom"
                "   FROM grid_version gv WHERE gv.valid_to IS NULL"
                "    AND gv.geom_3857 && ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096)) t"),
                {"z": t.z, "x": t.x, "y": t.y}).scalar_one()
        tiles = [sorted((f["id"], json.dumps(f["geometry"])) for f in mapbox_vector_tile.decode(
                     body, default_options={"y_coord_down": True}).get("grids", {"features": []})
                  ["features"]) for body in (r.content, afresh)]
        assert tiles[0] == tiles[1], t
        drawn[t] = dict(tiles[0])
    return drawn


def test_grid_tiles_draw_each_grid_as_published_at_every_zoom(api, area, db):
    import morecantile

    a, _ = area
    tms = morecantile.tms.get("WebMercatorQuad")
    with db.connect() as conn:
        b = conn.execute(text("SELECT id FROM grid WHERE code = :c"),
                         {"c": a.code("B")}).scalar_one()
    before = drawn_grids(api, db, a)
    plan = new_plan(api, a)
    split_b(api, a, plan)  # B's west part, up to 1.4, becomes a new grid
    assert api.post(f"/plans/{plan['id']}/publish", json={}).status_code == 200
    after = drawn_grids(api, db, a)
    with db.connect() as conn:
        new = conn.execute(text("SELECT id FROM grid WHERE code = :c"),
                           {"c": f"{a.village}004"}).scalar_one()
    for z in range(12, 17):
        west, east = tms.tile(*a.at(1.2, 0.5), z), tms.tile(*a.at(1.7, 0.5), z)
        assert new not in before[west] and new in after[west]
        assert after[east][b] != before[east][b]


def test_a_plan_that_closes_a_gap_takes_in_the_cases_left_in_it(api, area, db):
    a, _ = area
    shrink = new_plan(api, a, "缩小甲")
    patch_grid(api, shrink, a.code("A"), geometry=a.cell(0, 0, 0.5))
    r = api.post(f"/plans/{shrink['id']}/publish", json={"force_reason": "河道暂不划入"})
    assert r.status_code == 200, r.text
    x, y = a.at(0.75, 0.5)  # about 100 m from A and from B: in no grid
    r = api.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "06",
                                     "description": "缺口里的事件", "lon": x, "lat": y})
    assert r.status_code == 201 and r.json()["method"] == "unassigned"
    stray = r.json()["id"]
    restore = new_plan(api, a, "恢复甲")
    patch_grid(api, restore, a.code("A"), geometry=a.cell(0, 0))
    impact = api.get(f"/plans/{restore['id']}/impact").json()
    assert [(m["from"], m["to"], m["incidents"]) for m in impact["moves"]] == [
        (None, a.code("A"), 1)]
    assert case_grid(db, stray) == (None, None, "unassigned")
    assert api.post(f"/plans/{restore['id']}/publish", json={}).status_code == 200
    assert case_grid(db, stray) == (a.code("A"), 3, "inside")


def test_a_failure_midway_through_publishing_changes_nothing(api, area, db):
    a, _ = area
    plan = new_plan(api, a)
    split_b(api, a, plan)
    before = snapshot(db, a)
    with db.begin() as conn:  # the database fails when the first moved case is logged
        conn.execute(text("""
            CREATE FUNCTION fail_regrid() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'injected failure'; END $$;
            CREATE TRIGGER fail_regrid BEFORE INSERT ON incident_log FOR EACH ROW
                WHEN (NEW.action = 'regrid') EXECUTE FUNCTION fail_regrid();"""))
    try:  # on its own connection: the server drops a connection whose request crashed
        r = httpx.post(f"{api.base_url}plans/{plan['id']}/publish", json={},
                       headers=api.headers, timeout=30)
    finally:
        with db.begin() as conn:
            conn.execute(text("DROP TRIGGER fail_regrid ON incident_log; "
                              "DROP FUNCTION fail_regrid()"))
    assert r.status_code == 500
    assert snapshot(db, a) == before
    assert api.get(f"/plans/{plan['id']}").json()["status"] == "draft"
    assert api.post(f"/plans/{plan['id']}/publish", json={}).status_code == 200


def test_a_plan_with_errors_is_refused_unless_an_admin_forces_it_with_a_reason(clients, area):
    a, _ = area
    api = clients["admin"]
    plan = new_plan(api, a)
    patch_grid(api, plan, a.code("A"), geometry=a.cell(0, 0, 0.875))  # a gap
    r = api.post(f"/plans/{plan['id']}/publish", json={})
    assert r.status_code == 409 and r.json()["detail"][0]["loc"][-1] == "force_reason"
    r = api.post(f"/plans/{plan['id']}/publish", json={"force_reason": "  "})
    assert r.status_code == 409
    r = api.post(f"/plans/{plan['id']}/publish", json={"force_reason": "河道两侧暂不划入网格"})
    assert r.status_code == 200, r.text
    assert r.json()["forced_reason"] == "河道两侧暂不划入网格"
    versions = api.get(f"/grids/{a.code('A')}/versions").json()["features"]
    assert versions[-1]["properties"]["plan"]["forced_reason"] == "河道两侧暂不划入网格"


def test_a_plan_drafted_before_the_grids_changed_is_refused(api, area):
    a, _ = area
    first, second = new_plan(api, a, "甲方案"), new_plan(api, a, "乙方案")
    split_b(api, a, first)
    split_b(api, a, second, at=1.6)
    assert api.post(f"/plans/{first['id']}/publish", json={}).status_code == 200
    assert any(f["kind"] == "stale" for f in findings(api, second))
    r = api.post(f"/plans/{second['id']}/publish", json={"force_reason": "强制"})
    assert r.status_code == 409 and r.json()["detail"][0]["loc"][-1] == "plan"


def test_a_backdated_plan_takes_effect_when_it_was_decided(api, area):
    a, _ = area
    plan = new_plan(api, a)
    patch_grid(api, plan, a.code("C"), name="改名网格")
    api.delete(f"{plan_items(api, plan)}/{drafted(api, plan)[a.code('C')]['id']}")  # retire C
    patch_grid(api, plan, a.code("B"), geometry=a.cell(1, 0, 2))
    r = api.post(f"/plans/{plan['id']}/publish", json={"effective_from": "2030-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "effective_from"
    r = api.post(f"/plans/{plan['id']}/publish",
                 json={"effective_from": "2025-06-01T00:00:00+08:00"})
    assert r.status_code == 200, r.text
    assert set(live_grids(api, a)) == {a.code("A"), a.code("B")}
    x, y = a.at(2.5, 0.5)
    for at, code in (("2025-05-31T00:00:00Z", a.code("C")), ("2025-06-02T00:00:00Z", a.code("B"))):
        located = api.get("/locate", params={"lon": x, "lat": y, "at": at}).json()
        assert located["grid"]["code"] == code


def test_a_redrawn_layer_from_a_file_replaces_the_draft_whole_or_not_at_all(api, area):
    a, _ = area
    plan = new_plan(api, a)

    def layer(*features):
        return {"file": ("grids.geojson", json.dumps({
            "type": "FeatureCollection", "crs": {"type": "name", "properties": {
                "name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
            "features": [{"type": "Feature", "properties": props, "geometry": mapping(geom)}
                         for props, geom in features]}), "application/geo+json")}

    merged = ({"code": a.code("A"), "name": "甲乙合并", "parent_code": a.village},
              a.cell(0, 0, 2))
    east = ({"code": a.code("C"), "name": "丙", "parent_code": a.village}, a.cell(2))
    stray = ({"code": "990399999001", "name": "外村", "parent_code": a.neighbour}, a.cell(0, 1))
    r = api.put(f"/plans/{plan['id']}/layer", files=layer(merged, east, stray))
    assert r.status_code == 422
    assert r.json()["rejected"] == [{
        "feature": 3, "code": "990399999001",
        "problem": f"village {a.neighbour} is not in plan {plan['id']}",
        "ctx": {"rule": "outside_plan", "village": a.neighbour}}]
    assert set(drafted(api, plan)) == {a.code(n) for n in "ABC"}  # unchanged
    r = api.put(f"/plans/{plan['id']}/layer", files=layer(merged, east))
    assert r.status_code == 200 and r.json()["grids"] == 2
    grids = drafted(api, plan)
    assert set(grids) == {a.code("A"), a.code("C")}
    assert grids[a.code("A")]["properties"]["name"] == "甲乙合并"
    assert same(grids[a.code("A")]["geometry"], a.cell(0, 0, 2))
    assert api.get(f"/plans/{plan['id']}").json()["retired"] == [a.code("B")]
    assert api.get(f"/plans/{plan['id']}/validation").json()["errors"] == 0
    r = api.put(f"/plans/{plan['id']}/layer", files={"file": ("x.geojson", b"{", "text/plain")})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "file"


def test_a_layer_edited_in_qgis_comes_back_as_a_zipped_shapefile(api, area, tmp_path):
    """In GBK, saying no encoding (no .cpg), as ArcGIS and Chinese tools write them."""
    import zipfile

    import geopandas as gpd

    a, _ = area
    plan = new_plan(api, a)
    layer = gpd.GeoDataFrame({"code": [a.code("A"), a.code("B")], "name": ["西", "东"],
                              "village": [a.village] * 2},
                             geometry=[a.cell(0, 0, 1.5), a.cell(1.5, 0, 1.5)], crs=4326)
    layer.to_file(tmp_path / "grids.shp", engine="pyogrio", encoding="gbk")
    (tmp_path / "grids.cpg").unlink()
    with zipfile.ZipFile(tmp_path / "grids.zip", "w") as z:
        for part in tmp_path.glob("grids.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    r = api.put(f"/plans/{plan['id']}/layer", data={"parent_field": "village"},
                files={"file": ("grids.zip", (tmp_path / "grids.zip").read_bytes(),
                                "application/zip")})
    assert r.status_code == 200, r.text
    grids = drafted(api, plan)
    assert {code: grid["properties"]["name"] for code, grid in grids.items()} == {
        a.code("A"): "西", a.code("B"): "东"}
    assert same(grids[a.code("B")]["geometry"], a.cell(1.5, 0, 1.5))
    assert api.get(f"/plans/{plan['id']}").json()["retired"] == [a.code("C")]


def test_a_split_across_a_long_slanting_village_edge_leaves_no_gap_or_overlap(api, tmp_path):
    """Grids are drawn straight in longitude and latitude. A split's line meets a village edge
    3 km long between two of its vertices at a point of that straight edge: measured on the
    ellipsoid, where a straight edge is no geodesic, the thin sliver between the edge and the
    two parts of it through that point would count tens of square metres. It is no gap."""
    from mapsvc.db.engine import in_transaction
    from mapsvc.demo import load_hierarchy

    village = shapely.Polygon([(121.90, 21.00), (121.93, 21.00), (121.95, 21.02),
                               (121.92, 21.02)])
    codes = {"county": "990398", "township": "990398001", "village": "990398001001",
             "grid": "990398001001001"}
    parents = {"township": "990398", "village": "990398001", "grid": "990398001001"}
    paths = {}
    for level, code in codes.items():
        paths[level] = tmp_path / f"{level}.geojson"
        paths[level].write_text(json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": mapping(village),
            "properties": {"code": code, "name": f"斜边{level}",
                           **({"parent_code": parents[level]} if level in parents else {})}}]}))
    run(in_transaction(lambda conn: load_hierarchy(conn, paths)))
    r = api.post("/plans", json={"name": "斜切", "villages": [codes["village"]]})
    assert r.status_code == 201, r.text
    plan = r.json()
    line = LineString([(121.89, 21.0123457), (121.96, 21.0123457)])  # across both slanting edges
    r = api.post(f"/plans/{plan['id']}/split", json={"code": codes["grid"],
                                                     "line": mapping(line)})
    assert r.status_code == 200, r.text
    report = api.get(f"/plans/{plan['id']}/validation").json()
    assert report["errors"] == 0, report["findings"]
    assert {f["kind"] for f in report["findings"]} <= {"no_registry"}


def test_a_drafts_layer_goes_out_as_a_file_and_comes_back_the_same_draft(clients, api, area,
                                                                          tmp_path):
    """Downloaded to redraw in QGIS, say: as a GeoPackage or GeoJSON in WGS84, each grid with
    the fields its layer is read by; put back as it came, the draft is what it was."""
    import geopandas as gpd

    a, _ = area
    plan = new_plan(api, a)
    split_b(api, a, plan)  # four grids, one of them new
    before = drafted(api, plan)
    fields = ("name", "kind", "village_code", "households", "population")
    for fmt in ("gpkg", "geojson"):
        r = api.get(f"/plans/{plan['id']}/layer", params={"format": fmt})
        assert r.status_code == 200, r.text
        assert r.headers["content-disposition"] == (
            f'attachment; filename="plan-{plan["id"]}.{fmt}"')
        path = tmp_path / f"layer.{fmt}"
        path.write_bytes(r.content)
        layer = gpd.read_file(path, engine="pyogrio").set_index("code")
        assert layer.crs.to_epsg() == 4326 and set(layer.index) == set(before)
        assert {"name", "parent_code", "kind", "households", "population"} <= set(layer.columns)
        for code, grid in before.items():
            assert same(grid["geometry"], layer.geometry[code])
            assert (layer.name[code], layer.parent_code[code]) == (
                grid["properties"]["name"], a.village)
        r = api.put(f"/plans/{plan['id']}/layer",
                    files={"file": (path.name, path.read_bytes(), r.headers["content-type"])})
        assert r.status_code == 200 and r.json() == {"grids": len(before), "repaired": []}
        after = drafted(api, plan)
        assert {code: [g["properties"][f] for f in fields] for code, g in after.items()} == {
            code: [g["properties"][f] for f in fields] for code, g in before.items()}
        assert all(same(after[code]["geometry"], shape(g["geometry"]))
                   for code, g in before.items())
    r = api.get(f"/plans/{plan['id']}/layer", params={"format": "shp"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "format"]
    # the planner account plans 武昌区 only
    assert clients["planner"].get(f"/plans/{plan['id']}/layer").status_code == \
        clients["planner"].get(f"/plans/{plan['id']}/grids").status_code == 403
