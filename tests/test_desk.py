"""The command centre's desk in headless Chromium (Debian's, driven by Playwright): a centre
finds a new case in its list, opens it on the map, files and dispatches it, voids another with
a reason, sees a refused action's reason, and the list follows new reports live; the ledger
link downloads the list's cases. Screenshots go to tests/artifacts."""

import csv
import io
import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
import shapely
from playwright.sync_api import expect
from sqlalchemy import text

from mapsvc.geo.crs import from_wgs84
from mapsvc.workflow.machine import PHRASES
from tests.browser import (Watch, at_rest, desk_opened, heard, names_shown, refused,
                           said_at_each_sign_in, sign_in, signed_in_here, wait_until)
from tests.conftest import ARTIFACTS, PASSWORD, new_account, registered
from tests.test_wall import report, token
from tests.test_workflow import do

pytestmark = pytest.mark.long  # pages driven in a browser, minutes in all

CHINA = ZoneInfo("Asia/Shanghai")
ELSEWHERE = "America/New_York"  # a desk's computer set to another zone


@pytest.fixture
def desk(server, browser, accounts):
    """The command account's desk on a page of its own: (page, console watch), on a computer
    whose clock is set to another zone than China's."""
    context = browser.new_context(viewport={"width": 1600, "height": 900}, accept_downloads=True,
                                  timezone_id=ELSEWHERE)
    page = context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    page.goto(f"{server}/map/desk")
    assert "/map/login" in page.url  # no session yet
    sign_in(page, server, "/map/desk", "command", PASSWORD)
    wait_until(page, "window.mapsvcDesk && window.mapsvcDesk.online === true", "the live feed")
    yield page, Watch(page)
    context.close()


@pytest.fixture(scope="module")
def command_token(server, accounts) -> str:
    return token(server)


def spot(grids, n: int):
    """A point inside the county's ``n``-th grid: each test reports where no other does."""
    return grids[grids["code"].str.startswith("441502")].geometry.iloc[n].representative_point()


def click_at(page, point) -> None:
    """A click on the desk's map where ``point`` is."""
    x, y = page.evaluate(f"""() => {{
        const map = window.mapsvcDesk.map;
        const at = map.latLngToContainerPoint([{point.y}, {point.x}]);
        const box = map.getContainer().getBoundingClientRect();
        return [box.left + at.x, box.top + at.y]; }}""")
    page.mouse.click(x, y)


def report_at(server: str, token: str, grids, n: int, description: str, **more) -> int:
    """A case the centre reports at ``spot(grids, n)``."""
    point = spot(grids, n)
    return report(server, token, point.x, point.y, description, **more)


def dispatched_case(server: str, token: str, api, grids, n: int, description: str) -> int:
    """A case the centre reports at ``spot(grids, n)``, files and dispatches to T1."""
    case = report_at(server, token, grids, n, description)
    do(api, case, "file")
    do(api, case, "dispatch", department="T1")
    return case


def find_case(page, case: int) -> None:
    """The case asked after by its number (the desk's 案件编号), and open."""
    page.fill("#desk-find input[name='id']", str(case))
    page.press("#desk-find input[name='id']", "Enter")
    wait_until(page, f"window.mapsvcDesk.selected && window.mapsvcDesk.selected.id === {case}",
               "the case open")


def fact(page, name: str) -> str:
    """The open case's fact ``name`` (a row of its facts), as the desk shows it."""
    return page.locator(f"#desk-case-facts dt:text-is('{name}') + dd").inner_text()


def listed(case: int) -> str:
    return f"!!document.querySelector('#desk-list li[data-id=\"{case}\"]')"


def open_case(page, case: int) -> None:
    page.click(f"#desk-list li[data-id='{case}']")
    wait_until(page, f"window.mapsvcDesk.selected && window.mapsvcDesk.selected.id === {case}",
               f"case {case} open")


def shows(page, status: str) -> None:
    wait_until(page, f"document.getElementById('desk-case-facts').textContent.includes('{status}')",
               status)


def shown_ids(page) -> list[int]:
    return page.evaluate("[...document.querySelectorAll('#desk-list li')].map((li) => "
                         "Number(li.dataset.id))")


def test_the_list_counts_its_cases_and_shows_the_oldest_first_and_more_on_asking(
        desk, server, grids, clients, command_token):
    """A view holding more cases than the list shows at once (all of the county's, with a
    backlog of 201 a hotline file brought in): the list says how many there are, lists the
    oldest first when asked, and 200 more at a click, as many as the service finds so."""
    page, watch = desk
    # the pages it leads to in rows above it, signing out beside the last
    password, sign_out = (page.locator(f"#desk-panel nav {s}").bounding_box()
                          for s in ("a[href='/map/password']", "[data-sign-out]"))
    middle = {name: box["y"] + box["height"] / 2
              for name, box in (("password", password), ("sign_out", sign_out))}
    assert sign_out["x"] > password["x"]
    assert abs(middle["sign_out"] - middle["password"]) < sign_out["height"] / 2
    command = clients["command"]
    last = grids[grids["code"].str.startswith("441502")].iloc[-1].geometry.representative_point()
    tag = uuid.uuid4().hex[:8]
    rows = "client_id,category,lon,lat,reported_at,description\n" + "".join(
        f"{uuid.uuid4()},01,{last.x},{last.y},2024-01-05T08:{i // 60:02d}:{i % 60:02d}+08:00,"
        f"{tag} {i}\n" for i in range(201))
    imported = command.post("/incidents/import", files={"file": ("backlog.csv", rows, "text/csv")})
    assert imported.status_code == 200 and imported.json()["inserted"] == 201

    def found(**params) -> tuple[list[int], int]:
        body = command.get("/incidents", params={**params, "count": "true"}).json()
        return [f["id"] for f in body["features"]], body["numberMatched"]

    page.select_option("#desk-view", "all")
    newest, matched = found(limit=200)
    assert matched >= 201
    wait_until(page, f"window.mapsvcDesk.matched === {matched}", "the county's cases counted")
    assert page.inner_text("#desk-count") == f"共 {matched} 件，显示最新的 200 件"
    assert shown_ids(page) == newest
    more = min(200, matched - 200)
    assert page.inner_text("#desk-more") == f"再显示 {more} 件"
    # the list takes the room its controls leave in the panel (more than the 40 % of the
    # screen's height it keeps at least), down to its foot, nothing out of sight
    assert page.evaluate("""(() => { const panel = document.getElementById('desk-panel');
        const list = document.getElementById('desk-list').getBoundingClientRect();
        const more = document.getElementById('desk-more').getBoundingClientRect();
        const below = panel.getBoundingClientRect().bottom - more.bottom
          - parseFloat(getComputedStyle(panel).paddingBottom);
        return panel.scrollHeight <= panel.clientHeight && Math.abs(below) < 1
          && list.height > 0.4 * window.innerHeight + 1; })()""")

    page.select_option("#desk-order", "oldest")
    oldest, _ = found(limit=400, order="oldest")
    wait_until(page, f"window.mapsvcDesk.cases[0].id === {oldest[0]}", "the oldest first")
    assert shown_ids(page) == oldest[:200] and oldest[:200] == sorted(oldest[:200])
    assert page.inner_text("#desk-count") == f"共 {matched} 件，显示最早的 200 件"
    page.click("#desk-more")
    wait_until(page, f"window.mapsvcDesk.cases.length === {200 + more}", "200 more")
    assert shown_ids(page) == oldest[:200 + more]
    page.check("#desk-all")  # as many as a step is taken on at once
    assert page.inner_text("#desk-chosen") == "已选 200 件"
    page.check(f"#desk-list li[data-id='{oldest[200]}'] input")  # and one more
    assert page.inner_text("#desk-chosen") == "已选 201 件"
    assert page.inner_text("#desk-batch-actions") == "一次最多批量办理 200 件"
    page.check("#desk-all")
    assert page.inner_text("#desk-chosen") == "已选 200 件"
    page.uncheck("#desk-all")
    assert page.inner_text("#desk-chosen") == ""
    assert page.inner_text("#desk-count").startswith(f"共 {matched} 件")
    # a report coming in meanwhile is counted, and the list keeps as many as it showed
    case = report_at(server, command_token, grids, 17, "积压之外的新报")
    wait_until(page, f"window.mapsvcDesk.matched === {matched + 1}", "the new report counted")
    now, _ = found(limit=400, order="oldest")
    assert shown_ids(page) == now and now[:200 + more] == oldest[:200 + more]
    # the most urgent first, as the service has it: the first of the backlog, filed, is among
    # them (its clock runs), though the newest 200 are not
    [filed], _ = found(q=tag, order="oldest", limit=1)
    assert do(command, filed, "file").status_code == 200
    page.select_option("#desk-order", "due")
    due, _ = found(limit=200, order="due")
    wait_until(page, f"window.mapsvcDesk.cases[0].id === {due[0]} && "
                     "window.mapsvcDesk.cases.length === 200", "the most urgent first")
    assert shown_ids(page) == due and filed in due and filed not in found(limit=200)[0]
    assert page.inner_text("#desk-count") == f"共 {matched + 1} 件，显示最急的 200 件"
    page.select_option("#desk-order", "newest")
    wait_until(page, f"window.mapsvcDesk.cases[0].id === {case}", "the new report first")
    assert shown_ids(page) == found(limit=200)[0]  # 200 again
    page.screenshot(path=str(ARTIFACTS / "desk-counted.png"))
    assert watch.problems == []


def test_a_case_is_found_by_words_of_its_description(desk, server, grids, command_token):
    """A caller describes the problem rather than give its number: the words typed keep the
    view's cases that hold them, counted, and the ledger then holds those alone."""
    page, watch = desk
    tag = uuid.uuid4().hex[:6]
    manhole = report_at(server, command_token, grids, 18, f"人民路{tag}井盖缺失")
    report_at(server, command_token, grids, 18, f"人民路{tag}路灯不亮")
    page.select_option("#desk-view", "all")
    page.fill("#desk-words", f"{tag}井盖")
    wait_until(page, f"window.mapsvcDesk.cases.length === 1 && "
                     f"window.mapsvcDesk.cases[0].id === {manhole}", "the case described")
    assert page.inner_text("#desk-count") == "共 1 件"
    assert f"q={quote(tag)}" in page.get_attribute("#desk-export", "href")
    page.fill("#desk-words", "")
    wait_until(page, "window.mapsvcDesk.cases.length > 1", "the whole view again")
    assert watch.problems == []


def test_a_case_of_a_place_where_its_class_keeps_coming_says_so(desk, server, grids,
                                                                command_token):
    """Three cases of a class at one place in a month: a case of them opened says it is one
    of a hot spot (高发点位), with how many; a case alone there says nothing of the kind."""
    page, watch = desk
    cases = [report_at(server, command_token, grids, 19, f"反复出现 {n}") for n in range(3)]
    find_case(page, cases[1])
    wait_until(page, "document.getElementById('desk-case-facts').textContent.includes('高发')",
               "the hot spot named")
    assert "高发点位近30天此处同类 3 件（在办 3 件）" in page.inner_text("#desk-case-facts").replace(
        "\n", "")
    alone = report_at(server, command_token, grids, 20, "仅此一件")
    with page.expect_response(lambda r: "/incidents/hotspots?" in r.url):
        find_case(page, alone)
    page.wait_for_timeout(500)  # the answer read
    assert "高发" not in page.inner_text("#desk-case-facts")
    assert watch.problems == []


