"""Open311 GeoReport v2 over HTTP, in JSON and XML: the services are the category tree, a
request posted is a case located like any report (a retry is the same case), bad requests are
refused naming the field and store nothing, the list reads the caller's cases by id, status,
service and time, and the updates are the steps of those cases, oldest first."""

import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import shapely
from sqlalchemy import text

from tests.conftest import PASSWORD, csv_bytes


@pytest.fixture(scope="module")
def open311(server, accounts):
    """An Open311 client per account, signing in with ``api_key`` as Open311 clients do."""
    def client(username: str) -> tuple[httpx.Client, str]:
        token = httpx.post(f"{server}/api/v1/auth/token", data={
            "username": username, "password": PASSWORD}).json()["access_token"]
        return httpx.Client(base_url=f"{server}/open311/v2", timeout=30), token
    return client


def post(client, key, fmt="json", **fields):
    return client.post(f"/requests.{fmt}", data={"api_key": key, **fields})


def inside(grids, index: int, prefix="441502") -> tuple[str, shapely.Point]:
    grid = grids[grids["code"].str.startswith(prefix)].iloc[index]
    return grid.code, grid.geometry.representative_point()


def cases(db) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM incident")).scalar_one()


def test_the_services_are_the_category_tree_in_json_and_xml(open311, api):
    client, key = open311("command")
    tree = api.get("/categories").json()
    listed = client.get("/services.json", params={"api_key": key}).json()
    assert [s["service_code"] for s in listed] == [c["code"] for c in tree]
    leaf = next(c for c in tree if c["parent_code"])
    service = next(s for s in listed if s["service_code"] == leaf["code"])
    assert service["service_name"] == leaf["name"] and service["type"] == "realtime"
    by_code = {c["code"]: c for c in tree}
    top = leaf
    while top["parent_code"]:
        top = by_code[top["parent_code"]]
    assert service["group"] == top["name"]  # its top class
    r = client.get("/services.xml", params={"api_key": key})
    assert r.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root.findall("service")] == [
        c["code"] for c in tree]
    assert client.get(f"/services/{leaf['code']}.json", params={"api_key": key}).json() == {
        "service_code": leaf["code"], "attributes": []}
    found = ET.fromstring(client.get("/discovery.xml").content)
    assert found.findtext("endpoints/endpoint/url").endswith("/open311/v2")
    assert client.get("/services.json").status_code == 401  # no key


