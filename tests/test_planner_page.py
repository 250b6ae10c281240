"""The planner's page in headless Chromium (Debian's, driven by Playwright): a planner picks a
village, sees its grids in force, starts a draft, splits a grid by drawing a line across it,
validates, previews and publishes, and the live grids change. Screenshots go to
tests/artifacts."""

import json
import re
import warnings

import pytest
from shapely.geometry import shape

from mapsvc.accounts.model import Role
from mapsvc.accounts.store import create_account
from mapsvc.db.engine import in_transaction
from tests.browser import (Watch, at_rest, click_while_zooming, names_shown, refused, sign_in,
                           signed_in_here, wait_until)
from tests.conftest import ARTIFACTS, PASSWORD, run
from tests.test_plans import drafted, live_grids, new_plan, split_b

pytestmark = pytest.mark.long  # pages driven in a browser, minutes in all


def planner_of(county: str) -> str:
    username = f"planner{county}"
    run(in_transaction(lambda conn: create_account(conn, username, PASSWORD, Role.planner,
                                                   region_code=county, display_name="规划员",
                                                   origin="tests")))
    return username


def open_village(page, server: str, username: str, a) -> None:
    """Sign in, and pick the area's township and village."""
    sign_in(page, server, "/map/plan", username, PASSWORD)
    pick_village(page, a)


def pick_village(page, a) -> None:
    wait_until(page, f"!!document.querySelector('#pick-township option[value=\"{a.township}\"]')",
               "the townships")
    page.select_option("#pick-township", a.township)
    wait_until(page, f"!!document.querySelector('#pick-village option[value=\"{a.village}\"]')",
               "the villages")
    page.select_option("#pick-village", a.village)
    wait_until(page, "!document.getElementById('plan-drafts').hidden", "the plans")


@pytest.fixture
def planner(browser, area):
    """A planner of the area's county on a page of their own: (page, console watch, area,
    username)."""
    a, _ = area
    username = planner_of(a.county)
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    yield page, Watch(page), a, username
    context.close()


def on_screen(page, lon: float, lat: float) -> tuple[float, float]:
    return tuple(page.evaluate("""([lat, lon]) => {
        const map = window.mapsvcPlan.map, p = map.latLngToContainerPoint([lat, lon]);
        const box = map.getContainer().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y]; }""", [lat, lon]))