def test_a_centre_files_and_dispatches_a_new_case_and_voids_another_with_a_reason(
        desk, server, grids, api, command_token):
    page, watch = desk
    found = api.get("/regions", params={"level": "township", "parent": "441502"}).json()
    areas = {f["properties"]["name"]: shapely.geometry.shape(f["geometry"])
             for f in found["features"]}
    townships = set(areas)
    wait_until(page, "document.querySelectorAll('.region-name').length > 0", "the townships")
    assert {e.text_content() for e in page.query_selector_all(".region-name")} == townships
    # on the map of a smaller screen, none written over another, as many shown as the map
    # can: once the font has come, the same as when zoomed out and in again
    small = page.context.browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(small, server, "/map/desk", "command", PASSWORD)
    wait_until(small, "document.querySelectorAll('.region-name').length > 0 "
                      "&& document.fonts.status === 'loaded' "
                      "&& !document.querySelector('.leaflet-zoom-anim')",
               "the townships named, the desk framed")
    at_rest(small, "window.mapsvcDesk.map")  # (a framing asked for as the zoom ended)
    shown = names_shown(small, ".region-name")
    # a name crowded at its label point by a neighbour's is moved within its region, not left
    # out: here every township is named, each within its own
    assert shown == sorted(townships)
    middles = small.evaluate("""[...document.querySelectorAll(".region-name span")].map((el) => {
        const b = el.getBoundingClientRect(), map = window.mapsvcDesk.map;
        const c = map.getContainer().getBoundingClientRect();
        const at = map.containerPointToLatLng([(b.left + b.right) / 2 - c.left,
                                               (b.top + b.bottom) / 2 - c.top]);
        return [el.textContent, at.lng, at.lat]; })""")
    assert all(areas[name].contains(shapely.Point(lon, lat)) for name, lon, lat in middles)
    zoom = small.evaluate("window.mapsvcDesk.map.getZoom()")
    for z in (zoom - 1, zoom):
        small.evaluate(f"void window.mapsvcDesk.map.setZoom({z}, {{ animate: false }})")
    assert names_shown(small, ".region-name") == shown
    small.close()
    page.screenshot(path=str(ARTIFACTS / "desk-opened.png"))
    point = spot(grids, 3)
    typed = "<script>alert(1)</script>井盖缺失"
    assert page.input_value("#desk-view") == "reported"  # new reports first: they wait on it
    case = report(server, command_token, point.x, point.y, typed)
    wait_until(page, listed(case), "the new case in the list, live")
    assert typed in page.inner_text(f"#desk-list li[data-id='{case}']")  # as text
    bare = report(server, command_token, point.x, point.y, "")
    wait_until(page, listed(bare), "a case reported with no description")
    told = page.inner_text(f"#desk-list li[data-id='{bare}'] span")
    assert told.strip() and not told.rstrip().endswith("·")  # its category, and nothing after
    open_case(page, case)
    shows(page, "已上报")
    assert page.inner_text("#desk-case-description") == typed
    grid = api.get(f"/incidents/{case}").json()["grid"]["code"]
    wait_until(page, "window.mapsvcDesk.grids.getLayers().some((l) => "
                     f"l.feature.properties.code === '{grid}' && l.options.weight === 3)",
               "the case's grid outlined among its village's")
    assert page.evaluate(f"""() => {{  // the map shows the case in its grid
        const map = window.mapsvcDesk.map, grid = window.mapsvcDesk.grids.getLayers().find(
          (l) => l.feature.properties.code === '{grid}');
        return map.getBounds().contains(grid.getBounds())
          && map.getBounds().contains([{point.y}, {point.x}]); }}""")

    page.click("#desk-actions button[data-action='file']")  # nothing to ask: done at once
    shows(page, "已立案")
    page.select_option("#desk-view", "filed")  # filed: waiting to be dispatched
    wait_until(page, listed(case), "the filed case among those to dispatch")
    page.click("#desk-actions button[data-action='dispatch']")
    assert page.is_visible("#desk-form label[data-field='department']")
    assert not page.is_visible("#desk-form label[data-field='satisfaction']")
    page.select_option("#desk-form select[name='department']", "T1")
    page.fill("#desk-form textarea[name='note']", "请三日内补装")
    page.click("#desk-form button[type='submit']")
    shows(page, "已派遣")
    assert "测试局" in page.inner_text("#desk-case-facts")
    wait_until(page, "document.querySelectorAll('#desk-steps li').length === 3", "three steps")
    steps = page.inner_text("#desk-steps")
    assert "立案" in steps and "派遣 · command" in steps and "请三日内补装" in steps
    stored = api.get(f"/incidents/{case}").json()
    assert (stored["status"], stored["department"]) == ("dispatched", "T1")
    wait_until(page, f"!{listed(case)}", "dispatched: gone from those to dispatch")
    assert [s["action"] for s in api.get(f"/incidents/{case}/timeline").json()] == [
        "report", "file", "dispatch"]

    page.select_option("#desk-view", "reported")
    other = report(server, command_token, point.x, point.y, "重复上报的井盖")
    wait_until(page, listed(other), "a case reported meanwhile, live")
    open_case(page, other)
    page.click("#desk-actions button[data-action='void']")
    page.click("#desk-form button[type='submit']")  # no reason: the form does not send
    page.wait_for_timeout(300)
    assert api.get(f"/incidents/{other}").json()["status"] == "reported"
    # the reason picked from the common notes (常用语) of the step, as the service gives them
    assert page.locator("#desk-phrases button").all_inner_texts() == list(PHRASES["void"])
    page.click("#desk-phrases button >> text=重复上报")
    assert page.input_value("#desk-form textarea[name='note']") == "重复上报"
    page.click("#desk-form button[type='submit']")
    shows(page, "已作废")
    assert api.get(f"/incidents/{other}").json()["status"] == "void"
    assert api.get(f"/incidents/{other}/timeline").json()[-1]["note"] == "重复上报"
    page.screenshot(path=str(ARTIFACTS / "desk.png"))
    assert not watch.problems, watch.problems


def test_a_case_reported_in_the_wrong_class_is_put_in_its_class(desk, server, grids, api,
                                                                 command_token):
    """The classes offered each with its handling limit; the case's class and its step say the
    class it was in and the one it is in now. The step's form, opened while the case's possible
    duplicates are still being read (a slow network), stays open once they are."""
    page, watch = desk
    case = report_at(server, command_token, grids, 24, "其实是占道经营")
    held = []
    page.route("**/duplicates", lambda route: held.append(route))
    find_case(page, case)
    page.click("#desk-actions button[data-action='reclassify']")
    wait_until(page, "!!window.mapsvcDesk.action", "the form")
    assert len(held) == 1
    held[0].continue_()
    page.unroute("**/duplicates")
    wait_until(page, "!!window.mapsvcDesk.mark", "the case read in full")
    assert page.is_visible("#desk-form")
    options = page.locator("#desk-form select[name='category'] option").all_inner_texts()
    assert options[0] == "选择类别" and "市容环境 / 暴露垃圾（4 个工作小时）" in options
    page.click("#desk-form button[type='submit']")  # no class chosen: the form does not send
    page.wait_for_timeout(300)
    assert api.get(f"/incidents/{case}").json()["category"] == "0601"
    page.select_option("#desk-form select[name='category']", "06")
    page.click("#desk-phrases button >> text=经核实，上报类别有误")
    page.click("#desk-form button[type='submit']")
    expect(page.locator("#desk-message")).to_have_text("更正类别：已完成")
    wait_until(page, "document.getElementById('desk-steps').textContent.includes("
                     "'更正类别（暴露垃圾 → 市容环境）')", "the step, with both classes")
    assert "类别市容环境" in page.inner_text("#desk-case-facts").replace("\n", "")
    assert api.get(f"/incidents/{case}").json()["category"] == "06"
    # the next step's form opened: what was said of the last is said no more
    page.click("#desk-actions button[data-action='merge']")
    expect(page.locator("#desk-message")).to_have_text("")
    assert watch.problems == []


def chosen_on_map(page) -> list[int]:
    """The cases ringed on the map as chosen."""
    return page.evaluate("""() => { const ids = [];
      window.mapsvcDesk.marks.eachLayer((m) => {
        if (m.options.color === '#1565c0') ids.push(m.feature.id); });
      return ids.sort((a, b) => a - b); }""")


def test_a_centre_files_and_dispatches_many_cases_at_once(desk, server, grids, api,
                                                          command_token):
    """Three new reports chosen in the list (全选 among those a word finds) are filed at once;
    one filed by another operator while the form is open refuses it and nothing is done, said
    so and taken out of those chosen, and the other two filed when sent again; then the three
    dispatched at once, refused for want of a department (their class names none) until one is
    chosen."""
    page, watch = desk
    tag = uuid.uuid4().hex[:6]
    new = [report_at(server, command_token, grids, 21 + n, f"{tag} 批量 {n}") for n in range(3)]
    page.select_option("#desk-view", "all")  # a case stays listed whatever its step
    page.fill("#desk-words", tag)
    wait_until(page, "window.mapsvcDesk.cases.length === 3", "the three cases")
    assert page.inner_text("#desk-batch-actions") == ""  # none chosen yet
    page.check("#desk-all")
    assert page.inner_text("#desk-chosen") == "已选 3 件"
    assert chosen_on_map(page) == sorted(new)
    offered = page.eval_on_selector_all("#desk-batch-actions button", "bs => bs.map(b => "
                                        "b.dataset.action)")
    assert "file" in offered and "dispatch" not in offered and "merge" not in offered
    page.click("#desk-batch-actions button[data-action='file']")
    assert page.inner_text("#desk-form-title") == "批量立案：所选 3 件"
    do(api, new[1], "file")  # another operator, meanwhile
    wait_until(page, "window.mapsvcDesk.cases.some((f) => f.id === %d "
                     "&& f.properties.status === 'filed')" % new[1], "the list live")
    page.click("#desk-form button[type='submit']")
    expect(page.locator("#desk-message")).to_have_class("bad")
    assert page.inner_text("#desk-message") == (
        f"批量立案未办理，所选案件均未改动。#{new[1]} 案件当前为已立案。"
        "已将不能立案的 1 件移出所选")
    assert [api.get(f"/incidents/{case}").json()["status"] for case in new] == [
        "reported", "filed", "reported"]
    assert page.inner_text("#desk-chosen") == "已选 2 件"
    assert not page.is_checked(f"#desk-list li[data-id='{new[1]}'] input")
    assert page.inner_text("#desk-form-title") == "批量立案：所选 2 件"
    sent = []
    page.on("request", lambda r: sent.append(r.url) if "/incidents/actions/" in r.url else None)
    page.dblclick("#desk-form button[type='submit']")  # an impatient double click: sent once
    expect(page.locator("#desk-message")).to_have_text("批量立案：2 件已完成")
    assert len(sent) == 1
    assert page.inner_text("#desk-chosen") == "" and page.is_hidden("#desk-form")
    assert [api.get(f"/incidents/{case}/timeline").json()[-1]["actor"] for case in new] == [
        "command", "admin", "command"]

    wait_until(page, "window.mapsvcDesk.cases.every((f) => f.properties.status === 'filed')",
               "the three filed, live")
    page.check("#desk-all")
    page.click("#desk-batch-actions button[data-action='dispatch']")
    page.click("#desk-form button[type='submit']")  # to the class's department: none named
    expect(page.locator("#desk-message")).to_have_class("bad")
    assert page.inner_text("#desk-message").count("其类别未指定处置部门") == 3
    assert page.inner_text("#desk-chosen") == "已选 3 件"  # the form lacks it, not the cases
    page.select_option("#desk-form select[name='department']", "T1")
    page.fill("#desk-form textarea[name='note']", "统一处置")
    page.click("#desk-form button[type='submit']")
    expect(page.locator("#desk-message")).to_have_text("批量派遣：3 件已完成")
    for case in new:
        stored = api.get(f"/incidents/{case}").json()
        assert (stored["status"], stored["department"]) == ("dispatched", "T1")
        assert api.get(f"/incidents/{case}/timeline").json()[-1]["note"] == "统一处置"
    wait_until(page, "window.mapsvcDesk.cases.every((f) => f.properties.status === "
                     "'dispatched')", "the three dispatched, live")
    assert chosen_on_map(page) == []
    page.screenshot(path=str(ARTIFACTS / "desk-many.png"))
    assert all("/incidents/actions/" in p or re.search(r"status of (409|422)", p)
               for p in watch.problems), watch.problems


