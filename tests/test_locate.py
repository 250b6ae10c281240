"""Every point lands in exactly one grid, by the documented rule, over HTTP and in SQL."""

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from sqlalchemy import text

from mapsvc.geo.crs import from_wgs84

LOCATE_SQL = text("""
SELECT g.code, l.method, l.distance_m
  FROM locate_grid(ST_SetSRID(ST_MakePoint(:x, :y), 4326), now(), 50) l
  LEFT JOIN grid g ON g.id = l.grid_id
""")
METRES_PER_DEG_LAT = 110_574


def sql_locate(db, x, y):
    with db.connect() as conn:
        return conn.execute(LOCATE_SQL, {"x": x, "y": y}).one()


def reference(grids, x, y):
    """The rule evaluated by shapely on the stored geometry."""
    p = shapely.Point(x, y)
    covering = grids[grids.geometry.covers(p)]
    if covering.empty:
        return None, None
    order = sorted(zip(~covering.geometry.contains(p), covering["kind"] != "dedicated",
                       covering["code"]))
    edge, _, code = order[0]
    return code, "edge" if edge else "inside"


def test_an_interior_point_lands_in_its_grid_with_its_regions(api, grids):
    grid = grids.iloc[7]
    p = grid.geometry.representative_point()
    r = api.get("/locate", params={"lon": p.x, "lat": p.y})
    assert r.status_code == 200
    body = r.json()
    assert body["method"] == "inside"
    assert body["grid"]["code"] == grid.code and body["grid"]["version"] == 1
    assert body["village"]["code"] == grid.village_code
    assert body["township"]["code"] == grid.village_code[:9]
    assert body["county"]["code"] == grid.village_code[:6]
    assert body["county"]["name"] in ("城区", "武昌区")
    assert body["city"] == {"441502": {"code": "4415", "name": "汕尾市"},
                            "420106": {"code": "4201", "name": "武汉市"}}[grid.village_code[:6]]


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "cgcs2000"])
def test_a_point_in_a_chinese_map_crs_lands_where_its_wgs84_point_does(api, grids, crs):
    grid = grids.iloc[21]
    p = grid.geometry.representative_point()
    x, y = from_wgs84(p.x, p.y, crs)
    body = api.get("/locate", params={"lon": float(x), "lat": float(y), "crs": crs}).json()
    assert body["grid"]["code"] == grid.code
    assert math.isclose(body["lon"], p.x, abs_tol=1e-7)
    assert math.isclose(body["lat"], p.y, abs_tol=1e-7)


def test_a_shared_edge_goes_to_the_lowest_code(api, lattice):
    # the edge between the first two cells of the bottom row
    x, y = lattice.X0 + lattice.STEP, lattice.Y0 + lattice.STEP / 2
    body = api.get("/locate", params={"lon": x, "lat": y}).json()
    assert body["method"] == "edge"
    assert body["grid"]["code"] == lattice.cell_code(0, 0)


def test_a_vertex_shared_by_four_grids_goes_to_the_lowest_code(api, lattice):
    x, y = lattice.X0 + 2 * lattice.STEP, lattice.Y0 + 2 * lattice.STEP
    body = api.get("/locate", params={"lon": x, "lat": y}).json()
    assert (body["method"], body["grid"]["code"]) == ("edge", lattice.cell_code(1, 1))


def test_a_dedicated_grid_wins_over_the_comprehensive_grid_around_it(api, lattice):
    centre = lattice.DEDICATED.centroid
    body = api.get("/locate", params={"lon": centre.x, "lat": centre.y}).json()
    assert (body["method"], body["grid"]["code"]) == ("inside", f"{lattice.VILLAGE}900")
    assert body["county"]["code"] == lattice.VILLAGE[:6] and body["city"] is None  # of no city


