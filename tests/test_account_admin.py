"""Accounts administered over the API and on the accounts page (/map/accounts), as
`mapsvc accounts` does on the server: made with the scope their role is bound to and a
password they change first, given a new password or new grids, disabled and enabled; each
change kept in the account's events with the administrator and the address it came from.
Administrators only."""

import re
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser import on_one_line, refused, sign_in, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, new_account
from tests.test_people_page import pick_area


@pytest.fixture(scope="module")
def anonymous(server):
    with httpx.Client(base_url=f"{server}/api/v1", timeout=30) as client:
        yield client


def _token(anonymous, username: str, password: str = PASSWORD) -> httpx.Response:
    return anonymous.post("/auth/token", data={"username": username, "password": password})


def _until(check, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.2)


def _listed(admin, username: str, **params) -> dict | None:
    found = [a for a in admin.get("/accounts", params={"limit": 1000, **params}).json()
             if a["username"] == username]
    return found[0] if found else None


def test_an_administrator_makes_an_account_which_changes_its_password_before_signing_in(
        clients, anonymous, accounts):
    admin = clients["admin"]
    grid = accounts["worker"][1]["grid_codes"][0]
    name = f"made_{uuid.uuid4().hex[:8]}"
    body = {"username": name, "role": "grid_worker", "grids": [grid], "display_name": "新网格员",
            "password": PASSWORD}
    made = admin.post("/accounts", json=body)
    assert made.status_code == 201
    assert _token(anonymous, name).status_code == 403  # set by an administrator: changed first
    listed = _listed(admin, name, role="grid_worker")
    assert made.json() == listed
    assert (listed["display_name"], listed["role"], listed["active"], listed["signed_in_at"]) == (
        "新网格员", "grid_worker", True, None)
    assert grid in listed["scope"]
    assert _listed(admin, name, role="command") is None
    [event] = admin.get("/accounts/events", params={"username": name}).json()
    assert (event["event"], event["origin"], event["detail"]) == (
        "created", "admin 经接口，来自 127.0.0.1", f"网格员 {grid}")
    again = admin.post("/accounts", json=body)  # sent again: one account, the answer says so
    assert again.status_code == 409 and again.json()["detail"][0]["loc"] == ["body", "username"]


@pytest.mark.parametrize("fields,field", [
    ({"role": "emperor"}, "role"),
    ({"role": "grid_worker"}, "grids"),
    ({"role": "grid_worker", "grids": ["no-such-grid"]}, "grids"),
    ({"role": "command", "region": "000000"}, "region"),
    ({"role": "department"}, "department"),
    ({"role": "auditor", "grids": ["x"]}, "grids"),
    ({"role": "admin", "password": "short"}, "password"),
    ({"role": "admin", "username": "has space"}, "username"),
    ({"role": "admin", "display_name": "a\x00b"}, "display_name"),
])
def test_an_account_that_cannot_be_is_refused_naming_its_field(clients, db, fields, field):
    name = f"refused_{uuid.uuid4().hex[:8]}"
    r = clients["admin"].post("/accounts", json={"username": name, "password": PASSWORD,
                                                 **fields})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM account WHERE username = :n"),
                            {"n": fields.get("username", name)}).scalar_one() == 0