def test_a_case_opened_while_the_map_still_zooms_is_shown_in_its_grid(desk, server, grids,
                                                                     command_token):
    """Leaflet drops a view asked for while it draws a zoom (a quarter of a second): a case
    whose grids arrive meanwhile, as when a second case is opened right after a first, is
    still shown in its grid. The page's fetch is wrapped to start a zoom as the grids'
    answer arrives, before the page reads it."""
    page, watch = desk
    case = report_at(server, command_token, grids, 15, "井盖缺失")
    point = spot(grids, 15)
    wait_until(page, listed(case), "the new case")
    page.evaluate("""(() => {
        const map = window.mapsvcDesk.map, fetched = window.fetch;
        window.fetch = async (...asked) => {
          const answer = await fetched(...asked);
          if (!String(asked[0]).includes("/grids?")) return answer;
          window.fetch = fetched;
          await new Promise((zooming) => {
            map.once("zoomanim", () => setTimeout(zooming));
            map.setZoomAround(map.getCenter(), map.getZoom() + 1);
          });
          window.zoomingWhenAnswered = map._animatingZoom;
          return answer;
        };
    })()""")
    open_case(page, case)
    wait_until(page, f"""(() => {{
        const map = window.mapsvcDesk.map, grid = window.mapsvcDesk.grids.getLayers().find(
          (l) => l.feature.properties.code === window.mapsvcDesk.selected.grid.code);
        if (!grid) return false;
        const shown = grid.getBounds().extend([{point.y}, {point.x}]);
        return map.getBounds().contains(shown)
          && map.getZoom() === Math.min(17, map.getBoundsZoom(shown)); }})()""",
               "the case in its grid")
    assert page.evaluate("window.zoomingWhenAnswered") is True
    assert watch.problems == []


def test_a_refused_action_says_why_and_changes_nothing(desk, server, grids, api,
                                                       command_token):
    page, watch = desk
    case = report_at(server, command_token, grids, 4, "占道经营")
    wait_until(page, listed(case), "the new case")
    page.focus(f"#desk-list li[data-id='{case}']")
    focused = "document.activeElement.closest('#desk-list li')?.dataset.id"
    # the list read again as a case comes in, the keyboard is still at the case it was at
    other = report_at(server, command_token, grids, 4, "占道经营，又一处")
    wait_until(page, listed(other), "the case come in meanwhile")
    assert page.evaluate(focused) == str(case)
    page.keyboard.press("ArrowUp")  # along the list: to the newer case, above
    assert page.evaluate(focused) == str(other)
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == str(case)
    page.keyboard.press("Enter")  # opened from the keyboard
    wait_until(page, f"window.mapsvcDesk.selected && window.mapsvcDesk.selected.id === {case}",
               "the case open")
    # the open case read again as a colleague urges it: the keyboard is still at its step
    page.focus("#desk-actions button[data-action='merge']")
    steps = page.evaluate("window.mapsvcDesk.steps.length")
    assert do(api, case, "urge", note="诉求人来电催促办理").status_code == 200
    wait_until(page, f"window.mapsvcDesk.steps.length > {steps}", "the urging, on the open case")
    assert page.evaluate("document.activeElement.dataset.action") == "merge"
    page.click("#desk-actions button[data-action='merge']")
    page.fill("#desk-form input[name='original']", "999999999")
    page.click("#desk-form button[type='submit']")
    wait_until(page, "document.getElementById('desk-message').className === 'bad'",
               "the refusal")
    assert "999999999" in page.inner_text("#desk-message")
    # the database restarting (503), then no answer at all: each said so, in words
    for answer, said in ((lambda route: route.fulfill(status=503, headers={"Retry-After": "5"},
                                                      json={"detail": "away"}),
                          "服务暂时连不上数据库，请稍后再试"),
                         (lambda route: route.abort(), "未能连上服务，请检查网络后再试")):
        page.route("**/actions/merge", answer)
        page.click("#desk-form button[type='submit']")
        expect(page.locator("#desk-message")).to_have_text(f"合并重复未完成：{said}")
        page.unroute("**/actions/merge")
    assert api.get(f"/incidents/{case}").json()["status"] == "reported"
    # the refusals alone: their answers, and the browser's lines about them
    assert all("/actions/merge" in p or re.search(r"status of (422|503)|net::ERR_FAILED", p)
               for p in watch.problems), watch.problems


def test_a_case_in_no_grid_is_moved_on_the_map_into_the_grid_where_it_is(desk, server, grids,
                                                                          api, command_token):
    page, watch = desk
    case = report(server, command_token, 116.0, 21.5, "位置不明的占道经营")  # in the sea
    page.select_option("#desk-view", "unassigned")
    wait_until(page, listed(case), "the case waiting for triage")
    open_case(page, case)
    shows(page, "未入格")
    target = grids[grids["code"].str.startswith("441502")].iloc[7]
    point = target.geometry.representative_point()
    page.click("#desk-actions button[data-action='relocate']")
    page.fill("#desk-form textarea[name='note']", "来电人补充了门牌号")
    page.click("#desk-form button[type='submit']")  # no place picked: the form does not send
    wait_until(page, "document.getElementById('desk-message').className === 'bad'", "asked")
    assert "地图" in page.inner_text("#desk-message")
    assert api.get(f"/incidents/{case}").json()["method"] == "unassigned"
    page.evaluate(f"void window.mapsvcDesk.map.setView([{point.y}, {point.x}], 17, "
                  "{ animate: false })")  # the place brought into view
    wait_until(page, "window.mapsvcDesk.grids.getLayers().some((l) => "
                     f"l.feature.properties.code === '{target.code}')", "the grids in view drawn")
    click_at(page, point)  # where it is on the screen once they are drawn
    wait_until(page, "document.getElementById('desk-point').textContent"
                     f".includes('{target.code}')", "where the place picked lands")
    page.screenshot(path=str(ARTIFACTS / "desk-relocate.png"))
    page.click("#desk-form button[type='submit']")
    shows(page, target.code)
    moved = api.get(f"/incidents/{case}").json()
    assert (moved["grid"]["code"], moved["method"]) == (target.code, "inside")
    assert abs(moved["lon"] - point.x) < 1e-4 and abs(moved["lat"] - point.y) < 1e-4
    wait_until(page, f"!{listed(case)}", "the case gone from those waiting for triage")
    assert f"更正位置（未入格 → {target.code}） · command" in page.inner_text("#desk-steps")
    assert not watch.problems, watch.problems


def test_a_case_that_repeats_one_nearby_is_merged_into_it(desk, server, grids, api,
                                                          command_token):
    page, watch = desk
    point = spot(grids, 9)

    def report(dx_m, category="0201"):  # a class no other desk test reports
        r = httpx.post(f"{server}/api/v1/incidents",
                       headers={"Authorization": f"Bearer {command_token}"},
                       json={"client_id": str(uuid.uuid4()), "category": category,
                             "lon": point.x + dx_m / 102_000, "lat": point.y,
                             "description": f"<i>消防通道</i>被占 {dx_m}"})
        assert r.status_code == 201
        return r.json()

    first = report(0)
    again = report(12)
    wait_until(page, listed(again["id"]), "the second report")
    open_case(page, again["id"])
    item = f"#desk-duplicate-list li[data-id='{first['id']}']"
    wait_until(page, f"!!document.querySelector(\"{item}\")", "the case it may repeat")
    distance = again["possible_duplicates"][0]["distance_m"]
    assert f"相距 {distance} 米" in page.inner_text(item)
    assert "<i>消防通道</i>被占 0" in page.inner_text(item)  # as typed
    page.screenshot(path=str(ARTIFACTS / "desk-duplicates.png"))
    page.click(f"{item} >> text=合并到此案")
    assert page.input_value("#desk-form input[name='original']") == str(first["id"])
    page.click("#desk-form button[type='submit']")
    shows(page, "已作废")
    assert api.get(f"/incidents/{again['id']}").json()["duplicate_of"] == first["id"]
    assert page.is_hidden("#desk-duplicates")  # a voided case is merged no more
    assert not watch.problems, watch.problems


def test_a_request_for_more_time_waits_in_its_view_until_answered(desk, server, grids, api,
                                                                   clients, command_token):
    page, watch = desk
    case = dispatched_case(server, command_token, api, grids, 10, "需要协调的占道")
    page.select_option("#desk-view", "extension")
    assert do(clients["department"], case, "request_extension", note="需协调多部门",
              working_days=4).status_code == 200
    wait_until(page, listed(case), "the request, live")
    open_case(page, case)
    assert "4 个工作日：需协调多部门" in page.inner_text("#desk-case-facts")
    assert page.is_visible("#desk-actions button[data-action='decline_extension']")
    page.click("#desk-actions button[data-action='extend']")
    page.fill("#desk-form textarea[name='note']", "同意延期")
    page.click("#desk-form button[type='submit']")  # the days asked for
    wait_until(page, f"!{listed(case)}", "answered: gone from the view")
    # the case read again (the list may be read first): no request left to decline, and no
    # more extension while its department has it (once, by the deployment's rule)
    expect(page.locator("#desk-actions button[data-action='decline_extension']")).to_be_hidden()
    expect(page.locator("#desk-case-facts")).to_contain_text("已延期1 次")
    expect(page.locator("#desk-actions button[data-action='extend']")).to_be_hidden()
    assert page.is_visible("#desk-actions button[data-action='reassign']")
    step = api.get(f"/incidents/{case}/timeline").json()[-1]
    assert (step["action"], step["data"]["working_days"]) == ("extend", 4)
    assert not watch.problems, watch.problems


def test_a_department_asking_to_take_a_case_out_of_the_evaluation_waits_in_its_view(
        desk, server, grids, api, clients, command_token):
    """申诉: the department's request waits in its view with when it came, the centre declining
    or taking the case out; answered, it leaves the view."""
    page, watch = desk
    case = dispatched_case(server, command_token, api, grids, 26, "反复要求拆除合法建筑")
    page.select_option("#desk-view", "exemption")
    assert do(clients["department"], case, "request_exemption",
              note="诉求明显不合理").status_code == 200
    wait_until(page, listed(case), "the request, live")
    open_case(page, case)
    stored = api.get(f"/incidents/{case}").json()
    expect(page.locator("#desk-case-facts")).to_contain_text(
        "申请不纳入考核" + page.evaluate("(at) => localTime(at)", stored["exemption_requested_at"]))
    # not yet taken on by the department: by when it is to be (签收)
    expect(page.locator("#desk-case-facts")).to_contain_text(
        "签收时限" + page.evaluate("(at) => dueTime(at)", stored["accept_deadline"]))
    expect(page.locator("#desk-steps li").last).to_contain_text("诉求明显不合理")
    assert page.is_visible("#desk-actions button[data-action='decline_exemption']")
    page.click("#desk-actions button[data-action='exempt']")
    page.click("#desk-phrases button:text-is('诉求明显不合理')")
    page.click("#desk-form button[type='submit']")
    wait_until(page, f"!{listed(case)}", "answered: gone from the view")
    expect(page.locator("#desk-actions button[data-action='decline_exemption']")).to_be_hidden()
    stored = api.get(f"/incidents/{case}").json()
    assert stored["exempted_at"] is not None and stored["exemption_requested_at"] is None
    assert not watch.problems, watch.problems


def test_a_verify_task_shows_its_deadline_till_the_field_finds(desk, server, grids, accounts,
                                                                clients, command_token):
    """The centre sends a case to the field to verify (核实): the case shows when the finding is
    due; once the grid worker has found, it shows no deadline, still waiting to be filed."""
    page, watch = desk
    grid = accounts["worker"][1]["grid_codes"][0]
    point = grids[grids["code"] == grid].geometry.iloc[0].representative_point()
    case = report(server, command_token, point.x, point.y, "路灯不亮")
    find_case(page, case)
    page.click("#desk-actions button[data-action='verify']")  # nothing to ask: done at once
    shows(page, "核实中")
    stored = clients["command"].get(f"/incidents/{case}").json()
    facts = page.inner_text("#desk-case-facts").split("\n")
    assert facts[facts.index("核实时限") + 1] == page.evaluate(
        "(at) => dueTime(at)", stored["clocks"]["verify"]["deadline"])
    assert do(clients["worker"], case, "confirm", note="现场属实").status_code == 200
    find_case(page, case)
    wait_until(page, "!document.getElementById('desk-case-facts').textContent"
                     ".includes('核实时限')", "no deadline once found")
    assert "核实中" in page.inner_text("#desk-case-facts")
    assert not watch.problems, watch.problems


