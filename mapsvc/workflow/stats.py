"""The centre's metrics (CJ/T 292 / GB/T 30428.4 as the research notes give them) per region,
grid, department and grid worker: counties, townships, departments and workers read from the
tally pre-aggregated per day (migration 0006), cities as their counties together, villages and
grids counted from their cases, as is any subject's breakdown by main class (问题类别).

The cases counted are those reported in the period (local dates, both ends included), as they
stand now; a breakdown in time (by day, week or month) counts those reported in each:

- 有效上报率 = 有效上报数 (filed or resolved on the spot) / 上报数
- 监督举报率 = 监督举报核实数 (cases a citizen or the 12345 hotline reported, filed) / 立案数: the
  share of a region's problems the public found before its grids did (a grid worker's figures,
  of the cases they reported, hold none)
- 漏报率 (a grid worker's) = of the cases filed in the grids the worker worked when they were
  reported, those a citizen or the hotline reported: the problems its rounds did not find first
- 按时核实率 (a grid worker's) = 按时核实数 / 应核实数: its findings on verify tasks (核实)
  made by the task's deadline, of the cases it found on and the cases in its grids whose verify
  deadline passed with no finding made
- 按时核查率 (a grid worker's) = 按时核查数 / 应核查数: its checks on site (核查, passed or
  failed) taken by the check deadline then running, of its checks and the cases in its grids
  whose check deadline passed with none taken
- 综合指标值 (a grid worker's, 0 to 100) = the weighted mean of its 有效上报率, 1 − 漏报率,
  按时核实率 and 按时核查率 (weights: setting ``MAPSVC_WORKFLOW_WORKER_WEIGHTS``, 40/20/20/20 by
  default) over those it has: a rate with nothing to count leaves its weight out
- 按时派遣率 = 按时派遣数 / 应派遣数, 应派遣数 = 派遣数 + cases waiting past their dispatch deadline
- 结案率 = 结案数 / 应结案数, 应结案数 = 处置数 + cases past their handling deadline and unhandled
- 处置率 = 处置数 / 应处置数, 按时处置率 = 按时处置数 (handled by the handling deadline) / 应处置数,
  应处置数 = 应结案数: what a handler is judged by, the centre's check aside
- 按期结案率 = 按期结案数 (closed by the case's deadline) / 应结案数, or / 结案数 where practice
  counts so (setting ``MAPSVC_WORKFLOW_ON_TIME_DENOMINATOR`` or ``denominator=``)
- 返工率 = 返工数 / 处置数
- 一次完成率 = 一次完成数 / 结案数: the cases closed that never went back (handed back 退回,
  reassigned 改派, reopened 重新办理) nor were sent back for rework (返工)
- 及时签收率 = of the cases sent to a handler (each by the last time it was sent) whose time to
  take them on (签收) has come, those taken on by it; one sent and still within its time counts
  once taken on, or once its time passes
- as a hotline is judged (接诉即办), counting no case taken out of the evaluation (不纳入考核):
  响应率 = of the public's cases dispatched whose time to contact their caller has come, those
  contacted by it (counted as 及时签收率 is); 催办率 = of the public's cases dispatched, those
  whose caller called again; 满意率 = of the cases rated, those rated 4 or 5; 解决率 = of the
  follow-ups that asked whether the problem was resolved, those it was
- handling time: working hours from dispatch to handled, less suspension; the average is exact,
  p90 (nearest rank) is given as the upper edge of its bin (HANDLING_BIN_EDGES): "90 % of the
  cases were handled within 12 working hours"
- overdue now: cases whose handling clock is red at this moment.

Regions, grids and grid workers in a breakdown, and a worker's own figures, also have 按期排查率:
of the things of the campaigns (专项排查) due in the period (by their due dates) that they
answered for (a worker: those in the grids it worked on the due day), those checked by the end
of their due day (mapsvc.registry.campaigns.campaigns_due).

Rates are fractions (0.9 is 90 %); a rate with nothing to count is null.
"""

import functools
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.accounts.jurisdiction import registry_scope
from mapsvc.accounts.model import GRID_ROLES, WORKER_NAME, Account, Role
from mapsvc.boundaries.queries import TOP_REGIONS, top_level
from mapsvc.boundaries.reading import CHILD_LEVEL
from mapsvc.errors import Forbidden, InvalidInput, NotFound
from mapsvc.geojson import Filters, code_range
from mapsvc.incidents.model import (LOCAL_TIME, PERIOD_END, PERIOD_START, PUBLIC_SOURCES,
                                   reported_within)
from mapsvc.registry.campaigns import campaigns_due
from mapsvc.registry.micro_grids import LEADER_HERE
from mapsvc.registry.queries import households_visited
from mapsvc.workflow.actions import STEP_AT
from mapsvc.workflow.clocks import RUNNING, handling_overdue
from mapsvc.workflow.machine import (CHECKING, FINDINGS, HANDLING, OPEN_SQL, TIMED_SQL, WAITING,
                                     sql_list)
from mapsvc.workflow.positions import staff_figures
from mapsvc.workflow.rates import rate

_FOLD_LOCK = 0x7A11  # one folder at a time; the others read deltas and tally together


# Handling times are tallied in bins (working hours): bin i holds the times below edge i and
# not below edge i-1; the last bin, 400 hours and beyond, has no upper edge. (The tally's
# trigger, migration 0006, bins by the same edges.)
HANDLING_BIN_EDGES = (0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 40, 60, 80, 120, 160, 240, 400)
BINS = tuple(f"h{i}" for i in range(len(HANDLING_BIN_EDGES) + 1))
# What incident_measures (migrations 0006, 0050, 0059 to 0062, 0064 to 0066) gives per case and
# the tally sums: counts, handling hours, satisfaction (the cases rated, the sum of their ratings,
# those rated satisfied), the follow-ups that asked whether the problem was resolved and those it
# was, the public's cases dispatched, those whose caller their handler contacted in time and
# those whose caller called again (催办), these from the cases rated on counting no case taken
# out of the evaluation (不纳入考核); the cases sent to a handler with a time to take them on by
# and those taken on by it (签收); the cases closed that never went back nor were reworked; and
# the cases handled in each bin.
COUNTS = ("reported", "valid", "filed", "public_filed", "voided", "dispatched",
          "dispatched_on_time", "handled", "handled_on_time", "closed", "closed_on_time",
          "rework", "handling_hours", "rated", "satisfaction", "satisfied", "resolved",
          "resolution_asked", "response_due", "responded", "urged", "accept_due",
          "accepted_on_time", "closed_first_time")
