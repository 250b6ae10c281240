"""Rosters (花名册): the accounts of many people made at once from a spreadsheet, over the API
(`POST /api/v1/accounts/import`), on the accounts page and with `mapsvc accounts import`; all of
them or none, each refusal named by its line and column; each account with a first password of
its own, shown once, which it changes before it first signs in; a roster sent again makes
nothing twice."""

import csv
import io
import os
import stat
import threading
import uuid

import httpx
import pandas as pd
import pytest
from playwright.sync_api import expect
from typer.testing import CliRunner

from mapsvc.cli import app
from tests.browser import sign_in, wait_until
from tests.conftest import ARTIFACTS, PASSWORD

HEADINGS = "username,role,display_name,grids,region,department\n"


@pytest.fixture(scope="module")
def anonymous(server):
    with httpx.Client(base_url=f"{server}/api/v1", timeout=30) as client:
        yield client


def _names(n: int) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"roster_{tag}_{i}" for i in range(n)]


def _send(admin, roster: str, filename: str = "花名册.csv") -> httpx.Response:
    return admin.post("/accounts/import", files={"file": (filename, roster.encode())})


def _events(admin, username: str) -> list[dict]:
    return admin.get("/accounts/events", params={"username": username}).json()


def _first_sign_in(anonymous, username: str, password: str) -> None:
    """As a grid worker handed their first password: asked to change it, then signed in."""
    assert anonymous.post("/auth/token", data={"username": username, "password": password}
                          ).status_code == 403
    changed = anonymous.post("/auth/password", data={
        "username": username, "password": password, "new_password": PASSWORD})
    assert changed.status_code == 204, changed.text
    assert anonymous.post("/auth/token", data={"username": username, "password": PASSWORD}
                          ).status_code == 200


def test_a_roster_makes_its_accounts_each_with_a_first_password_to_change(clients, accounts,
                                                                         anonymous):
    admin = clients["admin"]
    grids = accounts["chief"][1]["grid_codes"]
    worker, chief, centre, department = _names(4)
    roster = (HEADINGS + f"{worker},网格员,张三,{grids[0]}、{grids[1]},,\n"
              f"{chief},grid_chief,李四,\"{grids[0]}, {grids[1]} {grids[0]}\",,\n"
              f"{centre},指挥中心,=HYPERLINK(\"x\"),,441502,\n"
              f"{department},department,,,,T1\n")
    r = _send(admin, roster)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    answer = r.json()
    assert (answer["rows"], answer["existing"], answer["errors"]) == (4, [], [])
    made = {a["username"]: a for a in answer["created"]}
    assert [made[n]["role"] for n in (worker, chief, centre, department)] == [
        "grid_worker", "grid_chief", "command", "department"]
    passwords = [a["password"] for a in answer["created"]]
    assert len(set(passwords)) == 4 and all(len(p) >= 12 for p in passwords)
    listed = {a["username"]: a for a in admin.get("/accounts", params={"limit": 1000}).json()}
    assert listed[worker]["display_name"] == "张三"
    assert listed[worker]["scope"].count(grids[0]) == 1 and grids[1] in listed[worker]["scope"]
    assert listed[centre]["display_name"] == '=HYPERLINK("x")'
    assert "441502" in listed[centre]["scope"] and "T1" in listed[department]["scope"]
    [event] = _events(admin, worker)
    assert (event["event"], event["origin"]) == ("created", "admin 经接口，来自 127.0.0.1")
    _first_sign_in(anonymous, worker, made[worker]["password"])

    again = _send(admin, roster)  # its answer lost, sent again: nothing made twice
    assert again.status_code == 200
    assert again.json()["created"] == [] and again.json()["errors"] == []
    assert sorted(again.json()["existing"]) == sorted([worker, chief, centre, department])
    assert len(_events(admin, chief)) == 1
    assert anonymous.post("/auth/token", data={"username": worker, "password": PASSWORD}
                          ).status_code == 200  # its password as its owner set it


