"""People coming and going (人口动态), recorded by those who work their grids. A newcomer joins a
household, stored once however often the phone sends it, with their identifiers encrypted and
shown masked. One who moves away or dies (迁出, 死亡) leaves the lists and counts the same moment,
their ties to houses end that day, the record is audited, and the service erases them once the
privacy settings' days are over (365 by default). Details found otherwise are corrected, each
field changed audited."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import text

from mapsvc.registry.importer import conform, import_registry
from mapsvc.registry.privacy import id_check_character
from tests.conftest import Server, in_transaction, run

CHINA = ZoneInfo("Asia/Shanghai")


def _id_number(serial: int) -> str:
    body = f"44150219800101{serial:03d}"
    return body + id_check_character(body)


@pytest.fixture(scope="module")
def household(accounts, grids):
    """A household of five at an address in the test grid worker's grid, and one person in
    武昌区: their ids by name."""
    here = grids.set_index("code").geometry[accounts["worker"][1]["grid_codes"][0]]
    here = here.representative_point()
    there = grids[grids["code"].str.startswith("420106")].geometry.iloc[0].representative_point()
    people = pd.DataFrame([
        {"county": "441502", "address": "和平路7号", "lon": here.x, "lat": here.y,
         "name": name, "id_number": _id_number(serial), "household": "H7"}
        for serial, name in enumerate(("陈一", "陈二", "陈三", "陈四", "陈五"), start=701)] + [
        {"county": "420106", "address": "和平路9号", "lon": there.x, "lat": there.y,
         "name": "陈远", "id_number": _id_number(709), "household": "H9"},
    ]).assign(registration="resident")

    async def create(conn):
        for kind in ("addresses", "people"):
            result = await import_registry(conn, kind, conform(people, kind))
            assert not result.errors, result.errors
        return dict((await conn.execute(text(
            "SELECT name, id FROM person WHERE name LIKE '陈%'"))).all())

    return run(in_transaction(create))


def _today() -> date:
    return datetime.now(CHINA).date()


def _listed(client, **params) -> set[int]:
    """The people the list gives, every page (other tests' registries among them)."""
    listed: set[int] = set()
    while True:
        got = client.get("/registry/people", params={"limit": 1000, "offset": len(listed),
                                                     **params}).json()
        listed |= {p["id"] for p in got}
        if len(got) < 1000:
            return listed


def _people_in(client, grid: str) -> int:
    counts = client.get("/registry/grid-counts", params={"limit": 1000}).json()
    return next(c["people"] for c in counts if c["grid"] == grid)


def test_a_person_who_moved_away_leaves_the_lists_and_counts_and_is_audited(
        clients, accounts, household, db):
    worker, admin = clients["worker"], clients["admin"]
    grid = accounts["worker"][1]["grid_codes"][0]
    person = household["陈一"]
    before = _people_in(worker, grid)
    on = _today() - timedelta(days=3)
    r = worker.post(f"/registry/people/{person}/departure",
                    json={"reason": "moved_away", "on": on.isoformat(), "note": "搬去深圳"})
    assert r.status_code == 200, r.text
    left = r.json()
    assert left["name"] == "陈*" and left["left_reason"] == "moved_away"
    assert left["left_on"] == on.isoformat()
    assert left["erased_after"] == (on + timedelta(days=365)).isoformat()
    # out of what the grid shows, kept among those who left until erased
    assert person not in _listed(worker) and person not in _listed(admin, grid=grid)
    assert person in _listed(worker, left="true")
    assert household["陈二"] in _listed(worker) and household["陈二"] not in _listed(
        worker, left="true")
    assert _people_in(worker, grid) == before - 1
    assert worker.get(f"/registry/people/{person}").json()["left_on"] == on.isoformat()
    with db.connect() as conn:  # the tie ends that day, or the day it was registered if later
        ties = conn.execute(text("SELECT valid_from, valid_to FROM person_house "
                                 "WHERE person_id = :p"), {"p": person}).all()
    assert [valid_to for _, valid_to in ties] == [max(on, valid_from) for valid_from, _ in ties]
    assert len(ties) == 1
    entries = admin.get("/audit", params={"person": person, "action": "departure"}).json()
    assert [(a["username"], a["reason"]) for a in entries] == [
        ("worker", f"迁出 {on.isoformat()} 搬去深圳")]


def test_a_departure_sent_again_changes_nothing_and_another_is_refused(clients, household,
                                                                       accounts):
    worker, admin = clients["worker"], clients["admin"]
    person, path = household["陈二"], f"/registry/people/{household['陈二']}/departure"
    body = {"reason": "deceased", "on": _today().isoformat()}
    grid = accounts["worker"][1]["grid_codes"][0]
    before = _people_in(worker, grid)
    with ThreadPoolExecutor(8) as pool:  # a phone's retries racing each other
        answers = list(pool.map(lambda _: worker.post(path, json=body), range(8)))
    assert {r.status_code for r in answers} == {200}
    assert len({r.text for r in answers}) == 1
    assert _people_in(worker, grid) == before - 1
    assert len(admin.get("/audit", params={"person": person, "action": "departure"}).json()) == 1
    other = worker.post(path, json={"reason": "moved_away", "on": _today().isoformat()})
    assert other.status_code == 409
    assert other.json()["detail"][0]["loc"] == ["body", "reason"]
    assert "deceased" in other.json()["detail"][0]["msg"]
    # the default day is China's today
    assert worker.post(path, json={"reason": "deceased"}).json() == answers[0].json()


def test_a_departure_that_cannot_be_is_refused_naming_its_field(clients, household, db):
    worker, path = clients["worker"], f"/registry/people/{household['陈三']}/departure"
    refusals = [
        ({"reason": "moved_away", "on": (_today() + timedelta(days=1)).isoformat()}, "on"),
        ({"reason": "emigrated"}, "reason"),
        ({"reason": "moved_away", "on": "yesterday"}, "on"),
        ({"reason": "moved_away", "note": "x" * 501}, "note"),
        ({}, "reason"),
    ]
    for body, field in refusals:
        r = worker.post(path, json=body)
        assert r.status_code == 422 and field in r.text, (body, r.text)
    far = f"/registry/people/{household['陈远']}/departure"
    assert worker.post(far, json={"reason": "moved_away"}).status_code == 404
    assert clients["planner"].post(path, json={"reason": "moved_away"}).status_code == 403
    assert clients["department"].post(path, json={"reason": "moved_away"}).status_code == 403
    assert worker.post("/registry/people/999999999/departure",
                       json={"reason": "moved_away"}).status_code == 404
    with db.connect() as conn:
        assert conn.execute(text("SELECT left_on FROM person WHERE id = :p"),
                            {"p": household["陈三"]}).scalar_one() is None


def test_one_who_left_and_comes_back_is_registered_anew(clients, household):
    person = household["陈一"]
    if clients["worker"].get(f"/registry/people/{person}").json()["left_on"] is None:
        clients["worker"].post(f"/registry/people/{person}/departure",
                               json={"reason": "moved_away"})
    back = pd.DataFrame([{"county": "441502", "address": "和平路7号", "name": "陈一",
                          "id_number": _id_number(701), "registration": "resident",
                          "household": "H7"}])
    result = run(in_transaction(lambda conn: import_registry(conn, "people",
                                                             conform(back, "people"))))
    assert result.stored == 1 and not result.errors
    again = run(in_transaction(lambda conn: import_registry(conn, "people",
                                                            conform(back, "people"))))
    assert (again.stored, again.held, again.errors) == (0, 1, [])
    # their departure can no longer be taken back: they would be registered twice
    r = clients["worker"].delete(f"/registry/people/{person}/departure",
                                 params={"reason": "登记有误"})
    assert r.status_code == 409 and "registered anew" in r.text


def test_a_departure_recorded_by_mistake_is_withdrawn_with_a_reason_and_audited(
        clients, household, accounts, db):
    worker, admin = clients["worker"], clients["admin"]
    person, grid = household["陈五"], accounts["worker"][1]["grid_codes"][0]
    path = f"/registry/people/{person}/departure"
    before = _people_in(worker, grid)
    with db.connect() as conn:
        ties = conn.execute(text("SELECT * FROM person_house WHERE person_id = :p"),
                            {"p": person}).all()
    assert worker.post(path, json={"reason": "deceased"}).status_code == 200
    assert _people_in(worker, grid) == before - 1
    assert worker.delete(path).status_code == 422  # no reason given
    blank = worker.delete(path, params={"reason": "   "})
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"] == ["query", "reason"]
    assert clients["planner"].delete(path, params={"reason": "登记有误"}).status_code == 403
    far = f"/registry/people/{household['陈远']}/departure"
    assert worker.delete(far, params={"reason": "登记有误"}).status_code == 404
    for _ in range(2):  # sent again: nothing more
        assert worker.delete(path, params={"reason": "登记有误"}).status_code == 204
    assert person in _listed(worker) and person not in _listed(worker, left="true")
    assert worker.get(f"/registry/people/{person}").json()["left_on"] is None
    assert _people_in(worker, grid) == before
    with db.connect() as conn:
        assert conn.execute(text("SELECT * FROM person_house WHERE person_id = :p"),
                            {"p": person}).all() == ties
    assert [(a["action"], a["reason"])
            for a in admin.get("/audit", params={"person": person}).json()] == [
        ("departure withdrawn", f"去世 {_today().isoformat()}：登记有误"),
        ("departure", f"去世 {_today().isoformat()}")]


def test_people_who_left_are_erased_once_their_days_are_over(clients, household, db):
    """The service erases them as it runs (at its start, then hourly): a person who left 366
    days ago is gone with their ties to houses, one who left 365 days ago is kept to the end
    of the day, and the audit log still says they left."""
    worker, admin = clients["worker"], clients["admin"]
    old, young = household["陈三"], household["陈四"]
    for person, days in ((old, 366), (young, 365)):
        assert worker.post(f"/registry/people/{person}/departure", json={
            "reason": "moved_away", "on": (_today() - timedelta(days=days)).isoformat()
        }).status_code == 200
    served = Server("people-erasing").start()
    try:
        for _ in range(300):
            with db.connect() as conn:
                if not conn.execute(text("SELECT count(*) FROM person WHERE id = :p"),
                                    {"p": old}).scalar_one():
                    break
            time.sleep(0.1)
    finally:
        served.stop()
    assert worker.get(f"/registry/people/{old}").status_code == 404
    assert old not in _listed(admin, left="true") and young in _listed(admin, left="true")
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM person_house WHERE person_id = :p"),
                            {"p": old}).scalar_one() == 0
    assert [a["reason"] for a in admin.get("/audit", params={"person": old,
                                                             "action": "departure"}).json()] == [
        f"迁出 {(_today() - timedelta(days=366)).isoformat()}"]