MEASURES = (*COUNTS, *BINS)
# Subjects with many cases are read from the tally; villages and grids, with few each, are
# counted from their cases directly. The incident column naming each kind of subject, and the
# type of the subjects' keys.
TALLIED = ("county", "township", "department", "worker")
SUBJECT_COLUMN = {"county": ("county_code", "text"), "township": ("township_code", "text"),
                  "village": ("village_code", "text"), "grid": ("grid_id", "bigint"),
                  "department": ("department_code", "text"), "worker": ("reporter_id", "bigint")}
# Regions whose cases are those of a range of village codes, as statistical codes nest: their
# open cases are a range of the index of cases by status and village (migration 0020).
NESTED = ("city", "county", "township", "village")
# the statuses whose clocks the live counts read (LIVE): waiting for dispatch, or with a handler
CLOCKED_SQL = "('filed', 'dispatched', 'in_progress')"


def _summed(names: tuple[str, ...], of: str = "") -> str:
    """SQL: the sums of the counts ``names`` (columns of ``of``), each cast to its measure's
    type."""
    return ", ".join(f"sum({of}{name})::{'float8' if name == 'handling_hours' else 'bigint'} "
                     f"AS {name}" for name in names)


# the measures of the cases read (each case's: incident_measures ``m``) summed
_LIVE_SUMS = ", ".join([_summed(COUNTS, "m.")] + [f"count(*) FILTER (WHERE m.bin = {i}) AS {name}"
                                                  for i, name in enumerate(BINS)])


# What the tally cannot see, counted as it stands now over cases of incident, unqualified, each
# with the cases that may be it, as their indexes find them: the cases overdue now, of a case's
# handling clock (a suspended one stopped) and of its dispatch clock (the open cases by status
# and village, which hold their deadlines: migration 0020); and those whose handler's time to
# take them on (签收) or to contact their caller (响应) has not yet come, nor been met, which the
# tally counts due from their dispatch (each by that time: migration 0067)
OVERDUE = {"overdue_now": handling_overdue(),
           "dispatch_overdue": "status = 'filed' AND dispatch_deadline < now()"}
_PAST = f"""status IN {CLOCKED_SQL}
            AND ((handling_deadline < now() AND status IN {sql_list(HANDLING)}
                  AND handling_deadline IS NOT NULL)
                 OR (dispatch_deadline < now() AND status = 'filed'))"""
WITHIN_TIME = {"accept_waiting": "status = 'dispatched' AND accepted_at IS NULL "
                                 "AND accept_deadline > now()",
               # one handed back waits to be sent again, to a handler who may tell its caller
               "response_waiting": f"status IN {CLOCKED_SQL} AND contacted_at IS NULL "
                                   "AND exempted_at IS NULL AND response_deadline > now()"}
_WITHIN = " OR ".join(f"({condition})" for condition in WITHIN_TIME.values())
LIVE = {**OVERDUE, **WITHIN_TIME}


def _counted(live: dict, also: str = "true") -> str:
    """SQL: the counts of ``live`` (name → condition), of the cases ``also`` holds for."""
    return ",\n".join(f"count(*) FILTER (WHERE {condition} AND {also}) AS {name}"
                      for name, condition in live.items())


def bin_upper_edge(bucket: int) -> float | None:
    return float(HANDLING_BIN_EDGES[bucket]) if bucket < len(HANDLING_BIN_EDGES) else None


async def fold(conn: AsyncConnection) -> None:
    """Move the deltas written since the last fold into the tally, unless another session is
    folding right now. Readers add deltas and tally, so folding only keeps reads short; the
    service folds every few seconds (mapsvc.api.main)."""
    if not (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                               {"k": _FOLD_LOCK})).scalar_one():
        return
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    await conn.execute(text(f"""
        WITH moved AS (DELETE FROM incident_tally_delta RETURNING *)
        INSERT INTO incident_tally AS t (kind, subject, day, {", ".join(MEASURES)})
        SELECT kind, subject, day, {sums} FROM moved GROUP BY 1, 2, 3
        ON CONFLICT (kind, subject, day) DO UPDATE SET
            {", ".join(f"{m} = t.{m} + excluded.{m}" for m in MEASURES)}"""))


@dataclass
class Figures:
    counts: dict
    live: dict = field(default_factory=lambda: dict.fromkeys(LIVE, 0))
    # a grid worker's: of the cases they reported, none the public's (no 监督举报率)
    reporter: bool = False

    @property
    def timed(self) -> dict[int, int]:
        """Bin → cases handled in a time within it."""
        return {i: self.counts[name] for i, name in enumerate(BINS) if self.counts[name]}

    def as_json(self, denominator: str) -> dict:
        c, live = self.counts, self.live
        due = c["handled"] + live["overdue_now"]
        dispatch_due = c["dispatched"] + live["dispatch_overdue"]
        accept_due = c["accept_due"] - live["accept_waiting"]
        response_due = c["response_due"] - live["response_waiting"]
        timed = self.timed
        n_timed = sum(timed.values())
        return {
            "reported": c["reported"], "valid": c["valid"], "filed": c["filed"],
            "public_filed": c["public_filed"], "voided": c["voided"],
            "dispatched": c["dispatched"], "dispatch_due": dispatch_due,
            "dispatched_on_time": c["dispatched_on_time"], "handled": c["handled"],
            "handled_on_time": c["handled_on_time"], "overdue_now": live["overdue_now"],
            "due": due, "closed": c["closed"], "closed_on_time": c["closed_on_time"],
            "rework": c["rework"], "rated": c["rated"],
            "valid_report_rate": rate(c["valid"], c["reported"]),
            "public_report_rate": (None if self.reporter
                                   else rate(c["public_filed"], c["filed"])),
            "on_time_dispatch_rate": rate(c["dispatched_on_time"], dispatch_due),
            "handling_rate": rate(c["handled"], due),
            "on_time_handling_rate": rate(c["handled_on_time"], due),
            "closure_rate": rate(c["closed"], due),
            "on_time_closure_rate": rate(c["closed_on_time"],
                                          due if denominator == "due" else c["closed"]),
            "rework_rate": rate(c["rework"], c["handled"]),
            "closed_first_time": c["closed_first_time"],
            "first_time_rate": rate(c["closed_first_time"], c["closed"]),
            # of the cases sent, those whose time to be taken on came (or that were taken on)
            "accept_due": accept_due, "accept_waiting": live["accept_waiting"],
            "accepted_on_time": c["accepted_on_time"],
            "on_time_accept_rate": rate(c["accepted_on_time"], accept_due),
            "handling_hours_avg": (round(c["handling_hours"] / n_timed, 2) if n_timed else None),
            "handling_hours_p90": _p90(timed),
            "satisfaction": round(c["satisfaction"] / c["rated"], 2) if c["rated"] else None,
            # as a hotline is judged (接诉即办): 响应率, 满意率, 解决率, 催办率
            "public_dispatched": c["response_due"], "response_due": response_due,
            "response_waiting": live["response_waiting"], "responded": c["responded"],
            "response_rate": rate(c["responded"], response_due),
            "urged": c["urged"], "urged_rate": rate(c["urged"], c["response_due"]),
            "satisfied": c["satisfied"], "satisfied_rate": rate(c["satisfied"], c["rated"]),
            "resolved": c["resolved"], "resolution_asked": c["resolution_asked"],
            "resolved_rate": rate(c["resolved"], c["resolution_asked"]),
        }