def test_a_request_posted_is_a_case_located_like_any_report(open311, api, grids):
    client, key = open311("command")
    code, point = inside(grids, 5)
    description = f"路灯不亮 {uuid.uuid4()}"
    fields = {"service_code": "0601", "lat": point.y, "long": point.x,
              "description": description, "media_url": "https://example.org/lamp.jpg"}
    r = post(client, key, **fields)
    assert r.status_code == 201, r.text
    [created] = r.json()
    case = api.get(f"/incidents/{created['service_request_id']}").json()
    assert case["grid"]["code"] == code and case["category"] == "0601"
    assert case["source"] == "citizen"
    assert case["description"] == f"{description}\nhttps://example.org/lamp.jpg"
    assert created["service_notice"] == f"已报入{case['grid']['name']}"

    again = post(client, key, **fields)  # a retry: the same case
    assert again.status_code == 200 and again.json() == [created]
    other = post(client, key, fmt="xml", **{**fields, "description": description + "（二）",
                                             "attribute[source]": "hotline"})
    assert other.status_code == 201
    second = ET.fromstring(other.content).findtext("request/service_request_id")
    assert second != created["service_request_id"]
    assert api.get(f"/incidents/{second}").json()["source"] == "hotline"
    # the hotline's platform sends its number: the case keeps it, the same number is the case
    number = f"GD{uuid.uuid4().int % 10**12:012d}"
    numbered = {**fields, "description": description + "（三）", "attribute[source]": "hotline",
                "attribute[number]": number}
    third = post(client, key, **numbered)
    assert third.status_code == 201
    [made] = third.json()
    assert api.get(f"/incidents/{made['service_request_id']}").json()["source_number"] == number
    assert post(client, key, **numbered).json() == [made]
    changed = post(client, key, **{**numbered, "description": "另一件事"})
    assert changed.status_code == 400
    assert changed.json()[0]["description"] == (
        f"attribute[number]: {number} already names a different incident "
        f"(id {made['service_request_id']})")

    # text sent unescaped is read as UTF-8
    raw = f"api_key={key}&service_code=0601&lat={point.y}&long={point.x}&description=井盖缺失"
    r = client.post("/requests.json", content=raw.encode(), headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 201
    stored = api.get(f"/incidents/{r.json()[0]['service_request_id']}").json()
    assert stored["description"] == "井盖缺失"


@pytest.mark.parametrize("fields, field, code", [
    ({"lat": 22.8, "long": 115.3}, "service_code", 400),
    ({"service_code": "0601", "long": 115.3}, "lat", 400),
    ({"service_code": "0601", "lat": "north", "long": 115.3}, "lat", 400),
    ({"service_code": "0601", "lat": 91, "long": 115.3}, "lat", 400),
    ({"service_code": "0601", "lat": 22.8, "long": "nan"}, "long", 400),
    ({"service_code": "no-such", "lat": 22.8, "long": 115.3}, "service_code", 400),
    ({"service_code": "0601", "lat": 22.8, "long": 115.3, "attribute[source]": "fax"},
     "attribute[source]", 400),
    ({"service_code": "0601", "lat": 22.8, "long": 115.3, "description": "长" * 4001},
     "description", 400),
    ({"service_code": "0601", "lat": 22.8, "long": 115.3, "attribute[number]": "GD\x07"},
     "attribute[number]", 400),
])
def test_a_bad_request_is_refused_naming_the_field_and_stores_nothing(open311, db, fields,
                                                                       field, code):
    client, key = open311("command")
    before = cases(db)
    for fmt in ("json", "xml"):
        r = post(client, key, fmt=fmt, **fields)
        assert r.status_code == code, r.text
        if fmt == "json":
            [error] = r.json()
            assert error["code"] == code and error["description"].startswith(f"{field}: ")
        else:
            error = ET.fromstring(r.content)
            assert error.tag == "errors"
            assert error.findtext("error/description").startswith(f"{field}: ")
    assert cases(db) == before


def test_only_accounts_that_report_may_post(open311, grids, db):
    _, point = inside(grids, 5)
    before = cases(db)
    for username, code in (("planner", 403), ("department", 403)):
        client, key = open311(username)
        r = post(client, key, service_code="0601", lat=point.y, long=point.x)
        assert r.status_code == code and r.json()[0]["code"] == code
    client, _ = open311("command")
    r = post(client, "not-a-token", service_code="0601", lat=point.y, long=point.x)
    assert r.status_code == 401 and r.json()[0]["description"].startswith("api_key: ")
    assert cases(db) == before


def test_requests_are_listed_by_id_status_service_and_time_within_the_callers_view(
        open311, api, clients, grids):
    client, key = open311("command")
    _, point = inside(grids, 9)
    ids = []
    for n, service in enumerate(("0601", "0202", "0601")):
        r = post(client, key, service_code=service, lat=point.y, long=point.x,
                 description=f"列表 {uuid.uuid4()} {n}")
        ids.append(r.json()[0]["service_request_id"])
    command = clients["command"]
    for action, body in (("file", {}), ("dispatch", {"department": "T1"})):
        assert command.post(f"/incidents/{ids[0]}/actions/{action}", json=body).status_code == 200
    assert command.post(f"/incidents/{ids[2]}/actions/void",
                        json={"note": "重复"}).status_code == 200

    def listed(fmt="json", **params):
        r = client.get(f"/requests.{fmt}", params={"api_key": key, **params})
        assert r.status_code == 200, r.text
        if fmt == "xml":
            return [e.findtext("service_request_id")
                    for e in ET.fromstring(r.content).findall("request")]
        return r.json()

    by_id = {r["service_request_id"]: r for r in listed(service_request_id=",".join(ids))}
    assert set(by_id) == set(ids)
    dispatched = by_id[ids[0]]
    assert (dispatched["status"], dispatched["status_notes"]) == ("open", "dispatched")
    assert dispatched["agency_responsible"] == "测试局" and dispatched["expected_datetime"]
    assert dispatched["service_name"] == api.get("/categories", params={"q": "0601"}).json()[0][
        "name"]
    assert (by_id[ids[2]]["status"], by_id[ids[2]]["status_notes"]) == ("closed", "void")
    assert by_id[ids[1]]["lat"] == pytest.approx(point.y)
    assert by_id[ids[1]]["long"] == pytest.approx(point.x)
    assert by_id[ids[1]]["address"].startswith("汕尾市城区")  # the city first, as written

    recent = {"start_date": (datetime.now(timezone.utc) - timedelta(minutes=10)).isoformat()}
    open_now = [r["service_request_id"] for r in listed(status="open", **recent)]
    closed = [r["service_request_id"] for r in listed(status="closed", **recent)]
    assert ids[0] in open_now and ids[1] in open_now and ids[2] not in open_now
    assert ids[2] in closed and ids[0] not in closed
    gas = [r["service_request_id"] for r in listed(service_code="02", **recent)]
    assert ids[1] in gas and ids[0] not in gas
    assert set(ids) <= set(listed(fmt="xml", service_code="02,06", **recent))
    later = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    assert listed(start_date=later) == []
    assert listed(service_request_id=ids[0])[0] == dispatched
    newest = listed(**recent)
    times = [r["requested_datetime"] for r in newest]
    assert times == sorted(times, reverse=True)

    one = client.get(f"/requests/{ids[1]}.xml", params={"api_key": key})
    assert ET.fromstring(one.content).findtext("request/status") == "open"
    # an account of another region does not see it; nor does anyone a case that is not there
    planner, planner_key = open311("planner")
    assert planner.get(f"/requests/{ids[1]}.json",
                       params={"api_key": planner_key}).status_code == 404
    for missing in ("999999999", "9" * 30):
        assert client.get(f"/requests/{missing}.json",
                          params={"api_key": key}).status_code == 404
    r = client.get("/requests.json", params={"api_key": key, "start_date": "2026-01-01",
                                             "end_date": "2026-06-01"})
    assert r.status_code == 400 and r.json()[0]["description"].startswith("end_date: ")
    r = client.get("/requests.json", params={"api_key": key, "status": "pending"})
    assert r.status_code == 400 and r.json()[0]["description"].startswith("status: ")
    r = client.get("/requests.json", params={"api_key": key,
                                             "service_request_id": f"{ids[0]},{'9' * 30}"})
    assert r.status_code == 400
    assert r.json()[0]["description"].startswith("service_request_id: ")


def test_the_steps_of_the_callers_cases_are_its_updates_oldest_first(open311, clients, grids):
    client, key = open311("command")
    since = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    _, point = inside(grids, 11)
    r = post(client, key, service_code="0601", lat=point.y, long=point.x,
             description=f"进度 {uuid.uuid4()}")
    case = r.json()[0]["service_request_id"]
    command = clients["command"]
    for action, body in (("file", {}), ("dispatch", {"department": "T1"}),
                         ("void", {"note": "误报"})):
        assert command.post(f"/incidents/{case}/actions/{action}", json=body).status_code == 200

    def updates(client, key, fmt="json", **params):
        r = client.get(f"/servicerequestupdates.{fmt}", params={"api_key": key, **params})
        assert r.status_code == 200, r.text
        if fmt == "xml":
            return [{e.tag: e.text for e in u}
                    for u in ET.fromstring(r.content).findall("request_update")]
        return r.json()

    mine = [u for u in updates(client, key, start_date=since)
            if u["service_request_id"] == case]
    assert [(u["status"], u["external_status_code"]) for u in mine] == [
        ("open", "reported"), ("open", "filed"), ("open", "dispatched"), ("closed", "void")]
    assert mine[-1]["description"] == "误报"
    assert [int(u["update_id"]) for u in mine] == sorted(int(u["update_id"]) for u in mine)
    as_xml = [u for u in updates(client, key, "xml", start_date=since)
              if u["service_request_id"] == case]
    assert [u["external_status_code"] for u in as_xml] == [
        u["external_status_code"] for u in mine]
    # from the last one seen on: nothing new of this case
    assert not [u for u in updates(client, key, start_date=mine[-1]["updated_datetime"],
                                   end_date=mine[-1]["updated_datetime"])
                if u["service_request_id"] == case]
    planner, planner_key = open311("planner")  # another region's account: not its cases
    assert not [u for u in updates(planner, planner_key, start_date=since)
                if u["service_request_id"] == case]
    r = client.get("/servicerequestupdates.json", params={"api_key": key, "end_date": "soon"})
    assert r.status_code == 400 and r.json()[0]["description"].startswith("end_date: ")


def test_a_report_that_came_late_is_among_the_updates_since_it_came(open311, clients, grids):
    """A hotline file's row, or a phone's report kept with no signal, comes days after it was
    made: a caller following the updates from the last time it saw still gets it; the case's
    timeline shows it when it was made, and when it came."""
    client, key = open311("command")
    _, point = inside(grids, 14)
    since = datetime.now(timezone.utc)
    made = since - timedelta(days=3)
    r = clients["command"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": point.x, "lat": point.y,
        "reported_at": made.isoformat()})
    assert r.status_code == 201, r.text
    case = str(r.json()["id"])
    updated = client.get("/servicerequestupdates.json",
                         params={"api_key": key, "start_date": since.isoformat()}).json()
    mine = [u for u in updated if u["service_request_id"] == case]
    assert [u["external_status_code"] for u in mine] == ["reported"]
    assert datetime.fromisoformat(mine[0]["updated_datetime"]) >= since  # when it came
    [step] = clients["command"].get(f"/incidents/{case}/timeline").json()
    assert datetime.fromisoformat(step["at"]) == made
    assert datetime.fromisoformat(step["received_at"]) >= since