def test_an_account_is_disabled_enabled_moved_and_given_a_new_password(clients, anonymous,
                                                                        accounts):
    admin = clients["admin"]
    first, second = accounts["chief"][1]["grid_codes"][:2]
    name = new_account("grid_worker", grid_codes=[first])
    token = _token(anonymous, name).json()["access_token"]

    def reads(with_token: str) -> int:
        return anonymous.get("/incidents", headers={"Authorization": f"Bearer {with_token}"}
                             ).status_code

    assert admin.patch(f"/accounts/{name}", json={"active": False}).status_code == 204
    assert _token(anonymous, name).status_code == 401
    _until(lambda: reads(token) == 401, "refused the disabled account's token")
    assert _listed(admin, name)["active"] is False
    assert admin.patch(f"/accounts/{name}", json={"active": True}).status_code == 204
    token = _token(anonymous, name).json()["access_token"]
    assert admin.patch(f"/accounts/{name}", json={"grids": [second]}).status_code == 204
    _until(lambda: reads(token) == 401, "signed the moved account out")
    scope = _listed(admin, name)["scope"]
    assert second in scope and first not in scope
    assert admin.post(f"/accounts/{name}/password", json={"password": "Forgot-2026x"}
                      ).status_code == 204
    assert _token(anonymous, name, "Forgot-2026x").status_code == 403  # to change first
    events = [(e["event"], e["origin"]) for e in admin.get(
        "/accounts/events", params={"username": name, "limit": 6}).json()]
    origin = "admin 经接口，来自 127.0.0.1"
    assert events[0] == ("new_password", origin) and ("new_grids", origin) in events
    # refusals, each naming its field
    for method, path, body, status, loc in (
            ("patch", "/accounts/nobody_at_all", {"active": False}, 404, ["body", "username"]),
            ("patch", f"/accounts/{name}", {"grids": []}, 422, ["body", "grids"]),
            ("patch", "/accounts/admin", {"grids": [first]}, 422, ["body", "grids"]),
            ("patch", "/accounts/admin", {"active": False}, 422, ["body", "active"]),
            ("post", f"/accounts/{name}/password", {"password": "weak"}, 422,
             ["body", "password"])):
        r = admin.request(method, path, json=body)
        assert r.status_code == status and r.json()["detail"][0]["loc"][-1] == loc[-1], r.text


@pytest.mark.parametrize("role", ["command", "auditor", "chief", "planner"])
def test_only_an_administrator_administers_accounts(clients, role):
    client = clients[role]
    assert client.get("/accounts").status_code == 403
    assert client.post("/accounts", json={"username": "x", "role": "admin",
                                          "password": PASSWORD}).status_code == 403
    assert client.patch("/accounts/worker", json={"active": False}).status_code == 403
    assert client.post("/accounts/worker/password", json={"password": PASSWORD}
                       ).status_code == 403