def test_on_a_dedicated_grids_fence_the_comprehensive_interior_wins(api, lattice):
    x, y = lattice.DEDICATED.bounds[0], lattice.DEDICATED.centroid.y
    body = api.get("/locate", params={"lon": x, "lat": y}).json()
    assert (body["method"], body["grid"]["code"]) == ("inside", lattice.cell_code(1, 1))


def _west_of_lattice(lattice, metres, y=None):
    y = lattice.Y0 + lattice.STEP / 2 if y is None else y
    return lattice.X0 - metres / (111_320 * math.cos(math.radians(y))), y


def test_a_point_just_outside_joins_the_nearest_grid(api, lattice):
    x, y = _west_of_lattice(lattice, 30)
    body = api.get("/locate", params={"lon": x, "lat": y}).json()
    assert body["method"] == "nearest"
    assert body["grid"]["code"] == lattice.cell_code(0, 0)
    assert 29 < body["distance_m"] < 31


def test_nearest_ties_go_to_the_lowest_code(api, lattice):
    # level with the vertex shared by the two western cells of rows 0 and 1
    x, y = _west_of_lattice(lattice, 20, lattice.Y0 + lattice.STEP)
    body = api.get("/locate", params={"lon": x, "lat": y}).json()
    assert (body["method"], body["grid"]["code"]) == ("nearest", lattice.cell_code(0, 0))


def test_a_point_beyond_the_tolerance_is_unassigned(api, lattice):
    x, y = _west_of_lattice(lattice, 80)
    body = api.get("/locate", params={"lon": x, "lat": y}).json()
    assert body["method"] == "unassigned"
    assert body["grid"] is None and body["village"] is None and body["city"] is None


def test_a_fix_of_some_metres_names_the_other_grids_it_may_lie_in(api, lattice):
    """A phone's fix 15 m inside a grid from its neighbour, with its accuracy: the neighbour is
    named with its distance (against pyproj's on the ellipsoid) when the fix may be off so
    far, and the grids beyond too as the accuracy widens, nearest first."""
    geod = Geod(ellps="WGS84")
    edge = lattice.X0 + lattice.STEP  # between the cells (0, 0) and (1, 0)
    y = lattice.Y0 + lattice.STEP / 2
    x = edge - 15 / (111_320 * math.cos(math.radians(y)))

    def nearby(**params) -> list[tuple[str, float]] | None:
        body = api.get("/locate", params={"lon": x, "lat": y, **params}).json()
        assert body["grid"]["code"] == lattice.cell_code(0, 0)
        return body["nearby"] and [(n["code"], n["distance_m"]) for n in body["nearby"]]

    assert nearby() is None  # not asked
    assert nearby(accuracy_m=10) == []
    [(code, metres)] = nearby(accuracy_m=50)
    assert code == lattice.cell_code(1, 0)
    assert abs(metres - geod.inv(x, y, edge, y)[2]) < 0.2
    wide = nearby(accuracy_m=120)
    assert [c for c, _ in wide] == [lattice.cell_code(1, 0), lattice.cell_code(0, 1),
                                    lattice.cell_code(1, 1)]
    assert [m for _, m in wide] == sorted(m for _, m in wide) and wide[-1][1] <= 120
    assert len(nearby(accuracy_m=5000)) == 3  # a kilometre at most: the lattice's grids
    # a point in no grid: the grids its fix may lie in
    x, y = _west_of_lattice(lattice, 80)
    body = api.get("/locate", params={"lon": x, "lat": y, "accuracy_m": 100}).json()
    assert body["method"] == "unassigned"
    assert [n["code"] for n in body["nearby"]] == [lattice.cell_code(0, 0)]


@pytest.mark.parametrize("metres,method", [(45, "nearest"), (55, "unassigned")])
def test_the_tolerance_band_is_50_metres(db, lattice, metres, method):
    assert sql_locate(db, *_west_of_lattice(lattice, metres)).method == method


