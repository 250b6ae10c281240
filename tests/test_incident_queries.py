"""Listing incidents as GeoJSON, by place, state, category and time, a page at a time."""

import json
import uuid

import pytest
import shapely
from sqlalchemy import text


@pytest.fixture(scope="module")
def seeded(api, grids):
    """Six incidents in two grids of different counties, over three days and two categories."""
    a = grids[grids["village_code"].str.startswith("441502")].iloc[0]
    b = grids[grids["village_code"].str.startswith("420106")].iloc[0]
    tag = uuid.uuid4().hex[:8]
    stored = []
    for i, (grid, day, category) in enumerate([(a, 18, "01"), (a, 19, "02"), (a, 20, "01"),
                                               (b, 18, "02"), (b, 19, "01"), (b, 20, "02")]):
        p = grid.geometry.representative_point()
        r = api.post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": category, "description": f"{tag}-{i}",
            "lon": p.x, "lat": p.y, "reported_at": f"2026-10-{day}T10:00:00+08:00"})
        stored.append(r.json())
    return {"a": a, "b": b, "stored": stored}


def ids(api, **params):
    r = api.get("/incidents", params={"limit": 1000, **params})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["type"] == "FeatureCollection"
    return {f["id"] for f in body["features"]}


def test_features_are_points_with_the_incident_as_properties(api, seeded):
    body = api.get("/incidents", params={"grid": seeded["a"].code, "limit": 1}).json()
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["grid"]["code"] == seeded["a"].code
    assert feature["geometry"]["coordinates"] == [feature["properties"]["lon"],
                                                  feature["properties"]["lat"]]


def test_filter_by_grid_village_township_county_and_city(api, seeded):
    a_ids = {s["id"] for s in seeded["stored"][:3]}
    b_ids = {s["id"] for s in seeded["stored"][3:]}
    assert a_ids <= ids(api, grid=seeded["a"].code) and not b_ids & ids(api, grid=seeded["a"].code)
    assert a_ids <= ids(api, village=seeded["a"].village_code)
    assert b_ids <= ids(api, township=seeded["b"].village_code[:9])
    county_b = ids(api, county="420106")
    assert b_ids <= county_b and not a_ids & county_b
    city_b = ids(api, city="4201")  # 武汉市
    assert b_ids <= city_b and not a_ids & city_b and city_b == county_b


def test_filter_by_bbox(api, seeded):
    minx, miny, maxx, maxy = seeded["a"].geometry.bounds
    found = ids(api, bbox=f"{minx},{miny},{maxx},{maxy}")
    assert {s["id"] for s in seeded["stored"][:3]} <= found
    assert not {s["id"] for s in seeded["stored"][3:]} & found


def test_filter_by_category_status_and_time(api, seeded):
    s = seeded["stored"]
    grid = seeded["a"].code
    assert ids(api, grid=grid, category="01") >= {s[0]["id"], s[2]["id"]}
    assert s[1]["id"] not in ids(api, grid=grid, category="01")
    assert s[0]["id"] in ids(api, grid=grid, status="reported")
    assert s[0]["id"] not in ids(api, grid=grid, status="closed")
    window = ids(api, grid=grid, **{"from": "2026-10-19T00:00:00+08:00",
                                     "to": "2026-10-20T00:00:00+08:00"})
    assert s[1]["id"] in window and not {s[0]["id"], s[2]["id"]} & window


def test_the_cases_waiting_to_be_taken_in_are_those_reported_or_being_verified(api, grids):
    """status=waiting (待受理, as the wall counts it): the cases reported and those being
    verified, not those filed; any other name of no state is refused naming the field."""
    from tests.test_workflow import do

    grid = grids[grids["code"].str.startswith("441502")].iloc[30]
    p = grid.geometry.representative_point()
    reported, verifying, filed = (api.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "description": "待受理",
        "lon": p.x, "lat": p.y}).json()["id"] for _ in range(3))
    assert do(api, verifying, "verify").status_code == 200
    assert do(api, filed, "file").status_code == 200
    waiting = ids(api, grid=grid.code, status="waiting")
    assert {reported, verifying} <= waiting and filed not in waiting
    assert verifying in ids(api, grid=grid.code, status="verifying")
    assert reported not in ids(api, grid=grid.code, status="verifying")
    r = api.get("/incidents", params={"status": "pending"})
    assert r.status_code == 422 and "status" in r.text