def _p90(timed: dict[int, int]) -> float | None:
    n = sum(timed.values())
    if not n:
        return None
    rank, seen = math.ceil(0.9 * n), 0
    for bucket in sorted(timed):
        seen += timed[bucket]
        if seen >= rank:
            return bin_upper_edge(bucket)
    raise AssertionError("unreachable: the ranks add up to n")


def _tallied(columns: str) -> str:
    """``columns`` of the tally and of the deltas not yet folded into it, together, for the
    subjects ``:subjects`` of kind ``:kind`` from day ``:start`` to ``:end``."""
    where = "kind = :kind AND subject = ANY(:subjects) AND day BETWEEN :start AND :end"
    return (f"SELECT {columns} FROM incident_tally WHERE {where} "
            f"UNION ALL SELECT {columns} FROM incident_tally_delta WHERE {where}")


# The periods a breakdown in time lists (分期): a row a day, a week (Monday to Sunday, as
# date_trunc and ISO 8601 have it) or a calendar month, at most TIMELINE_MOST of them, as pandas
# has them.
PERIODS = ("day", "week", "month")
TIMELINE_MOST = 366
_FREQUENCIES = {"day": "D", "week": "W-SUN", "month": "M"}


@dataclass(frozen=True)
class Period:
    key: str     # its first day, as the tally groups by it (ISO)
    code: str    # 2026-12-06, 2026-W49, 2026-12
    name: str
    start: date  # its days within those asked about
    end: date


@functools.lru_cache(maxsize=64)  # a request's tally and its rows ask for the same
def periods(start: date, end: date, per: str) -> tuple[Period, ...]:
    """The periods ``per`` from the one holding local date ``start`` to the one holding
    ``end``, their days those within ``start`` to ``end``."""
    first, last = (pd.Period(day, freq=_FREQUENCIES[per]) for day in (start, end))
    if (last - first).n + 1 > TIMELINE_MOST:
        raise InvalidInput(f"by={per} lists a row a {per}: at most {TIMELINE_MOST} rows; "
                           "a shorter period, or a longer one a row", field="by")
    firsts = [span.start_time.date() for span in pd.period_range(first, last)]
    # each until the next begins (the last may end after the calendar does: 9999-12-31)
    lasts = [day - timedelta(days=1) for day in firsts[1:]] + [end]
    return tuple(Period(day.isoformat(), _period_code(per, day),
                        _period_name(per, max(day, start), until), max(day, start), until)
                 for day, until in zip(firsts, lasts))


def _period_code(per: str, first: date) -> str:
    """A period (by its first day) as ISO 8601 writes it."""
    if per == "day":
        return first.isoformat()
    if per == "week":
        year, week, _ = first.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return f"{first.year:04d}-{first.month:02d}"


def _period_name(per: str, a: date, b: date) -> str:
    """A period as the page names it, by its days ``a`` to ``b``."""
    if per == "month":
        return f"{a.year}年{a.month}月"
    day = f"{a.year}年{a.month}月{a.day}日"
    if per == "day":
        return f"{day}（周{'一二三四五六日'[a.weekday()]}）"
    if a == b:
        return day
    return day + "—" + (f"{b.year}年{b.month}月" if b.year != a.year
                       else f"{b.month}月" if b.month != a.month else "") + f"{b.day}日"


def _local_day(column: str) -> str:
    """SQL: the local date of the time ``column``."""
    return f"({column} AT TIME ZONE 'Asia/Shanghai')::date"


async def tally(conn: AsyncConnection, kind: str, subjects: list[str], start: date,
                end: date, per: str | None = None) -> dict[str, Figures]:
    """The figures of each subject of ``kind`` over the cases reported from ``start`` to
    ``end`` (local dates, inclusive); given ``per`` (PERIODS), those of all the subjects
    together over the cases reported in each period, by its key (``periods``)."""
    if kind == "city":  # its counties' together
        counties = list((await conn.execute(text(
            "SELECT code FROM region WHERE level = 'county' AND left(code, 4) = ANY(:cities)"),
            {"cities": subjects})).scalars())
        if per is not None:
            return await tally(conn, "county", counties, start, end, per)
        return of_cities(await tally(conn, "county", counties, start, end), subjects)
    column, key_type = SUBJECT_COLUMN[kind]
    params = {"kind": kind, "subjects": subjects, "start": start, "end": end}

    def counted_by(subject: str, day: str) -> str:
        """SQL: what a row counts towards, its ``subject`` or the period of its ``day``."""
        return subject if per is None else f"date_trunc('{per}', {day})::date::text"

    if kind in TALLIED:
        columns = ", ".join(MEASURES)
        counted = text(f"SELECT subject, {_summed(MEASURES)} FROM ("
                       + _tallied(f"{counted_by('subject', 'day')} AS subject, {columns}")
                       + ") t GROUP BY subject")
    else:
        counted = text(f"""
            SELECT {counted_by(f"c.{column}::text", _local_day("c.reported_at"))} AS subject,
                   {_LIVE_SUMS}
              FROM incident c CROSS JOIN LATERAL incident_measures(c) m
             WHERE c.{column} = ANY(CAST(:subjects AS {key_type}[]))
               AND {reported_within("c.reported_at")}
             GROUP BY 1""")
    keys = subjects if per is None else [p.key for p in periods(start, end, per)]
    figures = {k: Figures({m: 0 for m in MEASURES}, reporter=kind == "worker") for k in keys}
    for row in (await conn.execute(counted, params)).mappings():
        figures[row["subject"]].counts.update({m: row[m] for m in MEASURES})
    # the period counted of the cases found, not used to find them: a generic plan would read
    # the index of report times for the period, which it cannot know holds most cases
    for live, cases in ((OVERDUE, _PAST), (WITHIN_TIME, _WITHIN)):
        counted = _counted(live, reported_within("reported_at"))
        by = counted_by("s.code" if kind in NESTED else f"{column}::text",
                        _local_day("reported_at"))
        if kind in NESTED:  # each region a range of village codes
            sql = f"""
                SELECT c.subject, {", ".join(f"sum(c.{name})::bigint AS {name}" for name in live)}
                  FROM unnest(CAST(:subjects AS text[])) s(code) CROSS JOIN LATERAL (
                       SELECT {by} AS subject, {counted} FROM incident
                        WHERE {code_range("village_code", "s.code")} AND ({cases})
                        GROUP BY 1) c
                 GROUP BY 1"""
        else:
            sql = f"""
                SELECT {by} AS subject, {counted} FROM incident
                 WHERE ({cases}) AND {column} = ANY(CAST(:subjects AS {key_type}[]))
                 GROUP BY 1"""
        for row in (await conn.execute(text(sql), params)).mappings():
            if row["subject"] in figures:  # (the cases of a period before or after count none)
                figures[row["subject"]].live.update({name: row[name] for name in live})
    return figures


