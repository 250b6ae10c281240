"""The people's register (/map/people) in Chromium: the command centre finds the people of its
jurisdiction by care tag, masked and set as text; shows one field in full for a stated reason;
corrects a person's details; exports the list masked; each goes to the audit log. Grid chiefs
read it without the export, and grid workers are turned away."""

import csv
import io

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser import on_one_line, refused, searched, sign_in, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, registered

TAG = "<i>页面关怀</i>"  # a care tag as typed into a file: shown as text, never as markup


@pytest.fixture(scope="module")
def tagged(clients, accounts, grids) -> int:
    """A person with the care tag, at an address in the test grid worker's grid."""
    here = grids.set_index("code").geometry[accounts["worker"][1]["grid_codes"][0]]
    here = here.representative_point()
    admin = clients["admin"]
    registered(admin, "addresses", [{"address": "台账路5号", "lon": here.x, "lat": here.y}],
               county="441502")
    registered(admin, "people", [{"address": "台账路5号", "name": "郑台账",
                                  "registration": "resident", "mobile": "13912345678",
                                  "care_tags": TAG}], county="441502")
    found = admin.get("/registry/people", params={"care_tag": TAG}).json()
    assert len(found) == 1
    return found[0]["id"]


def _register(browser, server, username: str):
    context = browser.new_context(viewport={"width": 1500, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    page.goto(f"{server}/map/people")
    assert "/map/login" in page.url  # no session yet
    sign_in(page, server, "/map/people", username, PASSWORD)
    wait_until(page, "window.mapsvcPeople.shown !== null", "the first page of people")
    return context, page


def test_the_centre_finds_people_masked_and_sees_a_field_in_full_for_a_reason(
        browser, server, tagged, clients):
    context, page = _register(browser, server, "command")
    page.fill("#people-find [name=care_tag]", TAG)
    searched(page, "#people-find", "window.mapsvcPeople")
    wait_until(page, "window.mapsvcPeople.shown === 1", "the one person with the tag")
    row = page.locator(f"#people tr[data-person='{tagged}']")
    cells = {field: row.locator(f"td[data-field={field}]").inner_text()
             for field in ("name", "care_tags", "address", "mobile", "registration")}
    assert cells == {"name": "郑**", "care_tags": TAG, "address": "台账路5号",
                     "mobile": "139****5678", "registration": "户籍"}
    assert page.locator("#people i").count() == 0  # the tag's markup stayed text
    # on a narrow screen each heading and short cell on one line, the tags, address and grid
    # taking the room
    page.set_viewport_size({"width": 900, "height": 720})
    assert on_one_line(page, "#people th, #people td:not(:nth-child(6), :nth-child(7), "
                             ":nth-child(8))")
    page.set_viewport_size({"width": 1500, "height": 900})

    row.locator("button", has_text="查看完整").click()
    form = page.locator("#people-reveal")
    expect(form).to_be_visible()
    form.locator("[name=field]").select_option("mobile")
    form.locator("[name=reason]").fill("电话核实独居情况")
    form.locator("button[type=submit]").click()
    expect(row.locator("td[data-field=mobile]")).to_have_text("13912345678")
    assert page.inner_text("#people-said") == f"已显示 {tagged} 号的手机，已记入审计"
    expect(form).to_be_hidden()
    page.screenshot(path=ARTIFACTS / "people-register.png")
    seen = clients["admin"].get("/audit", params={"person": tagged}).json()[0]
    assert (seen["username"], seen["action"], seen["field"], seen["reason"]) == (
        "command", "reveal", "mobile", "电话核实独居情况")

    page.fill("#people-export [name=reason]", "高温天气走访名单")
    with page.expect_download() as download:
        page.click("#people-export button[type=submit]")
    exported = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8-sig")
                                               .read())))
    assert [(r["编号"], r["手机"], r["关怀标签"]) for r in exported] == [
        (str(tagged), "139****5678", TAG)]
    done = clients["admin"].get("/audit", params={"username": "command",
                                                 "action": "export"}).json()[0]
    assert done["reason"] == "高温天气走访名单" and done["entity_id"].startswith("1 人")

    page.select_option("#people-find [name=left]", "true")  # those who left: not they
    searched(page, "#people-find", "window.mapsvcPeople")
    wait_until(page, "window.mapsvcPeople.shown === 0", "no one who left with the tag")
    assert page.inner_text("#people-said") == "没有符合条件的人员"

    # looked up over the jurisdiction by mobile or full name, whatever else is chosen, for a
    # reason: none is sent without one
    page.select_option("#people-find [name=left]", "false")
    page.fill("#people-find [name=who]", " 139 1234 5678 ")
    searched(page, "#people-find", "window.mapsvcPeople")
    expect(page.locator("#people-said")).to_have_text("查找人员须填写查找理由（记入审计）")
    assert page.evaluate("window.mapsvcPeople.shown") is None
    page.fill("#people-find [name=reason]", "核实来电人住址")
    for who, field in [(" 139 1234 5678 ", "mobile"), ("郑台账", "name")]:
        page.fill("#people-find [name=care_tag]", "无此标签")
        page.fill("#people-find [name=who]", who)
        searched(page, "#people-find", "window.mapsvcPeople")
        wait_until(page, "window.mapsvcPeople.shown === 1", f"the person looked up by {field}")
        expect(page.locator(f"#people tr[data-person='{tagged}'] td[data-field=name]")
               ).to_have_text("郑**")
        looked = clients["admin"].get("/audit", params={"username": "command",
                                                       "action": "lookup"}).json()[0]
        assert (looked["entity_id"], looked["field"], looked["reason"]) == (
            str(tagged), field, "核实来电人住址")
    context.close()


