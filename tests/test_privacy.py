"""People data under PIPL: encrypted at rest, masked by default, revealed only with a reason and
an audit row, and only within the asker's jurisdiction."""

import csv
import io
import re

import pandas as pd
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import text

from mapsvc.registry.importer import conform, import_registry
from mapsvc.registry.privacy import decrypt, encrypt, lookup_hash, mask_number, phone_hash
from tests.conftest import in_transaction, run

ID_NUMBER = "441502199001011232"
MOBILE = "13812345678"


@pytest.fixture(scope="module")
def residents(accounts, grids):
    """Two people: one in the grid of the test grid worker, one in 武昌区."""
    worker_grid = accounts["worker"][1]["grid_codes"][0]
    here = grids.set_index("code").geometry[worker_grid].representative_point()
    there = grids[grids["code"].str.startswith("420106")].geometry.iloc[0].representative_point()

    people = pd.DataFrame([
        {"county": "441502", "address": "人民路１２号幸福小区３幢２单元５０２室", "lon": here.x,
         "lat": here.y, "name": "张三丰", "id_number": ID_NUMBER, "mobile": MOBILE},
        {"county": "420106", "address": "中山路8号", "lon": there.x, "lat": there.y,
         "name": "李四", "id_number": "420106198502023455", "mobile": "13987654321"},
    ]).assign(registration="resident", care_tags="独居老人")

    async def create(conn):
        for kind in ("addresses", "people"):
            result = await import_registry(conn, kind, conform(people, kind))
            assert result.stored == 2 and not result.errors
        rows = (await conn.execute(text(
            "SELECT name, id FROM person WHERE name IN ('张三丰', '李四')"))).all()
        return {{"张三丰": "near", "李四": "far"}[name]: person_id for name, person_id in rows}

    return run(in_transaction(create))


def test_no_identifier_is_stored_in_plain_text(db, residents):
    with db.connect() as conn:
        row = conn.execute(text("SELECT to_jsonb(p) FROM person p WHERE id = :i"),
                           {"i": residents["near"]}).scalar_one()
        enc, digest, mobile_digest = conn.execute(text(
            "SELECT id_number_enc, id_number_hash, mobile_hash FROM person WHERE id = :i"),
            {"i": residents["near"]}).one()
    # the ciphertexts and hashes (bytea, written \\x and hex) are random digits, and the keys and
    # the time of writing are the database's own numbers: the rest is what a reader of the table
    # sees in plain text
    values = [str(value) for column, value in row.items()
              if column not in ("id", "household_id", "created_at")]
    sealed = [value for value in values if re.fullmatch(r"\\x[0-9a-f]+", value)]
    plain = " ".join(value for value in values if value not in sealed)
    assert len(sealed) == 4 and "张三丰" in plain
    assert ID_NUMBER not in plain and MOBILE not in plain and ID_NUMBER[-4:] not in plain
    assert ID_NUMBER.encode() not in bytes(enc)
    assert bytes(digest) == lookup_hash(ID_NUMBER) == lookup_hash(ID_NUMBER.lower() + " ")
    assert bytes(mobile_digest) == phone_hash(MOBILE)


def test_a_tampered_or_moved_ciphertext_does_not_decrypt():
    blob = bytearray(encrypt(ID_NUMBER, b"person.id_number"))
    assert decrypt(bytes(blob), b"person.id_number") == ID_NUMBER
    with pytest.raises(InvalidTag):
        decrypt(bytes(blob), b"person.mobile")  # the same bytes copied into another field
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        decrypt(bytes(blob), b"person.id_number")


def test_the_same_id_number_cannot_be_registered_twice(residents):
    again = pd.DataFrame([{"county": "441502", "address": "人民路12号幸福小区3栋2单元502室",
                           "name": "王五", "registration": "floating", "id_number": ID_NUMBER}])
    result = run(in_transaction(lambda conn: import_registry(conn, "people",
                                                             conform(again, "people"))))
    assert result.stored == 0 and [(e.field, e.ctx["rule"]) for e in result.errors] == [
        ("id_number", "registered")]  # to another name at the same address


def test_masks():
    assert mask_number("110101199003071234") == "110***********1234"
    assert mask_number("13812341234") == "138****1234"
    assert mask_number("1234567") == "*******"  # too short to show any of it


def test_people_are_listed_masked_within_the_jurisdiction(clients, residents):
    listed = {p["id"]: p for p in clients["admin"].get("/registry/people",
                                                       params={"limit": 1000}).json()}
    near = listed[residents["near"]]
    assert near["id_number"] == "441***********1232" and near["mobile"] == "138****5678"
    assert near["name"] == "张**" and near["address"] == "人民路12号幸福小区3栋2单元502室"
    for role, expected in [("worker", {"near"}), ("chief", {"near"}), ("command", {"near"}),
                           ("city", {"near", "far"}), ("planner", set()), ("department", set())]:
        seen = {p["id"] for p in clients[role].get("/registry/people",
                                                    params={"limit": 1000}).json()}
        assert {k for k, v in residents.items() if v in seen} == expected, role
        for key, person_id in residents.items():
            status = clients[role].get(f"/registry/people/{person_id}").status_code
            assert status == (200 if key in expected else 404), (role, key)