def test_a_case_marked_urgent_leads_the_urgent_view_on_a_four_hour_clock(desk, server, grids,
                                                                          api, command_token):
    page, watch = desk
    case = dispatched_case(server, command_token, api, grids, 16, "燃气管道泄漏")
    page.select_option("#desk-view", "urgent")
    find_case(page, case)
    page.click("#desk-actions button[data-action='expedite']")
    page.click("#desk-form button[type='submit']")  # with no reason: refused on the page
    assert page.is_visible("#desk-form")
    page.fill("#desk-form textarea[name='note']", "<b>居民楼旁</b>，立即处置")
    page.click("#desk-form button[type='submit']")
    wait_until(page, listed(case), "the case in the urgent view")
    assert page.inner_text(f"#desk-list li[data-id='{case}'] mark.urgent") == "急"
    shows(page, "加急")
    stored = api.get(f"/incidents/{case}").json()
    assert (datetime.fromisoformat(stored["handling_deadline"])
            == datetime.fromisoformat(stored["urgent_at"]) + timedelta(hours=4))
    facts = page.inner_text("#desk-case-facts").split("\n")
    shown = [page.evaluate(f"(at) => {way}(at)", stored[key])
             for way, key in (("localTime", "urgent_at"), ("dueTime", "handling_deadline"))]
    assert facts[facts.index("加急") + 1] == shown[0]
    assert facts[facts.index("处置时限") + 1] == shown[1]
    assert not page.is_visible("#desk-actions button[data-action='expedite']")  # urgent already
    step = page.locator("#desk-steps li").last
    assert "加急" in step.inner_text() and "<b>居民楼旁</b>，立即处置" in step.inner_text()
    page.screenshot(path=str(ARTIFACTS / "desk-urgent.png"))
    assert not watch.problems, watch.problems


def test_a_closed_case_waits_to_be_followed_up_with_a_rating(desk, server, grids, api,
                                                             command_token):
    """回访: a closed case listed until followed up with the caller's rating, and whether the
    problem was resolved; then taken out of the evaluation (不纳入考核) with why."""
    page, watch = desk
    case = report_at(server, command_token, grids, 11, "已清理的垃圾")
    do(api, case, "file")
    page.select_option("#desk-view", "closed")
    assert do(api, case, "close", note="现场已清理").status_code == 200
    wait_until(page, listed(case), "the closed case among those to follow up, live")
    open_case(page, case)
    page.click("#desk-actions button[data-action='follow_up']")
    assert page.is_visible("#desk-form label[data-field='satisfaction']")
    page.select_option("#desk-form select[name='satisfaction']", "4")
    assert page.input_value("#desk-form select[name='resolved']") == ""  # not asked, unless
    page.select_option("#desk-form select[name='resolved']", "false")
    page.click("#desk-form button[type='submit']")
    shows(page, "已评价")
    wait_until(page, f"!{listed(case)}", "followed up: gone from the view")
    stored = api.get(f"/incidents/{case}").json()
    assert (stored["satisfaction"], stored["resolved"]) == (4, False)
    expect(page.locator("#desk-case-facts")).to_contain_text("回访满意度 4 · 未解决")
    expect(page.locator("#desk-steps li").last).to_contain_text("回访评价（满意度 4 · 未解决）")
    # the caller's demand was beyond reason: out of the hotline's evaluation, once
    page.click("#desk-actions button[data-action='exempt']")
    page.click("#desk-phrases button:text-is('诉求明显不合理')")
    page.click("#desk-form button[type='submit']")
    expect(page.locator("#desk-steps li").last).to_contain_text("不纳入考核")
    expect(page.locator("#desk-steps li").last).to_contain_text("诉求明显不合理")
    exempted = api.get(f"/incidents/{case}").json()["exempted_at"]
    expect(page.locator("#desk-case-facts")).to_contain_text(
        "不纳入考核" + page.evaluate("(at) => localTime(at)", exempted))
    assert page.locator("#desk-actions button[data-action='exempt']").count() == 0
    assert page.locator("#desk-actions button[data-action='count_again']").count() == 1
    assert not watch.problems, watch.problems


def test_a_case_is_dispatched_to_a_department_serving_its_place(server, browser, accounts,
                                                               grids, api, db, command_token):
    """In a city of many counties, each with its own 城管局: the city centre's desk offers a
    case the departments of its county, of its city and of no region, not another county's,
    each named with the region it serves where its name does not say it; the list of the
    cases of a department names every one. Each case says where it is: on the list its county,
    township and village, open the city's name before them."""
    with db.begin() as conn:
        conn.execute(text("""
            INSERT INTO department (code, name, region_code)
            VALUES ('WC-CG', '武昌区城管局', '420106'), ('SW-SJ', '汕尾市水务局', '4415'),
                   ('CQ-SW', '水务局', '441502')
            ON CONFLICT DO NOTHING"""))
    case = report_at(server, command_token, grids, 42, "积水")
    do(api, case, "file")
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, "/map/desk", "shanwei", PASSWORD)
    wait_until(page, "window.mapsvcDesk && window.mapsvcDesk.online === true", "the live feed")
    find_case(page, case)
    doc = api.get(f"/incidents/{case}").json()
    assert fact(page, "所在地") == (
        f"汕尾市 城区 {doc['township']['name']} {doc['village']['name']}")
    page.click("#desk-actions button[data-action='dispatch']")
    named = "(options) => Object.fromEntries(options.map((o) => [o.value, o.textContent]))"
    offered = page.locator("#desk-form select[name='department'] option").evaluate_all(named)
    assert {"", "T1", "SW-SJ", "CQ-SW"} <= set(offered) and "WC-CG" not in offered
    assert (offered["SW-SJ"], offered["CQ-SW"], offered["T1"]) == (
        "汕尾市水务局", "水务局（城区）", "测试局")
    listed = page.locator("#desk-department option").evaluate_all(named)
    assert listed["WC-CG"] == "武昌区城管局"
    page.select_option("#desk-form select[name='department']", "SW-SJ")
    page.click("#desk-form button[type='submit']")
    shows(page, "已派遣")
    assert api.get(f"/incidents/{case}").json()["department"] == "SW-SJ"
    # many cases: every department offered, and one serving none of them refused, said why
    tag = uuid.uuid4().hex[:6]
    many = [report_at(server, command_token, grids, 43 + n, f"{tag} 积水") for n in range(2)]
    for one in many:
        do(api, one, "file")
    page.select_option("#desk-view", "all")
    page.fill("#desk-words", tag)
    wait_until(page, "window.mapsvcDesk.cases.length === 2", "the two cases")
    doc = api.get(f"/incidents/{many[0]}").json()
    assert page.inner_text(f"#desk-list li[data-id='{many[0]}'] small").endswith(
        f"上报 · 城区 {doc['township']['name']} {doc['village']['name']}")
    page.check("#desk-all")
    page.click("#desk-batch-actions button[data-action='dispatch']")
    page.select_option("#desk-form select[name='department']", "WC-CG")
    page.click("#desk-form button[type='submit']")
    expect(page.locator("#desk-message")).to_have_class("bad")
    assert page.inner_text("#desk-message").count("所选部门属武昌区，不负责此案件所在地") == 2
    assert [api.get(f"/incidents/{one}").json()["status"] for one in many] == ["filed"] * 2
    assert all("/incidents/actions/" in p or re.search(r"status of 422", p)
               for p in watch.problems), watch.problems
    context.close()


def test_the_cases_of_a_department_are_listed_apart(desk, server, grids, api, command_token):
    page, watch = desk
    sent = report_at(server, command_token, grids, 12, "派往测试局的案件")
    do(api, sent, "file")
    do(api, sent, "dispatch", department="T1")
    kept = report_at(server, command_token, grids, 12, "尚未派遣的案件")
    page.select_option("#desk-view", "all")
    wait_until(page, listed(kept), "every case")
    doc = api.get(f"/incidents/{kept}").json()  # where it is, below the centre's county
    assert page.inner_text(f"#desk-list li[data-id='{kept}'] small").endswith(
        f"上报 · {doc['township']['name']} {doc['village']['name']}")
    page.select_option("#desk-department", "T1")
    wait_until(page, f"{listed(sent)} && !{listed(kept)}", "the department's cases alone")
    shown = page.evaluate("window.mapsvcDesk.cases.map((f) => f.id)")
    assert {api.get(f"/incidents/{case}").json()["department"] for case in shown} == {"T1"}
    assert "department=T1" in page.get_attribute("#desk-export", "href")  # its ledger too
    assert not watch.problems, watch.problems


def test_the_cases_of_a_class_are_listed_apart(desk, server, grids, api, command_token):
    """A main class chosen lists its subclasses' cases too, and no other class's."""
    page, watch = desk
    litter = report_at(server, command_token, grids, 13, "暴露垃圾一处")  # 0601, under 06
    quarrel = report_at(server, command_token, grids, 13, "邻里争吵", category="0101")
    page.select_option("#desk-view", "all")
    wait_until(page, f"{listed(litter)} && {listed(quarrel)}", "every case")
    assert "市容环境 / 暴露垃圾" in page.locator("#desk-category option").all_inner_texts()
    page.select_option("#desk-category", "06")
    wait_until(page, f"{listed(litter)} && !{listed(quarrel)}", "the class's cases alone")
    shown = page.evaluate("window.mapsvcDesk.cases.map((f) => f.properties.category)")
    assert {code[:2] for code in shown} == {"06"}
    assert "category=06" in page.get_attribute("#desk-export", "href")  # its ledger too
    assert not watch.problems, watch.problems


def test_the_publics_reports_and_each_sources_are_listed_apart(desk, server, grids, api,
                                                                 command_token):
    page, watch = desk
    called = report_at(server, command_token, grids, 14, "热线来电反映的案件", source="hotline")
    found = report_at(server, command_token, grids, 14, "网格员巡查发现的案件",
                      source="grid_worker")
    page.select_option("#desk-view", "all")
    wait_until(page, f"{listed(called)} && {listed(found)}", "every case")
    page.select_option("#desk-source", "public")  # 公众举报: the hotline's and citizens'
    wait_until(page, f"{listed(called)} && !{listed(found)}", "the public's reports alone")
    shown = page.evaluate("window.mapsvcDesk.cases.map((f) => f.id)")
    assert {api.get(f"/incidents/{case}").json()["source"] for case in shown} <= {
        "hotline", "citizen"}
    assert "source=public" in page.get_attribute("#desk-export", "href")  # its ledger too
    page.select_option("#desk-source", "grid_worker")
    wait_until(page, f"!{listed(called)} && {listed(found)}", "the grid workers' alone")
    assert page.inner_text("#desk-source option:checked") == "网格员"
    assert not watch.problems, watch.problems


def test_a_view_of_a_region_named_in_the_address_lists_its_cases_alone(desk, server, grids,
                                                                        api, command_token):
    """As the wall's figures link to the desk: ``#view=open&grid=CODE&name=NAME`` lists the
    grid's open cases alone, the grid named beside the centre's region (as text); 全部辖区
    lists the whole jurisdiction's again."""
    page, watch = desk
    inside = report_at(server, command_token, grids, 23, "网格范围内的案件")
    outside = report_at(server, command_token, grids, 24, "网格范围外的案件")
    code = api.get(f"/incidents/{inside}").json()["grid"]["code"]
    name = "<b>第二十三网格</b>"
    page.goto("about:blank")  # the desk loaded afresh from the address, as from the wall
    page.goto(f"{server}/map/desk#view=open&grid={code}&name={quote(name)}")
    wait_until(page, "window.mapsvcDesk && window.mapsvcDesk.online === true", "the desk")
    wait_until(page, listed(inside), "the grid's case")
    assert page.input_value("#desk-view") == "open"
    assert page.inner_text("#desk-scope span") == name
    assert page.locator("#desk-scope b").count() == 0
    shown = page.evaluate("window.mapsvcDesk.cases.map((f) => f.id)")
    assert outside not in shown
    assert {api.get(f"/incidents/{case}").json()["grid"]["code"] for case in shown} == {code}
    assert f"grid={code}" in page.get_attribute("#desk-export", "href")  # its ledger too
    page.click("#desk-scope button")  # 全部辖区
    wait_until(page, f"{listed(inside)} && {listed(outside)}", "the jurisdiction's cases")
    assert page.locator("#desk-scope").is_hidden()
    # no error: the only request that failed is the live feed the first desk broke off
    assert [p for p in watch.problems if not p.endswith("/api/v1/events")] == []