def test_a_roster_with_a_line_at_fault_makes_no_account_and_names_each_line(clients, accounts):
    admin = clients["admin"]
    grid = accounts["worker"][1]["grid_codes"][0]
    good, emperor, gridless, nowhere, twice, spaced, auditor = _names(7)
    roster = (HEADINGS + f"{good},grid_worker,,{grid},,\n"      # line 2: fine
              f"{emperor},emperor,,,,\n"                        # 3
              f"{gridless},grid_worker,,,,\n"                   # 4
              f"{nowhere},grid_worker,,no-such-grid,,\n"        # 5
              f"{twice},admin,,,,\n{twice},admin,,,,\n"         # 6, 7
              f"{spaced} x,admin,,,,\n"                         # 8
              f"{auditor},auditor,,,441502,\n"                  # 9
              f",admin,,,,\n"                                   # 10
              f"worker,grid_worker,,{grid},,\n"                 # 11: an account already
              f"{good}x,admin,{'名' * 65},,,\n")                 # 12
    r = _send(admin, roster)
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["created"] == [] and answer["existing"] == ["worker"]
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [
        (3, "role"), (4, "grids"), (5, "grids"), (6, "username"), (7, "username"),
        (8, "username"), (9, "region"), (10, "username"), (12, "display_name")]
    assert "no grid no-such-grid" in answer["errors"][2]["reason"]
    assert "more than one line" in answer["errors"][3]["reason"]
    listed = {a["username"] for a in admin.get("/accounts", params={"limit": 1000}).json()}
    assert good not in listed  # all or nothing
    assert _events(admin, good) == []


@pytest.mark.parametrize("filename,body,field", [
    ("roster.txt", HEADINGS, "file"),
    ("roster.csv", "name,role\nx,admin\n", "file"),  # no username column
])
def test_a_roster_that_cannot_be_read_is_refused_naming_the_file(clients, filename, body, field):
    r = _send(clients["admin"], body, filename)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, r.text


def test_a_roster_is_read_from_excel_headed_in_chinese_too(clients, accounts):
    admin = clients["admin"]
    [name] = _names(1)
    grid = accounts["worker"][1]["grid_codes"][0]
    sheet = io.BytesIO()
    pd.DataFrame({"账号": [name], "角色": ["网格长"], "网格编码": [grid],
                  "姓名": ["王五"]}).to_excel(sheet, index=False)
    r = admin.post("/accounts/import", files={"file": ("花名册.xlsx", sheet.getvalue())})
    assert r.status_code == 200, r.text
    made = r.json()["created"][0]
    assert (made["role"], made["display_name"]) == ("grid_chief", "王五")
    listed = {a["username"]: a for a in admin.get("/accounts", params={"limit": 1000}).json()}
    assert grid in listed[name]["scope"]


