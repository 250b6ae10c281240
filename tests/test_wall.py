"""The wall screen in headless Chromium (Debian's, driven by Playwright): it loads clean, draws
grids (a county's as it opens), shows a case reported through the API without reload, recovers
from a server restart, shows typed text as text, colours the grids by the backlog chosen, marks
those whose households are mostly unvisited, fills a campaign's grids by their progress and
shows the cases of the status chosen, with a legend of what is shown, drills down by clicks to a
grid's panel with each region framed between the panels (again when the screen changes size, and
when clicked while the map still zooms), opens a case clicked on the map, asks for the layers
the clock changes again each minute, draws heat over whole local days chosen, and asks to sign
in again when its session ends.
Screenshots go to tests/artifacts."""

import io
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
import shapely
from PIL import Image
from sqlalchemy import bindparam, text

from mapsvc.accounts.model import Role
from mapsvc.accounts.store import create_account
from mapsvc.db.engine import in_transaction
from mapsvc.incidents.hotspots import LEAST, RADIUS_M
from mapsvc.tiles.layers import POINT_ZOOM
from mapsvc.workflow.machine import OPEN_SQL
from tests.browser import (Watch, click_while_zooming, desk_opened, names_shown, refused,
                           shows, sign_in, signed_in_here, wait_until)
from tests.conftest import (ARTIFACTS, PASSWORD, Server, new_account, registered, run,
                            signed_in_client, store_cases)

pytestmark = pytest.mark.long  # pages driven in a browser, minutes in all

VILLAGE_VIEW = "[22.8058, 115.2558], 13"  # a village of 汕尾市城区, the command account's county


@pytest.fixture(scope="module")
def wall_server(server, accounts):
    """A server of its own, so that the test may restart it; the accounts sign in to it."""
    served = Server("wall-server").start()
    yield served
    served.stop()


def open_wall(page, base: str, username: str = "command"):
    page.goto(f"{base}/map/wall")
    assert "/map/login" in page.url  # no session yet
    sign_in(page, base, "/map/wall", username, PASSWORD)
    wait_until(page, "window.mapsvcWall && window.mapsvcWall.online === true", "the live feed")


def report(base: str, token: str, lon: float, lat: float, description: str, **more) -> int:
    r = httpx.post(f"{base}/api/v1/incidents", headers={"Authorization": f"Bearer {token}"},
                   json={"client_id": str(uuid.uuid4()), "category": "0601", "lon": lon,
                         "lat": lat, "description": description, **more})
    assert r.status_code == 201
    return r.json()["id"]


def token(base: str) -> str:
    return httpx.post(f"{base}/api/v1/auth/token", data={
        "username": "command", "password": PASSWORD}).json()["access_token"]


def listed(case: int) -> str:
    return f"!!document.querySelector('#wall-list li[data-id=\"{case}\"]')"


def township_and_grid(db, code: str) -> str:
    """Where a case in grid ``code`` is, as a county's wall says it: its township and grid."""
    with db.connect() as conn:
        return " ".join(conn.execute(text(
            "SELECT t.name, g.name FROM grid g JOIN region v ON v.code = g.village_code "
            "JOIN region t ON t.code = v.parent_code WHERE g.code = :code"), {"code": code}).one())


def test_the_wall_shows_grids_and_live_cases_and_survives_a_restart(wall_server, server, browser,
                                                                    grids, accounts, db):
    base = wall_server.base
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base)
    assert page.evaluate("window.mapsvcWall.region.code") == "441502"
    page.evaluate(f"void window.mapsvcWall.map.setView({VILLAGE_VIEW})")
    wait_until(page, "(window.mapsvcWall.drawn.grids || 0) > 0", "grid features")
    wait_until(page, "document.getElementById('kpi-open').textContent !== '—'", "the panel")

    county_grids = grids[grids["code"].str.startswith("441502")]
    grid = county_grids.geometry.iloc[3].representative_point()
    typed = "<script>window.pwned = 1</script><b>井盖</b>缺失 & 下陷"
    case = report(base, token(base), grid.x, grid.y, typed)
    wait_until(page, listed(case), "the new case in the list")
    item = page.locator(f'#wall-list li[data-id="{case}"]')
    assert item.locator(".description").text_content() == typed
    with db.connect() as conn:  # a subclass (a phone's report's) named, as its class would be
        named = conn.execute(text("SELECT name FROM category WHERE code = '0601' "
                                  "AND parent_code IS NOT NULL")).scalar_one()
    assert item.locator(".category").text_content() == named
    where = township_and_grid(db, county_grids["code"].iloc[3])  # below the wall's county
    assert item.locator(".grid").text_content() == where
    assert page.evaluate("window.pwned") is None
    assert page.locator("#wall-list b").count() == 0
    page.screenshot(path=ARTIFACTS / "wall-1920x1080.png")
    item.locator("button").focus()  # from the keyboard: the map flies to the case
    page.keyboard.press("Enter")
    wait_until(page, f"""(() => {{ const m = window.mapsvcWall.map;
                         return m.getZoom() >= 16
                                && m.distance(m.getCenter(), [{grid.y}, {grid.x}]) < 5; }})()""",
               "the map at the case")
    # and opens it: what and where it is, and its steps so far
    popup = f'.wall-case[data-id="{case}"]'
    wait_until(page, f"document.querySelectorAll('{popup} .steps > li').length === 1",
               "the case's steps")
    assert page.inner_text(f"{popup} .description") == typed
    assert where in page.inner_text(popup).split("\n")
    assert page.inner_text(f"{popup} .steps > li").endswith(" 上报 · command")
    # the focus in it, on to the desk's link; Escape closes it, the focus back on the list
    assert page.evaluate(f"document.activeElement === document.querySelector('{popup}')")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "到受理台办理"
    page.keyboard.press("Escape")
    wait_until(page, f"!document.querySelector('{popup}')", "the case closed")
    assert page.evaluate("document.activeElement.closest('li').dataset.id") == str(case)
    assert watch.problems == []

    wall_server.stop()  # the page loses its feed and its tiles for a moment
    wait_until(page, "window.mapsvcWall.online === false", "that it is offline")
    # a patrol sent meanwhile (to another of the service's processes, whose feed the wall
    # does not follow), by a phone that had no signal since it ended hours before, is listed
    # once the wall is back
    walker = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == walker].geometry.iloc[0].representative_point()
    walked = _patrolled(server, "worker", [[p.x, p.y], [p.x + 100 / 102_000, p.y]],
                        ended=datetime.now(timezone.utc) - timedelta(hours=3))
    missed = f'#wall-list li.patrol[data-patrol="{walked["id"]}"]'
    wall_server.start()
    wait_until(page, "window.mapsvcWall.online === true", "that it is back online")
    wait_until(page, f"document.querySelector('{missed}')", "the patrol sent while offline")
    assert page.inner_text(f"{missed} .category") == (
        f"worker · {round(walked['properties']['length_m'])} 米")
    after = report(base, token(base), grid.x, grid.y, "重启之后")
    wait_until(page, listed(after), "a case reported after the restart")
    # a report that came late (a phone with no signal all afternoon) says when it came
    made = datetime.now(timezone.utc) - timedelta(hours=5)
    late = report(base, token(base), grid.x, grid.y, "迟到的上报", reported_at=made.isoformat())
    wait_until(page, listed(late), "the late report")
    shown = page.inner_text(f'#wall-list li[data-id="{late}"] time')
    when = page.evaluate("(at) => localTime(new Date(at))", made.isoformat())
    assert shown.startswith(f"{when}（") and shown.endswith(" 送达）"), shown
    assert page.locator(missed).count() == 1  # listed once
    context.close()

    # a wall opened later lists the last steps before it at once, newest first, unflashed,
    # and the patrols that came since the oldest of them, each where it came among them
    later = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = later.new_page()
    open_wall(page, base)
    wait_until(page, listed(case), "the earlier case in the list")
    assert page.evaluate("document.querySelector('#wall-list li[data-id]').dataset.id") == str(
        late)
    assert page.locator(f'#wall-list li[data-id="{case}"] .description').text_content() == typed
    wait_until(page, f"document.querySelector('{missed}')", "the patrol, asked for")
    order = page.evaluate("""[...document.querySelectorAll('#wall-list li')]
        .map((li) => li.dataset.id || `patrol ${li.dataset.patrol}`)""")
    assert order.index(str(after)) < order.index(f"patrol {walked['id']}") < order.index(
        str(case))  # it came between the case and the one reported after the restart
    assert page.locator("#wall-list li.fresh").count() == 0
    assert page.evaluate("window.mapsvcWall.steps") == 0
    later.close()


def test_a_case_marked_urgent_is_named_so_in_the_live_list(wall_server, browser, grids):
    base = wall_server.base
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base)
    grid = grids[grids["code"].str.startswith("441502")].geometry.iloc[4].representative_point()
    case = report(base, token(base), grid.x, grid.y, "燃气管道泄漏")
    wait_until(page, listed(case), "the new case in the list")
    assert "urgent" not in page.locator("#wall-list li").first.get_attribute("class")
    r = httpx.post(f"{base}/api/v1/incidents/{case}/actions/expedite", json={"note": "立即处置"},
                   headers={"Authorization": f"Bearer {token(base)}"})
    assert r.status_code == 200
    wait_until(page, "document.querySelector('#wall-list li .what').textContent === '加急'",
               "the step, named for itself")
    first = page.locator("#wall-list li").first
    assert first.get_attribute("data-id") == str(case)
    assert "urgent" in first.get_attribute("class").split()
    assert watch.problems == []
    context.close()