def test_a_reveal_needs_a_reason_and_is_audited(clients, residents, db):
    path = f"/registry/people/{residents['near']}/reveal"
    r = clients["worker"].post(path, json={"field": "id_number", "reason": "入户核实身份"})
    assert r.status_code == 200 and r.json()["value"] == ID_NUMBER
    assert clients["worker"].post(path, json={"field": "mobile", "reason": " "}).status_code == 422
    r = clients["worker"].post(path, json={"field": "salary", "reason": "x" * 5})
    assert r.status_code == 422
    far = f"/registry/people/{residents['far']}/reveal"
    assert clients["worker"].post(far, json={"field": "mobile", "reason": "好奇"}).status_code == 404
    r = clients["planner"].post(path, json={"field": "mobile", "reason": "规划"})
    assert r.status_code == 403
    audit = clients["admin"].get("/audit").json()
    assert audit[0]["username"] == "worker" and audit[0]["field"] == "id_number"
    assert audit[0]["reason"] == "入户核实身份" and audit[0]["entity_id"] == str(residents["near"])
    assert len([a for a in audit if a["entity_id"] == str(residents["far"])]) == 0
    assert clients["command"].get("/audit").status_code == 403
    # who looked at a person, and why; what one account did
    about = clients["admin"].get("/audit", params={"person": residents["near"]}).json()
    assert about[0] == audit[0] and {a["entity_id"] for a in about} == {str(residents["near"])}
    assert all(a["entity"] == "person" for a in about)
    assert clients["admin"].get("/audit", params={"person": residents["far"]}).json() == []
    by = clients["admin"].get("/audit", params={"username": "worker", "action": "reveal"}).json()
    assert by and {(a["username"], a["action"]) for a in by} == {("worker", "reveal")}
    assert clients["admin"].get("/audit", params={"action": "peek"}).status_code == 422
    with pytest.raises(Exception, match="append-only"):
        with db.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))


def test_a_person_is_looked_up_by_id_number_mobile_or_name_for_a_reason_and_audited(
        clients, residents):
    near, far = str(residents["near"]), str(residents["far"])

    def looked_up(role, **asked):
        r = clients[role].get("/registry/people", params=asked)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()]

    why = "来电核实住址"
    # the audit's entries from here on (other tests of the process look people up too)
    since = max([a["id"] for a in clients["admin"].get("/audit", params={"limit": 1}).json()],
                default=0)
    for asked in ({"id_number": ID_NUMBER}, {"id_number": f" {ID_NUMBER[:-1]}2 "},
                  {"mobile": MOBILE}, {"name": "张三丰"}):
        assert looked_up("worker", **asked, reason=why) == [residents["near"]], asked
    shown = clients["worker"].get("/registry/people",
                                  params={"mobile": MOBILE, "reason": why}).json()[0]
    assert (shown["name"], shown["mobile"]) == ("张**", "138****5678")  # masked, as listed
    # another jurisdiction's person is not found, and the lookup is recorded all the same
    assert looked_up("worker", id_number="420106198502023455", reason=why) == []
    assert looked_up("city", id_number="420106198502023455", reason=why) == [residents["far"]]
    assert looked_up("worker", mobile="13900000000", reason=why) == []
    assert looked_up("worker", name="张三", reason=why) == []  # a full name, not a part
    assert looked_up("worker", left="true", name="张三丰", reason=why) == []
    for asked, field in [({"id_number": ID_NUMBER}, "reason"),
                         ({"id_number": ID_NUMBER, "reason": "  "}, "reason"),
                         ({"id_number": ID_NUMBER, "mobile": MOBILE, "reason": why}, "mobile"),
                         ({"id_number": ID_NUMBER[:-1] + "3", "reason": why}, "id_number"),
                         ({"mobile": "1381234567", "reason": why}, "mobile"),
                         ({"name": " ", "reason": why}, "name")]:
        r = clients["worker"].get("/registry/people", params=asked)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", field], asked
    # who looked the person up, by what and why; and a lookup that found no one
    about = clients["admin"].get("/audit", params={"person": near, "action": "lookup"}).json()
    assert [(a["username"], a["field"], a["reason"]) for a in about][:5] == [
        ("worker", "mobile", why), ("worker", "name", why), ("worker", "mobile", why),
        ("worker", "id_number", why), ("worker", "id_number", why)]
    lookups = clients["admin"].get("/audit", params={"action": "lookup"}).json()
    missed = [a for a in lookups if a["entity_id"] == "未找到" and a["id"] > since]
    assert [(a["username"], a["field"]) for a in missed] == [
        ("worker", "name"), ("worker", "name"), ("worker", "mobile"), ("worker", "id_number")]
    assert far not in {a["entity_id"] for a in lookups if a["username"] == "worker"}
    assert ID_NUMBER not in str(lookups) and MOBILE not in str(lookups)
    counted = {c["username"]: c for c in clients["admin"].get("/audit/accounts").json()}
    assert counted["worker"]["lookups"] >= 9 and counted["city"]["lookups"] >= 1
    # a lookup exported: audited with what was asked for, masked
    r = clients["command"].get("/registry/people.csv", params={"id_number": ID_NUMBER,
                                                               "reason": "季度走访计划"})
    assert r.status_code == 200 and r.text.count("\n") == 2  # the headings and the person
    exported = clients["admin"].get("/audit", params={"action": "export"}).json()[0]
    assert exported["entity_id"] == "1 人，身份证号 441***********1232"


