"""Every page as WCAG 2.1 level AA asks and as axe-core's best practices have it, as axe-core
checks it in Chromium once the page has drawn what it shows: text that stands out from what is
behind it (a phone read in the sun, a desk's notes), a name for every control a screen reader
reaches (the map's buttons, the planner's drawing tools, the phone's class), the page's
language, a page a phone may zoom and that still fits across at 320 CSS pixels (a desk's screen
at 400 %); fields that stand out from what is behind them, and nothing a click does that the
keyboard cannot; and everything on a page in a landmark a screen reader may go to (its main
part, its header, its panels, the map), under a first-level heading, with headings in order and
a heading over every column of a table."""

import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser import sign_in, standing, wait_until
from tests.conftest import PASSWORD
from tests.test_phone import _sign_in

RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                              "best-practice"]}}

# (account, page, viewport, what shows once the page has drawn its content)
PAGES = [
    ("command", "/map/wall", (1920, 1080), "window.mapsvcWall && window.mapsvcWall.online"),
    ("command", "/map/desk", (1920, 1080),
     "window.mapsvcDesk && document.querySelectorAll('#desk-list li[data-id]').length > 0"),
    ("planner", "/map/plan", (1920, 1080), "!!document.querySelector('.leaflet-pm-toolbar')"),
    ("admin", "/map/people", (1920, 1080), "window.mapsvcPeople.shown !== null"),
    ("admin", "/map/units", (1920, 1080), "window.mapsvcUnits.shown !== null"),
    ("admin", "/map/registry", (1920, 1080), "document.readyState === 'complete'"),
    ("command", "/map/stats", (1920, 1080), "window.mapsvcStats.shown !== null"),
    ("admin", "/map/campaigns", (1920, 1080), "window.mapsvcCampaigns.shown !== null"),
    ("admin", "/map/accounts", (1920, 1080), "window.mapsvcAccounts.shown !== null"),
    ("admin", "/map/webhooks", (1920, 1080), "window.mapsvcWebhooks.shown !== null"),
    ("admin", "/map/audit", (1920, 1080), "window.mapsvcAudit.shown !== null"),
    (None, "/map/login", (1280, 800), "document.readyState === 'complete'"),
    (None, "/map/password", (360, 740), "document.readyState === 'complete'"),
]


def _unmet(page) -> list[str]:
    """What of WCAG 2.1 AA and the best practices the page as it stands does not meet: each
    rule with its elements."""
    found = Axe().run(page, options=RULES).response["violations"]
    return [f"{rule['id']} ({rule['help']}): "
            + "; ".join(" ".join(node["target"]) for node in rule["nodes"][:5])
            for rule in found]


# What runs off the side of a page at 320 CSS pixels across (WCAG 2.1's reflow: a 1280-pixel
# screen zoomed to 400 %), but for what may: a table's columns, and the map's panes (the map
# itself must fit)
RUNS_OFF = """(() => {
  const across = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')].filter((e) => {
    if (e.closest('table') || e.parentElement.closest('.leaflet-container')) return false;
    const box = e.getBoundingClientRect();
    return box.width > 0 && (box.left < -1 || box.right > across + 1);
  }).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')).slice(0, 5);
})()"""


# What an element listened to for clicks is, if the keyboard cannot click it: neither it nor
# anything in it (whose clicks reach it) is reached by Tab, nor is it in something that is. The
# map's own elements are left out: the map is reached by Tab and moved and zoomed by keys.
CLICKED_ONLY = """function () {
  if (this.nodeType !== 1 || this.closest('.leaflet-container')) return null;
  const reached = 'a[href], button, input, select, textarea, summary, label, '
    + '[tabindex]:not([tabindex="-1"])';
  if (this.matches(reached) || this.closest('a[href], button, label')
      || this.querySelector(reached)) return null;
  return this.tagName.toLowerCase() + (this.id ? '#' + this.id : '')
    + (this.dataset.id ? `[data-id=${this.dataset.id}]` : '');
}"""


def _clicked_only(page) -> list[str]:
    """The elements of the page that a click does something on and the keyboard cannot reach
    (WCAG 2.1.1), as Chromium lists the listeners (``CLICKED_ONLY``)."""
    cdp = page.context.new_cdp_session(page)
    document = cdp.send("Runtime.evaluate", {"expression": "document"})["result"]["objectId"]
    listeners = cdp.send("DOMDebugger.getEventListeners",
                         {"objectId": document, "depth": -1, "pierce": True})["listeners"]
    clicked = {listener["backendNodeId"] for listener in listeners
               if listener["type"] in ("click", "mousedown", "pointerdown", "dblclick")
               and "backendNodeId" in listener}  # (the window's have no node)
    found = set()
    for element in clicked:
        node = cdp.send("DOM.resolveNode", {"backendNodeId": element})
        found.add(cdp.send("Runtime.callFunctionOn", {
            "objectId": node["object"]["objectId"], "functionDeclaration": CLICKED_ONLY,
            "returnByValue": True})["result"].get("value"))
    cdp.detach()
    return sorted(filter(None, found))