def test_the_panel_says_how_much_of_the_years_filed_cases_the_public_found(wall_server,
                                                                           browser, grids):
    """监督举报率 on the panel: of the county's cases filed this year, those a citizen or the
    12345 hotline reported, as the API counts them; a hotline case filed adds to both."""
    base = wall_server.base
    auth = {"Authorization": f"Bearer {token(base)}"}

    def year() -> dict:
        return httpx.get(f"{base}/api/v1/stats/board", headers=auth).json()["year"]

    before = year()
    spot = grids[grids["code"].str.startswith("441502")].geometry.iloc[5].representative_point()
    case = report(base, token(base), spot.x, spot.y, "热线反映路灯不亮", source="hotline")
    assert httpx.post(f"{base}/api/v1/incidents/{case}/actions/file", json={},
                      headers=auth).status_code == 200
    now = year()
    assert (now["public_filed"], now["filed"]) == (before["public_filed"] + 1,
                                                   before["filed"] + 1)
    assert now["public_report_rate"] == round(now["public_filed"] / now["filed"], 4)
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    open_wall(page, base)
    wait_until(page, "document.getElementById('kpi-public').textContent !== ''", "the panel")
    rate = page.evaluate("(v) => `${(v * 100).toFixed(1)}%`", now["public_report_rate"])
    assert page.inner_text("#kpi-public") == (
        f"本年监督举报率 {rate}（公众举报立案 {now['public_filed']} / 立案 {now['filed']}）")
    # and what the callers answered its follow-ups
    shown = page.evaluate("(vs) => vs.map((v) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`))",
                          [now["response_rate"], now["satisfied_rate"], now["resolved_rate"],
                           now["urged_rate"]])
    assert page.locator("#kpi-answers p").all_inner_texts() == [
        f"本年响应率 {shown[0]}（按时联系 {now['responded']} / 应联系 {now['response_due']}）",
        f"满意率 {shown[1]}（满意 {now['satisfied']} / 评价 {now['rated']}）",
        f"解决率 {shown[2]}（已解决 {now['resolved']} / 问及 {now['resolution_asked']}）",
        f"催办率 {shown[3]}（催办 {now['urged']} / 派遣 {now['public_dispatched']}）"]
    context.close()


WALL_PANELS = ("wall-title", "wall-kpi", "wall-legend", "wall-controls", "wall-layers",
               "wall-live")


def _panels_on_screen(page) -> None:
    """Every panel of the wall whole on the screen, none over another, nothing out of sight
    in any but the live list, every control on its panel."""
    boxes = page.evaluate("""(ids) => ids.map((id) => {
        const el = document.getElementById(id), b = el.getBoundingClientRect();
        return [id, b.left, b.top, b.right, b.bottom, el.scrollHeight - el.clientHeight]; })""",
                          list(WALL_PANELS))
    width, height = page.evaluate("[window.innerWidth, window.innerHeight]")
    for n, (name, left, top, right, bottom, hidden) in enumerate(boxes):
        assert 0 <= left < right <= width and 0 <= top < bottom <= height, (name, boxes)
        # (the live list shows the newest its panel has room for)
        assert hidden <= 1 or name == "wall-live", (name, hidden)  # (1: a rounding)
        for other, *box in boxes[n + 1:]:
            assert not (left < box[2] and box[0] < right and top < box[3] and box[1] < bottom), (
                f"{name} over {other}")
    foot = page.locator("#wall-controls").bounding_box()
    for control in page.locator("#wall-controls :is(select, a, button, .leaflet-control-scale)"
                                ).all():
        b = control.bounding_box()
        assert (foot["x"] <= b["x"] and b["x"] + b["width"] <= foot["x"] + foot["width"]
                and foot["y"] <= b["y"] and b["y"] + b["height"] <= foot["y"] + foot["height"]), (
            control.evaluate("(el) => el.outerHTML"))


def test_every_panel_of_the_wall_is_whole_on_the_screen(wall_server, browser, db):
    """On a wall's screen, HD or 4K, and drilled into a village, each of the wall's panels is
    there whole, apart from the others: the region's figures, the layers and their legend,
    the live list and the controls at the foot of the map."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, wall_server.base)
    wait_until(page, "document.getElementById('kpi-open').textContent !== '—' "
                     "&& document.getElementById('wall-legend').childElementCount > 0 "
                     "&& document.fonts.status === 'loaded'", "the panel and the legend")
    wait_until(page, _between_panels(page, db, "441502"), "the county between the panels")
    _panels_on_screen(page)
    with db.connect() as conn:
        village, lon, lat = conn.execute(text("""
            SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
              FROM region WHERE level = 'village' AND code LIKE '441502%'
             ORDER BY code LIMIT 1""")).one()
    for level in ("township", "village"):
        wait_until(page, f"window.mapsvcWall.children === '{level}'", f"the {level}s drawn")
        page.mouse.click(*_on_screen(page, lon, lat))
        wait_until(page, f"window.mapsvcWall.region.kind === '{level}'", f"the {level}")
    assert page.evaluate("window.mapsvcWall.region.code") == village
    wait_until(page, "!document.getElementById('wall-up').hidden", "the way back up")
    wait_until(page, _between_panels(page, db, village), "the village between the panels")
    _panels_on_screen(page)
    page.set_viewport_size({"width": 3840, "height": 2160})
    wait_until(page, _between_panels(page, db, village), "the village framed again")
    _panels_on_screen(page)
    assert watch.problems == []
    context.close()


def test_a_county_wall_opens_on_its_grids_coloured_by_their_backlog(wall_server, browser, db):
    """At 1920 × 1080 the wall frames its county, 城区 (some 36 km across), at zoom 12: its
    grids are drawn there, coloured by their backlog, without zooming in."""
    with db.connect() as conn:  # the county's largest grid
        lon, lat = conn.execute(text("""
            SELECT ST_X(p), ST_Y(p) FROM (
                SELECT ST_PointOnSurface(gv.geom) AS p FROM grid g
                  JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
                 WHERE g.code LIKE '441502%' ORDER BY ST_Area(gv.geom) DESC LIMIT 1) g""")).one()
    base = wall_server.base
    signed = token(base)
    for n in range(3):
        report(base, signed, lon, lat, f"积压 {n}")
    # the screen's computer set to another zone: the wall tells China's day and time
    context = browser.new_context(viewport={"width": 1920, "height": 1080},
                                  timezone_id="America/Los_Angeles")
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base)
    wait_until(page, _between_panels(page, db, "441502"), "the county between the panels")
    assert page.evaluate("window.mapsvcWall.map.getZoom()") == 12
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    assert page.inner_text("#wall-clock") in {
        f"{t.month}月{t.day}日 星期{'一二三四五六日'[t.weekday()]} {t:%H:%M}"
        for t in (now - timedelta(minutes=1), now)}
    wait_until(page, "(window.mapsvcWall.drawn.grids || 0) > 0", "the grids")
    page.locator(".leaflet-control-layers-overlays label", has_text="事件").locator(
        "input").uncheck()  # the cases' bins would cover the grid
    page.wait_for_timeout(500)
    r, g, _ = _colour_at(page, lon, lat)
    assert r > 85, (r, g)  # yellow to red: three open cases or more
    page.screenshot(path=ARTIFACTS / "wall-county-1920x1080.png")
    assert watch.problems == []
    context.close()


def _on_screen(page, lon: float, lat: float) -> tuple[float, float]:
    """Where a point of the map is on the screen."""
    return page.evaluate(f"(() => {{ const p = window.mapsvcWall.map.latLngToContainerPoint("
                         f"[{lat}, {lon}]); return [p.x, p.y]; }})()")


def _dimmed(lon: float, lat: float) -> str:
    """A JS test: the wall's map is dimmed at the point (outside the region it shows)."""
    return (f"(() => {{ const w = window.mapsvcWall; return !!w.mask && w.mask._containsPoint("
            f"w.map.latLngToLayerPoint([{lat}, {lon}])); }})()")


def _beside(db, code: str) -> tuple[float, float]:
    """A point near a corner of the region's box, on the map when it is framed, outside it."""
    with db.connect() as conn:
        return conn.execute(text("""
            SELECT ST_X(p), ST_Y(p) FROM region r,
                   LATERAL (VALUES (ST_XMin(r.geom), ST_YMin(r.geom)),
                                   (ST_XMin(r.geom), ST_YMax(r.geom)),
                                   (ST_XMax(r.geom), ST_YMin(r.geom)),
                                   (ST_XMax(r.geom), ST_YMax(r.geom))) AS c(x, y),
                   LATERAL (SELECT ST_LineInterpolatePoint(ST_MakeLine(ST_Point(x, y, 4326),
                                                           ST_Centroid(r.geom)), 0.02) AS p) q
             WHERE r.code = :code AND NOT ST_Covers(r.geom, p) LIMIT 1"""),
            {"code": code}).one()


def _between_panels(page, db, code: str) -> str:
    """A JS test: the region's box is drawn whole on the map between the wall's panels (the
    columns, the title and the controls at the foot), not under them, as large as the map
    between them allows (to a few pixels: the title's height moves as its font comes), and
    the layer list sits in the right column, off the map."""
    with db.connect() as conn:
        box = conn.execute(text("""
            SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b)
              FROM (SELECT box2d(geom) AS b FROM region WHERE code = :code) r"""),
            {"code": code}).one()
    return _box_between_panels(*box)


def _box_between_panels(west: float, south: float, east: float, north: float) -> str:
    """_between_panels, of a box."""
    return f"""(() => {{
        const map = window.mapsvcWall.map;
        const a = map.latLngToContainerPoint([{north}, {west}]);
        const b = map.latLngToContainerPoint([{south}, {east}]);
        const rect = (el) => el.getBoundingClientRect();
        const left = rect(document.getElementById("wall-left"));
        const right = rect(document.getElementById("wall-right"));
        const title = rect(document.getElementById("wall-title"));
        const foot = rect(document.getElementById("wall-controls"));
        const layers = rect(document.querySelector(".leaflet-control-layers"));
        const margins = L.point(window.innerWidth - right.left + left.right + 2 * left.left,
                                title.bottom + window.innerHeight - foot.top + 2 * left.left)
          .add(L.point(16, 16));
        const fits = map.getBoundsZoom([[{south}, {west}], [{north}, {east}]], false, margins);
        return a.x >= left.right && b.x <= right.left && a.y >= title.bottom
          && b.y <= foot.top && map.getZoom() >= fits
          && layers.left >= right.left && layers.bottom <= right.bottom;
    }})()"""


