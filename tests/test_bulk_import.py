"""Importing incidents from CSV and Excel: set-based, same rules as one report, idempotent."""

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from mapsvc.cli import app
from mapsvc.geo.crs import from_wgs84
from mapsvc.incidents.model import NUMBER_MOST, NUMBERED_NAMESPACE, SOURCES, numbered_cases
from mapsvc.tables import numbers

DATA = Path(__file__).parent / "data"

COLUMNS = ["client_id", "category", "lon", "lat", "description", "crs", "accuracy_m",
           "reported_at", "source"]


@pytest.fixture
def rows(grids, lattice):
    p = grids.iloc[30].geometry.representative_point()
    q = grids.iloc[31].geometry.representative_point()
    gx, gy = (float(v) for v in from_wgs84(q.x, q.y, "gcj02"))
    edge = (lattice.X0 + lattice.STEP, lattice.Y0 + lattice.STEP / 2)
    dup = str(uuid.uuid4())

    def row(lon, lat, **kw):
        base = {"client_id": str(uuid.uuid4()), "category": "06", "lon": lon, "lat": lat,
                "description": "路面破损", "crs": "", "accuracy_m": "", "reported_at": "",
                "source": ""}
        return {**base, **kw}

    return {  # line number → row; line 1 is the header
        2: row(p.x, p.y, reported_at="2026-11-01 08:00:00"),
        3: row(gx, gy, crs="gcj02", accuracy_m="12"),
        4: row(*edge, source="citizen"),
        5: row(116.0, 21.5),                                   # far out at sea: unassigned
        6: row(p.x, p.y, client_id="x" * 65),                  # no UUID, nor a number
        7: row("abc", p.y),
        8: row(p.x, -95.0),
        9: row(p.y, p.x),                                      # swapped
        10: row(p.x, p.y, category="nope"),
        11: row(p.x, p.y, client_id=dup),
        12: row(q.x, q.y, client_id=dup),
        13: row(p.x, p.y, reported_at="last tuesday"),
        14: row(p.x, p.y, source="rumour"),
        15: row(p.x, p.y, accuracy_m="-1"),
        16: row(p.x, p.y, crs="mars"),
        17: row(p.x, p.y, accuracy_m="1e39"),                 # beyond single precision
        18: row(p.x, p.y, description="路面\x00破损"),
    }


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for line in sorted(rows):
            w.writerow(rows[line])
    return path


EXPECTED_ERRORS = {6: "client_id", 7: "lon", 8: "lat", 9: "lon", 10: "category", 12: "client_id",
                   13: "reported_at", 14: "source", 15: "accuracy_m", 16: "crs", 17: "accuracy_m",
                   18: "description"}
GOOD = [2, 3, 4, 5, 11]


def stored(db, rows, lines):
    with db.connect() as conn:
        found = conn.execute(text(
            "SELECT client_id::text, g.code, assignment, source, reported_at, raw_crs "
            "FROM incident i LEFT JOIN grid g ON g.id = i.grid_id "
            "WHERE client_id::text = ANY(:ids)"),
            {"ids": [rows[n]["client_id"] for n in lines]}).all()
    return {r.client_id: r for r in found}


def test_cli_import_keeps_good_rows_and_reports_bad_ones_by_line(tmp_path, rows, db, grids,
                                                                 lattice):
    result = CliRunner().invoke(app, ["incidents", "import",
                                      str(write_csv(tmp_path / "a.csv", rows))])
    assert result.exit_code == 1
    for line, field in EXPECTED_ERRORS.items():
        assert f"line {line}: {field}:" in result.output
    assert "5 stored" in result.output and "12 rejected" in result.output
    got = stored(db, rows, GOOD)
    assert len(got) == 5
    assert got[rows[2]["client_id"]].code == grids.iloc[30].code
    assert got[rows[3]["client_id"]].code == grids.iloc[31].code
    assert got[rows[3]["client_id"]].raw_crs == "gcj02"
    assert got[rows[4]["client_id"]].assignment == "edge"
    assert got[rows[4]["client_id"]].code == lattice.cell_code(0, 0)
    assert got[rows[4]["client_id"]].source == "citizen"
    assert got[rows[5]["client_id"]].assignment == "unassigned"
    assert got[rows[2]["client_id"]].reported_at.isoformat() == "2026-11-01T00:00:00+00:00"
    assert got[rows[11]["client_id"]].code == grids.iloc[30].code
    assert "swapped" in result.output


