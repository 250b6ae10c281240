"""Storing incidents: one from a phone or the API, or many from a file, by the same SQL.

A report is stored with its grid in one statement. A report whose client id is already stored
is not stored again: the stored incident is the answer (retries from a phone are safe).
"""

import json
from collections.abc import Sequence
from uuid import UUID

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.model import Account
from mapsvc.errors import Conflict, InvalidInput
from mapsvc.incidents.assignment import SWAPPED_COVERED, looks_swapped, normalised, refusal
from mapsvc.incidents.callers import store_caller
from mapsvc.incidents.duplicates import duplicate_rule, nearby
from mapsvc.incidents.model import IncidentReport
from mapsvc.media import attach

# Columns every source of new incidents provides (reports side by side, or the bulk staging
# table), with their types.
SOURCE_TYPES = {"client_id": "uuid", "category": "text", "description": "text", "source": "text",
                "source_number": "text", "reported_at": "timestamptz", "raw_lon": "float8",
                "raw_lat": "float8", "raw_crs": "text", "accuracy_m": "real", "lon": "float8",
                "lat": "float8", "swap_lon": "float8", "swap_lat": "float8"}
SOURCE_COLUMNS = tuple(SOURCE_TYPES)

# The rows are numbered in the order they were reported (``reported``: the columns to sort by),
# so that the cases of one statement (a file's rows) take their numbers as if they had come one
# by one, and stored grid by grid, so that a grid's cases lie on few pages (the number is drawn
# after the first sort, which keeps the subquery whole). A report dated ahead of now (a phone's
# clock running ahead) is reported when it came; its grid is the same (no grid takes effect
# ahead of now).
INSERT_LOCATED = """
WITH ins AS (
    INSERT INTO incident (id, client_id, category_code, description, source, source_number,
                          reported_at, raw_lon, raw_lat, raw_crs, accuracy_m, geom, grid_id,
                          grid_version_id, village_code, township_code, county_code, assignment,
                          assignment_distance_m, reporter_id)
    SELECT * FROM (
        SELECT nextval('incident_id_seq'), s.client_id, s.category, s.description, s.source,
               s.source_number, least(s.reported_at, now()), s.raw_lon, s.raw_lat, s.raw_crs,
               s.accuracy_m,
               ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), l.grid_id, l.grid_version_id,
               v.code, v.parent_code, t.parent_code, l.method, l.distance_m, {reporter}
          FROM {located}
          JOIN category cat ON cat.code = s.category
          LEFT JOIN grid g ON g.id = l.grid_id
          LEFT JOIN region v ON v.code = g.village_code
          LEFT JOIN region t ON t.code = v.parent_code
         WHERE s.lon IS NOT NULL
           AND NOT (l.method = 'unassigned' AND s.swap_lon IS NOT NULL AND {swapped})
         ORDER BY {reported}) numbered
     ORDER BY grid_id
    ON CONFLICT (client_id) DO NOTHING
    RETURNING {returning}
), logged AS (
    INSERT INTO incident_log (incident_id, taken_at, actor, action, to_status)
    SELECT id, reported_at, {actor}, 'report', status FROM ins
){result}
"""

# The answer of a statement storing reports: each stored incident's client id and JSON, with
# the open cases it may repeat (``possible_duplicates``, mapsvc.incidents.duplicates). One
# search for all the statement's reports, with the rules worked out once for the statement. The
# search reads the incidents as they were before the statement, so the reports one statement
# stores do not see each other (nor themselves). The member is spliced into the case's JSON
# object as text: parsing the object to JSONB to add it took nearly as long as building the
# object.
_DOC_ANSWER = f"""
, {duplicate_rule("SELECT category_code FROM ins")}
SELECT ins.client_id,
       left(j.doc::text, -1) || ', "possible_duplicates" : ' || near.cases || '}}' AS doc
  FROM ins CROSS JOIN LATERAL incident_json(ROW(ins.*)::incident) j
 {nearby("ins")}
"""


def insert_located(located: str, reported: str, *, answer: str = "count",
                   reporter: str = "CAST(:reporter_id AS bigint)",
                   actor: str = "CAST(:actor AS text)") -> str:
    """The statement that stores every row of ``located``: the reports (aliased ``s``, with the
    columns of SOURCE_COLUMNS) beside their grid (aliased ``l``, as ``locate_grid`` gives it),
    numbered in the order of ``reported`` (columns of ``s``), each by ``reporter`` (an
    account id) and logged as reported by ``actor`` (an expression over the stored row
    ``ins``). It answers with the number stored, or (``answer="doc"``) each stored incident's
    client id and JSON with the open cases it may repeat (``possible_duplicates``)."""
    returning, result = {
        "count": ("id, status, reported_at, reporter_id", "\nSELECT count(*) FROM ins"),
        "doc": ("*", _DOC_ANSWER),
    }[answer]
    return INSERT_LOCATED.format(located=located, reported=reported, returning=returning,
                                 result=result, reporter=reporter, actor=actor,
                                 swapped=SWAPPED_COVERED.format(lon="s.swap_lon", lat="s.swap_lat",
                                                                at="s.reported_at"))