def _colour_at(page, lon: float, lat: float) -> tuple[int, int, int]:
    """The colour the screen shows at a point of the map (the mean of 3 × 3 pixels)."""
    x, y = _on_screen(page, lon, lat)
    shot = Image.open(io.BytesIO(page.screenshot(clip={"x": x - 1, "y": y - 1, "width": 3,
                                                       "height": 3}))).convert("RGB")
    return shot.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))


def _patrolled(base: str, username: str, points: list, ended: datetime | None = None) -> dict:
    """A patrol of ``points`` that ``username`` ended at ``ended`` (now), sent through the
    API."""
    walker = httpx.post(f"{base}/api/v1/auth/token", data={
        "username": username, "password": PASSWORD}).json()["access_token"]
    ended = ended or datetime.now(timezone.utc)
    r = httpx.post(f"{base}/api/v1/patrols", headers={"Authorization": f"Bearer {walker}"},
                   json={"client_id": str(uuid.uuid4()),
                         "started_at": (ended - timedelta(minutes=40)).isoformat(),
                         "ended_at": ended.isoformat(), "points": points})
    assert r.status_code == 201, r.text
    return r.json()


def _redrawn(page, change, layer: str = "grids") -> None:
    """Make ``change`` and wait until ``layer`` is drawn anew and painted."""
    before = page.evaluate(f"window.mapsvcWall.drawn.{layer} || 0")
    change()
    wait_until(page, f"(window.mapsvcWall.drawn.{layer} || 0) > {before}", f"{layer} redrawn")
    page.wait_for_timeout(500)


def test_grids_take_the_colour_of_the_backlog_chosen_cases_show_by_status_and_the_legend_follows(
        wall_server, browser, grids, accounts, db):
    base = wall_server.base
    with db.connect() as conn:  # a grid of the command centre's county with no overdue case
        code = conn.execute(text(f"""
            SELECT g.code FROM grid g WHERE g.code LIKE '441502%' AND NOT EXISTS (
                SELECT 1 FROM incident i WHERE i.grid_id = g.id AND i.status IN {OPEN_SQL}
                   AND incident_overdue(i))
             ORDER BY g.code LIMIT 1""")).scalar_one()
    spot = grids[grids["code"] == code].geometry.iloc[0].representative_point()
    for n in range(3):  # open and not overdue: not green by open cases, green by overdue ones
        report(base, token(base), spot.x, spot.y, f"图例 {n}")

    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    asked = []  # the cases' tiles asked for
    page.on("request", lambda r: asked.append(r.url) if "/collections/incidents/" in r.url
            else None)
    open_wall(page, base)
    legend = "window.mapsvcWall.legend"
    _redrawn(page, lambda: page.evaluate(
        f"void window.mapsvcWall.map.setView([{spot.y}, {spot.x}], 13)"))
    assert asked and all("status=open" in url for url in asked)  # the open cases by default
    assert page.evaluate(legend) == [  # the layers on by default, cases in bins at this zoom
        ["网格在办件数", "0", "1–2", "3–5", "6–10", ">10"],
        ["事件（在办）：每格在办件数", "≤1", "2–3", "4–10", "11–30", ">30"]]
    page.locator(".leaflet-control-layers-overlays label", has_text="事件").locator(
        "input").uncheck()  # the cases' bins would cover the grid
    assert [title for title, *_ in page.evaluate(legend)] == ["网格在办件数"]
    page.wait_for_timeout(500)
    r, g, _ = _colour_at(page, spot.x, spot.y)
    assert r > 85, (r, g)  # yellow to red: three open cases or more

    _redrawn(page, lambda: page.select_option("#backlog-by", "overdue"))
    r, g, _ = _colour_at(page, spot.x, spot.y)
    assert r < 50 and g > 2 * r, (r, g)  # green: none overdue
    assert page.evaluate(legend)[0][0] == "网格超期件数"

    page.locator(".leaflet-control-layers-overlays label", has_text="覆盖（").locator(
        "input").check()
    page.select_option("#visit-days", "7")
    assert page.evaluate(legend)[1] == ["覆盖", "无网格员", "走访不足且7天未巡查",
                                        "过半住户7天未走访", "7天未巡查"]
    page.evaluate(f"void window.mapsvcWall.map.setView([{spot.y}, {spot.x}], 16)")
    page.locator(".leaflet-control-layers-overlays label", has_text="覆盖（").locator(
        "input").uncheck()
    _redrawn(page, lambda: page.select_option("#backlog-by", "open"))
    _redrawn(page, lambda: page.locator(".leaflet-control-layers-overlays label",
                                        has_text="事件").locator("input").check(), "incidents")
    assert page.evaluate(legend)[1] == ["事件（在办）预警", "红灯（超期）", "黄灯", "绿灯", "未计时",
                                         "加急（外圈）"]
    r, g, _ = _colour_at(page, spot.x, spot.y)
    assert r < 70, (r, g)  # the three open cases' point, drawn over the grid
    page.screenshot(path=ARTIFACTS / "wall-legend.png")

    with page.expect_response(lambda r: "/collections/incidents/" in r.url
                              and "status=overdue" in r.url):
        page.select_option("#incident-status", "overdue")
    page.wait_for_timeout(500)
    r, g, _ = _colour_at(page, spot.x, spot.y)
    assert r > 85, (r, g)  # none of them overdue: the grid's colour shows
    assert page.evaluate(legend)[1][0] == "事件（超期）预警"
    assert watch.problems == []
    context.close()


def test_the_coverage_layer_marks_a_staffed_grid_until_visited_and_patrolled(
        wall_server, browser, grids, clients, db):
    """A staffed grid with two households, neither visited, never patrolled: the coverage layer
    fills it as both (and leaves a grid of another county with no worker as it is: not the
    centre's to cover). Once one of them is visited within the days chosen, no more than half
    are unvisited: it is filled as unpatrolled alone; once patrolled, not at all. The panel
    counts the region's grids patrolled within those days."""
    base = wall_server.base
    grid = grids[grids["code"].str.startswith("441502")].iloc[11]
    spot = grid.geometry.representative_point()
    run(in_transaction(lambda conn: create_account(
        conn, "coverage_worker", PASSWORD, Role.grid_worker, grid_codes=[grid.code],
        origin="tests")))
    homes = ("覆盖路1号", "覆盖路2号")
    registered(clients["admin"], "addresses",
               [{"address": h, "lon": spot.x, "lat": spot.y} for h in homes], county="441502")
    registered(clients["admin"], "people",
               [{"address": h, "name": f"住户{n}", "registration": "resident", "household": "1"}
                for n, h in enumerate(homes)], county="441502")

    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base)
    _redrawn(page, lambda: page.evaluate(
        f"void window.mapsvcWall.map.setView([{spot.y}, {spot.x}], 16)"))
    page.locator(".leaflet-control-layers-overlays label", has_text="事件").locator(
        "input").uncheck()
    page.wait_for_timeout(500)
    plain = _colour_at(page, spot.x, spot.y)  # the backlog's colour alone

    def filled(colour: tuple[int, int, int]) -> bool:  # at 0.35 over the backlog's colour
        shown = _colour_at(page, spot.x, spot.y)
        return all(abs(c - (0.35 * f + 0.65 * p)) <= 8 for c, f, p in zip(shown, colour, plain))

    _redrawn(page, lambda: page.locator(".leaflet-control-layers-overlays label",
                                        has_text="覆盖（").locator("input").check())
    assert filled((0x39, 0x49, 0xab)), "unvisited and unpatrolled"
    # a grid of another county, with no worker: not the centre's to cover, left as it is
    with db.connect() as conn:
        other = conn.execute(text(
            "SELECT code FROM grid g WHERE g.code NOT LIKE '441502%' AND NOT EXISTS ("
            "SELECT FROM account_grid ag WHERE ag.grid_id = g.id) ORDER BY code LIMIT 1"
        )).scalar_one()
    away = grids[grids["code"] == other].geometry.iloc[0].representative_point()
    _redrawn(page, lambda: page.evaluate(
        f"void window.mapsvcWall.map.setView([{away.y}, {away.x}], 16)"))
    covered = _colour_at(page, away.x, away.y)
    page.locator(".leaflet-control-layers-overlays label", has_text="覆盖（").locator(
        "input").uncheck()
    page.wait_for_timeout(500)
    assert all(abs(a - b) <= 3 for a, b in zip(_colour_at(page, away.x, away.y), covered))
    _redrawn(page, lambda: page.locator(".leaflet-control-layers-overlays label",
                                        has_text="覆盖（").locator("input").check())
    _redrawn(page, lambda: page.evaluate(
        f"void window.mapsvcWall.map.setView([{spot.y}, {spot.x}], 16)"))
    assert page.evaluate("window.mapsvcWall.legend")[-1] == [
        "覆盖", "无网格员", "走访不足且30天未巡查", "过半住户30天未走访", "30天未巡查"]
    page.screenshot(path=ARTIFACTS / "wall-coverage.png")

    with db.begin() as conn:
        conn.execute(text("""
            INSERT INTO visit (household_id, account_id, at)
            SELECT h.id, (SELECT id FROM account WHERE username = 'coverage_worker'), now()
              FROM household h JOIN house ho ON ho.id = h.house_id
              JOIN address a ON a.id = ho.address_id
             WHERE a.county_code = '441502' AND a.full_text = :home"""), {"home": homes[0]})
    _redrawn(page, lambda: page.select_option("#visit-days", "7"))
    assert filled((0x26, 0xc6, 0xda)), "unpatrolled"
    assert page.evaluate("window.mapsvcWall.legend")[-1][-1] == "7天未巡查"

    _patrolled(base, "coverage_worker", [[spot.x, spot.y], [spot.x, spot.y + 0.0001]])
    _redrawn(page, lambda: page.select_option("#visit-days", "30"))
    shown = _colour_at(page, spot.x, spot.y)
    assert all(abs(a - b) <= 3 for a, b in zip(shown, plain)), (plain, shown)
    board = clients["command"].get("/stats/board", params={"visit_days": 30}).json()["patrols"]
    assert board["patrolled"] >= 1
    wait_until(page, "document.querySelector('#kpi-patrols').textContent.startsWith('30天')",
               "the panel counted again over 30 days")
    counted = re.fullmatch(r"30天内巡查网格 (\d+) / (\d+)（([\d.]+)%）",
                           page.inner_text("#kpi-patrols"))
    assert counted and (int(counted[1]), int(counted[2])) == (board["patrolled"], board["grids"])
    assert float(counted[3]) == pytest.approx(100 * board["patrolled"] / board["grids"], abs=0.06)

    # the county's grids divided into micro-grids, as far as they are: the grid's two houses
    r = clients["admin"].post(f"/registry/grids/{grid.code}/micro-grids", json={})
    assert r.status_code == 200 and r.json()["placed"] == 2, r.text
    page.select_option("#visit-days", "7")  # the panel counted again
    micro = clients["command"].get("/stats/board", params={"visit_days": 7}).json()["micro_grids"]
    # (shown before, if other grids were divided: the panel counted again shows this grid too)
    wait_until(page, "document.querySelector('#kpi-micro').textContent.includes("
                     f"'，微网格 {micro['micro_grids']} 个')", "the county's micro-grids")
    with db.connect() as conn:  # counted apart, from the micro-grids and where leaders live
        assert (micro["divided"], micro["micro_grids"], micro["led"]) == tuple(conn.execute(text(
            "SELECT count(DISTINCT m.grid_id), count(*), count(*) FILTER (WHERE EXISTS ("
            "  SELECT FROM person l JOIN household h ON h.id = l.household_id "
            "  JOIN house ho ON ho.id = h.house_id JOIN address a ON a.id = ho.address_id "
            "  WHERE l.id = m.leader_id AND l.left_on IS NULL AND a.micro_grid_id = m.id "
            "  AND a.grid_id = m.grid_id)) FROM micro_grid m "
            "JOIN grid g ON g.id = m.grid_id WHERE g.village_code LIKE '441502%'")).one())
    assert micro["grids"] == board["grids"] and micro["divided"] >= 1
    shown = re.fullmatch(r"已划分微网格的网格 (\d+) / (\d+)（([\d.]+)%），微网格 (\d+) 个，"
                         r"其中有联户长的 (\d+) 个", page.inner_text("#kpi-micro"))
    assert shown and [int(shown[i]) for i in (1, 2, 4, 5)] == [
        micro["divided"], micro["grids"], micro["micro_grids"], micro["led"]]
    assert float(shown[3]) == pytest.approx(100 * micro["divided"] / micro["grids"], abs=0.06)
    assert watch.problems == []
    context.close()