def test_a_hotlines_own_numbers_stand_for_its_cases(api, grids, db):
    """A hotline's export numbers its cases (工单编号), not with UUIDs: each number stands for one
    case of its source, however often its line is sent."""
    p = grids.iloc[43].geometry.representative_point()
    number = f"GD{uuid.uuid4().int % 10**12:012d}"

    def sent(lines: list[str], source: str = "hotline") -> dict:
        sheet = "client_id,category,lon,lat,description\n" + "".join(
            f"{n},03,{p.x},{p.y},{words}\n" for n, words in lines)
        return api.post("/incidents/import", data={"source": source}, files={
            "file": ("12345.csv", sheet.encode(), "text/csv")}).json()

    first = sent([(number, "路灯不亮"), (f"{number}-2", "井盖缺失"), (number, "路灯不亮")])
    assert (first["inserted"], first["rejected"]) == (2, 1)
    assert first["errors"] == [{"line": 4, "field": "client_id", "reason": "repeats line 2",
                                "ctx": {"rule": "repeated", "line": 2}}]
    found = api.get("/incidents", params={"q": f"{number}-2"}).json()["features"]
    assert [(f["properties"]["source_number"], f["properties"]["description"])
            for f in found] == [(f"{number}-2", "井盖缺失")]
    # the case sent alone under its number by the same system is the case the file stored
    alone = api.post("/incidents", json={"client_id": number, "category": "03", "lon": p.x,
                                         "lat": p.y, "description": "路灯不亮",
                                         "source": "hotline"})
    assert alone.status_code == 200 and alone.json()["source_number"] == number
    again = sent([(number, "路灯不亮（次日导出）")])
    assert (again["inserted"], again["already_stored"]) == (0, 1)
    other = sent([(number, "另一系统的同号工单")], source="citizen")  # another source's number
    assert other["inserted"] == 1
    with db.connect() as conn:  # a case of each source under the number, each stored once
        assert conn.execute(text("SELECT source, description FROM incident "
                                 "WHERE source_number = :n ORDER BY source"), {"n": number}
                            ).all() == [("citizen", "另一系统的同号工单"), ("hotline", "路灯不亮")]
    refused = sent([("", "没有编号"), ("工单\x07", "不可打印")])
    assert [(e["line"], e["ctx"]["rule"]) for e in refused["errors"]] == [
        (2, "client_id"), (3, "client_id")]