def pick_area(page, *codes: str, within: str = "#people-area") -> None:
    """区域 (``within``) chosen a level at a time: each select, once it offers the code, set to
    it."""
    for level, code in enumerate(codes):
        select = page.locator(f"{within} select").nth(level)
        expect(select.locator(f"option[value='{code}']")).to_have_count(1)
        select.select_option(code)


def test_the_people_of_a_region_or_a_grid_chosen_by_name_are_found(browser, server, tagged,
                                                                  accounts, grids, db):
    """区域: the county's townships, a township's villages, a village's grids, each offered by
    name as the one before is chosen; the people of the grid chosen are found (the one tagged
    among them), and none of another village of the township. A grid chief's 区域 is its
    grids."""
    grid = accounts["worker"][1]["grid_codes"][0]
    other = grids[grids["code"].str.startswith(grid[:9])
                  & ~grids["code"].str.startswith(grid[:12])]["code"].iloc[0][:12]
    with db.connect() as conn:
        named = dict(conn.execute(text(
            "SELECT code, name FROM region WHERE code IN (:t, :v) UNION ALL "
            "SELECT code, name FROM grid WHERE code = :g"),
            {"t": grid[:9], "v": grid[:12], "g": grid}).all())
    context, page = _register(browser, server, "command")
    pick_area(page, grid[:9], grid[:12], grid)
    chosen = page.locator("#people-area select").evaluate_all(
        "(all) => all.map((s) => s.selectedOptions[0].textContent)")
    assert chosen == [named[grid[:9]], named[grid[:12]], named[grid]]
    page.fill("#people-find [name=care_tag]", TAG)
    with page.expect_request(lambda r: "/registry/people?" in r.url) as asked:
        searched(page, "#people-find", "window.mapsvcPeople")
    assert f"grid={grid}" in asked.value.url
    wait_until(page, "window.mapsvcPeople.shown === 1", "the one person with the tag")
    assert page.inner_text(f"#people tr[data-person='{tagged}'] td[data-field=grid]") == (
        named[grid])  # the grid by its name
    assert not page.locator("#people-plates button").is_disabled()  # its door plates
    pick_area(page, grid[:9], other)  # another village: its grids offered in place of these
    expect(page.locator("#people-area select")).to_have_count(3)
    assert page.locator("#people-plates button").is_disabled()
    searched(page, "#people-find", "window.mapsvcPeople")
    wait_until(page, "window.mapsvcPeople.shown === 0", "none there")
    context.close()
    context, page = _register(browser, server, "chief")
    offered = page.locator("#people-area select option").evaluate_all(
        "(all) => all.map((o) => o.value)")
    assert offered == ["", *sorted(accounts["chief"][1]["grid_codes"])]
    context.close()


