"""A deployment's basemap (``MAPSVC_PAGES_BASEMAP_URL``): drawn under the wall's regions and
under the grid worker's grids on the phone, from the tile servers it names (one per letter of
its {s}), allowed by the pages' content policy, with its attribution; each place it shows
where the pages' layers put it, a GCJ-02 basemap's (AMap's, Tencent's) too."""

import io
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import morecantile
import pytest
from PIL import Image

from mapsvc.geo.crs import from_wgs84
from tests.browser import Watch, sign_in, standing, wait_until
from tests.conftest import PASSWORD, Server, free_port, serve_to_its_end
from tests.test_phone import _sign_in

ATTRIBUTION = "© 测试底图"
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
WEB_MERCATOR_METRES_AT_17 = 2 * math.pi * 6378137 / 256 / 2**17  # a pixel's width at zoom 17


class TileServer(ThreadingHTTPServer):
    """A basemap's tile servers, ta.localhost and tb.localhost (named as Tianditu's are, t0 to
    t7; Chromium takes any name under localhost for this machine), on other origins than
    mapsvc's (127.0.0.1): each tile a plain square, answering CORS (as Tianditu's do) while
    ``cors``, and nothing but 503 while ``down``; the tiles asked for kept as (z, x, y), and
    the servers asked."""

    def __init__(self):
        buffer = io.BytesIO()
        Image.new("RGB", (256, 256), (230, 226, 214)).save(buffer, "PNG")
        tile, self.asked, self.servers = buffer.getvalue(), set(), set()
        self.cors, self.down = True, False

        class Tiles(BaseHTTPRequestHandler):
            def do_GET(handler):
                if self.down:
                    handler.send_error(503)
                    return
                z, x, y = handler.path.removesuffix(".png").strip("/").split("/")
                self.asked.add((int(z), int(x), int(y)))
                self.servers.add(handler.headers["Host"].split(".")[0])
                handler.send_response(200)
                handler.send_header("Content-Type", "image/png")
                handler.send_header("Content-Length", str(len(tile)))
                if self.cors:
                    handler.send_header("Access-Control-Allow-Origin", "*")
                handler.end_headers()
                handler.wfile.write(tile)

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", free_port()), Tiles)


@pytest.fixture(scope="module")
def basemap():
    tiles = TileServer()
    threading.Thread(target=tiles.serve_forever, daemon=True).start()
    yield tiles
    tiles.shutdown()


@pytest.fixture(scope="module", params=["cgcs2000", "gcj02"])
def served(request, basemap, accounts):
    """The service with the basemap, drawn in the coordinates of ``served.crs``; its servers
    answering CORS in CGCS2000 (as Tianditu's do), not in GCJ-02 (a server that does not)."""
    basemap.cors = request.param == "cgcs2000"
    served = Server("basemap", env={
        "MAPSVC_PAGES_BASEMAP_URL":
            f"http://t{{s}}.localhost:{basemap.server_port}/{{z}}/{{x}}/{{y}}.png",
        "MAPSVC_PAGES_BASEMAP_SUBDOMAINS": "ab", "MAPSVC_PAGES_BASEMAP_CRS": request.param,
        "MAPSVC_PAGES_BASEMAP_ATTRIBUTION": ATTRIBUTION}).start()
    served.crs = request.param
    yield served
    served.stop()


def _on_basemap(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Where the basemap drawn in ``crs`` shows the place at WGS84 ``lon``, ``lat``."""
    x, y = from_wgs84(lon, lat, crs)
    return float(x), float(y)


def _offset(lon: float, lat: float) -> tuple[float, float]:
    """How far east and north of the place at WGS84 ``lon``, ``lat`` a GCJ-02 basemap shows it,
    in Web Mercator metres."""
    (gx, gy), (x, y) = WEB_MERCATOR.xy(*_on_basemap(lon, lat, "gcj02")), WEB_MERCATOR.xy(lon, lat)
    return gx - x, gy - y


def _under(page, map_js: str, basemap: TileServer, crs: str, at=None) -> None:
    """The basemap's tile showing ``at`` (lon, lat; the map's middle, if none) at the map's
    zoom, as the map settles, asked for and drawn with the place it shows there where the
    map's layers put ``at`` (within 3 pixels), with its attribution."""
    for _ in range(300):
        view = page.evaluate(f"(() => {{ const c = {map_js}.getCenter();"
                             f" return [c.lng, c.lat, {map_js}.getZoom()]; }})()")
        lon, lat = at or view[:2]
        shown = _on_basemap(lon, lat, crs)
        tile = WEB_MERCATOR.tile(*shown, view[2])
        drawn = page.evaluate(f"""(() => {{
          const map = {map_js};
          const img = [...document.querySelectorAll("img.leaflet-tile-loaded")]
            .find((img) => img.src.endsWith("/{tile.z}/{tile.x}/{tile.y}.png"));
          if (!img || map._animatingZoom) return null;
          const box = img.getBoundingClientRect();
          const frame = map.getContainer().getBoundingClientRect();
          const point = map.latLngToContainerPoint([{lat}, {lon}]);
          return [box.left, box.top, box.width, frame.left + point.x, frame.top + point.y];
        }})()""")
        if drawn:
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the basemap's tile under the point never drawn")
    left, top, width, x, y = drawn
    west, south, east, north = WEB_MERCATOR.xy_bounds(tile)
    mx, my = WEB_MERCATOR.xy(*shown)
    on_tile = (left + (mx - west) / (east - west) * width,
               top + (north - my) / (north - south) * width)
    assert on_tile == pytest.approx((x, y), abs=3), "the basemap lies off the map's layers"
    assert (tile.z, tile.x, tile.y) in basemap.asked
    assert basemap.servers == {"ta", "tb"}
    assert ATTRIBUTION in page.inner_text(".leaflet-control-attribution")