def test_a_sheet_headed_in_chinese_imports_as_one_headed_in_english(api, grids):
    """A sheet made in Chinese heads its columns as the desk names them, and may name a class
    by its name where no other class has it, a source as the pages do (12345热线) and GCJ-02
    as it is written."""
    q = grids.iloc[44].geometry.representative_point()
    gx, gy = (float(v) for v in from_wgs84(q.x, q.y, "gcj02"))
    number = f"GD{uuid.uuid4().int % 10**12:012d}"
    sheet = ("工单编号,类别,经度,纬度,坐标系,问题描述,上报时间,来源,来电人,联系电话\n"
             f"{number},暴露垃圾,{gx},{gy},GCJ-02,路边垃圾,2026-11-02 09:30,12345热线,李四,"
             "13800138000\n"
             f"{number}-2,03,{gx},{gy},GCJ-02,路灯不亮,2026-11-02 09:31,热线中心,李四,\n"
             f"{number}-3,市容环境,{gx},{gy},,两个类别同名,,,,\n"  # 06 and 1003
             f"{number}-4,垃圾,{gx},{gy},,没有这个类别,,,,\n")
    r = api.post("/incidents/import", data={"source": "citizen"},
                 files={"file": ("12345.csv", sheet.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 1
    assert [(e["line"], e["field"], e["ctx"]) for e in r.json()["errors"]] == [
        (3, "source", {"rule": "one_of", "values": list(SOURCES)}),
        (4, "category", {"rule": "ambiguous", "name": "市容环境"}),
        (5, "category", {"rule": "unknown", "code": "垃圾"})]
    found = api.get("/incidents", params={"q": number}).json()["features"]
    case = api.get(f"/incidents/{found[0]['id']}").json()
    assert (case["category"], case["source"], case["source_number"], case["raw"]["crs"],
            case["grid"]["code"], datetime.fromisoformat(case["reported_at"])) == (
        "0601", "hotline", number, "gcj02", grids.iloc[44].code,
        datetime(2026, 11, 2, 1, 30, tzinfo=timezone.utc))
    assert case["caller"] == {"name": "李*", "phone": "138****8000"}


@given(st.lists(st.tuples(st.sampled_from(SOURCES),
                          st.text(st.characters(exclude_categories=("Cs",)), min_size=1,
                                  max_size=NUMBER_MOST)), max_size=20))
def test_a_numbered_cases_client_id_is_the_uuid5_of_its_source_and_number(cases):
    """As uuid.uuid5 derives it one by one: a case stored from yesterday's file is the case of
    today's."""
    derived = numbered_cases([s for s, _ in cases], [n for _, n in cases])
    assert [uuid.UUID(d) for d in derived] == [uuid.uuid5(NUMBERED_NAMESPACE, f"{s}\n{n}")
                                               for s, n in cases]


def test_a_numbered_cases_client_id_never_changes():
    assert str(uuid.UUID(numbered_cases(["hotline"], ["GD1"])[0])) == (
        "87f14fe6-5b61-5dc4-bc8f-570e799d44df")


def test_reimporting_stores_nothing_twice(tmp_path, rows, db):
    path = write_csv(tmp_path / "a.csv", rows)
    checked = CliRunner().invoke(app, ["incidents", "import", str(path), "--check"])
    assert "checked, nothing stored: " in checked.output and "5 to store" in checked.output
    with db.connect() as conn:  # checked alone: nothing stored
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id::text = "
                                 "ANY(:ids)"), {"ids": [rows[n]["client_id"] for n in GOOD]}
                            ).scalar_one() == 0
    CliRunner().invoke(app, ["incidents", "import", str(path)])
    again = CliRunner().invoke(app, ["incidents", "import", str(path)])
    assert "0 stored, 5 already stored" in again.output
    with db.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM incident_log l JOIN incident i ON i.id = l.incident_id "
            "WHERE i.client_id::text = ANY(:ids)"),
            {"ids": [rows[n]["client_id"] for n in GOOD]}).scalar_one() == 5


def test_bulk_and_single_intake_choose_the_same_grid(tmp_path, api, grids, lattice, db):
    points = [g.representative_point() for g in grids.geometry.iloc[::25]]
    vertex = (lattice.X0 + 2 * lattice.STEP, lattice.Y0 + 2 * lattice.STEP)
    coords = [(p.x, p.y) for p in points] + [vertex]
    bulk = {n + 2: {"client_id": str(uuid.uuid4()), "category": "01", "lon": x, "lat": y}
            for n, (x, y) in enumerate(coords)}
    CliRunner().invoke(app, ["incidents", "import", str(write_csv(tmp_path / "b.csv", bulk))])
    in_bulk = stored(db, bulk, list(bulk))
    for row in bulk.values():
        single = api.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "01",
                                              "lon": row["lon"], "lat": row["lat"]}).json()
        mine = in_bulk[row["client_id"]]
        assert (mine.code, mine.assignment) == (single["grid"]["code"], single["method"])