@pytest.mark.parametrize("session", ["none", "cookie"])
def test_a_view_asked_for_without_a_session_is_shown_once_signed_in(server, browser, grids,
                                                                    command_token, session):
    """An address of the desk opened where the session is not (in another browser, or a tab of
    its own with the cookie alone): once signed in, the desk shows what the address asked for,
    not the view it opens at."""
    context = browser.new_context()
    if session == "cookie":  # signed in in another tab: the cookie is the browser's, the token
        sign_in(context.new_page(), server, "/map/desk", "command", PASSWORD)  # the tab's
    page = context.new_page()
    case = report_at(server, command_token, grids, 25, "从地址打开的案件")
    page.goto(f"{server}/map/desk#view=all&case={case}")
    page.wait_for_url(lambda url: "/map/login" in url)
    signed_in_here(page, "command", PASSWORD)
    page.wait_for_url(f"{server}/map/desk#view=all&case={case}")
    wait_until(page, f"window.mapsvcDesk && window.mapsvcDesk.selected "
                     f"&& window.mapsvcDesk.selected.id === {case}", "the case asked for")
    assert page.input_value("#desk-view") == "all"
    context.close()


def test_a_case_asked_after_by_its_number_opens_whichever_view_is_shown(desk, server, grids,
                                                                         api, command_token):
    page, watch = desk
    case = report_at(server, command_token, grids, 13, "来电查询的案件")
    page.select_option("#desk-view", "red")  # a view it is not in
    find_case(page, case)
    assert page.inner_text("#desk-case-description") == "来电查询的案件"
    assert page.url.endswith(f"#view=red&case={case}")
    # what its class (0601) asks for it to be filed and closed, as the categories give it
    [garbage] = httpx.get(f"{server}/api/v1/categories", params={"q": "0601"}, headers={
        "Authorization": f"Bearer {command_token}"}).json()
    facts = page.inner_text("#desk-case-facts").split("\n")
    assert garbage["filing_condition"] and garbage["closing_condition"]
    assert facts[facts.index("立案条件") + 1] == garbage["filing_condition"]
    assert facts[facts.index("结案条件") + 1] == garbage["closing_condition"]
    other = report_at(server, command_token, grids, 13, "无条件的类别", category="0201")
    find_case(page, other)
    assert "立案条件" not in page.inner_text("#desk-case-facts")  # a class that names none
    page.fill("#desk-find input[name='id']", "999999999")
    page.click("#desk-find button[type='submit']")
    wait_until(page, "document.getElementById('desk-message').className === 'bad'", "refused")
    assert "没有案件 #999999999" in page.inner_text("#desk-message")
    assert all("/incidents/999999999" in p or "status of 404" in p for p in watch.problems)


def test_the_photos_of_a_cases_steps_are_shown_with_when_and_where_they_were_taken(
        desk, server, grids, command_token):
    from PIL import Image
    from pyproj import Geod

    page, watch = desk
    auth = {"Authorization": f"Bearer {command_token}"}
    point = spot(grids, 14)
    east = (point.x + 0.0003, point.y)  # some 30 m east of the case

    def upload(colour, **sent):
        photo = io.BytesIO()
        Image.new("RGB", (800, 600), colour).save(photo, format="JPEG")
        return httpx.post(f"{server}/api/v1/media", headers=auth, data=sent, files={
            "file": ("before.jpg", photo.getvalue(), "image/jpeg")}).json()["id"]

    taken = (datetime.now(CHINA) - timedelta(days=2)).replace(hour=10, minute=5, second=0)
    placed = upload("teal", taken_at=taken.isoformat(), lon=east[0], lat=east[1])
    unknown = upload("maroon")
    case = httpx.post(f"{server}/api/v1/incidents", headers=auth, json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": point.x, "lat": point.y,
        "description": "带照片的上报", "attachments": [placed, unknown]}).json()["id"]
    wait_until(page, listed(case), "the case")
    open_case(page, case)
    image = "#desk-steps .step-photos img"
    wait_until(page, f"[...document.querySelectorAll('{image}')].filter("
                     "(i) => i.complete && i.naturalWidth > 0).length === 2", "the photos, shown")
    shown = dict(page.eval_on_selector_all("#desk-steps .step-photos figure", """figures =>
        figures.map(f => [f.querySelector('a').getAttribute('href').split('/').pop(),
                          f.querySelector('figcaption').textContent])"""))
    _, _, metres = Geod(ellps="WGS84").inv(point.x, point.y, *east)
    # China's time, whatever the computer's zone: 10:05 two days ago
    year = "" if taken.year == datetime.now(CHINA).year else f"{taken.year}年"
    when = f"{year}{taken.month}月{taken.day}日 10:05"
    assert shown[placed] in (f"{when} 拍摄 · 距案件 {round(metres) + d} 米" for d in (-1, 0, 1))
    assert shown[unknown] == "拍摄时间不明 · 拍摄位置不明"
    assert not watch.problems, watch.problems


def test_a_step_that_came_late_says_when_it_came(desk):
    """A step a phone sent once it had signal again is told at the time it was taken, and,
    when it came a minute or more later, when it came."""
    page, watch = desk
    told = """(late) => {
        const at = new Date(Date.now() - 7200e3), came = new Date(at.getTime() + late * 1e3);
        const step = { at: at.toISOString(), received_at: came.toISOString(),
                       action: "report_handled", actor: "worker" };
        return [stepItem(step).textContent, localTime(at), localTime(came)]; }"""
    line, taken, came = page.evaluate(told, 3600)
    assert line == f"{taken} 处置完成 · worker（{came} 送达）"
    line, taken, _ = page.evaluate(told, 30)
    assert line == f"{taken} 处置完成 · worker"
    assert not watch.problems, watch.problems