def test_a_reporter_lists_its_own_reports_in_whatever_state(clients, accounts, grids):
    """reporter=me: the cases the caller reported, open or closed, and none of those others
    reported in its grids; any other value is refused naming the field."""
    from tests.test_workflow import do

    worker, admin = clients["worker"], clients["admin"]
    code = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == code].geometry.iloc[0].representative_point()
    report = {"category": "0601", "lon": p.x, "lat": p.y}
    mine_open, mine_closed = (worker.post("/incidents", json={
        **report, "client_id": str(uuid.uuid4()), "description": what}).json()["id"]
        for what in ("网格员上报：在办", "网格员上报：不予受理"))
    theirs = admin.post("/incidents", json={
        **report, "client_id": str(uuid.uuid4()), "description": "他人上报"}).json()["id"]
    assert do(admin, mine_closed, "reject", note="重复上报").status_code == 200
    listed = ids(worker, reporter="me")
    assert {mine_open, mine_closed} <= listed and theirs not in listed
    assert theirs in ids(worker, grid=code)  # in the worker's grid, so read, but not its own
    assert mine_open not in ids(admin, reporter="me") and theirs in ids(admin, reporter="me")
    r = worker.get("/incidents", params={"reporter": "worker"})
    assert r.status_code == 422 and "reporter" in r.text


def test_a_class_lists_its_own_cases_and_those_of_the_classes_under_it(api, seeded):
    grid = seeded["a"]
    p = grid.geometry.representative_point()
    garbage = api.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "description": "暴露垃圾",
        "lon": p.x, "lat": p.y}).json()["id"]  # 0601 暴露垃圾 under 06 市容环境
    assert garbage in ids(api, grid=grid.code, category="06")
    assert garbage in ids(api, grid=grid.code, category="0601")
    assert garbage not in ids(api, grid=grid.code, category="0602")
    assert garbage not in ids(api, grid=grid.code, category="01")


def test_a_class_whose_code_has_letters_lists_the_classes_under_it(api, seeded,
                                                                    lettered_classes):
    parent, child = lettered_classes
    grid = seeded["a"]
    p = grid.geometry.representative_point()
    case = api.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": child, "description": "字母编码",
        "lon": p.x, "lat": p.y}).json()["id"]
    assert case in ids(api, grid=grid.code, category=parent)
    assert case not in ids(api, grid=grid.code, category="Qza")


def test_paging_walks_every_incident_once_newest_first(api, seeded):
    county = "441502"
    everything = api.get("/incidents", params={"county": county, "limit": 1000}).json()["features"]
    pages, offset = [], 0
    while True:
        page = api.get("/incidents", params={"county": county, "limit": 2, "offset": offset}).json()
        if not page["features"]:
            break
        pages += page["features"]
        offset += 2
    assert [f["id"] for f in pages] == [f["id"] for f in everything]
    assert [f["id"] for f in pages] == sorted((f["id"] for f in pages), reverse=True)


def test_the_oldest_come_first_when_asked_and_the_whole_is_counted_when_asked(api, seeded):
    county = {"county": seeded["a"].village_code[:6]}
    newest = [f["id"] for f in api.get("/incidents", params={**county, "limit": 1000}).json()[
        "features"]]
    assert len(newest) >= 3
    page = api.get("/incidents", params={**county, "order": "oldest", "limit": 2,
                                         "count": "true"}).json()
    assert [f["id"] for f in page["features"]] == newest[::-1][:2]
    assert page["numberReturned"] == 2 and page["numberMatched"] == len(newest)
    second = api.get("/incidents", params={**county, "order": "oldest", "limit": 2, "offset": 2,
                                           "count": "true"}).json()
    assert [f["id"] for f in second["features"]] == newest[::-1][2:4]
    assert second["numberMatched"] == len(newest)
    # counted with the filters: those of one grid, and none
    grid = {"grid": seeded["a"].code, "category": "01", "count": "true", "limit": 1}
    assert api.get("/incidents", params=grid).json()["numberMatched"] == len(
        ids(api, grid=seeded["a"].code, category="01"))
    none = api.get("/incidents", params={**county, "from": "2099-01-01", "count": "true"}).json()
    assert none["features"] == [] and none["numberMatched"] == 0
    assert "numberMatched" not in api.get("/incidents", params={"limit": 1}).json()