def test_a_campaigns_grids_are_filled_by_how_far_their_checks_are(wall_server, server,
                                                                  browser, grids, clients):
    """专项排查 chosen on the wall: a grid whose one thing was checked is filled as done, one
    with one of its two checked as over half (ringed for the hazard found there), with a
    legend; a grid checked since is filled as done once the wall asks again; 不显示 clears it.
    An organisation recorded from the field is drawn in 实有单位 once shown."""
    base = wall_server.base
    kind = f"测试仓库{uuid.uuid4().hex[:6]}"
    done, begun = (grids[grids["code"].str.startswith("441502")].iloc[n] for n in (17, 18))
    spots = {g.code: g.geometry.representative_point() for g in (done, begun)}
    registered(clients["admin"], "places", [
        {"name": f"仓库{n}", "kind": kind, "lon": spots[g.code].x, "lat": spots[g.code].y}
        for n, g in enumerate((done, begun, begun))])
    made = clients["command"].post("/campaigns", json={
        "client_id": str(uuid.uuid4()), "title": "仓库排查", "layer": "places", "kind": kind,
        "due": (datetime.now(timezone.utc) + timedelta(days=3)).date().isoformat()}).json()
    worker = signed_in_client(server, new_account(role="grid_worker",
                                                  grid_codes=[done.code, begun.code]))
    things = worker.get(f"/campaigns/{made['id']}/targets").json()["features"]
    in_done = [f["id"] for f in things if f["properties"]["grid"] == done.code]
    in_begun = [f["id"] for f in things if f["properties"]["grid"] == begun.code]

    def check(target: str, **result) -> None:
        r = worker.post(f"/campaigns/{made['id']}/checks", json={
            "client_id": str(uuid.uuid4()), "target": target, **(result or {"result": "normal"})})
        assert r.status_code == 201, r.text
    check(in_done[0])
    check(in_begun[0], result="hazard", category="0601", note="堆放易燃物")

    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base)
    for name in ("网格积压", "事件"):  # the map's ground alone beneath
        page.locator(".leaflet-control-layers-overlays label", has_text=name).locator(
            "input").uncheck()
    wait_until(page, f"!!document.querySelector('#wall-campaign option[value=\"{made['id']}\"]')",
               "the campaign offered")

    def filled(code: str, colour: tuple[int, int, int] | None) -> bool:
        """Whether the screen comes to show ``colour`` at 0.5 over the ground at the grid's
        spot (None: the ground alone) within a few seconds."""
        spot = spots[code]
        page.evaluate(f"void window.mapsvcWall.map.setView([{spot.y}, {spot.x}], 16)")
        want = ground[code] if colour is None else [0.5 * c + 0.5 * g
                                                    for c, g in zip(colour, ground[code])]
        for _ in range(50):
            page.wait_for_timeout(100)
            if all(abs(a - b) <= 8 for a, b in zip(_colour_at(page, spot.x, spot.y), want)):
                return True
        return False
    ground = {}
    for code, spot in spots.items():  # the map's ground, nothing chosen
        _redrawn(page, lambda: page.evaluate(
            f"void window.mapsvcWall.map.setView([{spot.y}, {spot.x}], 16)"), "villages")
        ground[code] = _colour_at(page, spot.x, spot.y)
    page.select_option("#wall-campaign", str(made["id"]))
    wait_until(page, "window.mapsvcWall.campaign.size === 2", "the campaign's grids")
    assert filled(done.code, (0x43, 0xa0, 0x47)), "done"
    assert filled(begun.code, (0xfd, 0xd8, 0x35)), "over half"
    assert page.evaluate("window.mapsvcWall.legend")[-1] == [
        f"专项排查：仓库排查（城区，截止 {made['due']}）", "未开始", "不足一半", "过半", "已完成",
        "存在隐患（粗框）"]
    page.screenshot(path=ARTIFACTS / "wall-campaign.png")

    check(in_begun[1])
    page.select_option("#wall-campaign", "")  # asked again: as it now stands
    page.select_option("#wall-campaign", str(made["id"]))
    wait_until(page, f"(window.mapsvcWall.campaign.get('{begun.code}') || {{}}).checked === 2",
               "the grid's checks as they now stand")
    assert filled(begun.code, (0x43, 0xa0, 0x47)), "done since"
    page.select_option("#wall-campaign", "")
    assert filled(begun.code, None), "not shown"

    # an organisation recorded from the field is on the map once its layer is shown
    shop = (spots[done.code].x + 0.0004, spots[done.code].y)
    r = clients["command"].post("/registry/organisations", json={
        "client_id": str(uuid.uuid4()), "name": "新开超市", "kind": "enterprise",
        "point": {"lon": shop[0], "lat": shop[1]}})
    assert r.status_code == 201 and r.json()["grid"] == done.code, r.text
    page.evaluate(f"void window.mapsvcWall.map.setView([{shop[1]}, {shop[0]}], 16)")
    page.wait_for_timeout(500)
    ground_there = _colour_at(page, *shop)
    _redrawn(page, lambda: page.locator(".leaflet-control-layers-overlays label",
                                        has_text="实有单位").locator("input").check(),
             "organisations")
    assert all(abs(a - b) <= 8 for a, b in zip(_colour_at(page, *shop), (0xff, 0xb3, 0x00)))
    assert ground_there != _colour_at(page, *shop)
    assert watch.problems == []
    context.close()