def _newcomer(household_id: int, **fields) -> dict:
    return {"household_id": household_id, "client_id": str(uuid.uuid4()), "name": "林新",
            "registration": "floating", "relation": "tenant", "id_number": _id_number(720),
            "mobile": "13900001111", "birth_date": "1995-03-04", "sex": "female",
            "care_tags": ["新就业"], **fields}


def test_a_newcomer_is_registered_once_however_often_sent_and_shown_masked(
        clients, household, accounts, db):
    worker, grid = clients["worker"], accounts["worker"][1]["grid_codes"][0]
    home = worker.get(f"/registry/people/{household['陈四']}").json()["household_id"]
    before = _people_in(worker, grid)
    body = _newcomer(home, id_number=f" {_id_number(720)} ")
    with ThreadPoolExecutor(8) as pool:  # a phone's retries racing each other
        answers = list(pool.map(lambda _: worker.post("/registry/people", json=body), range(8)))
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201], answers[0].text
    assert len({r.text for r in answers}) == 1
    person = answers[0].json()
    assert {k: person[k] for k in ("name", "id_number", "mobile", "birth_year", "sex",
                                   "registration", "care_tags", "household_id", "grid",
                                   "left_on")} == {
        "name": "林*", "id_number": f"441***********{_id_number(720)[-4:]}",
        "mobile": "139****1111", "birth_year": 1995, "sex": "female",
        "registration": "floating", "care_tags": ["新就业"], "household_id": home, "grid": grid,
        "left_on": None}
    assert person["id"] in _listed(worker) and _people_in(worker, grid) == before + 1
    revealed = worker.post(f"/registry/people/{person['id']}/reveal",
                           json={"field": "id_number", "reason": "核对登记"}).json()
    assert revealed["value"] == _id_number(720)
    with db.connect() as conn:
        row = conn.execute(text(
            "SELECT to_jsonb(p)::text AS plain, a.username, t.relation, t.valid_to "
            "FROM person p JOIN account a ON a.id = p.registered_by "
            "JOIN person_house t ON t.person_id = p.id WHERE p.id = :p"),
            {"p": person["id"]}).one()
    assert row.username == "worker" and (row.relation, row.valid_to) == ("tenant", None)
    assert _id_number(720) not in row.plain and "13900001111" not in row.plain
    # the same client id from another account, and the same person under another client id
    taken = clients["chief"].post("/registry/people", json=body)
    assert taken.status_code == 409 and taken.json()["detail"][0]["loc"] == ["body", "client_id"]
    twice = worker.post("/registry/people", json={**body, "client_id": str(uuid.uuid4())})
    assert twice.status_code == 409 and twice.json()["detail"][0]["loc"] == ["body", "id_number"]


