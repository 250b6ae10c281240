"""Organisations and places recorded and corrected one at a time from the field (动态采集): each
lands in its grid, within the account's jurisdiction alone, is stored once however often it is
sent, and keeps its recording and every change, before and after; the phone records one where
the worker stands, also with no signal, and corrects one recorded near; a centre finds them on
its page of organisations and places, corrects them and reads their record."""

import csv
import io
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import morecantile
import pytest
import shapely
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser import refused, searched, sign_in, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, csv_bytes
from tests.test_phone import _phone, _signal_back
from tests.test_tiles import _features


@pytest.fixture(scope="module")
def village(accounts, grids):
    """The chief's grids: a point inside each, by code (the worker's is the first)."""
    codes = accounts["chief"][1]["grid_codes"]
    by_code = grids.set_index("code").geometry
    return {code: by_code[code].representative_point() for code in codes}


def _at(point) -> dict:
    return {"lon": point.x, "lat": point.y}


def _stored(db, table: str, client_id: str) -> list:
    with db.connect() as conn:
        return conn.execute(text(f"SELECT id FROM {table} WHERE client_id = :c"),
                            {"c": client_id}).all()


def test_a_worker_records_an_organisation_in_its_grid_once_however_often_it_is_sent(
        clients, village, db):
    own, other = list(village)[:2]
    sent = {"client_id": str(uuid.uuid4()), "name": "张记<b>五金</b>店", "kind": "enterprise",
            "point": _at(village[own])}
    r = clients["worker"].post("/registry/organisations", json=sent)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["name"], made["kind"], made["grid"], made["method"]) == (
        "张记<b>五金</b>店", "enterprise", own, "inside")
    assert (made["lon"], made["lat"]) == (round(village[own].x, 7), round(village[own].y, 7))
    again = clients["worker"].post("/registry/organisations", json=sent)
    assert again.status_code == 200 and again.json() == made
    # another account's retry of the same client id is not taken for its own
    r = clients["chief"].post("/registry/organisations", json=sent)
    assert r.status_code == 409 and r.json()["detail"][0]["loc"] == ["body", "client_id"]
    assert len(_stored(db, "organisation", sent["client_id"])) == 1
    listed = clients["command"].get("/registry/organisations", params={"grid": own}).json()
    assert made["id"] in {f["id"] for f in listed["features"]}

    # a point in another's grid or in no grid is not the worker's to record; nothing is stored
    for point in (_at(village[other]), {"lon": 114.3, "lat": 30.55}):
        elsewhere = {**sent, "client_id": str(uuid.uuid4()), "point": point}
        r = clients["worker"].post("/registry/organisations", json=elsewhere)
        assert r.status_code == 403 and r.json()["detail"][0]["loc"] == ["body", "point"]
        assert _stored(db, "organisation", elsewhere["client_id"]) == []
    # the chief records in any of its grids, the centre anywhere in its region
    for role in ("chief", "command"):
        r = clients[role].post("/registry/places", json={
            "client_id": str(uuid.uuid4()), "name": f"{role}的市场", "kind": "农贸市场",
            "point": _at(village[other])})
        assert r.status_code == 201 and r.json()["grid"] == other, role
    for role in ("planner", "department", "auditor"):
        r = clients[role].post("/registry/places", json={
            **sent, "client_id": str(uuid.uuid4()), "kind": "农贸市场"})
        assert r.status_code == 403, role


def test_a_record_sent_twice_at_once_is_stored_once(clients, village, db):
    sent = {"client_id": str(uuid.uuid4()), "name": "同时发出的超市", "kind": "enterprise",
            "point": _at(next(iter(village.values())))}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: clients["worker"].post("/registry/organisations",
                                                                 json=sent), range(4)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in answers}) == 1
    assert len(_stored(db, "organisation", sent["client_id"])) == 1


@pytest.mark.parametrize("change, field", [
    ({"kind": "shop"}, "kind"), ({"kind": " "}, "kind"), ({"name": " "}, "name"),
    ({"name": ""}, "name"), ({"point": {"lon": 200, "lat": 22}}, "lon"),
    ({"point": {"lon": 22.8, "lat": 115.2}}, "lat"), ({"name": "a\x00b"}, "name")])