def of_cities(counties: dict[str, Figures], cities: list[str]) -> dict[str, Figures]:
    """Each city's figures: those of ``counties`` (by code) whose codes start with its own,
    together."""
    return {city: merged([f for county, f in counties.items() if county.startswith(city)])
            for city in cities}


def merged(parts: list[Figures]) -> Figures:
    """The figures of ``parts`` together (a worker's periods still a worker's)."""
    total = Figures({m: 0 for m in MEASURES},
                    reporter=bool(parts) and all(f.reporter for f in parts))
    for f in parts:
        for m in MEASURES:
            total.counts[m] += f.counts[m]
        for name in LIVE:
            total.live[name] += f.live[name]
    return total


BREAKDOWNS = ("city", "county", "township", "village", "grid", "department", "worker", "operator",
              "category", *PERIODS)


@dataclass
class Subject:
    kind: str      # city, county, township, village, grid, department, worker, grids, deployment
    code: str | None
    name: str
    key: str | None = None  # what the tally calls it (a grid's id)
    grids: tuple[str, ...] = ()  # a grid chief's grids: the tally's keys of those they lead
    more: bool = False  # a class with subclasses, to break down in turn


# What a grid chief's figures break down by: the grids they lead, those grids' workers, the
# classes of their cases, and the periods they were reported in.
LED_BREAKDOWNS = ("grid", "worker", "category", *PERIODS)


def led_grids(account: Account) -> Subject:
    """The grids a grid chief leads, together (网格长: the evaluation of their grids)."""
    return Subject("grids", None, "所辖网格", grids=tuple(map(str, account.grid_ids)))


async def subject_of(conn: AsyncConnection, account: Account, level: str | None,
                     code: str | None, department: str | None) -> Subject:
    """What the request asks about, within what ``account`` may see (403 or 404 otherwise).
    A grid worker's or chief's figures are their own: the cases they reported, the patrols
    they walked."""
    if account.role in GRID_ROLES:
        if (level, code, department) != (None, None, None):
            raise Forbidden(f"a {account.role} account sees its own figures only",
                            field="department" if department is not None else "level")
        name = (await conn.execute(text("SELECT display_name FROM account WHERE id = :id"),
                                   {"id": account.id})).scalar_one()
        return Subject("worker", account.username, name, str(account.id))
    if department is not None:
        if account.role is Role.department and account.department_code != department:
            raise Forbidden("a department account sees its own figures only", field="department")
        row = (await conn.execute(text("SELECT code, name FROM department WHERE code = :c"),
                                  {"c": department})).first()
        if row is None:
            raise NotFound(f"no department {department!r}", field="department")
        return Subject("department", row.code, row.name, row.code)
    if account.role is Role.department:
        return await subject_of(conn, account, None, None, account.department_code)
    if account.role not in (Role.admin, Role.command):
        raise Forbidden(f"a {account.role} account has no figures to read", field="level")
    if level is None:
        if account.region_code is None:
            return Subject("deployment", None, "全部")
        level = (await conn.execute(text("SELECT level FROM region WHERE code = :c"),
                                    {"c": account.region_code})).scalar_one()
        code = account.region_code
    if code is None:
        raise InvalidInput(f"level={level} needs the code of the {level}", field="code")
    if level == "grid":
        row = (await conn.execute(text(
            "SELECT id::text AS key, code, name, village_code AS region FROM grid "
            "WHERE code = :c"), {"c": code})).first()
    else:
        row = (await conn.execute(text(
            "SELECT code AS key, code, name, code AS region FROM region "
            "WHERE code = :c AND level = :l"), {"c": code, "l": level})).first()
    if row is None or not account.covers(row.region):
        raise NotFound(f"no {level} {code!r} in your region", field="code")
    return Subject(level, row.code, row.name, row.key)


# The grids within a subject, and the grid workers and chiefs who worked any of them in the
# period (account_grid_period, migration 0053), for ``{within}``: a condition on a grid ``g``
# (in a region's villages, or among a chief's grids).
_GRIDS = "SELECT id::text AS key, code, name FROM grid g WHERE {within} ORDER BY code"
_WORKERS = f"""
    SELECT a.id::text AS key, a.username AS code, a.display_name AS name
      FROM account a
     WHERE a.role IN ('grid_worker', 'grid_chief') AND EXISTS (
           SELECT 1 FROM account_grid_period p JOIN grid g ON g.id = p.grid_id
            WHERE p.account_id = a.id AND {{within}}
              AND p.since < {PERIOD_END} AND coalesce(p.until, 'infinity') > {PERIOD_START})
     ORDER BY a.username"""