def test_a_registration_that_cannot_be_is_refused_naming_its_field(clients, household, db):
    worker = clients["worker"]
    home = worker.get(f"/registry/people/{household['陈四']}").json()["household_id"]
    wrong_check = _id_number(721)[:17] + ("0" if _id_number(721)[17] != "0" else "1")
    refusals = [
        ({"id_number": wrong_check}, "id_number"),
        ({"id_number": "4415021980"}, "id_number"),
        ({"mobile": "12345"}, "mobile"),
        ({"birth_date": (_today() + timedelta(days=1)).isoformat()}, "birth_date"),
        ({"registration": "tourist"}, "registration"),
        ({"relation": "guest"}, "relation"),
        ({"name": "  "}, "name"),
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"household_id": True}, "household_id"),
        ({"care_tags": ["x" * 33]}, "care_tags"),
    ]
    for fields, field in refusals:
        r = worker.post("/registry/people", json={**_newcomer(home, name="林错"), **fields})
        assert r.status_code == 422 and field in str(r.json()["detail"][0]["loc"]), (fields, r.text)
    with db.connect() as conn:  # the household in 武昌区, out of the worker's grids
        far_home = conn.execute(text("SELECT household_id FROM person WHERE id = :p"),
                                {"p": household["陈远"]}).scalar_one()
    assert worker.post("/registry/people", json=_newcomer(far_home, name="林错")).status_code == 404
    for role in ("planner", "department"):
        assert clients[role].post("/registry/people",
                                  json=_newcomer(home, name="林错")).status_code == 403
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM person WHERE name = '林错'")).scalar_one() == 0