def test_a_bad_record_or_change_is_refused_naming_its_field(clients, village, change, field):
    own = next(iter(village.values()))
    sent = {"client_id": str(uuid.uuid4()), "name": "字段检查", "kind": "enterprise",
            "point": _at(own), **change}
    r = clients["worker"].post("/registry/organisations", json=sent)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, r.text


def test_an_organisation_is_renamed_and_moved_and_each_change_is_kept(clients, village, db):
    first, second = list(village)[:2]
    made = clients["chief"].post("/registry/organisations", json={
        "client_id": str(uuid.uuid4()), "name": "旧名商店", "kind": "enterprise",
        "point": _at(village[first])}).json()
    path = f"/registry/organisations/{made['id']}"
    renamed = clients["chief"].patch(path, json={"name": "新名商店", "kind": "other"})
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["kind"], renamed.json()["grid"]) == (
        "新名商店", "other", first)
    moved = clients["chief"].patch(path, json={"point": _at(village[second])}).json()
    assert (moved["name"], moved["grid"]) == ("新名商店", second)
    assert clients["chief"].patch(path, json={"point": _at(village[second])}).json() == moved
    # the worker may not touch one outside its grid, nor move its own out of it
    assert clients["worker"].patch(path, json={"name": "越权"}).status_code == 404
    assert clients["planner"].patch(path, json={"name": "越权"}).status_code == 403
    r = clients["chief"].patch(path, json={"point": {"lon": 114.3, "lat": 30.55}})
    assert r.status_code == 403 and r.json()["detail"][0]["loc"] == ["body", "point"]
    assert clients["chief"].patch("/registry/organisations/999999999",
                                  json={"name": "无"}).status_code == 404

    kept = clients["command"].get(f"{path}/changes").json()
    assert [(c["username"], c["action"]) for c in kept] == [
        ("chief", "recorded"), ("chief", "changed"), ("chief", "changed")]
    assert kept[0]["before"] is None and kept[0]["after"]["name"] == "旧名商店"
    assert (kept[1]["before"]["name"], kept[1]["after"]["name"]) == ("旧名商店", "新名商店")
    assert (kept[1]["before"]["kind"], kept[1]["after"]["kind"]) == ("enterprise", "other")
    assert (kept[2]["before"]["grid"], kept[2]["after"]["grid"]) == (first, second)
    assert kept[2]["after"]["lon"] == round(village[second].x, 7)
    assert clients["worker"].get(f"{path}/changes").status_code == 404
    with pytest.raises(Exception, match="append-only"):
        with db.begin() as conn:
            conn.execute(text("DELETE FROM registry_change"))