def test_times_are_shown_in_china_time_whatever_the_computers_zone(desk):
    """Today's by the clock, to the second; another day's by its day; another year's by its
    year; a deadline near by the day's name: as in China, on a computer set to New York's
    time."""
    page, _ = desk

    def china(at: datetime) -> str:
        t, today = at.astimezone(CHINA), datetime.now(CHINA)
        if t.date() == today.date():
            return f"{t:%H:%M:%S}"
        return ("" if t.year == today.year else f"{t.year}年") + f"{t.month}月{t.day}日 {t:%H:%M}"

    now = datetime.now(timezone.utc)
    for at in (now - timedelta(minutes=5), now - timedelta(days=3),
               datetime(2025, 12, 31, 23, 30, tzinfo=CHINA),
               datetime(2026, 7, 1, 0, 5, 9, tzinfo=timezone.utc)):
        assert page.evaluate("(at) => localTime(new Date(at))", at.isoformat()) == china(at)
    # a deadline yesterday, today or tomorrow (in China) by the day's name, to the minute
    today = datetime.now(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
    for days, named in ((-1, "昨天"), (0, "今天"), (1, "明天")):
        for at in (today + timedelta(days=days, minutes=1),
                   today + timedelta(days=days, hours=23, minutes=59, seconds=59)):
            assert page.evaluate("(at) => dueTime(at)", at.isoformat()) == f"{named} {at:%H:%M}"
    for at in (today - timedelta(seconds=86401), today + timedelta(days=2)):
        assert page.evaluate("(at) => dueTime(at)", at.isoformat()) == china(at)
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == ELSEWHERE


def test_a_desk_reloaded_shows_what_it_showed(desk, server, grids, command_token):
    """The view, the filters, the words and the order chosen, and the case open, are kept in
    the address: reloaded (or the address sent to a colleague), the desk shows the same."""
    page, watch = desk
    case = report_at(server, command_token, grids, 15, "重新载入后仍在的投诉", source="hotline")
    page.select_option("#desk-view", "waiting")
    page.select_option("#desk-category", "0601")
    page.select_option("#desk-source", "public")
    page.select_option("#desk-order", "oldest")
    page.fill("#desk-words", "重新载入")
    wait_until(page, "window.mapsvcDesk.matched === 1", "the case the words find")
    find_case(page, case)
    assert page.url.endswith(f"/map/desk#view=waiting&category=0601&source=public&order=oldest"
                             f"&q={quote('重新载入')}&case={case}")
    watch.reload(page)
    wait_until(page, f"window.mapsvcDesk && window.mapsvcDesk.selected "
                     f"&& window.mapsvcDesk.selected.id === {case}", "the case, open again")
    assert [page.input_value(f"#desk-{key}") for key in (
        "view", "category", "source", "order", "words")] == [
        "waiting", "0601", "public", "oldest", "重新载入"]
    assert page.evaluate("window.mapsvcDesk.cases.map((f) => f.id)") == [case]
    page.select_option("#desk-view", "reported")  # back to the view it opens with
    page.select_option("#desk-category", "")
    page.select_option("#desk-source", "")
    page.select_option("#desk-order", "newest")
    page.fill("#desk-words", "")
    wait_until(page, f"location.hash === '#case={case}'", "the address of the case alone")
    assert watch.problems == []


def test_a_callers_report_is_registered_at_a_standard_address_once_however_often_sent(
        desk, server, grids, api, db):
    """来电登记: the place found by the address's words (or picked on the map), the class, the
    caller's words and photos; an answer lost on the way and the form sent again store one
    case."""
    from PIL import Image

    page, watch = desk
    point = spot(grids, 16)
    where = next(g for g in grids.itertuples() if g.geometry.covers(point))
    street = f"来电测试路{uuid.uuid4().int % 10_000}"
    registered(api, "addresses", [{"address": f"{street}号", "lon": point.x, "lat": point.y}],
               county="441502")
    page.click("#desk-new-open")
    form = page.locator("#desk-new")
    assert form.locator("[name=source]").input_value() == "hotline"
    form.locator("[name=category]").select_option("0601")
    form.locator("[name=description]").fill("<b>楼道</b>堆放杂物，来电人要求尽快清理")
    form.locator("button[type=submit]").click()  # no place yet: not sent
    expect(page.locator("#desk-message")).to_have_text("请先在地图上点击事发位置，或按地址查找")
    form.locator("[name=address]").fill(street)
    form.locator("#desk-new-addresses li", has_text=f"{street}号").click()
    expect(form.locator("#desk-new-point")).to_contain_text(where.code)
    assert form.locator("[name=description]").input_value() == (
        f"地址：{street}号\n<b>楼道</b>堆放杂物，来电人要求尽快清理")
    photo = io.BytesIO()
    Image.new("RGB", (640, 480), "khaki").save(photo, format="JPEG")
    form.locator("[name=photos]").set_input_files([  # sent by the caller
        {"name": "来电人照片.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()}])
    # the first answer lost on the way back: the desk says so, and the case is sent again
    sent = []

    def lose_answer(route):
        sent.append(route.request.post_data_json["client_id"])
        route.fetch()
        route.abort()

    page.route("**/api/v1/incidents", lose_answer, times=1)
    form.locator("button[type=submit]").click()
    expect(page.locator("#desk-message")).to_have_text("登记未完成：未能连上服务，请检查网络后再试")
    with page.expect_response("**/api/v1/incidents") as answered:
        form.locator("button[type=submit]").click()
    again = answered.value
    assert again.status == 200  # the case stored the first time
    case = again.json()["id"]
    assert again.request.post_data_json["client_id"] == sent[0]
    wait_until(page, f"window.mapsvcDesk.selected && window.mapsvcDesk.selected.id === {case}",
               "the case registered, open")
    stored = api.get(f"/incidents/{case}").json()
    expect(page.locator("#desk-message")).to_have_text(
        f"已登记案件 #{case}，落入{stored['grid']['name']}")  # once the case has opened
    assert form.is_hidden()
    assert (stored["source"], stored["category"], stored["grid"]["code"]) == (
        "hotline", "0601", where.code)
    assert [(s["action"], s["actor"], len(s["attachments"]))
            for s in api.get(f"/incidents/{case}/timeline").json()] == [("report", "command", 1)]
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE description LIKE :d"),
                            {"d": f"地址：{street}号%"}).scalar_one() == 1
    assert page.inner_text("#desk-case-description").endswith("<b>楼道</b>堆放杂物，来电人要求尽快清理")
    assert page.locator("#desk-case-description b").count() == 0
    wait_until(page, listed(case), "the case on the list")
    # a page served over plain HTTP has no crypto.randomUUID: its ids come from random bytes
    made = page.evaluate("""() => { crypto.randomUUID = undefined;
        const ids = [clientId(), clientId()]; delete crypto.randomUUID; return ids; }""")
    assert made[0] != made[1]
    assert all(str(uuid.UUID(m)) == m and uuid.UUID(m).version == 4 for m in made), made
    # no error but the answer lost
    assert [p for p in watch.problems if not p.startswith("failed: ")
            and "ERR_FAILED" not in p] == [], watch.problems


def test_a_callers_name_and_phone_are_taken_at_the_desk_and_revealed_for_a_reason(
        desk, server, grids, api, command_token):
    """来电登记 keeps who called; the case shows them masked, and in full (the phone to dial)
    once a reason is given, each value's reveal audited, and lists the caller's other cases
    (重复来电); the next case opened is masked again."""
    page, watch = desk
    phone = f"139{uuid.uuid4().int % 10 ** 8:08d}"
    masked = f"{phone[:3]}****{phone[-4:]}"
    before = report_at(server, command_token, grids, 34, "上周同一号码来电反映噪音",
                       source="hotline", caller={"phone": phone})
    point = spot(grids, 33)  # where no case is, whose mark the click would open
    where = next(g for g in grids.itertuples() if g.geometry.covers(point))
    page.click("#desk-new-open")
    form = page.locator("#desk-new")
    form.locator("[name=category]").select_option("0601")
    form.locator("[name=description]").fill("夜间施工噪音，请回电")
    form.locator("[name=caller_name]").fill("<b>欧阳</b>")
    form.locator("[name=caller_phone]").fill("12345")
    page.evaluate(f"void window.mapsvcDesk.map.setView([{point.y}, {point.x}], 17, "
                  "{ animate: false })")
    click_at(page, point)
    expect(form.locator("#desk-new-point")).to_contain_text(where.code)
    assert not page.evaluate("document.getElementById('desk-new').checkValidity()")  # 12345
    form.locator("[name=caller_phone]").fill(f"{phone[:3]} {phone[3:7]} {phone[7:]}")
    with page.expect_response("**/api/v1/incidents") as answered:
        form.locator("button[type=submit]").click()
    case = answered.value.json()["id"]
    wait_until(page, f"window.mapsvcDesk.selected && window.mapsvcDesk.selected.id === {case}",
               "the case registered, open")
    facts = page.locator("#desk-case-facts")
    expect(facts).to_contain_text(f"来电人<******** · {masked}")
    same = page.locator("#desk-same-caller")
    expect(same.locator("h3")).to_have_text("同一号码的其他来电 1 件")
    assert same.locator("li").get_attribute("data-id") == str(before)
    assert "上周同一号码来电反映噪音" in same.inner_text()
    facts.locator("button", has_text="查看完整").click()
    reveal = page.locator("#desk-reveal")
    reveal.locator("button[type=submit]").click()  # no reason: not sent
    assert str(case) not in [a["entity_id"] for a in api.get("/audit", params={
        "action": "reveal", "limit": 5}).json()]
    reveal.locator("button", has_text="回访诉求人").click()
    # the case read again while it is being revealed (the live feed follows it as it changes)
    held = []
    page.route("**/caller/reveal", lambda route: held.append(route), times=1)
    reveal.locator("button[type=submit]").click()
    page.evaluate("window.mapsvcDesk.selected.readBefore = true")
    assert do(api, case, "urge", note="来电人再次来电").status_code == 200
    wait_until(page, "!window.mapsvcDesk.selected.readBefore", "the case read again")
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()
    expect(facts).to_contain_text(f"来电人<b>欧阳</b> · {phone}")
    assert facts.locator("b").count() == 0 and reveal.is_hidden()
    assert facts.locator("a").get_attribute("href") == f"tel:{phone}"
    audit = api.get("/audit", params={"action": "reveal", "limit": 5}).json()
    assert [(a["username"], a["entity_id"], a["field"], a["reason"]) for a in audit[:2]] == [
        ("command", str(case), "caller_phone", "回访诉求人"),
        ("command", str(case), "caller_name", "回访诉求人")]
    same.locator("li button").click()  # the caller's earlier case, listing this one
    wait_until(page, f"window.mapsvcDesk.selected.id === {before}", "the earlier case open")
    expect(facts).to_contain_text(f"来电人{masked}")
    expect(same.locator(f"li[data-id='{case}']")).to_be_visible()  # its list, not the last
    expect(same.locator("li")).to_have_count(1)
    same.locator("li button").click()
    wait_until(page, f"window.mapsvcDesk.selected.id === {case}", "back to the call")
    expect(facts).to_contain_text(f"来电人<******** · {masked}")  # masked again
    find_case(page, report_at(server, command_token, grids, 18, "另一件"))
    expect(same).to_be_hidden()  # no caller, no list
    assert watch.problems == []


def test_a_case_the_hotline_platform_forwards_is_registered_under_its_number_and_found_by_it(
        desk, server, grids, api):
    """A case the 12345 platform forwards comes with the platform's number (工单编号): the case
    registered under it shows it, the number cannot be registered again for another case, and
    the number typed in the search finds the case."""
    page, watch = desk
    number = f"GD{uuid.uuid4().int % 10**12:012d}"
    point = spot(grids, 37)
    where = next(g for g in grids.itertuples() if g.geometry.covers(point))
    form = page.locator("#desk-new")

    def registering(description: str):
        page.click("#desk-new-open")
        form.locator("[name=number]").fill(f" {number} ")
        form.locator("[name=category]").select_option("0601")
        form.locator("[name=description]").fill(description)
        page.evaluate(f"void window.mapsvcDesk.map.setView([{point.y}, {point.x}], 17, "
                      "{ animate: false })")
        click_at(page, point)
        expect(form.locator("#desk-new-point")).to_contain_text(where.code)
        with page.expect_response("**/api/v1/incidents") as answered:
            form.locator("button[type=submit]").click()
        return answered.value

    case = registering("平台转来：小区门口垃圾堆积").json()["id"]
    wait_until(page, f"window.mapsvcDesk.selected && window.mapsvcDesk.selected.id === {case}",
               "the case registered, open")
    expect(page.locator("#desk-case-facts")).to_contain_text(f"来源工单编号{number}")
    stored = api.get(f"/incidents/{case}").json()
    assert (stored["source"], stored["source_number"]) == ("hotline", number)
    assert registering("同一编号的另一件事").status == 409
    expect(page.locator("#desk-message")).to_have_text(
        f"登记未完成：工单编号 {number} 已是案件 #{case} 的编号")
    assert form.is_visible()  # to be put right
    page.click("#desk-new-cancel")
    page.select_option("#desk-view", "all")
    page.fill("#desk-words", number.lower())
    wait_until(page, f"window.mapsvcDesk.cases.length === 1 && "
                     f"window.mapsvcDesk.cases[0].id === {case}", "the case of the number")
    assert [p for p in watch.problems if "409" not in p] == [], watch.problems


def test_a_caller_calling_again_urges_their_open_case_rather_than_register_a_new_one(
        desk, server, grids, api, command_token, db):
    """Their number typed at 来电登记 lists the cases reported from it (重复来电); an open one
    is urged (催办) with what they say, a step on that case, and no case is registered."""
    page, watch = desk
    phone = f"137{uuid.uuid4().int % 10 ** 8:08d}"
    waiting = report_at(server, command_token, grids, 35, "<b>路灯</b>不亮",
                        source="hotline", caller={"phone": phone})
    gone = report_at(server, command_token, grids, 36, "重复反映路灯",
                     source="hotline", caller={"phone": phone})
    assert do(api, gone, "void", note="重复上报").status_code == 200
    page.click("#desk-new-open")
    form = page.locator("#desk-new")
    form.locator("[name=description]").fill("路灯还是不亮，要求尽快修")
    calls = page.locator("#desk-new-calls")
    form.locator("[name=caller_phone]").press_sequentially(f"{phone[:3]} {phone[3:7]} {phone[7:]}")
    expect(calls.locator("h4")).to_have_text("此号码的来电 2 件")  # as it is typed
    assert [li.get_attribute("data-id") for li in calls.locator("li").all()] == [
        str(gone), str(waiting)]
    assert calls.locator("b").count() == 0 and "<b>路灯</b>不亮" in calls.inner_text()
    expect(calls.locator(f"li[data-id='{gone}'] button", has_text="催办此件")).to_have_count(0)
    calls.locator(f"li[data-id='{waiting}'] button", has_text="催办此件").click()
    wait_until(page, f"window.mapsvcDesk.selected && window.mapsvcDesk.selected.id === {waiting}",
               "the earlier case open")
    expect(form).to_be_hidden()
    expect(page.locator("#desk-form-title")).to_have_text("催办")
    assert page.input_value("#desk-form textarea[name='note']") == "路灯还是不亮，要求尽快修"
    page.click("#desk-form button[type='submit']")
    expect(page.locator("#desk-case-facts")).to_contain_text("催办1 次")
    expect(page.locator("#desk-steps")).to_contain_text("路灯还是不亮，要求尽快修")
    assert api.get(f"/incidents/{waiting}").json()["urged"] == 1
    page.select_option("#desk-view", "urged")  # 催办: the open cases urged, marked how often
    expect(page.locator(f"#desk-list li[data-id='{waiting}'] mark.urged")).to_have_text("催1")
    expect(page.locator(f"#desk-list li[data-id='{gone}']")).to_have_count(0)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE description = :d"),
                            {"d": "路灯还是不亮，要求尽快修"}).scalar_one() == 0
    page.click("#desk-new-open")  # the next call starts with no list
    expect(calls).to_be_hidden()
    assert watch.problems == []


def test_the_desk_downloads_the_lists_cases_as_the_ledger(desk, server, grids, command_token):
    page, _ = desk
    case = report_at(server, command_token, grids, 5, "=1+1 路面塌陷")
    page.select_option("#desk-view", "reported")
    wait_until(page, listed(case), "the new case")
    with page.expect_download() as download:
        page.click("#desk-export")
    rows = list(csv.DictReader(io.StringIO(
        open(download.value.path(), encoding="utf-8-sig").read(), newline="")))
    listed_ids = page.evaluate("window.mapsvcDesk.cases.map((f) => f.id)")
    assert [int(r["编号"]) for r in rows][:len(listed_ids)] == listed_ids
    assert {r["状态"] for r in rows} == {"已上报"}
    assert next(r for r in rows if int(r["编号"]) == case)["描述"] == "'=1+1 路面塌陷"


def test_the_wall_and_the_desk_lead_to_each_other(desk, server, grids, command_token):
    page, watch = desk
    case = report_at(server, command_token, grids, 6, "路灯不亮")
    open_case(page, case)
    assert page.url.endswith(f"/map/desk#case={case}")  # an address to come back to
    # another case's address, given the same tab (a link pasted there): that case opened
    other = report_at(server, command_token, grids, 7, "井盖缺失")
    page.evaluate(f"location.hash = '#case={other}'")
    wait_until(page, f"window.mapsvcDesk.selected && window.mapsvcDesk.selected.id === {other}",
               "the case the address names")
    page.click("a[href='/map/wall']")
    wait_until(page, "window.mapsvcWall && window.mapsvcWall.online === true", "the wall")
    page.click("#wall-desk")
    wait_until(page, "window.mapsvcDesk && window.mapsvcDesk.online === true", "the desk")
    # the wall's case opens on the desk, where it is handled
    page.goto(f"{server}/map/wall")
    wait_until(page, "window.mapsvcWall && window.mapsvcWall.online === true", "the wall")
    wait_until(page, f"!!document.querySelector('#wall-list li[data-id=\"{case}\"]')",
               "the case in the wall's list")
    page.click(f"#wall-list li[data-id='{case}']")
    handling = desk_opened(page, f".wall-case[data-id='{case}'] a.handle")  # the wall stays
    wait_until(handling, f"window.mapsvcDesk && window.mapsvcDesk.selected "
                         f"&& window.mapsvcDesk.selected.id === {case}",
               "the case open on the desk")
    handling.close()
    assert urlsplit(page.url).path == "/map/wall"
    # no error: the only requests that failed are those each page broke off as it was left
    assert [p for p in watch.problems if not p.startswith("failed: ")] == []


def test_the_open_case_stands_beside_the_list_and_closes_to_give_the_map_back(
        browser, server, grids, command_token):
    """A desk of 1366 by 768 pixels (a laptop's; a centre's of 1920 alike): the case opened
    from the list stands in a column of its own, its steps' buttons in sight with the list
    beside it, the map narrowed to the rest of the screen, the case within it; closed, the map
    has the screen again and marks no case. On a narrower screen the case opens below the
    list, scrolled into sight."""
    case = report_at(server, command_token, grids, 8, "道路积水")
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, "/map/desk", "command", PASSWORD)
    wait_until(page, "window.mapsvcDesk && window.mapsvcDesk.online === true", "the live feed")
    page.select_option("#desk-view", "reported")
    wait_until(page, f"!!document.querySelector('#desk-list li[data-id=\"{case}\"]')",
               "the case listed")
    open_case(page, case)
    at_rest(page, "window.mapsvcDesk.map")
    layout = """() => Object.fromEntries(['desk-list', 'desk-case', 'desk-actions']
        .map((id) => [id, document.getElementById(id).getBoundingClientRect().toJSON()])
        .concat([['map', window.mapsvcDesk.map.getContainer().getBoundingClientRect().toJSON()],
                 ['size', window.mapsvcDesk.map.getSize()]]))"""
    box = page.evaluate(layout)
    where = page.evaluate("window.mapsvcDesk.map.latLngToContainerPoint("
                          "[window.mapsvcDesk.selected.lat, window.mapsvcDesk.selected.lon])")
    listed, opened, actions = box["desk-list"], box["desk-case"], box["desk-actions"]
    drawn = box["map"]
    assert listed["right"] <= opened["left"] and opened["right"] <= drawn["left"] + 1, box
    assert actions["height"] > 0 and actions["bottom"] <= 768, box  # in sight, unscrolled
    assert listed["top"] < 768 and listed["height"] > 250, box  # the list beside it
    assert drawn["right"] == 1366 and box["size"]["x"] == round(drawn["width"]), box
    assert 0 < where["x"] < box["size"]["x"] and 0 < where["y"] < box["size"]["y"], where
    assert f"case={case}" in page.evaluate("location.hash")
    page.screenshot(path=ARTIFACTS / "desk-case-beside.png")
    page.click("#desk-case-close")
    wait_until(page, "window.mapsvcDesk.map.getSize().x === 1366 - 480", "the map widened")
    box = page.evaluate(layout)
    assert box["desk-case"]["height"] == 0 and box["map"]["left"] == 480, box
    closed = """[window.mapsvcDesk.selected, location.hash.includes('case='),
        document.querySelectorAll('#desk-list li.selected').length,
        !!document.querySelector('.leaflet-case-pane path')]"""
    assert page.evaluate(closed) == [None, False, 0, False]
    assert page.evaluate("document.activeElement.dataset.id") == str(case)  # back at it
    # from the keyboard: opened from the list, Escape closes it, the keyboard still at the case
    page.focus(f"#desk-list li[data-id='{case}']")
    page.keyboard.press("Enter")
    wait_until(page, f"window.mapsvcDesk.selected?.id === {case}", "the case open again")
    page.keyboard.press("Escape")
    assert page.evaluate(closed) == [None, False, 0, False]
    assert page.evaluate("document.activeElement.dataset.id") == str(case)
    # narrower, the case below the list, brought into sight as it opens
    page.set_viewport_size({"width": 1100, "height": 700})
    open_case(page, case)
    heading = page.locator("#desk-case h2").bounding_box()
    assert heading is not None and 0 <= heading["y"] and heading["y"] + heading["height"] <= 700
    below = page.evaluate(layout)
    assert below["desk-case"]["top"] >= below["desk-list"]["bottom"], below
    assert below["map"]["left"] == 480, below  # the map keeps the screen's rest
    assert watch.problems == []
    context.close()


def test_a_views_cases_are_taken_one_after_another(desk, server, grids, command_token):
    """下一件: from the open case to the one after it in the list, brought into the list's
    sight; from one that has left the view as it was taken on, to the one now in its place;
    past the last, said so."""
    page, watch = desk
    page.set_viewport_size({"width": 1600, "height": 700})  # a list of four or so in sight
    mark = uuid.uuid4().hex[:8]
    cases = [report_at(server, command_token, grids, 27 + n % 3, f"{mark} 路灯不亮 {n}")
             for n in range(8)]
    page.fill("#desk-words", mark)
    listed = "window.mapsvcDesk.cases.map((f) => f.id).join()"
    wait_until(page, f"{listed} === '{','.join(map(str, cases[::-1]))}'", "newest first")
    open_case(page, cases[7])
    page.click("#desk-case-next")
    wait_until(page, f"window.mapsvcDesk.selected.id === {cases[6]}", "the next")
    page.click("#desk-actions button[data-action='file']")  # taken on: out of the new reports
    wait_until(page, f"!{listed}.split(',').includes('{cases[6]}')", "the case filed gone")
    for n in range(5, -1, -1):
        page.click("#desk-case-next")
        wait_until(page, f"window.mapsvcDesk.selected.id === {cases[n]}", f"case {n}")
    wait_until(page, f"""(() => {{ const [list, item] = [document.getElementById('desk-list'),
        document.querySelector('#desk-list li[data-id="{cases[0]}"]')].map(
        (el) => el.getBoundingClientRect());
        return list.top <= item.top && item.bottom <= list.bottom + 1; }})()""",
               "the last case brought into the list's sight")
    page.click("#desk-case-next")
    expect(page.locator("#desk-message")).to_have_text("已是列表中的最后一件")
    assert page.evaluate("window.mapsvcDesk.selected.id") == cases[0]
    # two cases asked for, the first's answer come last: the second, asked for last, stays
    held = []
    page.route(f"**/incidents/{cases[1]}/timeline", lambda route: held.append(route))
    page.click(f"#desk-list li[data-id='{cases[1]}']")
    heard(page, lambda: held, "the first asked for")
    page.click(f"#desk-list li[data-id='{cases[2]}']")
    wait_until(page, f"window.mapsvcDesk.selected.id === {cases[2]}", "the second open")
    held[0].continue_()
    page.wait_for_timeout(500)  # (the first's answer, come and dropped)
    assert page.evaluate("[window.mapsvcDesk.selected.id, location.hash]") == [
        cases[2], f"#q={mark}&case={cases[2]}"]
    assert watch.problems == []


def test_a_hotline_file_is_imported_at_the_desk_each_faulty_line_named(desk, server, grids, db):
    """导入工单: a day's file from the hotline's system, headed in Chinese and numbered by it,
    saved as CSV by Excel on a Chinese Windows (GBK), its points from a Gaode map (GCJ-02);
    sent twice, its cases stored once."""
    page, watch = desk
    here, there = spot(grids, 40), spot(grids, 41)
    (hx, hy), (tx, ty) = ((float(v) for v in from_wgs84(p.x, p.y, "gcj02"))
                          for p in (here, there))
    day = uuid.uuid4().int % 10**8
    numbers = [f"GD{day:08d}{n:04d}" for n in range(1, 6)]
    sheet = "\n".join([
        "工单编号,类别,经度,纬度,问题描述,上报时间,来源",
        f"{numbers[0]},0601,{hx},{hy},<script>alert(1)</script>楼道堆物,,群众",  # by its name
        f"{numbers[1]},0601,{tx},{ty},路灯不亮,2026年11月1日 8时5分,",
        f"{numbers[2]},0601,东经,{ty},经度写成了字,,",
        f"{numbers[3]},9999,{tx},{ty},类别不存在,,",
        f"{numbers[0]},0601,{hx},{hy},重复一行,,群众", ""]).encode("gbk")
    page.click("#desk-import-open")
    form = page.locator("#desk-import")
    assert form.locator("[name=source]").input_value() == "hotline"
    form.locator("[name=crs]").select_option("gcj02")
    form.locator("[name=file]").set_input_files(
        {"name": "12345工单.csv", "mimeType": "text/csv", "buffer": sheet})
    form.locator("[name=check]").check()  # checked first: nothing stored
    form.locator("button[type=submit]").click()
    expect(page.locator("#desk-import-summary")).to_have_text(
        "仅检查，未导入：共 5 行：可导入 2 件；3 行有误")
    expect(page.locator("#desk-import-problems li")).to_have_count(3)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE source_number = "
                                 "ANY(:numbers)"), {"numbers": numbers}).scalar_one() == 0
    form.locator("[name=check]").uncheck()
    form.locator("button[type=submit]").click()
    expect(page.locator("#desk-import-summary")).to_have_text(
        "共 5 行：新导入 2 件；3 行有误未导入，改正后可再导入该文件")
    expect(page.locator("#desk-import-problems li")).to_have_text([
        "第 4 行 · 经度（lon）：不是数字", "第 5 行 · 类别（category）：没有代码或名称为“9999”的类别",
        "第 6 行 · 工单编号（client_id）：与第 2 行重复"])
    with db.connect() as conn:
        stored = conn.execute(text(
            "SELECT i.id, g.code, i.source, i.description, i.reported_at FROM incident i "
            "JOIN grid g ON g.id = i.grid_id WHERE i.source_number = ANY(:numbers) "
            "ORDER BY i.id"), {"numbers": numbers}).all()
    codes = [next(g.code for g in grids.itertuples() if g.geometry.covers(p))
             for p in (here, there)]
    assert sorted((r.code, r.source, r.description) for r in stored) == sorted(zip(
        codes, ["citizen", "hotline"], ["<script>alert(1)</script>楼道堆物", "路灯不亮"]))
    assert {r.description: r.reported_at for r in stored}["路灯不亮"] == datetime(
        2026, 11, 1, 8, 5, tzinfo=CHINA)
    new = next(r.id for r in stored if r.description.startswith("<script>"))
    wait_until(page, listed(new), "the case imported, on the list")
    assert page.locator(f"#desk-list li[data-id='{new}']").inner_text().count("<script>") == 1
    page.screenshot(path=ARTIFACTS / "desk-import.png")
    form.locator("button[type=submit]").click()  # the same file again
    expect(page.locator("#desk-import-summary")).to_have_text(
        "共 5 行：新导入 0 件，2 件此前已导入；3 行有误未导入，改正后可再导入该文件")
    form.locator("[name=file]").set_input_files(
        {"name": "12345工单.csv", "mimeType": "text/csv", "buffer": b"id,lon\n1,2\n"})
    form.locator("button[type=submit]").click()  # refused whole
    expect(page.locator("#desk-import-summary")).to_have_text(
        "未导入：缺少列 工单编号（client_id）、类别（category）、纬度（lat）")
    expect(page.locator("#desk-import-problems li")).to_have_count(0)
    assert watch.problems == [f"422: {server}/api/v1/incidents/import",
                              "Failed to load resource: the server responded with a status of "
                              "422 (Unprocessable Entity)"], watch.problems