def test_the_most_urgent_come_first_when_asked(api, grids, db):
    """order=due: the urgent case first, then by the soonest deadline of the clocks running in
    each case's state (an overdue one first; a deadline of a clock stopped counts for nothing),
    then those with none running, the newest first."""
    p = grids[grids["village_code"].str.startswith("420106")].iloc[2].geometry.centroid
    tag = f"急序{uuid.uuid4().hex[:6]}"
    states = {  # name: what is set on the case reported
        "older": {}, "newer": {},
        "soon": {"status": "'filed'", "dispatch_deadline": "now() + interval '1 hour'"},
        "later": {"status": "'dispatched'", "dispatch_deadline": "now() - interval '10 days'",
                  "handling_deadline": "now() + interval '3 days'"},
        "late": {"status": "'in_progress'", "handling_deadline": "now() - interval '1 day'"},
        "checked": {"status": "'handled'", "handling_deadline": "now() - interval '5 days'",
                    "check_deadline": "now() + interval '2 hours'"},
        "urgent": {"status": "'dispatched'", "urgent_at": "now()",
                   "handling_deadline": "now() + interval '5 days'"},
    }
    ids = {}
    for name, sets in states.items():
        ids[name] = api.post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "01", "description": f"{tag}{name}",
            "lon": p.x, "lat": p.y}).json()["id"]
        if sets:
            changes = ", ".join(f"{column} = {value}" for column, value in sets.items())
            with db.begin() as conn:
                conn.execute(text(f"UPDATE incident SET {changes} WHERE id = :id"),
                             {"id": ids[name]})
    order = ["urgent", "late", "soon", "checked", "later", "newer", "older"]
    listed = api.get("/incidents", params={"q": tag, "order": "due", "limit": 100}).json()
    assert [f["id"] for f in listed["features"]] == [ids[name] for name in order]
    second = api.get("/incidents", params={"q": tag, "order": "due", "limit": 3, "offset": 3})
    assert [f["id"] for f in second.json()["features"]] == [ids[n] for n in order[3:6]]


def test_cases_are_found_by_the_words_their_description_holds(api, grids):
    wuchang = grids[grids["village_code"].str.startswith("420106")]
    p = wuchang.iloc[1].geometry.representative_point()
    tag = uuid.uuid4().hex[:6]

    def report(description: str) -> int:
        return api.post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "01", "description": description,
            "lon": p.x, "lat": p.y}).json()["id"]

    east, west = report(f"东街{tag}井盖缺失"), report(f"西街{tag}井盖松动，请尽快处理")
    lamp, wifi = report(f"{tag}路灯不亮"), report(f"{tag} Wi-Fi 信号弱")
    percent, plain = report(f"{tag}100%完成"), report(f"{tag}100x完成")
    assert ids(api, q=f"{tag}井盖") == {east, west}
    assert ids(api, q=f" {tag}路灯 ") == {lamp}  # as typed, the spaces round it trimmed
    assert ids(api, q=f"{tag} wi-fi") == {wifi}  # letters of either case
    assert ids(api, q=f"{tag}100%") == {percent}  # % and _ are themselves, not wildcards
    assert ids(api, q=f"{tag}10_") == set() and plain in ids(api, q=f"{tag}100x")
    assert ids(api, q=f"{tag}井盖", category="02") == set()  # with the other filters
    ledger = api.get("/incidents.csv", params={"q": f"{tag}井盖"}).text
    assert ledger.count(tag) == 2
    r = api.get("/incidents", params={"q": "字" * 101})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "q"