def test_a_household_whose_people_all_left_is_still_listed_for_its_next(clients, accounts,
                                                                        grids):
    """The list at a door: each household near with its people, masked; one whose people all
    left stays, so that the next to move in is registered to it."""
    worker = clients["worker"]
    here = grids.set_index("code").geometry[accounts["worker"][1]["grid_codes"][0]]
    here = here.representative_point()
    for kind, rows in (
            ("addresses", [{"county": "441502", "address": "空户路1号", "lon": here.x,
                            "lat": here.y}]),
            ("people", [{"county": "441502", "address": "空户路1号", "name": "吴一",
                         "registration": "floating", "birth_date": "1988-02-03"}])):
        result = run(in_transaction(lambda conn, kind=kind, rows=rows: import_registry(
            conn, kind, conform(pd.DataFrame(rows), kind))))
        assert not result.errors, result.errors

    def at_the_door(client):
        near = client.get("/registry/households", params={
            "near": f"{here.x},{here.y},30", "limit": 1000}).json()
        return next((h for h in near if h["address"] == "空户路1号"), None)

    home = at_the_door(worker)
    assert [(m["name"], m["birth_year"]) for m in home["members"]] == [("吴*", 1988)]
    assert home["grid"] == accounts["worker"][1]["grid_codes"][0]
    assert worker.post(f"/registry/people/{home['members'][0]['id']}/departure",
                       json={"reason": "moved_away"}).status_code == 200
    assert at_the_door(worker)["members"] == []  # empty, and still there
    assert worker.post("/registry/people", json=_newcomer(
        home["id"], id_number=None, name="吴新")).status_code == 201
    assert [m["name"] for m in at_the_door(worker)["members"]] == ["吴*"]
    assert at_the_door(clients["planner"]) is None  # people's households: not a planner's