def _imported(client, layer: str, rows: list[dict], name: str) -> dict:
    """``rows`` sent as the registry file ``name`` of ``layer``: the import's answer."""
    r = client.post(f"/registry/import/{layer}", files={
        "file": (name, csv_bytes(list(rows[0]), rows), "text/csv")})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_registry_file_imported_again_updates_what_it_holds_and_keeps_each_change(
        clients, village, db):
    """A county's file of places imported again stores none twice: one held already (by its
    code, or with none by its name and kind at its point, recorded from the field among them)
    is updated to the file, its change kept with the file and who imported it."""
    own, other = list(village)[:2]
    mark = uuid.uuid4().hex[:6]
    kind = f"{mark}粮油"
    field = clients["chief"].post("/registry/places", json={
        "client_id": str(uuid.uuid4()), "name": f"{mark}粮店", "kind": kind,
        "point": _at(village[own])}).json()
    here = {"lon": village[own].x, "lat": village[own].y}
    rows = [{"名称": f"{mark}粮店", "类型": kind, "场所编码": f"CS-{mark}-1", "经度": here["lon"],
             "纬度": here["lat"]},  # the one recorded from the field: given its code
            {"名称": f"{mark}药店", "类型": kind, "场所编码": f"CS-{mark}-2", "经度": here["lon"],
             "纬度": here["lat"]},
            {"名称": f"{mark}茶馆", "类型": kind, "场所编码": "", "经度": here["lon"],
             "纬度": here["lat"]}]
    first = _imported(clients["command"], "places", rows, "场所台账.csv")
    assert (first["stored"], first["updated"], first["rejected"]) == (2, 1, 0)

    def held() -> list[tuple]:
        listed = clients["command"].get("/registry/places", params={"kind": kind}).json()
        return sorted((f["properties"]["name"], f["properties"]["code"], f["properties"]["grid"])
                      for f in listed["features"])
    assert held() == sorted([(f"{mark}粮店", f"CS-{mark}-1", own),
                             (f"{mark}药店", f"CS-{mark}-2", own), (f"{mark}茶馆", None, own)])
    again = _imported(clients["command"], "places", rows, "场所台账.csv")
    assert (again["stored"], again["updated"], again["rejected"]) == (0, 0, 0)
    rows[1].update({"名称": f"{mark}大药房", "经度": village[other].x, "纬度": village[other].y})
    moved = _imported(clients["admin"], "places", rows + [rows[2]], "场所台账（更新）.csv")
    assert (moved["stored"], moved["updated"], moved["rejected"]) == (0, 1, 1)
    assert moved["errors"][0]["line"] == 5 and moved["errors"][0]["field"] == "name"
    assert (f"{mark}大药房", f"CS-{mark}-2", other) in held() and len(held()) == 3
    assert clients["command"].get("/registry/places", params={"q": f"cs-{mark}-2"}).json()[
        "features"][0]["properties"]["name"] == f"{mark}大药房"  # found by its code

    def record(name: str) -> list[tuple]:
        found = clients["command"].get("/registry/places", params={"q": name}).json()
        [one] = found["features"]
        return [(c["username"], c["action"], c["file"], (c["before"] or {}).get("code"),
                 c["after"]["code"], c["after"]["grid"])
                for c in clients["command"].get(f"/registry/places/{one['id']}/changes").json()]
    assert record(f"{mark}粮店") == [
        ("chief", "recorded", None, None, None, own),
        ("command", "changed", "场所台账.csv", None, f"CS-{mark}-1", own)]
    assert record(f"{mark}大药房") == [
        ("command", "imported", "场所台账.csv", None, f"CS-{mark}-2", own),
        ("admin", "changed", "场所台账（更新）.csv", f"CS-{mark}-2", f"CS-{mark}-2", other)]
    assert record(f"{mark}茶馆") == [("command", "imported", "场所台账.csv", None, None, own)]
    assert clients["command"].get(f"/registry/places/{field['id']}/changes").json()[1][
        "after"]["code"] == f"CS-{mark}-1"  # the one recorded from the field, not another


def test_a_ledger_downloaded_corrected_and_imported_again_updates_what_was_corrected(
        clients, village):
    """The ledger (台账) downloaded, a name corrected in the spreadsheet and the file imported
    as it is: that one renamed, found by its number (编号), the others left as they are (the
    points the ledger rounds to 0.1 m stay where they are held); a number the registry does
    not hold, or a code of another than the one the number names, refused."""
    own, other = list(village)[:2]
    mark = uuid.uuid4().hex[:6]
    made = [clients["chief"].post("/registry/places", json={
        "client_id": str(uuid.uuid4()), "name": f"{mark}{name}", "kind": f"{mark}集市",
        "point": _at(village[own if n else other])}).json() for n, name in enumerate("甲乙丙")]
    r = clients["command"].get("/registry/places.csv", params={"q": mark})
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    line = {int(row["编号"]): n for n, row in enumerate(rows)}  # a place's row, by its number
    first, second, third = (rows[line[p["id"]]] for p in made)
    second["名称"] = f"{mark}乙（已更名）"
    again = _imported(clients["command"], "places", rows, "场所台账（更正）.csv")
    assert (again["stored"], again["updated"], again["rejected"]) == (0, 1, 0)
    changes = [clients["command"].get(f"/registry/places/{p['id']}/changes").json()
               for p in made]
    assert [len(c) for c in changes] == [1, 2, 1]
    assert (changes[1][1]["before"]["name"], changes[1][1]["after"]["name"],
            changes[1][1]["after"]["lon"]) == (f"{mark}乙", f"{mark}乙（已更名）",
                                               changes[1][0]["after"]["lon"])
    first["编号"] = "999999999"
    second["场所编码"] = third["场所编码"] = f"CS-{mark}"  # one code on two lines
    refused = _imported(clients["command"], "places", rows, "场所台账（更正）.csv")
    assert sorted((e["line"] - 2, e["field"], e["ctx"]["rule"]) for e in refused["errors"]) == (
        sorted([(line[made[0]["id"]], "id", "unknown"),
                (max(line[made[1]["id"]], line[made[2]["id"]]), "code", "repeated")]))
    assert refused["stored"] == 0
    first["编号"], first["场所编码"] = str(made[0]["id"]), f"CS-{mark}"  # 乙's code now
    taken = _imported(clients["command"], "places", [first], "甲.csv")
    assert [(e["line"], e["field"], e["ctx"]["rule"]) for e in taken["errors"]] == [
        (2, "code", "code_taken")]


