"""Registry files: addresses first, then the people on them; bad rows reported by line."""

import csv
import getpass
from datetime import date

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from mapsvc.cli import app
from mapsvc.registry.privacy import (
    MOBILE,
    decrypt,
    id_check_character,
    lookup_hash,
    phone_hash,
    valid_id_number,
)
from tests.conftest import csv_bytes, new_account, signed_in_client


def write(path, columns, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    return path


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("value,ok", [("11010519491231002X", True), ("110105194912310021", False),
                                      ("440524188001010014", True), ("4405241880010100", False),
                                      ("abcdefghijklmnopqr", False)])
def test_resident_id_numbers_are_checked_by_their_check_character(value, ok):
    assert valid_id_number(value) is ok


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, grids, accounts):
    folder = tmp_path_factory.mktemp("registry")
    worker_grid = accounts["worker"][1]["grid_codes"][0]
    p = grids.set_index("code").geometry[worker_grid].representative_point()
    addresses = write(folder / "addresses.csv", ["address", "lon", "lat", "use", "rental"], [
        {"address": "凤山路8号海景花园1栋1单元101室", "lon": p.x, "lat": p.y, "use": "residential",
         "rental": "否"},
        {"address": "凤山路８号海景花园一栋一单元一零二室", "lon": p.x, "lat": p.y, "use": "",
         "rental": "是"},
        {"address": "", "lon": p.x, "lat": p.y, "use": "", "rental": ""},
        {"address": "凤山路9号", "lon": "east", "lat": p.y, "use": "", "rental": ""},
        {"address": "凤山路10号", "lon": p.x, "lat": p.y, "use": "castle", "rental": ""},
        {"address": "凤山路11号\x00", "lon": p.x, "lat": p.y, "use": "", "rental": ""},
    ])
    first = cli("registry", "import", "addresses", addresses, "--county", "441502")
    again = cli("registry", "import", "addresses", addresses, "--county", "441502")
    people = write(folder / "people.csv",
                   ["address", "name", "registration", "id_number", "mobile", "household",
                    "care_tags", "relation", "sex", "birth_date"], [
        {"address": "凤山路8号海景花园1栋1单元101室", "name": "赵一", "registration": "resident",
         "id_number": "441502195001010012", "mobile": "13800000001", "household": "A1",
         "care_tags": "独居老人|残疾人", "relation": "owner", "sex": "male", "birth_date": "1950-01-01"},
        {"address": "凤山路8号 海景花园 1幢1单元101户", "name": "赵二", "registration": "floating",
         "id_number": "", "mobile": "", "household": "A1", "care_tags": "", "relation": "tenant",
         "sex": "", "birth_date": "1951年2月3日"},
        {"address": "不存在路1号", "name": "钱三", "registration": "resident", "id_number": "",
         "mobile": "", "household": "", "care_tags": "", "relation": "", "sex": "",
         "birth_date": ""},
        {"address": "凤山路8号海景花园1栋1单元102室", "name": "孙四", "registration": "alien",
         "id_number": "", "mobile": "", "household": "", "care_tags": "", "relation": "",
         "sex": "", "birth_date": ""},
        {"address": "凤山路8号海景花园1栋1单元102室", "name": "李五", "registration": "resident",
         "id_number": "441502195001010013", "mobile": "139", "household": "", "care_tags": "",
         "relation": "", "sex": "", "birth_date": "1950-13-40"},
    ])
    return {"addresses": (first, again), "people": cli("registry", "import", "people", people,
                                                       "--county", "441502"),
            "people_file": people, "grid": worker_grid, "point": p}