def test_grid_chiefs_read_the_register_without_exporting_and_workers_are_turned_away(
        browser, server, tagged):
    context, page = _register(browser, server, "chief")
    page.fill("#people-find [name=care_tag]", TAG)  # among all the people of its grids
    searched(page, "#people-find", "window.mapsvcPeople")
    wait_until(page, "window.mapsvcPeople.shown === 1", "the one person with the tag")
    assert page.locator(f"#people tr[data-person='{tagged}']").count() == 1
    assert page.locator("#people-export").is_hidden()
    context.close()
    assert "此页面仅供指挥中心或网格长账号使用" in refused(browser, server, "/map/people", "worker",
                                                    PASSWORD)


def test_a_grid_chief_reads_its_pages_on_a_phones_screen(browser, server, tagged):
    """Come from the phone (its links to 人口台账, 单位场所, 考核评价, 专项排查): on each page the
    links wrap under the title, each on one line; nothing runs off the screen's side, a table
    wider than the screen scrolling within itself; a form about a person opens under its row
    within the screen, where the row is seen."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    sign_in(page, server, "/map/people", "chief", PASSWORD)
    within = ("(els) => els.every((el) => { const box = el.getBoundingClientRect();"
              " return box.left >= 0 && box.right <= window.innerWidth; })")
    for name in ("units", "stats", "campaigns", "people"):
        page.goto(f"{server}/map/{name}")
        page.wait_for_load_state("networkidle")
        assert on_one_line(page, "nav a"), name
        assert page.locator("header a, header button").evaluate_all(within), name
        assert page.evaluate("document.documentElement.scrollWidth") == 360, name
    page.fill("#people-find [name=care_tag]", TAG)
    searched(page, "#people-find", "window.mapsvcPeople")
    wait_until(page, "window.mapsvcPeople.shown === 1", "the one person with the tag")
    assert page.evaluate("(t => t.scrollWidth > t.clientWidth)(document.getElementById('people'))")
    page.locator(f"#people tr[data-person='{tagged}'] button", has_text="更正信息").click()
    assert page.locator("#people-correct").evaluate_all(within)
    assert page.evaluate("document.documentElement.scrollWidth") == 360
    context.close()


def test_the_register_goes_a_hundred_people_a_page(browser, server, clients, accounts, grids):
    """At an address in the county away from the grid workers' village."""
    village = grids.set_index("code").loc[accounts["worker"][1]["grid_codes"][0]]
    elsewhere = grids[grids["code"].str.startswith("441502")
                      & ~grids["code"].str.startswith(village.name[:12])]
    at = elsewhere.geometry.iloc[0].representative_point()
    for kind, rows in (
            ("addresses", [{"address": "翻页路1号", "lon": at.x, "lat": at.y}]),
            ("people", [{"address": "翻页路1号", "name": f"翻页{n}", "registration": "floating",
                         "care_tags": "翻页标签"} for n in range(101)])):
        assert registered(clients["admin"], kind, rows, county="441502")["stored"] == len(rows)
    context, page = _register(browser, server, "command")
    page.fill("#people-find [name=care_tag]", "翻页标签")
    searched(page, "#people-find", "window.mapsvcPeople")
    wait_until(page, "window.mapsvcPeople.shown === 100", "the first hundred")
    assert page.inner_text("#people-page") == "第 1–100 人"
    assert page.locator("#people-previous").is_disabled()
    page.click("#people-next")
    wait_until(page, "window.mapsvcPeople.shown === 1", "the hundred and first")
    assert page.inner_text("#people-page") == "第 101–101 人"
    assert page.locator("#people-next").is_disabled()
    page.click("#people-previous")
    wait_until(page, "window.mapsvcPeople.shown === 100", "the first hundred again")
    context.close()