def test_organisations_are_known_by_their_unified_social_credit_code(clients, village):
    """An organisation's code (统一社会信用代码) is checked by its check character, written as
    the register writes it, and names one organisation however often it is imported."""
    own = next(iter(village))
    mark = uuid.uuid4().hex[:6]
    at = {"经度": village[own].x, "纬度": village[own].y}
    rows = [{"名称": f"{mark}酒店", "类型": "enterprise", "统一社会信用代码": "91350100m000100y43",
             **at},  # the standard's example, in small letters
            {"名称": f"{mark}酒楼", "类型": "enterprise", "统一社会信用代码": "91350100M000100Y44",
             **at},  # its check character wrong
            {"名称": f"{mark}饭店", "类型": "enterprise", "统一社会信用代码": "91350100M000100Y43",
             **at}]  # the same code twice in a file
    r = _imported(clients["command"], "organisations", rows, "单位台账.csv")
    assert (r["stored"], r["updated"]) == (1, 0)
    assert [(e["line"], e["field"]) for e in r["errors"]] == [(3, "code"), (4, "code")]
    rows[0]["名称"] = f"{mark}大酒店"
    r = _imported(clients["command"], "organisations", rows[:1], "单位台账.csv")
    assert (r["stored"], r["updated"]) == (0, 1)
    [hotel] = clients["command"].get("/registry/organisations",
                                     params={"q": "91350100M000100Y43"}).json()["features"]
    assert (hotel["properties"]["name"], hotel["properties"]["code"]) == (
        f"{mark}大酒店", "91350100M000100Y43")