def test_cases_are_listed_by_who_reported_them(api, grids):
    """One source, or the public's (the hotline's and citizens', as 监督举报率 counts them),
    with the other filters; the ledger likewise."""
    wuchang = grids[grids["village_code"].str.startswith("420106")]
    p = wuchang.iloc[2].geometry.representative_point()
    tag = uuid.uuid4().hex[:6]
    reported = {source: api.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "01", "description": f"{tag}{source}",
        "lon": p.x, "lat": p.y, "source": source}).json()["id"]
        for source in ("grid_worker", "hotline", "citizen", "sensor", "other")}
    for source, case in reported.items():
        assert ids(api, q=tag, source=source) == {case}
    assert ids(api, q=tag, source="public") == {reported["hotline"], reported["citizen"]}
    assert ids(api, q=tag) == set(reported.values())
    assert ids(api, q=tag, source="public", category="02") == set()
    ledger = api.get("/incidents.csv", params={"q": tag, "source": "public"}).text
    assert ledger.count(tag) == 2


@pytest.mark.parametrize("params,field", [
    ({"order": "up"}, "order"), ({"source": "rumour"}, "source"),
    ({"bbox": "1,2,3"}, "bbox"), ({"bbox": "a,b,c,d"}, "bbox"), ({"bbox": "10,10,5,5"}, "bbox"),
    ({"limit": 0}, "limit"), ({"limit": 100000}, "limit"), ({"offset": -1}, "offset"),
    ({"from": "soon"}, "from"), ({"method": "guess"}, "method"), ({"status": "finished"}, "status"),
])
def test_bad_filters_are_refused_naming_the_parameter(api, params, field):
    r = api.get("/incidents", params=params)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == field


def test_an_unknown_incident_is_404(api):
    assert api.get("/incidents/999999999").status_code == 404


@pytest.mark.parametrize("box", [(113.1, 22.5, 113.2, float("nan")), (113.1, 22.5, 113.2),
                                 (113.1, 22.5, 113.2, "22.6)); DROP TABLE incident; --")])
def test_a_box_reaches_the_list_statement_as_four_finite_numbers_or_not_at_all(box):
    """The list writes a box's corners into its statement: only as four finite numbers."""
    from mapsvc.errors import InvalidInput
    from mapsvc.incidents.queries import IncidentFilter

    with pytest.raises(InvalidInput) as refused:
        IncidentFilter(bbox=box).filters()
    assert refused.value.field == "bbox"
    written = IncidentFilter(bbox=(113.1, 22.5, 113.2, 22.6)).filters()
    assert "ST_MakePoint(113.2, 22.6)" in written.where() and not written.params


def _list_as_planned(points, where, limit: int, then: str | None = None):
    """Open cases stored at ``points`` for the time of one transaction (rolled back), and the
    statement ``then`` run on them; then the incident list ``where`` as the service plans it (a
    generic plan) and runs it: the plan's top node and the list."""
    from mapsvc.accounts.model import Account, Role
    from mapsvc.db.engine import async_engine
    from mapsvc.incidents.queries import incidents_sql
    from tests.conftest import run, store_cases
    from tests.explain import generic_plan

    async def scenario():
        engine = async_engine()
        try:
            async with engine.connect() as conn:
                transaction = await conn.begin()  # rolled back: the cases stay out of the others
                await store_cases(conn, points)
                if then:
                    await conn.execute(text(then))
                await conn.execute(text("ANALYZE incident"))  # as autovacuum would after them
                sql, params = incidents_sql(where, Account(id=0, username="city", role=Role.admin),
                                            limit=limit)
                plan = await generic_plan(conn, sql, params)
                listed = (await conn.execute(text(sql), params)).scalar_one()
                await transaction.rollback()
            async with engine.connect() as conn:
                # the rolled-back cases stay in the indexes until vacuumed, and the other tests'
                # plans would count them
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("VACUUM incident")
            return plan, json.loads(listed)
        finally:
            await engine.dispose()

    return run(scenario())