def _problems(page, basemap: TileServer):
    """What goes wrong on ``page`` (``Watch``) but a tile of the basemap dropped as the map
    zooms (Leaflet lets go of the tiles of the zoom it leaves): read once the page is done."""
    watch, dropped, tiles = Watch(page), [], f".localhost:{basemap.server_port}/"
    page.on("requestfailed", lambda request: tiles in request.url
            and dropped.append(request.failure))

    def problems() -> list[str]:
        assert set(dropped) <= {"net::ERR_ABORTED"}
        return [problem for problem in watch.problems
                if not (problem.startswith("failed: ") and tiles in problem)]
    return problems


def test_the_wall_draws_the_basemap_under_its_regions(browser, served, basemap):
    """Also at a street's zoom, and where the map comes to rest once dragged 20 km east of
    there (where a GCJ-02 basemap's offset is not the one it was first shifted by)."""
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    problems = _problems(page, basemap)
    sign_in(page, served.base, "/map/wall", "command", PASSWORD)
    wall = "window.mapsvcWall.map"
    wait_until(page, f"window.mapsvcWall && {wall}", "the wall's map")
    _under(page, wall, basemap, served.crs)
    lon, lat = page.evaluate(f"[{wall}.getCenter().lng, {wall}.getCenter().lat]")
    page.evaluate(f"{wall}.setView([{lat}, {lon}], 17, {{ animate: false }})")
    _under(page, wall, basemap, served.crs)
    page.evaluate(f"""(() => {{  // as dragged: a screen's width at a time (a pan farther
      const map = {wall};          // than that draws the map anew, as a zoom does)
      while (map.getCenter().lng < {lon + 0.2}) map.panBy([1500, 0], {{ animate: false }});
    }})()""")
    if served.crs == "gcj02":  # there the basemap is shifted by more than the 3 pixels allowed
        before, after = _offset(lon, lat), _offset(*page.evaluate(
            f"[{wall}.getCenter().lng, {wall}.getCenter().lat]"))  # other than it was
        assert max(abs(a - b) for a, b in zip(before, after)) > 6 * WEB_MERCATOR_METRES_AT_17
    _under(page, wall, basemap, served.crs)
    assert problems() == []
    page.close()


def test_the_phone_draws_the_basemap_under_the_workers_grids(browser, served, basemap,
                                                            worker_spot):
    code, spot = worker_spot
    context = standing(browser, spot)
    page = context.new_page()
    problems = _problems(page, basemap)
    page.goto(f"{served.base}/m/")
    _sign_in(page)
    wait_until(page, f"window.mapsvcPhone.outlined === '{code}'", "the worker's grid outlined")
    phone = "window.mapsvcPhone"
    _under(page, f"{phone}.map", basemap, served.crs, (spot.x, spot.y))
    assert problems() == []
    # the tiles over the worker's grid kept on the phone, if their servers answer CORS: with no
    # signal, the page opened again (framing the street about the fix) draws them; if not, none
    # (drawn, they were not kept)
    wait_until(page, f"{phone}.tilesKept !== undefined", "the basemap's tiles kept")
    assert (page.evaluate(f"{phone}.tilesKept") > 0) == basemap.cors
    tried = (f"{phone}.basemap && !{phone}.basemap.isLoading()"
             " && document.querySelectorAll('img.leaflet-tile').length > 0")
    wait_until(page, tried, "the tiles shown loaded")  # none still on its way
    context.set_offline(True)
    basemap.down = True  # (whatever the browser's emulation lets through)
    try:
        page.reload()
        wait_until(page, f"{phone}.framed === true", "the fix framed offline")
        if basemap.cors:
            _under(page, f"{phone}.map", basemap, served.crs, (spot.x, spot.y))
        else:
            wait_until(page, tried, "the basemap's tiles tried")
            assert page.locator("img.leaflet-tile-loaded").count() == 0
    finally:
        basemap.down = False
    context.close()


def test_a_basemap_set_wrong_stops_the_service_saying_so():
    """Read as the service starts, not by the first page to draw it (a 500): a template with
    no tile's place in it, coordinates the pages cannot shift a basemap from (Baidu's tiles
    are not Web Mercator's), and with them a page setting out of range, each named."""
    refused = serve_to_its_end({"MAPSVC_PAGES_BASEMAP_URL": "https://tiles.example.cn/map.png",
                                "MAPSVC_PAGES_BASEMAP_CRS": "bd09",
                                "MAPSVC_PAGES_PHONE_ACCURACY_M": "0"})
    assert refused.returncode == 2
    assert "MAPSVC_PAGES_BASEMAP_URL: " in refused.stderr and "{z}, {x} and {y}" in refused.stderr
    assert "MAPSVC_PAGES_BASEMAP_CRS: " in refused.stderr and "'gcj02'" in refused.stderr
    assert "MAPSVC_PAGES_PHONE_ACCURACY_M: " in refused.stderr
