"""The registry's files (一标三实) imported on a page by a command centre: a kind's columns and
a template to fill in, what became of the file, and each line at fault said in Chinese."""

import csv
import io
import uuid

from playwright.sync_api import expect
from stdnum.cn import uscc

from tests.browser import Watch, refused, sign_in, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, csv_bytes, registered
from tests.test_collection import _imported


def uscc_of(mark: str) -> str:
    """A unified social credit code of a test's own: an enterprise's (91), the registering
    authority's region, ``mark`` for its serial, and the check character GB 32100 gives."""
    body = f"91441502{mark.upper()[:6]:0>6}{'000'}"[:17]
    return body + uscc.calc_check_digit(body)


def test_a_template_of_each_kind_heads_its_columns_in_chinese(clients):
    r = clients["command"].get("/registry/import/organisations")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''%E5%AE%9E%E6%9C%89%E5%8D%95%E4%BD%8D" in (  # 实有单位…
        r.headers["content-disposition"])
    assert r.content.startswith("\ufeff".encode())  # for Excel to read it as UTF-8
    [headings] = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert headings == ["名称", "类型", "经度", "纬度", "坐标系", "统一社会信用代码"]
    assert clients["worker"].get("/registry/import/people").status_code == 403
    assert clients["command"].get("/registry/import/spaceships").status_code == 422