def test_clicks_drill_down_to_a_grid_whose_figures_the_panel_shows(wall_server, browser, grids,
                                                                   accounts, db):
    base = wall_server.base
    county = grids[grids["code"].str.startswith("441502")]
    grid = county.iloc[7]
    neighbour = county[(county["village_code"] == grid.village_code)
                       & (county["code"] != grid.code)].iloc[0]
    spot = grid.geometry.representative_point()
    cases = [report(base, token(base), spot.x, spot.y, f"网格面板 {n}") for n in range(2)]
    worker = "<b>王五</b>"  # a name with markup: shown as typed

    async def staff(conn):
        await create_account(conn, "wall_worker", PASSWORD, Role.grid_worker,
                             grid_codes=[grid.code], display_name=worker, origin="tests")

    run(in_transaction(staff))
    walked = _patrolled(base, "wall_worker", [[spot.x, spot.y], [spot.x, spot.y + 0.0005]])
    with db.connect() as conn:
        name, open_cases = conn.execute(text(f"""
            SELECT g.name, count(i.id) FILTER (WHERE i.status IN {OPEN_SQL})
              FROM grid g LEFT JOIN incident i ON i.grid_id = g.id
             WHERE g.code = :code GROUP BY g.name"""), {"code": grid.code}).one()
        neighbour_name = conn.execute(text("SELECT name FROM grid WHERE code = :code"),
                                      {"code": neighbour.code}).scalar_one()
        townships = sorted(conn.execute(text(
            "SELECT name FROM region WHERE parent_code = '441502'")).scalars())
        households, visited = conn.execute(text("""
            SELECT count(DISTINCT h.id),
                   count(DISTINCT v.household_id) FILTER (WHERE v.at > now() - interval '30 days')
              FROM grid g JOIN address a ON a.grid_id = g.id JOIN house ho ON ho.address_id = a.id
              JOIN household h ON h.house_id = ho.id LEFT JOIN visit v ON v.household_id = h.id
             WHERE g.code = :code"""), {"code": grid.code}).one()
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base)
    region = "window.mapsvcWall.region"
    wait_until(page, _between_panels(page, db, "441502"), "the county between the panels")
    # the map dimmed outside the region shown, at each level
    wait_until(page, f"{_dimmed(*_beside(db, '441502'))} && !{_dimmed(spot.x, spot.y)}",
               "the map dimmed beside the county, not in it")
    for level in ("township", "village"):
        wait_until(page, f"window.mapsvcWall.children === '{level}'", f"the {level}s drawn")
        if level == "township":  # named on the map, not only when a mouse is over them,
            # each name where there is room for it
            assert sorted(page.locator(".region-label").all_text_contents()) == townships
            assert len(names_shown(page, ".region-label")) > len(townships) / 2
        page.mouse.click(*_on_screen(page, spot.x, spot.y))
        wait_until(page, f"{region}.kind === '{level}'", f"the {level}")
        shown = page.evaluate(f"{region}.code")
        wait_until(page, _between_panels(page, db, shown), f"the {level} between the panels")
        wait_until(page, f"{_dimmed(*_beside(db, shown))} && !{_dimmed(spot.x, spot.y)}",
                   f"the map dimmed beside the {level}, not in it")
    page.wait_for_timeout(1000)  # one click, one level down: still the village
    village = page.evaluate(f"{region}.code")
    assert village == grid.village_code
    # its grids named on the map, the village's name they begin with left out
    with db.connect() as conn:
        village_name, grid_names = conn.execute(text("""
            SELECT r.name, array_agg(g.name ORDER BY g.name) FROM region r
              JOIN grid g ON g.village_code = r.code WHERE r.code = :code GROUP BY r.name"""),
            {"code": village}).one()
    assert all(n.startswith(village_name) for n in grid_names)
    wait_until(page, f"document.querySelectorAll('.region-label').length === {len(grid_names)}",
               "the village's grids named")
    assert sorted(page.locator(".region-label").all_text_contents()) == sorted(
        n.removeprefix(village_name) for n in grid_names)
    # no region below a village: a click there drills into the grid, and opens the case drawn
    # where it fell
    assert page.evaluate("window.mapsvcWall.map.getZoom()") >= POINT_ZOOM  # cases as points
    page.mouse.click(*_on_screen(page, spot.x, spot.y))
    wait_until(page, f"{region}.kind === 'grid' && {region}.code === '{grid.code}'", "the grid")
    wait_until(page, "document.querySelectorAll('.leaflet-popup .wall-case li').length > 0",
               "the case clicked, with its steps")
    opened = page.locator(".leaflet-popup .wall-case")
    case = int(opened.get_attribute("data-id"))
    assert case in cases  # one of the two drawn there
    assert opened.locator(".description").inner_text() == f"网格面板 {cases.index(case)}"
    page.click(".leaflet-popup-close-button")
    wait_until(page, f"document.getElementById('wall-region-name').textContent === '{name}'",
               "the grid's panel")
    assert page.inner_text("#kpi-open") == str(open_cases) and open_cases >= 2
    # the figures that count cases open them on the desk, the grid's
    for figure, view in (("open", "open"), ("overdue", "red"), ("waiting", "waiting"),
                         ("urgent", "urgent")):
        assert page.locator(f"a.to-desk:has(#kpi-{figure})").get_attribute("href") == (
            "/map/desk#" + urlencode({"view": view, "grid": grid.code, "name": name}))
    desk = desk_opened(page, "a.to-desk:has(#kpi-open)")  # in the wall's session
    wait_until(desk, f"window.mapsvcDesk && window.mapsvcDesk.matched === {open_cases}",
               "the grid's open cases on the desk")
    desk.close()
    # the grid's main classes most reported over two weeks, its two cases' among them
    board = httpx.get(f"{base}/api/v1/stats/board", params={"level": "grid", "code": grid.code},
                      headers={"Authorization": f"Bearer {token(base)}"}).json()
    # its two weeks of reports open by day on the evaluation, day for day as the panel drew them
    days = board["trend"]
    assert page.get_attribute("#kpi-trend-link", "href") == "/map/stats#" + urlencode({
        "from": days[0]["day"], "to": days[-1]["day"], "by": "day", "level": "grid",
        "code": grid.code})
    with page.context.expect_page() as opened:
        page.click("#kpi-trend-link")
    evaluation = opened.value
    wait_until(evaluation, "window.mapsvcStats && window.mapsvcStats.answer"
               f" && window.mapsvcStats.answer.code === '{grid.code}'", "the grid's days")
    assert evaluation.evaluate("window.mapsvcStats.answer.rows.map((r) => r.figures.reported)"
                               ) == [t["reported"] for t in days]
    evaluation.close()
    # and its year's 按期结案率 and satisfaction, by month
    for figure in ("on_time_closure_rate", "satisfaction"):
        assert page.get_attribute(f"a.to-stats:has(#kpi-{figure})", "href") == (
            "/map/stats#" + urlencode({"from": days[-1]["day"][:4] + "-01-01",
                                       "to": days[-1]["day"], "by": "month", "level": "grid",
                                       "code": grid.code}))
    top = [[c["name"], str(c["reported"])] for c in board["classes"][:5]]
    assert sum(c["reported"] for c in board["classes"]) >= 2
    assert [[li.locator("span").inner_text(), li.locator("b").inner_text()]
            for li in page.locator("#kpi-classes li").all()] == top
    # a class clicked: the heat of that class, shown; clicked again, of all classes
    asked = []
    page.on("request", lambda r: "/collections/heat/" in r.url and asked.append(r.url))
    first = page.locator("#kpi-classes li").first
    code = first.get_attribute("data-code")
    first.click()
    wait_until(page, f"document.getElementById('heat-category').value === '{code}'",
               "the heat's class chosen")
    wait_until(page, "window.mapsvcWall.legend.flat().some((t) => t.startsWith('热力'))", "the heat")
    assert "chosen" in first.get_attribute("class")
    for _ in range(100):  # its tiles asked for
        if any(f"category={code}" in url for url in asked):
            break
        page.wait_for_timeout(100)
    assert any(f"category={code}" in url for url in asked), asked
    assert first.locator("button").get_attribute("aria-pressed") == "true"
    first.locator("button").press(" ")  # pressed again, from the keyboard
    wait_until(page, "document.getElementById('heat-category').value === ''", "all classes")
    assert "chosen" not in first.get_attribute("class")
    assert first.locator("button").get_attribute("aria-pressed") == "false"
    staffed, counted, patrolled, micro = page.locator("#kpi-grid > p").all_inner_texts()
    assert (staffed, counted) == (f"网格员：{worker}", f"住户 {households}，30天内走访 {visited}")
    assert micro == "未划分微网格"  # (test_micro_grids: a divided grid's)
    ended = page.evaluate("(at) => localTime(new Date(at))", walked["properties"]["ended_at"])
    assert patrolled == f"最近巡查：{ended} · {worker}"
    wait_until(page, f"window.mapsvcWall.outlined === '{grid.code}'", "the grid outlined")
    page.screenshot(path=ARTIFACTS / "wall-grid-panel.png")

    other = neighbour.geometry.representative_point()
    wait_until(page, f"{_dimmed(other.x, other.y)} && !{_dimmed(spot.x, spot.y)}",
               "the map dimmed beside the grid, not in it")
    # to the grid next door, and up to the village
    page.mouse.click(*_on_screen(page, other.x, other.y))
    wait_until(page, f"{region}.code === '{neighbour.code}'", "the grid next door")
    wait_until(page, "document.getElementById('wall-region-name').textContent === "
               f"'{neighbour_name}'", "its panel")
    page.click("#wall-up")
    wait_until(page, f"{region}.kind === 'village' && {region}.code === '{village}'",
               "the village again")
    assert page.evaluate("window.mapsvcWall.outlined") is None
    wait_until(page, f"{_dimmed(*_beside(db, village))} && !{_dimmed(other.x, other.y)} "
                     f"&& !{_dimmed(spot.x, spot.y)}",
               "the map dimmed beside the village again, its grids not")
    wait_until(page, "document.getElementById('kpi-grid').hidden", "the village's panel")
    assert watch.problems == []
    context.close()


def test_the_wall_drills_down_by_name_from_the_keyboard_too(wall_server, browser, grids, db):
    """What a click on the map drills into, a region's children and a village's grids, is
    chosen by name too, from the keyboard (the focus staying on the choice down to the grid,
    below which there is none), each framed between the panels, the grid outlined."""
    with db.connect() as conn:
        def below(sql: str, code: str) -> list[tuple[str, str]]:
            return [tuple(r) for r in conn.execute(text(sql), {"code": code})]
        regions = "SELECT code, name FROM region WHERE parent_code = :code ORDER BY code"
        townships = below(regions, "441502")
        villages = below(regions, townships[0][0])
        grid = grids[grids["village_code"].str.startswith(townships[0][0])].iloc[-1]
        village = dict(villages)[grid.village_code]
        in_village = below("SELECT code, name FROM grid WHERE village_code = :code "
                           "ORDER BY code", grid.village_code)
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, wall_server.base)
    region = "window.mapsvcWall.region"
    listed = ("[...document.querySelectorAll('#wall-down option')]"
              ".map((o) => [o.value, o.textContent])")
    wait_until(page, f"{listed}.length === {len(townships) + 1}", "the townships listed")
    assert page.evaluate(listed) == [["", "选择乡镇（街道）"], *map(list, townships)]
    page.focus("#wall-down")
    page.keyboard.press("ArrowDown")  # the first township
    wait_until(page, f"{region}.code === '{townships[0][0]}'", "the first township")
    wait_until(page, _between_panels(page, db, townships[0][0]), "it between the panels")
    wait_until(page, f"{listed}.length === {len(villages) + 1} "
               f"&& {listed}[0][1] === '选择村（社区）'", "its villages listed")
    assert page.evaluate(listed) == [["", "选择村（社区）"], *map(list, villages)]
    assert page.evaluate("document.activeElement.id") == "wall-down"
    page.locator("#wall-down").select_option(label=village)  # by its name
    wait_until(page, f"{region}.code === '{grid.village_code}'", "the village")
    wait_until(page, f"{listed}.length === {len(in_village) + 1} "
               f"&& {listed}[0][1] === '选择网格'", "its grids listed")
    assert page.evaluate(listed) == [["", "选择网格"], *map(list, in_village)]
    page.locator("#wall-down").select_option(grid.code)
    wait_until(page, f"{region}.kind === 'grid' && {region}.code === '{grid.code}'", "the grid")
    wait_until(page, _box_between_panels(*grid.geometry.bounds), "the grid between the panels")
    assert page.evaluate("window.mapsvcWall.outlined") == grid.code
    assert page.is_hidden("#wall-down")  # nothing below a grid
    page.click("#wall-up")
    wait_until(page, f"{listed}.length === {len(in_village) + 1}", "the village's grids again")
    assert page.is_visible("#wall-down")
    assert watch.problems == []
    context.close()