def test_addresses_are_stored_once_in_their_grid(loaded, db):
    first, again = loaded["addresses"]
    assert first.exit_code == 1
    assert "6 rows: 2 addresses stored, 4 rejected" in first.output
    for line, field in [(4, "address"), (5, "lon"), (6, "use"), (7, "address")]:
        assert f"line {line}: {field}:" in first.output
    assert "0 addresses stored" in again.output
    with db.connect() as conn:
        rows = conn.execute(text(
            "SELECT a.full_text, g.code, a.building, a.room, h.rental FROM address a "
            "JOIN grid g ON g.id = a.grid_id JOIN house h ON h.address_id = a.id "
            "WHERE a.full_text LIKE '凤山路8号%' ORDER BY a.full_text")).all()
    assert [(r.full_text, r.code, r.building, r.room, r.rental) for r in rows] == [
        ("凤山路8号海景花园1栋1单元101室", loaded["grid"], "1", "101", False),
        ("凤山路8号海景花园1栋1单元102室", loaded["grid"], "1", "102", True)]


def test_people_are_matched_to_standard_addresses_and_households(loaded, db):
    out = loaded["people"].output
    assert "5 rows: 2 people stored, 0 corrected, 3 rejected" in out
    assert "line 4: address: no standard address '不存在路1号' in county 441502" in out
    assert "line 5: registration:" in out
    assert "line 6: id_number:" in out  # bad check character
    with db.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.name, p.care_tags, h.number, ph.relation, a.full_text, p.birth_date "
            "FROM person p "
            "JOIN household h ON h.id = p.household_id JOIN house ho ON ho.id = h.house_id "
            "JOIN address a ON a.id = ho.address_id "
            "JOIN person_house ph ON ph.person_id = p.id "
            "WHERE p.name IN ('赵一', '赵二') ORDER BY p.name")).all()
    assert [(r.name, r.care_tags, r.number, r.relation, r.birth_date) for r in rows] == [
        ("赵一", ["独居老人", "残疾人"], "A1", "owner", date(1950, 1, 1)),
        ("赵二", [], "A1", "tenant", date(1951, 2, 3))]
    assert {r.full_text for r in rows} == {"凤山路8号海景花园1栋1单元101室"}


def test_reimporting_people_leaves_those_already_registered(loaded, db, tmp_path):
    """Known at their house by their ID number, or with none by their name and birth date:
    left as they are, counted; one registered at another address refused (a move is recorded
    as one, not by a file)."""
    twice = write(tmp_path / "twice.csv", ["address", "name", "registration"], [
        {"address": "凤山路8号海景花园1栋1单元102室", "name": "郑八", "registration": "resident"}] * 2)
    out = cli("registry", "import", "people", twice, "--county", "441502").output
    assert "2 rows: 1 people stored, 0 corrected, 1 rejected" in out
    assert "line 3: name: repeats line 2" in out
    again = cli("registry", "import", "people", loaded["people_file"], "--county", "441502")
    assert "5 rows: 0 people stored, 0 corrected, 3 rejected, 2 held already" in again.output
    moved = write(tmp_path / "moved.csv", ["address", "name", "registration", "id_number"], [
        {"address": "凤山路8号海景花园1栋1单元102室", "name": "赵一", "registration": "resident",
         "id_number": "441502195001010012"}])
    assert "line 2: id_number: this ID number is registered already" in cli(
        "registry", "import", "people", moved, "--county", "441502").output
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM person WHERE name = '赵二'")
                            ).scalar_one() == 1


PEOPLE = ["address", "name", "registration", "id_number", "mobile", "care_tags", "sex",
          "birth_date"]
FLAT = "凤山路8号海景花园1栋1单元102室"  # of the module's addresses


def _person(name: str, **details) -> dict:
    return {"address": FLAT, "name": name, "registration": "resident", **details}


def _id_number(first17: str) -> str:
    return first17 + id_check_character(first17)


def _people_named(db, *names) -> dict:
    with db.connect() as conn:
        return {r.name: r for r in conn.execute(text(
            "SELECT id, name, id_number_hash, mobile_enc, mobile_hash, birth_date, sex, "
            "registration, care_tags FROM person WHERE name = ANY (:names) AND left_on IS NULL"),
            {"names": list(names)})}


def _corrections(db, ids) -> list[tuple]:
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT a.username, l.origin, l.entity_id, l.field, l.reason FROM audit_log l "
            "LEFT JOIN account a ON a.id = l.account_id "
            "WHERE l.action = 'correct' AND l.entity = 'person' AND l.entity_id = ANY (:ids) "
            "ORDER BY l.id"), {"ids": [str(i) for i in ids]})]


