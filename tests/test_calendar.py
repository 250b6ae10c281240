"""Deadlines in working time, around weekends, public holidays and make-up working days (2026:
National Day 1–7 October with Saturday 10 October worked; Spring Festival 15–23 February with
Saturday 14 February worked). Golden values worked out by hand with working hours
08:30–12:00 and 14:00–17:30."""

from datetime import date, datetime

import pytest
from sqlalchemy import text

from mapsvc.incidents.model import LOCAL_TIME
from mapsvc.workflow.calendar import WorkingCalendar, load_calendar, official_days
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
    # 29-30 Sep, 8-10 Oct (a worked Saturday)
    ("2026-09-29 10:00", 5, "working_days", "2026-10-12 10:00"),
    ("2026-11-20 15:00", 2, "natural_days", "2026-11-22 15:00"),
    ("2026-11-20 15:00", 4, "hours", "2026-11-20 19:00"),
])
def test_deadlines(calendar, start, value, unit, due):
    assert calendar.deadline(at(start), value, unit) == at(due)


def test_the_calendar_holds_the_official_days_as_data(calendar, db):
    assert date(2026, 10, 1) in calendar.holidays and date(2026, 10, 10) in calendar.workdays
    assert not calendar.is_working_day(date(2026, 10, 5))
    assert calendar.is_working_day(date(2026, 9, 20))  # a Sunday worked
    with db.connect() as conn:
        stored = conn.execute(text("SELECT day, kind, name FROM calendar_day "
                                   "WHERE extract(year FROM day) = 2026 ORDER BY day")).all()
    assert [tuple(row) for row in stored] == [(d.day, d.kind, d.name)
                                             for d in official_days(2026)]
    assert (date(2026, 10, 1), "holiday", "国庆节") in stored


def test_working_hours_between(calendar):
    assert calendar.working_hours_between(at("2026-11-20 16:00"), at("2026-11-23 11:00")) == 4
    assert calendar.working_hours_between(at("2026-09-30 08:30"), at("2026-10-08 08:30")) == 7
    assert calendar.working_hours_between(at("2026-11-23 11:00"), at("2026-11-20 16:00")) == -4


# Days of a year no other test counts in: a Tuesday, and the Saturday after it.
TUESDAY, SATURDAY = "2031-03-04", "2031-03-08"


def test_a_day_off_is_set_shown_counted_and_unset_from_the_cli():
    from typer.testing import CliRunner

    from mapsvc.cli import app

    def cli(*args):
        return CliRunner().invoke(app, ["calendar", *args], env={"COLUMNS": "200"})

    assert "no day of 2031" in cli("show", "2031").output
    done = cli("set", TUESDAY, "--kind", "holiday", "--name", "台风停工停课")
    assert done.exit_code == 0, done.output
    assert cli("set", SATURDAY, "--kind", "workday", "--name", "补班").exit_code == 0
    shown = cli("show", "2031").output
    assert "2031-03-04 │ 星期二  │ 放假     │ 台风停工停课" in shown
    assert "2031-03-08 │ 星期六  │ 调休上班 │ 补班" in shown
    counted = run(in_transaction(load_calendar))
    # a working day from Monday afternoon: over the Tuesday off, to Wednesday
    assert counted.deadline(at("2031-03-03 15:00"), 1, "working_days") == at("2031-03-05 15:00")
    assert counted.deadline(at("2031-03-07 17:00"), 1, "working_hours") == at("2031-03-08 09:00")
    refused = cli("set", SATURDAY, "--kind", "holiday")
    assert refused.exit_code == 2 and "DAY: 2031-03-08 is a Saturday: a day off already" in (
        " ".join(refused.output.split()))
    assert cli("set", TUESDAY, "--kind", "someday").exit_code == 2
    too_long = cli("set", TUESDAY, "--kind", "holiday", "--name", "台" * 65)
    assert too_long.exit_code == 2 and "--name: at most 64 characters" in too_long.output
    assert cli("unset", TUESDAY, SATURDAY).exit_code == 0
    assert "no day of 2031" in cli("show", "2031").output
    back = run(in_transaction(load_calendar))
    assert back.deadline(at("2031-03-03 15:00"), 1, "working_days") == at("2031-03-04 15:00")


def test_the_calendar_is_read_by_all_and_kept_by_administrators(clients):
    admin = clients["admin"]
    year = admin.get("/calendar", params={"year": 2026}).json()
    assert {"day": "2026-10-01", "kind": "holiday", "name": "国庆节"} in year
    assert clients["worker"].get("/calendar", params={"year": 2026}).json() == year
    day = {"kind": "holiday", "name": "台风停工"}
    assert clients["command"].put(f"/calendar/{TUESDAY}", json=day).status_code == 403
    assert admin.put(f"/calendar/{TUESDAY}", json=day).status_code == 204
    assert admin.get("/calendar", params={"year": 2031}).json() == [{"day": TUESDAY, **day}]
    weekend = admin.put(f"/calendar/{SATURDAY}", json=day)
    assert weekend.status_code == 422 and weekend.json()["detail"][0]["loc"][-1] == "day"
    assert "a day off already" in weekend.json()["detail"][0]["msg"]
    for _ in range(2):  # sent again: the same
        assert admin.delete(f"/calendar/{TUESDAY}").status_code == 204
    assert admin.get("/calendar", params={"year": 2031}).json() == []


def test_an_upgrade_says_which_of_this_year_and_the_next_the_calendar_holds_no_day_of(db):
    """The package carries the official days as far as it was published: an operator is told
    when the next year's (announced each November or so) are still to be entered."""
    from typer.testing import CliRunner

    from mapsvc.cli import app

    this_year = datetime.now(LOCAL_TIME).year
    with db.connect() as conn:
        held = set(conn.execute(text(
            "SELECT DISTINCT extract(year FROM day)::int FROM calendar_day")).scalars())
    done = CliRunner().invoke(app, ["db", "upgrade"], env={"COLUMNS": "300"})
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    for year in (this_year, this_year + 1):
        assert (f"holds no day of {year}" in said) == (year not in held), year