def test_a_roster_sent_twice_at_once_makes_its_accounts_once(server, clients, accounts):
    names = _names(3)
    roster = HEADINGS + "".join(f"{n},admin,,,,\n" for n in names)
    token = clients["admin"].headers["Authorization"]
    answers = []

    def send():
        with httpx.Client(base_url=f"{server}/api/v1", timeout=60,
                          headers={"Authorization": token}) as client:
            answers.append(_send(client, roster))

    racers = [threading.Thread(target=send) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert [r.status_code for r in answers] == [200] * 4
    made = [a["username"] for r in answers for a in r.json()["created"]]
    assert sorted(made) == sorted(names)
    assert all(len(_events(clients["admin"], n)) == 1 for n in names)


@pytest.mark.parametrize("role", ["command", "auditor", "chief"])
def test_only_an_administrator_sends_a_roster(clients, role):
    assert _send(clients[role], HEADINGS).status_code == 403


def test_the_cli_writes_the_first_passwords_to_a_new_file_of_its_own(tmp_path, clients,
                                                                    accounts, anonymous):
    grid = accounts["worker"][1]["grid_codes"][0]
    worker, other = _names(2)
    roster = tmp_path / "花名册.csv"
    roster.write_text(HEADINGS + f"{worker},网格员,=cmd|' /C calc'!A0,{grid},,\n",
                      encoding="utf-8")
    kept = tmp_path / "初始密码.csv"
    result = CliRunner().invoke(app, ["accounts", "import", str(roster), "--passwords",
                                      str(kept)])
    assert result.exit_code == 0, result.output
    assert "1 accounts made" in result.output
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    text = kept.read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    [row] = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert (row["账号"], row["姓名"], row["角色"]) == (worker, "'=cmd|' /C calc'!A0", "网格员")
    _first_sign_in(anonymous, worker, row["初始密码"])

    roster.write_text(HEADINGS + f"{worker},网格员,,{grid},,\n{other},admin,,,,\n",
                      encoding="utf-8")
    again = CliRunner().invoke(app, ["accounts", "import", str(roster), "--passwords",
                                     str(kept)])  # the file is there: refused, nothing made
    assert again.exit_code == 2 and "--passwords" in again.output
    assert not [a for a in clients["admin"].get("/accounts", params={"limit": 1000}).json()
                if a["username"] == other]
    roster.write_text(HEADINGS + f"{other},emperor,,,,\n", encoding="utf-8")
    bad = CliRunner().invoke(app, ["accounts", "import", str(roster), "--passwords",
                                   str(tmp_path / "new.csv")])
    assert bad.exit_code == 1 and "line 2: role:" in bad.output
    assert not (tmp_path / "new.csv").exists()


def test_the_accounts_page_makes_a_roster_and_hands_over_its_first_passwords(
        browser, server, clients, accounts, tmp_path, anonymous):
    grid = accounts["worker"][1]["grid_codes"][0]
    worker, chief, emperor, planner, twice = _names(5)
    context = browser.new_context(viewport={"width": 1500, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    sign_in(page, server, "/map/accounts", "admin", PASSWORD)
    wait_until(page, "window.mapsvcAccounts.shown !== null", "the accounts")
    roster = tmp_path / "花名册.csv"
    roster.write_text(HEADINGS + f"{worker},网格员,<b>赵六</b>,{grid},,\n"
                      f"{chief},网格长,,no-such-grid,,\n{emperor},皇帝,,,,\n"
                      f"{planner},规划,,{grid},420106,\n{twice},网格员,,,,\n"
                      f"{twice},网格员,,,,\n,管理员,,,,\n", encoding="utf-8")
    page.set_input_files("#accounts-roster [name=file]", str(roster))
    page.click("#accounts-roster button[type=submit]")
    expect(page.locator("#accounts-said")).to_have_text("花名册有误，未新建任何账号")
    expect(page.locator("#accounts-enrolment-problems li")).to_have_text([  # in Chinese
        "第 3 行 · 网格编码不存在：no-such-grid",
        "第 4 行 · 角色须为网格员、网格长、指挥中心、职能部门、规划、管理员、审计员之一",
        "第 5 行 · 规划账号不绑定网格编码", "第 6 行 · 账号在花名册中出现不止一次",
        "第 7 行 · 账号在花名册中出现不止一次", "第 8 行 · 账号未填写"])
    expect(page.locator("#accounts-enrolled")).to_be_hidden()

    roster.write_text(HEADINGS + f"{worker},网格员,<b>赵六</b>,{grid},,\n"
                      f"{chief},网格长,,{grid},,\n", encoding="utf-8")
    page.set_input_files("#accounts-roster [name=file]", str(roster))
    page.click("#accounts-roster button[type=submit]")
    expect(page.locator("#accounts-said")).to_have_text("花名册已导入")
    expect(page.locator("#accounts-enrolment-summary")).to_have_text("共 2 行，新建 2 个账号")
    rows = page.locator("#accounts-enrolled tbody tr")
    expect(rows).to_have_count(2)
    assert rows.nth(0).locator("td").nth(1).inner_text() == "<b>赵六</b>"  # as text
    assert page.locator("#accounts-enrolment b").count() == 0
    shown = {rows.nth(i).locator("td").nth(0).inner_text():
             rows.nth(i).locator("td").nth(3).inner_text() for i in range(2)}
    page.screenshot(path=ARTIFACTS / "accounts-roster.png")
    with page.expect_download() as fetched:
        page.click("#accounts-enrolled-sheet")
    text = fetched.value.path().read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    sheet = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert {r["账号"]: r["初始密码"] for r in sheet} == shown
    assert [r["角色"] for r in sheet] == ["网格员", "网格长"]
    expect(page.locator(f"#accounts tr[data-account='{worker}']")).to_have_count(1)
    _first_sign_in(anonymous, worker, shown[worker])

    page.set_input_files("#accounts-roster [name=file]", str(roster))  # sent again
    page.click("#accounts-roster button[type=submit]")
    expect(page.locator("#accounts-enrolment-summary")).to_have_text(
        f"共 2 行，新建 0 个账号；2 个已是账号，未改动：{'、'.join(sorted([worker, chief]))}")
    expect(page.locator("#accounts-enrolled")).to_be_hidden()
    context.close()
