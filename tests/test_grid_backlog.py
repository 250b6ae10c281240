"""Each grid's backlog, kept beside it by triggers (migrations 0026, 0028) and read as the grid
tiles read it, always equals its cases counted afresh: open, overdue (red, as incident_overdue
says) and reported in the last 30 days; after reports and every kind of change to a case, one
at a time or many by one statement, and when two cases in one grid, or a case and a visit,
are written at once."""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from mapsvc.tiles.layers import BACKLOG
from mapsvc.workflow.machine import OPEN_SQL
from tests.conftest import written_at_once

_KEPT = f"""
SELECT g.code, {", ".join(f"{v} AS {k}" for k, v in BACKLOG.items())}
  FROM grid g LEFT JOIN grid_figures f ON f.grid_id = g.id
 WHERE g.code LIKE :village || '%'"""

_COUNTED = f"""
SELECT g.code, count(i.id) FILTER (WHERE i.status IN {OPEN_SQL}) AS open,
       count(i.id) FILTER (WHERE i.status IN {OPEN_SQL} AND incident_overdue(i)) AS overdue,
       count(i.id) FILTER (WHERE i.reported_at > now() - interval '30 days') AS recent
  FROM grid g LEFT JOIN incident i ON i.grid_id = g.id
 WHERE g.code LIKE :village || '%' GROUP BY g.code"""


def _kept_equals_counted(db, village: str) -> dict[str, tuple[int, int, int]]:
    with db.connect() as conn:  # one transaction: the same now()
        kept, counted = ({r.code: (r.open, r.overdue, r.recent)
                          for r in conn.execute(text(sql), {"village": village})}
                         for sql in (_KEPT, _COUNTED))
    assert kept == counted
    return kept


STATES = ("reported", "verifying", "filed", "dispatched", "in_progress", "handled", "checking",
          "closed", "evaluated", "rejected", "void")
STAGES = ("dispatch", "handling", "check", "case")
HOURS = st.one_of(st.none(), st.sampled_from([-72, -1, 1, 72]))  # from now; None: unset
CHANGES = st.one_of(
    st.tuples(st.just("status"), st.sampled_from(STATES)),
    st.tuples(st.just("deadline"), st.sampled_from(STAGES), HOURS),
    st.tuples(st.just("suspended"), HOURS),
    st.tuples(st.just("grid"), st.sampled_from("ABC")),
    st.tuples(st.just("reported"), st.sampled_from([0, 29, 31, 400])),  # days ago
)


def _change(conn, cases: list[int], change: tuple, grids: dict[str, int]) -> None:
    kind, *value = change
    params = {"cases": cases}
    if kind == "status":
        assignment = "status = :v"
        params["v"] = value[0]
    elif kind in ("deadline", "suspended"):
        column = f"{value[0]}_deadline" if kind == "deadline" else "suspended_at"
        assignment = f"{column} = now() + make_interval(hours => :v)"
        params["v"] = value[-1]
    elif kind == "grid":
        assignment = "grid_id = :v"
        params["v"] = grids[value[0]]
    else:
        assignment = "reported_at = now() - make_interval(days => :v)"
        params["v"] = value[0]
    conn.execute(text(f"UPDATE incident SET {assignment} WHERE id = ANY(:cases)"), params)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports=st.lists(st.sampled_from("ABC"), max_size=3),
       changes=st.lists(st.tuples(st.integers(0, 5), st.booleans(), CHANGES), max_size=8))
def test_each_grids_backlog_kept_equals_its_cases_counted_afresh(area, clients, db, reports,
                                                                  changes):
    """New reports, then changes to one case or, by one statement, to all of them."""
    a, _ = area
    for grid in reports:
        x, y = a.at("ABC".index(grid) + 0.5, 0.5)
        r = clients["admin"].post("/incidents", json={
            "client_id": str(uuid.uuid4()), "category": "0601", "lon": x, "lat": y})
        assert r.status_code == 201
    with db.connect() as conn:
        grids = dict(conn.execute(text("SELECT right(code, 1), id FROM grid "
                                       "WHERE code LIKE :v || '%'"), {"v": a.village}).all())
        grids = {"ABC"[int(k) - 1]: v for k, v in grids.items()}
        ids = conn.execute(text("SELECT id FROM incident WHERE grid_id = ANY(:g) ORDER BY id"),
                           {"g": list(grids.values())}).scalars().all()
    for nth, every, change in changes:
        with db.begin() as conn:
            _change(conn, ids if every else [ids[nth % len(ids)]], change, grids)
    _kept_equals_counted(db, a.village)


