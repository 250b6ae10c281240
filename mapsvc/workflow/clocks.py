"""The clocks of a case: verifying (the verify task sent → the field's finding), dispatch
(filed → dispatched), handling (dispatched → handled), checking (handled → checked) and the
whole case (filed → closed).

The handling limit is the category's time limit; the verifying, dispatch and checking limits
come from the category's properties ``verify_limit``, ``dispatch_limit`` and ``check_limit``
(text such as ``"30 working_hours"``) or else from the settings; the whole case's limit is the
category's ``case_limit`` or else dispatch, handling and checking in a row. Each is inherited
from the nearest ancestor that sets it. An urgent case (加急) is to be handled within the
settings' ``urgent_limit`` where that comes sooner than its category's: on the clock, for an
urgent matter does not wait for Monday. A clock is stored as its deadline and the moment 80 %
of its limit is used, so that its colour (green, yellow, red) is read in SQL by comparing
times.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.workflow.calendar import UNITS, WorkingCalendar
from mapsvc.workflow.machine import FILED_ON, sql_list

WARN_SHARE = 0.8  # yellow from here; red past the deadline
COLOURS = ("green", "yellow", "red")  # a case's colour: the worst of its running clocks
COLOUR_NAMES = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
# The states in which each clock may run (its colour graded, migrations 0006 and 0052): while
# it has a deadline (the field's finding stops the verify clock, the case still verifying).
RUNNING = {"verify": ("verifying",), "dispatch": ("filed",),
           "handling": ("dispatched", "in_progress"), "check": ("handled", "checking"),
           "case": FILED_ON}


def soonest_deadline(alias: str) -> str:
    """SQL: the soonest deadline of the clocks running on the case ``alias`` (infinity for a
    case with none running)."""
    running = ", ".join(f"CASE WHEN {alias}.status IN {sql_list(states)} "
                        f"THEN {alias}.{stage}_deadline END" for stage, states in RUNNING.items())
    return f"coalesce(least({running}), 'infinity')"


def handling_overdue(alias: str = "") -> str:
    """SQL: whether the case ``alias`` (its columns unqualified if none) is past its handling
    deadline now, in handling (dispatched or in progress; a suspended one by the time its clock
    stopped): 超期在办, as the evaluation's 当前超期 counts it."""
    column = f"{alias}." if alias else ""
    return (f"{column}status IN ('dispatched', 'in_progress') "
            f"AND {column}handling_deadline < coalesce({column}suspended_at, now())")


# Without a handling limit anywhere in its category tree a case gets this one.
DEFAULT_HANDLING = "5 working_days"


@dataclass(frozen=True)
class Limit:
    value: float
    unit: str

    @classmethod
    def parse(cls, text_: str) -> "Limit":
        """``"4 working_hours"`` → Limit(4.0, "working_hours")."""
        value, _, unit = text_.strip().partition(" ")
        if unit.strip() not in UNITS or not float(value) > 0:
            raise ValueError(f"a time limit is a positive number and one of {', '.join(UNITS)}: "
                             f"{text_!r}")
        return cls(float(value), unit.strip())


@dataclass(frozen=True)
class Clock:
    deadline: datetime
    warn_at: datetime


@dataclass(frozen=True)
class Limits:
    verify: Limit
    dispatch: Limit
    handling: Limit
    check: Limit
    case: Limit | None  # None: dispatch, handling and checking in a row
    urgent: bool = False  # handled within the urgent limit, where that comes sooner

    def clock(self, calendar: WorkingCalendar, stage: str, start: datetime) -> Clock:
        if stage == "case" and self.case is None:
            end = start
            for limit in (self.dispatch, self.handling, self.check):
                end = calendar.deadline(end, limit.value, limit.unit)
            hours = calendar.working_hours_between(start, end)
            return Clock(end, calendar.add_working_hours(start, hours * WARN_SHARE))
        clock = _clock(calendar, getattr(self, stage), start)
        if stage == "handling" and self.urgent:
            return min(clock, urgent_clock(calendar, start), key=lambda c: c.deadline)
        return clock


def _clock(calendar: WorkingCalendar, limit: Limit, start: datetime) -> Clock:
    return Clock(calendar.deadline(start, limit.value, limit.unit),
                 calendar.deadline(start, limit.value * WARN_SHARE, limit.unit))


def urgent_clock(calendar: WorkingCalendar, start: datetime) -> Clock:
    """The handling clock of an urgent case from ``start``, by the urgent limit alone."""
    return _clock(calendar, Limit.parse(settings.workflow().urgent_limit), start)


def sent_deadlines(calendar: WorkingCalendar, sent: datetime) -> dict[str, datetime]:
    """The times a case sent to its handler at ``sent`` sets by the settings, graded by no
    colour: ``accept_by``, to be taken on (签收, as 及时签收率 counts), and ``respond_by``, for a
    public case's caller to be told (响应, as 响应率 counts)."""
    limits = {"accept_by": settings.workflow().accept_limit,
              "respond_by": settings.workflow().response_limit}
    return {name: calendar.deadline(sent, limit.value, limit.unit)
            for name, limit in ((name, Limit.parse(text)) for name, text in limits.items())}


# The category chain of each case of :ids, nearest class first, with what each class sets.
_CHAINS = text("""
WITH RECURSIVE up AS (
    SELECT i.id, c.parent_code, c.time_limit, c.time_limit_unit, c.properties, 0 AS depth
      FROM incident i JOIN category c ON c.code = i.category_code WHERE i.id = ANY(:ids)
    UNION ALL
    SELECT up.id, c.parent_code, c.time_limit, c.time_limit_unit, c.properties, up.depth + 1
      FROM up JOIN category c ON c.code = up.parent_code
)
SELECT id, time_limit, time_limit_unit, properties FROM up ORDER BY id, depth
""")


async def category_chains(conn: AsyncConnection, ids: list[int]) -> dict[int, list]:
    """The category chain of each case of ``ids``, by case, in one statement."""
    chains = {incident_id: [] for incident_id in ids}
    for row in await conn.execute(_CHAINS, {"ids": ids}):
        chains[row.id].append(row)
    return chains


def case_limits(chain: list, *, urgent: bool) -> Limits:
    """The limits of a case's clocks, as its category chain (category_chains) sets them."""
    handling = next((Limit(float(r.time_limit), r.time_limit_unit) for r in chain
                     if r.time_limit is not None), Limit.parse(DEFAULT_HANDLING))

    def inherited(name: str, default: str | None) -> Limit | None:
        found = next((r.properties[name] for r in chain if name in r.properties), default)
        return None if found is None else Limit.parse(found)

    workflow = settings.workflow()
    return Limits(verify=inherited("verify_limit", workflow.verify_limit),
                  dispatch=inherited("dispatch_limit", workflow.dispatch_limit),
                  handling=handling, check=inherited("check_limit", workflow.check_limit),
                  case=inherited("case_limit", None), urgent=urgent)