def test_a_people_file_imported_again_corrects_those_it_names_each_field_audited(
        loaded, db, tmp_path, server):
    """Next month's list corrects the people it names at their house (by name and ID number;
    with none by name): a new mobile, care tags, an ID number and birth date registered with
    none; a blank cell leaves what is held. Each field changed is audited as a correction on
    the register is, by the shell's user or the account that sent the file, with the file and
    line; sent again, nothing changes and nothing is written."""
    feng, chen = _id_number("44150219600202001"), _id_number("44150219700303002")
    first = write(tmp_path / "first.csv", PEOPLE, [
        _person("冯九", id_number=feng, mobile="13800000009", care_tags="独居老人", sex="male"),
        _person("陈十", registration="floating"),
        _person("林十一", birth_date="1980-01-01"), _person("林十一", birth_date="1990-01-01")])
    assert "4 rows: 4 people stored, 0 corrected, 0 rejected" in cli(
        "registry", "import", "people", first, "--county", "441502").output
    held = _people_named(db, "冯九", "陈十")
    corrections = write(tmp_path / "corrections.csv", PEOPLE, [
        _person("冯九", id_number=feng, mobile="13900000009", care_tags="低保、独居老人、低保"),
        _person("陈十", id_number=chen, sex="female", birth_date="1970-03-03")])
    checked = cli("registry", "import", "people", corrections, "--county", "441502", "--check")
    assert "nothing stored: 2 rows: 0 people to store, 2 to correct, 0 rejected" in checked.output
    assert _people_named(db, "冯九", "陈十") == held and _corrections(
        db, [p.id for p in held.values()]) == []
    done = cli("registry", "import", "people", corrections, "--county", "441502")
    assert "2 rows: 0 people stored, 2 corrected, 0 rejected, 0 held already" in done.output
    now = _people_named(db, "冯九", "陈十")
    feng_id, chen_id = held["冯九"].id, held["陈十"].id
    assert decrypt(now["冯九"].mobile_enc, MOBILE) == "13900000009"
    assert now["冯九"].mobile_hash == phone_hash("13900000009")  # found by their new mobile
    assert (now["冯九"].care_tags, now["冯九"].sex, now["冯九"].birth_date) == (
        ["低保", "独居老人"], "male", None)  # blank cells: as held
    assert now["陈十"].id_number_hash == lookup_hash(chen)
    assert (now["陈十"].sex, now["陈十"].birth_date, now["陈十"].registration,
            now["陈十"].mobile_enc) == ("female", date(1970, 3, 3), "resident", None)
    shell = f"mapsvc registry import, {getpass.getuser()}"
    assert _corrections(db, [feng_id, chen_id]) == [
        (None, shell, str(feng_id), field, "导入文件 corrections.csv 第 2 行")
        for field in ("mobile", "care_tags")] + [
        (None, shell, str(chen_id), field, "导入文件 corrections.csv 第 3 行")
        for field in ("id_number", "birth_date", "sex", "registration")]
    again = cli("registry", "import", "people", corrections, "--county", "441502")
    assert "2 rows: 0 people stored, 0 corrected, 0 rejected, 2 held already" in again.output
    assert len(_corrections(db, [feng_id, chen_id])) == 6

    # what a file cannot tell, or names twice, refused on its line; the rest corrected
    refused = write(tmp_path / "refused.csv", PEOPLE, [
        _person("林十一", mobile="13700000011"),  # which of the two?
        _person("冯九", id_number=feng, mobile="13600000009"),
        _person("冯九", registration="floating"),  # the one line 3 named
        _person("林十一", birth_date="1980-01-01", id_number=chen)])  # 陈十's
    out = cli("registry", "import", "people", refused, "--county", "441502").output
    assert "4 rows: 0 people stored, 1 corrected, 3 rejected" in out
    assert "line 2: name: more than one person of this name lives at this address" in out
    assert "line 4: name: names the person of line 3 again" in out
    assert "line 5: id_number: this ID number is registered already" in out
    with db.connect() as conn:  # neither namesake given the mobile
        assert conn.execute(text("SELECT count(*), count(mobile_hash) FROM person "
                                 "WHERE name = '林十一'")).one() == (2, 0)
    assert _corrections(db, [feng_id])[-1][3:] == ("mobile", "导入文件 refused.csv 第 3 行")

    # another county's centre corrects no one here: the line lies outside its jurisdiction
    with signed_in_client(server, new_account(region_code="420106")) as client:
        answer = client.post("/registry/import/people", data={"county": "441502"}, files={
            "file": ("他区.csv", csv_bytes(PEOPLE, [_person("陈十", mobile="13400000010")]),
                     "text/csv")}).json()
        assert (answer["updated"], [e["ctx"]["rule"] for e in answer["errors"]]) == (
            0, ["outside"])
    assert len(_corrections(db, [chen_id])) == 4

    # sent by an account: the account audited; an auditor reads the shell's and the account's
    centre = new_account()
    with signed_in_client(server, centre) as client:
        answer = client.post("/registry/import/people", data={"county": "441502"}, files={
            "file": ("月报.csv", csv_bytes(PEOPLE, [_person("陈十", mobile="13500000010")]),
                     "text/csv")}).json()
        assert (answer["stored"], answer["updated"], answer["held"]) == (0, 1, 0)
    assert _corrections(db, [chen_id])[-1] == (centre, None, str(chen_id), "mobile",
                                               "导入文件 月报.csv 第 2 行")
    with signed_in_client(server, "auditor") as auditor:
        by_shell = auditor.get("/audit", params={"username": shell, "action": "correct",
                                                 "limit": 1000}).json()
        assert {(e["username"], e["entity_id"]) for e in by_shell} >= {
            (shell, str(feng_id)), (shell, str(chen_id))}
        assert all(e["username"] == shell for e in by_shell)
        counted = {c["username"]: c for c in auditor.get(
            "/audit/accounts", params={"limit": 1000}).json()}
        assert counted[shell]["corrections"] >= 7 and counted[centre]["corrections"] == 1