def test_a_planner_splits_a_grid_validates_and_publishes(server, planner, api):
    page, watch, a, username = planner
    page.goto(f"{server}/map/plan")
    assert "/map/login" in page.url
    open_village(page, server, username, a)
    page.fill("#plan-name", "<script>alert(1)</script>切分B")
    page.click("#plan-new")
    wait_until(page, "window.mapsvcPlan.count === 3", "the draft's three grids")
    assert "<script>alert(1)</script>切分B" in page.inner_text("#plan-status")  # as text
    at_rest(page, "window.mapsvcPlan.map")  # the map settles on the village
    page.mouse.click(*on_screen(page, *a.at(1.7, 0.3)))  # select grid B
    wait_until(page, "window.mapsvcPlan.selected.size === 1", "grid B selected")
    page.click("#plan-split")
    start, end = on_screen(page, *a.at(1.4, -0.3)), on_screen(page, *a.at(1.4, 1.3))
    page.mouse.click(*start)
    page.mouse.dblclick(*end)
    wait_until(page, "window.mapsvcPlan.count === 4", "the split grid")
    page.click("#plan-validate")
    wait_until(page, "window.mapsvcPlan.findingsShown > 0", "the validation report")
    assert "没有错误" in page.inner_text("#plan-message")
    assert "只有 2 户，少于下限" in page.inner_text("#plan-findings")  # B's east: 2 households
    # each grid's label gives its households, in the page's own font (the machine may have
    # no Chinese font of its own)
    wait_until(page, "[...document.querySelectorAll('.grid-label')].map((e) => e.textContent)"
                     ".sort().join('|') === '001 1户|002 2户|003 1户|004 1户'",
               "each grid's households on its label, and no label of before")
    labels = page.eval_on_selector_all(
        ".grid-label", "els => els.map(e => [e.textContent, getComputedStyle(e).fontFamily])")
    assert all(font.startswith('"Noto Sans SC"') for _, font in labels), labels
    # the village's grids have a worker: the new grid has none until one is given it
    run(in_transaction(lambda conn: create_account(
        conn, f"wg{a.county}", PASSWORD, Role.grid_worker, display_name="规划网格员",
        grid_codes=[a.code(n) for n in "ABC"], origin="tests")))
    page.click("#plan-impact")
    wait_until(page, "!document.getElementById('plan-moves').hidden", "the impact")
    assert page.inner_text("#plan-moves tbody") == (
        f"{a.code('B')}（规划网格员）\t{a.village}004\t1\t1\t0\t1\t0\t0")
    assert page.inner_text("#plan-message").endswith(
        f"无网格员的网格：{a.village}004（发布后在账号管理中分配）")
    page.screenshot(path=ARTIFACTS / "planner-split.png")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#plan-publish")
    wait_until(page, "window.mapsvcPlan.plan.status === 'published'", "the published plan")
    assert set(live_grids(api, a)) == {a.code("A"), a.code("B"), a.code("C"), f"{a.village}004"}

    # the village's history: the published plan, listed at once, and opened again after a
    # reload, shows what it put in force
    published = page.evaluate("String(window.mapsvcPlan.plan.id)")
    history = "#plan-select optgroup[label^='已发布'] option"
    wait_until(page, f"!!document.querySelector(\"{history}[value='{published}']\")",
               "the published plan in the village's history")
    watch.reload(page)
    pick_village(page, a)
    assert page.eval_on_selector_all(history, "os => os.map(o => o.value)") == [published]
    page.select_option("#plan-select", published)
    wait_until(page, "window.mapsvcPlan.count === 4", "the published plan's grids")
    assert f"{username} 于" in page.inner_text("#plan-status")
    assert page.is_disabled("#plan-split") and page.is_disabled("#plan-publish")
    assert watch.problems == []


def refusals(watch) -> list[str]:
    """What went wrong on the page (``Watch``) but the console's own line for each request
    refused with 422 (the page says why itself)."""
    return [p for p in watch.problems if p != "Failed to load resource: the server responded "
            "with a status of 422 (Unprocessable Entity)"]


def test_a_planner_selects_grids_by_name_from_the_keyboard_merges_and_halves_them(
        server, planner, api):
    """The draft's grids listed beside the map, by name: one ticked is selected as one clicked
    on the map is, and the other way round; two ticked from the keyboard merge; one ticked is
    cut in halves of households, or the page says why it cannot be."""
    page, watch, a, username = planner
    open_village(page, server, username, a)
    page.fill("#plan-name", "合并AB")
    page.click("#plan-new")
    wait_until(page, "window.mapsvcPlan.count === 3", "the draft's three grids")
    listed = "#plan-grid-list label"
    assert [t.strip() for t in page.locator(listed).all_inner_texts()] == [
        f"规划测试网格{n}（{a.code(n)[-3:]}）" for n in "ABC"]
    at_rest(page, "window.mapsvcPlan.map")  # the map settles on the village
    page.mouse.click(*on_screen(page, *a.at(2.5, 0.5)))  # C clicked on the map: ticked
    wait_until(page, "window.mapsvcPlan.selected.size === 1", "C selected")
    assert page.eval_on_selector_all("#plan-grid-list input", "bs => bs.map(b => b.checked)") == [
        False, False, True]
    page.locator("#plan-grid-list input").nth(2).focus()
    page.keyboard.press("Space")  # C ticked off, A and B ticked
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Space")
    assert page.evaluate("[...window.mapsvcPlan.selected].sort()") == [a.code("A"), a.code("B")]
    page.focus("#plan-merge")
    page.keyboard.press("Enter")
    wait_until(page, "window.mapsvcPlan.count === 2", "A and B merged")
    assert page.locator(listed).count() == 2
    assert page.eval_on_selector_all("#plan-grid-list input", "bs => bs.map(b => b.checked)") == [
        False, False]
    assert len(drafted(api, page.evaluate("window.mapsvcPlan.plan"))) == 2
    ticks = page.locator("#plan-grid-list input")
    assert ticks.first.get_attribute("value") == a.code("B")  # A in it now
    ticks.nth(1).focus()  # C, its one home, cannot be cut in halves of households: said so
    page.keyboard.press("Space")
    page.focus("#plan-halve-by")
    page.keyboard.press("ArrowDown")
    assert page.input_value("#plan-halve-by") == "households"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    wait_until(page, "document.getElementById('plan-message').textContent.includes('无法')",
               "the refusal said")
    assert page.inner_text("#plan-message") == (
        f"网格 {a.code('C')} 内没有可分的登记住户（无住户，或都在同一处），无法按户数对半切分")
    ticks.nth(1).focus()  # B cut instead: its households two and two, as the API's test has it
    page.keyboard.press("Space")
    ticks.first.focus()
    page.keyboard.press("Space")
    page.focus("#plan-halve")
    page.keyboard.press("Enter")
    wait_until(page, "window.mapsvcPlan.count === 3", "the merged grid halved")
    assert f"网格 {a.code('B')} 已对半切分为 {a.code('B')}、" in page.inner_text("#plan-message")
    grids = drafted(api, page.evaluate("window.mapsvcPlan.plan"))
    assert sorted(round(shape(g["geometry"]).area / a.cell(0, 0).area, 3)
                  for g in grids.values()) == [0.5, 1, 1.5]  # the new, C, B
    plan = page.evaluate("window.mapsvcPlan.plan.id")
    assert refusals(watch) == [f"422: {server}/api/v1/plans/{plan}/split"], watch.problems