# The fields (text, numbers, dates, choices) a user cannot make out from what is around them
# (WCAG 2.1's non-text contrast, which axe-core does not check): neither their fill nor their
# border 3:1 against what is behind them (their ancestors' backgrounds laid over one another)
FAINT_FIELDS = """(() => {
  const rgba = (css) => [...css.match(/[\\d.]+/g).map(Number), 1].slice(0, 4);
  const over = (top, below) => [0, 1, 2].map((i) => top[i] * top[3] + below[i] * (1 - top[3]));
  const lum = (c) => c.map((x) => x / 255)
    .map((x) => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4)
    .reduce((sum, x, i) => sum + x * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  const behind = (el) => el
    ? over(rgba(getComputedStyle(el).backgroundColor), behind(el.parentElement)) : [255, 255, 255];
  const fields = 'input:not([type=hidden], [type=checkbox], [type=radio], [type=file], '
    + '[type=submit], [type=button]), select, textarea';
  return [...document.querySelectorAll(fields)]
    .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
    .filter((el) => {
      const style = getComputedStyle(el), around = behind(el.parentElement);
      const fill = over(rgba(style.backgroundColor), around);
      const border = parseFloat(style.borderBottomWidth) && style.borderBottomStyle !== 'none'
        ? over(rgba(style.borderBottomColor), around) : around;
      return Math.max(ratio(fill, around), ratio(border, around)) < 3;
    }).map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''));
})()"""


def _faint_fields(page) -> list[str]:
    """The fields on the page that do not stand out 3:1 from what is behind them."""
    return page.evaluate(FAINT_FIELDS)


def _runs_off_at_320(page) -> list[str]:
    """What of the page runs off its side at 320 CSS pixels across (``RUNS_OFF``)."""
    page.set_viewport_size({"width": 320, "height": 256})
    return page.evaluate(RUNS_OFF)


@pytest.fixture
def reported(clients, worker_spot):
    """A case newly reported, for the desk to list."""
    code, spot = worker_spot
    r = clients["worker"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "description": "井盖缺失",
        "lon": spot.x, "lat": spot.y, "source": "grid_worker"})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("who,path,size,drawn", PAGES, ids=[p[1] for p in PAGES])
def test_a_page_meets_wcag_21_aa_and_the_best_practices(browser, server, accounts, reported, who,
                                                        path, size, drawn):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    if who is None:
        page.goto(f"{server}{path}")
    else:
        sign_in(page, server, path, who, PASSWORD)
    wait_until(page, drawn, "its content")
    assert _unmet(page) == []
    assert _faint_fields(page) == []
    assert _clicked_only(page) == []
    assert _runs_off_at_320(page) == []
    context.close()


def test_the_phone_meets_wcag_21_aa_and_the_best_practices_signed_in_with_a_case(
        browser, server, accounts, reported, worker_spot):
    code, spot = worker_spot
    context = standing(browser, spot)
    page = context.new_page()
    page.goto(f"{server}/m/")
    assert _unmet(page) == []  # its sign-in
    _sign_in(page)
    wait_until(page, f"window.mapsvcPhone.outlined === '{code}'", "the worker's grid outlined")
    wait_until(page, "document.querySelectorAll('#cases li').length > 0", "the worker's cases")
    assert _unmet(page) == []
    assert _faint_fields(page) == []
    assert _clicked_only(page) == []
    assert _runs_off_at_320(page) == []
    context.close()


def test_the_maps_buttons_and_the_planners_tools_say_what_they_do_in_chinese(browser, server,
                                                                           accounts):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    sign_in(page, server, "/map/plan", "planner", PASSWORD)
    wait_until(page, "!!document.querySelector('.leaflet-pm-toolbar')", "the drawing tools")
    assert page.evaluate("[...document.querySelectorAll('.leaflet-control-zoom a')]"
                         ".map((a) => [a.title, a.getAttribute('aria-label')])") == [
        ["放大", "放大"], ["缩小", "缩小"]]
    assert page.evaluate("[...document.querySelectorAll('.leaflet-pm-toolbar a[role=button]')]"
                         ".filter((a) => a.offsetParent).map((a) => a.getAttribute('aria-label'))"
                         ) == ["画矩形网格", "画新网格", "调整网格边界", "从方案中移除网格"]
    page.click(".leaflet-pm-toolbar a[aria-label=画新网格]")
    page.mouse.move(960, 540)
    assert page.inner_text(".leaflet-tooltip") == "单击放置首个顶点"  # where to click first
    assert page.evaluate("[...document.querySelectorAll('.button-container.active "
                         ".leaflet-pm-action')].map((a) => a.textContent)") == [
        "完成", "移除最后的顶点", "取消"]
    context.close()
