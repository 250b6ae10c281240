"""`make bench`: 65,000 grids, 1,000,000 incidents, and the service and its pages under load.

Runs on its own database (mapsvc_bench) in the embedded cluster. Prints one figure per line.
"""

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("MAPSVC_DATABASE_NAME", "mapsvc_bench")

import httpx  # noqa: E402
import morecantile  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from sqlalchemy import text  # noqa: E402

from benchmarks.wrk import during_run, wrk  # noqa: E402
from mapsvc.accounts.model import Role  # noqa: E402
from mapsvc.accounts.store import (AccountSpec, create_account, create_accounts,  # noqa: E402
                                   find_account, worked_all_along)
from mapsvc.boundaries.synthetic import generate  # noqa: E402
from mapsvc.db.engine import async_engine, in_transaction, sync_engine  # noqa: E402
from mapsvc.db.setup import prepare_database  # noqa: E402
from mapsvc.demo import current_grids, incident_rows, load_hierarchy  # noqa: E402
from mapsvc.incidents.assignment import locate_staged  # noqa: E402
from mapsvc.incidents.bulk import import_incidents, read_incidents  # noqa: E402
from mapsvc.registry.synthetic import load_registry  # noqa: E402

GRIDS = int(os.environ.get("BENCH_GRIDS", 65_000))
INCIDENTS = int(os.environ.get("BENCH_INCIDENTS", 1_000_000))
HOUSEHOLDS = int(os.environ.get("BENCH_HOUSEHOLDS_PER_GRID", 30))
CALLS = int(os.environ.get("BENCH_CALLS", 100_000))
WEBHOOK_ROWS = int(os.environ.get("BENCH_WEBHOOK_ROWS", 50_000))
OUT = Path(__file__).parent / "out"


def figure(name: str, value, unit: str = "") -> None:
    print(f"{name}: {value}{(' ' + unit) if unit else ''}", flush=True)


def build_area() -> None:
    prepare_database(fresh=True)
    t = time.perf_counter()
    h = generate(GRIDS)
    figure(f"generate hierarchy ({len(h.grids):,} grids)", f"{time.perf_counter() - t:.1f}", "s")
    t = time.perf_counter()
    asyncio.run(in_transaction(lambda conn: load_hierarchy(conn, h.write(OUT / "area"))))
    figure(f"import hierarchy ({len(h.grids):,} grids)", f"{time.perf_counter() - t:.1f}", "s")
    asyncio.run(in_transaction(staff_grids))
    first_registry()
    t = time.perf_counter()
    households = asyncio.run(in_transaction(register_households))
    figure(f"register households with their visits, coverage kept ({households:,} households)",
           f"{time.perf_counter() - t:.1f}", "s")


async def staff_grids(conn) -> None:
    """A grid worker for every grid, as a city has (their names go into the grid tiles), who
    has worked it all along (the evaluations count its grid's year of cases)."""
    from mapsvc.accounts.passwords import hash_password

    await conn.execute(text("""
        INSERT INTO account (username, password_hash, display_name, role)
        SELECT 'bench_worker_' || code, :hash, '网格员' || right(code, 4), 'grid_worker'
          FROM grid"""), {"hash": hash_password(PASSWORD)})
    await conn.execute(text("""
        INSERT INTO account_grid (account_id, grid_id)
        SELECT a.id, g.id FROM grid g JOIN account a ON a.username = 'bench_worker_' || g.code"""))
    await worked_all_along(conn)


def first_registry() -> None:
    """A township's registry files (its addresses, then its people) through the importer, the
    first the city loads, as a county loads its 一标三实; then the same files again, as next
    month's are, each record matched to the one held (nothing stored or corrected)."""
    async def work(conn):
        township = (await conn.execute(text(
            "SELECT left(min(village_code), 9) FROM grid"))).scalar_one()
        t = time.perf_counter()
        return await load_registry(conn, township), time.perf_counter() - t

    stored, seconds = asyncio.run(in_transaction(work))
    figure(f"first registry import, a township's addresses then its people"
           f" ({stored['addresses']:,} addresses, {stored['people']:,} people)",
           f"{seconds:.1f}", "s")
    again, seconds = asyncio.run(in_transaction(work))
    assert sum(again.values()) == 0, again
    figure(f"the same registry imported again, every record held"
           f" ({stored['addresses']:,} addresses, {stored['people']:,} people)",
           f"{seconds:.1f}", "s")


async def register_households(conn) -> int:
    """HOUSEHOLDS households in every grid, each at an address of its own; seven in ten of the
    city's households visited once in the last 60 days: the grid tiles count them (their
    coverage)."""
    registered = (await conn.execute(text("""
        WITH a AS (
            INSERT INTO address (full_text, county_code, geom, grid_id, grid_version_id,
                                 village_code, assignment)
            SELECT '基准路' || g.code || '-' || n, left(g.village_code, 6),
                   ST_PointOnSurface(gv.geom), g.id, gv.id, g.village_code, 'inside'
              FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL,
                   generate_series(1, :n) AS n
            RETURNING id),
        ho AS (INSERT INTO house (address_id) SELECT id FROM a RETURNING id)
        INSERT INTO household (house_id) SELECT id FROM ho"""), {"n": HOUSEHOLDS})).rowcount
    await conn.execute(text("""
        INSERT INTO visit (household_id, account_id, at)
        SELECT h.id, (SELECT min(id) FROM account), now() - random() * interval '60 days'
          FROM household h WHERE random() < 0.7"""))
    return registered


def incident_file() -> tuple[Path, int]:
    """1 % of the points sit exactly on grid vertices, the rest inside grids."""
    grids = asyncio.run(in_transaction(current_grids))
    frame = incident_rows(grids, INCIDENTS, categories=["01", "02", "03", "06"], seed=1, days=365)
    vertices = shapely.get_coordinates(grids.geometry.values)
    rng = np.random.default_rng(2)
    on_edge = rng.choice(len(frame), INCIDENTS // 100, replace=False)
    picked = vertices[rng.integers(0, len(vertices), len(on_edge))]
    frame.loc[on_edge, "lon"] = np.char.mod("%.17g", picked[:, 0])
    frame.loc[on_edge, "lat"] = np.char.mod("%.17g", picked[:, 1])
    frame.loc[on_edge, "crs"] = "wgs84"
    path = OUT / "incidents.csv"
    frame.to_csv(path, index=False)
    return path, len(frame)


def bulk_import(path: Path, rows: int) -> None:
    async def work(conn):
        return await import_incidents(conn, read_incidents(path, path.name), actor="bench")

    t = time.perf_counter()
    result = asyncio.run(in_transaction(work))
    seconds = time.perf_counter() - t
    figure(f"bulk import + assignment, file to assigned rows ({rows:,} points)",
           f"{rows / seconds:,.0f}", "points/s")
    figure(f"bulk import rows stored / rejected ({rows:,} points)",
           f"{result.inserted:,} / {result.rejected:,}")

    async def audit(conn):  # these and the 10,000 of the small page, all inside grids
        return (await conn.execute(text(
            "SELECT count(*) FILTER (WHERE grid_id IS NULL), count(*) - count(DISTINCT client_id)"
            " FROM incident"))).one()

    lost, twice = asyncio.run(in_transaction(audit))
    figure(f"points lost, every point lies in a grid or on its edge ({rows:,} points)",
           f"{lost + rows - result.inserted:,}")
    figure(f"points assigned twice ({rows:,} points)", f"{twice:,}")
    assignment_alone()


def hotline_callers() -> None:
    """A hotline's file of calls, each with its caller (two calls a number, about), imported:
    its cases stored and assigned, its callers sealed and stored; then the other cases of the
    number that called most (重复来电) listed by a county's centre, from one of its cases and
    from the number typed while it calls again, median of 5."""
    from mapsvc.accounts.model import Account
    from mapsvc.incidents.queries import IncidentFilter, incidents_geojson

    frame = incident_rows(asyncio.run(in_transaction(current_grids)), CALLS,
                          categories=["06"], seed=5, days=30)
    number = np.random.default_rng(5).integers(0, CALLS // 2, CALLS)
    frame["source"] = "hotline"
    frame["caller_name"] = np.char.mod("来电人%06d", number)
    frame["caller_phone"] = np.char.mod("100%08d", number)
    path = OUT / "calls.csv"
    frame.to_csv(path, index=False)

    async def work(conn):
        return await import_incidents(conn, read_incidents(path, path.name), actor="bench")

    t = time.perf_counter()
    asyncio.run(in_transaction(work))
    figure(f"hotline file with its callers, file to assigned cases and sealed callers "
           f"({CALLS:,} calls)", f"{CALLS / (time.perf_counter() - t):,.0f}", "calls/s")

    async def most_called(conn):
        return (await conn.execute(text("""
            SELECT c.incident_id, i.county_code, c.phone_hash FROM incident_caller c
              JOIN incident i ON i.id = c.incident_id
             WHERE c.phone_hash = (SELECT phone_hash FROM incident_caller GROUP BY phone_hash
                                    ORDER BY count(*) DESC LIMIT 1)
             LIMIT 1"""))).one()

    case, county, phone_hash = asyncio.run(in_transaction(most_called))
    centre = Account(id=0, username="bench_county", role=Role.command, region_code=county)

    async def others(conn):
        return json.loads(await incidents_geojson(conn, IncidentFilter(caller_of=case), centre,
                                                  limit=20, count=True))

    ms, found = median_of_5(others)
    figure(f"a caller's other cases, by a county's centre ({found['numberMatched']} found "
           f"among {CALLS:,} calls), median of 5", f"{ms:.1f}", "ms")

    async def called(conn):
        return json.loads(await incidents_geojson(conn, IncidentFilter(caller_hash=phone_hash),
                                                  centre, limit=10, count=True))

    ms, found = median_of_5(called)
    figure(f"a number's cases while it calls, by a county's centre ({found['numberMatched']} "
           f"found among {CALLS:,} calls), median of 5", f"{ms:.1f}", "ms")


def assignment_alone() -> None:
    """The assignment pass of the bulk intake alone, over every stored point: the part of the
    figure above that finds grids, beside the part that stores the rows (their indexes, the
    backlog, the tally and the log)."""
    async def work(conn):
        t = time.perf_counter()
        await locate_staged(conn, "SELECT id AS line, geom, reported_at AS at FROM incident",
                            into="bench_located")
        seconds = time.perf_counter() - t
        points, same = (await conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE l.grid_id IS NOT DISTINCT FROM i.grid_id)"
            "  FROM bench_located l JOIN incident i ON i.id = l.line"))).one()
        return seconds, points, same

    seconds, points, same = asyncio.run(in_transaction(work))
    figure(f"bulk assignment pass alone, stored points to grids ({points:,} points)",
           f"{points / seconds:,.0f}", "points/s")
    figure(f"points the pass alone puts in another grid than their import did ({points:,} points)",
           f"{points - same:,}")