def test_a_files_cases_are_numbered_in_the_order_they_were_reported(tmp_path, grids, db):
    """A day's hotline file, its cases in grids whose order runs against the calls' times, two
    calls at one time: the cases are numbered as the calls came in, those at one time in the
    order of the file's lines, so that a list of the newest cases shows them as they came."""
    with db.connect() as conn:
        ids = dict(conn.execute(text("SELECT code, id FROM grid")).all())
    # the grids' last first: stored grid by grid, the calls are stored last call first
    picked = sorted(grids.iloc[::40].itertuples(), key=lambda g: -ids[g.code])[:6]
    calls = [f"2026-11-20 {8 + n:02d}:00:00" for n in range(len(picked))]
    calls[3] = calls[2]
    file = {n + 2: {"client_id": str(uuid.uuid4()), "category": "01", "reported_at": at,
                    "lon": g.geometry.representative_point().x,
                    "lat": g.geometry.representative_point().y}
            for n, (g, at) in enumerate(zip(picked, calls))}
    result = CliRunner().invoke(app, ["incidents", "import",
                                      str(write_csv(tmp_path / "calls.csv", file))])
    assert result.exit_code == 0, result.output
    with db.connect() as conn:
        numbered = conn.execute(text(
            "SELECT client_id::text FROM incident WHERE client_id::text = ANY(:ids) ORDER BY id"),
            {"ids": [row["client_id"] for row in file.values()]}).scalars().all()
    assert numbered == [file[line]["client_id"] for line in sorted(file)]


def test_a_row_dated_ahead_of_the_import_is_reported_when_it_was_imported(tmp_path, grids, db):
    p = grids.iloc[41].geometry.representative_point()
    rows = {2: {"client_id": str(uuid.uuid4()), "category": "03", "lon": p.x, "lat": p.y,
                "reported_at": "2099-01-01 08:00:00"}}
    before = datetime.now(timezone.utc)
    result = CliRunner().invoke(app, ["incidents", "import",
                                      str(write_csv(tmp_path / "ahead.csv", rows))])
    after = datetime.now(timezone.utc)
    assert result.exit_code == 0, result.output
    assert before <= stored(db, rows, [2])[rows[2]["client_id"]].reported_at <= after


WRITTEN_TIMES = {  # as sheets write them → when, China Standard Time
    "2026年11月1日 8时5分": "2026-11-01T08:05:00+08:00",
    "2026年11月2号8点": "2026-11-02T08:00:00+08:00",
    "2026年11月3日 08:05:30": "2026-11-03T08:05:30+08:00",
    "2026/11/4 8:05": "2026-11-04T08:05:00+08:00",
    "2026.11.05": "2026-11-05T00:00:00+08:00",
    "20261106080500": "2026-11-06T08:05:00+08:00",
    "2026-11-07T08:05:00Z": "2026-11-07T16:05:00+08:00",
}
PARTIAL_TIMES = ["8:05", "11/1", "Nov 1", "2026", "2026-11", "now", "today", "2026年11月1日 晚上",
                 "11/01/2026 08:05"]


def test_times_are_read_as_sheets_write_them_and_a_partial_one_is_refused(api, grids, db):
    """What a bare 8:05, 11/1 or "now" stands for is the file's writer's to say, not ours."""
    p = grids.iloc[42].geometry.representative_point()
    lines = {n + 2: {"client_id": str(uuid.uuid4()), "category": "03", "lon": p.x, "lat": p.y,
                     "reported_at": at}
             for n, at in enumerate([*WRITTEN_TIMES, *PARTIAL_TIMES])}
    sheet = io.StringIO()
    writer = csv.DictWriter(sheet, fieldnames=["client_id", "category", "lon", "lat",
                                               "reported_at"])
    writer.writeheader()
    writer.writerows(lines.values())
    r = api.post("/incidents/import",
                 files={"file": ("times.csv", sheet.getvalue().encode(), "text/csv")})
    body = r.json()
    assert {e["line"]: e["field"] for e in body["errors"]} == {
        line: "reported_at" for line, row in lines.items() if row["reported_at"] in PARTIAL_TIMES}
    found = stored(db, lines, list(lines))
    china = timezone(timedelta(hours=8))
    assert {row["reported_at"]: found[row["client_id"]].reported_at.astimezone(china).isoformat()
            for row in lines.values() if row["client_id"] in found} == WRITTEN_TIMES