def test_a_village_picked_shows_its_grids_in_force_until_a_draft_takes_their_place(
        server, planner, api):
    page, watch, a, username = planner
    open_village(page, server, username, a)
    live = sorted(live_grids(api, a))
    drawn = f"""(() => {{ const codes = [];
        window.mapsvcPlan.map.eachLayer((l) => {{
            const code = l.feature && l.feature.properties.code;  // the village's grids'
            if (code && code.startsWith('{a.village}') && code !== '{a.village}')
                codes.push(code); }});
        return codes.sort(); }})()"""
    wait_until(page, f"window.mapsvcPlan.inForce === {len(live)}", "the grids in force")
    assert page.evaluate(drawn) == live
    assert page.input_value("#plan-select") == ""  # no plan opened: these are the live grids
    page.click("#plan-new")
    wait_until(page, f"window.mapsvcPlan.count === {len(live)}", "the draft's grids")
    assert page.evaluate(drawn) == live  # in the place of those in force, not beside them
    assert watch.problems == []


def test_the_planner_page_is_for_planners_and_admins(server, browser, accounts):
    assert "仅供规划" in refused(browser, server, "/map/plan", "command", PASSWORD)


def test_a_planner_picks_the_township_and_the_village_on_the_map(server, planner):
    page, watch, a, username = planner
    sign_in(page, server, "/map/plan", username, PASSWORD)
    wait_until(page, "window.mapsvcPlan.choices === 1", "the county's township on the map")
    page.mouse.click(*on_screen(page, *a.at(1.5, 1.5)))
    wait_until(page, "window.mapsvcPlan.choices === 2", "the township's two villages")
    assert page.input_value("#pick-township") == a.township
    # each named on the map, in its middle (the names as text), a click going through the name
    named = page.evaluate("""[...document.querySelectorAll('.region-name span')].map((el) => {
        const box = el.getBoundingClientRect(), map = window.mapsvcPlan.map;
        const at = map.containerPointToLatLng([(box.left + box.right) / 2,
                                               (box.top + box.bottom) / 2]);
        return [el.textContent, el.children.length, at.lng, at.lat]; })""")
    assert sorted(name for name, *_ in named) == ["规划测试社区", "邻村"]
    for name, children, lon, lat in named:
        middle = a.at(1.5, 0.5 if name == "规划测试社区" else 1.5)
        assert children == 0 and (lon, lat) == pytest.approx(middle, abs=a.at(0.1, 0)[0]
                                                             - a.at(0, 0)[0]), name
    # zoomed out till the names would cover one another: one of them left out, till zoomed in
    # again
    zoom = page.evaluate("window.mapsvcPlan.map.getZoom()")
    page.evaluate(f"void window.mapsvcPlan.map.setZoom({zoom - 6}, {{ animate: false }})")
    assert len(names_shown(page, ".region-name span")) == 1
    page.evaluate(f"void window.mapsvcPlan.map.setZoom({zoom}, {{ animate: false }})")
    assert names_shown(page, ".region-name span") == ["规划测试社区", "邻村"]
    page.mouse.click(*on_screen(page, *a.at(1.5, 0.5)))  # on its name: the village
    wait_until(page, "!document.getElementById('plan-drafts').hidden", "the village's plans")
    assert page.evaluate("window.mapsvcPlan.village.properties.code") == a.village
    assert page.input_value("#pick-village") == a.village
    assert page.evaluate("window.mapsvcPlan.choices") == 0  # drafting, nothing else to pick
    assert watch.problems == []