# A year of the loop in one statement: 85 % of the cases closed (a tenth of them late, some
# after rework, most rated), 5 % in progress (some of them overdue), the rest still reported.
LOOP = """
WITH plan AS (
    SELECT id, reported_at AS r, random() AS u, random() * 30 AS hours FROM incident
)
UPDATE incident i SET
    status = CASE WHEN p.u < 0.85 THEN 'evaluated' WHEN p.u < 0.90 THEN 'in_progress'
                  ELSE 'reported' END,
    filed_at = CASE WHEN p.u < 0.90 THEN p.r + interval '1 hour' END,
    dispatch_deadline = CASE WHEN p.u < 0.90 THEN p.r + interval '2 hours' END,
    dispatched_at = CASE WHEN p.u < 0.90 THEN p.r + interval '90 minutes' END,
    handling_deadline = CASE WHEN p.u < 0.90 THEN p.r + interval '3 days' END,
    department_code = CASE WHEN p.u < 0.90 THEN 'BENCH' END,
    handled_at = CASE WHEN p.u < 0.85 THEN p.r + p.hours * interval '2 hours' END,
    handling_hours = CASE WHEN p.u < 0.85 THEN p.hours END,
    closed_at = CASE WHEN p.u < 0.85
                     THEN p.r + p.hours * interval '2 hours' + interval '1 hour' END,
    case_deadline = CASE WHEN p.u < 0.90 THEN p.r + interval '2 days' END,
    rework_count = CASE WHEN p.u < 0.05 THEN 1 ELSE 0 END,
    satisfaction = CASE WHEN p.u < 0.80 THEN 1 + (p.u * 100)::int % 5 END
  FROM plan p WHERE p.id = i.id
"""


def median_of_5(work):
    """The median time of ``work`` in ms, and its answer: as the service runs it, on a pooled
    connection whose statements are prepared (after five runs) and whose functions' plans are
    cached, each run in a transaction of its own."""
    async def runs():
        engine = async_engine()
        try:
            async with engine.connect() as conn:
                times = []
                for _ in range(10):  # the first five warm the connection up
                    t = time.perf_counter()
                    async with conn.begin():
                        answer = await work(conn)
                    times.append(time.perf_counter() - t)
                return sorted(times[5:])[2] * 1000, answer
        finally:
            await engine.dispose()

    return asyncio.run(runs())


async def largest_county(conn) -> tuple[str, int]:
    """The county with the most cases, and how many."""
    return tuple((await conn.execute(text(
        "SELECT county_code, count(*) FROM incident GROUP BY 1 ORDER BY 2 DESC LIMIT 1"))).one())


def maintain(*statements: str) -> None:
    """Maintenance statements (VACUUM, CHECKPOINT), each outside any transaction."""
    with sync_engine().connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            conn.execute(text(statement))


def wal_written() -> tuple[int, int]:
    """The WAL's bytes and full-page images written since the statistics were reset. After a
    checkpoint begins, a page's first change is written whole into the WAL: the writes'
    latency rises for a while, and how many of them a run wrote tells whether it met that."""
    with sync_engine().connect() as conn:
        return tuple(conn.execute(text("SELECT wal_bytes::bigint, wal_fpi FROM pg_stat_wal")).one())


def settle() -> None:
    """After the loads, the loop's year of updates and the plan publish, before the figures
    of a running service: their dead rows vacuumed and the statistics fresh, so that no
    autovacuum starts in the middle of a run, and a checkpoint taken, so that the gigabytes
    of pages they dirtied are not being written out under the requests (pgbench vacuums
    before its runs likewise)."""
    t = time.perf_counter()
    maintain("VACUUM (ANALYZE)", "CHECKPOINT")
    figure("vacuum, analyse and checkpoint after the loads", f"{time.perf_counter() - t:.1f}", "s")


def metrics(rows: int) -> None:
    """GET /stats reads the tally that statement triggers keep; the cost is on the writes."""
    from datetime import date

    from mapsvc.accounts.model import Account, Role
    from mapsvc.workflow.stats import board, fold, statistics

    async def loop(conn):
        await conn.execute(text("INSERT INTO department (code, name) VALUES ('BENCH', '基准局') "
                                "ON CONFLICT DO NOTHING"))
        await conn.execute(text(LOOP))

    t = time.perf_counter()
    asyncio.run(in_transaction(loop))
    figure(f"a year of the loop in one UPDATE, tally kept by triggers ({rows:,} incidents)",
           f"{time.perf_counter() - t:.1f}", "s")
    t = time.perf_counter()
    asyncio.run(in_transaction(fold))
    figure(f"folding the tally's deltas ({rows:,} incidents)", f"{time.perf_counter() - t:.1f}",
           "s")
    # A year of updates would have been vacuumed as it went; the one UPDATE leaves a whole
    # table of dead rows whose autovacuum would otherwise overlap the figures below.
    maintain("VACUUM (ANALYZE) incident, incident_log")

    admin = Account(id=0, username="bench", role=Role.admin)
    end = date.today()
    start = end - timedelta(days=365)

    county, in_county = asyncio.run(in_transaction(largest_county))
    for label, params in ((f"whole deployment by county, {rows:,} incidents", {}),
                          (f"largest county by township, {in_county:,} incidents",
                           {"level": "county", "code": county}),
                          (f"whole deployment by main class, {rows:,} incidents",
                           {"by": "category"}),
                          (f"largest county by main class, {in_county:,} incidents",
                           {"level": "county", "code": county, "by": "category"}),
                          (f"whole deployment by month, {rows:,} incidents", {"by": "month"}),
                          (f"largest county by day, {in_county:,} incidents",
                           {"level": "county", "code": county, "by": "day"})):
        async def read(conn, params=params):
            return await statistics(conn, admin, start=start, end=end, denominator="due",
                                    **params)

        ms, answer = median_of_5(read)
        assert answer["figures"]["reported"] > 0
        figure(f"stats for a year ({label}), median of 5", f"{ms:.0f}", "ms")
    # the wall's panel, which the page reloads after live events
    centre = Account(id=0, username="bench_county", role=Role.command, region_code=county)
    for label, account in ((f"the city, {rows:,} incidents", admin),
                           (f"largest county, {in_county:,} incidents", centre)):
        async def panel(conn, account=account):
            return await board(conn, account, today=end)

        ms, answer = median_of_5(panel)
        assert answer["open"] > 0
        figure(f"wall panel ({label}), median of 5", f"{ms:.0f}", "ms")


# The largest county's year of the loop as its centre's staff logged it, for their evaluation:
# each case filed and dispatched (the filing logging its dispatch deadline), closed and followed
# up by one of STAFF operators, as the loop's UPDATE left it; one dispatch in twenty handed back
# and dispatched again.
STAFF = 8
STAFF_STEPS = """
WITH c AS (SELECT id, filed_at, dispatch_deadline, dispatched_at, closed_at, satisfaction,
                  'bench_op' || (id % :staff) AS op, id % 20 = 0 AS astray
             FROM incident WHERE county_code = :county AND filed_at IS NOT NULL)
INSERT INTO incident_log (incident_id, taken_at, actor, action, from_status, to_status, data)
SELECT c.id, s.at, s.actor, s.action, s.from_status, s.to_status, s.data
  FROM c CROSS JOIN LATERAL (VALUES
       (1, c.filed_at, c.op, 'file', 'reported', 'filed',
        jsonb_build_object('dispatch_deadline', c.dispatch_deadline)),
       (2, c.dispatched_at - interval '10 minutes', c.op, 'dispatch', 'filed', 'dispatched',
        '{}'::jsonb),
       (3, CASE WHEN c.astray THEN c.dispatched_at - interval '5 minutes' END, 'bench_dept',
        'hand_back', 'dispatched', 'filed',
        jsonb_build_object('dispatch_deadline', c.dispatch_deadline)),
       (4, CASE WHEN c.astray THEN c.dispatched_at END, c.op, 'dispatch', 'filed', 'dispatched',
        '{}'::jsonb),
       (5, c.closed_at, c.op, 'check_pass', 'checking', 'closed', '{}'::jsonb),
       (6, c.closed_at + interval '1 day' * (c.satisfaction IS NOT NULL)::int, c.op,
        'follow_up', 'closed', 'evaluated', '{}'::jsonb)
  ) s(n, at, actor, action, from_status, to_status, data)
 WHERE s.at IS NOT NULL AND (s.n <> 6 OR c.satisfaction IS NOT NULL)
 ORDER BY c.id, s.n"""


def staff_evaluation() -> None:
    """The largest county's centre staff evaluated by the steps each took on its cases of a
    year and of a month (GET /stats?by=operator), STAFF_STEPS logged first."""
    county, in_county = asyncio.run(in_transaction(largest_county))

    async def log(conn) -> int:
        if await find_account(conn, "bench_op0") is not None:  # logged by an earlier call
            return (await conn.execute(text(  # the steps STAFF_STEPS logged
                "SELECT count(*) FROM incident_log WHERE actor LIKE 'bench\\_op%' "
                "OR (actor = 'bench_dept' AND action = 'hand_back')"))).scalar_one()
        for i in range(STAFF):
            await create_account(conn, f"bench_op{i}", PASSWORD, Role.command,
                                 region_code=county, origin="benchmarks")
        return (await conn.execute(text(STAFF_STEPS), {"staff": STAFF, "county": county})
                ).rowcount

    steps = asyncio.run(in_transaction(log))
    maintain("VACUUM (ANALYZE) incident_log")
    for label, ms, answer in county_evaluated(county, "operator"):
        assert sum(r["figures"]["dispatched"] for r in answer["rows"]) > 0
        figure(f"stats for {label} by the centre's staff (largest county, {in_county:,} "
               f"incidents, {steps:,} steps of {STAFF} operators in all), median of 5",
               f"{ms:.0f}", "ms")