async def breakdown(conn: AsyncConnection, subject: Subject, by: str,
                    start: date | None = None, end: date | None = None) -> list[Subject]:
    """The subjects of kind ``by`` within ``subject``, in code order: for workers, those who
    worked there from local date ``start`` to ``end``."""
    params = {"prefix": (subject.code or "") + "%", "ids": [int(g) for g in subject.grids],
              "start": start, "end": end}
    within = "g.id = ANY(:ids)" if subject.kind == "grids" else "g.village_code LIKE :prefix"
    if by == "city" and subject.kind == "deployment":  # its top: its counties of no city too
        sql = ("SELECT r.code AS key, r.code, r.name, r.level AS kind FROM region r "
               f"WHERE {TOP_REGIONS} ORDER BY r.code")
    elif by in NESTED:
        sql = ("SELECT code AS key, code, name FROM region WHERE level = :by "
               "AND code LIKE :prefix ORDER BY code")
        params["by"] = by
    elif by == "department":
        sql = ("SELECT code AS key, code, name FROM department "
               "WHERE :prefix = '%' OR region_code LIKE :prefix ORDER BY code")
    else:  # the grids within, or their grid workers and chiefs
        sql = (_GRIDS if by == "grid" else _WORKERS).format(within=within)
    rows = await conn.execute(text(sql), params)
    return [Subject(r._mapping.get("kind", by), r.code, r.name, r.key) for r in rows]


def _classes_under(parent: str | None) -> str:
    """A CTE ``row_class``: each class with the row it is counted in (``row``, ``name``): the
    child of ``:parent`` its code starts with, or ``:parent`` itself; without a parent, the
    main class (大类, the root of the tree). Codes may hold letters: a prefix test, as in
    ``under_class``. The cases are counted per class first and each class's counts then
    joined to its row by equality: a join on the codes' prefixes tested the roots for each case
    (the city's fortnight for the wall's panel in 480 ms against 80), and a plan joining case by
    case, reckoning with one class, read the cases once for each class (2.6 s against 0.11 with
    a quarter of a million cases in the fortnight)."""
    rows = ("r.parent_code IS NULL" if parent is None
            else "(r.parent_code = :parent OR r.code = :parent)")
    return f"""row_class AS MATERIALIZED (
        SELECT DISTINCT ON (k.code) k.code, r.code AS row, r.name FROM category k
          JOIN category r ON {rows} AND starts_with(k.code, r.code)
         ORDER BY k.code, length(r.code) DESC)"""


def _holding(subject: Subject) -> tuple[str, dict]:
    """The cases of ``subject`` (as a condition on an incident ``c``), and its parameters."""
    if subject.kind == "deployment":
        return "true", {}
    if subject.kind in NESTED:
        f = Filters()
        return f.code_prefix("c.village_code", "region", subject.code), f.params
    column, key_type = SUBJECT_COLUMN[subject.kind if subject.kind != "grids" else "grid"]
    keys = [int(k) for k in subject.grids] if subject.kind == "grids" else [subject.key]
    return f"c.{column} = ANY(CAST(:keys AS {key_type}[]))", {"keys": keys}


async def by_class(conn: AsyncConnection, subject: Subject, start: date, end: date,
                   parent: str | None = None) -> tuple[list[Subject], dict[str, Figures]]:
    """The classes of the rows, and the figures of ``subject``'s cases of each (its subclasses'
    too: a class's code starts with its parent's), counted from the cases reported from
    ``start`` to ``end`` (local dates, inclusive): the main classes (大类), or ``parent`` (its
    cases of no subclass) and its subclasses."""
    holding, params = _holding(subject)
    classes = (await conn.execute(text("""
        SELECT r.code, r.name, EXISTS (SELECT 1 FROM category s WHERE s.parent_code = r.code)
                   AS more
          FROM category r
         WHERE CASE WHEN CAST(:parent AS text) IS NULL THEN r.parent_code IS NULL
                    ELSE r.code = :parent OR r.parent_code = :parent END
         ORDER BY r.code <> coalesce(:parent, ''), r.code"""), {"parent": parent})).all()
    if parent is not None and not classes:
        raise NotFound(f"no class {parent!r}", field="category")
    rows = [Subject("category", r.code, f"{r.name}（本类）" if r.code == parent else r.name,
                    r.code, more=r.more and r.code != parent) for r in classes]
    figures = {r.key: Figures({m: 0 for m in MEASURES}, reporter=subject.kind == "worker")
               for r in rows}
    counted = await conn.execute(text(f"""
        WITH {_classes_under(parent)}
        SELECT k.row AS subject, {_summed((*MEASURES, *LIVE), "per_code.")}
          FROM (SELECT c.category_code, {_LIVE_SUMS}, {_counted(LIVE)}
                  FROM incident c CROSS JOIN LATERAL incident_measures(c) m
                 WHERE {holding} AND {reported_within("c.reported_at")}
                 GROUP BY 1) per_code
          JOIN row_class k ON k.code = per_code.category_code
         GROUP BY 1"""), {**params, "parent": parent, "start": start, "end": end})
    for row in counted.mappings():
        f = figures[row["subject"]]
        f.counts.update({m: row[m] for m in MEASURES})
        f.live.update({name: row[name] for name in LIVE})
    return rows, figures


# Patrols (日常巡查) that ended in the period: a worker's own, and those through a grid with
# the length walked in it.
_PATROLS = {
    "worker": f"""
        SELECT p.account_id::text AS key, count(*) AS patrols, sum(p.length_m) AS metres
          FROM patrol p
         WHERE p.account_id = ANY(CAST(:keys AS bigint[])) AND {reported_within("p.ended_at")}
         GROUP BY 1""",
    "grid": f"""
        SELECT pg.grid_id::text AS key, count(*) AS patrols, sum(pg.length_m) AS metres
          FROM patrol_grid pg JOIN patrol p ON p.id = pg.patrol_id
         WHERE pg.grid_id = ANY(CAST(:keys AS bigint[])) AND {reported_within("p.ended_at")}
         GROUP BY 1""",
}


async def patrols_within(conn: AsyncConnection, by: str, keys: list[str], start: date,
                         end: date) -> dict[str, dict]:
    """Per worker or grid of ``keys`` (those ``by`` names), the patrols that ended from
    ``start`` to ``end`` (local dates, inclusive): how many, and the kilometres walked."""
    rows = await conn.execute(text(_PATROLS[by]), {"keys": [int(k) for k in keys],
                                                   "start": start, "end": end})
    walked = {r.key: {"count": r.patrols, "km": round(r.metres / 1000, 2)} for r in rows}
    return {key: walked.get(key, {"count": 0, "km": 0.0}) for key in keys}