def test_a_desk_whose_session_has_ended_asks_to_sign_in_again(desk):
    page, _ = desk
    page.evaluate("sessionStorage.setItem('mapsvc.token', 'ended')")  # as at the end of a shift
    page.select_option("#desk-view", "all")
    page.wait_for_url(lambda url: "/map/login" in url)
    assert page.url.endswith("/map/login?next=/map/desk")


@pytest.mark.parametrize("username", ["worker", "planner"])
def test_only_command_centres_and_departments_get_the_desk(server, browser, accounts, username):
    assert "此页面仅供指挥中心或职能部门账号使用" in refused(browser, server, "/map/desk",
                                                           username, PASSWORD)


def test_the_sign_in_page_says_when_wrong_passwords_hold_a_name_back(browser, server,
                                                                      accounts):
    name = new_account()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/map/login?next=/map/desk")
    tries = [f"guess-{n}" for n in range(5)] + [PASSWORD]
    assert said_at_each_sign_in(page, name, tries, "/auth/session") == [
        "账号或密码不对"] * 5 + ["登录失败次数过多，请 15 分钟后再试"]
    assert "/map/login" in page.url
    context.close()


# the buttons' and fields' words in the font the pages bring (a screen with no Chinese font of
# its own would show them as boxes)
_IN_THE_PAGES_FONT = ("[...document.querySelectorAll('button, input')].every("
                      "(e) => getComputedStyle(e).fontFamily.includes('Noto Sans SC'))")