def test_the_phone_records_an_organisation_where_the_worker_stands_with_no_signal(
        browser, server, worker_spot, db):
    code, spot = worker_spot
    context, page = _phone(browser, server, spot)
    page.click("#collect")
    form = page.locator("#collecting")
    assert form.locator("[name=organisation_kind] option").all_inner_texts()[:2] == [
        "企业", "社会组织"]
    form.locator("[name=layer]").select_option("places")
    assert form.locator("[name=organisation_kind]").is_hidden()
    form.locator("[name=layer]").select_option("organisations")
    form.locator("[name=name]").fill("王记<i>粮油</i>店")
    form.locator("[name=organisation_kind]").select_option("enterprise")
    context.set_offline(True)
    form.locator("button[type=submit]").click()
    wait_until(page, "window.mapsvcPhone.queued === 1", "the record waiting")
    assert page.locator("#queue li").first.inner_text().endswith("采集 王记<i>粮油</i>店")
    assert form.is_hidden()
    _signal_back(context, page, "the record sent")
    with db.connect() as conn:
        grid_name = conn.execute(text("SELECT name FROM grid WHERE code = :c"),
                                 {"c": code}).scalar_one()
    assert page.inner_text("#result") == f"已采集：王记<i>粮油</i>店（{grid_name}）"
    with db.connect() as conn:
        stored = conn.execute(text(
            "SELECT o.id, o.kind, g.code, ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat, a.username "
            "FROM organisation o JOIN grid g ON g.id = o.grid_id "
            "JOIN account a ON a.id = o.recorded_by WHERE o.name = '王记<i>粮油</i>店'")).all()
    assert len(stored) == 1
    made, kind, grid, lon, lat, username = stored[0]
    assert (kind, grid, username) == ("enterprise", code, "worker")
    assert (round(lon, 6), round(lat, 6)) == (round(spot.x, 6), round(spot.y, 6))

    # found again among those recorded near, and corrected: renamed, and moved to where the
    # worker now stands, some metres on
    page.click("#collect")
    near = page.locator("#recorded-near li", has_text="王记<i>粮油</i>店（企业）")
    near.locator("button", has_text="更正").click()
    assert form.locator("[name=name]").input_value() == "王记<i>粮油</i>店"
    assert form.locator("[name=layer]").is_disabled()
    assert page.inner_text("#collecting-title") == "更正单位或场所"
    form.locator("[name=name]").fill("王记粮油店")
    form.locator("[name=organisation_kind]").select_option("other")
    there = (spot.x + 0.0002, spot.y)
    context.set_geolocation({"longitude": there[0], "latitude": there[1], "accuracy": 8})
    wait_until(page, f"window.mapsvcPhone.position.lon === {there[0]}", "the worker moved on")
    form.locator("[name=move]").check()
    form.locator("button[type=submit]", has_text="保存更正").click()
    wait_until(page, "window.mapsvcPhone.queued === 0", "the correction sent")
    expect(page.locator("#result")).to_have_text(f"已更正：王记粮油店（{grid_name}）")

    # the shop closed: said so from the phone, it is listed near no more
    page.click("#collect")
    page.locator("#recorded-near li", has_text="王记粮油店（其他单位）").locator(
        "button", has_text="更正").click()
    form.locator("[name=closed]").check()
    form.locator("button[type=submit]", has_text="保存更正").click()
    expect(page.locator("#result")).to_have_text("已注销或停业：王记粮油店")
    # listed near as closed alone, to reopen (closed by mistake, or open again): reopened
    with page.expect_response(lambda r: "/registry/organisations?near=" in r.url
                              and "closed=true" in r.url):
        page.click("#collect")
    shop = page.locator("#recorded-near li", has_text="王记粮油店")
    expect(shop).to_have_count(1)
    assert shop.inner_text().startswith("王记粮油店（其他单位） · 已注销或停业")
    assert shop.locator("button").all_inner_texts() == ["恢复"]
    shop.locator("button").click()
    expect(page.locator("#result")).to_have_text(f"已恢复：王记粮油店（{grid_name}）")
    wait_until(page, "window.mapsvcPhone.queued === 0", "nothing left queued")  # once dropped
    context.close()
    with db.connect() as conn:
        now = conn.execute(text("SELECT name, kind, ST_X(geom) FROM organisation WHERE id = :i"),
                           {"i": made}).one()
        changed = conn.execute(text(
            "SELECT before ->> 'name', after ->> 'name', after ->> 'closed_on' IS NOT NULL "
            "FROM registry_change WHERE layer = 'organisation' AND entity_id = :i "
            "AND action = 'changed' ORDER BY id"), {"i": made}).all()
    assert (now[0], now[1], round(now[2], 6)) == ("王记粮油店", "other", round(there[0], 6))
    assert changed == [("王记<i>粮油</i>店", "王记粮油店", False), ("王记粮油店", "王记粮油店", True),
                       ("王记粮油店", "王记粮油店", False)]


def test_organisations_and_places_are_found_by_name_and_kind(clients, village):
    mark = uuid.uuid4().hex[:6]
    for name, kind in ((f"{mark}书店", "enterprise"), (f"{mark}小学", "school"),
                       (f"别的{mark}", "enterprise")):
        clients["chief"].post("/registry/organisations", json={
            "client_id": str(uuid.uuid4()), "name": name, "kind": kind,
            "point": _at(next(iter(village.values())))})

    def found(**asked) -> list[str]:
        r = clients["command"].get("/registry/organisations", params=asked)
        assert r.status_code == 200, r.text
        return sorted(f["properties"]["name"] for f in r.json()["features"])
    assert found(q=mark) == sorted([f"{mark}书店", f"{mark}小学", f"别的{mark}"])
    assert found(q=mark, kind="enterprise") == sorted([f"{mark}书店", f"别的{mark}"])
    assert found(q=f"{mark}小") == [f"{mark}小学"]
    assert found(q=f"{mark}%") == []  # the words as written, % among them
    for layer, asked, field in (("things", {"q": "消防"}, "q"),
                                ("addresses", {"kind": "school"}, "kind")):
        r = clients["command"].get(f"/registry/{layer}", params=asked)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field