def county_evaluated(county: str, by: str) -> list[tuple[str, float, dict]]:
    """The county's figures by ``by`` (GET /stats?by=) over a year and over a month, as an
    administrator reads them: each period's name, median of 5 (ms) and answer."""
    from datetime import date

    from mapsvc.accounts.model import Account
    from mapsvc.workflow.stats import statistics

    admin = Account(id=0, username="bench", role=Role.admin)
    end = date.today()
    evaluated = []
    for label, days in (("a year", 365), ("a month", 30)):
        async def read(conn, days=days):
            return await statistics(conn, admin, level="county", code=county, by=by,
                                    start=end - timedelta(days=days), end=end,
                                    denominator="due")

        evaluated.append((label, *median_of_5(read)))
    return evaluated


# The largest county's checks on site as its grid workers took them: each case dispatched and
# closed, its handling logged with the check deadline it set (two hours on), and its check
# passed, when it was closed, by the worker of its grid; each step come when it was taken.
WORKER_CHECKS = """
INSERT INTO incident_log (incident_id, at, actor, action, from_status, to_status, data)
SELECT c.id, s.at, s.actor, s.action, s.from_status, s.to_status, s.data
  FROM incident c JOIN grid g ON g.id = c.grid_id CROSS JOIN LATERAL (VALUES
       (1, c.handled_at, 'bench_dept', 'report_handled', 'in_progress', 'handled',
        jsonb_build_object('check_deadline', c.handled_at + interval '2 hours')),
       (2, c.closed_at, 'bench_worker_' || g.code, 'check_pass', 'checking', 'closed',
        '{}'::jsonb)
  ) s(n, at, actor, action, from_status, to_status, data)
 WHERE c.county_code = :county AND c.dispatched_at IS NOT NULL AND c.handled_at IS NOT NULL
   AND c.closed_at IS NOT NULL
 ORDER BY c.id, s.n"""

# The largest county's public reports filed, each verified first: the verify task sent ten
# minutes after the report (logged with its deadline, two hours on) and the finding made by the
# worker of its grid half an hour later (logged with the deadline it was due by).
WORKER_VERIFIES = """
INSERT INTO incident_log (incident_id, at, actor, action, from_status, to_status, data)
SELECT c.id, s.at, s.actor, s.action, s.from_status, s.to_status,
       jsonb_build_object(s.deadline, c.reported_at + interval '130 minutes')
  FROM incident c JOIN grid g ON g.id = c.grid_id CROSS JOIN LATERAL (VALUES
       (1, c.reported_at + interval '10 minutes', 'bench', 'verify', 'reported', 'verifying',
        'verify_deadline'),
       (2, c.reported_at + interval '40 minutes', 'bench_worker_' || g.code, 'confirm',
        'verifying', 'verifying', 'due_by')
  ) s(n, at, actor, action, from_status, to_status, deadline)
 WHERE c.county_code = :county AND c.filed_at IS NOT NULL
   AND c.source IN ('hotline', 'citizen')
 ORDER BY c.id, s.n"""


def worker_evaluation() -> None:
    """The largest county's grid workers evaluated over a year and a month, with their 漏报率,
    按时核实率 and 按时核查率 (GET /stats?by=worker), WORKER_CHECKS and WORKER_VERIFIES logged
    first."""
    county, in_county = asyncio.run(in_transaction(largest_county))

    async def log(conn, action: str, statement: str) -> int:
        logged = (await conn.execute(text(
            "SELECT count(*) FROM incident_log WHERE action = :action "
            "AND actor LIKE 'bench\\_worker\\_%'"), {"action": action})).scalar_one()
        if logged:  # by an earlier call
            return logged
        return (await conn.execute(text(statement), {"county": county})).rowcount // 2

    checks = asyncio.run(in_transaction(lambda conn: log(conn, "check_pass", WORKER_CHECKS)))
    verified = asyncio.run(in_transaction(lambda conn: log(conn, "confirm", WORKER_VERIFIES)))
    maintain("VACUUM (ANALYZE) incident_log")
    for label, ms, answer in county_evaluated(county, "worker"):
        assert sum(r["checks"]["checked"] for r in answer["rows"]) > 0
        assert sum(r["verifies"]["verified"] for r in answer["rows"]) > 0
        figure(f"stats for {label} by grid worker with 漏报率, 按时核实率 and 按时核查率 (largest "
               f"county, {in_county:,} incidents, {len(answer['rows']):,} workers, {checks:,} "
               f"checks and {verified:,} findings on verify tasks by them in all), median of 5",
               f"{ms:.0f}", "ms")


async def boxes_around_smallest_grid(conn) -> list[tuple[str, tuple, int]]:
    """Boxes 600 m, 10 km and 100 km wide around the smallest grid (where grids, and so
    cases, are densest), with the cases in each."""
    lon, lat = (await conn.execute(text("""
        SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid_version
         WHERE valid_to IS NULL ORDER BY ST_Area(geom) LIMIT 1) c"""))).one()
    boxes = []
    for side, half in (("600 m", 0.003), ("10 km", 0.05), ("100 km", 0.5)):
        box = (lon - half, lat - half, lon + half, lat + half)
        boxes.append((side, box, (await conn.execute(text(
            "SELECT count(*) FROM incident WHERE geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"),
            dict(zip("wsen", box)))).scalar_one()))
    return boxes


def incident_lists(rows: int) -> None:
    """A page of the incident list (100 cases, newest first) as the city and the largest
    county's centre ask for it: the first page, the cases in progress, those awaiting
    verification (a rare state), those waiting to be taken in, by warning colour, overdue in
    handling, the triage queue, the public's, of a source no case has and by words, and the
    open cases most urgent first; and the city's by boxes of three sizes."""
    from mapsvc.accounts.model import Account
    from mapsvc.incidents.model import PUBLIC_SOURCES
    from mapsvc.incidents.queries import IncidentFilter, incidents_geojson
    from mapsvc.workflow.machine import STATUS_FILTERS

    county, in_county = asyncio.run(in_transaction(largest_county))
    centres = ((f"the city, {rows:,} incidents", Account(id=0, username="bench", role=Role.admin)),
               (f"largest county, {in_county:,} incidents",
                Account(id=0, username="bench_county", role=Role.command, region_code=county)))
    wheres = {"first page": IncidentFilter(),
              "in progress": IncidentFilter(statuses=("in_progress",)),
              "awaiting verification": IncidentFilter(statuses=("verifying",)),
              "waiting to be taken in": IncidentFilter(statuses=STATUS_FILTERS["waiting"]),
              "red": IncidentFilter(colour="red"), "yellow": IncidentFilter(colour="yellow"),
              "overdue in handling (处置超期)": IncidentFilter(overdue=True),
              "the triage queue (unassigned)": IncidentFilter(method="unassigned"),
              "the public's (hotline and citizens)": IncidentFilter(sources=PUBLIC_SOURCES),
              "of a source no case has (every case read)": IncidentFilter(sources=("other",)),
              "by words no case holds (every description read)": IncidentFilter(
                  words="井盖缺失")}
    for label, account in centres:
        for name, where in wheres.items():
            async def page(conn, where=where, account=account):
                return await incidents_geojson(conn, where, account)

            ms, _ = median_of_5(page)
            figure(f"incident list, {name} ({label}), median of 5", f"{ms:.0f}", "ms")

        async def most_urgent(conn, account=account):  # the desk's 最急在前
            return await incidents_geojson(conn, IncidentFilter(open=True), account, order="due")

        ms, _ = median_of_5(most_urgent)
        figure(f"incident list, the open cases most urgent first ({label}), median of 5",
               f"{ms:.0f}", "ms")
    # by a box in the city's centre, as a phone, a township's and a county's screen ask
    for side, box, in_box in asyncio.run(in_transaction(boxes_around_smallest_grid)):
        async def page(conn, box=box):
            return await incidents_geojson(conn, IncidentFilter(bbox=box), centres[0][1])

        ms, _ = median_of_5(page)
        figure(f"incident list by a box {side} wide ({in_box:,} incidents in it), median of 5",
               f"{ms:.0f}", "ms")


def hotspots_at_scale() -> None:
    """The hot spots (高发点位) of the last 30 days, as the city's and the largest county's
    centre ask for them (50 m, 3 cases); and the count of the cases of a desk's view."""
    from mapsvc.accounts.model import Account
    from mapsvc.incidents.hotspots import hotspots_geojson
    from mapsvc.incidents.model import window_start
    from mapsvc.incidents.queries import IncidentFilter, incidents_geojson

    county, _ = asyncio.run(in_transaction(largest_county))
    where = IncidentFilter(reported_from=window_start("30d"))
    for label, account in (("the city", Account(id=0, username="bench", role=Role.admin)),
                           ("largest county", Account(id=0, username="bench_county",
                                                      role=Role.command, region_code=county))):
        async def spots(conn, account=account):
            return json.loads(await hotspots_geojson(conn, where, account, radius_m=50,
                                                     least=3, limit=200))

        async def counted(conn, account=account):
            return json.loads(await incidents_geojson(conn, where, account, count=True))

        ms, found = median_of_5(spots)
        count_ms, listed = median_of_5(counted)
        cases = listed["numberMatched"]
        figure(f"hot spots of the last 30 days ({label}, {cases:,} cases, "
               f"{len(found['features'])} found), median of 5", f"{ms:.0f}", "ms")
        figure(f"incident list, first page counting its {cases:,} cases of the last 30 days "
               f"({label}), median of 5", f"{count_ms:.0f}", "ms")


def department_desk() -> None:
    """A department's desk (案件处置) as it lists its views: 200 cases and how many the view
    holds, of the department the bench dispatches nine cases in ten to."""
    from mapsvc.accounts.model import Account
    from mapsvc.incidents.queries import IncidentFilter, incidents_geojson

    account = Account(id=0, username="bench_department", role=Role.department,
                      department_code="BENCH")
    views = {"待办 (to take on and being handled), newest first": (
                 IncidentFilter(queue_of=account), "newest"),
             "待办, most urgent first": (IncidentFilter(queue_of=account), "due"),
             "处置即将到期 (nearly due)": (IncidentFilter(queue_of=account, colour="yellow"),
                                     "newest"),
             "处置超期 (overdue in handling)": (IncidentFilter(overdue=True), "newest"),
             "全部 (all its cases)": (IncidentFilter(), "newest")}
    for name, (where, order) in views.items():
        async def listed(conn, where=where, order=order):
            return json.loads(await incidents_geojson(conn, where, account, limit=200,
                                                      order=order, count=True))

        ms, found = median_of_5(listed)
        figure(f"department desk, {name} ({found['numberMatched']:,} cases, "
               f"{len(found['features'])} listed), median of 5", f"{ms:.0f}", "ms")


