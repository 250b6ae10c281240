"""The category tree: seeded classes with limits, conditions and national codes; a deployment's
own tree loaded from a file, whole or not at all; what a class inherits drives the clocks."""

import csv
import io
from datetime import datetime, timedelta

import httpx
from sqlalchemy import text
from typer.testing import CliRunner

from mapsvc.cli import app

COLUMNS = ["code", "name", "parent_code", "time_limit", "time_limit_unit", "department_code",
           "filing_condition", "closing_condition", "gb30428_code", "gb39666_code",
           "verify_limit", "dispatch_limit"]


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    writer.writerows({c: row.get(c, "") for c in COLUMNS} for row in rows)
    return out.getvalue().encode()


def _by_code(client, **params):
    r = client.get("/categories", params=params)
    assert r.status_code == 200
    return {c["code"]: c for c in r.json()}


def test_seeded_classes_carry_limits_conditions_and_national_codes(clients):
    tree = _by_code(clients["worker"])
    garbage = tree["0601"]
    assert garbage["path"] == "市容环境 / 暴露垃圾" and garbage["leaf"]
    assert garbage["time_limit"] == {"value": 4, "unit": "working_hours"}
    assert garbage["filing_condition"] and garbage["closing_condition"] == "垃圾清除干净"
    assert tree["06"]["leaf"] is False and tree["06"]["time_limit"] is None
    cover = tree["100101"]  # 3205080101000001: 公用设施 / 上水井盖
    assert cover["path"] == "部件 / 公用设施 / 上水井盖"
    assert cover["national_codes"] == {"GB/T 30428.2": "0101"}
    assert tree["1001"]["national_codes"] == {"GB/T 30428.2": "01"}


def test_the_picker_searches_names_paths_and_codes(clients):
    found = _by_code(clients["worker"], q="井盖")
    assert set(found) == {"0603", "100101"}
    assert set(_by_code(clients["worker"], q="08")) == {"08", "0801", "0802"}
    assert _by_code(clients["worker"], q="%") == {}  # typed text, not a pattern


def test_a_tree_loads_with_inherited_limits_and_drives_the_clocks(clients, grids, db):
    from tests.test_workflow import _calendar, _clock, do, new_case

    admin = clients["admin"]
    rows = [{"code": "T7", "name": "测试大类", "time_limit": "3", "time_limit_unit": "working_days",
             "department_code": "T1", "verify_limit": "0.5 working_hours",
             "dispatch_limit": "3 working_hours"},
            {"code": "T701", "name": "测试小类", "parent_code": "T7", "gb39666_code": "010203",
             "filing_condition": "有", "closing_condition": "无"}]
    r = admin.post("/categories/import", files={"file": ("tree.csv", _csv(rows))})
    assert r.status_code == 200 and r.json()["stored"] == 2, r.text
    leaf = _by_code(admin, q="T701")["T701"]
    assert leaf["time_limit"] == {"value": 3, "unit": "working_days"} and leaf["department"] == "T1"
    assert leaf["national_codes"] == {"GB/T 39666": "010203"}

    case = new_case(admin, grids, index=14, category="T701")
    sent = datetime.fromisoformat(admin.get(f"/incidents/{case}/timeline").json()[-1]["at"]
                                  ) + timedelta(milliseconds=1)  # the verify task's own time
    assert do(admin, case, "verify", taken_at=sent.isoformat()).status_code == 200
    calendar = _calendar()
    assert _clock(db, case, "verify").deadline == calendar.add_working_hours(sent, 0.5)
    do(admin, case, "file")
    filed_at = datetime.fromisoformat(admin.get(f"/incidents/{case}").json()["filed_at"])
    assert _clock(db, case, "dispatch").deadline == calendar.add_working_hours(filed_at, 3)
    assert do(admin, case, "dispatch").status_code == 200  # to T1, inherited
    dispatched = admin.get(f"/incidents/{case}").json()
    assert dispatched["department"] == "T1"
    assert _clock(db, case, "handling").deadline == calendar.deadline(
        datetime.fromisoformat(dispatched["dispatched_at"]), 3, "working_days")

    rows[1]["name"] = "测试小类（改）"  # loading again updates
    r = admin.post("/categories/import", files={"file": ("tree.csv", _csv(rows))})
    assert r.status_code == 200
    assert _by_code(admin, q="T701")["T701"]["name"] == "测试小类（改）"