def test_the_households_of_a_file_are_numbered_in_the_order_it_names_them(loaded, db,
                                                                           tmp_path):
    """Households 9, 3 and 5 of one flat, listed so: their ids follow the file, not 户号's
    order (the first named is the first of the house)."""
    flat = write(tmp_path / "flat.csv", ["address", "name", "registration", "household"], [
        {"address": "凤山路8号海景花园1栋1单元102室", "name": f"户序{n}",
         "registration": "resident", "household": number}
        for n, number in enumerate(("9", "3", "5", "3"))])
    assert "4 rows: 4 people stored" in cli("registry", "import", "people", flat,
                                            "--county", "441502").output
    with db.connect() as conn:
        assert conn.execute(text(
            "SELECT h.number FROM household h WHERE h.id IN (SELECT household_id FROM person "
            "WHERE name LIKE '户序%') ORDER BY h.id")).scalars().all() == ["9", "3", "5"]


def test_a_communitys_sheets_headed_and_filled_in_in_chinese_import_as_the_english(loaded,
                                                                                 tmp_path, db):
    """A community's 人口信息表 heads its columns in Chinese and writes 女, 流动, 租住 (saved
    by Excel on a Chinese Windows, in GBK)."""
    row = "凤山路8号海景花园1栋1单元103室,{lon},{lat},是"
    (tmp_path / "地址.csv").write_bytes(("地址,经度,纬度,是否出租\n" + row.format(
        lon=loaded["point"].x, lat=loaded["point"].y) + "\n").encode("gbk"))
    assert "1 addresses stored" in cli("registry", "import", "addresses", tmp_path / "地址.csv",
                                       "--county", "441502").output
    (tmp_path / "人口.csv").write_bytes((
        "地址,姓名,人口类型,性别,与房屋关系,出生日期,关怀标签\n"
        "凤山路8号海景花园1栋1单元103室,周六,流动,女,租住,1988年8月8日,\n"
        "凤山路8号海景花园1栋1单元103室,吴七,户籍,未知,产权人,,\n").encode("gbk"))
    out = cli("registry", "import", "people", tmp_path / "人口.csv", "--county", "441502").output
    assert "2 rows: 1 people stored, 0 corrected, 1 rejected" in out
    assert "line 3: sex:" in out
    with db.connect() as conn:
        stored = conn.execute(text(
            "SELECT p.registration, p.sex, p.birth_date, ph.relation, h.rental FROM person p "
            "JOIN person_house ph ON ph.person_id = p.id JOIN house h ON h.id = ph.house_id "
            "WHERE p.name = '周六'")).one()
    assert tuple(stored) == ("floating", "female", date(1988, 8, 8), "tenant", True)