def test_the_centre_imports_a_registry_file_and_reads_each_line_at_fault(browser, server,
                                                                         clients, grids):
    assert "此页面仅供指挥中心账号使用" in refused(browser, server, "/map/registry", "chief",
                                                 PASSWORD)
    mark = uuid.uuid4().hex[:6]
    spot = grids[grids["code"].str.startswith("441502")].geometry.iloc[5].representative_point()
    at = {"经度": spot.x, "纬度": spot.y}
    code = uscc_of(mark)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")  # its check character wrong
    rows = [{"名称": f"{mark}超市", "类型": "企业", "统一社会信用代码": "", **at},
            {"名称": f"{mark}酒楼", "类型": "enterprise", "统一社会信用代码": wrong, **at},
            {"名称": f"{mark}工坊", "类型": "作坊", "统一社会信用代码": "", **at},
            {"名称": f"{mark}超市", "类型": "企业", "统一社会信用代码": "", **at}]

    page = browser.new_page()
    watch = Watch(page)
    sign_in(page, server, "/map/registry", "township_command", PASSWORD)  # none imported
    expect(page.locator("#registry-imports tbody tr")).to_have_text("还没有导入过文件")
    assert page.evaluate("window.mapsvcRegistry.shown") == 0
    page.context.clear_cookies()
    sign_in(page, server, "/map/registry", "command", PASSWORD)
    for other in ("desk", "people", "units"):  # the centre's pages lead here
        assert '<a href="/map/registry">登记导入</a>' in page.request.get(
            f"{server}/map/{other}").text(), other
    page.select_option("#registry-import [name=kind]", "organisations")
    expect(page.locator("#registry-columns")).to_contain_text("名称（必填）、类型（必填）")
    assert page.get_attribute("#registry-template", "href") == (
        "/api/v1/registry/import/organisations")
    assert page.locator("#registry-county").is_hidden()  # the rows' own, or none

    def sent(name: str, data: bytes) -> None:
        page.evaluate("window.mapsvcRegistry.answer = null")
        page.set_input_files("#registry-import [name=file]",
                             [{"name": name, "mimeType": "text/csv", "buffer": data}])
        page.click("#registry-import button[type=submit]")

    page.check("#registry-import [name=check]")  # checked first: nothing stored
    sent("单位.csv", csv_bytes(list(rows[0]), rows))
    wait_until(page, "window.mapsvcRegistry.answer !== null", "the file checked")
    expect(page.locator("#registry-said")).to_have_text(
        "仅检查，未导入：实有单位共 4 行：可新增 1 条；3 行有误")
    assert page.locator("#registry-problems li").count() == 3
    assert clients["command"].get("/registry/organisations", params={"q": mark}).json()[
        "features"] == []
    assert not any(f["file"] == "单位.csv" and f["rows"] == 4 for f in clients["command"].get(
        "/registry/imports").json())  # a check is no import
    page.uncheck("#registry-import [name=check]")
    sent("单位.csv", csv_bytes(list(rows[0]), rows))
    wait_until(page, "window.mapsvcRegistry.answer !== null", "what became of the file")
    expect(page.locator("#registry-said")).to_have_text(
        "实有单位共 4 行：新增 1 条；3 行有误未导入，改正后可再导入该文件")
    assert page.locator("#registry-problems li").all_inner_texts() == [
        "第 3 行 · 统一社会信用代码：不是有效的统一社会信用代码（18 位，末位为校验码）",
        "第 4 行 · 类型：须为 企业、社会组织、党组织、服务站、学校、医院、机关单位、其他单位 之一",
        "第 5 行 · 名称：与第 2 行重复"]
    wait_until(page, "window.mapsvcRegistry.shown > 0", "the files imported")
    assert page.locator("#registry-imports tbody tr").first.locator(
        "td").all_inner_texts()[1:] == ["command", "实有单位", "单位.csv", "4", "1", "0", "3"]
    page.screenshot(path=ARTIFACTS / "registry-imported.png", full_page=True)
    rows[0]["名称"] = f"{mark}便利超市"  # sent again, corrected: none registered twice
    rows[1]["统一社会信用代码"], rows[2]["类型"] = code, "其他单位"
    sent("单位.csv", csv_bytes(list(rows[0]), rows[:3]))
    wait_until(page, "window.mapsvcRegistry.answer !== null", "the file sent again")
    expect(page.locator("#registry-said")).to_have_text("实有单位共 3 行：新增 3 条")
    found = clients["command"].get("/registry/organisations", params={"q": mark}).json()
    assert sorted(f["properties"]["name"] for f in found["features"]) == sorted(
        [f"{mark}超市", f"{mark}便利超市", f"{mark}酒楼", f"{mark}工坊"])
    assert watch.problems == []

    # people before their addresses: each said; a file lacking columns: said whole
    page.select_option("#registry-import [name=kind]", "people")
    assert page.locator("#registry-county").is_visible()
    # the county of rows without one: the centre's own, until another is typed
    assert page.input_value("#registry-import [name=county]") == "441502"
    sent("人口.csv", csv_bytes(["地址", "姓名", "人口类型"], [
        {"地址": f"{mark}路1号", "姓名": "演示居民甲", "人口类型": "户籍"}]))
    wait_until(page, "window.mapsvcRegistry.answer !== null", "the people's file")
    assert page.locator("#registry-problems li").all_inner_texts() == [
        f"第 2 行 · 地址：没有标准地址“{mark}路1号”，请先导入标准地址"]
    sent("人口.csv", csv_bytes(["姓名"], [{"姓名": "演示居民乙"}]))
    expect(page.locator("#registry-said")).to_have_text("未导入：缺少列 地址、人口类型")
    assert page.locator("#registry-problems li").count() == 0

    # next month's list: those registered corrected, namesakes it cannot tell apart said
    registered(clients["command"], "addresses", [
        {"address": f"{mark}路2号", "lon": spot.x, "lat": spot.y}], county="441502")
    heads = ["地址", "姓名", "人口类型", "出生日期", "手机号码"]
    twins = [{"地址": f"{mark}路2号", "姓名": "演示居民丙", "人口类型": "户籍", "出生日期": born,
              "手机号码": ""} for born in ("1980-01-01", "1990-01-01")]
    sent("人口.csv", csv_bytes(heads, twins))
    wait_until(page, "window.mapsvcRegistry.answer !== null", "the people stored")
    expect(page.locator("#registry-said")).to_have_text("人口共 2 行：新增 2 条")
    twins[0]["手机号码"] = "13700001980"
    sent("人口.csv", csv_bytes(heads, [{**twins[1], "出生日期": "", "手机号码": "13700001990"},
                                       twins[0]]))
    wait_until(page, "window.mapsvcRegistry.answer !== null", "the people corrected")
    expect(page.locator("#registry-said")).to_have_text(
        "人口共 2 行：新增 0 条，更正 1 条；1 行有误未导入，改正后可再导入该文件")
    assert page.locator("#registry-problems li").all_inner_texts() == [
        "第 2 行 · 姓名：该地址有多位同名人员，请填写身份证号或出生日期"]
    page.close()