def test_the_centre_records_a_death_and_takes_back_a_departure_recorded_by_mistake(
        browser, server, clients, tagged):
    assert registered(clients["admin"], "people", [
        {"address": "台账路5号", "name": "钱离开", "registration": "resident",
         "care_tags": "离开标签"}], county="441502")["stored"] == 1
    person = clients["admin"].get("/registry/people", params={"care_tag": "离开标签"}).json()[0]
    context, page = _register(browser, server, "command")

    def find(left: str) -> None:
        page.fill("#people-find [name=care_tag]", "离开标签")
        page.select_option("#people-find [name=left]", left)
        with page.expect_response("**/api/v1/registry/people?*"):
            searched(page, "#people-find", "window.mapsvcPeople")

    find("false")
    row = page.locator(f"#people tr[data-person='{person['id']}']")
    row.locator("button", has_text="登记离开").click()
    form = page.locator("#people-departure")
    expect(form).to_be_visible()
    form.locator("[name=reason]").select_option("deceased")
    day = form.locator("[name=on]").input_value()  # today in China, and no later
    assert day == form.locator("[name=on]").get_attribute("max")
    form.locator("[name=note]").fill("民政部门通报")
    form.locator("button[type=submit]").click()
    expect(page.locator("#people-said")).to_have_text(f"已登记 {person['id']} 号去世，已记入审计")
    expect(row).to_have_count(0)  # out of those who live there

    find("true")
    expect(row.locator("td[data-field=registration]")).to_contain_text(f"去世于 {day}")
    row.locator("button", has_text="撤销离开").click()
    page.fill("#people-withdraw [name=reason]", "误登记，本人仍在住")
    page.click("#people-withdraw button[type=submit]")
    expect(page.locator("#people-said")).to_have_text(
        f"已撤销 {person['id']} 号的离开登记，已记入审计")
    expect(row).to_have_count(0)  # out of those who left
    context.close()
    assert clients["admin"].get(f"/registry/people/{person['id']}").json()["left_on"] is None
    assert [(a["action"], a["username"], a["reason"]) for a in clients["admin"].get(
        "/audit", params={"person": person["id"]}).json()] == [
        ("departure withdrawn", "command", f"去世 {day}：误登记，本人仍在住"),
        ("departure", "command", f"去世 {day} 民政部门通报")]


def test_the_centre_corrects_a_persons_details_as_found_and_the_auditor_reads_each_field(
        browser, server, clients, tagged):
    """更正信息: the form shows what the list shows in full (sex, kind, care tags) and leaves
    the masked ones blank, to be typed only when they change; what is sent is what changed,
    each field in the audit log with the reason; sent with nothing changed, it says so."""
    assert registered(clients["admin"], "people", [
        {"address": "台账路5号", "name": "钱更正", "registration": "floating",
         "mobile": "13911112222", "care_tags": "更正标签"}], county="441502")["stored"] == 1
    person = clients["admin"].get("/registry/people", params={"care_tag": "更正标签"}).json()[0]
    context, page = _register(browser, server, "command")
    page.fill("#people-find [name=care_tag]", "更正标签")
    searched(page, "#people-find", "window.mapsvcPeople")
    row = page.locator(f"#people tr[data-person='{person['id']}']")
    row.locator("button", has_text="更正信息").click()
    form = page.locator("#people-correct")
    expect(form).to_be_visible()
    # in a row of its own under the person's, not below the list
    expect(page.locator(f"#people tr[data-person='{person['id']}'] + tr.asking "
                        "#people-correct")).to_have_count(1)
    assert page.inner_text("#people-correct-title") == f"更正 {person['id']} 号（钱**）的信息"
    assert [form.locator(f"[name={f}]").input_value() for f in (
        "name", "mobile", "sex", "registration", "care_tags")] == [
        "", "", "", "floating", "更正标签"]
    form.locator("[name=reason]").fill("入户走访核实")
    form.locator("button[type=submit]").click()
    expect(page.locator("#people-said")).to_have_text("未改动任何信息")
    form.locator("[name=mobile]").fill("13833334444")
    form.locator("[name=registration]").select_option("resident")
    form.locator("[name=care_tags]").fill("更正标签、<b>独居老人</b>")
    form.locator("button[type=submit]").click()
    expect(page.locator("#people-said")).to_have_text(f"已更正 {person['id']} 号的信息，已记入审计")
    expect(form).to_be_hidden()
    expect(page.locator("#people tr.asking")).to_have_count(0)
    expect(row.locator("td[data-field=mobile]")).to_have_text("138****4444")
    expect(row.locator("td[data-field=registration]")).to_have_text("户籍")
    expect(row.locator("td[data-field=care_tags]")).to_have_text("更正标签、<b>独居老人</b>")
    row.locator("button", has_text="更正信息").click()  # a mobile that is none
    form.locator("[name=mobile]").fill("1383333")
    form.locator("[name=reason]").fill("再次核实")
    form.locator("button[type=submit]").click()
    expect(form).to_be_visible()  # the browser holds it back, naming the field
    assert form.locator("[name=mobile]").evaluate("(e) => !e.validity.valid")
    form.locator("button.cancel").click()  # let be: the list as it was
    expect(form).to_be_hidden()
    expect(page.locator("#people tr")).to_have_count(2)  # its heading and the person
    context.close()
    assert sorted((a["action"], a["username"], a["field"], a["reason"]) for a in clients[
        "admin"].get("/audit", params={"person": person["id"]}).json()) == [
        ("correct", "command", field, "入户走访核实")
        for field in ("care_tags", "mobile", "registration")]