def test_organisations_and_places_are_downloaded_as_a_ledger(clients, village, db):
    """The ledger (台账) of those a query finds, all of them, by grid: its kind in words, its
    grid by name and code, where it lies, open or closed; a name like a formula kept as text;
    the chief's of its grids alone; components have none."""
    own = next(iter(village))
    mark = uuid.uuid4().hex[:6]
    ids = [clients["chief"].post("/registry/organisations", json={
        "client_id": str(uuid.uuid4()), "name": name, "kind": kind,
        "point": _at(village[own])}).json()["id"] for name, kind in (
            (f"={mark}书店", "enterprise"), (f"{mark}小学", "school"))]
    assert clients["command"].patch(f"/registry/organisations/{ids[1]}",
                                    json={"closed": True}).status_code == 200
    with db.connect() as conn:
        grid_name = conn.execute(text("SELECT name FROM grid WHERE code = :c"),
                                 {"c": own}).scalar_one()

    def ledger(client, layer: str = "organisations", **asked) -> list[dict]:
        r = client.get(f"/registry/{layer}.csv", params={"q": mark, **asked})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert f"filename*=UTF-8''{quote('单位台账' if layer == 'organisations' else '场所台账')}" \
            in r.headers["content-disposition"]
        return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))

    [shop] = ledger(clients["command"])
    assert list(shop) == ["编号", "名称", "类别", "统一社会信用代码", "网格", "网格编码", "经度",
                          "纬度", "状态"]
    assert (shop["编号"], shop["名称"], shop["类别"], shop["统一社会信用代码"], shop["网格"],
            shop["网格编码"], shop["状态"]) == (str(ids[0]), f"'={mark}书店", "企业", "",
                                              grid_name, own, "在业")
    assert (float(shop["经度"]), float(shop["纬度"])) == (round(village[own].x, 6),
                                                       round(village[own].y, 6))
    [school] = ledger(clients["chief"], closed="true")  # a chief's grids: its own
    assert school["类别"] == "学校" and school["状态"].endswith(" 注销或停业")
    assert ledger(clients["command"], kind="school") == []  # the school is closed
    assert ledger(clients["worker"], grid=list(village)[1]) == []  # not the worker's grid
    clients["command"].post("/registry/places", json={
        "client_id": str(uuid.uuid4()), "name": f"{mark}市场", "kind": f"{mark}集市",
        "point": _at(village[own])})
    assert [(p["名称"], p["类别"]) for p in ledger(clients["command"], "places")] == [
        (f"{mark}市场", f"{mark}集市")]
    r = clients["command"].get("/registry/things.csv")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "layer"