def test_the_live_list_follows_the_region_drilled_into(wall_server, browser, grids, db):
    """Drilled into a township, the side list shows that township's last cases and those
    that come meanwhile, none of elsewhere; back up at the wall's own county, the county's."""
    base = wall_server.base
    with db.connect() as conn:
        here, there = conn.execute(text(
            "SELECT code FROM region WHERE parent_code = '441502' ORDER BY code LIMIT 2")
        ).scalars()
    spots = {t: grids[grids["village_code"].str.startswith(t)].geometry.representative_point()
             for t in (here, there)}
    command = token(base)

    def reported(township: str, what: str) -> int:
        return report(base, command, spots[township].iloc[0].x, spots[township].iloc[0].y, what)

    def listed_in() -> set[str]:  # the townships of the cases listed
        ids = page.evaluate("[...document.querySelectorAll('#wall-list li[data-id]')]"
                            ".map((li) => Number(li.dataset.id))")
        with db.connect() as conn:
            return set(conn.execute(text(
                "SELECT township_code FROM incident WHERE id IN :ids").bindparams(
                    bindparam("ids", expanding=True)), {"ids": ids}).scalars())

    earlier = reported(here, "先报")
    # then more cases elsewhere than the county's list holds
    run(in_transaction(lambda conn: store_cases(
        conn, [(p.x, p.y) for p in spots[there].iloc[[n % len(spots[there])
                                                      for n in range(55)]]])))
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base)
    wait_until(page, "document.querySelectorAll('#wall-list li').length === 50", "the county's")
    assert not page.evaluate(listed(earlier)) and listed_in() == {there}
    page.locator("#wall-down").select_option(here)
    wait_until(page, f"window.mapsvcWall.region.code === '{here}'", "the township")
    wait_until(page, listed(earlier), "the township's last cases, asked for")
    assert listed_in() == {here}
    steps = page.evaluate("window.mapsvcWall.steps")
    elsewhere, inside = reported(there, "别处新报"), reported(here, "本镇新报")
    wait_until(page, listed(inside), "the township's new case, live")
    assert page.evaluate("window.mapsvcWall.steps") == steps + 1  # the other never sent
    assert not page.evaluate(listed(elsewhere)) and listed_in() == {here}
    assert page.evaluate("document.querySelector('#wall-list li').dataset.id") == str(inside)
    page.click("#wall-up")
    wait_until(page, "window.mapsvcWall.region.code === '441502'", "the county again")
    wait_until(page, f"{listed(elsewhere)} && {listed(inside)}", "the county's last cases")
    assert not page.evaluate(listed(earlier))
    assert watch.problems == []
    context.close()


def test_a_region_clicked_while_the_map_still_zooms_is_framed(wall_server, browser, grids, db):
    """Leaflet drops a view asked for while it draws a zoom (a quarter of a second): a region
    clicked meanwhile, as a quick hand does right after the drill before, is framed still."""
    spot = grids[grids["code"].str.startswith("441502")].iloc[7].geometry.representative_point()
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, wall_server.base)
    wait_until(page, _between_panels(page, db, "441502"), "the county between the panels")
    wait_until(page, "window.mapsvcWall.children === 'township'", "the townships drawn")
    assert click_while_zooming(page, "window.mapsvcWall.map", spot.x, spot.y,
                               *_on_screen(page, spot.x, spot.y))
    region = "window.mapsvcWall.region"
    wait_until(page, f"{region}.kind === 'township'", "the township")
    wait_until(page, _between_panels(page, db, page.evaluate(f"{region}.code")),
               "the township between the panels")
    assert watch.problems == []
    context.close()


