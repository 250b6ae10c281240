"""The evaluation page (/map/stats, 考核评价) in Chromium: a command centre reads the figures (as GET
/stats gives them) of the cases of test_stats's fixture for their days, by township, into a
township and back, by grid worker with their patrols; ranks by any column, with the parts of too
few cases listed unranked; downloads what it shows as a spreadsheet. Only command centres and
administrators open it."""

import csv
import io
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlalchemy import text

from mapsvc.accounts.model import Role
from mapsvc.accounts.store import create_account, worked_all_along
from mapsvc.db.engine import in_transaction
from tests.browser import desk_opened, on_one_line, refused, sign_in, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, run
from tests.test_positions import PERIOD as STAFF_PERIOD
from tests.test_positions import staff  # noqa: F401 (a fixture)
from tests.test_stats import CHECK_WEEK, PERIOD, TIMELINE, VERIFY_WEEK
from tests.test_stats import (checked_cases, fixture_cases,  # noqa: F401 (fixtures)
                              timeline_cases, verified_cases)

MARKUP = "<b>统计</b>网格员"


@pytest.fixture
def evaluation(browser, server):
    context = browser.new_context(viewport={"width": 1700, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    sign_in(page, server, "/map/stats", "command", PASSWORD)
    wait_until(page, "window.mapsvcStats.shown !== null", "the figures")
    yield page
    context.close()


def _asked(page, by: str = "", period: dict = PERIOD) -> None:
    """The fixture's days (or ``period``'s), by ``by`` (the next level down when empty)."""
    page.fill("#stats-find [name=from]", period["from"])
    page.fill("#stats-find [name=to]", period["to"])
    page.select_option("#stats-find [name=by]", by)
    page.evaluate("window.mapsvcStats.answer = null")
    page.click("#stats-find button[type=submit]")
    wait_until(page, "window.mapsvcStats.answer !== null", "the figures asked for")


def _headings(page) -> list[str]:
    return page.locator("#stats thead th").all_inner_texts()


def _row(page, code: str) -> dict:
    """A row of the table as shown, by its headings."""
    cells = page.locator(f"#stats tbody tr[data-code='{code}'] td").all_inner_texts()
    return dict(zip(_headings(page), cells, strict=True))


def _points_astray(page) -> dict:
    """The columns (by heading) whose figures' decimal points, down the rows, do not stand one
    above another: each such column's points' distinct x positions."""
    return page.evaluate("""() => {
      const heads = [...document.querySelectorAll('#stats thead th')].map((th) => th.textContent);
      const rows = [...document.querySelectorAll('#stats tbody tr')];
      const astray = {};
      heads.forEach((heading, i) => {
        const xs = new Set();
        rows.forEach((tr) => {
          const cell = tr.cells[i];
          if (!cell || cell.textContent.includes('（')) return;  // a figure and its count
          const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.data.indexOf('.');
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + 1);
            xs.add(Math.round(range.getBoundingClientRect().left * 2) / 2);
          }
        });
        if (xs.size > 1) astray[heading] = [...xs];
      });
      return astray;
    }""")


def _number(value) -> str:
    """A figure as the page shows it (JavaScript's way with numbers)."""
    return "—" if value is None else (str(int(value)) if float(value).is_integer()
                                      else str(value))


def _rate(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _fixed(value, digits: int) -> str:
    """A figure of a unit (hours, minutes, km, a score), to ``digits`` decimals in every row,
    as JavaScript's toFixed rounds it (a half up, of the float's exact value)."""
    return "—" if value is None else str(
        Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _shown(f: dict) -> dict:
    """A part's figures (the API's) as the page's columns show them."""
    return {"上报": _number(f["reported"]), "有效上报率": _rate(f["valid_report_rate"]),
            "立案": _number(f["filed"]), "监督举报率": _rate(f["public_report_rate"]),
            "按时派遣率": _rate(f["on_time_dispatch_rate"]),
            "及时签收率": _rate(f["on_time_accept_rate"]),
            "应结案": _number(f["due"]), "按时处置率": _rate(f["on_time_handling_rate"]),
            "结案": _number(f["closed"]),
            "结案率": _rate(f["closure_rate"]), "按期结案率": _rate(f["on_time_closure_rate"]),
            "返工率": _rate(f["rework_rate"]), "一次完成率": _rate(f["first_time_rate"]),
            "平均处置工时": _fixed(f["handling_hours_avg"], 1),
            "九成案件处置工时内": _fixed(f["handling_hours_p90"], 1),
            "当前超期": _number(f["overdue_now"]),
            "满意度（评价数）": "—" if f["satisfaction"] is None
            else f"{_fixed(f['satisfaction'], 2)}（{f['rated']}）",
            "响应率": _rate(f["response_rate"]), "满意率": _rate(f["satisfied_rate"]),
            "解决率": _rate(f["resolved_rate"]), "催办率": _rate(f["urged_rate"])}


def test_the_centre_ranks_its_townships_and_enters_one(evaluation, fixture_cases, clients):
    page = evaluation
    grid = fixture_cases
    today = page.evaluate("chinaDay()")
    assert page.input_value("#stats-find [name=from]") == f"{today[:8]}01"  # this month
    assert page.input_value("#stats-find [name=to]") == today
    _asked(page)
    county = clients["command"].get("/stats", params=PERIOD).json()
    assert page.inner_text("#stats-where") == county["name"]
    row = next(r for r in county["rows"] if r["code"] == grid[:9])
    assert _row(page, grid[:9]) == {"名次": "1", "名称": row["name"], **_shown(row["figures"])}
    others = [r["code"] for r in county["rows"] if r["code"] != grid[:9]]
    assert others, "a county of one township ranks nothing"
    assert _row(page, others[0])["名次"] == "—"  # no case due: not ranked by a rate
    assert "few" in page.get_attribute(f"#stats tbody tr[data-code='{others[0]}']", "class")
    assert page.locator("#stats tfoot td").nth(2).inner_text() == str(
        county["figures"]["reported"])
    # the fewer of its problems the public found first, the better
    assert "least" in page.get_attribute("#stats thead th:text-is('监督举报率')", "class")
    page.screenshot(path=ARTIFACTS / "stats.png")
    # each name on one line, however many columns the table has
    assert on_one_line(page, "#stats tbody td:nth-child(2), #stats tfoot td:nth-child(2)")

    page.click("#stats thead th:text-is('上报')")  # ranked by reports: all of them ranked
    assert page.locator("#stats tbody tr").first.get_attribute("data-code") == grid[:9]
    assert _row(page, others[0])["名次"] != "—"
    with page.expect_download() as fetched:
        page.click("#stats-export")
    sheet = fetched.value.path().read_text(encoding="utf-8")
    assert sheet.startswith("\ufeff")
    rows = {r["编码"]: r for r in csv.DictReader(io.StringIO(sheet.removeprefix("\ufeff")))}
    assert rows[grid[:9]]["按期结案率"] == "40.0%" and rows[grid[:9]]["名次"] == "1"
    assert len(rows) == len(county["rows"]) + 1  # and the whole county's

    page.evaluate("window.mapsvcStats.answer = null")
    page.click(f"#stats tbody tr[data-code='{grid[:9]}'] button.enter")  # into the township
    wait_until(page, "window.mapsvcStats.answer !== null", "the township's villages")
    assert page.locator("#stats-where button").inner_text() == county["name"]
    village = clients["command"].get("/stats", params={**PERIOD, "level": "township",
                                                       "code": grid[:9]}).json()
    assert _row(page, grid[:12])["上报"] == str(
        next(r for r in village["rows"] if r["code"] == grid[:12])["figures"]["reported"])
    page.evaluate("window.mapsvcStats.answer = null")
    page.click("#stats-where button")  # and back
    wait_until(page, "window.mapsvcStats.answer !== null", "the county again")
    assert page.locator("#stats-where button").count() == 0
    assert _row(page, grid[:9])["上报"] == str(row["figures"]["reported"])

    # on a narrower screen the columns scroll across in their box, the page staying put
    page.set_viewport_size({"width": 1366, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") == 1366
    assert page.evaluate("(b => b.scrollWidth > b.clientWidth)"
                         "(document.getElementById('stats-table'))")
    page.evaluate("document.getElementById('stats-table').scrollLeft = 600")  # the names stay
    name = page.locator(f"#stats tbody tr[data-code='{grid[:9]}'] td").nth(1).bounding_box()
    assert name["x"] == page.locator("#stats-table").bounding_box()["x"]
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('td').cellIndex",
                         [name["x"] + 5, name["y"] + name["height"] / 2]) == 1  # on top

    # on paper (A4 across): what it is of, in a line; no links nor forms; every column
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 1123, "height": 794})
    assert page.locator("#stats-find").is_hidden() and page.locator("header nav").is_hidden()
    assert page.inner_text("#stats-printed") == (
        f"{county['name']}：{PERIOD['from']} 至 {PERIOD['to']} 上报的案件，分项：下一级区域")
    assert page.evaluate("document.getElementById('stats').getBoundingClientRect().right"
                         ) <= 1123
    page.pdf(path=ARTIFACTS / "stats.pdf", landscape=True)


def test_the_centre_reads_its_figures_month_by_month_and_enters_one(evaluation, timeline_cases,
                                                                    clients):
    """分期: the months of the days asked about in time, unranked until ranked by a column and
    back in time by 期间; a month's 上报 opens its cases on the desk; a month entered is its
    days by township; too many days a row, or days that end before they begin, are refused in
    words of the page's own."""
    page = evaluation
    _asked(page, "month", TIMELINE)
    months = clients["command"].get("/stats", params={**TIMELINE, "by": "month"}).json()
    assert _headings(page)[:3] == ["名次", "期间", "上报"]
    assert [_row(page, r["code"]) for r in months["rows"]] == [
        {"名次": "—", "期间": r["name"], **_shown(r["figures"])} for r in months["rows"]]
    assert _points_astray(page) == {}  # a column's figures read down by their places

    def codes() -> list[str]:
        return page.locator("#stats tbody tr").evaluate_all(
            "(rows) => rows.map((tr) => tr.dataset.code)")

    assert codes() == ["2024-01", "2024-02"]
    # and in a chart above: each month's 上报 and 结案 as bars, to the most reported's height
    assert page.locator("#stats-trend").is_visible()
    bars = page.locator("#stats-trend g").evaluate_all("""(months) => months.map((g) => [
        g.dataset.code, g.querySelector("title").textContent,
        ...[...g.querySelectorAll("rect")].map((bar) => bar.getBBox().height)])""")
    (january, _, jan_reported, _), (february, said, feb_reported, feb_closed) = bars
    # each named under its bars as the table names it, without the year
    assert page.locator("#stats-trend g text").all_text_contents() == ["1月", "2月"]
    assert (january, february) == ("2024-01", "2024-02")
    assert said == "2024年2月：上报 3，结案 1，按期结案率 50.0%"  # of 2 due: 1 on time, 1 overdue
    assert jan_reported / feb_reported == pytest.approx(2 / 3)
    assert feb_closed / feb_reported == pytest.approx(1 / 3)
    # by day, the nine days across most of the page's width (not huddled at its left)
    _asked(page, "day", TIMELINE)
    chart = page.evaluate("[document.querySelector('#stats-trend svg').getBoundingClientRect()"
                          ".width, document.querySelector('#stats-trend div').clientWidth]")
    assert 0.6 * chart[1] < chart[0] <= chart[1], chart
    # on paper (A4, 794 pixels wide), the chart drawn for the screen scaled to the page
    screen = page.viewport_size
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})
    printed = page.evaluate("[document.querySelector('#stats-trend svg').getBoundingClientRect()"
                            ".width, document.body.clientWidth]")
    page.emulate_media(media="screen")
    page.set_viewport_size(screen)
    assert chart[0] > 794 and 0 < printed[0] <= printed[1], printed
    assert page.locator("#stats-trend g text").all_text_contents()[:2] == ["1月29日", "1月30日"]
    _asked(page, "month", TIMELINE)
    page.click("#stats thead th:text-is('上报')")  # ranked: February's three first
    assert codes() == ["2024-02", "2024-01"] and _row(page, "2024-02")["名次"] == "1"
    page.click("#stats thead th:text-is('期间')")  # and in time again
    assert codes() == ["2024-01", "2024-02"] and _row(page, "2024-02")["名次"] == "—"
    with page.expect_download() as fetched:
        page.click("#stats-export")
    sheet = fetched.value.path().read_text(encoding="utf-8").removeprefix("\ufeff")
    assert [(r["期间"], r["编码"], r["上报"]) for r in csv.DictReader(io.StringIO(sheet))] == [
        ("2024年1月", "2024-01", "2"), ("2024年2月", "2024-02", "3"),
        (f"{months['name']}（合计）", months["code"], "5")]

    link = page.locator("#stats tbody tr[data-code='2024-02'] td:nth-child(3) a")
    assert link.inner_text() == "3"
    desk = desk_opened(page, link)
    wait_until(desk, "window.mapsvcDesk && window.mapsvcDesk.matched === 3", "February's cases")
    assert desk.inner_text("#desk-scope span") == (
        f"{months['name']} · 2024-02-01 至 2024-02-06上报")
    desk.close()

    page.evaluate("window.mapsvcStats.answer = null")
    page.click("#stats tbody tr[data-code='2024-02'] button.enter")
    wait_until(page, "window.mapsvcStats.answer !== null", "February's townships")
    assert (page.input_value("#stats-find [name=from]"),
            page.input_value("#stats-find [name=to]"),
            page.input_value("#stats-find [name=by]")) == ("2024-02-01", "2024-02-06", "")
    assert _headings(page)[1] == "名称"
    assert page.locator("#stats-trend").is_hidden()  # no periods: no chart
    township = timeline_cases[:9]
    assert _row(page, township)["上报"] == "3"

    page.fill("#stats-find [name=from]", "2023-01-01")
    page.select_option("#stats-find [name=by]", "day")
    page.click("#stats-find button[type=submit]")
    wait_until(page, "document.getElementById('stats-said').textContent.includes('366')",
               "the days refused")
    assert page.inner_text("#stats-said") == "分期过多：最多列 366 期，请缩短起止日期，或按周、按月分期"
    page.fill("#stats-find [name=from]", "2024-02-07")  # after 至
    page.click("#stats-find button[type=submit]")
    wait_until(page, "document.getElementById('stats-said').textContent.includes('至')",
               "the days refused")
    assert page.inner_text("#stats-said") == "“至”不能早于“从”"


def test_the_figures_shown_are_kept_in_the_address_and_opened_from_it(evaluation, server,
                                                                      timeline_cases, clients):
    """A view's days, breakdown and region in the address: opened from it (a bookmark, a link
    sent on), the same figures, with the way back to the account's own; a region out of reach
    said, the account's own shown."""
    page = evaluation
    township = timeline_cases[:9]
    asked = {**TIMELINE, "by": "month", "level": "township", "code": township}
    page.goto("about:blank")  # (the same page at another # would not be opened anew)
    page.goto(f"{server}/map/stats#{urlencode(asked)}")
    wait_until(page, "window.mapsvcStats.answer"
               f" && window.mapsvcStats.answer.code === '{township}'", "the township's months")
    township_months = clients["command"].get("/stats", params=asked).json()
    county = clients["command"].get("/stats").json()
    assert page.inner_text("#stats-where") == f"{county['name']} › {township_months['name']}"
    assert [_row(page, r["code"])["上报"] for r in township_months["rows"]] == ["2", "3"]
    page.evaluate("window.mapsvcStats.answer = null")
    page.click("#stats tbody tr[data-code='2024-02'] button.enter")  # February, by village
    wait_until(page, "window.mapsvcStats.answer !== null", "February's villages")
    assert dict(parse_qsl(page.evaluate("location.hash.slice(1)"))) == {
        "from": "2024-02-01", "to": "2024-02-06", "level": "township", "code": township}
    page.evaluate("window.mapsvcStats.answer = null")
    page.click("#stats-where button")  # back at the county: its own, no region kept
    wait_until(page, "window.mapsvcStats.answer !== null", "the county")
    assert dict(parse_qsl(page.evaluate("location.hash.slice(1)"))) == {
        "from": "2024-02-01", "to": "2024-02-06"}

    page.goto("about:blank")
    page.goto(f"{server}/map/stats#{urlencode({**asked, 'level': 'county', 'code': '420106'})}")
    wait_until(page, "document.getElementById('stats-said').textContent.includes('420106')",
               "another county refused")
    assert page.inner_text("#stats-where") == county["name"]


def test_the_cases_a_parts_figures_count_open_on_the_desk(evaluation, browser, server,
                                                          fixture_cases, clients, db):
    """上报 and 当前超期 of a township and 上报 of a class (for its centre), and 当前超期 of a
    department (for an administrator), lead to those cases on the desk (全部, 处置超期), opened
    in a tab of its own in the session, reported in the days chosen; a part with none has no
    link."""
    township = fixture_cases[:9]
    with db.connect() as conn:
        def ids(where: str) -> list[int]:
            return [row.id for row in conn.execute(text(
                "SELECT id FROM incident WHERE reported_at >= TIMESTAMPTZ '2025-03-03 00:00+08' "
                f"AND reported_at < TIMESTAMPTZ '2025-03-08 00:00+08' AND {where} ORDER BY id"),
                {"township": township})]
        reported = ids("village_code LIKE :township || '%'")
        # case 5 of the fixture (of each module that made it in this database)
        late = ids("status = 'in_progress' AND handling_deadline < now()")
        of_class = ids("county_code = '441502' AND category_code LIKE '06%'")
    assert late and len(reported) > len(late)
    days = f"{PERIOD['from']} 至 {PERIOD['to']}上报"
    county = clients["command"].get("/stats", params=PERIOD).json()
    name = next(r["name"] for r in county["rows"] if r["code"] == township)
    admin = browser.new_context(viewport={"width": 1700, "height": 900}).new_page()
    sign_in(admin, server, "/map/stats", "admin", PASSWORD)
    for page, code, by, heading, view, cases, scope, department, category in (
            (evaluation, township, "", "上报", "all", reported, f"{name} · {days}", "", ""),
            (evaluation, township, "", "当前超期", "overdue", late, f"{name} · {days}", "", ""),
            (evaluation, "06", "category", "上报", "all", of_class,
             f"{county['name']} · {days}", "", "06"),
            (admin, "T1", "department", "当前超期", "overdue", late, days, "T1", "")):
        _asked(page, by)
        column = _headings(page).index(heading) + 1
        link = page.locator(f"#stats tbody tr[data-code='{code}'] td:nth-child({column}) a")
        assert link.inner_text() == _row(page, code)[heading] == str(len(cases))
        desk = desk_opened(page, link)
        wait_until(desk, f"window.mapsvcDesk && window.mapsvcDesk.matched === {len(cases)}",
                   "the cases")
        assert sorted(desk.evaluate("window.mapsvcDesk.cases.map((f) => f.id)")) == cases
        assert desk.input_value("#desk-view") == view
        assert desk.inner_text("#desk-scope span") == scope
        assert desk.input_value("#desk-department") == department
        assert desk.input_value("#desk-category") == category
        desk.close()
    admin.context.close()
    others = [r["code"] for r in county["rows"] if r["code"] != township]
    _asked(evaluation)
    assert _row(evaluation, others[0])["上报"] == _row(evaluation, others[0])["当前超期"] == "0"
    assert evaluation.locator(f"#stats tbody tr[data-code='{others[0]}'] a.to-desk").count() == 0


def test_grid_workers_are_ranked_with_their_patrols_and_named_as_text(evaluation,
                                                                      fixture_cases, clients):
    page = evaluation
    grid = fixture_cases

    async def made(conn):  # working the grid all along: it answers for the period's cases
        await create_account(conn, "stats_marked", PASSWORD, Role.grid_worker, grid_codes=[grid],
                             display_name=MARKUP, origin="tests")
        await worked_all_along(conn, "stats_marked")

    run(in_transaction(made))
    _asked(page, "worker")
    workers = clients["command"].get("/stats", params={**PERIOD, "by": "worker"}).json()
    row = next(r for r in workers["rows"] if r["code"] == "worker")
    shown = _row(page, "worker")
    assert {k: shown[k] for k in _shown(row["figures"])} == _shown(row["figures"])
    assert (shown["巡查次数"], shown["巡查公里"], shown["漏报率"]) == (
        str(row["patrols"]["count"]), _fixed(row["patrols"]["km"], 2), _rate(row["missed"]["rate"]))
    assert shown["监督举报率"] == "—"  # a region's: a worker's own reports are none of the public's
    # by 漏报率, ranked where five cases were filed in the grids it works: the worker just made
    # reported none (no case due) but its grid's count
    page.click("#stats thead th:text-is('漏报率')")
    marked = next(r for r in workers["rows"] if r["code"] == "stats_marked")
    assert marked["figures"]["due"] == 0 and marked["missed"]["filed"] >= 5
    for r in workers["rows"]:
        ranked = r["missed"]["filed"] >= 5 and r["missed"]["rate"] is not None
        assert (_row(page, r["code"])["名次"] != "—") == ranked, r["code"]
    assert _row(page, "stats_marked")["名称"] == MARKUP
    assert page.locator("#stats tbody b").count() == 0


@pytest.mark.parametrize("column,findings,week", [("按时核查率", "checks", CHECK_WEEK),
                                                   ("按时核实率", "verifies", VERIFY_WEEK)])
def test_grid_workers_findings_on_site_made_in_time_are_shown(evaluation, checked_cases,
                                                              verified_cases, clients, column,
                                                              findings, week):
    """按时核查率 and 按时核实率 as the API gives them, each worker's own; with fewer than five
    findings due, not ranked by them."""
    page = evaluation
    _asked(page, "worker", week)
    page.click(f"#stats thead th:text-is('{column}')")
    workers = {r["code"]: r for r in clients["command"].get("/stats", params={
        **week, "by": "worker"}).json()["rows"]}
    for code, shown in (("worker", "33.3%"), ("chief", "50.0%")):
        assert _rate(workers[code][findings]["rate"]) == shown
        assert (_row(page, code)[column], _row(page, code)["名次"]) == (shown, "—")


def test_grid_workers_scores_are_shown_with_their_weights(evaluation, verified_cases, clients):
    """综合指标值 as the API gives it, its heading saying how the rates are weighed; with fewer
    than five cases in all behind it, not ranked by it."""
    page = evaluation
    _asked(page, "worker", VERIFY_WEEK)
    page.click("#stats thead th:text-is('综合指标值')")
    workers = {r["code"]: r for r in clients["command"].get("/stats", params={
        **VERIFY_WEEK, "by": "worker"}).json()["rows"]}
    for code, shown in (("worker", "33.3"), ("chief", "50.0")):
        assert f"{workers[code]['score']:.1f}" == shown
        assert (_row(page, code)["综合指标值"], _row(page, code)["名次"]) == (shown, "—")
    assert page.get_attribute("#stats thead th:text-is('综合指标值')", "title") == (
        "有效上报率 40%、漏报率（按 1 − 漏报率） 20%、按时核实率 20%、按时核查率 20%")


def test_the_centre_ranks_its_staff_by_the_steps_they_took(evaluation, staff, clients):
    page = evaluation
    _asked(page, "operator", STAFF_PERIOD)
    answer = clients["command"].get("/stats", params={**STAFF_PERIOD, "by": "operator"}).json()
    headings = _headings(page)
    assert headings[:4] == ["名次", "名称", "受理", "受理用时中位（分钟）"]
    assert "按期结案率" not in headings  # a region's figures, not a member of staff's
    for part in ("clerk", "dispatcher", "idle"):
        f = next(r for r in answer["rows"] if r["code"] == staff[part])["figures"]
        shown = _row(page, staff[part])
        assert shown["名称"] == staff[part]
        assert (shown["受理"], shown["受理用时中位（分钟）"], shown["准确立案率"],
                shown["派遣"], shown["按时派遣率"], shown["准确派遣率"], shown["办理步骤"]) == (
            _number(f["taken_in"]), _fixed(f["intake_minutes_median"], 1),
            _rate(f["accurate_filing_rate"]), _number(f["dispatched"]),
            _rate(f["on_time_dispatch_rate"]), _rate(f["accurate_dispatch_rate"]),
            _number(f["steps"]))
    assert page.locator("#stats thead th.sorted").inner_text() == "受理"  # at first
    assert page.locator("#stats tfoot tr").count() == 0  # no total of people's figures
    page.click("#stats thead th:text-is('受理用时中位（分钟）')")  # the quickest first
    # by a rate, five steps make the clerk's rank, the dispatcher's four too few
    assert _row(page, staff["clerk"])["名次"] != "—"
    assert _row(page, staff["dispatcher"])["名次"] == "—"
    ranked = [r for r in answer["rows"] if r["figures"]["steps"] >= 5
              and r["figures"]["intake_minutes_median"] is not None]
    quickest = min(ranked, key=lambda r: (r["figures"]["intake_minutes_median"], r["code"]))
    assert page.locator("#stats tbody tr").first.get_attribute("data-code") == quickest["code"]
    page.screenshot(path=ARTIFACTS / "stats-staff.png")


def test_a_grid_chief_ranks_the_grids_it_leads_and_their_workers(browser, server,
                                                                  fixture_cases, clients):
    """From the phone, where a chief signs in, to the evaluation of the grids it leads, in the
    phone's session."""
    context = browser.new_context(viewport={"width": 1700, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/m/")
    page.fill("#login input[name=username]", "chief")
    page.fill("#login input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.locator("#to-stats").wait_for()  # a grid chief's pages, not a worker's
    for link in ("#to-people", "#to-units", "#to-campaigns"):
        assert page.locator(link).is_visible(), link
    page.click("#to-stats")
    page.wait_for_url(f"{server}/map/stats")
    wait_until(page, "window.mapsvcStats.shown !== null", "the figures")
    offered = [o.inner_text() for o in page.locator("#stats-find [name=by] option").all()
               if o.get_attribute("hidden") is None]
    assert offered == ["网格", "网格员", "问题类别", "按月", "按周", "按日"]
    assert page.locator("#stats-find [name=by]").input_value() == "grid"
    _asked(page, "grid")
    grids = clients["chief"].get("/stats", params={**PERIOD, "by": "grid"}).json()
    assert page.locator("#stats tbody tr").count() == len(grids["rows"]) > 1
    row = next(r for r in grids["rows"] if r["code"] == fixture_cases)
    assert {k: _row(page, fixture_cases)[k] for k in _shown(row["figures"])} == _shown(
        row["figures"])
    assert page.locator("#stats a.to-desk").count() == 0  # no desk of its own to open them on
    assert page.locator("#stats-where").inner_text() == "所辖网格"
    _asked(page, "worker")
    workers = clients["chief"].get("/stats", params={**PERIOD, "by": "worker"}).json()
    row = next(r for r in workers["rows"] if r["code"] == "worker")
    assert {k: _row(page, "worker")[k] for k in _shown(row["figures"])} == _shown(row["figures"])
    assert row["figures"]["reported"] >= 10
    links = page.locator("header a").all_inner_texts()
    assert "手机端" in links and "人口台账" in links and "受理派遣" not in links
    page.screenshot(path=ARTIFACTS / "stats-chief.png")
    context.close()


def test_a_department_reads_its_own_figures_by_class_for_the_days_it_chooses(
        browser, server, fixture_cases, clients):
    context = browser.new_context(viewport={"width": 1700, "height": 900})
    page = context.new_page()
    sign_in(page, server, "/map/stats", "department", PASSWORD)
    wait_until(page, "window.mapsvcStats.shown !== null", "the figures")
    offered = [o.inner_text() for o in page.locator("#stats-find [name=by] option").all()
               if o.get_attribute("hidden") is None]
    # its own figures, by the classes of its cases, or in time
    assert offered == ["问题类别", "按月", "按周", "按日"]
    _asked(page, "category")
    own = clients["department"].get("/stats", params={**PERIOD, "by": "category"}).json()
    assert own["kind"] == "department" and own["figures"]["reported"] > 0
    total = page.locator("#stats tfoot td").all_inner_texts()
    headings = _headings(page)
    assert total[1] == f"{own['name']}（合计）"
    assert dict(zip(headings[2:], total[2:])) == _shown(own["figures"])
    assert page.locator("#stats tbody tr").count() == len(own["rows"])
    for row in own["rows"]:
        shown = _row(page, row["code"])
        assert shown["名称"] == row["name"]
        assert {k: shown[k] for k in _shown(row["figures"])} == _shown(row["figures"])
    assert page.inner_text("#stats-said") == ""
    # a class entered: itself and its subclasses, as the API gives them, with no total
    page.evaluate("window.mapsvcStats.answer = null")
    page.click("#stats tbody tr[data-code='06'] button.enter")
    wait_until(page, "window.mapsvcStats.answer !== null", "the subclasses")
    inner = clients["department"].get("/stats", params={**PERIOD, "category": "06"}).json()
    assert [r["code"] for r in inner["rows"]][:2] == ["06", "0601"]
    for row in inner["rows"]:
        shown = _row(page, row["code"])
        assert {k: shown[k] for k in _shown(row["figures"])} == _shown(row["figures"])
    assert page.locator("#stats tfoot tr").count() == 0
    assert page.locator("#stats-where").inner_text() == f"{own['name']} › 市容环境"
    page.evaluate("window.mapsvcStats.answer = null")
    page.click("#stats-where button")  # back to the main classes, and their total
    wait_until(page, "window.mapsvcStats.answer !== null", "the main classes")
    assert page.locator("#stats tbody tr[data-code='0601']").count() == 0
    assert page.locator("#stats tfoot tr").count() == 1
    assert page.locator("header a").all_inner_texts()[:2] == ["案件处置", "手机端"]
    # a class's 上报 opens its cases reported in the days chosen on the department's desk
    link = page.locator("#stats tbody tr[data-code='06'] td:nth-child("
                        f"{_headings(page).index('上报') + 1}) a")
    assert link.inner_text() == _row(page, "06")["上报"] != "0"
    desk = desk_opened(page, link)
    wait_until(desk, f"window.mapsvcDesk && window.mapsvcDesk.matched === {link.inner_text()}",
               "the cases")
    assert desk.input_value("#desk-view") == "all"
    assert desk.input_value("#desk-category") == "06"
    assert desk.inner_text("#desk-scope span") == f"{PERIOD['from']} 至 {PERIOD['to']}上报"
    listed = desk.evaluate("window.mapsvcDesk.cases.map((f) => f.properties)")
    assert {(p["department"], p["category"][:2]) for p in listed} == {("T1", "06")}
    context.close()


@pytest.mark.parametrize("username", ["worker", "planner", "auditor"])
def test_only_centres_administrators_chiefs_and_departments_open_the_evaluation(
        browser, server, username):
    assert "此页面仅供指挥中心、网格长或职能部门账号使用" in refused(
        browser, server, "/map/stats", username, PASSWORD)