def test_a_tree_made_in_chinese_loads_as_one_made_in_english(clients, db):
    """Headed in Chinese, its units written as the pages write them or as people do."""
    sheet = ("类别编码,类别名称,上级编码,处置时限,时限单位,处置部门编码,核实时限,派遣时限\n"
             "T6,中文大类,,2,工作日,T1,0.5个工作小时,\n"
             "T601,中文小类,T6,4,个工作小时,,,1 工作小时\n"
             "T602,单位不明,T6,4,周,,,\n").encode("gbk")
    r = clients["admin"].post("/categories/import", files={"file": ("分类.csv", sheet)})
    assert r.status_code == 422
    assert [(e["line"], e["field"]) for e in r.json()["errors"]] == [(4, "time_limit_unit")]
    r = clients["admin"].post("/categories/import", files={"file": ("分类.csv", sheet.replace(
        "周".encode("gbk"), "天".encode("gbk")))})
    assert r.status_code == 200 and r.json()["stored"] == 3, r.text
    tree = _by_code(clients["admin"], q="T6")
    assert (tree["T6"]["time_limit"], tree["T6"]["department"], tree["T601"]["time_limit"],
            tree["T602"]["time_limit"]) == (
        {"value": 2, "unit": "working_days"}, "T1", {"value": 4, "unit": "working_hours"},
        {"value": 4, "unit": "natural_days"})
    with db.connect() as conn:
        assert dict(conn.execute(text(
            "SELECT code, properties FROM category WHERE code IN ('T6', 'T601')")).all()) == {
            "T6": {"verify_limit": "0.5 working_hours"},
            "T601": {"dispatch_limit": "1 working_hours"}}


def test_a_file_with_any_problem_stores_nothing(clients, server, tmp_path):
    admin = clients["admin"]
    rows = [{"code": "T8", "name": "好的"},
            {"code": "T801", "name": "无父", "parent_code": "T999"},
            {"code": "T802", "name": "单位", "time_limit": "2", "time_limit_unit": "weeks"},
            {"code": "T803", "name": "部门", "department_code": "NOPE"},
            {"code": "T804", "name": "环", "parent_code": "T805"},
            {"code": "T805", "name": "环", "parent_code": "T804"},
            {"code": "T806", "name": "", "time_limit": "4"},
            {"code": "T8", "name": "重复"},
            {"code": "T9", "name": "不在其父之下", "parent_code": "T8"}]  # codes nest
    r = admin.post("/categories/import", files={"file": ("bad.csv", _csv(rows))})
    assert r.status_code == 422
    problems = {(e["line"], e["field"]) for e in r.json()["errors"]}
    assert problems == {(3, "parent_code"), (4, "time_limit_unit"), (5, "department_code"),
                        (6, "parent_code"), (7, "parent_code"), (8, "name"), (9, "code"),
                        (10, "parent_code")}
    assert "T8" not in _by_code(admin, q="T8")
    # the answer as the API's description says: the lines refused, or a request unread
    doc = httpx.get(f"{server}/openapi.json").json()
    refused = doc["paths"]["/api/v1/categories/import"]["post"]["responses"]["422"]
    assert {s["$ref"] for s in refused["content"]["application/json"]["schema"]["anyOf"]} == {
        "#/components/schemas/HTTPValidationError", "#/components/schemas/StoredWhole"}
    assert set(r.json()) == set(doc["components"]["schemas"]["StoredWhole"]["properties"])
    assert clients["command"].post("/categories/import",
                                   files={"file": ("a.csv", _csv(rows[:1]))}).status_code == 403

    path = tmp_path / "bad.csv"
    path.write_bytes(_csv(rows))
    result = CliRunner().invoke(app, ["categories", "import", str(path)])
    assert result.exit_code == 1 and "line 3: parent_code" in result.output
    assert "nothing stored" in result.output
    path.write_bytes(_csv(rows[:1]))
    result = CliRunner().invoke(app, ["categories", "import", str(path)])
    assert result.exit_code == 0 and "1 classes stored" in result.output
    assert "T8" in _by_code(admin, q="T8")