def ledgers() -> None:
    """The case ledger (CSV) of the largest county and of the city, as PostgreSQL writes it
    and the service passes it on."""
    from mapsvc.accounts.model import Account
    from mapsvc.db.spreadsheet import copied
    from mapsvc.incidents.ledger import ledger_statement
    from mapsvc.incidents.queries import IncidentFilter

    async def export(where: IncidentFilter) -> int:
        statement, params = ledger_statement(where, Account(id=0, username="bench",
                                                            role=Role.admin))
        size = 0
        async for chunk in copied(statement, params):
            size += len(chunk)
        return size

    async def count(conn, where: IncidentFilter) -> int:
        f = where.filters()
        return (await conn.execute(text(f"SELECT count(*) FROM incident d WHERE {f.where()}"),
                                   f.params)).scalar_one()

    county, _ = asyncio.run(in_transaction(largest_county))
    for label, where in (("largest county", IncidentFilter(county=county)),
                         ("the city", IncidentFilter())):
        cases = asyncio.run(in_transaction(lambda conn: count(conn, where)))
        started = time.perf_counter()
        size = asyncio.run(export(where))
        seconds = time.perf_counter() - started
        figure(f"case ledger CSV, {label} ({cases:,} incidents, {size / 1e6:,.0f} MB)",
               f"{seconds:.1f}", "s")
        figure(f"case ledger CSV, {label} ({cases:,} incidents)", f"{cases / seconds:,.0f}",
               "rows/s")