def test_the_accounts_page_makes_disables_and_enables_an_account(browser, server, clients,
                                                                 accounts, db, lattice):
    grid = accounts["worker"][1]["grid_codes"][0]
    name = f"paged_{uuid.uuid4().hex[:8]}"
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    sign_in(page, server, "/map/accounts", "admin", PASSWORD)
    wait_until(page, "window.mapsvcAccounts.shown !== null", "the accounts")
    # a scope bound to nothing said: all of the deployment, or (an auditor's) none of it
    for bound, scope in (("admin", "全部辖区"), ("city", "全部辖区"), ("auditor", "无（只读审计）"),
                         ("command", "441502 城区")):
        assert page.locator(f"#accounts tr[data-account='{bound}'] td").nth(
            4).inner_text() == scope, bound

    form = page.locator("#accounts-new")
    form.locator("[name=role]").select_option("grid_worker")
    expect(form.locator("[data-scope=region]")).to_be_hidden()
    form.locator("[name=username]").fill(name)
    form.locator("[name=display_name]").fill("<b>新</b>网格员")
    form.locator("[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.locator("#accounts-said")).to_have_text("网格员账号须填写网格编码")
    # its grids chosen by name, from the deployment's cities down, one taken off again
    other = accounts["chief"][1]["grid_codes"][1]
    with db.connect() as conn:
        named = dict(conn.execute(text("SELECT code, name FROM grid WHERE code IN (:a, :b)"),
                                  {"a": grid, "b": other}).all())
    for chosen in (other, grid):
        pick_area(page, chosen[:4], chosen[:6], chosen[:9], chosen[:12], chosen,
                  within="#accounts-new [data-scope=grids]")
    chips = form.locator("ul.chosen li")
    expect(chips).to_have_count(2)
    form.locator(f"ul.chosen li[data-grid='{other}'] button").click()
    expect(chips).to_have_text([f"{named[grid]}×"])
    form.locator("button[type=submit]").click()
    expect(page.locator("#accounts-said")).to_have_text(
        f"已新建 {name}（网格员），首次登录须修改密码")
    form.locator("[name=role]").select_option("department")
    for field, value in (("username", name), ("department", "T1"), ("password", PASSWORD)):
        form.locator(f"[name={field}]").fill(value)
    form.locator("button[type=submit]").click()
    expect(page.locator("#accounts-said")).to_have_text("账号已存在")

    with db.connect() as conn:  # a worker of many grids: a long scope
        many = conn.execute(text("SELECT code FROM grid WHERE code LIKE '420106%' "
                                 "ORDER BY code DESC LIMIT 40")).scalars().all()
    new_account("grid_worker", grid_codes=many)
    page.select_option("#accounts-find [name=role]", "grid_worker")
    page.click("#accounts-find button[type=submit]")
    row = page.locator(f"#accounts tr[data-account='{name}']")
    expect(row.locator("td").nth(3)).to_have_text("正常")
    assert row.locator("td").nth(1).inner_text() == "<b>新</b>网格员"  # shown as text
    assert page.locator("#accounts b").count() == 0
    assert row.locator("td").nth(2).inner_text() == "网格员"
    assert row.locator("td").nth(4).inner_text() == named[grid]  # its grid by name
    page.screenshot(path=ARTIFACTS / "accounts.png")
    # each heading and cell on one line but the scopes, however long those are
    assert on_one_line(page, "#accounts th, #accounts td:not(:nth-child(5))")
    row.locator("button", has_text="停用").click()
    expect(row.locator("td").nth(3)).to_have_text("已停用")
    assert clients["admin"].post("/auth/token", data={"username": name, "password": PASSWORD}
                                 ).status_code == 401
    row.locator("button", has_text="启用").click()
    expect(row.locator("td").nth(3)).to_have_text("正常")
    row.locator("button", has_text="调整网格").click()
    expect(page.locator(f"#accounts tr[data-account='{name}'] + tr.asking "
                        "#accounts-grids")).to_have_count(1)  # under its row
    regrid = page.locator("#accounts-grids ul.chosen li")
    expect(regrid).to_have_text([f"{named[grid]}×"])  # the grid it has, listed
    pick_area(page, other[:4], other[:6], other[:9], other[:12], other,
              within="#accounts-grids [role=group]")
    page.locator(f"#accounts-grids ul.chosen li[data-grid='{grid}'] button").click()
    expect(regrid).to_have_text([f"{named[other]}×"])
    page.click("#accounts-grids button[type=submit]")
    expect(page.locator("#accounts-said")).to_have_text(f"已调整 {name} 的网格，该账号已退出登录")
    expect(row.locator("td").nth(4)).to_have_text(named[other])
    assert [g["code"] for g in next(a for a in clients["admin"].get(
        "/accounts", params={"role": "grid_worker", "limit": 1000}).json()
        if a["username"] == name)["grids"]] == [other]
    row.locator("button", has_text="重设密码").click()
    page.fill("#accounts-password [name=password]", "weak")
    page.click("#accounts-password button[type=submit]")
    # said with the rules it must keep, as the form shows them
    rules = "至少 8 位，含小写字母、大写字母、数字、其他符号中的至少三种，不含账号名"
    assert page.locator("#accounts-password small").inner_text() == f"密码{rules}"
    expect(page.locator("#accounts-said")).to_have_text(f"密码不符合要求：{rules}")
    page.fill("#accounts-password [name=password]", "Forgot-2026x")
    page.click("#accounts-password button[type=submit]")
    expect(page.locator("#accounts-said")).to_have_text(
        f"已重设 {name} 的密码，该账号登录前须修改")
    expect(page.locator("#accounts-password")).to_be_hidden()
    assert clients["admin"].post("/auth/token", data={"username": name,
                                                      "password": "Forgot-2026x"}
                                 ).status_code == 403  # to change before signing in
    # five wrong passwords hold it back: till when, said as a deadline is (今天 16:05)
    for n in range(5):
        clients["admin"].post("/auth/token", data={"username": name, "password": f"guess-{n}"})
    until = datetime.fromisoformat(next(a for a in clients["admin"].get(
        "/accounts", params={"role": "grid_worker", "limit": 1000}).json()
        if a["username"] == name)["held_until"]).astimezone(ZoneInfo("Asia/Shanghai"))
    page.click("#accounts-find button[type=submit]")
    day = "今天" if until.date() == datetime.now(until.tzinfo).date() else "明天"
    expect(row.locator("td").nth(3)).to_have_text(f"密码错误过多，{day} {until:%H:%M} 前暂停登录")
    # a centre's region chosen by name: a township of a county of no city, which the
    # deployment's top offers beside its cities
    centre = f"{name}_c"
    form.locator("[name=role]").select_option("command")
    expect(form.locator("span[data-scope=grids]")).to_be_hidden()
    for field, value in (("username", centre), ("password", PASSWORD)):
        form.locator(f"[name={field}]").fill(value)
    pick_area(page, lattice.COUNTY, lattice.TOWNSHIP, within="#accounts-new [data-scope=region]")
    form.locator("button[type=submit]").click()
    expect(page.locator("#accounts-said")).to_have_text(
        f"已新建 {centre}（指挥中心），首次登录须修改密码")
    made = next(a for a in clients["admin"].get("/accounts", params={"role": "command"}).json()
                if a["username"] == centre)
    assert made["scope"] == f"{lattice.TOWNSHIP} 测试镇"
    context.close()
    assert "此页面仅供管理员账号使用" in refused(browser, server, "/map/accounts", "command",
                                            PASSWORD)


@pytest.mark.parametrize("username,linked", [("admin", True), ("command", False)])
def test_an_administrators_pages_lead_to_the_audit_log_the_accounts_and_the_webhooks(
        server, accounts, username, linked):
    with httpx.Client(base_url=server, timeout=30) as browser:
        browser.post("/api/v1/auth/session", data={"username": username, "password": PASSWORD})
        for page in ("/map/wall", "/map/desk", "/map/people"):
            shown = browser.get(page).text
            assert ('href="/map/accounts"' in shown and 'href="/map/audit"' in shown
                    and 'href="/map/webhooks"' in shown) == linked
        if linked:  # and from each of them to the two others and the centre's, not to itself
            own = ("/map/audit", "/map/accounts", "/map/webhooks")
            for page in own:
                shown = re.findall(r'<a href="(/map/[a-z]+)">', browser.get(page).text)
                assert sorted(shown) == sorted(
                    ["/map/wall", "/map/people", "/map/stats", *(p for p in own if p != page)])


def test_no_pages_text_is_broken_by_a_space_between_two_chinese_characters(server, accounts):
    """A line break between two Chinese characters in a page's HTML shows as a space (有一行不对
    则都不新建): none in any page's text."""
    import re

    chinese = "[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
    broken = re.compile(f"{chinese}\\n\\s*{chinese}")
    with httpx.Client(base_url=server, timeout=30) as browser:
        browser.post("/api/v1/auth/session", data={"username": "admin", "password": PASSWORD})
        for page in ("/map/wall", "/map/desk", "/map/people", "/map/plan", "/map/stats",
                     "/map/accounts", "/map/audit", "/map/webhooks", "/map/login",
                     "/map/password", "/m/"):
            shown = browser.get(page)
            assert shown.status_code == 200, page
            text = re.sub(r"<(script|style)\b.*?</\1>", "", shown.text, flags=re.S)
            assert broken.findall(text) == [], page
