"""OGC API – Features through OWSLib, a real client: reads of regions, grids and incidents
(Part 1: bbox, paging, datetime, properties) and edits of a draft plan's grids (Part 4)."""

import httpx
import pytest
from owslib.ogcapi.features import Features
from shapely.geometry import mapping, shape

from tests.test_plans import new_plan


@pytest.fixture(scope="module")
def ogc_url(server) -> str:
    return f"{server}/ogc"


def client(ogc_url, api) -> Features:
    """OWSLib speaking as ``api``'s account. OWSLib keeps its request headers in one
    module-wide dict, so the last client made speaks for all: make one right before use."""
    return Features(ogc_url, headers={"Authorization": api.headers["Authorization"]})


def test_the_service_describes_itself_and_its_collections(ogc_url, api):
    wfs = client(ogc_url, api)
    conforms = wfs.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms
    assert ("http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete"
            in conforms)
    ids = {c["id"] for c in wfs.collections()["collections"]}
    assert {"cities", "counties", "townships", "villages", "grids", "incidents"} <= ids
    assert wfs.collection("grids")["itemType"] == "feature"


def test_reads_page_filter_by_bbox_datetime_and_properties(ogc_url, api, grids):
    wfs = client(ogc_url, api)
    first = wfs.collection_items("grids", limit=5)
    assert first["numberReturned"] == 5 and first["type"] == "FeatureCollection"
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = httpx.get(nxt, headers={"Authorization": api.headers["Authorization"]}).json()
    assert not {f["id"] for f in first["features"]} & {f["id"] for f in second["features"]}
    some = grids.iloc[7]
    minx, miny, maxx, maxy = some.geometry.bounds
    found = wfs.collection_items("grids", bbox=[minx, miny, maxx, maxy], limit=1000)
    expected = set(grids[grids.intersects(some.geometry.envelope)]["code"])
    assert {f["id"] for f in found["features"]} == expected
    picked = wfs.collection_items("grids", limit=3, properties="code,kind")
    assert all(set(f["properties"]) == {"code", "kind"} for f in picked["features"])
    past = wfs.collection_items("grids", limit=3, datetime_="1999-01-01T00:00:00Z")
    assert past["numberReturned"] == 3  # the first versions have been in force since always
    one = wfs.collection_item("counties", "441502")
    assert one["properties"]["name"] and shape(one["geometry"]).area > 0
    assert one["properties"]["parent_code"] == "4415"  # 汕尾市
    city = wfs.collection_item("cities", "4415")
    assert city["properties"]["name"] == "汕尾市" and shape(city["geometry"]).contains(
        shape(one["geometry"]).representative_point())
    dedicated = wfs.collection_items("grids", kind="dedicated", limit=1000)
    assert all(f["properties"]["kind"] == "dedicated" for f in dedicated["features"])


def test_incidents_follow_the_readers_jurisdiction_and_the_report_time(ogc_url, clients, grids):
    p = grids[grids["code"].str.startswith("420106")].iloc[3].geometry.representative_point()
    r = clients["admin"].post("/incidents", json={
        "client_id": "5d1c7f4e-6b8a-4c1e-9f00-00000000f001", "category": "06",
        "description": "OGC 测试", "lon": p.x, "lat": p.y,
        "reported_at": "2026-03-01T10:00:00+08:00"})
    assert r.status_code in (200, 201)
    case = r.json()["id"]
    admin = client(ogc_url, clients["admin"])
    found = admin.collection_items("incidents", datetime_="2026-03-01T00:00:00+08:00/"
                                   "2026-03-02T00:00:00+08:00", limit=1000)
    assert case in {f["id"] for f in found["features"]}
    later = admin.collection_items("incidents", datetime_="2026-03-02T00:00:00+08:00/..",
                                   limit=1000)
    assert case not in {f["id"] for f in later["features"]}
    assert admin.collection_item("incidents", str(case))["id"] == case
    assert case in {f["id"] for f in admin.collection_items(
        "incidents", status="reported", limit=1000)["features"]}
    unknown = httpx.get(f"{ogc_url}/collections/incidents/items", params={"status": "finished"},
                        headers={"Authorization": clients["admin"].headers["Authorization"]})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"][-1] == "status"
    # the 汕尾 command centre does not see a case in 武昌
    with pytest.raises(RuntimeError):
        client(ogc_url, clients["command"]).collection_item("incidents", str(case))


