"""The command centre's wall screen (指挥中心大屏): a Folium map of the account's region with the
vector tile layers (cases: all, open or overdue), heat, backlog (by open or overdue cases)
and coverage, a legend of the layers shown, a live list of cases, and the region's panel.

Folium builds the page around our own assets: Leaflet, Leaflet.VectorGrid and the Noto Sans SC
font come from the npm registry at set-up and are served by mapsvc (``/static/vendor``; the
font's stylesheet by mapsvc.layers.fonts), the page's script and style from
``/static/mapsvc``; nothing is fetched from a CDN. The basemap is a setting and off by default:
the boundaries are the base. Anything a user typed reaches the page as data and is set as text
by the script, never as markup.
"""

import html
import json
import re
from dataclasses import dataclass

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from mapsvc.incidents.hotspots import LEAST, RADIUS_M
from mapsvc.layers.fonts import STYLESHEETS, WEIGHTS
from mapsvc.tiles.layers import COLLECTIONS, POINT_ZOOM
from mapsvc.workflow.machine import OPEN

VENDOR = "/static/vendor"
OWN = "/static/mapsvc"
JS = [("leaflet", f"{VENDOR}/leaflet/dist/leaflet.js"),
      ("vectorgrid", f"{VENDOR}/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"),
      ("gcoord", f"{VENDOR}/gcoord/dist/gcoord.global.prod.js"), ("basemap", f"{OWN}/basemap.js"),
      ("names", f"{OWN}/names.js"), ("times", f"{OWN}/times.js"), ("steps", f"{OWN}/steps.js"),
      ("views", f"{OWN}/views.js"), ("account", f"{OWN}/account.js"),
      ("wall", f"{OWN}/wall.js")]
CSS = [("leaflet_css", f"{VENDOR}/leaflet/dist/leaflet.css"),
       *((f"font_{weight}", STYLESHEETS.format(weight=weight)) for weight in WEIGHTS),
       ("views_css", f"{OWN}/views.css"), ("wall_css", f"{OWN}/wall.css")]


@dataclass
class WallRegion:
    kind: str          # city, county, township, village, or deployment
    code: str | None
    name: str
    bbox: tuple[float, float, float, float]  # minlon, minlat, maxlon, maxlat
    child: str | None = None  # the level of the regions within it, drawn to drill into

    def config(self) -> dict:
        """As a page's script is told it."""
        return {"kind": self.kind, "code": self.code, "name": self.name,
                "bbox": list(self.bbox), "child": self.child}


PANELS = """
<header><h1 id="wall-title" class="wall-panel"><span id="wall-region-name"></span> 民情地图
  <time id="wall-clock"></time></h1></header>
<main id="wall-left">
<div id="wall-kpi" class="wall-panel">
  <div class="kpi"><b id="kpi-reported_today">—</b><span>今日上报</span></div>
  <div class="kpi"><b id="kpi-closed_today">—</b><span>今日结案</span></div>
  <div class="kpi"><a class="to-desk" data-view="open" target="_blank" rel="opener"><b
    id="kpi-open">—</b></a><span>在办</span></div>
  <div class="kpi red"><a class="to-desk" data-view="red" target="_blank" rel="opener"><b
    id="kpi-overdue">—</b></a><span>超期</span></div>
  <div class="kpi"><a class="to-desk" data-view="waiting" target="_blank" rel="opener"><b
    id="kpi-waiting">—</b></a><span>待受理</span><small id="kpi-waited"></small></div>
  <div class="kpi red"><a class="to-desk" data-view="urgent" target="_blank" rel="opener"><b
    id="kpi-urgent">—</b></a><span>加急在办</span></div>
  <div class="kpi"><a class="to-stats" target="_blank" rel="opener" title="按月查看考核评价"><b
    id="kpi-on_time_closure_rate">—</b></a><span>按期结案率</span></div>
  <div class="kpi"><a class="to-stats" target="_blank" rel="opener" title="按月查看考核评价"><b
    id="kpi-satisfaction">—</b></a><span>满意度</span></div>
  <div id="kpi-public" class="grid-line"></div>
  <div id="kpi-answers" class="grid-line"></div>
  <a id="kpi-trend-link" class="trend" target="_blank" rel="opener" title="按日查看考核评价"><span
    >近14天上报</span><svg id="kpi-trend" viewBox="0 0 140 30"
       preserveAspectRatio="none"></svg></a>
  <div class="classes"><span>近14天问题类别</span><ol id="kpi-classes"></ol></div>
  <div id="kpi-grid" class="grid-line" hidden></div>
  <div id="kpi-patrols" class="grid-line" hidden></div>
  <div id="kpi-micro" class="grid-line" hidden></div>
  <div id="wall-nav">
    <select id="wall-down" aria-label="下级区域" hidden></select>
    <button id="wall-up" type="button" hidden>返回上一级</button>
    <select id="wall-tour" aria-label="轮播"><option value="">不轮播</option>
      <option value="30">每30秒轮播</option><option value="60">每1分钟轮播</option>
      <option value="120">每2分钟轮播</option><option value="300">每5分钟轮播</option></select>
  </div>
</div>
</main>
<section id="wall-controls" class="wall-panel" aria-label="显示选项">
  <label>网格着色 <select id="backlog-by"><option value="open" selected>在办件</option>
    <option value="overdue">超期件</option></select></label>
  <label>事件状态 <select id="incident-status"><option value="open" selected>在办</option>
    <option value="overdue">超期</option><option value="">全部</option></select></label>
  <label>热力、高发时段 <select id="heat-window">
    <option value="today">今日</option><option value="7d" selected>近7天</option>
    <option value="30d">近30天</option><option value="custom">自定义</option></select></label>
  <span id="heat-custom" hidden><input id="heat-since" type="date"> 至
    <input id="heat-until" type="date"></span>
  <label>类别 <select id="heat-category"><option value="">全部</option></select></label>
  <label>专项排查 <select id="wall-campaign"><option value="">不显示</option></select></label>
  <label>走访、巡查天数 <select id="visit-days"><option>7</option><option selected>30</option>
    <option>90</option></select></label>
  <a id="wall-desk" href="/map/desk">受理派遣台</a> <a href="/map/people">人口台账</a>
  <a href="/map/units">单位场所</a> <a href="/map/stats">考核评价</a>
  <a href="/map/campaigns">专项排查</a> {links}
  <span class="account"><a href="/map/password">修改密码</a>
    <button type="button" data-sign-out>退出</button></span>
</section>
<aside id="wall-right" aria-label="图层与实时事件">
<div id="wall-layers" class="wall-panel"></div>
<div id="wall-legend" class="wall-panel"></div>
<div id="wall-live" class="wall-panel">
  <h2>实时事件 <small id="wall-connection">连接中</small></h2>
  <ol id="wall-list"></ol>
</div>
</aside>
"""