def test_a_care_tag_filters_people(clients, residents):
    tagged = {p["id"] for p in clients["admin"].get("/registry/people",
                                                     params={"care_tag": "独居老人"}).json()}
    assert set(residents.values()) <= tagged
    assert not clients["admin"].get("/registry/people", params={"care_tag": "无此标签"}).json()


def test_people_are_found_by_region_box_and_radius(clients, residents, grids, accounts):
    def found(**params):
        return {p["id"] for p in clients["admin"].get("/registry/people",
                                                       params={"limit": 1000, **params}).json()}

    near = residents["near"]
    p = grids.set_index("code").geometry[accounts["worker"][1]["grid_codes"][0]]
    p = p.representative_point()
    assert near in found(region="441502") and near not in found(region="420106")
    assert near in found(bbox=f"{p.x - 0.001},{p.y - 0.001},{p.x + 0.001},{p.y + 0.001}")
    assert near in found(near=f"{p.x},{p.y},30")
    assert near not in found(near=f"{p.x + 0.01},{p.y},30")


def test_an_export_of_more_people_than_a_batch_holds_them_all_and_runs_no_formula(
        clients, accounts, grids):
    """Read a batch at a time (SHEET_BATCH): the rows of every batch are written, once each;
    a tag typed as a formula is written as text."""
    from mapsvc.db.spreadsheet import SHEET_BATCH

    here = grids.set_index("code").geometry[accounts["worker"][1]["grid_codes"][0]]
    here = here.representative_point()
    tag = '=HYPERLINK("http://example.com/x")\\点我'  # quotes and a backslash, as typed
    many = SHEET_BATCH + 234
    people = pd.DataFrame([{"county": "441502", "address": "批量路1号", "lon": here.x,
                            "lat": here.y, "name": f"批量{i}", "registration": "floating",
                            "care_tags": tag} for i in range(many)])

    async def create(conn):
        for kind in ("addresses", "people"):
            result = await import_registry(conn, kind, conform(people.iloc[:1] if kind ==
                                                               "addresses" else people, kind))
            assert not result.errors

    run(in_transaction(create))
    r = clients["command"].get("/registry/people.csv", params={"reason": "核对流动人口",
                                                               "care_tag": tag})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert len(rows) == many == len({row["编号"] for row in rows})
    assert [int(row["编号"]) for row in rows] == sorted(int(row["编号"]) for row in rows)
    assert {row["关怀标签"] for row in rows} == {"'" + tag}
    assert {row["类别"] for row in rows} == {"流动"} and rows[0]["姓名"] == "批**"
    done = clients["admin"].get("/audit", params={"username": "command",
                                                 "action": "export"}).json()[0]
    assert done["entity_id"] == f"{many} 人，关怀标签 {tag}"


def test_an_export_is_masked_needs_a_reason_and_is_audited(clients, residents):
    r = clients["command"].get("/registry/people.csv", params={"reason": "季度走访计划"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())  # read as UTF-8 by a spreadsheet
    assert ID_NUMBER not in r.text and MOBILE not in r.text and "张三丰" not in r.text
    rows = {row["编号"]: row for row in csv.DictReader(io.StringIO(r.text.lstrip("\ufeff")))}
    near = rows[str(residents["near"])]
    assert {k: near[k] for k in ("姓名", "身份证号", "手机", "出生年份", "类别", "关怀标签")} == {
        "姓名": "张**", "身份证号": "441***********1232", "手机": "138****5678",
        "出生年份": "", "类别": "户籍", "关怀标签": "独居老人"}
    person = clients["command"].get(f"/registry/people/{residents['near']}").json()
    assert (near["网格编码"], near["网格"]) == (person["grid"], person["grid_name"])
    assert person["grid_name"]  # its grid by name, as the register shows it
    assert str(residents["far"]) not in rows  # 武昌区: not the command centre's
    assert clients["command"].get("/registry/people.csv").status_code == 422
    r = clients["worker"].get("/registry/people.csv", params={"reason": "x" * 3})
    assert r.status_code == 403
    audit = clients["admin"].get("/audit").json()
    assert audit[0]["action"] == "export" and audit[0]["username"] == "command"
    assert audit[0]["reason"] == "季度走访计划"