def test_a_newcomer_at_an_address_with_no_household_is_the_first_of_a_new_one(clients, accounts,
                                                                              grids, db):
    """新立户: a standard address where nobody is registered (a flat newly let) takes its
    first household from the phone, once however often the phone sends it."""
    worker, grid = clients["worker"], accounts["worker"][1]["grid_codes"][0]
    here = grids.set_index("code").geometry[grid].representative_point()
    street = f"新楼路{uuid.uuid4().hex[:6]}号"
    result = run(in_transaction(lambda conn: import_registry(conn, "addresses", conform(
        pd.DataFrame([{"county": "441502", "address": street, "lon": here.x, "lat": here.y}]),
        "addresses"))))
    assert not result.errors, result.errors

    def at_the_door():
        near = {"near": f"{here.x},{here.y},30", "limit": 1000}
        found = [f for f in worker.get("/registry/addresses", params=near).json()["features"]
                 if f["properties"]["address"] == street]
        homes = [h for h in worker.get("/registry/households", params=near).json()
                 if h["address"] == street]
        return found[0]["properties"], homes

    address, homes = at_the_door()
    assert (address["households"], homes) == (0, [])
    body = _newcomer(None, address_id=address["id"], id_number=_id_number(730), name="韩新")
    with ThreadPoolExecutor(8) as pool:  # a phone's retries racing each other
        answers = list(pool.map(lambda _: worker.post("/registry/people", json=body), range(8)))
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201], answers[0].text
    person = answers[0].json()
    address, homes = at_the_door()
    assert address["households"] == 1 and len(homes) == 1
    assert ([m["name"] for m in homes[0]["members"]], person["household_id"], person["grid"],
            person["address"]) == (["韩*"], homes[0]["id"], grid, street)
    # the next newcomer there joins that household; another new one is a second household
    assert worker.post("/registry/people", json=_newcomer(
        homes[0]["id"], id_number=None, name="韩二")).status_code == 201
    assert worker.post("/registry/people", json=_newcomer(
        None, address_id=address["id"], id_number=None, name="潘新")).status_code == 201
    address, homes = at_the_door()
    assert address["households"] == 2
    assert sorted([m["name"] for m in h["members"]] for h in homes) == [["潘*"], ["韩*", "韩*"]]
    with db.connect() as conn:  # one house at the address, each tie to it
        assert conn.execute(text(
            "SELECT count(DISTINCT ho.id), count(t.*) FROM house ho "
            "JOIN address a ON a.id = ho.address_id JOIN person_house t ON t.house_id = ho.id "
            "WHERE a.full_text = :s"), {"s": street}).one() == (1, 3)


def test_a_new_household_that_cannot_be_is_refused_naming_its_field(clients, household, db):
    worker = clients["worker"]
    home = worker.get(f"/registry/people/{household['陈四']}").json()["household_id"]
    with db.connect() as conn:
        address, far = conn.execute(text(
            "SELECT ho.address_id FROM person p JOIN household h ON h.id = p.household_id "
            "JOIN house ho ON ho.id = h.house_id WHERE p.id = ANY(:p) ORDER BY p.id"),
            {"p": [household["陈四"], household["陈远"]]}).scalars().all()
        households = conn.execute(text("SELECT count(*) FROM household")).scalar_one()
    for fields, status, field in (
            ({"household_id": home, "address_id": address}, 422, "address_id"),
            ({"household_id": None}, 422, "household_id"),
            ({"household_id": None, "address_id": far}, 404, "address_id"),
            ({"household_id": None, "address_id": "七"}, 422, "address_id")):
        r = worker.post("/registry/people", json={**_newcomer(None, name="林错", id_number=None),
                                                  **fields})
        assert r.status_code == status and r.json()["detail"][0]["loc"] == ["body", field], (
            fields, r.text)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM household")).scalar_one() == households