def test_the_centre_finds_corrects_and_reads_the_record_of_an_organisation_on_its_page(
        browser, server, clients, village):
    own, other = list(village)[:2]
    mark = uuid.uuid4().hex[:6]
    made = clients["chief"].post("/registry/organisations", json={
        "client_id": str(uuid.uuid4()), "name": f"<b>{mark}</b>超市", "kind": "enterprise",
        "point": _at(village[own])}).json()
    clients["chief"].patch(f"/registry/organisations/{made['id']}",
                           json={"point": _at(village[other])})
    _imported(clients["command"], "places", [{
        "名称": f"{mark}市场", "类型": f"{mark}集市", "场所编码": f"SC{mark}",
        "经度": village[own].x, "纬度": village[own].y}], "场所台账.csv")
    assert "此页面仅供指挥中心或网格长账号使用" in refused(browser, server, "/map/units",
                                                          "worker", PASSWORD)

    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    sign_in(page, server, "/map/units", "command", PASSWORD)
    wait_until(page, "window.mapsvcUnits.shown !== null", "the first page")
    for other_page in ("wall", "desk", "people"):  # each of the centre's pages leads here
        assert '<a href="/map/units">单位场所</a>' in page.request.get(
            f"{server}/map/{other_page}").text(), other_page
    page.fill("#units-find [name=q]", mark)
    searched(page, "#units-find", "window.mapsvcUnits")
    wait_until(page, "window.mapsvcUnits.shown === 1", "the one organisation of that name")
    row = page.locator(f"#units tr[data-unit='{made['id']}']")
    assert row.locator("td").all_inner_texts()[:5] == [
        str(made["id"]), f"<b>{mark}</b>超市", "企业", "—", clients["command"].get(
            "/registry/organisations", params={"q": mark}).json()["features"][0]["properties"][
            "grid_name"]]
    assert page.locator("#units b").count() == 0  # the name's markup stayed text
    ledger = page.get_attribute("#units-ledger", "href")  # those found, downloaded
    assert ledger == f"/api/v1/registry/organisations.csv?q={mark}"
    with page.expect_download() as downloaded:
        page.click("#units-ledger")
    assert downloaded.value.suggested_filename == "单位台账.csv"
    assert f"<b>{mark}</b>超市" in Path(downloaded.value.path()).read_text(encoding="utf-8-sig")

    row.locator("button", has_text="更正").click()
    form = page.locator("#units-correct")
    expect(page.locator(f"#units tr[data-unit='{made['id']}'] + tr.asking "
                        "#units-correct")).to_have_count(1)  # under its row
    assert form.locator("[name=name]").input_value() == f"<b>{mark}</b>超市"
    form.locator("[name=name]").fill(f"{mark}便民超市")
    form.locator("[name=organisation_kind]").select_option("other")
    # moved back on the map: the map brought to where it belongs (its own grid), clicked there
    grid_names = {f["properties"]["code"]: f["properties"]["name"] for f in clients[
        "command"].get("/grids", params={"parent": own[:12], "limit": 1000}).json()["features"]}
    expect(page.locator("#units-point")).to_have_text(
        f"{grid_names[other]}：拖动标记或点击地图可移动位置")
    wait_until(page, "window.mapsvcUnits.grids > 0", "the grids around it")
    there = village[own]
    page.evaluate(f"window.mapsvcUnits.map.setView([{there.y}, {there.x}], 18, "
                  "{ animate: false })")
    box = page.locator("#units-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#units-point")).to_contain_text(f" · {grid_names[own]}")
    page.screenshot(path=ARTIFACTS / "units-moved-on-the-map.png", full_page=True)
    form.locator("button[type=submit]").click()
    expect(page.locator("#units-said")).to_have_text(f"已更正 {made['id']} 号，已记入变更记录")
    expect(row.locator("td").nth(2)).to_have_text("其他单位")
    expect(row.locator("td").nth(4)).to_have_text(grid_names[own])
    stored = clients["command"].get("/registry/organisations", params={"q": mark}).json()[
        "features"][0]
    assert stored["properties"]["grid"] == own
    assert shapely.Point(stored["geometry"]["coordinates"]).distance(there) < 1e-5  # a pixel
    row.locator("button", has_text="变更记录").click()
    wait_until(page, "window.mapsvcUnits.changes === 3", "its record")
    kept = [r.locator("td").all_inner_texts()
            for r in page.locator("#units-changes tbody tr").all()]
    assert [(r[1], r[2]) for r in kept] == [("chief", "采集"), ("chief", "更正"),
                                            ("command", "更正")]
    assert kept[1][6] == f"{own} → {other}" and kept[1][7] == "已移动"
    assert kept[2][3] == f"<b>{mark}</b>超市 → {mark}便民超市" and kept[2][4] == "企业 → 其他单位"
    assert kept[2][6] == f"{other} → {own}" and kept[2][7] == "已移动"

    # closed in two clicks: off the list of those open, on that of those closed, and back
    closing = row.locator("button", has_text="注销")
    closing.click()
    expect(closing).to_have_text("确认注销")
    closing.click()
    expect(page.locator("#units-said")).to_have_text(f"已注销 {made['id']} 号，已记入变更记录")
    expect(row).to_have_count(0)
    page.select_option("#units-find [name=closed]", "true")
    searched(page, "#units-find", "window.mapsvcUnits")
    wait_until(page, "window.mapsvcUnits.shown === 1", "the one closed")
    assert row.locator("td").nth(5).inner_text().endswith("注销或停业")
    row.locator("button", has_text="变更记录").click()
    wait_until(page, "window.mapsvcUnits.changes === 4", "its record with the closing")
    assert page.locator("#units-changes tbody tr").nth(3).locator("td").nth(2).inner_text() == (
        "注销")
    reopening = row.locator("button", has_text="恢复")
    reopening.click()
    reopening.click()
    expect(row).to_have_count(0)
    page.select_option("#units-find [name=closed]", "false")

    # places, by the kind in words
    page.select_option("#units-find [name=layer]", "places")
    page.fill("#units-find [name=q]", "")
    page.fill("#units-find [name=place_kind]", f"{mark}集市")
    searched(page, "#units-find", "window.mapsvcUnits")
    wait_until(page, "window.mapsvcUnits.shown === 1", "the one place of that kind")
    assert page.locator("#units tbody td").nth(1).inner_text() == f"{mark}市场"
    assert page.locator("#units tbody td").nth(3).inner_text() == f"SC{mark}"
    page.locator("#units tbody button", has_text="变更记录").click()  # imported from a file
    wait_until(page, "window.mapsvcUnits.changes === 1", "the place's record")
    assert page.locator("#units-changes tbody td").all_inner_texts()[1:6] == [
        "command", "导入（场所台账.csv）", f"{mark}市场", f"{mark}集市", f"SC{mark}"]
    context.close()


