"""Reporting one incident: stored with its grid at once, never twice, never lost."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mapsvc.geo.crs import from_wgs84


def report(point=None, **overrides) -> dict:
    body = {"client_id": str(uuid.uuid4()), "category": "06", "description": "井盖缺失",
            "lon": point.x if point else None, "lat": point.y if point else None, "accuracy_m": 8.5,
            "reported_at": "2026-11-20T09:30:00+08:00", "source": "grid_worker"}
    return {**body, **overrides}


@pytest.fixture
def inside(grids):
    return grids.iloc[11].geometry.representative_point()


def test_a_report_is_stored_with_its_grid_and_method(api, grids, inside, db):
    body = report(inside)
    r = api.post("/incidents", json=body)
    assert r.status_code == 201
    stored = r.json()
    assert isinstance(stored.pop("possible_duplicates"), list)
    assert stored["id"] > 0 and stored["client_id"] == body["client_id"]
    assert stored["grid"]["code"] == grids.iloc[11].code
    assert stored["method"] == "inside" and stored["status"] == "reported"
    assert stored["village"]["code"] == grids.iloc[11].village_code
    located = api.get("/locate", params={"lon": inside.x, "lat": inside.y}).json()
    regions = ("village", "township", "county", "city")
    assert {level: stored[level] for level in regions} == {level: located[level]
                                                           for level in regions}
    assert stored["city"]["code"] == grids.iloc[11].village_code[:4]  # its county's city
    assert stored["reported_at"].startswith("2026-11-20T01:30:00")
    assert stored["raw"] == {"lon": inside.x, "lat": inside.y, "crs": "wgs84", "accuracy_m": 8.5}
    # read again: the same, with who called (none here) for those who may see it
    assert api.get(f"/incidents/{stored['id']}").json() == {**stored, "caller": None}
    with db.connect() as conn:
        log = conn.execute(text(
            "SELECT action, to_status FROM incident_log WHERE incident_id = :i"),
            {"i": stored["id"]}).all()
        version = conn.execute(text(
            "SELECT gv.version FROM incident i JOIN grid_version gv ON gv.id = i.grid_version_id "
            "WHERE i.id = :i"), {"i": stored["id"]}).scalar_one()
    assert log == [("report", "reported")] and version == 1


def test_a_gcj02_pin_keeps_its_raw_coordinates_and_lands_in_the_right_grid(api, grids, inside):
    x, y = (float(v) for v in from_wgs84(inside.x, inside.y, "gcj02"))
    stored = api.post("/incidents", json=report(inside, lon=x, lat=y, crs="gcj02")).json()
    assert stored["raw"]["crs"] == "gcj02" and stored["raw"]["lon"] == x
    assert stored["grid"]["code"] == grids.iloc[11].code
    assert abs(stored["lon"] - inside.x) < 1e-6 and abs(stored["lat"] - inside.y) < 1e-6


def test_a_report_from_a_phone_whose_clock_runs_ahead_is_reported_when_it_came(api, inside):
    """A year ahead: stored, not refused (the report would be lost), as reported when it came,
    its report step with it."""
    before = datetime.now(timezone.utc)
    ahead = api.post("/incidents", json=report(
        inside, reported_at=(before + timedelta(days=365)).isoformat())).json()
    after = datetime.now(timezone.utc)
    assert before <= datetime.fromisoformat(ahead["reported_at"]) <= after
    step = api.get(f"/incidents/{ahead['id']}/timeline").json()[0]
    assert datetime.fromisoformat(step["at"]) == datetime.fromisoformat(ahead["reported_at"])


def test_a_retry_answers_200_with_the_same_incident(api, inside, db):
    body = report(inside)
    first = api.post("/incidents", json=body)
    again = api.post("/incidents", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {k: v for k, v in first.json().items() if k != "possible_duplicates"}
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id = :c"),
                            {"c": body["client_id"]}).scalar_one() == 1


def test_racing_retries_store_exactly_one_incident(server, api, inside, db):
    body = report(inside)

    def send(_):  # a connection each, as retries from a phone would come
        with httpx.Client(base_url=server, headers=api.headers) as client:
            return client.post("/api/v1/incidents", json=body)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, range(32)))
    assert sorted(r.status_code for r in answers) == [200] * 31 + [201]
    assert len({r.json()["id"] for r in answers}) == 1
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id = :c"),
                            {"c": body["client_id"]}).scalar_one() == 1
        assert conn.execute(text(
            "SELECT count(*) FROM incident_log l JOIN incident i ON i.id = l.incident_id "
            "WHERE i.client_id = :c"), {"c": body["client_id"]}).scalar_one() == 1


def test_reusing_a_client_id_for_another_incident_is_a_conflict(api, inside):
    body = report(inside)
    assert api.post("/incidents", json=body).status_code == 201
    r = api.post("/incidents", json={**body, "description": "另一件事"})
    assert r.status_code == 409
    assert r.json()["detail"][0]["loc"][-1] == "client_id"


def test_a_case_sent_under_its_sources_number_keeps_it_and_is_found_by_it(api, inside):
    """A hotline's system sends its cases under its own numbers (工单编号): each number is one
    case of its source however often it is sent, and the case shows it and is found by it."""
    number = f"GD{uuid.uuid4().int % 10**12:012d}"
    body = report(inside, client_id=f" {number} ", source="hotline")
    first = api.post("/incidents", json=body)
    assert first.status_code == 201
    stored = first.json()
    assert stored["source_number"] == number and uuid.UUID(stored["client_id"])
    again = api.post("/incidents", json={**body, "client_id": number})
    assert (again.status_code, again.json()["id"]) == (200, stored["id"])
    other = api.post("/incidents", json={**body, "source": "citizen"})  # another system's number
    assert other.status_code == 201 and other.json()["id"] != stored["id"]
    changed = api.post("/incidents", json={**body, "description": "另一件事"})
    assert changed.status_code == 409
    refusal = changed.json()["detail"][0]
    assert (refusal["loc"][-1], refusal["ctx"]) == ("client_id", {"incident": stored["id"]})
    assert number in refusal["msg"]
    found = api.get("/incidents", params={"q": number.lower()}).json()["features"]
    assert sorted(f["id"] for f in found) == sorted([stored["id"], other.json()["id"]])
    assert api.get(f"/incidents/{stored['id']}").json()["source_number"] == number
    plain = api.post("/incidents", json=report(inside)).json()
    assert plain["source_number"] is None


def test_a_far_away_report_is_stored_unassigned_and_listed_for_triage(api, hierarchy):
    body = report(lon=116.0, lat=21.5)  # the South China Sea, far from any grid
    r = api.post("/incidents", json=body)
    assert r.status_code == 201
    stored = r.json()
    assert stored["method"] == "unassigned" and stored["grid"] is None
    triage = api.get("/incidents", params={"method": "unassigned", "limit": 1000}).json()
    assert stored["id"] in [f["id"] for f in triage["features"]]


@pytest.mark.parametrize("lon,lat", [(0.0, 5e-324), (5e-324, -5e-324), (-180.0, 1e-310)])
def test_a_point_a_hair_off_the_equator_or_meridian_is_stored(api, hierarchy, lon, lat):
    """Coordinates at the edge of float precision are valid: stored (unassigned), not a 500."""
    r = api.post("/incidents", json=report(lon=lon, lat=lat))
    assert r.status_code == 201, r.text
    assert r.json()["method"] == "unassigned"


def test_a_report_just_off_the_coast_joins_the_nearest_grid(api, lattice):
    y = lattice.Y0 + lattice.STEP / 2
    r = api.post("/incidents", json=report(lon=lattice.X0 - 0.0002, lat=y))
    assert (r.json()["method"], r.json()["grid"]["code"]) == ("nearest", lattice.cell_code(0, 0))
    assert r.json()["county"]["code"] == lattice.VILLAGE[:6] and r.json()["city"] is None


@pytest.mark.parametrize("change,field", [
    ({"lon": 200}, "lon"),
    ({"lat": -95}, "lat"),
    ({"lon": True}, "lon"),  # not longitude 1
    ({"accuracy_m": False}, "accuracy_m"),
    ({"client_id": " \u3000 "}, "client_id"),  # a number is some printable characters
    ({"client_id": "GD\x07"}, "client_id"),
    ({"client_id": "G" * 65}, "client_id"),
    ({"client_id": 20261101}, "client_id"),
    ({"category": ""}, "category"),
    ({"source": "rumour"}, "source"),
    ({"crs": "mars"}, "crs"),
    ({"accuracy_m": -3}, "accuracy_m"),
    ({"accuracy_m": 1e39}, "accuracy_m"),  # beyond single precision
    ({"reported_at": "yesterday"}, "reported_at"),
    ({"reported_at": 2024}, "reported_at"),  # a year, not seconds since 1970
    ({"reported_at": "1700000000"}, "reported_at"),
    ({"reported_at": "2026-11-20T09:30:00-16:01"}, "reported_at"),  # beyond PostgreSQL's zones
    ({"description": "长" * 4001}, "description"),
    ({"description": "井盖\x00缺失"}, "description"),  # PostgreSQL's text holds no NUL
    ({"category": "0\x006"}, "category"),
    ({"colour": "red"}, "colour"),
])
def test_bad_fields_are_refused_naming_the_field(api, inside, change, field, db):
    body = report(inside, **change)
    r = api.post("/incidents", json=body)
    assert r.status_code == 422
    assert field in [e["loc"][-1] for e in r.json()["detail"]]
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id::text = :c"),
                            {"c": str(body["client_id"])}).scalar_one() == 0


def test_a_value_the_database_cannot_hold_is_refused_where_no_check_named_it(api):
    r = api.get("/incidents", params={"village": "44\x0015"})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["query", "village"], "type": "data_error", "msg":
                                   "PostgreSQL text fields cannot contain NUL (0x00) bytes"}]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(api, inside, literal):
    raw = json.dumps(report(inside)).replace(f'"lat": {inside.y}', f'"lat": {literal}')
    r = api.post("/incidents", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "lat"


@pytest.mark.parametrize(("path", "field"), [("/incidents", "description"), ("/plans", "name")])
def test_a_lone_surrogate_is_refused_naming_its_field(api, inside, path, field):
    """JSON may escape half of a surrogate pair (\\ud800), which is no character: refused, and
    echoed back escaped."""
    body = report(inside) if path == "/incidents" else {"villages": ["441502001001"]}
    body[field] = "井盖\ud800缺失"
    raw = json.dumps(body)  # ASCII: the lone surrogate written as its escape
    r = api.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    error = r.json()["detail"][0]
    assert error["loc"][-1] == field and error["input"] == "井盖\\ud800缺失"


@pytest.mark.parametrize("raw", [b'{"client_id": ', b"\xff\xfe", b"[1, 2]"])
def test_a_body_that_is_no_json_object_is_refused_naming_the_body(api, raw):
    r = api.post("/incidents", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][0] == "body"
    assert r.json()["detail"][0]["type"] in {"json_invalid", "model_type"}


def test_a_body_that_is_no_text_is_answered_as_the_api_answers_it(api):
    """Bytes that are no text in any of JSON's encodings: 400 from the reports' hot path, as
    from the API's other routes."""
    for path in ("/incidents", "/plans"):
        r = api.post(path, content=b"\xfe\xff\x00", headers={"content-type": "application/json"})
        assert (r.status_code, r.json()) == (400, {"detail": "There was an error parsing the body"})