def test_a_centre_imports_within_its_own_region_alone(clients, grids):
    """城区's centre: a row lying in 武昌区 is refused, and so is one naming a record held
    there (to move it, rename it, or say a component there removed), the record left as it
    was; the deployment's administrator imports anywhere."""
    admin, command = clients["admin"], clients["command"]
    mark = uuid.uuid4().hex[:6]
    [there, here] = [grids[grids["code"].str.startswith(county)].geometry.iloc[2]
                     .representative_point() for county in ("420106", "441502")]
    code = uscc_of(mark)
    assert _imported(admin, "organisations", [
        {"名称": f"{mark}武昌店", "类型": "企业", "统一社会信用代码": code, "经度": there.x,
         "纬度": there.y}], "单位.csv")["stored"] == 1
    r = _imported(command, "organisations", [
        {"名称": f"{mark}改名店", "类型": "企业", "统一社会信用代码": code, "经度": here.x,
         "纬度": here.y},
        {"名称": f"{mark}江边店", "类型": "企业", "统一社会信用代码": "", "经度": there.x,
         "纬度": there.y},
        {"名称": f"{mark}城区店", "类型": "企业", "统一社会信用代码": "", "经度": here.x,
         "纬度": here.y}], "单位.csv")
    assert (r["stored"], r["updated"]) == (1, 0)
    assert [(e["line"], e["field"], e["ctx"]["rule"]) for e in r["errors"]] == [
        (2, "name", "outside_held"), (3, "lon", "outside")]
    [held] = admin.get("/registry/organisations", params={"q": code}).json()["features"]
    assert (held["properties"]["name"], held["properties"]["grid"][:6]) == (f"{mark}武昌店",
                                                                           "420106")

    component = f"4201060106{uuid.uuid4().int % 10**6:06d}"
    assert _imported(admin, "things", [{"部件编码": component, "名称": "消防栓", "经度": there.x,
                                        "纬度": there.y}], "部件.csv")["stored"] == 1
    r = _imported(command, "things", [{"部件编码": component, "名称": "消防栓", "状态": "拆除",
                                       "经度": here.x, "纬度": here.y}], "部件.csv")
    assert [(e["field"], e["ctx"]["rule"]) for e in r["errors"]] == [
        ("component_id", "outside_held")]

    assert _imported(admin, "addresses", [{"地址": f"武昌路{mark}号", "区县代码": "420106",
                                           "经度": there.x, "纬度": there.y}],
                     "地址.csv")["stored"] == 1
    r = _imported(command, "people", [{"地址": f"武昌路{mark}号", "区县代码": "420106",
                                       "姓名": "演示居民丙", "人口类型": "户籍"}], "人口.csv")
    assert [(e["field"], e["ctx"]["rule"]) for e in r["errors"]] == [("address", "outside")]
    r = _imported(command, "addresses", [{"地址": f"江边路{mark}号", "区县代码": "420106",
                                          "经度": there.x, "纬度": there.y}], "地址.csv")
    assert (r["stored"], r["errors"][0]["ctx"]["rule"]) == (0, "outside")


def test_each_file_imported_is_kept_and_read_by_the_centres_over_its_importer(clients, grids):
    """Who imported which file and what became of it, the newest first: a county's centre
    reads its own, its city's centre too, a township's not; an administrator's, or one at a
    shell, the administrators and the centre bound to no region alone."""
    mark = uuid.uuid4().hex[:6]
    spot = grids[grids["code"].str.startswith("441502")].geometry.iloc[4].representative_point()
    for who in ("command", "admin"):
        _imported(clients[who], "places", [{"名称": f"{mark}{who}", "类型": "仓库",
                                             "经度": spot.x, "纬度": spot.y}], f"{mark}{who}.csv")

    def files(who: str) -> list[tuple]:
        r = clients[who].get("/registry/imports", params={"limit": 1000})
        assert r.status_code == 200, r.text
        return [(f["username"], f["kind"], f["file"], f["rows"], f["stored"], f["updated"],
                 f["rejected"]) for f in r.json() if (f["file"] or "").startswith(mark)]
    own = ("command", "places", f"{mark}command.csv", 1, 1, 0, 0)
    administrator = ("admin", "places", f"{mark}admin.csv", 1, 1, 0, 0)
    assert files("command") == files("shanwei") == [own]
    assert files("township_command") == []
    assert files("admin") == files("city") == [administrator, own]
    assert clients["worker"].get("/registry/imports").status_code == 403
