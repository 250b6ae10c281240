"""The command centre's desk (受理派遣台): the cases newly reported, those filed and waiting to be
dispatched, those handled and waiting to be checked, those closed and waiting to be followed up,
those escalated to the centre's level, the open urgent ones, the urged, those whose caller is
still to be told, the overdue, the nearly due, those whose handler asked for more time, those
whose department asked to take them out of the evaluation, and the unassigned, or all of them (a
department's, a class's), newest first (an urgent case marked 急); a case opened on the map with
its details and steps, with the open cases nearby it may repeat (to be merged into one of them),
and moved on through the loop (verified, filed or rejected, put in its class, dispatched,
checked, closed and followed up; extended, suspended, supervised, marked urgent, urged,
escalated, voided, taken out of the evaluation (不纳入考核) or not as asked; moved to where it is,
picked on the map, into the grid it lands in); cases ticked in the list moved on at once by a
step they all may take (批量办理); the list's cases, of any department and any source (the public's:
the hotline's and citizens'), downloaded as the ledger (案件台账). A case is also opened by its
number, and a caller's report registered (来电登记), placed on the map or at a standard address
found by its words, with who called; they are shown masked, and in full once a reason is given
(audited). The phone typed lists the cases reported from it, an open one urged (催办) in place
of a new case. A hotline's file of cases is imported (导入工单), each line at fault named with
why. The list follows the live feed.

A department opens the same desk on its own cases (专业部门处置台, 协同工作): those waiting to be
taken on and those it is handling, the urgent, the urged, those whose caller it is still to
tell, the overdue and the nearly due, those it asked more time for, those it handled and the
centre is to check, those it asked the centre to take out of the evaluation; taken on, their
callers told (联系诉求人), handed back, given more time or reported handled (with the photos of
the result), one at a time or many at once, and asked to be taken out of the evaluation
(申请不纳入考核, 申诉).

A case offers the actions mapsvc.workflow.machine lets the account's role take in its state
(their rules come with the names, names.js), with the fields each needs. Everything a user
typed is set as text by the script.
"""

import html

from mapsvc.accounts.model import IMPORTERS, REPORTERS, Role
from mapsvc.incidents.bulk import HEADINGS, OPTIONAL, REQUIRED
from mapsvc.incidents.model import NUMBER_MOST, PHONE, PHOTOS_MOST
from mapsvc.layers.wall import CSS as WALL_CSS
from mapsvc.layers.wall import JS as WALL_JS
from mapsvc.layers.wall import OWN, Start, WallRegion, folium_page, rendered

JS = [*(js for js in WALL_JS if js[0] in ("leaflet", "gcoord", "basemap", "names", "times",
                                          "steps", "views", "account")),
      ("page", f"{OWN}/page.js"), ("desk", f"{OWN}/desk.js")]
CSS = [*(css for css in WALL_CSS
         if css[0] in ("leaflet_css", "font_400", "font_700", "views_css")),
       ("desk_css", f"{OWN}/desk.css")]

# The views of the cases each desk offers (desk.js's VIEWS), the first opened with: the
# centre's, to take reports in and move cases on; a department's, to take on and handle the
# cases dispatched to it.
CENTRE_VIEWS = (
    ("reported", "新上报待受理"), ("waiting", "待受理（含核实中）"), ("filed", "已立案待派遣"),
    ("handled", "处置完成待核查"), ("closed", "已结案待回访"), ("mine", "上报至本中心"),
    ("open", "在办"), ("urgent", "加急"), ("urged", "催办"), ("uncontacted", "待联系诉求人"),
    ("red", "超期"), ("overdue", "处置超期"), ("yellow", "即将到期"),
    ("extension", "延期申请待审批"), ("exemption", "不纳入考核申请待审核"),
    ("unassigned", "未入格待分派"), ("all", "全部"))
DEPARTMENT_VIEWS = (
    ("mine", "待办（待签收、处置中）"), ("dispatched", "待签收"), ("in_progress", "处置中"),
    ("urgent", "加急"), ("urged", "催办"), ("uncontacted", "待联系诉求人"),
    ("overdue", "处置超期"), ("nearly", "处置即将到期"), ("extension", "已申请延期"),
    ("handled", "处置完成待核查"), ("exemption", "已申请不纳入考核"), ("open", "在办"),
    ("all", "全部"))
ORDERS = (("newest", "最新在前"), ("oldest", "最早在前"), ("due", "最急在前"))
# A desk's own names, by whose it is: its title, its views, the order its list opens in (a
# centre's the newest first, to take reports in; a department's the most urgent), and what
# it says of a case out of its reach
CENTRE = {"title": "受理派遣", "views": CENTRE_VIEWS, "order": "newest",
          "out_of_reach": "不在本中心辖区内"}