def test_one_moving_within_the_jurisdiction_keeps_their_number(clients, accounts, grids,
                                                               household, db):
    """辖区内迁居: registered as a newcomer at their new door, a person of the jurisdiction is
    named (their number, to move them); moved, they keep it, and their ties follow. One of
    another jurisdiction is not named."""
    worker, grid = clients["worker"], accounts["worker"][1]["grid_codes"][0]
    here = grids.set_index("code").geometry[grid].representative_point()
    old, new = (f"{street}{uuid.uuid4().hex[:6]}号" for street in ("旧居路", "新居路"))
    rows = [{"county": "441502", "address": old, "lon": here.x, "lat": here.y, "name": "曹迁",
             "registration": "resident", "id_number": _id_number(740)},
            {"county": "441502", "address": new, "lon": here.x, "lat": here.y}]
    for kind, which in (("addresses", rows), ("people", rows[:1])):
        result = run(in_transaction(lambda conn, kind=kind, which=which: import_registry(
            conn, kind, conform(pd.DataFrame(which), kind))))
        assert not result.errors, result.errors
    with db.connect() as conn:
        person, home, address = conn.execute(text(
            "SELECT p.id, p.household_id, (SELECT id FROM address WHERE full_text = :new) "
            "FROM person p WHERE p.id_number_hash IS NOT NULL AND p.name = '曹迁'"),
            {"new": new}).one()

    known = worker.post("/registry/people", json=_newcomer(None, address_id=address,
                                                           id_number=_id_number(740)))
    assert known.status_code == 409
    said = known.json()["detail"][0]
    assert (said["loc"], said["ctx"]) == (["body", "id_number"], {"person": person})
    assert f"person {person}, at {old}" in said["msg"]
    elsewhere = worker.post("/registry/people", json=_newcomer(home, id_number=_id_number(709)))
    said = elsewhere.json()["detail"][0]
    assert elsewhere.status_code == 409 and "ctx" not in said and "和平路" not in said["msg"]

    body = {"address_id": address, "relation": "tenant"}
    moved = [worker.post(f"/registry/people/{person}/move", json=body) for _ in range(2)]
    assert [r.status_code for r in moved] == [200, 200] and moved[0].json() == moved[1].json()
    shown = moved[0].json()
    assert (shown["id"], shown["address"], shown["name"]) == (person, new, "曹*")
    with db.connect() as conn:
        ties = conn.execute(text(
            "SELECT a.full_text, t.relation, t.valid_to FROM person_house t "
            "JOIN house ho ON ho.id = t.house_id JOIN address a ON a.id = ho.address_id "
            "WHERE t.person_id = :p ORDER BY t.valid_to NULLS LAST"), {"p": person}).all()
        households_there = conn.execute(text(
            "SELECT count(*) FROM household h JOIN house ho ON ho.id = h.house_id "
            "WHERE ho.address_id = :a"), {"a": address}).scalar_one()
    assert [tuple(t) for t in ties] == [(old, "owner", _today()), (new, "tenant", None)]
    assert households_there == 1  # sent twice, one new household
    back = worker.post(f"/registry/people/{person}/move", json={"household_id": home})
    assert back.status_code == 200 and back.json()["address"] == old

    for fields, status, field in (
            ({"household_id": home, "address_id": address}, 422, "address_id"),
            ({}, 422, "household_id"),
            ({"household_id": home, "on": (_today() + timedelta(days=1)).isoformat()}, 422,
             "on")):
        r = worker.post(f"/registry/people/{person}/move", json=fields)
        assert r.status_code == status and r.json()["detail"][0]["loc"] == ["body", field], (
            fields, r.text)
    far = worker.post(f"/registry/people/{household['陈远']}/move", json={"household_id": home})
    assert far.status_code == 404
    assert clients["planner"].post(f"/registry/people/{person}/move",
                                   json={"household_id": home}).status_code == 403


