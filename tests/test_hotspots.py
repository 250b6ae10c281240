"""Hot spots (高发点位): the places where cases of one class keep being reported, found among the
cases of a time and a jurisdiction, each with its cases counted and its middle and reach
measured against pyproj's geodesic distances."""

import math
import uuid
from datetime import datetime

import pytest
import shapely
from pyproj import Geod

from tests.conftest import new_account, signed_in_client
from tests.test_media import _photo, _upload
from tests.test_workflow import do

GEOD = Geod(ellps="WGS84")
AUGUST = {"from": "2022-08-01", "to": "2022-09-01"}  # no other test reports in it


def moved(p: shapely.Point, east_m: float, north_m: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(p.x, p.y, math.degrees(math.atan2(east_m, north_m)),
                           math.hypot(east_m, north_m))
    return lon, lat


@pytest.fixture(scope="module")
def place(api, server, grids):
    """Around a spot of a grid of 武昌区: four cases of class 01 within 20 m of one another
    (one of them resolved on the spot by the grid's worker), three of class 02 there too, a
    fourth 01 a little over 200 m off, a void one, one of July; and two of class 01 700 m
    away."""
    grid = grids[grids["code"].str.startswith("420106")].iloc[-1]
    p = grid.geometry.representative_point()
    worker = signed_in_client(server, new_account("grid_worker", grid_codes=[grid.code]))

    def report(category: str, at: tuple[float, float], day: int, month: int = 8) -> dict:
        r = api.post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": category, "lon": at[0], "lat": at[1],
            "reported_at": f"2022-{month:02d}-{day:02d}T09:00:00+08:00",
            "description": "高发点位"})
        assert r.status_code == 201
        return r.json()

    spot = [report("01", moved(p, e, n), day)
            for day, (e, n) in enumerate([(0, 0), (12, 5), (-8, 10), (4, -14)], start=2)]
    photo = _upload(worker, _photo()).json()["id"]
    assert do(worker, spot[1]["id"], "self_resolve", attachments=[photo]).status_code == 200
    other_class = [report("02", moved(p, e, n), 10 + i)
                   for i, (e, n) in enumerate([(3, 3), (-5, 0), (0, 9)])]
    further = report("01", moved(p, 210, 0), 20)
    void = report("01", moved(p, 2, 2), 21)
    assert do(api, void["id"], "void", note="误报").status_code == 200
    report("01", moved(p, 1, 1), 15, month=7)  # before the days asked for
    pair = [report("01", moved(p, 700 + e, 0), 22 + i) for i, e in enumerate((0, 10))]
    yield {"grid": grid, "spot": spot, "other_class": other_class, "further": further,
           "pair": pair, "worker": worker}
    worker.close()


def hotspots(client, **params) -> list[dict]:
    r = client.get("/incidents/hotspots", params={**AUGUST, **params})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    return r.json()["features"]


def reach_m(cases: list[dict]) -> tuple[shapely.Point, float]:
    """The middle of the cases' points, and how far the farthest lies from it."""
    middle = shapely.MultiPoint([(c["lon"], c["lat"]) for c in cases]).centroid
    return middle, max(GEOD.inv(middle.x, middle.y, c["lon"], c["lat"])[2] for c in cases)


def test_a_place_where_a_class_keeps_coming_is_found_with_its_cases_counted(api, place):
    spot, other_class = place["spot"], place["other_class"]
    found = hotspots(api, county="420106")
    assert [(f["properties"]["category"], f["properties"]["cases"]) for f in found] == [
        ("01", 4), ("02", 3)]  # the most cases first; the void, the July and the far ones not
    first = found[0]["properties"]
    assert first["ids"] == sorted((c["id"] for c in spot), reverse=True)
    assert first["open"] == 3  # one resolved on the spot
    assert first["grid"] == {"code": place["grid"].code, "name": spot[0]["grid"]["name"]}
    assert [datetime.fromisoformat(first[f"{end}_reported_at"]) for end in ("first", "last")] == [
        datetime.fromisoformat(c["reported_at"]) for c in (spot[0], spot[-1])]
    middle, reach = reach_m(spot)
    lon, lat = found[0]["geometry"]["coordinates"]
    assert GEOD.inv(lon, lat, middle.x, middle.y)[2] < 0.05
    assert abs(first["radius_m"] - reach) <= 1
    assert found[1]["properties"]["ids"] == sorted((c["id"] for c in other_class), reverse=True)


def test_how_near_and_how_many_are_asked_for(api, place):
    wider = hotspots(api, county="420106", radius_m=300)
    assert wider[0]["properties"]["cases"] == 5  # the one 210 m off joins
    assert place["further"]["id"] in wider[0]["properties"]["ids"]
    pairs = hotspots(api, county="420106", min_cases=2)
    assert sorted(f["properties"]["cases"] for f in pairs) == [2, 3, 4]
    assert hotspots(api, county="420106", min_cases=5) == []
    assert hotspots(api, county="420106", category="02")[0]["properties"]["cases"] == 3
    assert hotspots(api, county="420106", limit=1)[0]["properties"]["category"] == "01"


def test_hot_spots_are_found_among_the_cases_an_account_may_read(clients, place):
    assert hotspots(clients["command"]) == []  # a centre of another county
    assert [f["properties"]["cases"] for f in hotspots(place["worker"])] == [4, 3]


def test_without_a_time_the_last_30_days_are_looked_at(api, place):
    def found(**params) -> list[dict]:
        r = api.get("/incidents/hotspots", params={"county": "420106", **params})
        assert r.status_code == 200
        return r.json()["features"]

    lately = found()
    ours = {c["id"] for c in place["spot"] + place["other_class"]}
    assert not ours & {case for f in lately for case in f["properties"]["ids"]}  # of 2022
    assert found(window="30d") == lately
    assert found(window="30d", **{"from": AUGUST["from"]}) == lately  # in place of from


@pytest.mark.parametrize("params,field", [
    ({"radius_m": 0}, "radius_m"), ({"radius_m": 5000}, "radius_m"),
    ({"min_cases": 1}, "min_cases"),
    ({"window": "week"}, "window"), ({"status": "finished"}, "status")])
def test_bad_parameters_are_refused_naming_them(api, params, field):
    r = api.get("/incidents/hotspots", params=params)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field
