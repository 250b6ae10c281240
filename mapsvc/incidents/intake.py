"""Storing incidents: one from a phone or the API, or many from a file, by the same SQL.

A report is stored with its grid in one statement. A report whose client id is already stored
is not stored again: the stored incident is the answer (retries from a phone are safe).
"""

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.model import Account
from mapsvc.errors import Conflict, InvalidInput
from mapsvc.geo.crs import to_wgs84
from mapsvc.incidents.assignment import SWAPPED_COVERED, looks_swapped, refusal, swapped_pair
from mapsvc.incidents.model import IncidentReport
from mapsvc.media import attach

# Columns every source of new incidents provides (a VALUES list or the bulk staging table).
SOURCE_COLUMNS = ("client_id", "category", "description", "source", "reported_at", "raw_lon",
                  "raw_lat", "raw_crs", "accuracy_m", "lon", "lat", "swap_lon", "swap_lat")

INSERT_LOCATED = """
WITH ins AS (
    INSERT INTO incident (client_id, category_code, description, source, reported_at, raw_lon,
                          raw_lat, raw_crs, accuracy_m, geom, grid_id, grid_version_id,
                          village_code, township_code, county_code, assignment,
                          assignment_distance_m, reporter_id)
    SELECT s.client_id, s.category, s.description, s.source, s.reported_at, s.raw_lon, s.raw_lat,
           s.raw_crs, s.accuracy_m, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), l.grid_id,
           l.grid_version_id, v.code, v.parent_code, t.parent_code, l.method, l.distance_m,
           CAST(:reporter_id AS bigint)
      FROM {located}
      JOIN category cat ON cat.code = s.category
      LEFT JOIN grid g ON g.id = l.grid_id
      LEFT JOIN region v ON v.code = g.village_code
      LEFT JOIN region t ON t.code = v.parent_code
     WHERE s.lon IS NOT NULL
       AND NOT (l.method = 'unassigned' AND s.swap_lon IS NOT NULL AND {swapped})
     ORDER BY l.grid_id
    ON CONFLICT (client_id) DO NOTHING
    RETURNING {returning}
), logged AS (
    INSERT INTO incident_log (incident_id, actor, action, to_status)
    SELECT id, :actor, 'report', status FROM ins
)
SELECT {result} FROM ins
"""


def insert_located(located: str, *, answer: str = "count") -> str:
    """The statement that stores every row of ``located``: the reports (aliased ``s``, with the
    columns of SOURCE_COLUMNS) beside their grid (aliased ``l``, as ``locate_grid`` gives it).
    It answers with the number stored, or (``answer="doc"``) each stored incident's JSON with
    the open cases it may repeat (``possible_duplicates``)."""
    returning, result = {
        "count": ("id, status", "count(*)"),
        "doc": ("*", "(incident_json(ROW(ins.*)::incident)::jsonb || jsonb_build_object("
                     "'possible_duplicates', duplicate_suggestions(ROW(ins.*)::incident)))::text"),
    }[answer]
    return INSERT_LOCATED.format(located=located, returning=returning, result=result,
                                 swapped=SWAPPED_COVERED.format(lon="s.swap_lon", lat="s.swap_lat",
                                                                at="s.reported_at"))


_SINGLE = text(insert_located(
    "(VALUES (CAST(:client_id AS uuid), CAST(:category AS text), CAST(:description AS text), "
    "CAST(:source AS text), CAST(:reported_at AS timestamptz), CAST(:raw_lon AS float8), "
    "CAST(:raw_lat AS float8), CAST(:raw_crs AS text), CAST(:accuracy_m AS real), "
    "CAST(:lon AS float8), CAST(:lat AS float8), CAST(:swap_lon AS float8), "
    "CAST(:swap_lat AS float8))) AS s(" + ", ".join(SOURCE_COLUMNS) + ") "
    "CROSS JOIN LATERAL locate_grid(ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), "
    "s.reported_at, :tolerance) l", answer="doc"))

_DOC = text("SELECT doc::text FROM incident_doc WHERE client_id = :client_id")
_REPORT_STEP = text("SELECT id FROM incident_log WHERE incident_id = :id AND action = 'report'")
_CATEGORY_EXISTS = text("SELECT EXISTS (SELECT 1 FROM category WHERE code = :code)")


def _same_report(doc: dict, report: IncidentReport) -> bool:
    raw = doc["raw"]
    return (doc["category"], doc["description"], doc["source"], raw["lon"], raw["lat"],
            raw["crs"]) == (report.category, report.description, report.source, report.lon,
                            report.lat, report.crs.value)


async def report_incident(conn: AsyncConnection, report: IncidentReport,
                          account: Account) -> tuple[str, bool]:
    """Store ``report`` by ``account`` with its grid and photos; return the stored incident
    (JSON) and whether it is new."""
    lon, lat = (float(v) if report.in_range else None
                for v in to_wgs84(report.lon, report.lat, report.crs))
    swap_lon, swap_lat = swapped_pair(report)
    params = {
        "client_id": report.client_id, "category": report.category,
        "description": report.description, "source": report.source,
        "reported_at": report.reported_time(), "raw_lon": report.lon, "raw_lat": report.lat,
        "raw_crs": report.crs.value, "accuracy_m": report.accuracy_m, "lon": lon, "lat": lat,
        "swap_lon": swap_lon, "swap_lat": swap_lat,
        "tolerance": settings.assignment().tolerance_m, "actor": account.username,
        "reporter_id": account.id,
    }
    created = (await conn.execute(_SINGLE, params)).scalar_one_or_none()
    if created is not None:
        if report.attachments:  # in the caller's transaction: a bad photo id stores nothing
            stored = json.loads(created)
            log_id = (await conn.execute(_REPORT_STEP, {"id": stored["id"]})).scalar_one()
            await attach(conn, report.attachments, account, stored["id"], log_id)
        return created, True
    doc = (await conn.execute(_DOC, {"client_id": report.client_id})).scalar_one_or_none()
    if doc is None:
        if not (await conn.execute(_CATEGORY_EXISTS, {"code": report.category})).scalar_one():
            raise InvalidInput(f"unknown category code {report.category!r}", field="category")
        raise refusal(report.lon, report.lat,
                      await looks_swapped(conn, report, report.reported_time()))
    stored = json.loads(doc)
    if not _same_report(stored, report):
        raise Conflict(f"client_id {report.client_id} already names a different incident "
                       f"(id {stored['id']})", field="client_id")
    return doc, False
