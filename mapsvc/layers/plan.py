"""The planner's page (网格规划): pick a village (in the lists, or on the map, where the
region's townships and then villages are drawn), open or start a draft plan (or have one
proposed from the registered households), reshape, draw,
split, merge and remove its grids (Leaflet-Geoman from the npm registry, snapping to the
neighbours and the village edge), see households against the sizing rules, validate, preview
the impact and publish; open the village's published plans again, read-only, as its history.

Edits go through the same API as QGIS: OGC API – Features on the plan's grids, and the plan
endpoints for split, merge, validation, impact and publish. Everything a user typed is set as
text by the script.
"""

import html

from mapsvc.geo.crs import CRS_NAMES
from mapsvc.layers.wall import CSS as WALL_CSS
from mapsvc.layers.wall import JS as WALL_JS
from mapsvc.layers.wall import OWN, VENDOR, Start, WallRegion, folium_page, rendered

JS = [*(js for js in WALL_JS if js[0] in ("leaflet", "gcoord", "basemap", "times", "views",
                                          "account")),
      ("geoman", f"{VENDOR}/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.js"),
      ("page", f"{OWN}/page.js"), ("plan", f"{OWN}/plan.js")]
CSS = [*(css for css in WALL_CSS
         if css[0] in ("leaflet_css", "font_400", "font_700", "views_css")),
       ("geoman_css", f"{VENDOR}/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css"),
       ("plan_css", f"{OWN}/plan.css")]

PANELS = """
<main id="plan-panel">
  <nav><a href="/map/password">修改密码</a> <button type="button" data-sign-out>退出</button></nav>
  <h1>网格规划</h1>
  <div id="plan-pick"></div>
  <section id="plan-over-box" hidden>
    <h2 id="plan-over-title"></h2>
    <ol id="plan-over"></ol>
  </section>
  <details id="plan-changes">
    <summary>网格变更记录</summary>
    <div class="row"><input id="changes-from" type="date" aria-label="起"> 至
      <input id="changes-to" type="date" aria-label="止">
      <button id="changes-show" type="button">查看</button></div>
    <p id="changes-summary"></p>
    <ol id="changes-list"></ol>
  </details>
  <section id="plan-drafts" hidden>
    <label>方案 <select id="plan-select"></select></label>
    <div class="row"><input id="plan-name" placeholder="新方案名称" maxlength="200">
      <button id="plan-new" type="button">新建方案</button></div>
    <div class="row"><span>每格至多 <input id="plan-propose-max" type="number" min="1"
      max="100000" step="1" aria-label="每格至多户数"> 户</span>
      <button id="plan-propose" type="button">按登记住户自动划分</button></div>
  </section>
  <p id="plan-message" role="status"></p>
  <section id="plan-tools" hidden>
    <p id="plan-status"></p>
    <p class="hint">点击网格或在下面勾选以选中（可多选）；用左侧工具绘制新网格、调整边界、删除网格。切分：在图上画线，或沿较长边的垂线对半切分。</p>
    <ul id="plan-grid-list" aria-label="本方案的网格"></ul>
    <div class="row">
      <button id="plan-split" type="button">切分选中网格</button>
      <button id="plan-merge" type="button">合并选中网格</button>
    </div>
    <div class="row"><button id="plan-halve" type="button">对半切分</button>
      <select id="plan-halve-by" aria-label="对半切分的依据"><option value="area">面积相等
        </option><option value="households">登记户数相当</option></select></div>
    <p class="row">下载本方案图层：<a id="plan-download-gpkg" download>GeoPackage</a>
      <a id="plan-download-geojson" download>GeoJSON</a></p>
    <form id="plan-layer"><label>导入图层 <input name="file" type="file"
      accept=".gpkg,.geojson,.json,.zip" required></label>
      <label>坐标系（文件未注明时） <select name="crs">
        <option value="">文件已注明</option>{crs_options}</select></label>
      <label>Shapefile 编码 <select name="encoding"><option value="">自动识别（UTF-8 或 GBK）
        </option><option value="gbk">GBK</option><option value="utf-8">UTF-8</option>
        <option value="big5">Big5</option></select></label>
      <div class="row"><button type="submit">导入</button></div>
    </form>
    <p class="hint">在 QGIS 等软件中编辑后的网格图层（GeoPackage、GeoJSON，或 zip 打包的
      Shapefile；字段 code、name、parent_code，同下载的图层），整体替换本方案的网格；有问题的要素逐一列出，均不导入。</p>
    <div class="row">
      <button id="plan-validate" type="button">校验</button>
      <button id="plan-impact" type="button">影响预览</button>
      <button id="plan-publish" type="button">发布</button>
    </div>
    <ol id="plan-findings"></ol>
    <table id="plan-moves" hidden><thead><tr><th>从</th><th>到</th><th>事件</th><th>户</th>
      <th>其中离开微网格</th><th>人</th><th>组织</th><th>部件</th></tr></thead><tbody></tbody>
    </table>
  </section>
  <ul id="plan-legend"><li class="ok">户数合规</li><li class="under">户数偏少</li>
    <li class="over">超出上限</li><li class="unknown">未校验或未登记住户</li></ul>
</main>
"""


def plan_page(region: WallRegion, *, basemap: dict | None) -> str:
    crs_options = "".join(f'<option value="{value}">{html.escape(name)}</option>'
                          for value, name in CRS_NAMES.items())
    m, root = folium_page(region.bbox, title="民情地图 · 网格规划", js=JS, css=CSS,
                          panels=PANELS.replace("{crs_options}", crs_options), basemap=basemap)
    Start("mapsvcPlan", {
        "region": region.config(),
        "api": "/api/v1", "ogc": "/ogc",
    }).add_to(m)
    return rendered(root)
