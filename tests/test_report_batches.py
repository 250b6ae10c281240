"""Reports arriving together are stored by one statement, each answered as if it went alone."""

import asyncio
import json

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mapsvc.accounts.model import Account
from mapsvc.db.engine import async_engine
from mapsvc.errors import Conflict, InvalidInput
from mapsvc.geo.crs import from_wgs84
from mapsvc.incidents.batching import ReportBatches
from mapsvc.incidents.model import IncidentReport
from tests.conftest import run
from tests.test_incidents import report


@pytest.fixture
def point(grids):
    return grids.iloc[7].geometry.representative_point()


@pytest.fixture
def reporters(accounts, db) -> dict[str, Account]:
    with db.connect() as conn:
        ids = dict(conn.execute(text(
            "SELECT username, id FROM account WHERE username IN ('worker', 'chief')")).all())
    return {name: Account(id=ids[name], username=name, role=accounts[name][0]) for name in ids}


def arriving_together(database_url, reports: list[tuple[dict, Account]]) -> list:
    """Each report's answer (or what refused it), all handed over before any is stored."""
    async def go():
        engine = async_engine(database_url, autocommit=True)
        batches = ReportBatches(engine)
        try:
            return await asyncio.gather(
                *(batches.report(IncidentReport.model_validate(body), account)
                  for body, account in reports), return_exceptions=True)
        finally:
            await batches.close()
            await engine.dispose()

    return run(go())


def stored(db, client_ids) -> dict[str, tuple]:
    with db.connect() as conn:
        return {str(row.client_id): row[1:] for row in conn.execute(text(
            "SELECT i.client_id, i.received_at, i.reporter_id, i.description, l.actor "
            "FROM incident i JOIN incident_log l ON l.incident_id = i.id "
            "WHERE i.client_id = ANY(CAST(:ids AS uuid[]))"), {"ids": client_ids})}


def test_reports_arriving_together_are_stored_by_one_statement_each_answered_alone(
        database_url, db, point, reporters):
    worker, chief = reporters["worker"], reporters["chief"]
    first, second, third = report(point), report(point), report(point)
    gx, gy = (float(v) for v in from_wgs84(point.x, point.y, "gcj02"))
    pinned = report(None, lon=gx, lat=gy, crs="gcj02")  # from a Chinese basemap
    answers = arriving_together(database_url, [
        (first, worker),
        (second, chief),
        (report(point, category="nope"), worker),
        ({**first}, worker),                                    # a retry, in the same batch
        ({**second, "description": "另一件事"}, chief),          # its client id, another case
        (report(None, lon=30.0, lat=95.0), chief),              # a latitude out of range
        (third, chief),
        (pinned, worker),
    ])
    docs = [json.loads(a[0]) if isinstance(a, tuple) else a for a in answers]
    assert [a[1] if isinstance(a, tuple) else type(a) for a in answers] == [
        True, True, InvalidInput, False, Conflict, InvalidInput, True, True]
    assert (answers[2].field, answers[5].field) == ("category", "lat")
    assert docs[3]["id"] == docs[0]["id"] and docs[3]["description"] == first["description"]
    assert [d["client_id"] for d in (docs[0], docs[1], docs[6])] == [
        first["client_id"], second["client_id"], third["client_id"]]
    assert docs[0]["grid"] is not None and "possible_duplicates" in docs[0]
    assert docs[7]["grid"] == docs[0]["grid"] and docs[7]["raw"]["crs"] == "gcj02"
    assert abs(docs[7]["lon"] - point.x) < 1e-6 and abs(docs[7]["lat"] - point.y) < 1e-6

    rows = stored(db, [first["client_id"], second["client_id"], third["client_id"]])
    assert len(rows) == 3 and len({received for received, *_ in rows.values()}) == 1
    assert {c: (r[1], r[3]) for c, r in rows.items()} == {
        first["client_id"]: (worker.id, "worker"), second["client_id"]: (chief.id, "chief"),
        third["client_id"]: (chief.id, "chief")}
    assert rows[second["client_id"]][2] == second["description"]


@pytest.fixture
def refusing_database(db):
    """A rule of the database's own that no check in mapsvc knows of."""
    with db.begin() as conn:
        conn.execute(text("""
            CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.description = 'refused by the database' THEN
                    RAISE EXCEPTION 'refused by the database';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_marked BEFORE INSERT ON incident
               FOR EACH ROW EXECUTE FUNCTION refuse_marked();"""))
    yield
    with db.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_marked ON incident; DROP FUNCTION refuse_marked()"))


def test_a_report_the_database_refuses_fails_alone(database_url, db, point, reporters,
                                                    refusing_database):
    worker = reporters["worker"]
    good = [report(point) for _ in range(3)]
    refused = report(point, description="refused by the database")
    answers = arriving_together(database_url, [(good[0], worker), (refused, worker),
                                               (good[1], worker), (good[2], worker)])
    assert isinstance(answers[1], DBAPIError) and "refused by the database" in str(answers[1])
    assert [a[1] for a in (answers[0], answers[2], answers[3])] == [True, True, True]
    assert set(stored(db, [b["client_id"] for b in good + [refused]])) == {
        b["client_id"] for b in good}


def test_reports_from_many_phones_at_once_are_each_answered_with_their_own_case(
        server, clients, point, db):
    bodies = [report(point, description=f"第{n}件") for n in range(24)]
    phones = [clients["worker"], clients["chief"]]

    async def send():
        async with httpx.AsyncClient(base_url=str(phones[0].base_url), timeout=30) as http:
            return await asyncio.gather(*(
                http.post("/incidents", json=body, headers=phones[n % 2].headers)
                for n, body in enumerate(bodies)))

    answers = asyncio.run(send())
    assert [r.status_code for r in answers] == [201] * len(bodies)
    assert [(r.json()["client_id"], r.json()["description"]) for r in answers] == [
        (b["client_id"], b["description"]) for b in bodies]
    rows = stored(db, [b["client_id"] for b in bodies])
    assert [rows[b["client_id"]][3] for b in bodies] == [
        ["worker", "chief"][n % 2] for n in range(len(bodies))]
