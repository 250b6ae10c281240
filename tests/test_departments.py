"""The departments (职能部门): loaded from a deployment's list, whole or not at all, listed with
the region each serves and the classes it answers for; a case whose dispatch names none goes
to the one answering for its class in its place."""

import uuid

from typer.testing import CliRunner

from mapsvc.cli import app
from tests.conftest import csv_bytes
from tests.test_workflow import do

CHINESE = ["部门编码", "部门名称", "区域编码", "负责类别"]


def _sheet(rows: list[list[str]], columns=CHINESE, encoding="utf-8") -> bytes:
    return csv_bytes(columns, [dict(zip(columns, row)) for row in rows]).decode().encode(
        encoding)


def _loaded(admin, data: bytes, name: str = "部门名录.csv"):
    return admin.post("/departments/import", files={"file": (name, data)})


def _listed(client) -> dict:
    r = client.get("/departments")
    assert r.status_code == 200
    return {d["code"]: d for d in r.json()}


def _classes(api, main: str) -> tuple[str, str, str]:
    """A main class and two under it, of a test's own: (main, first, second)."""
    tree = csv_bytes(["code", "name", "parent_code"], [
        {"code": main, "name": "部门测试大类", "parent_code": ""},
        {"code": f"{main}01", "name": "部门测试小类一", "parent_code": main},
        {"code": f"{main}02", "name": "部门测试小类二", "parent_code": main}])
    assert api.post("/categories/import", files={"file": ("tree.csv", tree)}).status_code == 200
    return main, f"{main}01", f"{main}02"


def test_a_departments_list_made_in_chinese_is_loaded_whole_and_listed(clients):
    admin = clients["admin"]
    main, first, _ = _classes(admin, "D8")
    bad = _sheet([["DP-1", "城区测试局", "441502", f"{main}、{first}"],
                  ["DP-1", "重复局", "", ""],           # the code again
                  ["DP 2", "空格局", "", ""],            # a code with a space
                  ["DP-3", "", "", ""],                  # no name
                  ["DP-4", "远方局", "999999", ""],      # no such region
                  ["DP-5", "无类局", "", "ZZ9"]],        # no such class
                 encoding="gb18030")  # as Excel saves a CSV on a Chinese Windows
    r = _loaded(admin, bad)
    assert r.status_code == 422 and r.json()["stored"] == 0
    assert [(e["line"], e["field"]) for e in r.json()["errors"]] == [
        (3, "code"), (4, "code"), (5, "name"), (6, "region"), (7, "classes")]
    assert "no region 999999" in r.json()["errors"][3]["reason"]
    assert "DP-1" not in _listed(admin)  # nothing of it stored

    good = _sheet([["DP-1", "城区测试局", "441502", f"{main}、{first}"],
                   ["DP-6", "汕尾市测试局", "4415", ""], ["DP-7", "全域测试局", "", ""]],
                  encoding="gb18030")
    r = _loaded(admin, good)
    assert r.status_code == 200 and r.json() == {"rows": 3, "stored": 3, "errors": []}
    listed = _listed(clients["command"])
    assert listed["DP-1"] == {"code": "DP-1", "name": "城区测试局",
                              "region": {"code": "441502", "name": "城区", "level": "county"},
                              "classes": [main, first]}
    assert listed["DP-6"]["region"]["level"] == "city" and listed["DP-7"]["region"] is None
    # loaded again: renamed; a list without the classes keeps them, one with them sets them
    again = _sheet([["DP-1", "城区城管测试局", "441502"]], columns=CHINESE[:3])
    assert _loaded(admin, again).status_code == 200
    assert _listed(admin)["DP-1"]["name"] == "城区城管测试局"
    assert _listed(admin)["DP-1"]["classes"] == [main, first]
    assert _loaded(admin, _sheet([["DP-1", "城区城管测试局", "441502", first]])).status_code == 200
    assert _listed(admin)["DP-1"]["classes"] == [first]
    # only an administrator loads them
    assert _loaded(clients["command"], good).status_code == 403


def test_the_command_line_loads_a_list_whole_or_not_at_all(tmp_path, clients):
    path = tmp_path / "departments.csv"
    path.write_bytes(csv_bytes(["code", "name", "region"], [
        {"code": "CLI-1", "name": "命令行测试局", "region": "420106"},
        {"code": "CLI-2", "name": "命令行远方局", "region": "888888"}]))
    result = CliRunner().invoke(app, ["departments", "import", str(path)])
    assert result.exit_code == 1 and "line 3: region: no region 888888" in result.output
    assert "CLI-1" not in _listed(clients["admin"])
    path.write_bytes(csv_bytes(["code", "name", "region"], [
        {"code": "CLI-1", "name": "命令行测试局", "region": "420106"}]))
    result = CliRunner().invoke(app, ["departments", "import", str(path)])
    assert result.exit_code == 0 and "1 rows: 1 departments stored" in result.output
    assert _listed(clients["admin"])["CLI-1"]["region"]["code"] == "420106"