def test_excel_files_import_the_same_way(tmp_path, rows, db):
    path = tmp_path / "hotline.xlsx"
    pd.DataFrame([rows[n] for n in (2, 3, 10)])[COLUMNS].to_excel(path, index=False)
    result = CliRunner().invoke(app, ["incidents", "import", str(path)])
    assert "2 stored" in result.output and "1 rejected" in result.output
    assert len(stored(db, rows, [2, 3])) == 2


def test_an_excel_97_workbook_imports_the_same_way(api, grids, lattice, db):
    """tests/data/hotline.xls: a hotline's export in Excel 97–2003's format (BIFF8), its times
    date cells: two cases, in the lattice's first two cells."""
    r = api.post("/incidents/import", files={
        "file": ("hotline.xls", (DATA / "hotline.xls").read_bytes(), "application/vnd.ms-excel")})
    assert r.status_code == 200 and (r.json()["inserted"], r.json()["rejected"]) == (2, 0), r.text
    with db.connect() as conn:
        found = conn.execute(text(
            "SELECT g.code, i.category_code, i.description, i.reported_at, i.source "
            "FROM incident i JOIN grid g ON g.id = i.grid_id "
            "WHERE i.client_id::text LIKE '7c1e0a52-5d0e-4d7b-9f7a-%' ORDER BY i.client_id")).all()
    china = timezone(timedelta(hours=8))
    assert [tuple(row) for row in found] == [
        (lattice.cell_code(0, 0), "06", "井盖缺失（老式表格）",
         datetime(2026, 11, 1, 8, 5, tzinfo=china), "hotline"),
        (lattice.cell_code(1, 0), "03", "路灯不亮", datetime(2026, 11, 2, 19, 30, tzinfo=china),
         "citizen")]


def test_a_report_with_its_title_above_the_column_names_is_read_below_them(api, grids, tmp_path):
    """A report exported from a hotline's system: its title, merged across the sheet, and when
    it was made above the column names; each line at fault is named by the sheet's own line."""
    from openpyxl import Workbook

    p = grids.iloc[45].geometry.representative_point()
    number = f"GD{uuid.uuid4().int % 10**12:012d}"
    book = Workbook()
    sheet = book.active
    sheet.append(["12345 热线工单明细表"])
    sheet.merge_cells("A1:E1")
    sheet.append(["制表时间：2026-11-02 18:00", None, None, "制表人：王芳"])
    sheet.append(["工单编号", "类别", "经度", "纬度", "问题描述"])
    sheet.append([number, "03", p.x, p.y, "路灯不亮"])
    sheet.append([f"{number}-2", "03", "东经", p.y, "经度写成了字"])
    book.save(tmp_path / "明细表.xlsx")
    r = api.post("/incidents/import", files={
        "file": ("明细表.xlsx", (tmp_path / "明细表.xlsx").read_bytes())})
    assert r.status_code == 200, r.text
    assert (r.json()["rows"], r.json()["inserted"]) == (2, 1)
    assert [(e["line"], e["field"]) for e in r.json()["errors"]] == [(5, "lon")]
    [case] = api.get("/incidents", params={"q": number}).json()["features"]
    assert (case["properties"]["description"], case["properties"]["grid"]["code"]) == (
        "路灯不亮", grids.iloc[45].code)
    # a CSV whose title is not padded with commas to the width of the lines under it
    sheet = (f"12345 热线工单明细表\n制表时间：2026-11-02 18:00\n工单编号,类别,经度,纬度\n"
             f"{number}-3,03,{p.x},{p.y}\n{number}-4,03,{p.x},北纬\n")
    r = api.post("/incidents/import", files={"file": ("明细表.csv", sheet.encode("gbk"))})
    assert r.status_code == 200, r.text
    assert (r.json()["inserted"], [(e["line"], e["field"]) for e in r.json()["errors"]]) == (
        1, [(5, "lat")])
    # a sheet naming no column it needs, however far down, is refused naming what it lacks
    r = api.post("/incidents/import", files={"file": ("x.csv", "标题,\n说明,\nid,lon\n1,2\n")})
    assert r.json()["detail"][0]["ctx"] == {"rule": "columns",
                                            "columns": ["client_id", "category", "lat"]}


