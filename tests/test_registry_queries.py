"""What each grid holds and who was visited: known answers on one untouched grid."""

import pytest
from sqlalchemy import text

from tests.conftest import csv_bytes, registered


@pytest.fixture(scope="module")
def block(clients, grids, db):
    """Grid X of 武昌区: 3 addresses, 4 people in 3 households, 2 households visited; a
    component, an organisation and a place."""
    grid = grids[grids["code"].str.startswith("420106")].iloc[5]
    p = grid.geometry.representative_point()
    admin = clients["admin"]
    registered(admin, "addresses",
               [{"address": f"和平路{n}号", "lon": p.x, "lat": p.y} for n in (1, 2, 3)],
               county="420106")
    registered(admin, "people", [
        {"address": "和平路1号", "name": "甲", "registration": "resident", "household": "1"},
        {"address": "和平路1号", "name": "乙", "registration": "resident", "household": "1"},
        {"address": "和平路2号", "name": "丙", "registration": "floating", "household": "2"},
        {"address": "和平路3号", "name": "丁", "registration": "overseas", "household": "3"}],
        county="420106")
    registered(admin, "things",
               [{"component_id": "4201060301000777", "name": "路灯", "lon": p.x, "lat": p.y}])
    registered(admin, "organisations",
               [{"name": "和平社区卫生服务站", "kind": "hospital", "lon": p.x, "lat": p.y}])
    registered(admin, "places", [{"name": "和平菜场", "kind": "market", "lon": p.x, "lat": p.y}])
    with db.connect() as conn:
        households = conn.execute(text(
            "SELECT h.id FROM household h JOIN house ho ON ho.id = h.house_id "
            "JOIN address a ON a.id = ho.address_id WHERE a.full_text LIKE '和平路%' "
            "ORDER BY a.full_text")).scalars().all()
    for household in households[:2]:
        r = clients["city"].post("/registry/visits", json={"household_id": household,
                                                            "lon": p.x, "lat": p.y, "note": "走访"})
        assert r.status_code == 201
    return {"grid": grid.code, "point": p, "households": households}


def test_grid_counts_have_the_known_answers(clients, block):
    rows = clients["admin"].get("/registry/grid-counts", params={"parent": block["grid"][:12],
                                                                  "limit": 1000}).json()
    mine = next(r for r in rows if r["grid"] == block["grid"])
    assert {k: mine[k] for k in ("addresses", "households", "people", "organisations", "things",
                                  "places", "visited")} == {
        "addresses": 3, "households": 3, "people": 4, "organisations": 1, "things": 1,
        "places": 1, "visited": 2}
    assert mine["visited_share"] == pytest.approx(2 / 3, abs=1e-4)


def test_visits_are_limited_to_the_visitors_jurisdiction(clients, block):
    household = block["households"][2]
    assert clients["worker"].post("/registry/visits", json={"household_id": household}
                                  ).status_code == 404
    assert clients["department"].post("/registry/visits", json={"household_id": household}
                                      ).status_code == 403
    for body, field in (({"household_id": True}, "household_id"),  # not household 1
                        ({"household_id": household, "lon": False, "lat": 23.0}, "lon")):
        refused = clients["worker"].post("/registry/visits", json=body)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == field
    assert clients["worker"].get("/registry/grid-counts", params={
        "parent": block["grid"][:12]}).json() == []


@pytest.mark.parametrize("layer,name", [("things", "路灯"), ("organisations", "和平社区卫生服务站"),
                                        ("places", "和平菜场")])
def test_layers_are_served_by_grid_region_bbox_and_radius(clients, block, layer, name):
    p = block["point"]

    def names(client, **params):
        body = client.get(f"/registry/{layer}", params={"limit": 1000, **params}).json()
        return {f["properties"]["name"] for f in body["features"]}

    admin = clients["admin"]
    assert name in names(admin, grid=block["grid"])
    assert name in names(admin, region="420106")
    assert name not in names(admin, region="441502")
    assert name in names(admin, bbox=f"{p.x - 0.001},{p.y - 0.001},{p.x + 0.001},{p.y + 0.001}")
    assert name in names(admin, near=f"{p.x},{p.y},50")
    assert name not in names(admin, near=f"{p.x + 0.01},{p.y},50")
    assert name in names(clients["planner"])  # planners see their region's places
    assert name not in names(clients["worker"])
    assert names(clients["department"]) == set()


def test_records_are_listed_in_the_order_of_their_numbers(clients, block, db):
    """Organisations by number, 99 before 100 (not as text, 100 before 99), page after page."""
    p = block["point"]
    with db.begin() as conn:  # the next eleven numbered across a power of ten: 95 to 105, say
        last = conn.execute(text("SELECT coalesce(max(id), 0) FROM organisation")).scalar_one()
        first = next(10 ** k - 5 for k in range(2, 19) if 10 ** k - 5 > last)
        conn.execute(text("SELECT setval(pg_get_serial_sequence('organisation', 'id'), :first, "
                          "false)"), {"first": first})
    registered(clients["admin"], "organisations", [
        {"name": f"顺序商店{n}", "kind": "enterprise", "lon": p.x, "lat": p.y} for n in range(11)])

    def listed(**params) -> list[int]:
        found = clients["admin"].get("/registry/organisations", params={
            "grid": block["grid"], **params}).json()["features"]
        return [f["id"] for f in found]

    ids = listed(limit=1000)
    assert len(ids) >= 12 and sorted(ids, key=str) != sorted(ids)  # (the two orders differ)
    assert ids == sorted(ids)
    assert listed(limit=5) + listed(limit=5, offset=5) == ids[:10]


def test_a_bad_radius_is_refused_naming_it(clients):
    r = clients["admin"].get("/registry/places", params={"near": "115,23"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "near"


def test_registry_import_is_for_command_centres_and_admins(clients):
    data = csv_bytes(["name", "kind", "lon", "lat"], [])
    for role, status in [("worker", 403), ("planner", 403), ("command", 200)]:
        r = clients[role].post("/registry/import/places",
                               files={"file": ("p.csv", data, "text/csv")})
        assert r.status_code == status, role


def test_tiles_carry_the_grids_coverage_and_the_registry_points_but_no_people(clients, block):
    import mapbox_vector_tile
    import morecantile

    admin = clients["admin"]
    tile = morecantile.tms.get("WebMercatorQuad").tile(block["point"].x, block["point"].y, 16)

    def features(client, collection):
        r = client.get(str(client.base_url.join(
            f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}")))
        assert r.status_code == 200
        return mapbox_vector_tile.decode(r.content).get(collection, {"features": []})["features"]

    grid = next(f["properties"] for f in features(admin, "grids")
                if f["properties"]["code"] == block["grid"])
    assert (grid["households"], grid["visited"]) == (3, 2)
    assert [f["properties"]["name"] for f in features(admin, "things")] == ["路灯"]
    assert features(admin, "things")[0]["properties"]["type_code"] == "0301"
    assert "和平菜场" in [f["properties"]["name"] for f in features(clients["planner"], "places")]
    assert "和平社区卫生服务站" in [f["properties"]["name"]
                                    for f in features(admin, "organisations")]
    assert features(clients["worker"], "places") == []  # not its grids
    r = admin.get(str(admin.base_url.join("/ogc/collections/people/tiles/WebMercatorQuad/1/0/0")))
    assert r.status_code == 404