def test_the_wall_asks_for_its_layers_again_each_period_of_the_clock(wall_server, browser):
    """Cases turn yellow and red with no report: with nothing happening, the wall asks for the
    layers the clock draws again after the clock's period (run forward here)."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.clock.install()
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, wall_server.base)
    page.clock.run_for(1_000)  # the page's first zoom ends: its frames follow the clock
    page.evaluate(f"void window.mapsvcWall.map.setView({VILLAGE_VIEW})")
    page.clock.run_for(1_000)
    wait_until(page, "(window.mapsvcWall.drawn.grids || 0) > 0", "grid features")
    wait_until(page, "[...document.querySelectorAll('.leaflet-tile')]"
                     ".every(t => t.classList.contains('leaflet-tile-loaded'))", "every tile")
    page.locator(".leaflet-control-layers-overlays label", has_text="高发点位").locator(
        "input").check()
    wait_until(page, "window.mapsvcWall.hotspots !== undefined", "the hot spots")
    asked = []
    page.on("request", lambda r: asked.append(r.url)
            if "/collections/grids/" in r.url or "/incidents/hotspots" in r.url else None)
    page.clock.fast_forward(30_000)
    page.clock.fast_forward(3_100)  # the wall's pause before it redraws
    page.wait_for_timeout(1_000)
    assert asked == []  # half the period: nothing asked for again
    with page.expect_request(lambda r: "/collections/grids/" in r.url), \
            page.expect_request(lambda r: "/incidents/hotspots?" in r.url):
        page.clock.fast_forward(30_000)
        page.clock.fast_forward(3_100)
    assert watch.problems == []
    context.close()


def test_a_custom_heat_window_counts_whole_local_days(wall_server, browser):
    """Heat over chosen dates counts from the first day's local midnight up to the midnight
    after the last (the tiles' until is exclusive): the last day's last second too."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, wall_server.base)
    page.locator(".leaflet-control-layers-overlays label", has_text="热力").locator(
        "input").check()
    page.select_option("#heat-window", "custom")
    page.fill("#heat-since", "2024-02-27")
    with page.expect_request(lambda r: "/collections/heat/" in r.url and "until=" in r.url) \
            as asked:
        page.fill("#heat-until", "2024-02-29")  # a leap day: the window ends on 1 March
    window = parse_qs(urlsplit(asked.value.url).query)
    assert (window["since"], window["until"]) == (["2024-02-27T00:00:00+08:00"],
                                                  ["2024-03-01T00:00:00+08:00"])
    assert watch.problems == []
    context.close()


def _waited(minutes: int) -> str:
    """How the wall says a report has waited ``minutes`` to be taken in."""
    return "最久已等" + (f"{minutes}分钟" if minutes < 60 else f"{minutes // 60}小时{minutes % 60}分"
                     if minutes < 2880 else f"{minutes // 1440}天")


def test_the_patrols_walked_today_are_drawn_on_request(wall_server, browser, accounts, grids):
    base = wall_server.base
    code = accounts["worker"][1]["grid_codes"][0]
    p = grids[grids["code"] == code].geometry.iloc[0].representative_point()
    report(base, token(base), p.x, p.y, "待受理")  # one waiting to be taken in, at least

    def patrol(metres: float) -> dict:
        return _patrolled(base, "worker", [[p.x, p.y], [p.x + metres / 102_000, p.y]])

    walked = patrol(100)
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    # the wall's computer a day ahead: what it names as today's is the service's today
    context.clock.install(time=datetime.now(timezone.utc) + timedelta(days=1))
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base)
    # its clock tells the service's day and time, not its own
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    wait_until(page, f"document.getElementById('wall-clock').textContent.startsWith("
                     f"'{now.month}月{now.day}日')", "the service's day")
    # and how long the report waiting longest to be taken in has waited, by the service's
    # clock too (by its own, a day more)
    since = datetime.fromisoformat(httpx.get(
        f"{base}/api/v1/stats/board", headers={"Authorization": f"Bearer {token(base)}"}
    ).json()["waiting_since"])
    minutes = int((datetime.now(timezone.utc) - since).total_seconds() // 60)
    wait_until(page, "document.getElementById('kpi-waited').textContent !== ''", "the wait")
    # the panel may have been drawn before the minute the test read turned, or after the next
    assert page.inner_text("#kpi-waited") in {_waited(m) for m in (minutes - 1, minutes,
                                                                   minutes + 1)}
    page.evaluate(f"void window.mapsvcWall.map.setView([{p.y}, {p.x + 50 / 102_000}], 18)")
    with page.expect_request(lambda r: "/collections/patrols/" in r.url) as asked:
        page.locator(".leaflet-control-layers-overlays label", has_text="今日巡查轨迹").locator(
            "input").check()
    assert parse_qs(urlsplit(asked.value.url).query)["window"] == ["today"]
    wait_until(page, f"window.mapsvcWall.patrolIds.has({walked['id']})", "today's patrol drawn")
    assert "巡查" in page.inner_text("#wall-legend")
    x, y = _on_screen(page, p.x + 50 / 102_000, p.y)  # the middle of the track: who, how far
    page.mouse.click(x, y)
    wait_until(page, "document.querySelector('.patrol-tip')", "the track named")
    ended = page.evaluate("(at) => localTime(new Date(at))", walked["properties"]["ended_at"])
    assert page.inner_text(".patrol-tip") == (
        f"worker · {round(walked['properties']['length_m'])} 米 · {ended}")
    assert page.evaluate("window.mapsvcWall.region.kind") == "county"  # named, not drilled
    # off the track: into the township (other tests' tracks today may lie where one click
    # lands: it names that track, and the next spot is clicked)
    for dx, dy in ((0, -100), (0, 100), (-300, -250), (300, 250)):
        page.mouse.click(x + dx, y + dy)
        if shows(page, "window.mapsvcWall.region.kind === 'township'", tries=30):
            break
    assert page.evaluate("window.mapsvcWall.region.kind") == "township"
    # the feed asked for anew, of the township, and the patrols through it since its last
    # steps: the one walked before, listed unflashed
    wait_until(page, "window.mapsvcWall.online === true", "the township's feed")
    earlier = f'#wall-list li.patrol[data-patrol="{walked["id"]}"]'
    wait_until(page, f"document.querySelector('{earlier}')", "the earlier patrol, asked for")
    assert "fresh" not in page.get_attribute(earlier, "class")
    sent = patrol(300)  # a patrol sent while the wall looks on: it pops up (in the township
    # shown), and is drawn
    fresh = f'#wall-list li.fresh.patrol[data-patrol="{sent["id"]}"]'
    wait_until(page, f"document.querySelector('{fresh}')", "the patrol, live")
    assert page.inner_text(f"{fresh} .category") == (
        f"worker · {round(sent['properties']['length_m'])} 米")
    assert code in [g["code"] for g in sent["properties"]["grids"]]
    wait_until(page, f"window.mapsvcWall.patrolIds.has({sent['id']})", "drawn with the others")
    assert watch.problems == []
    context.close()


def test_places_where_cases_keep_coming_are_drawn_counted_and_named(wall_server, browser,
                                                                   grids, db):
    """Three cases of a class within ten metres: the wall's hot spots (高发点位) of the county
    in the heat's days hold them, as the service finds them, each circled with its count; a
    click names the place and leads to its cases at the desk; another class leaves it out."""
    base = wall_server.base
    command = token(base)
    p = grids[grids["code"].str.startswith("441502")].geometry.iloc[13].representative_point()
    ids = [report(base, command, p.x + i * 4e-5, p.y, f"高发 {i}") for i in range(3)]
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base)
    with page.expect_response(lambda r: "/incidents/hotspots?" in r.url) as answered:
        page.locator(".leaflet-control-layers-overlays label", has_text="高发点位").locator(
            "input").check()
    asked = parse_qs(urlsplit(answered.value.url).query)
    assert (asked["window"], asked["county"]) == (["7d"], ["441502"])  # the heat's days
    wait_until(page, "window.mapsvcWall.hotspots !== undefined", "the hot spots drawn")
    found = httpx.get(f"{base}/api/v1/incidents/hotspots", params=asked,
                      headers={"Authorization": f"Bearer {command}"}).json()["features"]
    drawn = page.evaluate("window.mapsvcWall.hotspots")
    assert drawn == found
    ours = next(f for f in drawn if set(ids) <= set(f["properties"]["ids"]))
    counts = page.evaluate("[...document.querySelectorAll('.hotspot-count')].map((e) => "
                           "e.textContent)")
    assert sorted(counts) == sorted(str(f["properties"]["cases"]) for f in found)
    assert ["高发点位", f"同类事件 {RADIUS_M} 米内 {LEAST} 件以上（圈中为件数）"] in page.evaluate(
        "window.mapsvcWall.legend")  # as the service finds them unless asked otherwise
    names = {c["code"]: c["name"] for c in httpx.get(
        f"{base}/api/v1/categories", headers={"Authorization": f"Bearer {command}"}).json()}
    lon, lat = ours["geometry"]["coordinates"]
    page.evaluate(f"void window.mapsvcWall.map.setView([{lat}, {lon}], 15, {{animate: false}})")
    page.mouse.click(*_on_screen(page, lon, lat))
    wait_until(page, "document.querySelector('.wall-hotspot')", "the place named")
    told = page.inner_text(".wall-hotspot")
    assert told.startswith(f"高发点位 · {names['0601']}")
    assert f"{ours['properties']['cases']} 件（在办 {ours['properties']['open']} 件）" in told
    where = township_and_grid(db, ours["properties"]["grid"]["code"])  # below the county
    assert where in told.split("\n")
    links = page.eval_on_selector_all(".wall-hotspot a", "(a) => a.map((e) => e.href)")
    assert {f"{base}/map/desk#case={case}" for case in ids} <= set(links)
    page.screenshot(path=str(ARTIFACTS / "wall-hotspot.png"))
    desk = desk_opened(page, f".wall-hotspot a[href='/map/desk#case={ids[0]}']")
    wait_until(desk, f"window.mapsvcDesk && window.mapsvcDesk.selected "
                     f"&& window.mapsvcDesk.selected.id === {ids[0]}", "the case on the desk")
    desk.close()
    assert urlsplit(page.url).path == "/map/wall"  # the wall left as it was
    assert page.evaluate("window.mapsvcWall.region.kind") == "county"  # named, not drilled
    # from the keyboard: the hot spots are reached by Tab in the map, and opened by Enter
    page.evaluate("void window.mapsvcWall.map.closePopup()")
    page.focus(".folium-map")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('path.hotspot')")
    mark = page.locator(f"path.hotspot[data-hotspot='0601 {lon} {lat}']")
    assert mark.get_attribute("aria-label") == (
        f"高发点位 · {names['0601']} · {ours['properties']['cases']} 件")
    mark.focus()
    page.keyboard.press("Enter")
    wait_until(page, "document.activeElement.matches('.wall-hotspot')", "the place named")
    assert page.inner_text(".wall-hotspot") == told
    # the hot spots drawn anew meanwhile (as each minute): the focus goes back to the new mark
    page.evaluate("""(() => { window.before = document.querySelector('path.hotspot');
      document.getElementById('heat-window').dispatchEvent(new Event('change')); })()""")
    wait_until(page, "!window.before.isConnected && document.querySelector('path.hotspot')",
               "the hot spots drawn anew")
    page.keyboard.press("Escape")
    wait_until(page, "!document.querySelector('.wall-hotspot')", "the place closed")
    assert page.evaluate("document.activeElement.dataset.hotspot") == f"0601 {lon} {lat}"
    page.select_option("#heat-category", "01")  # another class: the place is not one of its
    wait_until(page, f"!window.mapsvcWall.hotspots.some((f) => f.properties.ids.includes("
                     f"{ids[0]}))", "the place left out")
    assert watch.problems == []
    context.close()


def test_a_wall_whose_session_has_ended_asks_to_sign_in_again(wall_server, browser):
    base = wall_server.base
    context = browser.new_context()
    page = context.new_page()
    open_wall(page, base)
    # the session's token no longer valid (as at the end of a shift), and the feed cut
    context.add_cookies([{"name": "mapsvc_session", "value": "ended", "url": base}])
    wall_server.stop()
    wall_server.start()
    page.wait_for_url(lambda url: "/map/login" in url, timeout=30_000)
    assert page.url.endswith("/map/login?next=/map/wall")
    context.close()


def test_the_wall_fills_a_4k_screen(wall_server, browser, db):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, wall_server.base)
    wait_until(page, _between_panels(page, db, "441502"), "the county between the panels")
    page.set_viewport_size({"width": 3840, "height": 2160})  # the kiosk goes full screen
    wait_until(page, _between_panels(page, db, "441502"), "the county framed again")
    # 东洲街道 is wider, at the zoom that would fit it to the whole screen, than the map
    # between the panels
    with db.connect() as conn:
        lon, lat = conn.execute(text("""
            SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM region
                                           WHERE code = '441502005') r""")).one()
    wait_until(page, "window.mapsvcWall.children === 'township'", "the townships drawn")
    page.mouse.click(*_on_screen(page, lon, lat))
    wait_until(page, "window.mapsvcWall.region.code === '441502005'", "东洲街道")
    wait_until(page, _between_panels(page, db, "441502005"), "东洲街道 between the panels")
    page.click("#wall-up")
    wait_until(page, _between_panels(page, db, "441502"), "the county again")
    wait_until(page, "document.getElementById('kpi-open').textContent !== '—'", "the panel")
    size = page.evaluate("parseFloat(getComputedStyle(document.getElementById('kpi-open'))"
                         ".fontSize)")
    assert size >= 48  # readable from across a room
    wait_until(page, "[...document.querySelectorAll('.leaflet-tile')]"
                     ".every(t => t.classList.contains('leaflet-tile-loaded'))", "every tile")
    page.screenshot(path=ARTIFACTS / "wall-3840x2160.png")
    assert watch.problems == []
    context.close()


def _parts(db, code: str) -> list:
    """A region's parts (shapely geometries in longitude and latitude), the largest first."""
    with db.connect() as conn:
        return [shapely.from_wkb(bytes(p)) for p in conn.execute(text(
            "SELECT ST_AsBinary(d.geom) FROM region r, ST_Dump(r.geom) d WHERE r.code = :code "
            "ORDER BY ST_Area(d.geom) DESC"), {"code": code}).scalars()]


def _label_at(page, name: str) -> tuple[float, float]:
    """Where on the map (lon, lat) the region ``name`` is named: the middle of its label."""
    return tuple(page.evaluate(f"""(() => {{
        const label = [...document.querySelectorAll(".region-label")]
          .find((el) => el.textContent === {name!r}).getBoundingClientRect();
        const at = window.mapsvcWall.map.containerPointToLatLng(
          [(label.left + label.right) / 2, (label.top + label.bottom) / 2]);
        return [at.lng, at.lat];
    }})()"""))