# Reports side by side: a JSON array with an object per report, of its fields (SOURCE_COLUMNS)
# and its reporter's account id and username. One text parameter, which the client writes in
# about a tenth of the time it took to write an array per field.
_FIELDS = {**SOURCE_TYPES, "reporter_id": "bigint", "actor": "text"}
_REPORTS = text(insert_located(
    "json_to_recordset(CAST(:reports AS json)) AS s("
    + ", ".join(f"{c} {t}" for c, t in _FIELDS.items()) + ") CROSS JOIN LATERAL "
    "locate_grid(ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), s.reported_at, :tolerance) l",
    "s.reported_at", answer="doc", reporter="s.reporter_id",
    actor="(SELECT a.actor FROM json_to_recordset(CAST(:reports AS json)) AS a(client_id uuid, "
          "actor text) WHERE a.client_id = ins.client_id)"))

_DOC = text("SELECT doc::text FROM incident_doc WHERE client_id = :client_id")
_REPORT_STEP = text("SELECT id FROM incident_log WHERE incident_id = :id AND action = 'report'")
_CATEGORY_EXISTS = text("SELECT EXISTS (SELECT 1 FROM category WHERE code = :code)")


def _same_report(doc: dict, report: IncidentReport) -> bool:
    raw = doc["raw"]
    return (doc["category"], doc["description"], doc["source"], raw["lon"], raw["lat"],
            raw["crs"]) == (report.category, report.description, report.source, report.lon,
                            report.lat, report.crs.value)


async def store_reports(conn: AsyncConnection,
                        reports: Sequence[tuple[IncidentReport, Account]]) -> dict[UUID, str]:
    """Store, by one statement, each report (by its account) that can be stored as it is: not
    yet stored, of a known category and at a point that is no refused one. Answer the stored
    incidents' JSON by client id; the others store nothing (``settle`` tells why). Client ids
    must differ."""
    converted = normalised([r.lon for r, _ in reports], [r.lat for r, _ in reports],
                           [r.crs.value for r, _ in reports])
    points = zip(*(np.where(np.isnan(a), None, a).tolist() for a in converted))
    rows = [{"client_id": str(r.client_id), "category": r.category,
             "description": r.description, "source": r.source,
             "source_number": r.source_number, "accuracy_m": r.accuracy_m,
             "reported_at": r.reported_time().isoformat(), "raw_lon": r.lon, "raw_lat": r.lat,
             "raw_crs": r.crs.value, **dict(zip(("lon", "lat", "swap_lon", "swap_lat"), point)),
             "reporter_id": account.id, "actor": account.username}
            for (r, account), point in zip(reports, points)]
    result = await conn.execute(_REPORTS, {"reports": json.dumps(rows, ensure_ascii=False,
                                                                 allow_nan=False),
                                           "tolerance": settings.assignment().tolerance_m})
    return {client_id: doc for client_id, doc in result}


async def settle(conn: AsyncConnection, report: IncidentReport) -> str:
    """Why ``report`` was not stored: its client id names an incident already, which is the
    answer if the report is the same (a retry), or else it is refused."""
    doc = (await conn.execute(_DOC, {"client_id": report.client_id})).scalar_one_or_none()
    if doc is None:
        if not (await conn.execute(_CATEGORY_EXISTS, {"code": report.category})).scalar_one():
            raise InvalidInput(f"unknown category code {report.category!r}", field="category")
        raise refusal(report.lon, report.lat,
                      await looks_swapped(conn, report, report.reported_time()))
    stored = json.loads(doc)
    if not _same_report(stored, report):
        raise Conflict(f"{report.source_number or report.client_id} already names a different "
                       f"incident (id {stored['id']})", field="client_id",
                       context={"incident": stored["id"]})
    return doc


async def report_incident(conn: AsyncConnection, report: IncidentReport,
                          account: Account) -> tuple[str, bool]:
    """Store ``report`` by ``account`` with its grid, photos and caller; return the stored
    incident (JSON) and whether it is new."""
    created = (await store_reports(conn, [(report, account)])).get(report.client_id)
    if created is None:
        return await settle(conn, report), False
    stored = json.loads(created)
    if report.attachments:  # in the transaction: a bad photo id stores nothing
        log_id = (await conn.execute(_REPORT_STEP, {"id": stored["id"]})).scalar_one()
        await attach(conn, report.attachments, account, {stored["id"]: log_id})
    if report.caller:
        await store_caller(conn, stored["id"], report.client_id, report.caller)
    return created, True