class MetricScale(MacroElement):
    """The map's scale, in metres and kilometres only, as wide as the screen is large."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, maxWidth: Math.max(100, window.innerWidth / 16)})
          .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)


class Start(MacroElement):
    """Calls a page's script (``function``) once Folium has made the map."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.function }}({{ this._parent.get_name() }}, {{ this.config }});
        {% endmacro %}
    """)

    def __init__(self, function: str, config: dict):
        super().__init__()
        self._name = "MapsvcStart"
        self.function = function
        self.config = script_json(config)


def script_json(value) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' that could end it."""
    return (json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")
            .replace(">", "\\u003e").replace("&", "\\u0026"))


def folium_page(bbox, *, title: str, js: list, css: list, panels: str, basemap: dict | None,
                fitted: bool = True):
    """A Folium map over ``bbox`` (or, not ``fitted``, about it: the page's script frames it,
    and a framing here too would glide on after that one, ending where it would) built on our
    own assets, with the page's panels, on ``basemap`` (``PageSettings.basemap``); returns the
    map (to add the page's start) and its root (to render)."""
    minx, miny, maxx, maxy = bbox
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10, tiles=None,
                   prefer_canvas=True, zoom_control=True)
    MetricScale().add_to(m)
    m.default_js = js
    m.default_css = css
    if basemap:
        folium.TileLayer(basemap["url"], attr=basemap["attribution"],
                         subdomains=basemap["subdomains"], gcj02=basemap["gcj02"],
                         name="底图").add_to(m)
    if fitted:
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    root = m.get_root()
    root.header.add_child(Element('<meta name="viewport" content="width=device-width, '
                                  'initial-scale=1">'
                                  f'<title>{html.escape(title)}</title>'
                                  '<link rel="icon" href="data:,">'))
    root.html.add_child(Element(panels))
    return m, root


FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*user-scalable=no[^>]*>\s*')


def rendered(root) -> str:
    """The page ``folium_page`` built, written in Chinese (its ``lang``, as screen readers,
    the browser's fonts and its offer to translate read it), its map a landmark named 地图 (as
    its panels are landmarks, each a screen reader may go to), and zoomable on a phone's
    screen: of the two viewports, Folium's, which forbids zooming, is left out."""
    page = (root.render().replace("<html>", '<html lang="zh-CN">', 1)
            .replace('<div class="folium-map"', '<div class="folium-map" role="region" '
                     'aria-label="地图"', 1))
    return FOLIUM_VIEWPORT.sub("", page, count=1)


def wall_page(region: WallRegion, *, categories: list[dict], basemap: dict | None,
              clock_seconds: float, links: str = "") -> str:
    """The wall screen over ``region``; ``links``: to the account's pages beside the
    command centre's (an administrator's)."""
    m, root = folium_page(region.bbox, title="民情地图 · 指挥中心", js=JS, css=CSS,
                          panels=PANELS.replace("{links}", links), basemap=basemap,
                          fitted=False)
    Start("mapsvcWall", {
        "region": region.config(),
        "tiles": "/ogc/collections/{collection}/tiles/WebMercatorQuad/{z}/{x}/{y}",
        "api": "/api/v1",
        "categories": categories,
        "minzoom": {c.id: c.minzoom for c in COLLECTIONS.values()},
        "pointZoom": POINT_ZOOM,
        "openStates": list(OPEN),
        "clockSeconds": clock_seconds,  # how often tiles drawn by the clock are drawn anew
        "hotspots": {"radiusM": RADIUS_M, "least": LEAST},  # what the hot spots layer shows
    }).add_to(m)
    return rendered(root)