def test_a_report_at_its_longest_is_stored_and_a_larger_body_refused_unread(api, inside, db):
    longest = report(inside, description="😀" * 4000)  # each written as \ud83d\ude00
    raw = json.dumps(longest).encode()
    assert len(raw) > 48_000
    r = api.post("/incidents", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 201 and r.json()["description"] == "😀" * 4000
    larger = report(inside, description="x" * 70_000)
    r = api.post("/incidents", json=larger)
    assert r.status_code == 413
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id::text = :c"),
                            {"c": larger["client_id"]}).scalar_one() == 0


def test_a_description_is_stored_as_written(api, inside):
    written = '井盖 "缺失" \\ 路口\n第二行\t\u0001\u2028 <b>'  # quotes, escapes, controls
    r = api.post("/incidents", json=report(inside, description=written))
    assert r.status_code == 201 and r.json()["description"] == written
    assert api.get(f"/incidents/{r.json()['id']}").json()["description"] == written


def test_an_unknown_category_is_refused_naming_it(api, inside):
    r = api.post("/incidents", json=report(inside, category="no-such-class"))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "category"


@pytest.mark.parametrize("swap", ["in range", "lat beyond 90"])
def test_swapped_coordinates_are_refused_saying_so(api, grids, lattice, swap, db):
    # in China a swapped pair has a latitude beyond 90; in the west both halves stay in range
    p = (lattice.WEST if swap == "in range" else grids.iloc[5].geometry).representative_point()
    body = report(p, lon=p.y, lat=p.x)
    r = api.post("/incidents", json=body)
    assert r.status_code == 422
    assert "swapped" in r.json()["detail"][0]["msg"]
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id = :c"),
                            {"c": body["client_id"]}).scalar_one() == 0


def test_incidents_are_never_deleted_and_their_log_never_rewritten(api, inside, db):
    stored = api.post("/incidents", json=report(inside)).json()
    for statement in ("DELETE FROM incident WHERE id = :i",
                      "UPDATE incident_log SET note = 'x' WHERE incident_id = :i",
                      "DELETE FROM incident_log WHERE incident_id = :i",
                      "TRUNCATE incident_log", "TRUNCATE incident CASCADE",
                      # what incidents refer to stays too: grids and versions are closed instead
                      "DELETE FROM grid_version WHERE id = "
                      "(SELECT grid_version_id FROM incident WHERE id = :i)",
                      "DELETE FROM grid WHERE id = (SELECT grid_id FROM incident WHERE id = :i)",
                      "DELETE FROM category WHERE code = '06'"):
        with pytest.raises(DBAPIError, match="not allowed"):
            with db.begin() as conn:
                conn.execute(text(statement), {"i": stored["id"]})