def test_an_operator_changes_their_password_and_signs_out_of_the_wall(browser, server,
                                                                      accounts, db):
    """From the wall, 修改密码 leads to the page that changes it (the new one typed twice, the
    rules said when it breaks them; its answer lost, sent again), and on to signing in with
    the new one; 退出 ends the session: the pages ask to sign in again."""
    name = new_account()
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server, "/map/wall", name, PASSWORD)
    page.wait_for_url("**/map/wall")
    page.click("#wall-controls a[href='/map/password']")
    page.wait_for_url("**/map/password")
    assert page.evaluate(_IN_THE_PAGES_FONT)

    def change(new: str, again: str, said: str) -> None:
        for field, value in (("username", name), ("password", PASSWORD),
                             ("new_password", new), ("again", again)):
            page.fill(f"input[name={field}]", value)
        page.click("button[type=submit]")
        expect(page.locator("#password")).to_contain_text(said)

    change("Brand-New-2026", "Brand-New-2027", "两次输入的新密码不一致")
    change("brandnewone", "brandnewone", "新密码不符合要求：至少 8 位")

    def lost(route) -> None:  # the change reaches the service; its answer never comes back
        route.fetch()
        route.abort()

    page.route("**/api/v1/auth/password", lost)
    change("Brand-New-2026", "Brand-New-2026", "未能连上服务，请检查网络后再试")
    page.unroute("**/api/v1/auth/password")
    page.click("button[type=submit]")  # sent again: done, as it was
    expect(page.locator("#password")).to_contain_text("密码已修改，请用新密码重新登录")
    page.screenshot(path=ARTIFACTS / "password-changed.png")
    page.click("text=返回登录")
    page.wait_for_url("**/map/login")
    assert page.evaluate(_IN_THE_PAGES_FONT)
    sign_in(page, server, "/map/wall", name, "Brand-New-2026")
    page.wait_for_url("**/map/wall")
    with db.connect() as conn:  # each time the sign-in page is used, one sign-in
        assert conn.execute(text("SELECT array_agg(event ORDER BY id) FROM account_event "
                                 "WHERE username = :n"), {"n": name}).scalar_one() == [
            "created", "signed_in", "new_password", "signed_in"]
    page.click("#wall-controls [data-sign-out]")
    page.wait_for_url("**/map/login")
    page.goto(f"{server}/map/desk")
    assert page.url.endswith("/map/login?next=/map/desk")
    context.close()


def test_an_account_an_administrator_made_changes_its_password_before_it_signs_in(
        browser, server, accounts):
    """Signing in with the password an administrator set leads to the page that changes it,
    the account named and the reason said; with the new one, on to the page asked for."""
    name = new_account(to_change=True)
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/map/login?next=/map/desk")
    signed_in_here(page, name, PASSWORD)
    page.wait_for_url("**/map/password?**")
    assert page.inner_text("#first") == "管理员设置的密码须先修改，再用新密码登录"
    assert page.input_value("input[name=username]") == name
    for field, value in (("password", PASSWORD), ("new_password", "Own-Choice-2026"),
                         ("again", "Own-Choice-2026")):
        page.fill(f"input[name={field}]", value)
    page.click("button[type=submit]")
    expect(page.locator("#password")).to_contain_text("密码已修改")
    page.click("text=返回登录")
    page.wait_for_url("**/map/login?next=/map/desk")
    signed_in_here(page, name, "Own-Choice-2026")
    page.wait_for_url("**/map/desk")
    context.close()


def test_a_case_is_printed_as_its_handling_sheet(desk, server, grids, command_token, api):
    """打印办理单: on paper, the open case's facts, words and steps, each time written in full,
    under whose desk printed it and when; not the map, the list or the buttons."""
    page, watch = desk
    case = report_at(server, command_token, grids, 17, "打印测试：人行道破损")
    do(api, case, "file")
    find_case(page, case)
    wait_until(page, "document.querySelectorAll('#desk-steps li').length === 2", "its steps")
    # no printer here: what is printed is kept as it reads when the printing starts
    page.evaluate("() => { window.print = () => { window.printed = ["
                  "document.getElementById('desk-printed').textContent, "
                  "document.getElementById('desk-case').innerText]; }; }")
    page.click("#desk-print")
    wait_until(page, "window.printed !== undefined", "the sheet printed")
    heading, sheet = page.evaluate("window.printed")
    # on paper, read on another day, each time is written in full
    now = datetime.now(CHINA)
    assert re.fullmatch(rf"民情地图 · 受理派遣（城区） · 打印于 {now.year}年{now.month}月"
                        rf"{now.day}日 \d\d:\d\d", heading), heading
    reported = datetime.fromisoformat(api.get(f"/incidents/{case}").json()["reported_at"])
    full = f"{reported.astimezone(CHINA):%Y年%-m月%-d日 %H:%M}"
    lines = sheet.split("\n")
    assert full in lines  # 上报时间
    steps = [line for line in lines if re.match(r"\d+(年|:).* · ", line)]
    assert len(steps) == 2 and all(line.startswith(f"{now.year}年") for line in steps), lines
    # on the screen again as it was: today's steps by the clock
    wait_until(page, "!document.getElementById('desk-steps').textContent.includes('年')",
                     "the times on the screen")
    page.emulate_media(media="print")
    for shown in ("#desk-printed", "#desk-case-title", "#desk-case-facts",
                  "#desk-case-description", "#desk-steps"):
        assert page.locator(shown).is_visible(), shown
    for hidden in (".folium-map", "#desk-list", "#desk-view", "#desk-actions", "#desk-print",
                   "#desk-panel nav"):
        assert page.locator(hidden).first.is_hidden(), hidden
    page.pdf(path=ARTIFACTS / "desk-case.pdf")  # the sheet as it prints
    page.emulate_media(media="screen")
    assert page.locator(".folium-map").is_visible() and page.locator("#desk-printed").is_hidden()
    assert watch.problems == []


def test_the_map_says_what_its_marks_mean(desk, server, grids, command_token):
    """The legend names the warning colours and the rings, in the colours the marks have."""
    page, watch = desk
    case = report_at(server, command_token, grids, 18, "图例测试")
    wait_until(page, listed(case), "the case")
    entries = page.locator(".desk-legend span").all_inner_texts()
    assert entries == ["绿灯", "黄灯", "红灯", "无时限", "加急", "已选", "可能重复"]
    shown = dict(zip(entries, page.evaluate(
        "[...document.querySelectorAll('.desk-legend i')].map((i) => "
        "[getComputedStyle(i).backgroundColor, getComputedStyle(i).borderTopColor])")))

    def mark() -> tuple[str, str, str]:  # the case's mark on the map: its colour, fill, ring
        return tuple(page.evaluate(f"""(() => {{ const m = window.mapsvcDesk.marks.getLayers()
            .find((l) => l.feature.id === {case});
            return [m.feature.properties.colour || "", m.options.fillColor, m.options.color];
            }})()"""))

    def rgb(colour: str) -> str:
        return "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))

    colour, fill, _ = mark()
    named = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}.get(colour, "无时限")
    assert shown[named][0] == rgb(fill)
    page.check(f"#desk-list li[data-id='{case}'] input[type=checkbox]")
    assert shown["已选"][1] == rgb(mark()[2])
    assert watch.problems == []


def test_the_desk_lists_the_cases_of_a_region_within_its_own(desk, server, grids, api,
                                                            command_token):
    """区域: the county's desk lists the cases of one of its townships alone, named beside the
    county and kept in the desk's address (reloaded, the same), the map framing the township;
    全部辖区 lists them all again."""
    page, watch = desk
    tag = uuid.uuid4().hex[:6]
    here, there = (report_at(server, command_token, grids, n, f"{tag} 区域") for n in (50, 70))
    township, other = (api.get(f"/incidents/{case}").json()["township"] for case in (here, there))
    assert township["code"] != other["code"]
    page.fill("#desk-words", tag)
    wait_until(page, "window.mapsvcDesk.cases.length === 2", "both cases")
    offered = page.locator("#desk-area option").all_inner_texts()
    assert offered[0] == "全部辖区" and {township["name"], other["name"]} <= set(offered)
    page.select_option("#desk-area", township["code"])
    only = f"window.mapsvcDesk.cases.map((f) => f.id).join() === '{here}'"
    wait_until(page, only, "the township's case alone")
    assert page.inner_text("#desk-scope span") == township["name"]
    village = api.get(f"/incidents/{here}").json()["village"]["name"]
    assert page.inner_text(f"#desk-list li[data-id='{here}'] small").endswith(
        f"上报 · {village}")  # where it is, below the township listed
    assert f"township={township['code']}" in page.url
    framed = f"""window.mapsvcDesk.map.getBounds().contains([{spot(grids, 50).y},
                                                            {spot(grids, 50).x}])"""
    wait_until(page, framed, "the map on the township")
    assert watch.problems == []
    watch.reload(page)
    wait_until(page, f"{only} && document.getElementById('desk-area').value === "
                     f"'{township['code']}'", "the same after a reload")
    page.select_option("#desk-area", "")
    wait_until(page, "window.mapsvcDesk.cases.length === 2", "both cases again")
    assert page.locator("#desk-scope").is_hidden()
    assert watch.problems == []


def test_the_deployments_desk_lists_a_county_of_no_city_as_it_does_a_city(
        browser, server, accounts, lattice, api):
    """At the deployment's top, 区域 offers its cities and its counties of no city; one of
    those chosen lists its cases (asked by county), named beside the deployment."""
    case = api.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "description": "无市之县",
        "lon": lattice.X0 + lattice.STEP / 2, "lat": lattice.Y0 + lattice.STEP / 2}).json()["id"]
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    sign_in(page, server, "/map/desk", "city", PASSWORD)
    wait_until(page, "window.mapsvcDesk && window.mapsvcDesk.online === true", "the live feed")
    offered = page.locator("#desk-area option").evaluate_all(
        "(all) => Object.fromEntries(all.map((o) => [o.value, o.textContent]))")
    assert offered["4415"] == "汕尾市" and offered[lattice.COUNTY] == "测试县"
    page.select_option("#desk-view", "all")
    with page.expect_request(lambda r: f"county={lattice.COUNTY}" in r.url):
        page.select_option("#desk-area", lattice.COUNTY)
    wait_until(page, f"window.mapsvcDesk.cases.some((f) => f.id === {case})", "its case")
    assert page.inner_text("#desk-scope span") == "测试县"
    context.close()