def test_a_planner_over_the_whole_deployment_picks_its_city_then_its_county(server, browser,
                                                                             accounts, lattice):
    """The deployment's cities and its counties of no city at its top: a city chosen offers
    its counties, a county of no city its townships."""
    context = browser.new_context()
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, "/map/plan", "admin", PASSWORD)
    wait_until(page, "!!document.querySelector('#pick-city option[value=\"4415\"]')",
               "the cities")
    values = "(options) => options.map((o) => o.value)"
    assert {"4201", "4415"} <= set(page.locator("#pick-city option").evaluate_all(values))
    page.select_option("#pick-city", "4415")
    wait_until(page, "!!document.querySelector('#pick-county option[value=\"441502\"]')",
               "汕尾市's counties")
    assert page.locator("#pick-county option").evaluate_all(values) == ["", "441502"]
    assert page.evaluate("window.mapsvcPlan.choices") == 1
    assert lattice.COUNTY in page.locator("#pick-city option").evaluate_all(values)
    page.select_option("#pick-city", lattice.COUNTY)
    township = f"#pick-township option[value=\"{lattice.TOWNSHIP}\"]"
    wait_until(page, f"!!document.querySelector('{township}')", "测试县's townships")
    assert page.locator("#pick-county").count() == 0
    assert watch.problems == []
    context.close()


def test_a_village_picked_while_the_map_still_zooms_is_framed(server, planner):
    """Leaflet drops a view asked for while it draws a zoom (a quarter of a second): a village
    picked on the map meanwhile, as a quick hand does right after the township, is framed
    still."""
    page, watch, a, username = planner
    sign_in(page, server, "/map/plan", username, PASSWORD)
    wait_until(page, "window.mapsvcPlan.choices === 1", "the county's township on the map")
    page.mouse.click(*on_screen(page, *a.at(1.5, 1.5)))
    wait_until(page, "window.mapsvcPlan.choices === 2 && !window.mapsvcPlan.map._animatingZoom",
               "the township's two villages, framed")
    lon, lat = a.at(2.5, 0.5)
    assert click_while_zooming(page, "window.mapsvcPlan.map", lon, lat,
                               *on_screen(page, lon, lat))
    wait_until(page, "!document.getElementById('plan-drafts').hidden", "the village's plans")
    assert page.evaluate("window.mapsvcPlan.village.properties.code") == a.village
    wait_until(page, """(() => {
        const map = window.mapsvcPlan.map, village = window.mapsvcPlan.outline.getBounds();
        return map.getBounds().contains(village)
          && map.getZoom() === map.getBoundsZoom(village, false, L.point(40, 40)); })()""",
               "the village framed")
    assert watch.problems == []


def test_a_planner_signing_in_at_the_sites_root_arrives_at_the_planner_page(server, browser,
                                                                             accounts):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/")
    signed_in_here(page, "planner", PASSWORD)
    page.wait_for_url(f"{server}/map/plan")
    wait_until(page, "!!document.querySelector('.leaflet-container')", "the planner's map")
    context.close()


