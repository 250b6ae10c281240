"""Auditors (审计员, 等保 2.0's separation of the administrator from the auditor): an auditor
reads the audit log and what befell the accounts, over the API and on the audit page, and
nothing else: no case, no map, no person, no change."""

import csv
import io
import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser import refused, searched, sign_in, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, new_account, registered, signed_in_client

# What an auditor may call: the two logs, read, and the first counted by account and exported.
READS = {("get", "/api/v1/audit"), ("get", "/api/v1/audit/accounts"),
         ("get", "/api/v1/audit.csv"), ("get", "/api/v1/accounts/events")}
CHINA = ZoneInfo("Asia/Shanghai")
REASON = "<b>核实</b>低保申请"  # as typed by whoever revealed: shown as text, never as markup


def _filled(path: str, parameters: list[dict]) -> str:
    """``path`` with each of its parameters given a value of its kind."""
    kinds = {p["name"]: p.get("schema", {}) for p in parameters if p["in"] == "path"}

    def value(match):
        schema = kinds.get(match[1], {})
        if "enum" in schema:
            return schema["enum"][0]
        return "1" if schema.get("type") == "integer" else "x"

    return re.sub(r"\{(\w+)\}", value, path)


def test_an_auditor_reads_the_audit_and_is_refused_every_other_operation(server, clients):
    """Every operation of the API description that needs a token: 403 to an auditor but the
    reads of the logs, which answer as they do to an administrator."""
    description = httpx.get(f"{server}/openapi.json").json()
    auditor = clients["auditor"]
    answered = {}
    for path, operations in description["paths"].items():
        for method, operation in operations.items():
            if not operation.get("security"):
                continue
            assert "403" in operation["responses"], (method, path)  # described, too
            # its status only: a live feed's body never ends
            with auditor.stream(method, server + _filled(path, operation.get("parameters", []))
                                ) as r:
                answered[method, path] = r.status_code
    assert len(answered) > 60  # the whole API was walked
    assert {call for call, status in answered.items() if status != 403} == READS, answered
    assert auditor.get("/audit").json() == clients["admin"].get("/audit").json()
    assert auditor.get("/accounts/events").json() == clients["admin"].get(
        "/accounts/events").json()
    # Open311's key (the same token, as api_key) opens nothing either
    key = auditor.headers["Authorization"].removeprefix("Bearer ")
    assert httpx.get(f"{server}/open311/v2/requests.json",
                     params={"api_key": key}).status_code == 403


def test_an_auditor_is_kept_from_every_page_but_the_audit_log(server, accounts):
    with httpx.Client(base_url=server, timeout=30, follow_redirects=True) as browser:
        browser.post("/api/v1/auth/session", data={"username": "auditor", "password": PASSWORD})
        assert browser.get("/map/audit").status_code == 200
        for page in ("/map/wall", "/map/desk", "/map/people", "/map/plan", "/map/accounts"):
            assert browser.get(page).status_code == 403, page
    with httpx.Client(base_url=server, timeout=30) as browser:
        browser.post("/api/v1/auth/session", data={"username": "command", "password": PASSWORD})
        answer = browser.get("/map/audit")
        assert answer.status_code == 403 and "审计员或管理员" in answer.text


@pytest.fixture(scope="module")
def looked_at(server, clients, accounts, grids) -> tuple[str, int]:
    """A command account of its own that looked at one person's mobile 101 times, the last
    time for ``REASON``: its name and the person's id."""
    here = grids.set_index("code").geometry[accounts["worker"][1]["grid_codes"][0]]
    here = here.representative_point()
    admin = clients["admin"]
    tag = f"审计{uuid.uuid4().hex[:6]}"
    registered(admin, "addresses", [{"address": "审计路1号", "lon": here.x, "lat": here.y}],
               county="441502")
    registered(admin, "people", [{"address": "审计路1号", "name": "钱审计", "care_tags": tag,
                                  "registration": "resident", "mobile": "13700001111"}],
               county="441502")
    [person] = admin.get("/registry/people", params={"care_tag": tag}).json()
    name = new_account()
    with signed_in_client(server, name) as looker:
        for n in range(101):
            r = looker.post(f"/registry/people/{person['id']}/reveal", json={
                "field": "mobile", "reason": REASON if n == 100 else f"第{n + 1}次核实"})
            assert r.status_code == 200
    return name, person["id"]


