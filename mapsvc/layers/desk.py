"""The command centre's desk (受理派遣台): the cases newly reported, those filed and waiting to be
dispatched, those handled and waiting to be checked, those closed and waiting to be followed up,
those escalated to the centre's level, the open urgent ones, the overdue, the nearly due, those
whose handler asked for more time, and the unassigned, or all of them (a department's, a
class's), newest first (an urgent case marked 急); a case opened on the map with its details and
steps, with the open cases nearby it may repeat (to be merged into one of them), and moved on
through the loop (verified, filed or rejected, put in its class, dispatched, checked, closed and
followed up; extended, suspended, supervised, marked urgent, escalated, voided; moved to where it
is, picked on the map, into the grid it lands in); cases ticked in the list moved on at once by a
step they all may take (批量办理); the list's cases, of any department and any source (the
public's: the hotline's and citizens'), downloaded as the ledger (案件台账). A case is also opened
by its number. The list follows the live feed.

A case offers the actions mapsvc.workflow.machine lets the account's role take in its state
(their rules come with the names, names.js), with the fields each needs. Everything a user
typed is set as text by the script.
"""

from mapsvc.accounts.model import Role
from mapsvc.layers.wall import CSS as WALL_CSS
from mapsvc.layers.wall import JS as WALL_JS
from mapsvc.layers.wall import OWN, Start, WallRegion, folium_page

JS = [*(js for js in WALL_JS if js[0] in ("leaflet", "names", "times", "steps", "views",
                                          "account")),
      ("page", f"{OWN}/page.js"), ("desk", f"{OWN}/desk.js")]
CSS = [*(css for css in WALL_CSS if css[0] in ("leaflet_css", "font_400", "font_700")),
       ("desk_css", f"{OWN}/desk.css")]

PANELS = """
<aside id="desk-panel">
  <nav><a href="/map/wall">指挥大屏</a> <a href="/map/people">人口台账</a>
    <a href="/map/stats">考核评价</a> {links}
    <a href="/map/password">修改密码</a>
    <button type="button" data-sign-out>退出</button></nav>
  <h1>受理派遣 <small id="desk-region"></small>
    <small id="desk-scope" hidden>› <span></span>
      <button type="button">全部辖区</button></small></h1>
  <div class="row">
    <label>案件 <select id="desk-view">
      <option value="reported" selected>新上报待受理</option>
      <option value="waiting">待受理（含核实中）</option>
      <option value="filed">已立案待派遣</option><option value="handled">处置完成待核查</option>
      <option value="closed">已结案待回访</option><option value="mine">上报至本中心</option>
      <option value="open">在办</option>
      <option value="urgent">加急</option><option value="red">超期</option>
      <option value="overdue">处置超期</option>
      <option value="yellow">即将到期</option><option value="extension">延期申请待审批</option>
      <option value="unassigned">未入格待分派</option>
      <option value="all">全部</option></select></label>
    <label>部门 <select id="desk-department"></select></label>
    <label>类别 <select id="desk-category"></select></label>
    <label>来源 <select id="desk-source"></select></label>
    <label>排序 <select id="desk-order"><option value="newest" selected>最新在前</option>
      <option value="oldest">最早在前</option><option value="due">最急在前</option>
      </select></label>
    <a id="desk-export" download="案件台账.csv">导出台账</a>
    <small id="desk-connection">连接中</small>
  </div>
  <form id="desk-find" class="row"><label>案件编号 <input name="id" type="number" min="1"
    required></label><button type="submit">打开</button></form>
  <div class="row"><label>描述含 <input id="desk-words" type="search" maxlength="100"
    placeholder="关键词"></label></div>
  <p id="desk-count"></p>
  <div id="desk-batch" class="row"><label><input type="checkbox" id="desk-all"> 全选</label>
    <span id="desk-chosen"></span><span id="desk-batch-actions" class="row"></span></div>
  <div id="desk-doing">
    <form id="desk-form" hidden>
      <h3 id="desk-form-title"></h3>
      <label data-field="category">类别 <select name="category"></select></label>
      <label data-field="department">处置部门 <select name="department"></select></label>
      <label data-field="satisfaction">满意度 <select name="satisfaction">
        <option value="5">5 非常满意</option><option value="4">4 满意</option>
        <option value="3">3 基本满意</option><option value="2">2 不满意</option>
        <option value="1">1 非常不满意</option></select></label>
      <label data-field="level">督办等级 <select name="level"><option value="normal">一般</option>
        <option value="yellow">黄牌</option><option value="red">红牌</option></select></label>
      <label data-field="working_days">延期工作日 <input name="working_days" type="number"
        min="1" max="10"></label>
      <label data-field="original">重复于案件编号 <input name="original" type="number"
        min="1"></label>
      <p data-field="point">正确位置：<output id="desk-point">在地图上点击案件的正确位置，
        可拖动标记</output></p>
      <label data-field="note">情况说明 <textarea name="note" maxlength="2000"
        rows="3"></textarea></label>
      <div id="desk-phrases" aria-label="常用语"></div>
      <div class="row"><button type="submit">提交</button>
        <button type="button" id="desk-form-cancel">取消</button></div>
    </form>
    <p id="desk-message" role="status"></p>
  </div>
  <ol id="desk-list"></ol>
  <button type="button" id="desk-more" hidden></button>
  <section id="desk-case" hidden>
    <h2 id="desk-case-title"></h2>
    <dl id="desk-case-facts"></dl>
    <p id="desk-case-description"></p>
    <section id="desk-duplicates" hidden>
      <h3>可能重复的案件</h3>
      <ol id="desk-duplicate-list"></ol>
    </section>
    <div id="desk-actions" class="row"></div>
    <h3>办理进度</h3>
    <ol id="desk-steps"></ol>
  </section>
</aside>
"""


def desk_page(region: WallRegion, role: Role, *, departments: list[dict], list_most: int,
              batch_most: int, basemap: str | None, basemap_attribution: str,
              links: str = "") -> str:
    """The desk over ``region`` for an account of ``role``; ``list_most``: the most cases its
    list shows (a page of the API's at most); ``batch_most``: the most a step is taken on at
    once; ``links``: to its pages beside the command centre's (an administrator's)."""
    m, root = folium_page(region.bbox, title="民情地图 · 受理派遣", js=JS, css=CSS,
                          panels=PANELS.replace("{links}", links), basemap=basemap,
                          basemap_attribution=basemap_attribution)
    Start("mapsvcDesk", {
        "region": {"kind": region.kind, "code": region.code, "name": region.name},
        "api": "/api/v1", "role": role, "departments": departments, "listMost": list_most,
        "batchMost": batch_most,
    }).add_to(m)
    return root.render()