def test_the_centre_moves_a_person_to_a_household_at_an_address_found_by_its_words(
        browser, server, clients, accounts, grids):
    """Within the jurisdiction (辖区内迁居): the new address found by words written as people
    write them (三号楼 for the registry's 3栋), its household joined, the person's number kept;
    a new household there offered too."""
    admin = clients["admin"]
    here = grids.set_index("code").geometry[accounts["worker"][1]["grid_codes"][0]]
    here = here.representative_point()
    registered(admin, "addresses", [{"address": a, "lon": here.x, "lat": here.y}
                                    for a in ("迁居旧街1号", "迁居新村3栋2单元501室")],
               county="441502")
    registered(admin, "people", [
        {"address": "迁居旧街1号", "name": "孙迁居", "registration": "resident",
         "care_tags": "迁居标签"},
        {"address": "迁居新村3栋2单元501室", "name": "李原住", "registration": "resident"}],
        county="441502")
    person = admin.get("/registry/people", params={"care_tag": "迁居标签"}).json()[0]
    [address] = admin.get("/registry/addresses", params={"q": "迁居新村三号楼"}).json()["features"]
    [household] = admin.get("/registry/households",
                            params={"address": address["properties"]["id"]}).json()
    assert admin.get("/registry/things", params={"q": "迁居"}).status_code == 422
    context, page = _register(browser, server, "command")
    page.fill("#people-find [name=care_tag]", "迁居标签")
    with page.expect_response("**/api/v1/registry/people?*"):
        searched(page, "#people-find", "window.mapsvcPeople")
    page.locator(f"#people tr[data-person='{person['id']}'] button", has_text="迁居").click()
    form = page.locator("#people-move")
    expect(form).to_be_visible()
    form.locator("[name=words]").fill("迁居新村三号楼")
    form.locator("button.find").click()
    expect(form.locator("[name=address] option")).to_have_text(
        [f"{address['properties']['address']}（1 户）"])
    expect(form.locator("[name=household] option")).to_have_text(
        [f"户 {household['id']}（1 人：{household['members'][0]['name']}）", "在此地址新立户"])
    form.locator("[name=relation]").select_option("tenant")
    form.locator("button[type=submit]").click()
    expect(page.locator("#people-said")).to_have_text(f"已将 {person['id']} 号迁至新住址")
    context.close()
    moved = admin.get(f"/registry/people/{person['id']}").json()
    assert moved["address"] == address["properties"]["address"]
    [joined] = admin.get("/registry/households",
                         params={"address": address["properties"]["id"]}).json()
    assert joined["id"] == household["id"] and len(joined["members"]) == 2