# Per grid worker, the cases reported in the period in the grids it worked when they were
# reported (account_grid_period, migration 0053): those filed, those of them the public
# reported (漏报率), and those whose verify or check clock ran out with no finding made (lapsed,
# counted against 按时核实率 and 按时核查率).
_IN_GRIDS = f"""
    SELECT p.account_id::text AS key,
           count(*) FILTER (WHERE c.filed_at IS NOT NULL) AS filed,
           count(*) FILTER (WHERE c.filed_at IS NOT NULL
                              AND c.source IN {sql_list(PUBLIC_SOURCES)}) AS public,
           count(*) FILTER (WHERE c.status IN {sql_list(RUNNING["verify"])}
                              AND c.verify_deadline < now()) AS verify_lapsed,
           count(*) FILTER (WHERE c.status IN {sql_list(RUNNING["check"])}
                              AND c.check_deadline < now()) AS check_lapsed
      FROM account_grid_period p JOIN incident c ON c.grid_id = p.grid_id
       AND c.reported_at >= p.since AND c.reported_at < coalesce(p.until, 'infinity')
     WHERE p.account_id = ANY(CAST(:keys AS bigint[])) AND {reported_within("c.reported_at")}
     GROUP BY 1"""

# Per grid worker, its findings on site (its steps) on the cases reported in the period: on a
# verify task, the finding that stopped the task's clock (logged with the deadline it was due
# by, ``due_by``: one a case, none for a task sent before the clock was kept), on time if made
# by then; its checks, each on time if taken by the deadline set by the step that started the
# check's clock (report_handled, logged with it).
_FOUND = f"""
    SELECT w.id::text AS key, t.*
      FROM account w CROSS JOIN LATERAL (
           SELECT count(*) FILTER (WHERE l.data ? 'due_by') AS verified,
                  count(*) FILTER (WHERE {STEP_AT} <= CAST(l.data ->> 'due_by' AS timestamptz))
                      AS verified_on_time,
                  count(*) FILTER (WHERE l.action IN {sql_list(CHECKING)}) AS checked,
                  count(*) FILTER (WHERE l.action IN {sql_list(CHECKING)} AND {STEP_AT} <= (
                      SELECT CAST(d.data ->> 'check_deadline' AS timestamptz)
                        FROM incident_log d
                       WHERE d.incident_id = l.incident_id AND d.id < l.id
                         AND d.data ? 'check_deadline'
                       ORDER BY d.id DESC LIMIT 1)) AS checked_on_time
             FROM incident_log l JOIN incident c ON c.id = l.incident_id
            WHERE l.actor = w.username AND l.action IN {sql_list(FINDINGS)}
              -- a step comes after its case's report: the index reads from the period on
              AND l.at >= {PERIOD_START}
              AND {reported_within("c.reported_at")}) t
     WHERE w.id = ANY(CAST(:keys AS bigint[]))"""


async def worker_rates(conn: AsyncConnection, keys: list[str], start: date,
                       end: date) -> dict[str, dict]:
    """Per grid worker of ``keys``, over the cases reported from ``start`` to ``end`` (local
    dates, inclusive): its 漏报率 (``missed``: of the cases of its grids filed, those the public
    reported, and the share they are), its 按时核实率 (``verifies``: the cases it made a finding
    on, those on time, the cases of its grids whose verify task is overdue with none, the
    findings due, made and lapsed, and the share of them on time) and its 按时核查率
    (``checks``, likewise of its checks)."""
    params = {"keys": [int(k) for k in keys], "start": start, "end": end}
    none = dict.fromkeys(("filed", "public", "verify_lapsed", "check_lapsed"), 0)
    in_grids = {r.key: r for r in (await conn.execute(text(_IN_GRIDS), params)).mappings()}
    found = {r.key: r for r in (await conn.execute(text(_FOUND), params)).mappings()}
    rates = {}
    for key in keys:
        grids, made = in_grids.get(key, none), found[key]
        rates[key] = {
            "missed": {"filed": grids["filed"], "public": grids["public"],
                       "rate": rate(grids["public"], grids["filed"])},
            "verifies": _timely("verified", made["verified"], made["verified_on_time"],
                                grids["verify_lapsed"]),
            "checks": _timely("checked", made["checked"], made["checked_on_time"],
                              grids["check_lapsed"])}
    return rates


def worker_score(figures: dict, rates: dict) -> float | None:
    """A grid worker's 综合指标值 from its figures and its rates (``worker_rates``): the
    weighted mean, 0 to 100, of the rates it has; null with none."""
    missed = rates["missed"]["rate"]
    shares = {"valid_report": figures["valid_report_rate"],
              "missed": None if missed is None else 1 - missed,
              "verifies": rates["verifies"]["rate"], "checks": rates["checks"]["rate"]}
    weights = {name: weight for name, weight in settings.workflow().worker_weights
               if weight and shares[name] is not None}
    if not weights:
        return None
    return round(100 * sum(w * shares[n] for n, w in weights.items()) / sum(weights.values()), 1)


def _timely(name: str, made: int, on_time: int, lapsed: int) -> dict:
    """A worker's findings of one kind: those made (``name``), those on time, those its grids
    let lapse, and those due (made or lapsed)."""
    return {name: made, "on_time": on_time, "lapsed": lapsed, "due": made + lapsed,
            "rate": rate(on_time, made + lapsed)}