def test_a_wide_boxs_first_page_is_read_newest_first_not_sorted_from_every_case(grids):
    """The incident list by a box over a whole county with thousands of cases in it: its first
    page is read newest first until it is full. A plan that does not know the box's size reads
    every case in it and sorts them."""
    from mapsvc.incidents.queries import IncidentFilter
    from tests.explain import rows_handled

    county = grids[grids["village_code"].str.startswith("441502")]
    inside = county.geometry.representative_point()
    points = [(p.x, p.y) for p in inside] * (2_000 // len(inside) + 1)
    box = tuple(county.total_bounds)
    plan, listed = _list_as_planned(points, IncidentFilter(bbox=box), limit=20)
    assert len(points) >= 2_000 and all(shapely.box(*box).covers(shapely.Point(p)) for p in points)
    assert listed["numberReturned"] == 20
    ids_listed = [f["id"] for f in listed["features"]]
    assert ids_listed == sorted(ids_listed, reverse=True)
    assert rows_handled(plan, "incident") <= 10 * 20


def test_a_search_by_words_reads_the_cases_as_they_lie_not_one_by_one_newest_first(grids):
    """Words no case holds, among 20,000 cases: the list reads the cases in the order
    they lie on disk. Walked newest first through the index of their ids, as a page of them
    is read otherwise, each case would be read from wherever it lies, every one of them."""
    from mapsvc.incidents.queries import IncidentFilter

    inside = grids.geometry.representative_point()
    points = [(p.x, p.y) for p in inside] * (20_000 // len(inside) + 1)
    plan, listed = _list_as_planned(points, IncidentFilter(words="9876543210"), limit=20)
    assert listed["features"] == []

    def scans(node: dict) -> list[dict]:  # those of the cases that ran
        own = [node] if node.get("Relation Name") == "incident" and node["Actual Loops"] else []
        return own + [s for child in node.get("Plans", []) for s in scans(child)]

    assert {s["Node Type"] for s in scans(plan)} == {"Seq Scan"}


def test_the_triage_queue_is_read_from_its_own_cases_not_from_every_case(grids, api):
    """The unassigned cases (the triage queue) among thousands assigned to grids: the list reads
    the queue alone, whatever else is stored."""
    from mapsvc.incidents.queries import IncidentFilter
    from tests.explain import rows_handled

    inside = grids.geometry.representative_point()
    at_sea = [(115.5, 22.0 + i / 100) for i in range(5)]  # off 汕尾's coast, far from any grid
    points = [(p.x, p.y) for p in inside] * (2_000 // len(inside) + 1) + at_sea
    before = ids(api, method="unassigned")
    plan, listed = _list_as_planned(points, IncidentFilter(method="unassigned"), limit=1000)
    queue = {f["id"] for f in listed["features"]}
    assert queue > before and len(queue) == len(before) + len(at_sea)
    assert rows_handled(plan, "incident") <= 4 * len(queue) + 10


def test_a_colours_list_reads_the_cases_whose_clocks_run_not_every_case(grids, db):
    """The yellow list among thousands of cases just reported (whose clocks do not run yet)
    and a few filed ones, their dispatch clocks past the warning: the list reads the cases whose
    clocks run, not every case."""
    from mapsvc.incidents.queries import IncidentFilter
    from mapsvc.workflow.machine import TIMED_SQL
    from tests.explain import rows_handled

    inside = grids.geometry.representative_point()
    points = [(p.x, p.y) for p in inside] * (2_000 // len(inside) + 1)
    with db.connect() as conn:
        timed = conn.execute(text(f"SELECT count(*) FROM incident WHERE status IN {TIMED_SQL}"))
        timed = timed.scalar_one() + 20
    file_the_newest = """
        UPDATE incident SET status = 'filed', filed_at = now() - interval '3 hours',
               dispatch_warn_at = now() - interval '1 hour',
               dispatch_deadline = now() + interval '1 hour'
         WHERE id IN (SELECT id FROM incident ORDER BY id DESC LIMIT 20)"""
    plan, listed = _list_as_planned(points, IncidentFilter(colour="yellow"), limit=100,
                                    then=file_the_newest)
    assert listed["numberReturned"] >= 20
    assert all(f["properties"]["colour"] == "yellow" for f in listed["features"])
    assert rows_handled(plan, "incident") <= 4 * timed + 10