def test_a_case_goes_to_the_department_answering_for_its_class_in_its_place(clients, grids):
    """汕尾市's 城管 answers for one class, each county's 城管 for the main class, and one of no
    region too: a case goes to the department of its class before those of the class above
    it, its county's before its city's before the one of no region; a class no department
    answers for, and with no default, is dispatched to the department named."""
    admin = clients["admin"]
    main, first, second = _classes(admin, "D7")
    assert _loaded(admin, _sheet([
        ["RT-CQ", "城区城管", "441502", main], ["RT-WC", "武昌城管", "420106", main],
        ["RT-SW", "汕尾市城管", "4415", first], ["RT-ALL", "全域城管", "", main]])
    ).status_code == 200

    def sent(county: str, category: str, index: int) -> tuple[int, int]:
        point = grids[grids["code"].str.startswith(county)].geometry.iloc[index]
        point = point.representative_point()
        case = admin.post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": category, "lon": point.x,
            "lat": point.y}).json()["id"]
        assert do(admin, case, "file").status_code == 200
        r = do(admin, case, "dispatch")
        return r.status_code, case

    for county, category, department in (("441502", first, "RT-SW"),   # its class's, its city
                                         ("441502", second, "RT-CQ"),  # the main's, its county
                                         ("420106", first, "RT-WC"),   # 汕尾市's serves it not
                                         ("420106", second, "RT-WC")):
        status, case = sent(county, category, 60)
        assert status == 200, (county, category)
        assert admin.get(f"/incidents/{case}").json()["department"] == department, (
            county, category)
    status, case = sent("441502", "0701", 61)  # no department answers for it, nor a default
    assert status == 422
    assert do(admin, case, "dispatch", department="RT-ALL").status_code == 200


def test_an_administrator_loads_the_departments_on_the_accounts_page_and_binds_an_account(
        browser, server, clients, tmp_path):
    """The departments' list uploaded on the accounts page: refused whole, each line at fault
    said in Chinese; then loaded, and a department's account made choosing one of them."""
    from playwright.sync_api import expect

    from tests.browser import Watch, sign_in, wait_until
    from tests.conftest import PASSWORD

    _, first, _ = _classes(clients["admin"], "D9")
    listed = tmp_path / "部门名录.csv"
    listed.write_bytes(_sheet([["PG-1", "<b>页面</b>测试局", "441502", first],
                               ["PG-1", "重复局", "", ""], ["PG-2", "远方局", "777777", ""]]))
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, "/map/accounts", "admin", PASSWORD)
    wait_until(page, "window.mapsvcAccounts.shown !== null", "the accounts")
    page.set_input_files("#accounts-departments [name=file]", str(listed))
    page.click("#accounts-departments button[type=submit]")
    expect(page.locator("#accounts-said")).to_have_text("部门名录有 2 处有误，未导入任何部门")
    assert page.locator("#accounts-departments-problems li").all_inner_texts() == [
        "第 3 行 · 部门编码：与第 2 行重复", "第 4 行 · 区域编码：777777 不存在"]
    listed.write_bytes(_sheet([["PG-1", "<b>页面</b>测试局", "441502", first]]))
    page.set_input_files("#accounts-departments [name=file]", str(listed))
    page.click("#accounts-departments button[type=submit]")
    expect(page.locator("#accounts-said")).to_have_text("部门名录已导入：共 1 行，1 个部门")
    assert page.locator("#accounts-departments-problems li").count() == 0
    wait_until(page, "!!document.querySelector('#accounts-department-list "
                     "option[value=\"PG-1\"]')", "the department offered")
    assert page.locator("#accounts-department-list option[value='PG-1']").inner_text() == (
        "<b>页面</b>测试局（城区）")  # as text
    name = f"dept_{uuid.uuid4().hex[:8]}"
    form = page.locator("#accounts-new")
    form.locator("[name=role]").select_option("department")
    for field, value in (("username", name), ("department", "PG-1"), ("password", PASSWORD)):
        form.locator(f"[name={field}]").fill(value)
    form.locator("button[type=submit]").click()
    expect(page.locator("#accounts-said")).to_have_text(
        f"已新建 {name}（职能部门），首次登录须修改密码")
    made = [a for a in clients["admin"].get("/accounts", params={"limit": 1000}).json()
            if a["username"] == name]
    assert made[0]["scope"] == "PG-1 <b>页面</b>测试局"
    assert all("/departments/import" in p or "status of 422" in p for p in watch.problems), (
        watch.problems)
    context.close()