def test_the_updates_default_to_the_last_day_and_the_requests_to_the_last_90(open311, grids):
    client, key = open311("command")
    _, point = inside(grids, 13)
    r = post(client, key, service_code="0601", lat=point.y, long=point.x,
             description=f"窗口 {uuid.uuid4()}")
    case = r.json()[0]["service_request_id"]
    listed = client.get("/requests.json", params={"api_key": key}).json()
    assert case in [r["service_request_id"] for r in listed]
    updated = client.get("/servicerequestupdates.json", params={"api_key": key}).json()
    assert case in [u["service_request_id"] for u in updated]
    day_ago = (datetime.now(timezone.utc) - timedelta(days=1, minutes=1)).isoformat()
    updated = client.get("/servicerequestupdates.json",
                         params={"api_key": key, "end_date": day_ago}).json()
    assert case not in [u["service_request_id"] for u in updated]


def test_a_request_may_be_located_by_its_standard_address(open311, api, area, grids, db):
    a, _ = area  # standard addresses 规划路A1号 … in the area's county: A1 in grid A, C1 in C
    client, key = open311("admin")
    named = f"规划路{uuid.uuid4().hex[:8]}号"  # a text of the area's county alone, at first
    x, y = a.at(1.5, 0.5)  # in grid B

    def upload(county, lon, lat):
        r = api.post("/registry/import/addresses", data={"county": county}, files={"file": (
            "addresses.csv", csv_bytes(["address", "lon", "lat"],
                                       [{"address": named, "lon": lon, "lat": lat}]),
            "text/csv")})
        assert r.status_code == 200 and r.json()["rejected"] == 0, r.text

    def landed(r) -> str:
        assert r.status_code == 201, r.text
        return api.get(f"/incidents/{r.json()[0]['service_request_id']}").json()["grid"]["code"]

    upload(a.county, x, y)
    by_text = post(client, key, service_code="0601", address_string=named,
                   description=f"按地址 {uuid.uuid4()}")
    assert landed(by_text) == a.code("B")
    case = api.get(f"/incidents/{by_text.json()[0]['service_request_id']}").json()
    assert (case["lon"], case["lat"]) == pytest.approx((x, y))

    code, point = inside(grids, 2)
    upload("441502", point.x, point.y)  # the same text in another county
    r = post(client, key, service_code="0601", address_string=named)
    assert r.status_code == 400
    assert r.json()[0]["description"].startswith("address_string: ")
    assert "jurisdiction_id" in r.json()[0]["description"]
    assert landed(post(client, key, service_code="0601", address_string=named,
                       jurisdiction_id="441502", description="城区")) == code
    assert landed(post(client, key, service_code="0601", address_string="规划路A1号",
                       jurisdiction_id=a.county)) == a.code("A")

    with db.connect() as conn:
        address = conn.execute(text("SELECT id FROM address WHERE county_code = :c AND "
                                    "full_text = '规划路C1号'"), {"c": a.county}).scalar_one()
    assert landed(post(client, key, service_code="0601", address_id=str(address))) == a.code("C")
    for fields, field in (({"address_string": "规划路Z9号"}, "address_string"),
                          ({"address_string": named, "jurisdiction_id": "000000"},
                           "address_string"),
                          ({"address_id": "A1"}, "address_id"),
                          ({"address_id": "999999999"}, "address_id"),
                          ({"address_id": "9" * 30}, "address_id")):
        r = post(client, key, service_code="0601", **fields)
        assert r.status_code == 400 and r.json()[0]["description"].startswith(f"{field}: ")


def test_an_open311_post_keeps_the_person_reporting(open311, grids, api):
    client, key = open311("command")
    code, point = inside(grids, 9)
    r = post(client, key, service_code="0601", lat=point.y, long=point.x,
             description="路灯不亮", last_name="司马", first_name="光", phone="13900001111")
    assert r.status_code == 201, r.text
    case = int(r.json()[0]["service_request_id"])
    assert api.get(f"/incidents/{case}").json()["caller"] == {"name": "司**",
                                                              "phone": "139****1111"}
    assert api.post(f"/incidents/{case}/caller/reveal", json={
        "field": "name", "reason": "回访"}).json()["value"] == "司马光"
    r = post(client, key, service_code="0601", lat=point.y, long=point.x,
             description="路灯又不亮", phone="12345")
    assert r.status_code == 400 and r.json()[0]["description"].startswith("phone: ")