DEPARTMENT = {"title": "案件处置", "views": DEPARTMENT_VIEWS, "order": "due",
              "out_of_reach": "未派给本部门"}

# What a file of cases the desk imports holds (a line break in Chinese text shows as a space:
# its sentences are written apart here, not in the page's lines).
IMPORT_HINT = ("热线等系统导出的 CSV 或 Excel（.xlsx、.xls）：每行一件，须有{required}列，"
               "可有{optional}列，列名用中文或英文均可，其上可有标题行。"
               "工单编号为该系统的编号（或 UUID），随案件保存，可按编号查找；"
               "同一工单再次导入不会重复入库；有误的行列出行号，其余照常导入。")

PANELS = """
<main id="desk-panel">
  <nav>{links}
    <a href="/map/password">修改密码</a>
    <button type="button" data-sign-out>退出</button></nav>
  <h1>{title} <small id="desk-region"></small>
    <small id="desk-scope" hidden>› <span></span>
      <button type="button">全部辖区</button></small></h1>
  <div class="row">
    <label>案件 <select id="desk-view">{views}</select></label>
    <label id="desk-area-choice" hidden>区域 <select id="desk-area"></select></label>
    <label{departments_hidden}>部门 <select id="desk-department"></select></label>
    <label>类别 <select id="desk-category"></select></label>
    <label>来源 <select id="desk-source"></select></label>
    <label>排序 <select id="desk-order">{orders}</select></label>
    <a id="desk-export" download="案件台账.csv">导出台账</a>
    <small id="desk-connection">连接中</small>
  </div>
  <form id="desk-find" class="row"><label>案件编号 <input name="id" type="number" min="1"
    required></label><button type="submit">打开</button>
    <button type="button" id="desk-new-open" hidden>来电登记</button>
    <button type="button" id="desk-import-open" hidden>导入工单</button></form>
  <form id="desk-import" hidden>
    <h3>导入工单</h3>
    <p class="hint">{import_hint}</p>
    <label>文件 <input name="file" type="file" accept=".csv,.xlsx,.xls" required></label>
    <div class="row"><label>坐标系（行内未写明时） <select name="crs"></select></label>
      <label>来源（行内未写明时） <select name="source"></select></label></div>
    <label class="check"><input name="check" type="checkbox" value="true"> 只检查，不导入</label>
    <div class="row"><button type="submit">导入</button>
      <button type="button" id="desk-import-cancel">关闭</button></div>
    <p id="desk-import-summary" role="status"></p>
    <ol id="desk-import-problems"></ol>
  </form>
  <form id="desk-new" hidden>
    <h3>来电登记</h3>
    <div class="row"><label>来源 <select name="source"></select></label>
      <label>工单编号 <input name="number" maxlength="{number_most}" size="18"
        autocomplete="off" placeholder="来源系统的，选填"></label></div>
    <label>类别 <select name="category" required></select></label>
    <label>地址 <input name="address" type="search" maxlength="100" autocomplete="off"
      placeholder="输入标准地址查找"></label>
    <ol id="desk-new-addresses"></ol>
    <p>事发位置：<output id="desk-new-point"></output></p>
    <label>问题描述 <textarea name="description" maxlength="4000" rows="3"
      required></textarea></label>
    <div class="row"><label>来电人 <input name="caller_name" maxlength="50"
      autocomplete="off"></label>
      <label>联系电话 <input name="caller_phone" type="tel" maxlength="20" autocomplete="off"
        pattern="{phone_pattern}"
        title="11 位手机号，或带区号的固定电话"></label></div>
    <section id="desk-new-calls" hidden>
      <h4>此号码的来电 <small></small></h4>
      <ol></ol>
    </section>
    <label>照片（来电人发来的，最多 {photos_most} 张） <input name="photos" type="file"
      accept="image/jpeg,image/png,image/webp" multiple></label>
    <div class="row"><button type="submit">登记</button>
      <button type="button" id="desk-new-cancel">取消</button></div>
  </form>
  <div class="row"><label>描述或工单编号含 <input id="desk-words" type="search"
    maxlength="100" placeholder="关键词、工单编号"></label></div>
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
      <label data-field="resolved">问题是否解决 <select name="resolved"><option value="">未询问
        </option><option value="true">已解决</option><option value="false">未解决</option>
        </select></label>
      <label data-field="level">督办等级 <select name="level"><option value="normal">一般</option>
        <option value="yellow">黄牌</option><option value="red">红牌</option></select></label>
      <label data-field="working_days">延期工作日 <input name="working_days" type="number"
        min="1" max="10"></label>
      <label data-field="original">重复于案件编号 <input name="original" type="number"
        min="1"></label>
      <p data-field="point">正确位置：<output id="desk-point">在地图上点击案件的正确位置，可拖动标记</output>
      </p>
      <label data-field="note">情况说明 <textarea name="note" maxlength="2000"
        rows="3"></textarea></label>
      <div id="desk-phrases" aria-label="常用语"></div>
      <label data-field="photos">现场照片（处置前后，最多 {photos_most} 张） <input name="photos"
        type="file" accept="image/jpeg,image/png,image/webp" multiple></label>
      <div class="row"><button type="submit">提交</button>
        <button type="button" id="desk-form-cancel">取消</button></div>
    </form>
    <p id="desk-message" role="status"></p>
  </div>
  <ol id="desk-list"></ol>
  <button type="button" id="desk-more" hidden></button>
  <section id="desk-case" hidden>
    <p id="desk-printed"></p>
    <h2><span id="desk-case-title"></span>
      <button type="button" id="desk-case-next">下一件</button>
      <button type="button" id="desk-print">打印办理单</button>
      <button type="button" id="desk-case-close" aria-label="关闭案件">关闭</button></h2>
    <dl id="desk-case-facts"></dl>
    <form id="desk-reveal" hidden>
      <label>查看来电人完整信息的理由 <input name="reason" maxlength="500" required></label>
      <div class="row" id="desk-reveal-phrases"></div>
      <div class="row"><button type="submit">查看（记入审计）</button>
        <button type="button" id="desk-reveal-cancel">取消</button></div>
    </form>
    <p id="desk-case-description"></p>
    <section id="desk-same-caller" hidden>
      <h3>同一号码的其他来电 <small></small></h3>
      <ol></ol>
    </section>
    <section id="desk-duplicates" hidden>
      <h3>可能重复的案件</h3>
      <ol id="desk-duplicate-list"></ol>
    </section>
    <div id="desk-actions" class="row"></div>
    <h3>办理进度</h3>
    <ol id="desk-steps"></ol>
  </section>
</main>
"""