def test_components_organisations_and_places_land_in_their_grids(tmp_path, grids, db):
    p = grids[grids["code"].str.startswith("420106")].geometry.iloc[3].representative_point()
    with db.connect() as conn:  # the files imported before this test's
        before = conn.execute(text("SELECT coalesce(max(id), 0) FROM registry_import")).scalar()
    things = write(tmp_path / "things.csv", ["component_id", "name", "lon", "lat", "state"], [
        {"component_id": "4201060101000001", "name": "上水井盖", "lon": p.x, "lat": p.y,
         "state": ""},
        {"component_id": "9999990101000001", "name": "井盖", "lon": p.x, "lat": p.y, "state": ""},
        {"component_id": "42010601", "name": "井盖", "lon": p.x, "lat": p.y, "state": ""},
    ])
    result = cli("registry", "import", "things", things)
    assert "1 things stored, 0 updated, 2 rejected" in result.output
    census = write(tmp_path / "census.csv", ["component_id", "name", "lon", "lat", "state"], [
        {"component_id": "4201060101000001", "name": "上水井盖", "lon": round(p.x, 6),
         "lat": round(p.y, 6), "state": "完好"}])  # to 0.1 m, as a ledger writes it: unmoved
    assert "1 rows: 0 things stored, 0 updated, 0 rejected" in cli(
        "registry", "import", "things", census).output
    stations = write(tmp_path / "orgs.csv", ["name", "kind", "lon", "lat"], [
        {"name": "红色驿站（示例）", "kind": "service_station", "lon": p.x, "lat": p.y},
        {"name": "某某", "kind": "castle", "lon": p.x, "lat": p.y}])
    assert "1 organisations stored, 0 updated, 1 rejected" in cli(
        "registry", "import", "organisations", stations).output
    places = write(tmp_path / "places.csv", ["name", "kind", "lon", "lat"], [
        {"name": "农贸市场（示例）", "kind": "market", "lon": p.x, "lat": p.y}])
    assert "checked, nothing stored: 1 rows: 1 places to store, 0 to update, 0 rejected" in cli(
        "registry", "import", "places", places, "--check").output  # and not kept as imported
    assert "1 places stored, 0 updated" in cli("registry", "import", "places", places).output
    listed = cli("registry", "imports", "--last", "2")
    assert listed.exit_code == 0 and "places" in listed.output and "things" not in listed.output
    with db.connect() as conn:
        for table, key in (("thing", "component_id = '4201060101000001'"),
                           ("organisation", "name = '红色驿站（示例）'"),
                           ("place", "name = '农贸市场（示例）'")):
            assignment, village = conn.execute(text(
                f"SELECT assignment, village_code FROM {table} WHERE {key}")).one()
            assert assignment == "inside" and village.startswith("420106")
        assert conn.execute(text("SELECT type_code FROM thing WHERE component_id = "
                                 "'4201060101000001'")).scalar_one() == "0101"
        # imported at a shell: kept in the log of imports as the system user's, and in its
        # record, with the file
        origin = f"mapsvc registry import, {getpass.getuser()}"
        assert conn.execute(text(
            "SELECT origin, kind, file, rows, stored, updated, rejected FROM registry_import "
            "WHERE id > :before AND origin IS NOT NULL ORDER BY id"), {"before": before}
            ).all() == [(origin, "things", "things.csv", 3, 1, 0, 2),
                        (origin, "things", "census.csv", 1, 0, 0, 0),
                        (origin, "organisations", "orgs.csv", 2, 1, 0, 1),
                        (origin, "places", "places.csv", 1, 1, 0, 0)]
        assert conn.execute(text(
            "SELECT c.action, c.account_id, c.origin, c.file FROM registry_change c "
            "JOIN organisation o ON c.layer = 'organisation' AND c.entity_id = o.id "
            "WHERE o.name = '红色驿站（示例）'")).one() == (
                "imported", None, origin, "orgs.csv")