@pytest.mark.parametrize("name", ["hotline.xlsx", "hotline.xls"])
def test_a_workbook_cut_short_is_refused_naming_the_file(api, tmp_path, rows, name):
    """A workbook whose upload broke off (a phone's weak signal, a full disk)."""
    whole = tmp_path / "hotline.xlsx"
    pd.DataFrame([rows[2]])[COLUMNS].to_excel(whole, index=False)
    data = (whole if name.endswith("x") else DATA / name).read_bytes()
    r = api.post("/incidents/import", files={"file": (name, data[:len(data) // 2])})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "file", r.text


def test_a_declared_crs_applies_to_rows_without_one(tmp_path, grids, db):
    p = grids.iloc[40].geometry.representative_point()
    bx, by = (float(v) for v in from_wgs84(p.x, p.y, "bd09"))
    rows = {2: {"client_id": str(uuid.uuid4()), "category": "03", "lon": bx, "lat": by}}
    result = CliRunner().invoke(app, ["incidents", "import", "--crs", "bd09",
                                      str(write_csv(tmp_path / "c.csv", rows))])
    assert result.exit_code == 0, result.output
    assert stored(db, rows, [2])[rows[2]["client_id"]].code == grids.iloc[40].code


def test_a_file_missing_a_column_is_refused_whole(tmp_path, db):
    path = tmp_path / "d.csv"
    path.write_text("client_id,category,lon\n" + f"{uuid.uuid4()},01,114\n")
    result = CliRunner().invoke(app, ["incidents", "import", str(path)])
    assert result.exit_code == 2 and "lat" in result.output


def test_api_upload_reports_rows_the_same_way(api, tmp_path, rows, db):
    data = write_csv(tmp_path / "e.csv", rows).read_bytes()
    r = api.post("/incidents/import", files={"file": ("e.csv", data, "text/csv")},
                 data={"source": "hotline"})
    assert r.status_code == 200
    body = r.json()
    assert (body["rows"], body["inserted"], body["rejected"]) == (17, 5, 12)
    assert {e["line"]: e["field"] for e in body["errors"]} == EXPECTED_ERRORS
    again = api.post("/incidents/import", files={"file": ("e.csv", data, "text/csv")}).json()
    assert (again["inserted"], again["already_stored"]) == (0, 5)
    assert stored(db, rows, [2])[rows[2]["client_id"]].source == "hotline"


def test_api_upload_of_something_else_is_refused(api):
    r = api.post("/incidents/import", files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "file"
    r = api.post("/incidents/import",
                 files={"file": ("x.csv", io.BytesIO(b"a,b\n1,2\n"), "text/csv")})
    assert r.status_code == 422 and "client_id" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_a_file_a_chinese_spreadsheet_saved_keeps_its_chinese(api, grids, db, encoding):
    """Excel and WPS save CSV in GBK on a Chinese Windows, or as UTF-8 with a byte-order mark."""
    p = grids.iloc[30].geometry.representative_point()
    ident = str(uuid.uuid4())
    sheet = f"client_id,category,lon,lat,description\n{ident},06,{p.x},{p.y},井盖缺失（东门街）\n"
    r = api.post("/incidents/import",
                 files={"file": ("12345.csv", sheet.encode(encoding), "text/csv")})
    assert r.status_code == 200 and r.json()["inserted"] == 1, r.text
    with db.connect() as conn:
        assert conn.execute(text("SELECT description FROM incident WHERE client_id = :id"),
                            {"id": ident}).scalar_one() == "井盖缺失（东门街）"


def test_a_file_in_no_encoding_a_spreadsheet_saves_is_refused_naming_it(api):
    sheet = b"client_id,category,lon,lat,description\n" + b"x,06,114,30,\xff\n"
    r = api.post("/incidents/import", files={"file": ("x.csv", sheet, "text/csv")})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "file"
    assert "neither UTF-8 nor GB18030" in r.json()["detail"][0]["msg"]


def test_a_body_larger_than_any_file_taken_is_refused_as_it_streams_in(monkeypatch, accounts):
    from tests.conftest import Server, signed_in_client

    monkeypatch.setenv("MAPSVC_API_UPLOAD_MAX_BYTES", "1000")
    monkeypatch.setenv("MAPSVC_MEDIA_MAX_BYTES", "1000")
    served = Server("small-uploads").start()
    try:
        client = signed_in_client(served.base, "admin")
        csv = b"client_id,category,lon,lat\n" + b"0" * 2**21
        r = client.post("/incidents/import", files={"file": ("a.csv", csv, "text/csv")})
        assert r.status_code == 413
        r = client.post("/incidents/import", files={"file": ("a.csv", csv[:2000], "text/csv")})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "file"
    finally:
        served.stop()


_NUMBERISH = st.text(alphabet="0123456789.-+eE naifINFx,_", max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=False).map(repr), st.integers().map(str),
                          st.just(""), _NUMBERISH), max_size=12))
def test_a_column_of_text_holds_the_numbers_pandas_reads_in_it(cells):
    """A column of plain numbers takes the fast way, anything else pandas' way: either way the
    same numbers, NaN where a cell is empty or no number."""
    column = pd.Series(cells, dtype="str")
    expected = pd.to_numeric(column.replace("", np.nan), errors="coerce").to_numpy(dtype=float)
    np.testing.assert_array_equal(numbers(column), expected)


def test_a_hotline_files_callers_are_kept_with_their_cases(api, grids, db):
    """caller_name and caller_phone, as a report's caller: checked line by line, masked when
    shown, revealed in full; imported again, stored once."""
    p = grids[grids["code"].str.startswith("441502")].iloc[12].geometry.representative_point()
    lines = {2: ("欧阳 明月", "138 1234 5678"), 3: ("", "0660-3388123"), 4: ("王五", ""),
             5: ("", ""), 6: ("赵六", "12345"), 7: ("孙\x07七", ""), 8: ("长" * 51, "")}
    ids = {line: str(uuid.uuid4()) for line in lines}
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["client_id", "category", "lon", "lat", "caller_name", "caller_phone"])
    for line, (name, phone) in lines.items():
        w.writerow([ids[line], "0601", p.x, p.y, name, phone])
    data = out.getvalue().encode()
    r = api.post("/incidents/import", files={"file": ("12345.csv", data, "text/csv")}).json()
    assert (r["inserted"], r["rejected"]) == (4, 3)
    assert {e["line"]: e["field"] for e in r["errors"]} == {
        6: "caller_phone", 7: "caller_name", 8: "caller_name"}
    with db.connect() as conn:
        case = dict(conn.execute(text("SELECT client_id::text, id FROM incident "
                                      "WHERE client_id::text = ANY(:ids)"),
                                 {"ids": list(ids.values())}).all())
    shown = {line: api.get(f"/incidents/{case[ids[line]]}").json()["caller"]
             for line in (2, 3, 4, 5)}
    assert shown == {2: {"name": "欧****", "phone": "138****5678"},
                     3: {"name": None, "phone": "066****8123"},
                     4: {"name": "王*", "phone": None}, 5: None}
    revealed = [api.post(f"/incidents/{case[ids[2]]}/caller/reveal", json={
        "field": field, "reason": "回访"}).json()["value"] for field in ("name", "phone")]
    assert revealed == ["欧阳 明月", "13812345678"]
    again = api.post("/incidents/import", files={"file": ("12345.csv", data, "text/csv")}).json()
    assert (again["inserted"], again["already_stored"]) == (0, 4)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident_caller c JOIN incident i "
                                 "ON i.id = c.incident_id WHERE i.client_id::text = ANY(:ids)"),
                            {"ids": list(ids.values())}).scalar_one() == 3