@pytest.mark.parametrize("params,field", [
    ({"lon": "nan", "lat": 30}, "lon"),
    ({"lon": 114, "lat": 30, "accuracy_m": 0}, "accuracy_m"),
    ({"lon": 114, "lat": 30, "accuracy_m": 3e7}, "accuracy_m"),
    ({"lon": 114, "lat": 30, "accuracy_m": "nan"}, "accuracy_m"),
    ({"lon": "inf", "lat": 30}, "lon"),
    ({"lon": 114, "lat": "-inf"}, "lat"),
    ({"lon": 181, "lat": 30}, "lon"),
    ({"lon": 114, "lat": 91}, "lat"),
    ({"lon": 114, "lat": 250}, "lat"),
    ({"lon": "east", "lat": 30}, "lon"),
    ({"lat": 30}, "lon"),
    ({"lon": 114, "lat": 30, "crs": "mars"}, "crs"),
    ({"lon": 114, "lat": 30, "at": "2024"}, "at"),  # a year, not seconds since 1970
    ({"lon": 114, "lat": 30, "at": "1700000000"}, "at"),
])
def test_bad_coordinates_are_refused_naming_the_field(api, hierarchy, params, field):
    r = api.get("/locate", params=params)
    assert r.status_code == 422
    assert field in [e["loc"][-1] for e in r.json()["detail"]]


@pytest.mark.parametrize("swap", ["in range", "lat beyond 90"])
def test_swapped_coordinates_are_refused_saying_so(api, grids, lattice, swap):
    # in China a swapped pair has a latitude beyond 90; in the west both halves stay in range
    p = (lattice.WEST if swap == "in range" else grids.iloc[3].geometry).representative_point()
    r = api.get("/locate", params={"lon": p.y, "lat": p.x})
    assert r.status_code == 422
    assert "swapped" in r.json()["detail"][0]["msg"]
    assert r.json()["detail"][0]["loc"] == ["query", "lon"]


def test_a_point_in_no_grid_whose_swap_is_in_none_either_is_just_unassigned(api, hierarchy):
    body = api.get("/locate", params={"lon": 10.0, "lat": 50.0}).json()
    assert body["method"] == "unassigned"


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(i=st.integers(-8, 3 * 512 // 8 * 4 + 8), j=st.integers(-8, 3 * 512 // 8 * 4 + 8))
def test_lattice_points_including_edges_and_vertices_follow_the_rule(db, lattice, i, j):
    # a 1/2048-degree raster over the lattice: a quarter of its points lie on edges
    x, y = lattice.X0 + i / 2048, lattice.Y0 + j / 2048
    code, method = lattice.expected_grid(x, y)
    got = sql_locate(db, x, y)
    if code is None:
        assert got.method in ("nearest", "unassigned")
    else:
        assert (got.code, got.method) == (code, method)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(u=st.floats(0, 1), v=st.floats(0, 1), county=st.sampled_from(["441502", "420106"]))
def test_random_points_in_the_demo_counties_get_exactly_the_reference_grid(db, grids, u, v, county):
    mine = grids[grids["village_code"].str.startswith(county)]
    minx, miny, maxx, maxy = mine.total_bounds
    x, y = minx + u * (maxx - minx), miny + v * (maxy - miny)
    code, method = reference(grids, x, y)
    got = sql_locate(db, x, y)
    if code is None:
        assert got.method in ("nearest", "unassigned")
    else:
        assert (got.code, got.method) == (code, method)


def test_shared_vertices_of_demo_grids_follow_the_rule(db, grids):
    # every vertex of a handful of demo grids: each lies on the boundary of one to three grids
    demo = grids[grids["village_code"].str.startswith(("441502", "420106"))]
    for geom in demo.geometry.iloc[::40]:
        for x, y in np.unique(shapely.get_coordinates(geom), axis=0):
            code, method = reference(grids, x, y)
            got = sql_locate(db, x, y)
            assert (got.code, got.method) == (code, method) == (code, "edge")