def grid_lists() -> None:
    """A page of the grid list (100 grids by code): the city's first and fiftieth, the largest
    county's first, and those in a box 100 km wide in the city's centre."""
    from mapsvc.boundaries.queries import grids_geojson

    county = asyncio.run(in_transaction(lambda conn: conn.scalar(text(
        "SELECT left(village_code, 6) FROM grid GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))))
    box = asyncio.run(in_transaction(boxes_around_smallest_grid))[-1][1]
    asks = {f"the city's first page ({GRIDS:,} grids)": {},
            "the city's fiftieth page": {"offset": 4_900},
            f"the largest county's first page ({county})": {"parent": county},
            "a box 100 km wide": {"bbox": box}}
    for label, ask in asks.items():
        async def page(conn, ask=ask):
            return await grids_geojson(conn, **ask)

        ms, _ = median_of_5(page)
        figure(f"grid list, {label}, median of 5", f"{ms:.0f}", "ms")


def batch_steps(rows: int) -> None:
    """A step on as many cases as the desk takes at once (BATCH_MOST): the city's centre
    verifying the newest cases reported, a new batch each run."""
    from mapsvc.workflow.actions import BATCH_MOST, ActionRequest, act_on_many

    async def reported(conn):
        if await find_account(conn, "bench_centre") is None:
            await create_account(conn, "bench_centre", PASSWORD, Role.command,
                                 origin="benchmarks")
        return await find_account(conn, "bench_centre"), list((await conn.execute(text(
            "SELECT id FROM incident WHERE status = 'reported' ORDER BY id DESC LIMIT :n"),
            {"n": 10 * BATCH_MOST})).scalars())

    account, ids = asyncio.run(in_transaction(reported))
    batches = (ids[at:at + BATCH_MOST] for at in range(0, len(ids), BATCH_MOST))

    async def verify(conn):
        return await act_on_many(conn, account, next(batches), "verify", ActionRequest())

    ms, answer = median_of_5(verify)
    assert len(answer) == BATCH_MOST
    figure(f"a step on {BATCH_MOST} cases at once (verify; {rows:,} incidents), median of 5",
           f"{ms:.0f}", "ms")
    figure("a step on many cases at once, per case", f"{ms / BATCH_MOST:.2f}", "ms")


def sizing_at_scale() -> None:
    """Where to redraw: the city's grids against the sizing rules by county, the largest
    county's by township, and one of its townships' by village."""
    from mapsvc.accounts.model import Account
    from mapsvc.boundaries.sizing import grid_sizing

    county, township = asyncio.run(in_transaction(lambda conn: conn.execute(text(
        "SELECT left(village_code, 6), max(left(village_code, 9)) FROM grid GROUP BY 1 "
        "ORDER BY count(*) DESC LIMIT 1")))).one()
    admin = Account(id=0, username="bench", role=Role.admin)
    for label, parent in ((f"the city ({GRIDS:,} grids)", None),
                          (f"the largest county ({county})", county),
                          (f"a township of it ({township})", township)):
        async def sizing(conn, parent=parent):
            return await grid_sizing(conn, admin, parent)

        ms, answer = median_of_5(sizing)
        figure(f"grid sizing, {label}, {answer['totals']['grids']:,} grids, median of 5",
               f"{ms:.0f}", "ms")


PATROLS = int(os.environ.get("BENCH_PATROLS", 3_000))
PATROL_POINTS = 400  # a position every 10 m: a 4 km patrol


def patrols_at_scale(grids) -> None:
    """Patrols sent one by one (each a walk of PATROL_POINTS positions from a random grid,
    stored with the grids it passed through), then the day's patrols a county's centre and the
    city's read (the wall's layer: the first 1,000)."""
    from mapsvc.accounts.model import Account
    from mapsvc.registry.patrols import patrols_geojson, record_patrol

    async def walker(conn) -> Account:
        code = (await conn.execute(text("SELECT min(code) FROM grid"))).scalar_one()
        found = (await conn.execute(text(
            "SELECT id FROM account WHERE username = 'bench_patrol'"))).scalar_one_or_none()
        if found is None:
            found = await create_account(conn, "bench_patrol", PASSWORD, Role.grid_worker,
                                         grid_codes=[code], origin="benchmarks")
        return Account(id=found, username="bench_patrol", role=Role.grid_worker)

    account = asyncio.run(in_transaction(walker))
    rng = np.random.default_rng(11)
    starts = shapely.get_coordinates(shapely.point_on_surface(
        grids.geometry.values[rng.choice(len(grids), PATROLS)]))
    ended = datetime.now(timezone.utc)

    async def send_all() -> list[float]:
        engine = async_engine()
        times = []
        try:
            async with engine.connect() as conn:
                for x, y in starts:
                    steps = rng.normal(0, 10 / 102_000, (PATROL_POINTS, 2)).cumsum(axis=0)
                    points = (steps + [x, y]).tolist()
                    t = time.perf_counter()
                    async with conn.begin():
                        await record_patrol(conn, account, client_id=uuid.uuid4(),
                                            started_at=ended - timedelta(hours=1),
                                            ended_at=ended, points=points)
                    times.append((time.perf_counter() - t) * 1000)
        finally:
            await engine.dispose()
        return times

    started = time.perf_counter()
    times = asyncio.run(send_all())
    seconds = time.perf_counter() - started
    label = f"{PATROLS:,} patrols of {PATROL_POINTS} positions, {GRIDS:,} grids"
    figure(f"patrol stored, p50 ({label})", f"{np.median(times):.1f}", "ms")
    figure(f"patrol stored, p99 ({label})", f"{np.percentile(times, 99):.1f}", "ms")
    figure(f"patrols stored one after another ({label})", f"{PATROLS / seconds:,.0f}",
           "patrols/s")
    county, _ = asyncio.run(in_transaction(largest_county))
    day = ended - timedelta(hours=12)
    for who, reader in ((f"the largest county's centre ({county})",
                         Account(id=0, username="bench", role=Role.command,
                                 region_code=county)),
                        ("the city's centre", Account(id=0, username="bench",
                                                      role=Role.command))):
        async def read(conn, reader=reader):
            return await patrols_geojson(conn, reader, since=day, limit=1000)

        ms, body = median_of_5(read)
        figure(f"the day's patrols read by {who} ({json.loads(body)['numberReturned']:,} "
               f"tracks, {len(body) / 1e6:,.1f} MB), median of 5", f"{ms:.0f}", "ms")
    patrol_tiles(starts, day)


HYDRANTS = int(os.environ.get("BENCH_HYDRANTS_PER_GRID", 6))
CHECKS = int(os.environ.get("BENCH_CHECKS", 1_000))


def campaigns_at_scale() -> None:
    """HYDRANTS fire hydrants (部件 0106) in every grid, a campaign of the city's centre to
    check them all (专项排查), CHECKS checks sent one after another by the workers of random
    grids, one in ten finding a hazard, reported as a case; then the campaign as its pages read
    it: the campaigns with their progress for the city's and the largest county's centres,
    that county's grids and its hazards, a worker's things to check; and the evaluation's
    按期排查率 of that county's townships, grids and workers."""
    from mapsvc.accounts.model import Account
    from mapsvc.registry.campaigns import (campaign_grids, campaign_targets, campaigns,
                                           campaigns_due, make_campaign, record_check)

    async def hydrants(conn) -> tuple[Account, str]:
        await conn.execute(text("""
            INSERT INTO thing (component_id, name, geom, grid_id, grid_version_id,
                               village_code, assignment)
            SELECT left(g.village_code, 6) || '0106' || lpad((row_number() OVER (
                       PARTITION BY left(g.village_code, 6) ORDER BY g.code, n))::text, 6, '0'),
                   '消防栓', ST_PointOnSurface(gv.geom), g.id, gv.id, g.village_code, 'inside'
              FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL,
                   generate_series(1, :n) AS n
            ON CONFLICT DO NOTHING"""), {"n": HYDRANTS})
        centre = (await conn.execute(text(
            "SELECT id FROM account WHERE username = 'bench_campaign'"))).scalar_one_or_none()
        if centre is None:
            centre = await create_account(conn, "bench_campaign", PASSWORD, Role.command,
                                          origin="benchmarks")
        county = (await conn.execute(text(
            "SELECT left(village_code, 6) FROM grid GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ))).scalar_one()
        return Account(id=centre, username="bench_campaign", role=Role.command), county

    city, county = asyncio.run(in_transaction(hydrants))

    async def make(conn):
        t = time.perf_counter()
        made, _ = await make_campaign(
            conn, city, client_id=uuid.uuid4(), title="冬季消防栓排查", instructions="",
            layer="things", kind="0106", region=None,
            due=datetime.now(timezone.utc).date() + timedelta(days=30))
        return made, (time.perf_counter() - t) * 1000

    made, ms = asyncio.run(in_transaction(make))
    label = f"{made['targets']:,} hydrants in {GRIDS:,} grids"
    figure(f"campaign made, its things taken ({label})", f"{ms:,.0f}", "ms")
    county_centre = Account(id=0, username="bench", role=Role.command, region_code=county)
    rng = np.random.default_rng(12)
    codes = asyncio.run(in_transaction(lambda conn: _grid_codes(conn)))
    worker_grid = str(rng.choice(codes))
    worker = Account(id=0, username="bench", role=Role.grid_worker, grid_ids=(
        asyncio.run(in_transaction(lambda conn: _grid_id(conn, worker_grid))),))

    async def check_all() -> tuple[list[float], list[float]]:
        engine = async_engine()
        normal, hazard = [], []
        try:
            async with engine.connect() as conn:
                for n, code in enumerate(rng.choice(codes, CHECKS)):
                    async with conn.begin():
                        found = await _checker(conn, made["id"], code)
                    checker = Account(id=found.id, username=found.username,
                                      role=Role.grid_worker, grid_ids=(found.grid,))
                    finding = n % 10 == 0
                    t = time.perf_counter()
                    async with conn.begin():
                        await record_check(
                            conn, checker, made["id"], client_id=uuid.uuid4(),
                            target=found.target, result="hazard" if finding else "normal",
                            note="", category="0201" if finding else None, at=None, lon=None,
                            lat=None)
                    (hazard if finding else normal).append((time.perf_counter() - t) * 1000)
        finally:
            await engine.dispose()
        return normal, hazard

    normal, hazard = asyncio.run(check_all())
    for what, times in (("a check stored", normal), ("a hazard stored with its case", hazard)):
        figure(f"{what}, p50 ({len(times):,} of {CHECKS:,} checks, {label})",
               f"{np.median(times):.1f}", "ms")
        figure(f"{what}, p99 ({len(times):,} of {CHECKS:,} checks, {label})",
               f"{np.percentile(times, 99):.1f}", "ms")
    for what, work in (
            ("the campaigns with their progress, the city's centre",
             lambda conn: campaigns(conn, city)),
            (f"the campaigns with their progress, the largest county's centre ({county})",
             lambda conn: campaigns(conn, county_centre)),
            ("the campaign's grids with their progress, the largest county's centre",
             lambda conn: campaign_grids(conn, county_centre, made["id"])),
            ("the things found hazardous, the largest county's centre",
             lambda conn: campaign_targets(conn, county_centre, made["id"], result="hazard",
                                           limit=1000)),
            ("a worker's things to check", lambda conn: campaign_targets(
                conn, worker, made["id"], result="none"))):
        ms, _ = median_of_5(work)
        figure(f"{what} ({label}), median of 5", f"{ms:.0f}", "ms")
    due = date.fromisoformat(made["due"])
    subjects = asyncio.run(in_transaction(lambda conn: _county_subjects(conn, county)))
    for by, keys in subjects.items():
        ms, _ = median_of_5(lambda conn, by=by, keys=keys: campaigns_due(
            conn, by, keys, due, due, within=county))
        figure(f"按期排查率 of the largest county's {len(keys):,} {by}s, the evaluation's rows "
               f"({label}), median of 5", f"{ms:.0f}", "ms")


MICRO_GRIDS = 200  # grids divided one after another


def micro_grids_at_scale() -> None:
    """Grids' households divided into micro-grids (微网格), as their workers do: MICRO_GRIDS
    random grids, one after another, afresh; then a grid's micro-grids listed, and the
    registry's counts per grid (with their micro-grids) for a page of the largest county (the
    wall's micro-grid figures are the panel's, timed with it in ``metrics``)."""
    from mapsvc.accounts.model import Account
    from mapsvc.registry.micro_grids import divide, micro_grids
    from mapsvc.registry.queries import grid_counts

    admin = Account(id=0, username="bench", role=Role.admin)
    codes = np.random.default_rng(17).choice(
        asyncio.run(in_transaction(_grid_codes)), MICRO_GRIDS, replace=False)
    county = asyncio.run(in_transaction(lambda conn: conn.scalar(text(
        "SELECT left(village_code, 6) FROM grid GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))))

    async def divide_all() -> tuple[list[float], int]:
        engine = async_engine()
        times, made = [], 0
        try:
            async with engine.connect() as conn:
                for code in codes:
                    t = time.perf_counter()
                    async with conn.begin():
                        made += len((await divide(conn, admin, str(code), replace=True))[
                            "micro_grids"])
                    times.append((time.perf_counter() - t) * 1000)
        finally:
            await engine.dispose()
        return times, made

    times, made = asyncio.run(divide_all())
    label = f"{HOUSEHOLDS} households a grid, {GRIDS:,} grids"
    for stat, value in (("p50", np.median(times)), ("p99", np.percentile(times, 99))):
        figure(f"a grid divided into micro-grids {stat} ({MICRO_GRIDS} grids, {made:,} "
               f"micro-grids made, {label})", f"{value:.1f}", "ms")
    for what, work in (
            ("a grid's micro-grids listed", lambda conn: micro_grids(conn, admin, str(codes[0]))),
            (f"the registry's counts of the largest county's first 100 grids ({county})",
             lambda conn: grid_counts(conn, admin, parent=county))):
        ms, _ = median_of_5(work)
        figure(f"{what} ({label}), median of 5", f"{ms:.1f}", "ms")


def webhooks_at_scale() -> None:
    """A webhook following every case (a platform taking all of them): WEBHOOK_ROWS new cases
    imported with no webhook, then as many with it, queued as they are stored; then what was
    queued sent to a receiver on this machine, batch after batch, as a process of the service
    sends it."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from mapsvc.workflow.webhooks import WebhookSpec, deliver_one, make_webhook, webhook_client

    class Taking(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Taking)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    grids = asyncio.run(in_transaction(current_grids))

    def imported(seed: int) -> float:
        frame = incident_rows(grids, WEBHOOK_ROWS, categories=["01", "03"], seed=seed, days=1)
        frame["client_id"] = [str(uuid.uuid4()) for _ in range(len(frame))]
        path = OUT / "webhook-incidents.csv"
        frame.to_csv(path, index=False)
        t = time.perf_counter()
        asyncio.run(in_transaction(lambda conn: import_incidents(
            conn, read_incidents(path, path.name), actor="bench")))
        return WEBHOOK_ROWS / (time.perf_counter() - t)

    async def follow_all(conn) -> int:
        if await find_account(conn, "bench_admin") is None:
            await create_account(conn, "bench_admin", PASSWORD, Role.admin, origin="benchmarks")
        admin = await find_account(conn, "bench_admin")
        made, _ = await make_webhook(conn, admin.id, WebhookSpec(
            client_id=uuid.uuid4(), name="bench",
            url=f"http://127.0.0.1:{receiver.server_address[1]}/"))
        return made["id"]

    async def queued(conn, webhook: int):
        return (await conn.execute(text(
            "SELECT count(*), sum(cardinality(log_ids)) FROM webhook_delivery "
            "WHERE webhook_id = :w AND delivered_at IS NULL"), {"w": webhook})).one()

    async def send_all() -> list[float]:
        engine, times = async_engine(), []
        try:
            async with webhook_client() as client:
                while True:
                    t = time.perf_counter()
                    if not await deliver_one(engine, client):
                        return times
                    times.append((time.perf_counter() - t) * 1000)
        finally:
            await engine.dispose()

    label = f"{WEBHOOK_ROWS:,} points, {GRIDS:,} grids"
    figure(f"bulk import + assignment with no webhook ({label})", f"{imported(51):,.0f}",
           "points/s")
    webhook = asyncio.run(in_transaction(follow_all))
    try:
        figure(f"bulk import + assignment with a webhook following every case ({label})",
               f"{imported(52):,.0f}", "points/s")
        batches, steps = asyncio.run(in_transaction(lambda conn: queued(conn, webhook)))
        figure(f"batches / steps queued for the webhook ({label})", f"{batches:,} / {steps:,}")
        t = time.perf_counter()
        times = asyncio.run(send_all())
        seconds = time.perf_counter() - t
        figure(f"steps sent to a receiver on this machine ({steps:,} steps in {len(times):,} "
               "batches, one process)", f"{steps / seconds:,.0f}", "steps/s")
        figure(f"a batch of 100 steps built, sent and recorded, p50 ({len(times):,} batches)",
               f"{np.median(times):.1f}", "ms")
    finally:
        asyncio.run(in_transaction(lambda conn: conn.execute(
            text("DELETE FROM webhook WHERE id = :w"), {"w": webhook})))
        receiver.shutdown()


async def _county_subjects(conn, county: str) -> dict[str, list[str]]:
    """The keys of a county's townships, grids and grid workers, as the evaluation's rows."""
    f = {"c": county}
    return {
        "township": list((await conn.execute(text(
            "SELECT code FROM region WHERE level = 'township' AND code LIKE :c || '%'"),
            f)).scalars()),
        "grid": [str(k) for k in (await conn.execute(text(
            "SELECT id FROM grid WHERE village_code LIKE :c || '%'"), f)).scalars()],
        "worker": [str(k) for k in (await conn.execute(text(
            "SELECT DISTINCT p.account_id FROM account_grid_period p JOIN grid g "
            "ON g.id = p.grid_id WHERE g.village_code LIKE :c || '%'"), f)).scalars()]}


async def _checker(conn, campaign: int, code: str):
    """The worker of grid ``code`` and a thing of the campaign there."""
    return (await conn.execute(text(
        "SELECT a.id, a.username, g.id AS grid, t.target "
        "FROM grid g JOIN account a ON a.username = 'bench_worker_' || g.code "
        "JOIN campaign_target t ON t.grid_id = g.id AND t.campaign_id = :c "
        "WHERE g.code = :code LIMIT 1"), {"c": campaign, "code": code})).one()


async def _grid_codes(conn) -> list[str]:
    return list((await conn.execute(text("SELECT code FROM grid ORDER BY code"))).scalars())


async def _grid_id(conn, code: str) -> int:
    return (await conn.execute(text("SELECT id FROM grid WHERE code = :code"),
                               {"code": code})).scalar_one()


def patrol_tiles(starts: np.ndarray, since: datetime) -> None:
    """The tiles of the day's tracks as the city's wall draws them: at each zoom, the tiles
    holding the first 200 patrols' starts, each statement alone (as tile_statement_alone)."""
    from mapsvc.accounts.model import Account
    from mapsvc.db.reads import psycopg_sql
    from mapsvc.tiles.layers import COLLECTIONS, TileQuery, tile_sql

    tms = morecantile.tms.get("WebMercatorQuad")
    city = Account(id=0, username="bench_city", role=Role.command)
    for z in TILE_ZOOMS:
        sql, params = tile_sql(COLLECTIONS["patrols"], z, TileQuery(since=since.isoformat()),
                               city)
        tiles = list(dict.fromkeys(tms.tile(x, y, z) for x, y in starts[:200]))
        runs = [{**params, "z": t.z, "x": t.x, "y": t.y} for t in tiles]
        times = alone({"patrols": psycopg_sql(sql)}, runs)["patrols"]
        figure(f"the day's patrol tiles alone z{z} p50 ({len(runs)} tiles, {PATROLS:,} patrols)",
               f"{np.median(times):.2f}", "ms")


def write_points(grids) -> None:
    """Points for the load scripts: a random point in each of 5,000 random grids."""
    rng = np.random.default_rng(3)
    sample = grids.geometry.values[rng.choice(len(grids), min(5000, len(grids)), replace=False)]
    points = shapely.get_coordinates(shapely.point_on_surface(sample))
    (OUT / "points.lua").write_text(
        "points = {" + ",".join(f"{{{x:.7f},{y:.7f}}}" for x, y in points) + "}\n")


def bench_token(base: str, username: str = "bench") -> str:
    """A grid worker's token (grid workers send most reports), or the city centre's (sees
    everything); the accounts are made once."""
    async def ensure(conn):
        exists = await conn.execute(text("SELECT 1 FROM account WHERE username = :u"),
                                    {"u": username})
        if exists.first():
            return
        if username == "bench":
            code = (await conn.execute(text("SELECT min(code) FROM grid"))).scalar_one()
            await create_account(conn, username, PASSWORD, Role.grid_worker, grid_codes=[code],
                                 origin="benchmarks")
        else:
            await create_account(conn, username, PASSWORD, Role.command, origin="benchmarks")

    asyncio.run(in_transaction(ensure))
    answer = httpx.post(f"{base}/api/v1/auth/token",
                        data={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return answer.json()["access_token"]


PASSWORD = "Load-Test-2026"  # no bench account's name in it
TILE_ZOOMS = (11, 12, 13, 14, 15)


def write_tiles(grids) -> None:
    """For each zoom, the tiles holding a random point of each of 5,000 random grids (cold
    runs), the first 200 of them (cached runs), and as many others to warm the service with
    (each worker prepares its statements on its first requests, as a running service has)."""
    tms = morecantile.tms.get("WebMercatorQuad")
    rng = np.random.default_rng(4)
    chosen = rng.permutation(len(grids))

    def tiles(indices, z):
        points = shapely.get_coordinates(shapely.point_on_surface(grids.geometry.values[indices]))
        return list(dict.fromkeys(f"{t.z}/{t.x}/{t.y}" for t in
                                  (tms.tile(x, y, z) for x, y in points)))

    for z in TILE_ZOOMS:
        # in random order: in the order first met, the tiles of many grids come first, and
        # the cached list (the first 200) would be of the largest tiles
        cold = tiles(chosen[:5000], z)
        cold = [cold[i] for i in rng.permutation(len(cold))]
        known = set(cold)
        # (at zoom 11 the cold list holds about every tile there is: it warms the service)
        warm = [t for t in tiles(chosen[5000:10000], z) if t not in known][:200] or cold
        for kind, listed in (("cold", cold), ("cached", cold[:200]), ("warm", warm)):
            (OUT / f"tiles_{kind}_{z}.lua").write_text(
                "tiles = {" + ",".join(f'"{t}"' for t in listed) + "}\n")


def listed_tiles(kind: str, z: int) -> list[tuple[str, str, str]]:
    """The (z, x, y) of a list write_tiles wrote."""
    return re.findall(r'"(\d+)/(\d+)/(\d+)"', (OUT / f"tiles_{kind}_{z}.lua").read_text())


def ask_tiles(base: str, path: str, listed: str, z: int, connections: int, seconds: int = 5,
              *, repeat: bool = False) -> dict:
    """wrk over a list write_tiles wrote (see lua/tiles.lua)."""
    os.environ.update(BENCH_TILE_PATH=path, BENCH_TILES=str(OUT / f"tiles_{listed}_{z}.lua"),
                      BENCH_REPEAT=str(int(repeat)))
    return wrk("tiles.lua", base, seconds, connections=connections)


# The cold list at z12 holds some 230 tiles, which a run asking each once gets through in a
# fifth of a second. A cold run asks the list round and round for COLD_SECONDS instead, of a
# service whose tile cache is off, and each figure is the run of median throughput of
# COLD_ROUNDS: tipg's swings from run to run (390 and 453 tiles/s at z12 and concurrency 4,
# one run after the other).
COLD_ROUNDS, COLD_SECONDS = 3, 5


def cold_runs(drawing: str, tipg: str, z: int, connections: int) -> tuple[dict, dict]:
    """The cold list asked round and round, by a service whose tile cache is off (``drawing``:
    every tile drawn by its statement) and by tipg, in turn; the run of median throughput of
    each."""
    runs = {drawing: [], tipg: []}
    for _ in range(COLD_ROUNDS):
        for base, path in ((drawing, GRID_TILES), (tipg, TIPG_TILES)):
            r = ask_tiles(base, path, "cold", z, connections, COLD_SECONDS, repeat=True)
            if r["errors"]:
                figure(f"{base}{path} z{z}, concurrency {connections}: answers not 2xx or 3xx",
                       r["errors"])
            runs[base].append(r)
    ours, theirs = (sorted(runs[base], key=lambda r: r["rps"])[COLD_ROUNDS // 2]
                    for base in (drawing, tipg))
    return ours, theirs


def tiles_over_http(base: str, drawing: str, tipg: str) -> None:
    """Grid tiles (backlog and coverage counted per grid) per zoom: cold, each tile drawn by
    its statement (``drawing``, the service with its tile cache off), set beside the statement
    alone measured just before and beside tipg serving the bare geometry of the same tiles;
    cached, a short list asked again and again (``base``)."""
    os.environ["BENCH_TOKEN"] = bench_token(base, "bench_city")
    for z in TILE_ZOOMS:
        ask_tiles(drawing, GRID_TILES, "warm", z, 4, repeat=True)
        ask_tiles(tipg, TIPG_TILES, "warm", z, 4, repeat=True)
        alone, bare = tile_statement_alone(z)
        for connections in (1, 4):
            label = f"grid tiles z{z} cold, concurrency {connections} ({GRIDS:,} grids)"
            r, reference = cold_runs(drawing, tipg, z, connections)
            figure(f"{label} p50", f"{r['p50']:.2f}", "ms")
            figure(f"{label} p99", f"{r['p99']:.2f}", "ms")
            figure(f"{label} throughput", f"{r['rps']:,.0f}", "tiles/s")
            if connections == 1:
                figure(f"{label} p50 over the statement alone", f"{r['p50'] / alone:.2f}", "×")
                figure(f"{label} p50 over the bare geometry tile alone", f"{r['p50'] / bare:.2f}",
                       "×")
            figure(f"tipg, bare {label} p50", f"{reference['p50']:.2f}", "ms")
            figure(f"tipg, bare {label} throughput", f"{reference['rps']:,.0f}", "tiles/s")
            figure(f"{label} throughput over tipg's", f"{r['rps'] / reference['rps']:.2f}", "×")
        for _ in range(3):  # the cached list asked through a few times: both workers' caches fill
            ask_tiles(base, GRID_TILES, "cached", z, 2, 20)
        for connections in (1, 4):
            r = ask_tiles(base, GRID_TILES, "cached", z, connections, repeat=True)
            label = f"grid tiles z{z} cached, concurrency {connections} ({GRIDS:,} grids)"
            figure(f"{label} p50", f"{r['p50']:.2f}", "ms")
            figure(f"{label} p99", f"{r['p99']:.2f}", "ms")
            figure(f"{label} throughput", f"{r['rps']:,.0f}", "tiles/s")


def wall_page(base: str, label: str) -> None:
    """The wall screen as a city centre opens it: bytes received and the time until every
    layer's tiles and the panel have arrived (the live feed stays open)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import WHOLE_CHROMIUM, launch, wait_until

    with sync_playwright() as p:
        browser = launch(p, WHOLE_CHROMIUM)
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        context.request.post(f"{base}/api/v1/auth/session",
                             form={"username": "bench_city", "password": PASSWORD})
        page = context.new_page()
        pending, received = set(), []

        def finished(request):
            pending.discard(request)
            received.append(request.sizes()["responseBodySize"])

        page.on("request", lambda r: "/api/v1/events" not in r.url and pending.add(r))
        page.on("requestfinished", finished)
        page.on("requestfailed", lambda r: pending.discard(r))
        t = time.perf_counter()
        page.goto(f"{base}/map/wall")
        wait_until(page, "window.mapsvcWall && window.mapsvcWall.online === true", "the feed",
                   tries=1200)
        quiet = 0
        while quiet < 5:  # nothing in flight for half a second
            page.wait_for_timeout(100)
            quiet = quiet + 1 if not pending else 0
        seconds = time.perf_counter() - t - 0.5
        browser.close()
    figure(f"wall page weight, city view ({label})", f"{sum(received) / 1e6:.2f}", "MB")
    figure(f"wall page first full render, city view ({label})", f"{seconds:.1f}", "s")


# The grid geometries alone, as a generic tile server (tipg) draws a table: the reference the
# served tiles, which also count each grid's backlog, coverage and workers, are held to.
BARE_GRID_TILE = """
SELECT ST_AsMVT(t, 'grids', 4096, 'geom', 'id') FROM (
    SELECT g.id, g.code, g.name, g.kind,
           ST_AsMVTGeom(gv.geom_3857, ST_TileEnvelope(:z, :x, :y), 4096, 64, true) AS geom
      FROM grid_version gv JOIN grid g ON g.id = gv.grid_id
     WHERE gv.valid_to IS NULL
       AND gv.geom_3857 && ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096)) t"""


def alone(statements: dict[str, str], runs: list[dict],
          conn=None) -> dict[str, np.ndarray]:
    """Each statement (psycopg's placeholders) once per parameter set, from a lean client
    (psycopg, prepared, binary, generic plans: as the service runs its tiles), one round trip
    each, on ``conn`` or a connection of its own; the times of each, in ms."""
    import psycopg

    from mapsvc.db.engine import SESSION_OPTIONS, conninfo

    if conn is None:
        with psycopg.connect(conninfo(), autocommit=True, options=SESSION_OPTIONS) as own:
            return alone(statements, runs, own)
    times = {}
    for label, statement in statements.items():
        taken = []
        for params in runs:
            t = time.perf_counter()
            conn.execute(statement, params, prepare=True, binary=True).fetchall()
            taken.append((time.perf_counter() - t) * 1000)
        times[label] = np.array(taken)
    return times


def grid_tile_runs(z: int) -> tuple[str, list[dict]]:
    """The grid tile statement as it is drawn for a city's centre, and its parameters for each
    tile of the cold list."""
    from mapsvc.accounts.model import Account
    from mapsvc.db.reads import psycopg_sql
    from mapsvc.tiles.layers import COLLECTIONS, TileQuery, tile_sql

    city = Account(id=0, username="bench_city", role=Role.command)
    served, params = tile_sql(COLLECTIONS["grids"], z, TileQuery(), city)
    return psycopg_sql(served), [{**params, "z": int(tz), "x": int(tx), "y": int(ty)}
                                 for tz, tx, ty in listed_tiles("cold", z)]


def tile_statement_alone(z: int) -> tuple[float, float]:
    """The grid tile statement and the bare geometry tile alone, on the tiles of the cold list;
    printed, and their p50s returned."""
    from mapsvc.db.reads import psycopg_sql

    served, runs = grid_tile_runs(z)
    times = alone({"grid tile statement": served,
                   "bare grid geometry tile": psycopg_sql(BARE_GRID_TILE)}, runs)
    for label, ms in times.items():
        # the mean, beside the p50, says what a tile costs on average: throughput follows it
        for stat, value in (("p50", np.median(ms)), ("mean", ms.mean())):
            figure(f"{label} alone z{z} {stat} ({len(runs)} tiles)", f"{value:.2f}", "ms")
    served, bare = (float(np.median(times[k]))
                    for k in ("grid tile statement", "bare grid geometry tile"))
    figure(f"grid tile statement p50 over the bare geometry tile's, alone z{z}",
           f"{served / bare:.2f}", "×")
    return served, bare


# A city's grid holds 300 to 500 households (research/domain-standards.md): ten times the
# HOUSEHOLDS the bench registers in each.
CITY_HOUSEHOLDS, CITY_VISITED = 350, 245


def tiles_at_city_coverage() -> None:
    """The grid tile statement alone with each grid's coverage the size of a city grid's:
    CITY_HOUSEHOLDS households, CITY_VISITED of them visited in the last 60 days, written
    straight into the grids' figures for the measure and rolled back after."""
    import psycopg

    from mapsvc.db.engine import SESSION_OPTIONS, conninfo

    with psycopg.connect(conninfo(), options=SESSION_OPTIONS) as conn:
        # the visits' subquery names the row's grid, so that each grid draws visits of its own
        conn.execute("""
            UPDATE grid_figures SET households = %(households)s, last_visits = ARRAY(
                SELECT visit_second(now() - random() * interval '60 days') AS s
                  FROM generate_series(1, %(visited)s + 0 * grid_id) ORDER BY s)""",
                     {"households": CITY_HOUSEHOLDS, "visited": CITY_VISITED})
        for z in TILE_ZOOMS:
            served, runs = grid_tile_runs(z)
            ms = alone({"served": served}, runs, conn)["served"]
            figure(f"grid tile statement alone z{z} p50, {CITY_HOUSEHOLDS} households a grid, "
                   f"{CITY_VISITED} visited ({len(runs)} tiles)", f"{np.median(ms):.2f}", "ms")
        conn.rollback()


def bins_by_account(grids) -> None:
    """Aggregated tiles (z8, z10, z12): incident bins of every case and of the open ones (the
    wall's view), and heat over the last 7 days (the wall's default), for the city's command
    centre and for the largest county's, on the tiles of that county and on as many of the
    others: the statement alone, p50."""
    from mapsvc.accounts.model import Account
    from mapsvc.tiles.layers import COLLECTIONS, TileQuery, tile_sql
    from mapsvc.db.reads import psycopg_sql

    tms = morecantile.tms.get("WebMercatorQuad")
    rng = np.random.default_rng(5)
    county = grids["code"].str[:6].value_counts().index[0]
    places = {"in the county": grids[grids["code"].str.startswith(county)],
              "beyond it": grids[~grids["code"].str.startswith(county)]}
    accounts = {"city": Account(id=0, username="bench_city", role=Role.command),
                "county": Account(id=0, username="bench_county", role=Role.command,
                                  region_code=county)}
    week = (datetime.now(timezone.utc) - timedelta(days=7)).isoformat()
    layers = {"incident bins of all cases": ("incidents", TileQuery()),
              "incident bins of open cases": ("incidents", TileQuery(status="open")),
              "heat of 7 days": ("heat", TileQuery(since=week))}
    for z in (8, 10, 12):
        for place, chosen in places.items():
            picked = chosen.geometry.values[rng.permutation(len(chosen))[:200]]
            tiles = dict.fromkeys(tms.tile(x, y, z) for x, y in
                                  shapely.get_coordinates(shapely.point_on_surface(picked)))
            for (name, account), (layer, (collection, query)) in itertools.product(
                    accounts.items(), layers.items()):
                sql, params = tile_sql(COLLECTIONS[collection], z, query, account)
                p50 = np.median(alone({name: psycopg_sql(sql)},
                                      [{**params, "z": t.z, "x": t.x, "y": t.y}
                                       for t in tiles])[name])
                figure(f"{layer} z{z} for the {name}'s centre, tiles {place} p50 "
                       f"({len(tiles)} tiles)", f"{p50:.1f}", "ms")


def mapsvc_serve(port: int) -> list[str]:
    """mapsvc, as `mapsvc serve` runs it, with 2 workers."""
    return [sys.executable, "-m", "mapsvc.cli", "serve", "--port", str(port), "--workers", "2"]


@contextlib.contextmanager
def served(command: list[str] | None = None, *, port: int = 8765,
           health: str = "/api/v1/health", env: dict | None = None):
    """A service started by ``command`` (mapsvc's by default) on ``port``; yields its
    address."""
    server = subprocess.Popen(command or mapsvc_serve(port), env={**os.environ, **(env or {})})
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            if subprocess.run(["curl", "-sf", f"{base}{health}"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(15)


# tipg, a generic OGC API – Tiles server, drawing the current grids (their geometry in Web
# Mercator, as the served tiles draw them) with the same buffer: the reference the served
# grid tiles' throughput is held to.
TIPG_GRIDS = "bench_tipg.grids"
TIPG_VIEW = f"""
CREATE SCHEMA IF NOT EXISTS bench_tipg;
CREATE OR REPLACE VIEW {TIPG_GRIDS} AS
SELECT g.id, g.code, g.name, g.kind, gv.geom_3857 AS geom
  FROM grid_version gv JOIN grid g ON g.id = gv.grid_id WHERE gv.valid_to IS NULL"""
GRID_TILES = "/ogc/collections/grids/tiles/WebMercatorQuad/"
TIPG_TILES = f"/collections/{TIPG_GRIDS}/tiles/WebMercatorQuad/"


def tipg_database_url() -> str:
    """The database's address as tipg reads it: a host is required, so the socket directory
    mapsvc connects through is that host, percent-encoded (as libpq and asyncpg read it)."""
    from urllib.parse import quote

    from sqlalchemy.engine import make_url

    from mapsvc.settings import database_url

    url = make_url(database_url())
    query = dict(url.query)
    host = quote(query.pop("host"), safe="") if "host" in query else url.host
    port = query.pop("port", url.port)
    return (f"postgresql://{quote(url.username, safe='')}:{quote(url.password, safe='')}"
            f"@{host}:{port}/{url.database}")


@contextlib.contextmanager
def tipg_served():
    async def view(conn):
        for statement in TIPG_VIEW.split(";"):
            await conn.execute(text(statement))

    asyncio.run(in_transaction(view))
    # tipg under uvicorn, 2 workers
    command = [sys.executable, "-m", "uvicorn", "tipg.main:app", "--port", "8766", "--workers",
               "2", "--log-level", "warning", "--no-access-log"]
    with served(command, port=8766, health="/healthz", env={
            "DATABASE_URL": tipg_database_url(), "TIPG_DB_SCHEMAS": '["bench_tipg"]',
            "TIPG_TILE_BUFFER": "64", "TIPG_DB_SPATIAL_EXTENT": "false",
            "TIPG_DB_DATETIME_EXTENT": "false"}) as base:
        yield base


def plans_at_scale(rows: int) -> None:
    """A planner's redraw of the busiest township: two neighbouring grids merged and the
    largest split, then validation, the impact preview and publish, each timed."""
    from mapsvc.boundaries.plans import create_plan, load_plan, merge_grids, split_grid
    from mapsvc.boundaries.publish import preview, publish
    from mapsvc.boundaries.validation import validate

    async def draft(conn):
        if await find_account(conn, "bench_planner") is None:
            await create_account(conn, "bench_planner", PASSWORD, Role.admin, origin="benchmarks")
        account = await find_account(conn, "bench_planner")
        township = (await conn.execute(text(
            "SELECT township_code FROM incident WHERE township_code IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))).scalar_one()
        villages = list((await conn.execute(text(
            "SELECT code FROM region WHERE parent_code = :t AND level = 'village'"),
            {"t": township})).scalars())
        plan_id = await create_plan(conn, account, "基准：乡镇网格调整", villages)
        plan = await load_plan(conn, account, plan_id, draft=True)
        a, b = (await conn.execute(text("""
            SELECT x.code, y.code FROM plan_grid x JOIN plan_grid y
              ON x.plan_id = y.plan_id AND x.village_code = y.village_code AND x.code < y.code
             AND ST_Relate(x.geom, y.geom, '****1****')
             WHERE x.plan_id = :p LIMIT 1"""), {"p": plan_id})).one()
        await merge_grids(conn, plan, [a, b])
        big, line = (await conn.execute(text("""
            SELECT code, ST_AsGeoJSON(ST_MakeLine(
                       ST_MakePoint(ST_X(ST_Centroid(geom)), ST_YMin(geom) - 0.01),
                       ST_MakePoint(ST_X(ST_Centroid(geom)), ST_YMax(geom) + 0.01)))
              FROM plan_grid WHERE plan_id = :p ORDER BY ST_Area(geom) DESC LIMIT 1"""),
            {"p": plan_id})).one()
        await split_grid(conn, plan, big, json.loads(line))
        grids = (await conn.execute(text("SELECT count(*) FROM plan_grid WHERE plan_id = :p"),
                                    {"p": plan_id})).scalar_one()
        return account, plan_id, grids, len(villages)

    account, plan_id, grids, villages = asyncio.run(in_transaction(draft))
    label = f"{villages} villages, {grids:,} grids; {GRIDS:,} grids, {rows:,} incidents"

    def timed(work):
        async def run(conn):
            plan = await load_plan(conn, account, plan_id, draft=True)
            t = time.perf_counter()
            answer = await work(conn, plan)
            return time.perf_counter() - t, answer
        return asyncio.run(in_transaction(run))

    seconds, report = timed(validate)
    figure(f"plan validation ({label})", f"{seconds * 1000:.0f}", "ms")
    seconds, impact = timed(lambda conn, plan: preview(conn, plan, account))
    figure(f"plan impact preview ({label})", f"{seconds * 1000:.0f}", "ms")
    seconds, moved = timed(lambda conn, plan: publish(conn, plan, account,
                                                       force_reason="基准" if report["errors"]
                                                       else None))
    figure(f"plan publish, {moved['incidents_regridded']:,} open incidents regridded ({label})",
           f"{seconds * 1000:.0f}", "ms")


RUN_SECONDS = 15  # each locate and POST run


def serve_and_load(incidents: int) -> None:
    with served() as base:
        bench_token(base, "bench_city")
        wall_page(base, f"{incidents:,} incidents")
        os.environ["BENCH_POINTS"] = str(OUT / "points.lua")
        os.environ["BENCH_TOKEN"] = bench_token(base)
        for name, script in (("locate over HTTP", "locate.lua"), ("POST /incidents", "report.lua")):
            wrk(script, base, 3)  # warm-up: each worker's connections opened, statements prepared
            for connections, label in ((1, f", one client at a time ({GRIDS:,} grids)"),
                                       (16, f" (2 workers, 16 connections, {GRIDS:,} grids)")):
                before = wal_written()
                with ThreadPoolExecutor(1) as meanwhile:  # sampled inside the run, not its ends
                    during = meanwhile.submit(during_run, base, 2, RUN_SECONDS - 4)
                    r = wrk(script, base, RUN_SECONDS, connections=connections)
                sample = during.result()
                figure(f"{name}, connections each worker held{label}",
                       " / ".join(map(str, sample.split)))
                for part, seconds in sample.cpu.items():
                    figure(f"{name}, CPU per request in {part}{label}",
                           f"{seconds / r['rps'] * 1000:.2f}", "ms")
                figure(f"{name}, the machine's cores left idle{label}", f"{sample.idle:.0%}")
                for stat in ("p50", "p99"):
                    figure(f"{name} {stat}{label}", f"{r[stat]:.2f}", "ms")
                figure(f"{name} p99 with wrk's samples for coordinated omission{label}",
                       f"{r['p99_wrk']:.2f}", "ms")
                wal, whole = (now - then for now, then in zip(wal_written(), before))
                figure(f"{name}{label}: WAL written during the run, of it full-page images",
                       f"{wal / 1e6:,.1f} MB, {whole:,}")
            figure(f"{name} throughput (2 workers, 16 connections)", f"{r['rps']:,.0f}",
                   "requests/s")
        figure("POST /incidents answers other than 201 (a new incident)", r["others"])
        with tipg_served() as tipg, served(port=8767, env={"MAPSVC_TILES_CACHE_TILES": "0"}) \
                as drawing:
            tiles_over_http(base, drawing, tipg)


SHIFT = 16  # grid workers signing in at once as their shift starts
SHIFT_SECONDS = 10


def sign_ins_at_shift_start() -> None:
    """A shift starting: SHIFT grid workers signing in again and again at once, each password
    checked at the service's cost (Argon2id, 64 MiB over 3 passes), and meanwhile the
    service's health asked one at a time: sign-ins a second, and how long the health waited
    behind them."""
    async def staff(conn):
        code = (await conn.execute(text("SELECT min(code) FROM grid"))).scalar_one()
        made = set((await conn.execute(text(
            "SELECT username FROM account WHERE username LIKE 'bench_shift_%'"))).scalars())
        if missing := [AccountSpec(name, PASSWORD, Role.grid_worker, grid_codes=(code,))
                       for name in (f"bench_shift_{n:02d}" for n in range(SHIFT))
                       if name not in made]:
            await create_accounts(conn, missing, origin="benchmarks")

    asyncio.run(in_transaction(staff))
    with served() as base:
        done = threading.Event()

        def signing_in(n: int) -> int:
            signed = 0
            with httpx.Client(base_url=base, timeout=60) as client:
                while not done.is_set():
                    client.post("/api/v1/auth/token", data={
                        "username": f"bench_shift_{n:02d}", "password": PASSWORD}
                    ).raise_for_status()
                    signed += 1
            return signed

        waits = []
        with ThreadPoolExecutor(SHIFT) as shift, httpx.Client(base_url=base) as health:
            signed = [shift.submit(signing_in, n) for n in range(SHIFT)]
            start = time.perf_counter()
            while time.perf_counter() - start < SHIFT_SECONDS:
                asked = time.perf_counter()
                health.get("/api/v1/health").raise_for_status()
                waits.append((time.perf_counter() - asked) * 1000)
            done.set()
            total = sum(f.result() for f in signed)
    label = f"({SHIFT} at once, 2 workers)"
    figure(f"sign-ins a second at a shift's start {label}", f"{total / SHIFT_SECONDS:.1f}")
    for stat, at in (("p50", 0.5), ("p99", 0.99)):
        figure(f"GET /api/v1/health {stat} while they sign in {label}",
               f"{np.quantile(waits, at):.1f}", "ms")


def small_page() -> int:
    """The wall page before the big import: 10,000 incidents."""
    grids = asyncio.run(in_transaction(current_grids))
    frame = incident_rows(grids, 10_000, categories=["01", "06"], seed=9, days=30)
    path = OUT / "incidents_10k.csv"
    frame.to_csv(path, index=False)

    async def work(conn):
        return await import_incidents(conn, read_incidents(path, path.name), actor="bench")

    stored = asyncio.run(in_transaction(work)).inserted
    with served() as base:
        bench_token(base, "bench_city")
        wall_page(base, f"{stored:,} incidents")
    return stored


def locate_in_sql() -> None:
    """The lookup alone, inside PostGIS: what the HTTP figures are made of, beside a bare
    prepared lookup (the first grid covering the point) and a round trip doing nothing; and
    the grids near a phone's fix of 30 m, which the phone asks for beside it."""
    from mapsvc.db.reads import psycopg_sql
    from mapsvc.incidents.assignment import NEARBY

    async def points(conn):
        return (await conn.execute(text(
            "SELECT ST_X(p) AS x, ST_Y(p) AS y, ST_X(p) AS lon, ST_Y(p) AS lat, 30.0 AS reach, "
            "NULL::bigint AS grid_id, NULL::timestamptz AS at FROM (SELECT "
            "ST_PointOnSurface(geom) p FROM grid_version ORDER BY random() LIMIT 2000) q"
        ))).mappings().all()

    point = "ST_SetSRID(ST_MakePoint(%(x)s::float8, %(y)s::float8), 4326)"
    times = alone({
        f"locate_grid in SQL ({GRIDS:,} grids)": f"SELECT * FROM locate_grid({point}, now(), 50)",
        f"the grids near a fix of 30 m in SQL ({GRIDS:,} grids)": psycopg_sql(NEARBY),
        f"bare covering-grid lookup in SQL ({GRIDS:,} grids)":
            f"SELECT grid_id FROM grid_version WHERE valid_to IS NULL AND ST_Covers(geom, {point})"
            " LIMIT 1",
        "a round trip doing nothing": "SELECT %(x)s::float8 + %(y)s::float8"},
        [dict(p) for p in asyncio.run(in_transaction(points))])
    for label, ms in times.items():
        figure(f"{label}, prepared, one round trip each, p50", f"{np.median(ms):.3f}", "ms")


def people_lookups() -> None:
    """A person looked up by ID number, mobile or full name (查找人员) among the registry's
    people, by an administrator and by the centre of the person's county, each lookup written
    to the audit log as the service writes it."""
    from mapsvc.accounts.model import Account
    from mapsvc.registry.people import list_people
    from mapsvc.registry.privacy import ID_NUMBER, MOBILE, decrypt

    async def someone(conn):
        return (await conn.execute(text("""
            SELECT p.name, p.id_number_enc, p.mobile_enc, a.county_code,
                   (SELECT count(*) FROM person) AS people, (SELECT min(id) FROM account) AS by
              FROM person p JOIN household h ON h.id = p.household_id
              JOIN house ho ON ho.id = h.house_id JOIN address a ON a.id = ho.address_id
             WHERE p.id_number_enc IS NOT NULL AND p.mobile_enc IS NOT NULL
               AND p.left_on IS NULL
             ORDER BY p.id OFFSET (SELECT count(*) / 2 FROM person) LIMIT 1"""))).one()

    one = asyncio.run(in_transaction(someone))
    asked = {"id_number": decrypt(one.id_number_enc, ID_NUMBER),
             "mobile": decrypt(one.mobile_enc, MOBILE), "name": one.name}
    for label, account in (
            ("an administrator", Account(id=one.by, username="bench", role=Role.admin)),
            (f"its county's centre ({one.county_code})",
             Account(id=one.by, username="bench", role=Role.command,
                     region_code=one.county_code))):
        for field, value in asked.items():
            ms, found = median_of_5(lambda conn, field=field, value=value, account=account:
                                    list_people(conn, account, reason="bench", **{field: value}))
            figure(f"a person looked up by {field}, by {label} ({one.people:,} people, "
                   f"{len(found)} found), median of 5", f"{ms:.1f}", "ms")


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: `make bench` installs it")
    OUT.mkdir(exist_ok=True)
    build_area()
    before = small_page()
    path, rows = incident_file()
    bulk_import(path, rows)
    metrics(rows + before)
    staff_evaluation()
    worker_evaluation()
    incident_lists(rows + before)
    hotspots_at_scale()
    department_desk()
    ledgers()
    grid_lists()
    batch_steps(rows + before)
    sizing_at_scale()
    plans_at_scale(rows + before)
    patrols_at_scale(asyncio.run(in_transaction(current_grids)))
    campaigns_at_scale()
    micro_grids_at_scale()
    people_lookups()
    settle()
    grids = asyncio.run(in_transaction(current_grids))
    write_points(grids)
    write_tiles(grids)
    bins_by_account(grids)
    locate_in_sql()
    serve_and_load(rows + before)
    sign_ins_at_shift_start()
    tiles_at_city_coverage()
    hotline_callers()  # these last: their cases would change the figures before
    webhooks_at_scale()


if __name__ == "__main__":
    main()