def test_a_planner_puts_a_layer_redrawn_in_qgis_in_place_of_the_drafts_grids(server, planner,
                                                                               api, tmp_path):
    """A layer edited elsewhere: all of it, or nothing and each feature at fault named, and a
    file that cannot be read as it is says what to choose; a Shapefile with no .prj (which
    many tools leave out) is read in the coordinate system chosen."""
    import zipfile

    import geopandas as gpd
    from shapely.geometry import LineString

    page, watch, a, username = planner
    open_village(page, server, username, a)
    page.click("#plan-new")
    wait_until(page, "window.mapsvcPlan.count === 3", "the draft's three grids")

    def sent(path) -> str:
        page.set_input_files("#plan-layer input[name=file]", str(path))
        page.click("#plan-layer button[type=submit]")
        wait_until(page, "/未导入|已导入/.test(document.getElementById('plan-message')"
                         ".textContent)", "the layer's answer")
        said = page.inner_text("#plan-message")
        page.evaluate("document.getElementById('plan-message').textContent = ''")
        return said

    stray = gpd.GeoDataFrame({"code": [f"{a.neighbour}009", a.code("A")], "name": ["邻村", "线"],
                              "parent_code": [a.neighbour, a.village]},  # not the plan's village
                             geometry=[a.cell(0, 0, 1), LineString([a.at(0, 0), a.at(1, 1)])],
                             crs=4326)
    stray.to_file(tmp_path / "stray.gpkg")
    assert sent(tmp_path / "stray.gpkg") == "图层未导入：2 个要素有问题"
    assert page.inner_text("#plan-findings").split("\n") == [
        f"第 1 个要素（{a.neighbour}009）：所属村（社区）{a.neighbour} 不在本方案内",
        f"第 2 个要素（{a.code('A')}）：图形为 LineString，不是面"]
    renamed = gpd.GeoDataFrame({"编码": [a.code("A")], "名称": ["西片"]},
                               geometry=[a.cell(0, 0, 1.5)], crs=4326)
    renamed.to_file(tmp_path / "renamed.geojson")
    assert sent(tmp_path / "renamed.geojson") == (
        "图层未导入：文件没有 code 字段（编码）；文件的字段：编码、名称")
    layer = gpd.GeoDataFrame({"code": [a.code("A"), a.code("B")], "name": ["西片", "东片"],
                              "parent_code": [a.village] * 2},
                             geometry=[a.cell(0, 0, 1.5), a.cell(1.5, 0, 1.5)], crs=4326)
    with warnings.catch_warnings(record=True) as cut:  # as QGIS saves it
        layer.to_file(tmp_path / "grids.shp", engine="pyogrio", encoding="gbk")
    assert any("'parent_code' to 'parent_cod'" in str(w.message) for w in cut)
    (tmp_path / "grids.prj").unlink()  # no coordinate system said
    with zipfile.ZipFile(tmp_path / "grids.zip", "w") as z:
        for part in tmp_path.glob("grids.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    assert sent(tmp_path / "grids.zip") == "图层未导入：文件未注明坐标系：请在“坐标系”中选择"
    page.select_option("#plan-layer select[name=crs]", "wgs84")
    assert sent(tmp_path / "grids.zip") == "已导入图层：2 个网格"
    wait_until(page, "window.mapsvcPlan.count === 2", "the layer's two grids")
    assert page.inner_text("#plan-findings") == ""
    plan = page.evaluate("window.mapsvcPlan.plan.id")
    assert {code: grid["properties"]["name"] for code, grid in drafted(api, {"id": plan}).items()
            } == {a.code("A"): "西片", a.code("B"): "东片"}  # GBK read as GBK
    assert refusals(watch) == [f"422: {server}/api/v1/plans/{plan}/layer"] * 3, watch.problems


def test_a_planner_downloads_the_drafts_layer_redraws_it_and_puts_it_back(server, planner,
                                                                           tmp_path):
    import geopandas as gpd

    page, watch, a, username = planner
    open_village(page, server, username, a)
    page.click("#plan-new")
    wait_until(page, "window.mapsvcPlan.count === 3", "the draft's three grids")
    with page.expect_download() as download:
        page.click("#plan-download-gpkg")
    plan = page.evaluate("window.mapsvcPlan.plan.id")
    assert download.value.suggested_filename == f"plan-{plan}.gpkg"
    download.value.save_as(tmp_path / "plan.gpkg")
    layer = gpd.read_file(tmp_path / "plan.gpkg", engine="pyogrio")
    assert sorted(layer["code"]) == [a.code(n) for n in "ABC"]
    # redrawn as QGIS would: B takes C in
    layer = layer[layer["code"] != a.code("C")].copy()
    layer.loc[layer["code"] == a.code("B"), "geometry"] = a.cell(1, 0, 2)
    layer.to_file(tmp_path / "redrawn.gpkg", engine="pyogrio")
    page.set_input_files("#plan-layer input[name=file]", str(tmp_path / "redrawn.gpkg"))
    page.click("#plan-layer button[type=submit]")
    wait_until(page, "window.mapsvcPlan.count === 2", "the redrawn layer's two grids")
    assert page.inner_text("#plan-message") == "已导入图层：2 个网格"
    page.screenshot(path=ARTIFACTS / "planner-layer-round-trip.png")
    assert watch.problems == []


def test_a_planner_reshapes_a_grid_and_sees_what_is_wrong_on_the_map(server, planner, api):
    page, watch, a, username = planner
    open_village(page, server, username, a)
    page.click("#plan-new")
    wait_until(page, "window.mapsvcPlan.count === 3", "the draft's three grids")
    at_rest(page, "window.mapsvcPlan.map")
    page.click(".leaflet-pm-icon-edit")  # Geoman's edit mode: every drafted grid's vertices
    corner = on_screen(page, *a.at(3, 0))  # C's south-east corner, on the village edge
    page.mouse.move(*corner)
    page.mouse.down()
    target = on_screen(page, *a.at(3.25, -0.25))
    page.mouse.move(*target, steps=8)
    page.mouse.up()
    wait_until(page, "document.getElementById('plan-message').textContent.includes('边界已调整')",
               "the reshaped grid saved")
    page.click(".leaflet-pm-icon-edit")
    page.click("#plan-validate")
    wait_until(page, "window.mapsvcPlan.findingsShown > 0", "the validation report")
    assert f"网格 {a.code('C')} 有" in page.inner_text("#plan-findings")
    assert "超出本村" in page.inner_text("#plan-findings")
    # the edges the drag did not move stay shared: no sliver gap or overlap from rounding
    assert "重叠" not in page.inner_text("#plan-findings")
    assert "不属于任何网格" not in page.inner_text("#plan-findings")
    assert page.evaluate("window.mapsvcPlan.findings.getLayers().length") >= 1
    page.screenshot(path=ARTIFACTS / "planner-findings.png")
    grids = api.get(f"/plans/{page.evaluate('window.mapsvcPlan.plan.id')}/grids").json()
    c = next(f for f in grids["features"] if f["properties"]["code"] == a.code("C"))
    assert c["properties"]["change"] == "reshaped"
    assert watch.problems == []


def test_a_planner_sees_how_the_grids_changed_between_two_days(server, planner, api):
    page, watch, a, username = planner
    plan = new_plan(api, a)
    split_b(api, a, plan)  # at 0.4 of B's width: B keeps the east, 0.6 of it
    assert api.post(f"/plans/{plan['id']}/publish", json={}).status_code == 200
    new = next(g for code, g in live_grids(api, a).items() if code == f"{a.village}004")
    sign_in(page, server, "/map/plan", username, PASSWORD)
    wait_until(page, f"!!document.querySelector('#pick-township option[value=\"{a.township}\"]')",
               "the townships")
    page.select_option("#pick-township", a.township)
    wait_until(page, "window.mapsvcPlan.choices === 2", "the township's villages")
    page.click("#plan-changes summary")
    page.click("#changes-show")  # from a year ago to today, by default
    wait_until(page, "document.querySelectorAll('#changes-list li').length === 2", "the changes")
    assert page.inner_text("#changes-summary").endswith("新增 1 · 调整 1 · 撤销 0")
    reshaped, added = page.locator("#changes-list li").all_inner_texts()
    by = f" · 方案 #{plan['id']}「调整方案」admin 发布"
    before, after = map(int, re.fullmatch(rf"规划测试网格B 调整 (\d+) → (\d+) 平方米{by}",
                                          reshaped).groups())
    assert after / before == pytest.approx(0.6, abs=1e-3)
    assert added == f"{new['properties']['name']} 新增 {before - after} 平方米{by}"
    drawn = page.evaluate("window.mapsvcPlan.changes.getLayers()"
                          ".map((l) => l.feature.properties.code)")
    assert drawn == [a.code("B"), f"{a.village}004"]

    # the day before the plan, nothing changed; another region shown clears the changes
    yesterday = page.evaluate("chinaDay(new Date(Date.now() - 86400000))")
    page.fill("#changes-from", yesterday)
    page.fill("#changes-to", yesterday)
    page.click("#changes-show")
    wait_until(page, "document.getElementById('changes-summary').textContent"
                     ".endsWith('新增 0 · 调整 0 · 撤销 0')", "no change")
    assert page.locator("#changes-list li").count() == 0
    page.select_option("#pick-village", a.village)
    wait_until(page, "!document.getElementById('plan-drafts').hidden", "the village")
    assert page.inner_text("#changes-summary") == ""
    assert page.evaluate("window.mapsvcPlan.changes") is None
    assert watch.problems == []


def test_a_grid_in_force_clicked_shows_its_versions_and_the_plans_behind_them(server, planner,
                                                                              api):
    page, watch, a, username = planner
    plan = new_plan(api, a)
    split_b(api, a, plan)
    assert api.post(f"/plans/{plan['id']}/publish", json={}).status_code == 200
    versions = api.get(f"/grids/{a.code('B')}/versions").json()["features"]
    first, second = (v["properties"] for v in versions)
    open_village(page, server, username, a)
    wait_until(page, "window.mapsvcPlan.inForce === 4", "the grids in force")
    at_rest(page, "window.mapsvcPlan.map")  # the map settles on the village
    page.mouse.click(*on_screen(page, *a.at(1.8, 0.2)))  # in B, away from its label
    wait_until(page, "!!document.querySelector('.grid-versions')", "B's versions")
    switched = page.evaluate(f"localTime({json.dumps(second['valid_from'])})")
    assert page.inner_text(".grid-versions") == (
        f"规划测试网格B（{a.code('B')}）\n"
        f"第 1 版 · 建档起 至 {switched} · {first['area_m2']} 平方米\n"
        f"第 2 版 · {switched} 起 至今 · {second['area_m2']} 平方米 · 方案 #{plan['id']}「调整方案」")
    assert watch.problems == []


def test_a_planner_has_a_village_divided_from_its_registered_households(server, planner):
    page, watch, a, username = planner
    open_village(page, server, username, a)
    # by default at the rule's maximum: the area's urban village, 500 households a grid
    assert page.input_value("#plan-propose-max") == "500"
    page.fill("#plan-propose-max", "0")
    page.click("#plan-propose")
    wait_until(page, "document.getElementById('plan-message').className === 'bad'", "refused")
    assert page.is_hidden("#plan-tools")  # no draft made
    page.fill("#plan-propose-max", "2")  # the 5 households: in 3 grids of at most 2
    page.click("#plan-propose")
    wait_until(page, "window.mapsvcPlan.count === 3", "the proposal's grids")
    # checked at once: each grid drawn with its households, the problems listed
    wait_until(page, "document.getElementById('plan-message').textContent.includes('：')",
               "the proposal checked")
    message = page.inner_text("#plan-message")
    assert re.fullmatch(r"已按每格至多 2 户划分为 3 个网格，(没有错误（\d+ 个提示）|发现 \d+ 个错误、"
                        r"\d+ 个提示)：可调整后发布", message), message
    assert "「规划测试社区网格划分建议（每格不超过2户）」· 草稿 · 3 个网格" in page.inner_text(
        "#plan-status")
    assert page.evaluate("window.mapsvcPlan.findingsShown") > 0
    counts = page.evaluate("Object.values(window.mapsvcPlan.counts).sort()")
    assert sum(counts) == 5 and max(counts) <= 2, counts
    labels = page.evaluate("window.mapsvcPlan.grids.getLayers()"
                           ".map((layer) => layer.getTooltip().getContent().textContent)")
    assert sorted(int(t.split()[1].rstrip("户")) for t in labels) == counts
    # the refusal alone: its answer, and the browser's line about it
    assert len(watch.problems) == 2 and all(
        "/plans/propose" in p or "status of 422" in p for p in watch.problems), watch.problems