def _columns(names: tuple[str, ...]) -> str:
    """A file of cases' columns, by both their headings."""
    return "、".join(f"{HEADINGS[name]}（{name}）" for name in names)


def desk_page(region: WallRegion, role: Role, *, departments: list[dict], list_most: int,
              batch_most: int, photo_most_bytes: int, basemap: dict | None, links: str,
              department: dict | None = None) -> str:
    """The desk over ``region`` for an account of ``role``: a centre's, or ``department``'s
    (its code and name) for a department's account. ``list_most``: the most cases its list
    shows (a page of the API's at most); ``batch_most``: the most a step is taken on at once;
    ``photo_most_bytes``: the largest photo taken; ``links``: to the account's other pages."""
    own = DEPARTMENT if department else CENTRE
    views = "".join(f'<option value="{value}">{name}</option>' for value, name in own["views"])
    orders = "".join(f'<option value="{value}"{" selected" if value == own["order"] else ""}>'
                     f'{name}</option>' for value, name in ORDERS)
    panels = PANELS
    for hole, value in (("import_hint", IMPORT_HINT), ("links", links), ("title", own["title"]),
                        ("views", views), ("orders", orders),
                        ("photos_most", str(PHOTOS_MOST)), ("number_most", str(NUMBER_MOST)),
                        ("required", _columns(REQUIRED)), ("optional", _columns(OPTIONAL)),
                        ("phone_pattern", html.escape(PHONE.removeprefix("^").removesuffix("$"))),
                        ("departments_hidden", " hidden" if department else "")):
        panels = panels.replace(f"{{{hole}}}", value)
    m, root = folium_page(region.bbox, title=f"民情地图 · {own['title']}", js=JS, css=CSS,
                          panels=panels, basemap=basemap)
    Start("mapsvcDesk", {
        "region": region.config(),
        "heading": department["name"] if department else region.name,
        "outOfReach": own["out_of_reach"], "frameCases": department is not None,
        "mayReport": role in REPORTERS, "mayImport": role in IMPORTERS,
        "api": "/api/v1", "role": role, "departments": departments, "listMost": list_most,
        "batchMost": batch_most, "photoMostBytes": photo_most_bytes,
    }).add_to(m)
    return rendered(root)