def test_a_citys_centre_watches_its_counties_and_the_deployments_its_cities(wall_server, browser,
                                                                            grids, db, lattice):
    """Command at four levels (Anshan's): 汕尾市's centre opens on its city with its counties
    drawn and named to drill into, its panel its counties' together and its figures opening
    them on the desk; a centre of the whole deployment opens on its cities, each named on its
    land, not on the first of its islands (汕尾市's lie 250 km south of it), and on its
    counties of no city beside them, which drill into their townships."""
    base = wall_server.base
    spot = grids[grids["code"].str.startswith("441502")].geometry.iloc[3].representative_point()
    report(base, token(base), spot.x, spot.y, "市级大屏")
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base, "shanwei")
    region = "window.mapsvcWall.region"
    wait_until(page, "window.mapsvcWall.children === 'county'", "the counties drawn")
    assert page.evaluate(f"[{region}.kind, {region}.code]") == ["city", "4415"]
    wait_until(page, "document.getElementById('wall-region-name').textContent === '汕尾市'",
               "the city's panel")
    assert page.locator(".region-label").all_inner_texts() == ["城区"]
    land, *parts = _parts(db, "4415")
    reefs = [p for p in parts if land.distance(p) > 1.0]  # over a degree (100 km) off its land
    assert reefs, "the city's reefs are in its boundary"
    shown = shapely.box(*map(float, page.evaluate(
        "window.mapsvcWall.map.getBounds().toBBoxString()").split(",")))
    assert shown.contains(shapely.box(*land.bounds))  # its land framed, all of it
    assert not any(shown.intersects(reef) for reef in reefs)  # not the sea down to its reefs
    [city] = [f for f in httpx.get(f"{base}/api/v1/regions?level=city", headers={
        "Authorization": f"Bearer {token(base)}"}).json()["features"] if f["id"] == "4415"]
    frame = shapely.box(*city["properties"]["frame"])
    assert frame.contains(shapely.box(*land.bounds))
    assert not any(frame.intersects(reef) for reef in reefs)
    wait_until(page, "document.getElementById('kpi-open').textContent !== '—'", "the figures")
    county = httpx.get(f"{base}/api/v1/stats/board",
                       headers={"Authorization": f"Bearer {token(base)}"}).json()
    assert int(page.inner_text("#kpi-open")) == county["open"] > 0  # its one county's here
    assert page.locator("a.to-desk:has(#kpi-open)").get_attribute("href") == (
        "/map/desk#" + urlencode({"view": "open", "city": "4415", "name": "汕尾市"}))
    desk = desk_opened(page, "a.to-desk:has(#kpi-open)")
    wait_until(desk, f"window.mapsvcDesk && window.mapsvcDesk.matched === {county['open']}",
               "the city's open cases on the desk")
    desk.close()
    page.mouse.click(*_on_screen(page, spot.x, spot.y))
    wait_until(page, f"{region}.kind === 'county' && {region}.code === '441502'", "城区")
    wait_until(page, "window.mapsvcWall.children === 'township'", "its townships drawn")
    page.click("#wall-up")
    wait_until(page, f"{region}.code === '4415' && window.mapsvcWall.children === 'county'",
               "back at the city")
    assert watch.problems == []
    context.close()

    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base, "city")
    wait_until(page, "window.mapsvcWall.children === 'city'", "the cities drawn")
    # framed between the panels, from the first of them to the last
    wait_until(page, _box_between_panels(*page.evaluate("window.mapsvcWall.region.bbox")),
               "the deployment between the panels")
    assert {"武汉市", "汕尾市"} <= set(page.locator(".region-label").all_inner_texts())
    # the two cities framed (the deployment's counties of no city lie far from them)
    page.evaluate("void window.mapsvcWall.map.fitBounds([[22.4, 113.6], [31.4, 116.2]], "
                  "{animate: false})")
    for code, name in (("4201", "武汉市"), ("4415", "汕尾市")):
        assert _parts(db, code)[0].contains(shapely.Point(_label_at(page, name))), name
    assert "测试县" in page.locator(".region-label").all_inner_texts()  # of no city
    # zoomed out till their names would cover one another: some left out, none written over
    # another, till zoomed in again
    named = names_shown(page, ".region-label")
    assert {"武汉市", "汕尾市", "测试县"} <= set(named)
    page.evaluate("void window.mapsvcWall.map.setZoom(1, {animate: false})")
    assert len(names_shown(page, ".region-label")) < len(named)
    page.evaluate("void window.mapsvcWall.map.fitBounds([[22.4, 113.6], [31.4, 116.2]], "
                  "{animate: false})")
    assert names_shown(page, ".region-label") == named
    view = "[window.mapsvcWall.map.getCenter(), window.mapsvcWall.map.getZoom()]"
    cities = page.evaluate(f"JSON.stringify({view})")
    page.mouse.click(*_on_screen(page, *_label_at(page, "汕尾市")))  # drilled into: its land
    west, south, east, north = land.bounds
    wait_until(page, f"""(() => {{
        const shown = window.mapsvcWall.map.getBounds();
        return {region}.code === '4415' && shown.contains([[{south}, {west}], [{north}, {east}]])
          && shown.getSouth() > {max(reef.bounds[3] for reef in reefs)};
    }})()""", "汕尾市's land framed, not its reefs")
    still = "!document.querySelector('.leaflet-zoom-anim')"  # no zoom being drawn
    wait_until(page, still, "the framing drawn")
    page.click("#wall-up")
    wait_until(page, f"window.mapsvcWall.children === 'city' && JSON.stringify({view}) === "
               f"{cities!r} && {still}", "back at the cities as they were shown")
    x, y = lattice.X0 + lattice.STEP / 2, lattice.Y0 + lattice.STEP / 2
    page.evaluate(f"void window.mapsvcWall.map.setView([{y}, {x}], 14, {{animate: false}})")
    page.mouse.click(*_on_screen(page, x, y))
    wait_until(page, f"{region}.kind === 'county' && {region}.code === '{lattice.COUNTY}'",
               "the county of no city")
    wait_until(page, "window.mapsvcWall.children === 'township'", "its townships drawn")
    assert watch.problems == []
    context.close()


def test_only_command_centres_get_the_wall(wall_server, browser):
    assert "仅供指挥中心" in refused(browser, wall_server.base, "/map/wall", "worker", PASSWORD)
    # the page refused says who is signed in and leads to their own page, or to signing in
    # as an account that may open it
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, wall_server.base, "/map/wall", "worker", PASSWORD)
    assert page.inner_text("main p:nth-of-type(2)") == "当前登录账号：worker（网格员）"
    page.click("#home")
    page.wait_for_url(f"{wall_server.base}/m/")
    page.go_back()
    page.click("#other")
    signed_in_here(page, "command", PASSWORD)
    page.wait_for_url(f"{wall_server.base}/map/wall")
    wait_until(page, "window.mapsvcWall !== undefined", "the wall")
    context.close()


def test_only_the_files_pages_load_are_served_from_the_packages(wall_server):
    base = f"{wall_server.base}/static/vendor"
    assert httpx.get(f"{base}/leaflet/dist/leaflet.js").status_code == 200
    assert httpx.get(f"{base}/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"
                     ).status_code == 200
    # a package's own docs load their libraries from CDNs: not served
    assert httpx.get(f"{base}/leaflet.vectorgrid/dist/vectorgrid-api-docs.html"
                     ).status_code == 404
    assert httpx.get(f"{base}/leaflet.vectorgrid/README.md").status_code == 404


def test_the_fonts_stylesheets_name_the_systems_fonts_first_and_are_revalidated(wall_server):
    """Each weight of the font the pages use names the systems' Chinese fonts of that weight
    before its own files (served); asked again with its ETag, it answers 304 with no body."""
    for weight, system_font in ((400, "NotoSansCJKsc-Regular"), (700, "NotoSansCJKsc-Bold")):
        url = f"{wall_server.base}/static/mapsvc/fonts/noto-sans-sc-{weight}.css"
        sheet = httpx.get(url)
        assert sheet.headers["content-type"].startswith("text/css")
        sources = re.findall(r"src: (.*);", sheet.text)
        assert len(sources) == sheet.text.count("@font-face") > 50
        assert all(src.startswith('local("') and f'local("{system_font}")' in src.split("url(")[0]
                   for src in sources)
        files = re.findall(r"url\((/static/vendor/[^)]+)\)", sheet.text)
        assert {httpx.get(wall_server.base + file).status_code for file in files[:2]} == {200}
        again = httpx.get(url, headers={"If-None-Match": sheet.headers["etag"]})
        assert again.status_code == 304 and not again.content
    assert httpx.get(f"{wall_server.base}/static/mapsvc/fonts/noto-sans-sc-500.css"
                     ).status_code == 404


def test_a_wall_nobody_stands_at_tours_its_regions_parts_and_holds_for_someone_at_it(
        server, browser, grids):
    """轮播: a village's wall opened at a kiosk's address (/map/wall?tour=2; signing in leads on
    to it) shows every two seconds the next of the village's grids, outlined, then the whole
    village, and so on; a click holds it where it is; the controls stop it."""
    sizes = grids[grids["code"].str.startswith("441502")].groupby("village_code").size()
    village = sizes[sizes == 2].index[0]
    name = new_account(region_code=village)
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server}/map/wall?tour=2")
    signed_in_here(page, name, PASSWORD)
    page.wait_for_url(f"{server}/map/wall?tour=2")
    wait_until(page, "window.mapsvcWall && window.mapsvcWall.online === true", "the live feed")
    assert page.input_value("#wall-tour") == "2"
    wait_until(page, "window.mapsvcWall.tour.stops.length === 2", "the village's grids")
    named = dict(page.evaluate("window.mapsvcWall.tour.stops.map((s) => [s.code, s.name])"))
    stops = list(named)
    assert sorted(stops) == sorted(grids[grids["village_code"] == village]["code"])
    shown = "[window.mapsvcWall.region.code, window.mapsvcWall.stack.length]"
    for code in [*stops, village, stops[0]]:  # each grid, the whole village, round again
        wait_until(page, f"window.mapsvcWall.region.code === '{code}'", f"the tour at {code}")
        assert page.evaluate(shown) == [code, 0 if code == village else 1]
        if code != village:
            assert page.evaluate("window.mapsvcWall.outlined") == code
            wait_until(page, "document.getElementById('wall-region-name').textContent === "
                       f"{json.dumps(named[code])}", f"the title naming {code}")
    page.click("#wall-title")  # someone at the wall: the tour holds
    held = page.evaluate(shown)
    page.wait_for_timeout(3000)
    assert page.evaluate(shown) == held
    page.select_option("#wall-tour", "")
    assert page.evaluate("window.mapsvcWall.tour.seconds") == 0
    assert watch.problems == []
    context.close()
