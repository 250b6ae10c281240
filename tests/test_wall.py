"""The wall screen in headless Chromium (Debian's, driven by Playwright): it loads clean, draws
grids, shows a case reported through the API without reload, recovers from a server restart,
and shows typed text as text. Screenshots go to tests/artifacts."""

import uuid

import httpx
import pytest

from tests.browser import Watch, sign_in, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, Server

VILLAGE_VIEW = "[22.8058, 115.2558], 13"  # a village of 汕尾市城区, the command account's county


@pytest.fixture(scope="module")
def wall_server(server):
    """A server of its own, so that the test may restart it."""
    served = Server("wall-server").start()
    yield served
    served.stop()


def open_wall(page, base: str, username: str = "command"):
    page.goto(f"{base}/map/wall")
    assert "/map/login" in page.url  # no session yet
    sign_in(page, base, "/map/wall", username, PASSWORD)
    wait_until(page, "window.mapsvcWall && window.mapsvcWall.online === true", "the live feed")


def report(base: str, token: str, lon: float, lat: float, description: str) -> int:
    r = httpx.post(f"{base}/api/v1/incidents", headers={"Authorization": f"Bearer {token}"},
                   json={"client_id": str(uuid.uuid4()), "category": "0601", "lon": lon,
                         "lat": lat, "description": description})
    assert r.status_code == 201
    return r.json()["id"]


def token(base: str) -> str:
    return httpx.post(f"{base}/api/v1/auth/token", data={
        "username": "command", "password": PASSWORD}).json()["access_token"]


def listed(case: int) -> str:
    return f"!!document.querySelector('#wall-list li[data-id=\"{case}\"]')"


def test_the_wall_shows_grids_and_live_cases_and_survives_a_restart(wall_server, browser,
                                                                    grids, accounts):
    base = wall_server.base
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, base)
    assert page.evaluate("window.mapsvcWall.region.code") == "441502"
    page.evaluate(f"window.mapsvcWall.map.setView({VILLAGE_VIEW})")
    wait_until(page, "(window.mapsvcWall.drawn.grids || 0) > 0", "grid features")
    wait_until(page, "document.getElementById('kpi-open').textContent !== '–'", "the panel")

    grid = grids[grids["code"].str.startswith("441502")].geometry.iloc[3].representative_point()
    typed = "<script>window.pwned = 1</script><b>井盖</b>缺失 & 下陷"
    case = report(base, token(base), grid.x, grid.y, typed)
    wait_until(page, listed(case), "the new case in the list")
    item = page.locator(f'#wall-list li[data-id="{case}"]')
    assert item.locator(".description").text_content() == typed
    assert page.evaluate("window.pwned") is None
    assert page.locator("#wall-list b").count() == 0
    page.screenshot(path=ARTIFACTS / "wall-1920x1080.png")
    assert watch.problems == []

    wall_server.stop()  # the page loses its feed and its tiles for a moment
    wait_until(page, "window.mapsvcWall.online === false", "that it is offline")
    wall_server.start()
    wait_until(page, "window.mapsvcWall.online === true", "that it is back online")
    after = report(base, token(base), grid.x, grid.y, "重启之后")
    wait_until(page, listed(after), "a case reported after the restart")
    context.close()


def test_the_wall_fills_a_4k_screen(wall_server, browser):
    context = browser.new_context(viewport={"width": 3840, "height": 2160})
    page = context.new_page()
    watch = Watch(page)
    open_wall(page, wall_server.base)
    wait_until(page, "document.getElementById('kpi-open').textContent !== '–'", "the panel")
    size = page.evaluate("parseFloat(getComputedStyle(document.getElementById('kpi-open'))"
                         ".fontSize)")
    assert size >= 48  # readable from across a room
    page.screenshot(path=ARTIFACTS / "wall-3840x2160.png")
    assert watch.problems == []
    context.close()


def test_only_command_centres_get_the_wall(wall_server, browser):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, wall_server.base, "/map/wall", "worker", PASSWORD)
    assert "仅供指挥中心" in page.content()
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