def test_the_backlog_follows_each_column_that_decides_it(area, db):
    """One case through every column that decides its grid's figures, one change at a time:
    each changes them, and the kept figures follow."""
    a, cases = area
    steps = [  # (column = value, grid whose figures change)
        ("status = 'dispatched'", "B"),  # no deadline yet: not overdue
        ("handling_deadline = now() - interval '1 hour'", "B"),
        ("suspended_at = now() - interval '2 hours'", "B"),  # suspended in time: not red
        ("suspended_at = NULL", "B"),
        ("status = 'handled'", "B"),  # the handling clock stops
        ("check_deadline = now() - interval '1 hour'", "B"),
        ("status = 'filed'", "B"),
        ("dispatch_deadline = now() - interval '1 hour'", "B"),
        ("dispatch_deadline = NULL", "B"),
        ("case_deadline = now() - interval '2 hours'", "B"),
        ("grid_id = (SELECT id FROM grid WHERE code = :a)", "A"),
        ("reported_at = now() - interval '31 days'", "A"),
        ("status = 'closed'", "A"),
    ]
    kept = _kept_equals_counted(db, a.village)
    for assignment, grid in steps:
        with db.begin() as conn:
            conn.execute(text(f"UPDATE incident SET {assignment} WHERE id = :id"),
                         {"id": cases["east"], "a": a.code("A")})
        before, kept = kept, _kept_equals_counted(db, a.village)
        if assignment != "status = 'dispatched'":
            assert kept[a.code(grid)] != before[a.code(grid)], assignment


# Two writes to cases of one grid: closing a case, and reporting a new one (a copy of a case)
_WRITES = {"close": ("UPDATE incident SET status = 'closed' WHERE id = :id", -1),
           "report": ("INSERT INTO incident ({columns}, client_id) SELECT {columns}, "
                      "gen_random_uuid() FROM incident WHERE id = :id", +1)}


def _copied_columns(db) -> str:
    """The columns a copy of a case takes over (a report of the same)."""
    with db.connect() as conn:
        return ", ".join(conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'incident' "
            "AND is_generated = 'NEVER' AND column_name NOT IN ('id', 'client_id') "
            "ORDER BY ordinal_position")).scalars())


@pytest.mark.parametrize("first, second", [("close", "close"), ("report", "report"),
                                           ("close", "report"), ("report", "close")])
def test_two_cases_written_at_once_in_one_grid_are_both_counted(area, db, first, second):
    """The second writer waits for the first to commit, then counts with its change."""
    a, cases = area
    columns = _copied_columns(db)
    before = _kept_equals_counted(db, a.village)[a.code("B")]
    written_at_once(db, *(text(_WRITES[w][0].format(columns=columns)) for w in (first, second)),
                    {"id": cases["west"]}, {"id": cases["east"]})
    after = _kept_equals_counted(db, a.village)[a.code("B")]
    assert after[0] == before[0] + _WRITES[first][1] + _WRITES[second][1]


@pytest.mark.parametrize("first", ["report", "visit"])
def test_a_case_and_a_visit_written_at_once_in_one_grid_both_show(area, db, first):
    """A grid's backlog and coverage share its row: a report and a household's first visit in
    the grid, the second waiting for the first to commit, both show in it."""
    a, cases = area
    with db.connect() as conn:
        household = conn.execute(text(
            "SELECT h.id FROM household h JOIN house ho ON ho.id = h.house_id "
            "JOIN address ad ON ad.id = ho.address_id JOIN grid g ON g.id = ad.grid_id "
            "WHERE g.code = :grid ORDER BY h.id LIMIT 1"), {"grid": a.code("B")}).scalar_one()
        account = conn.execute(text("SELECT min(id) FROM account")).scalar_one()
    writes = {"report": (text(_WRITES["report"][0].format(columns=_copied_columns(db))),
                         {"id": cases["east"]}),
              "visit": (text("INSERT INTO visit (household_id, account_id, at) "
                             "VALUES (:h, :a, now())"), {"h": household, "a": account})}
    second = "visit" if first == "report" else "report"
    before = _kept_equals_counted(db, a.village)[a.code("B")]
    written_at_once(db, writes[first][0], writes[second][0], writes[first][1], writes[second][1])
    assert _kept_equals_counted(db, a.village)[a.code("B")][0] == before[0] + 1
    with db.connect() as conn:
        coverage = conn.execute(text(
            "SELECT f.households, "
            "coverage_visited(f.last_visits, visit_second(now() - interval '1 day')) "
            "FROM grid_figures f JOIN grid g ON g.id = f.grid_id WHERE g.code = :grid"),
            {"grid": a.code("B")}).one()
    assert tuple(coverage) == (3, 1)  # B's households: one at B1, two at B2