def test_a_place_closed_leaves_the_lists_the_map_the_counts_and_campaigns_and_comes_back(
        clients, village, db):
    own = next(iter(village))
    mark = uuid.uuid4().hex[:6]
    kind = f"{mark}仓库"
    made = [clients["chief"].post("/registry/places", json={
        "client_id": str(uuid.uuid4()), "name": f"{mark}仓库{n}", "kind": kind,
        "point": _at(village[own])}).json() for n in range(2)]
    path = f"/registry/places/{made[0]['id']}"
    tile = morecantile.tms.get("WebMercatorQuad").tile(village[own].x, village[own].y, 16)

    def seen() -> dict:
        """Where the first place is seen: the list of those open, of those closed, the map,
        and its grid's count of places."""
        def listed(**asked):
            return [f["id"] for f in clients["command"].get(
                "/registry/places", params={"q": mark, **asked}).json()["features"]]
        counts = clients["command"].get("/registry/grid-counts",
                                        params={"parent": own[:12]}).json()
        return {"open": listed(), "closed": listed(closed="true"),
                "map": sorted(f["id"] for f in _features(
                    clients["command"], "places", tile) if f["properties"]["name"].startswith(
                        mark)),
                "places": next(c["places"] for c in counts if c["grid"] == own)}
    before = seen()
    assert before["open"] == [made[0]["id"], made[1]["id"]] and before["closed"] == []
    assert before["map"] == [made[0]["id"], made[1]["id"]]

    closed = clients["command"].patch(path, json={"closed": True})
    assert closed.status_code == 200, closed.text
    with db.connect() as conn:
        today = conn.execute(text("SELECT CAST(now() AT TIME ZONE 'Asia/Shanghai' AS date)"))
        assert closed.json()["closed_on"] == today.scalar_one().isoformat()
    assert clients["command"].patch(path, json={"closed": True}).json() == closed.json()
    assert seen() == {"open": [made[1]["id"]], "closed": [made[0]["id"]],
                      "map": [made[1]["id"]], "places": before["places"] - 1}
    campaign = clients["command"].post("/campaigns", json={
        "client_id": str(uuid.uuid4()), "title": "仓库排查", "layer": "places", "kind": kind,
        "due": "2099-01-01"}).json()
    assert campaign["targets"] == 1  # the open one alone

    assert clients["command"].patch(path, json={"closed": False}).json()["closed_on"] is None
    assert seen() == before
    kept = clients["command"].get(f"{path}/changes").json()
    assert [(c["before"] or {}).get("closed_on") for c in kept] == [None, None,
                                                                    closed.json()["closed_on"]]
    assert [c["after"]["closed_on"] for c in kept] == [None, closed.json()["closed_on"], None]
    r = clients["command"].get("/registry/things", params={"closed": "true"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "closed"