def test_a_persons_details_corrected_change_once_and_each_field_is_audited(clients, household,
                                                                           db):
    """信息更正: a new mobile, the name misspelt at registration, care tags since a visit; the
    mobile found by the new number and no longer by the old; sent again, nothing written; an ID
    number another person holds refused with the rest of its request; a mobile cleared."""
    worker = clients["worker"]
    home = worker.get(f"/registry/people/{household['陈四']}").json()["household_id"]
    person = worker.post("/registry/people", json=_newcomer(
        home, name="林更证", id_number=None, mobile="13900002222", care_tags=[])).json()
    path = f"/registry/people/{person['id']}"

    def audited() -> list[tuple]:
        return [(a["action"], a["username"], a["field"], a["reason"])
                for a in clients["admin"].get("/audit", params={"person": person["id"]}).json()
                if a["action"] == "correct"]

    def found_by(mobile: str) -> set[int]:
        return {p["id"] for p in worker.get("/registry/people", params={
            "mobile": mobile, "reason": "核对更正"}).json()}

    change = {"name": "林更正", "mobile": "13700003333", "care_tags": ["独居老人", " 独居老人"],
              "sex": "female", "registration": "resident", "reason": "入户走访核实"}
    for _ in range(2):  # sent again: nothing differs, nothing written
        r = worker.patch(path, json=change)
        assert r.status_code == 200, r.text
        assert {k: r.json()[k] for k in ("name", "mobile", "care_tags", "sex",
                                          "registration")} == {
            "name": "林**", "mobile": "137****3333", "care_tags": ["独居老人"], "sex": "female",
            "registration": "resident"}
        assert sorted(audited()) == [("correct", "worker", field, "入户走访核实")
                                     for field in ("care_tags", "mobile", "name",
                                                   "registration")]  # not the sex, as it was
    assert worker.post(f"{path}/reveal", json={"field": "name", "reason": "核对更正"}).json()[
        "value"] == "林更正"
    assert found_by("13700003333") == {person["id"]} and found_by("13900002222") == set()
    with db.connect() as conn:
        plain = conn.execute(text("SELECT to_jsonb(p)::text FROM person p WHERE id = :p"),
                             {"p": person["id"]}).scalar_one()
    assert "13700003333" not in plain  # encrypted as a registration stores it

    # an ID number registered to another, with a birth date: neither is taken
    other = worker.post("/registry/people", json=_newcomer(
        home, name="林另一", id_number=_id_number(724))).json()["id"]
    held = worker.patch(path, json={"id_number": _id_number(724), "birth_date": "1990-01-02",
                                    "reason": "身份证核对"})
    assert held.status_code == 409 and held.json()["detail"][0]["loc"][-1] == "id_number"
    assert held.json()["detail"][0]["ctx"]["person"] == other
    assert worker.get(path).json()["birth_year"] == 1995 and len(audited()) == 4
    given = worker.patch(path, json={"id_number": f" {_id_number(722).lower()} ",
                                     "reason": "身份证核对"})
    assert given.json()["id_number"].endswith(_id_number(722)[-4:])
    assert worker.post(f"{path}/reveal", json={"field": "id_number", "reason": "核对"}).json()[
        "value"] == _id_number(722)
    cleared = worker.patch(path, json={"mobile": None, "reason": "号码已停用"})
    assert cleared.json()["mobile"] is None and found_by("13700003333") == set()
    assert audited()[0] == ("correct", "worker", "mobile", "号码已停用")


def test_a_correction_that_cannot_be_is_refused_naming_its_field(clients, household, db):
    worker = clients["worker"]
    path = f"/registry/people/{household['陈五']}"
    wrong_check = _id_number(723)[:17] + ("0" if _id_number(723)[17] != "0" else "1")
    refusals = [
        ({"id_number": wrong_check}, "id_number"),
        ({"mobile": "12345"}, "mobile"),
        ({"birth_date": (_today() + timedelta(days=1)).isoformat()}, "birth_date"),
        ({"registration": "tourist"}, "registration"),
        ({"registration": None}, "registration"),
        ({"care_tags": None}, "care_tags"),
        ({"name": "  "}, "name"),
        ({"sex": "other"}, "sex"),
        ({}, "body"),
        ({"name": "陈五五", "reason": " "}, "reason"),
    ]
    for fields, field in refusals:
        r = worker.patch(path, json={"reason": "核对", **fields})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, (fields, r.text)
    assert worker.patch(path, json={"name": "陈五五"}).status_code == 422  # no reason
    far = f"/registry/people/{household['陈远']}"  # in 武昌区, out of the worker's grids
    assert worker.patch(far, json={"name": "陈远远", "reason": "核对"}).status_code == 404
    for role in ("planner", "department"):
        assert clients[role].patch(path, json={"name": "陈五五", "reason": "核对"}) \
            .status_code == 403
    home = worker.get(path).json()["household_id"]
    gone = worker.post("/registry/people", json=_newcomer(home, name="林已走",
                                                           id_number=None)).json()["id"]
    assert worker.post(f"/registry/people/{gone}/departure",
                       json={"reason": "moved_away"}).status_code == 200
    left = worker.patch(f"/registry/people/{gone}", json={"name": "林未走", "reason": "核对"})
    assert left.status_code == 409 and left.json()["detail"][0]["loc"][-1] == "id"
    with db.connect() as conn:
        assert sorted(conn.execute(text("SELECT name FROM person WHERE id = ANY(:p)"), {
            "p": [household["陈五"], household["陈远"], gone]}).scalars()) == [
            "林已走", "陈五", "陈远"]
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'correct' "
                                 "AND entity_id = ANY(:p)"), {"p": [
            str(household["陈五"]), str(household["陈远"]), str(gone)]}).scalar_one() == 0
