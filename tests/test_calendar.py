"""Deadlines in working time, around weekends, public holidays and make-up working days (2026:
National Day 1–7 October with Saturday 10 October worked; Spring Festival 15–23 February with
Saturday 14 February worked). Golden values worked out by hand with working hours
08:30–12:00 and 14:00–17:30."""

from datetime import date, datetime

import pytest
from sqlalchemy import text

from mapsvc.incidents.model import LOCAL_TIME
from mapsvc.workflow.calendar import WorkingCalendar, load_calendar, official_days, warning_colour
from tests.conftest import in_transaction, run


def at(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=LOCAL_TIME)


@pytest.fixture(scope="module")
def calendar(database_url) -> WorkingCalendar:
    return run(in_transaction(load_calendar))


@pytest.mark.parametrize("start,value,unit,due", [
    ("2026-11-20 16:00", 4, "working_hours", "2026-11-23 11:00"),   # Friday → Monday
    ("2026-11-21 10:00", 1, "working_hours", "2026-11-23 09:30"),   # asked on a Saturday
    ("2026-11-23 11:30", 1, "working_hours", "2026-11-23 14:30"),   # over the lunch break
    ("2026-11-23 07:00", 1, "working_hours", "2026-11-23 09:30"),   # before the day starts
    ("2026-09-30 17:00", 2, "working_hours", "2026-10-08 10:00"),   # over National Day
    ("2026-10-09 17:00", 1, "working_hours", "2026-10-10 09:00"),   # onto a make-up Saturday
    ("2026-02-13 17:00", 1, "working_hours", "2026-02-14 09:00"),   # Spring Festival make-up day
    ("2026-02-14 17:00", 1, "working_hours", "2026-02-24 09:00"),   # then the whole festival off
    ("2026-11-20 15:00", 1, "working_days", "2026-11-23 15:00"),    # same time next working day
    ("2026-09-29 10:00", 5, "working_days", "2026-10-12 10:00"),    # 29-30 Sep, 8-10 Oct (a worked Saturday)
    ("2026-11-20 15:00", 2, "natural_days", "2026-11-22 15:00"),
    ("2026-11-20 15:00", 4, "hours", "2026-11-20 19:00"),
])
def test_deadlines(calendar, start, value, unit, due):
    assert calendar.deadline(at(start), value, unit) == at(due)


def test_the_calendar_holds_the_official_days_as_data(calendar, db):
    assert date(2026, 10, 1) in calendar.holidays and date(2026, 10, 10) in calendar.workdays
    assert not calendar.is_working_day(date(2026, 10, 5))
    assert calendar.is_working_day(date(2026, 9, 20))  # a Sunday worked
    holidays, workdays = official_days(2026)
    with db.connect() as conn:
        stored = dict(conn.execute(text("SELECT day, kind FROM calendar_day "
                                        "WHERE extract(year FROM day) = 2026")).all())
    assert {d for d, k in stored.items() if k == "holiday"} == holidays
    assert {d for d, k in stored.items() if k == "workday"} == workdays


def test_working_hours_between(calendar):
    assert calendar.working_hours_between(at("2026-11-20 16:00"), at("2026-11-23 11:00")) == 4
    assert calendar.working_hours_between(at("2026-09-30 08:30"), at("2026-10-08 08:30")) == 7
    assert calendar.working_hours_between(at("2026-11-23 11:00"), at("2026-11-20 16:00")) == -4


@pytest.mark.parametrize("share,colour", [(0.0, "green"), (0.79, "green"), (0.8, "yellow"),
                                          (1.0, "yellow"), (1.01, "red")])
def test_warning_colours(share, colour):
    assert warning_colour(share) == colour


def test_the_share_of_a_limit_used_counts_working_time_only(calendar):
    start = at("2026-11-20 16:00")
    due = calendar.deadline(start, 4, "working_hours")
    assert calendar.used_share(start, due, at("2026-11-22 12:00"), "working_hours") == 1.5 / 4
    assert warning_colour(calendar.used_share(start, due, at("2026-11-23 10:30"),
                                              "working_hours")) == "yellow"