def test_an_unknown_kind_is_refused(tmp_path):
    result = cli("registry", "import", "spaceships", write(tmp_path / "x.csv", ["a"], [{"a": 1}]))
    assert result.exit_code == 2 and "KIND" in result.output


def test_the_synthetic_registry_imports_whole_and_is_obviously_not_real(grids, db):
    from mapsvc.db.engine import in_transaction
    from mapsvc.registry.importer import import_registry
    from mapsvc.registry.privacy import valid_id_number
    from stdnum.cn import uscc

    from mapsvc.registry.synthetic import registry_frames
    from tests.conftest import run

    sample = grids[grids["code"].str.startswith("420106")].iloc[-3:].assign(households=40)
    frames = registry_frames(sample)
    people = frames["people"]
    assert people["name"].str.startswith("演示").all()
    assert people["id_number"].str.startswith("000000").all()
    assert people["id_number"].map(valid_id_number).all()
    assert people["mobile"].str.startswith("100").all()
    # enterprises and social organisations known by a code of their own, of no real place
    coded = frames["organisations"][frames["organisations"]["kind"].isin(
        ["enterprise", "social_organisation"])]["code"]
    assert len(coded) and coded.str.match(r"^[59]1000000").all() and coded.is_unique
    assert coded.map(uscc.is_valid).all()

    async def load(conn):
        return {kind: await import_registry(conn, kind, frame) for kind, frame in frames.items()}

    results = run(in_transaction(load))
    assert {k: r.rejected for k, r in results.items()} == dict.fromkeys(frames, 0)
    assert results["people"].stored == len(people)
    assert results["addresses"].stored == len(frames["addresses"])


def test_a_first_registry_reads_each_line_and_person_a_few_times(database_at, database_url,
                                                                  tmp_path):
    """A township's first registry, imported into a database that never held one through a
    connection of the service's: each address line staged is read a few times, not once for
    each address stored, and each person a few times as the grids' population is counted, not
    once for each household (a plan made while no person was stored read them all for each:
    a township's 21,000 people took a minute)."""
    from sqlalchemy.engine import make_url

    from mapsvc.db.engine import async_engine
    from mapsvc.demo import load_hierarchy, write_hierarchy
    from mapsvc.registry.synthetic import load_registry
    from tests.conftest import run

    database_at("mapsvc_first_registry", "head")
    url = make_url(database_url).set(database="mapsvc_first_registry")

    async def first_registry():
        engine = async_engine(url.render_as_string(hide_password=False))
        try:
            async with engine.begin() as conn:
                await load_hierarchy(conn, write_hierarchy(tmp_path, 40, counties=["441502"]))
            async with engine.begin() as conn:
                township = (await conn.execute(text(
                    "SELECT left(min(village_code), 9) FROM grid"))).scalar_one()
                stored = await load_registry(conn, township)
                # what this transaction read of the addresses staged and of the people
                return stored, (await conn.execute(text("""
                    SELECT pg_stat_get_xact_tuples_returned('pg_temp.address_stage'::regclass)
                               AS lines_read,
                           pg_stat_get_xact_tuples_returned('person'::regclass)
                           + (SELECT sum(pg_stat_get_xact_tuples_returned(indexrelid))
                                FROM pg_index WHERE indrelid = 'person'::regclass)
                               AS people_read,
                           (SELECT sum(population) FROM grid_figures) AS population"""))).one()
        finally:
            await engine.dispose()

    stored, read = run(first_registry())
    assert stored["addresses"] > 1000 and stored["people"] > 2000
    assert read.population == stored["people"]  # each counted in their grid
    assert read.lines_read <= 4 * stored["addresses"]
    assert read.people_read <= 4 * stored["people"]