def test_both_logs_are_read_over_a_span_of_time_given_in_china_time(clients, looked_at):
    """From is kept, to left out; a time without a zone is China's."""
    looker, _ = looked_at
    auditor = clients["auditor"]
    for path, newest in (("/audit", {"username": looker, "action": "reveal"}),
                         ("/accounts/events", {"username": looker})):
        entries = auditor.get(path, params={**newest, "limit": 1000}).json()
        at = entries[0]["at"]

        def read(**span):
            return auditor.get(path, params={**newest, "limit": 1000, **span}).json()

        assert read(**{"from": at}) == [entries[0]] and read(to=at) == entries[1:]
        hour_ago = (datetime.now(CHINA) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        assert read(**{"from": hour_ago}) == entries and read(to=hour_ago) == []
        refused = auditor.get(path, params={"from": at, "to": at})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == [
            "query", "to"], path


def test_the_audit_counts_what_each_account_did_with_personal_data(clients, looked_at):
    looker, person = looked_at
    auditor = clients["auditor"]
    newest = auditor.get("/audit", params={"username": looker}).json()[0]
    hour_ago = (datetime.now(CHINA) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    counted = auditor.get("/audit/accounts", params={"from": hour_ago, "limit": 1000}).json()
    assert [c["reveals"] for c in counted] == sorted((c["reveals"] for c in counted),
                                                     reverse=True)  # those shown most first
    [mine] = [c for c in counted if c["username"] == looker]
    assert mine == {"username": looker, "reveals": 101, "people_revealed": 1, "lookups": 0,
                    "exports": 0, "departures": 0, "corrections": 0, "last_at": newest["at"]}
    earlier = auditor.get("/audit/accounts", params={"to": hour_ago, "limit": 1000}).json()
    assert looker not in {c["username"] for c in earlier}
    assert clients["command"].get("/audit/accounts").status_code == 403


def test_the_audit_is_exported_whole_for_a_spreadsheet(server, clients, looked_at):
    """All the entries a query finds, with Chinese headings and names, China's times, and a
    reason typed as a formula written as text (CSV injection)."""
    looker, person = looked_at
    auditor = clients["auditor"]
    sheet = auditor.get("/audit.csv", params={"username": looker})
    assert sheet.status_code == 200 and sheet.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    newest = auditor.get("/audit", params={"username": looker}).json()[0]
    at = datetime.fromisoformat(newest["at"]).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    assert len(rows) == 101 and rows[0] == {"时间": at, "账号": looker, "操作": "查看完整信息",
                                            "对象": f"人员 {person}", "字段": "手机",
                                            "理由或说明": REASON}
    schemer = new_account()  # of another person, the looker's staying theirs alone
    tag = f"公式{uuid.uuid4().hex[:6]}"
    registered(clients["admin"], "people", [{"address": "审计路1号", "name": "孙公式",
                                             "registration": "resident", "care_tags": tag}],
               county="441502")
    [other] = clients["admin"].get("/registry/people", params={"care_tag": tag}).json()
    with signed_in_client(server, schemer) as client:
        assert client.post(f"/registry/people/{other['id']}/reveal", json={
            "field": "name", "reason": "=HYPERLINK(\"http://x\")"}).status_code == 200
    [row] = csv.DictReader(io.StringIO(auditor.get("/audit.csv", params={
        "username": schemer}).content.decode("utf-8-sig")))
    assert (row["字段"], row["理由或说明"]) == ("姓名", "'=HYPERLINK(\"http://x\")")
    assert clients["command"].get("/audit.csv").status_code == 403


def test_the_auditor_finds_who_looked_at_whom_and_why_and_what_befell_the_accounts(
        browser, server, looked_at):
    looker, person = looked_at
    context = browser.new_context(viewport={"width": 1500, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    sign_in(page, server, "/map/audit", "auditor", PASSWORD)
    wait_until(page, "window.mapsvcAudit.shown !== null", "the newest entries")

    page.fill("#audit-find [name=username]", looker)
    page.select_option("#audit-find [name=action]", "reveal")
    searched(page, "#audit-find", "window.mapsvcAudit")
    wait_until(page, "window.mapsvcAudit.shown === 100", "a first page of the looker's reveals")
    newest = page.locator("#audit-data tbody tr").first.locator("td")
    assert newest.all_inner_texts()[1:] == [looker, "查看完整信息", f"人员 {person}", "手机",
                                            REASON]
    assert page.locator("#audit-data b").count() == 0  # the reason's markup stayed text
    assert page.inner_text("#audit-page") == "第 1–100 条"
    page.click("#audit-next")
    wait_until(page, "window.mapsvcAudit.shown === 1", "the oldest reveal on the next page")
    assert page.locator("#audit-data tbody td").nth(5).inner_text() == "第1次核实"
    expect(page.locator("#audit-next")).to_be_disabled()
    page.screenshot(path=ARTIFACTS / "audit-log.png")
    with page.expect_download() as download:
        page.click("#audit-export")
    exported = list(csv.DictReader(open(download.value.path(), encoding="utf-8-sig")))
    assert len(exported) == 101 and exported[0]["理由或说明"] == REASON  # all, not a page

    yesterday = (datetime.now(CHINA) - timedelta(days=1)).strftime("%Y-%m-%d")
    for day in ("from", "to"):
        page.fill(f"#audit-find [name={day}]", yesterday)
    searched(page, "#audit-find", "window.mapsvcAudit")
    wait_until(page, "window.mapsvcAudit.shown === 0", "no reveal yesterday")
    assert page.inner_text("#audit-said") == "没有符合条件的记录"
    page.fill("#audit-find [name=to]", datetime.now(CHINA).strftime("%Y-%m-%d"))
    searched(page, "#audit-find", "window.mapsvcAudit")
    wait_until(page, "window.mapsvcAudit.shown === 100", "yesterday and today's reveals")

    page.fill("#audit-find [name=username]", "")
    page.select_option("#audit-find [name=action]", "")
    page.fill("#audit-find [name=person]", str(person))
    searched(page, "#audit-find", "window.mapsvcAudit")
    wait_until(page, "window.mapsvcAudit.shown === 100", "the person's first page")
    assert set(page.locator("#audit-data tbody td:nth-child(2)").all_inner_texts()) == {looker}

    page.select_option("#audit-find [name=log]", "summary")
    expect(page.locator("#audit-find [name=username]")).to_be_hidden()
    searched(page, "#audit-find", "window.mapsvcAudit")
    counted = page.locator("#audit-summary tr", has_text=looker)
    expect(counted.locator("td").nth(1)).to_have_text("101")
    assert counted.locator("td").nth(2).inner_text() == "1"
    counted.locator("button", has_text="明细").click()
    wait_until(page, "window.mapsvcAudit.shown === 100", "the looker's entries, from its count")
    expect(page.locator("#audit-summary")).to_be_hidden()
    assert set(page.locator("#audit-data tbody td:nth-child(2)").all_inner_texts()) == {looker}

    page.select_option("#audit-find [name=log]", "accounts")
    expect(page.locator("#audit-find [name=person]")).to_be_hidden()
    page.fill("#audit-find [name=username]", looker)
    searched(page, "#audit-find", "window.mapsvcAudit")
    wait_until(page, "window.mapsvcAudit.shown === 2", "the looker's account events")
    expect(page.locator("#audit-data")).to_be_hidden()
    events = [row.locator("td").all_inner_texts()[1:3]
              for row in page.locator("#audit-accounts tbody tr").all()]
    assert events == [[looker, "登录成功"], [looker, "创建"]]
    context.close()


def test_a_reveal_of_a_cases_caller_names_the_case_on_the_audit_page(browser, server, clients,
                                                                      grids):
    """The case by its number and the caller's field in Chinese; counted as a reveal, of no
    person."""
    point = grids[grids["code"].str.startswith("441502")].geometry.iloc[3].representative_point()
    name = new_account()
    with signed_in_client(server, name) as looker:
        case = looker.post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "0601", "lon": point.x, "lat": point.y,
            "source": "hotline", "caller": {"phone": "13612345678"}}).json()["id"]
        assert looker.post(f"/incidents/{case}/caller/reveal", json={
            "field": "phone", "reason": REASON}).status_code == 200
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    sign_in(page, server, "/map/audit", "auditor", PASSWORD)
    wait_until(page, "window.mapsvcAudit.shown !== null", "the newest entries")
    page.fill("#audit-find [name=username]", name)
    searched(page, "#audit-find", "window.mapsvcAudit")
    wait_until(page, "window.mapsvcAudit.shown === 1", "the reveal")
    assert page.locator("#audit-data tbody td").all_inner_texts()[1:] == [
        name, "查看完整信息", f"案件 #{case}", "来电人电话", REASON]
    page.select_option("#audit-find [name=log]", "summary")
    searched(page, "#audit-find", "window.mapsvcAudit")
    counted = page.locator("#audit-summary tr", has_text=name)
    expect(counted.locator("td").nth(1)).to_have_text("1")  # one reveal
    assert counted.locator("td").nth(2).inner_text() == "0"  # of no person
    context.close()


def test_the_administrator_reads_the_audit_page_and_others_are_turned_away(browser, server,
                                                                             accounts):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server, "/map/audit", "admin", PASSWORD)
    wait_until(page, "window.mapsvcAudit.shown !== null", "the newest entries")
    expect(page.locator("nav a", has_text="人口台账")).to_be_visible()
    context.close()
    for username in ("command", "chief", "worker", "planner"):
        assert "此页面仅供审计员或管理员账号使用" in refused(browser, server, "/map/audit",
                                                     username, PASSWORD), username
