"""Working time: the calendar (weekends, public holidays, make-up working days 调休) and the
working hours of a day, and deadlines counted in it.

Time limits come in four units (see the category tree): ``hours`` and ``natural_days`` run on
the clock; ``working_hours`` count only working hours of working days; ``working_days`` count
whole working days of working hours, so a case filed at 15:00 with one working day is due at
15:00 on the next working day. Times are China Standard Time.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import text

from mapsvc.errors import InvalidInput
from mapsvc.incidents.model import LOCAL_TIME

UNITS = ("working_hours", "working_days", "natural_days", "hours")
UNIT_NAMES = {"working_hours": "个工作小时", "working_days": "个工作日", "natural_days": "天",
              "hours": "小时"}


def parse_hours(text: str) -> tuple[tuple[time, time], ...]:
    """"08:30-12:00,14:00-17:30" → the working periods of a day, in order, not overlapping."""
    periods = []
    for part in text.split(","):
        start, end = (time.fromisoformat(t.strip()) for t in part.split("-"))
        if end <= start or (periods and start < periods[-1][1]):
            raise ValueError(f"working hours {text!r}: periods must be ordered and not overlap")
        periods.append((start, end))
    if not periods:
        raise ValueError("no working hours")
    return tuple(periods)


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date] = frozenset()   # days off although weekdays
    workdays: frozenset[date] = frozenset()   # make-up working days (调休) although weekends
    hours: tuple[tuple[time, time], ...] = field(
        default_factory=lambda: parse_hours("08:30-12:00,14:00-17:30"))

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    @property
    def hours_per_day(self) -> float:
        return sum((_seconds(e) - _seconds(s)) for s, e in self.hours) / 3600

    def _periods(self, day: date):
        for start, end in self.hours:
            yield (datetime.combine(day, start, LOCAL_TIME), datetime.combine(day, end, LOCAL_TIME))

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start``."""
        left = timedelta(hours=hours)
        moment = start.astimezone(LOCAL_TIME)
        day = moment.date()
        for _ in range(3660):  # ten years of days: a limit never runs longer
            if self.is_working_day(day):
                for begin, end in self._periods(day):
                    if end <= moment:
                        continue
                    begin = max(begin, moment)
                    if begin + left <= end:
                        return begin + left
                    left -= end - begin
            day += timedelta(days=1)
            moment = datetime.combine(day, time(0), LOCAL_TIME)
        raise ValueError("no working time ahead in the calendar")

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours from ``start`` to ``end`` (negative if ``end`` is earlier)."""
        if end < start:
            return -self.working_hours_between(end, start)
        start, end = start.astimezone(LOCAL_TIME), end.astimezone(LOCAL_TIME)
        total = timedelta()
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                for begin, finish in self._periods(day):
                    overlap = min(finish, end) - max(begin, start)
                    if overlap > timedelta():
                        total += overlap
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    def deadline(self, start: datetime, value: float, unit: str) -> datetime:
        """When a limit of ``value`` ``unit`` that starts at ``start`` runs out."""
        if unit == "hours":
            return start + timedelta(hours=value)
        if unit == "natural_days":
            return start + timedelta(days=value)
        if unit == "working_hours":
            return self.add_working_hours(start, value)
        if unit == "working_days":
            return self.add_working_hours(start, value * self.hours_per_day)
        raise ValueError(f"unit must be one of {', '.join(UNITS)}")


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def official_days(year: int) -> list["CalendarDay"]:
    """The State Council's holidays and make-up working days of ``year`` (weekends aside), as
    the chinese-calendar package carries them, each named for its festival."""
    import chinese_calendar
    from chinese_calendar.constants import Holiday

    names = {h.value: h.chinese for h in Holiday}
    holidays = [CalendarDay(d, "holiday", names.get(name, ""))
                for d, name in chinese_calendar.constants.holidays.items()
                if d.year == year and d.weekday() < 5]
    workdays = [CalendarDay(d, "workday", names.get(name, ""))
                for d, name in chinese_calendar.constants.workdays.items() if d.year == year]
    return sorted(holidays + workdays, key=lambda d: d.day)


KINDS = ("holiday", "workday")  # a weekday off (放假), a weekend day worked (调休上班)
NAME_LENGTH = 64
WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: str
    name: str  # what the day is: the festival, or why it is off (台风停工, …)


async def calendar_days(conn, year: int) -> list[CalendarDay]:
    """The days of ``year`` the calendar holds apart from the weekly rule, in order."""
    rows = await conn.execute(text(
        "SELECT day, kind, name FROM calendar_day WHERE day >= make_date(:y, 1, 1) "
        "AND day < make_date(:y + 1, 1, 1) ORDER BY day"), {"y": year})
    return [CalendarDay(*row) for row in rows]


async def set_days(conn, days: list[date], kind: str, name: str = "") -> None:
    """Make ``days`` weekdays off (``holiday``: a public holiday, a local one, a typhoon) or
    weekend days worked (``workday``: 调休), in place of what the calendar said of them.
    Deadlines already running keep theirs; those started after count the days as they now are.
    A day that is so by the weekly rule already is refused (InvalidInput naming ``day``)."""
    if kind not in KINDS:
        raise InvalidInput(f"must be one of {', '.join(KINDS)}", field="kind")
    if len(name) > NAME_LENGTH:
        raise InvalidInput(f"at most {NAME_LENGTH} characters", field="name")
    for day in days:
        if (day.weekday() >= 5) == (kind == "holiday"):
            raise InvalidInput(f"{day} is a {day.strftime('%A')}: a "
                               f"{'day off' if kind == 'holiday' else 'working day'} already",
                               field="day")
    await conn.execute(text("""
        INSERT INTO calendar_day (day, kind, name)
        SELECT unnest(CAST(:days AS date[])), :kind, :name
        ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name"""),
        {"days": days, "kind": kind, "name": name})


async def unset_days(conn, days: list[date]) -> int:
    """Give ``days`` back to the weekly rule; how many the calendar held."""
    return (await conn.execute(text("DELETE FROM calendar_day WHERE day = ANY(:days)"),
                               {"days": days})).rowcount


async def load_calendar(conn) -> WorkingCalendar:
    """The calendar as the database holds it, with the working hours of the settings."""
    from mapsvc import settings

    rows = (await conn.execute(text("SELECT day, kind FROM calendar_day"))).all()
    return WorkingCalendar(holidays=frozenset(d for d, k in rows if k == "holiday"),
                           workdays=frozenset(d for d, k in rows if k == "workday"),
                           hours=parse_hours(settings.workflow().working_hours))