async def statistics(conn: AsyncConnection, account: Account, *, level: str | None = None,
                     code: str | None = None, department: str | None = None,
                     by: str | None = None, category: str | None = None, start: date,
                     end: date, denominator: str) -> dict:
    if end < start:
        raise InvalidInput("to is before from", field="to")
    if category is not None:
        if by not in (None, "category"):
            raise InvalidInput("a class breaks down into its subclasses: by=category",
                               field="category")
        by = "category"
    subject = await subject_of(conn, account, level, code, department)
    if account.role is Role.grid_chief and by is not None:
        if by not in LED_BREAKDOWNS:
            raise InvalidInput("a grid chief's grids break down by grid, worker, class or "
                               "period", field="by")
        subject = led_grids(account)
    if by is None:
        # the level below (the deployment's: its top_level)
        by = await top_level(conn) if subject.kind == "deployment" else CHILD_LEVEL.get(
            subject.kind)
    if by not in (None, "category", *PERIODS) and subject.kind in ("department", "worker"):
        raise InvalidInput(f"a {subject.kind}'s figures break down by class or period",
                           field="by")
    if by == "operator" and subject.kind == "grids":
        raise InvalidInput("the centre's staff are evaluated by region", field="by")
    # the deployment's figures are its counties' together: tallied once, for its rows of
    # counties or of cities too (by period, its periods' together)
    counties = (await tally(conn, "county", [c.key for c in await breakdown(
        conn, subject, "county")], start, end)
        if subject.kind == "deployment" and by not in PERIODS else None)
    if by == "category":
        rows, parts = await by_class(conn, subject, start, end, category)
    elif by in PERIODS:
        rows, parts = [], await _timeline(conn, subject, start, end, by)
    else:
        rows = await breakdown(conn, subject, by, start, end) if by and by != "operator" else []
        keys = [r.key for r in rows]
        if counties is not None and by in ("county", "city"):
            parts = counties if by == "county" else {  # a county of no city its own
                **of_cities(counties, [r.key for r in rows if r.kind == "city"]),
                **{r.key: counties[r.key] for r in rows if r.kind == "county"}}
        else:
            parts = await tally(conn, by, keys, start, end) if rows else {}
    walked = (await patrols_within(conn, by, [r.key for r in rows], start, end)
              if rows and by in _PATROLS else {})
    rated = (await worker_rates(conn, [r.key for r in rows], start, end)
             if rows and by == "worker" else {})
    checked = (await campaigns_due(conn, by, [r.key for r in rows], start, end,
                                   within=subject.code if subject.kind in NESTED else "")
               if rows and by in (*NESTED, "grid", "worker") else {})
    if by in PERIODS:  # the periods hold the days asked about, each day once
        whole = merged(list(parts.values()))
    elif counties is not None:
        whole = merged(list(counties.values()))
    elif subject.kind == "grids":
        whole = merged(list(parts.values()) if by == "grid" else list(
            (await tally(conn, "grid", list(subject.grids), start, end)).values()))
    else:
        whole = (await tally(conn, subject.kind, [subject.key], start, end))[subject.key]
    figures = whole.as_json(denominator)
    own = {}
    if subject.kind == "worker":
        rates = (await worker_rates(conn, [subject.key], start, end))[subject.key]
        mine = [subject.key]
        own = {"patrols": (await patrols_within(conn, "worker", mine, start, end))[subject.key],
               **rates, "score": worker_score(figures, rates),
               "campaigns": (await campaigns_due(conn, "worker", mine, start, end))[subject.key]}
    if by == "operator":
        cases, params = _holding(subject)
        listed = await staff_figures(conn, cases, _staff(subject), params, start, end)
    elif by in PERIODS:
        listed = [{"kind": by, "code": p.code, "name": p.name, "from": p.start.isoformat(),
                   "to": p.end.isoformat(), "figures": parts[p.key].as_json(denominator)}
                  for p in periods(start, end, by)]
    else:
        listed = [_row(r, parts[r.key].as_json(denominator), walked.get(r.key),
                       rated.get(r.key), checked.get(r.key), by == "category") for r in rows]
    return {
        "kind": subject.kind, "code": subject.code, "name": subject.name,
        "from": start.isoformat(), "to": end.isoformat(), "denominator": denominator,
        "figures": figures, **own, "by": by, "rows": listed,
        **({"score_weights": settings.workflow().worker_weights.model_dump()}
           if own or rated else {}),
    }


async def _timeline(conn: AsyncConnection, subject: Subject, start: date, end: date,
                    per: str) -> dict[str, Figures]:
    """The subject's figures over the cases reported in each period ``per`` (by its key)."""
    if subject.kind == "deployment":
        kind, keys = "county", [c.key for c in await breakdown(conn, subject, "county")]
    elif subject.kind == "grids":
        kind, keys = "grid", list(subject.grids)
    else:
        kind, keys = subject.kind, [subject.key]
    return await tally(conn, kind, keys, start, end, per)


def _row(subject: Subject, figures: dict, patrols: dict | None, rates: dict | None,
         campaigns: dict | None, classes: bool) -> dict:
    """A row of a breakdown: the subject's figures, with its patrols (workers and grids), its
    rates and 综合指标值 (workers), the things its campaigns due checked in time (regions, grids
    and workers), and its subclasses (by class)."""
    return {"kind": subject.kind, "code": subject.code, "name": subject.name,
            "figures": figures, **({"patrols": patrols} if patrols is not None else {}),
            **({"campaigns": campaigns} if campaigns is not None else {}),
            **({**rates, "score": worker_score(figures, rates)} if rates is not None else {}),
            **({"subclasses": subject.more} if classes else {})}


def _staff(subject: Subject) -> str:
    """The centre accounts listed though idle (a condition on an account ``a``, with
    ``_holding``'s parameters): a region's own, all for the deployment, none for a grid."""
    if subject.kind == "deployment":
        return "true"
    if subject.kind in NESTED:
        return Filters().code_prefix("a.region_code", "region", subject.code)
    return "false"


TREND_DAYS = 14
# A region's grids in force (those of the account's scope in it), with those a patrol passed
# through since a time, those divided into micro-grids, their micro-grids and those whose
# leader lives in them, from each grid's row of figures (migrations 0036, 0078, 0082).
_GRIDS_COVERED = """
SELECT count(*) AS grids,
       count(*) FILTER (WHERE f.last_patrol >= visit_second(CAST(:since AS timestamptz)))
           AS patrolled,
       count(*) FILTER (WHERE f.micro_grids > 0) AS divided,
       coalesce(sum(f.micro_grids), 0) AS micro_grids, coalesce(sum(f.micro_led), 0) AS led
  FROM grid g JOIN grid_version gv ON gv.grid_id = g.id AND gv.valid_to IS NULL
  LEFT JOIN grid_figures f ON f.grid_id = g.id
 WHERE {where}
"""