def test_qgis_style_edits_of_a_draft_plans_grids(ogc_url, api, clients, area):
    a, _ = area
    plan = new_plan(api, a)
    cid = f"plan-{plan['id']}"
    wfs = client(ogc_url, api)
    assert cid in {c["id"] for c in wfs.collections()["collections"]}
    headers = {"Authorization": api.headers["Authorization"]}
    allow = httpx.options(f"{ogc_url}/collections/{cid}/items", headers=headers).headers["allow"]
    assert "POST" in allow
    items = wfs.collection_items(cid)["features"]
    by_code = {f["properties"]["code"]: f for f in items}
    c = by_code[a.code("C")]
    allow = httpx.options(f"{ogc_url}/collections/{cid}/items/{c['id']}",
                          headers=headers).headers["allow"]
    assert {"PUT", "PATCH", "DELETE"} <= set(allow.replace(" ", "").split(","))
    # replace C with its west half, add a grid for the east half, then delete A
    wfs.collection_item_update(cid, str(c["id"]), {
        "type": "Feature", "properties": {"code": a.code("C"), "name": "西半"},
        "geometry": mapping(a.cell(2, 0, 0.5))})
    wfs.collection_item_create(cid, {"type": "Feature", "properties": {"name": "东半"},
                                     "geometry": mapping(a.cell(2.5, 0, 0.5))})
    wfs.collection_item_delete(cid, str(by_code[a.code("A")]["id"]))
    after = {f["properties"]["code"]: f for f in wfs.collection_items(cid)["features"]}
    assert set(after) == {a.code("B"), a.code("C"), f"{a.village}004"}
    assert after[a.code("C")]["properties"]["name"] == "西半"
    assert after[f"{a.village}004"]["properties"]["change"] == "new"
    assert api.get(f"/plans/{plan['id']}").json()["retired"] == [a.code("A")]
    # bad input names the field; read-only collections and other roles are refused
    bad = httpx.post(f"{ogc_url}/collections/{cid}/items", headers=headers,
                     json={"type": "Feature", "properties": {},
                           "geometry": {"type": "Point", "coordinates": [121, 21]}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "geometry"
    item = f"{ogc_url}/collections/{cid}/items/{c['id']}"
    for properties, field in (({"households": True}, "households"),  # not 1 household
                              ({"population": "many"}, "population"),
                              ({"households": -3}, "households"),
                              ({"name": 5}, "name")):
        bad = httpx.patch(item, headers=headers, json={"type": "Feature",
                                                       "properties": properties})
        assert bad.status_code == 422, properties
        assert bad.json()["detail"][0]["loc"][-1] == field
    assert httpx.post(f"{ogc_url}/collections/grids/items", headers=headers,
                      json={"type": "Feature"}).status_code == 422
    worker = {"Authorization": clients["worker"].headers["Authorization"]}
    assert httpx.delete(f"{ogc_url}/collections/{cid}/items/{c['id']}",
                        headers=worker).status_code == 403
    assert httpx.get(f"{ogc_url}/collections/{cid}/items").status_code == 401


def test_gdal_reads_the_grids(ogc_url, api, grids):
    """GDAL's OGC API – Features driver (as QGIS and ogr2ogr use it) reads a collection."""
    import pyogrio

    token = api.headers["Authorization"].removeprefix("Bearer ")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token})
    try:
        assert {"grids", "incidents", "villages"} <= set(
            pyogrio.list_layers(f"OAPIF:{ogc_url}")[:, 0])
        frame = pyogrio.read_dataframe(f"OAPIF:{ogc_url}", layer="grids",
                                       bbox=tuple(grids.iloc[3].geometry.bounds))
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})
    assert grids.iloc[3].code in set(frame["code"])
    assert frame.crs.to_epsg() == 4326 and frame.geometry.is_valid.all()