async def board(conn: AsyncConnection, account: Account, *, level: str | None = None,
                code: str | None = None, today: date, visit_days: int = 30) -> dict:
    """The wall screen's panel for a region: reported and closed today, open, waiting to be taken
    in (reported, being verified; and since when the longest waiting came), urgent and red now,
    this year's 按期结案率, 结案率, satisfaction, 响应率, 满意率, 解决率 and 催办率 (with their cases)
    and 监督举报率 (with the cases filed, and those of them the public reported), and reports per
    day for two weeks, and of each main class over those weeks (``classes``, the most first).
    For a grid also its workers, its households with those visited within ``visit_days``, its
    last patrol (when it ended, and who walked it), and its micro-grids with those led (联户长);
    for a region its grids, with those a patrol passed through within ``visit_days``."""
    if account.role in GRID_ROLES:
        raise Forbidden(f"a {account.role} account has no region's panel", field="level")
    subject = await subject_of(conn, account, level, code, None)
    if subject.kind == "department":
        raise InvalidInput("the panel is for a region", field="level")
    start = datetime.combine(today, time(), LOCAL_TIME)  # today, local time
    params: dict = {"start": start, "end": start + timedelta(days=1)}
    where = opened = "true"
    if subject.kind in SUBJECT_COLUMN:
        column, key_type = SUBJECT_COLUMN[subject.kind]
        where = opened = f"d.{column} = CAST(:key AS {key_type})"
        params["key"] = subject.key
    if subject.kind in NESTED:
        f = Filters()
        opened = f.code_prefix("d.village_code", "region", subject.key)
        params.update(f.params)
        if subject.kind not in SUBJECT_COLUMN:  # a city: its villages' cases
            where = opened
    # each figure from its own index: report time, close time, the open cases by status, and
    # those whose clocks run with their clocks (migrations 0014, 0020, 0023); only these can be
    # overdue, so the others are counted, not graded; the day bounded at both ends, or a
    # generic plan takes an open-ended bound for a third of the table and reads all of it
    now = (await conn.execute(text(f"""
        SELECT (SELECT count(*) FROM incident d
                 WHERE {where} AND d.reported_at >= :start AND d.reported_at < :end)
                   AS reported_today,
               (SELECT count(*) FROM incident d
                 WHERE {where} AND d.closed_at >= :start AND d.closed_at < :end)
                   AS closed_today,
               (SELECT count(*) FROM incident d WHERE {opened} AND d.status IN {OPEN_SQL})
                   AS open,
               (SELECT count(*) FROM incident d
                 WHERE {opened} AND d.status IN {sql_list(WAITING)}) AS waiting,
               (SELECT min(d.received_at) FROM incident d
                 WHERE {opened} AND d.status IN {sql_list(WAITING)}) AS waiting_since,
               (SELECT count(*) FROM incident d
                 WHERE {opened} AND d.status IN {OPEN_SQL} AND d.urgent_at IS NOT NULL)
                   AS urgent,
               (SELECT count(*) FROM incident d
                 WHERE {opened} AND d.status IN {TIMED_SQL} AND incident_overdue(d))
                   AS overdue"""), params)).one()
    # a city's and the deployment's figures are their counties' together
    kinds = ([("county", [c.key for c in await breakdown(conn, subject, "county")])]
             if subject.kind in ("city", "deployment") else [(subject.kind, [subject.key])])
    year = merged([f for kind, keys in kinds
                   for f in (await tally(conn, kind, keys, today.replace(month=1, day=1),
                                         today)).values()])
    since = today - timedelta(days=TREND_DAYS - 1)
    trend = dict.fromkeys((since + timedelta(days=i) for i in range(TREND_DAYS)), 0)
    for kind, keys in kinds:
        for day, n in await _daily(conn, kind, keys, since, today):
            trend[day] += n
    holding, held = _holding(subject)
    classes = await conn.execute(text(f"""
        WITH {_classes_under(None)}
        SELECT k.row AS code, k.name, sum(per_code.reported)::bigint AS reported
          FROM (SELECT c.category_code, count(*) AS reported FROM incident c
                 WHERE {holding} AND {reported_within("c.reported_at")}
                 GROUP BY 1) per_code
          JOIN row_class k ON k.code = per_code.category_code
         GROUP BY k.row, k.name ORDER BY reported DESC, k.row"""),
        {**held, "start": since, "end": today})
    figures = year.as_json(settings.workflow().on_time_denominator)  # as the evaluation's
    answer = {"kind": subject.kind, "code": subject.code, "name": subject.name,
              **now._asdict(),
              "year": {k: figures[k] for k in ("reported", "filed", "public_filed",
                                               "public_report_rate", "closure_rate",
                                               "on_time_closure_rate", "satisfaction",
                                               "rated", "satisfied", "satisfied_rate",
                                               "resolution_asked", "resolved",
                                               "resolved_rate", "public_dispatched",
                                               "response_due", "responded", "response_rate",
                                               "urged", "urged_rate")},
              "trend": [{"day": d.isoformat(), "reported": n} for d, n in trend.items()],
              "classes": [dict(r._mapping) for r in classes]}
    if subject.kind == "grid":  # kept beside the grid (migrations 0015, 0028)
        grid = (await conn.execute(text(f"""
            SELECT g.workers, coalesce(f.households, 0) AS households,
                   {households_visited("days")} AS visited,
                   (SELECT json_build_object(
                               'ended_at', p.ended_at,
                               'worker', {WORKER_NAME})
                      FROM patrol_grid pg JOIN patrol p ON p.id = pg.patrol_id
                      JOIN account a ON a.id = p.account_id
                     WHERE pg.grid_id = g.id ORDER BY p.ended_at DESC LIMIT 1) AS last_patrol,
                   (SELECT count(*) FROM micro_grid m WHERE m.grid_id = g.id) AS micro_grids,
                   (SELECT count(*) FROM micro_grid m JOIN person l ON l.id = m.leader_id
                     WHERE m.grid_id = g.id AND {LEADER_HERE}) AS led
              FROM grid g LEFT JOIN grid_figures f ON f.grid_id = g.id
             WHERE g.id = CAST(:key AS bigint)"""), {"key": subject.key, "days": visit_days})).one()
        answer["grid"] = {**grid._asdict(), "visit_days": visit_days}
    else:
        f = Filters(params={"since": datetime.now(LOCAL_TIME) - timedelta(days=visit_days)})
        registry_scope(account, f, alias="g", grid_column="id", people=False)
        if subject.kind != "deployment":
            f.add(f.code_prefix("g.village_code", "region", subject.code))
        grids = (await conn.execute(text(_GRIDS_COVERED.format(where=f.where())),
                                    f.params)).one()
        answer["patrols"] = {"days": visit_days, "grids": grids.grids,
                             "patrolled": grids.patrolled}
        answer["micro_grids"] = {"grids": grids.grids, "divided": grids.divided,
                                 "micro_grids": grids.micro_grids, "led": grids.led}
    return answer


async def _daily(conn: AsyncConnection, kind: str, keys: list[str], start: date,
                 end: date) -> list[tuple[date, int]]:
    if kind in TALLIED:
        sql = f"SELECT day, sum(reported)::bigint FROM ({_tallied('day, reported')}) t GROUP BY day"
    else:
        column, key_type = SUBJECT_COLUMN[kind]
        sql = f"""SELECT {_local_day("reported_at")} AS day, count(*)
                    FROM incident
                   WHERE {column} = ANY(CAST(:subjects AS {key_type}[]))
                     AND {reported_within("reported_at")}
                   GROUP BY 1"""
    rows = await conn.execute(text(sql), {"kind": kind, "subjects": keys, "start": start,
                                          "end": end})
    return [tuple(r) for r in rows]
