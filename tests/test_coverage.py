"""Each grid's coverage, kept beside it by triggers, always equals a count of its households,
their members and their visits made afresh: after every kind of change to visits, people,
households, houses and addresses, and when two visits in one grid are written at once."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.conftest import written_at_once

NOW = datetime.now(UTC)
WINDOWS = (1, 30, 366)  # days

_COUNTED = """
SELECT g.code,
       (SELECT count(*) FROM household h JOIN house ho ON ho.id = h.house_id
          JOIN address a ON a.id = ho.address_id WHERE a.grid_id = g.id) AS households,
       (SELECT count(*) FROM person p JOIN household h ON h.id = p.household_id
          JOIN house ho ON ho.id = h.house_id JOIN address a ON a.id = ho.address_id
         WHERE a.grid_id = g.id AND p.left_on IS NULL) AS population,
       ARRAY(SELECT (SELECT count(DISTINCT v.household_id) FROM visit v
                       JOIN household h ON h.id = v.household_id
                       JOIN house ho ON ho.id = h.house_id
                       JOIN address a ON a.id = ho.address_id
                      WHERE a.grid_id = g.id AND v.at > :now - make_interval(days => d))
               FROM unnest(CAST(:windows AS int[])) AS d) AS visited
  FROM grid g WHERE g.code LIKE :village || '%' ORDER BY g.code"""

_KEPT = """
SELECT g.code, coalesce(f.households, 0) AS households,
       coalesce(f.population, 0) AS population,
       ARRAY(SELECT coalesce(coverage_visited(f.last_visits,
                                             visit_second(:now - make_interval(days => d))), 0)
               FROM unnest(CAST(:windows AS int[])) AS d) AS visited
  FROM grid g LEFT JOIN grid_figures f ON f.grid_id = g.id
 WHERE g.code LIKE :village || '%' ORDER BY g.code"""


def _coverage(conn, sql: str, village: str) -> dict[str, tuple[int, int, list[int]]]:
    rows = conn.execute(text(sql), {"now": NOW, "windows": list(WINDOWS), "village": village})
    return {r.code: (r.households, r.population, list(r.visited)) for r in rows}


def _kept_equals_counted(db, village: str) -> dict[str, tuple[int, int, list[int]]]:
    with db.connect() as conn:
        kept = _coverage(conn, _KEPT, village)
        assert kept == _coverage(conn, _COUNTED, village)
    return kept


class Registry:
    """The area's registry rows by their address (规划路A1号 …)."""

    def __init__(self, db, county: str):
        self.db, self.county = db, county
        with db.connect() as conn:
            self.account = conn.execute(text("SELECT min(id) FROM account")).scalar_one()

    def run(self, sql: str, **params):
        with self.db.begin() as conn:
            return conn.execute(text(sql), {"county": self.county, "account": self.account,
                                            **params})

    def household(self, home: str, nth: int = 0) -> int:
        return self.run("SELECT h.id FROM household h JOIN house ho ON ho.id = h.house_id "
                        "JOIN address a ON a.id = ho.address_id WHERE a.county_code = :county "
                        "AND a.full_text = :t ORDER BY h.id OFFSET :n LIMIT 1",
                        t=f"规划路{home}号", n=nth).scalar_one()

    def house(self, home: str) -> int:
        return self.run("SELECT ho.id FROM house ho JOIN address a ON a.id = ho.address_id "
                        "WHERE a.county_code = :county AND a.full_text = :t",
                        t=f"规划路{home}号").scalar_one()

    def visit(self, household: int, days_ago: float) -> int:
        return self.run("INSERT INTO visit (household_id, account_id, at) "
                        "VALUES (:h, :account, :at) RETURNING id",
                        h=household, at=NOW - timedelta(days=days_ago)).scalar_one()


def test_coverage_follows_every_change_to_the_registry(area, db):
    a, _ = area
    r = Registry(db, a.county)
    A, B, C = (a.code(n) for n in "ABC")
    assert _kept_equals_counted(db, a.village) == {
        A: (1, 2, [0, 0, 0]), B: (3, 5, [0, 0, 0]), C: (1, 1, [0, 0, 0])}

    a1, b1, b2 = r.household("A1"), r.household("B1"), r.household("B2")
    r.visit(a1, 40)
    r.visit(b1, 10)
    latest = r.visit(b1, 0.5)
    r.visit(b2, 200)
    assert _kept_equals_counted(db, a.village) == {
        A: (1, 2, [0, 0, 1]), B: (3, 5, [1, 1, 2]), C: (1, 1, [0, 0, 0])}

    r.run("UPDATE visit SET at = :at WHERE id = :v", v=latest, at=NOW - timedelta(days=100))
    assert _kept_equals_counted(db, a.village)[B] == (3, 5, [0, 1, 2])  # its last visit: 10 days

    r.run("DELETE FROM visit WHERE household_id = :h AND at > :now - interval '20 days'",
          h=b1, now=NOW)
    assert _kept_equals_counted(db, a.village)[B] == (3, 5, [0, 0, 2])  # back to 100 days

    # a household (of three) moves house, to another grid
    r.run("UPDATE household SET house_id = :to WHERE id = :h", h=b2, to=r.house("C1"))
    assert _kept_equals_counted(db, a.village) == {
        A: (1, 2, [0, 0, 1]), B: (2, 2, [0, 0, 1]), C: (2, 4, [0, 0, 1])}

    # an address is put in another grid (as a redrawn boundary does)
    r.run("UPDATE address SET grid_id = (SELECT id FROM grid WHERE code = :g) "
          "WHERE county_code = :county AND full_text = '规划路A1号'", g=C)
    assert _kept_equals_counted(db, a.village) == {
        A: (0, 0, [0, 0, 0]), B: (2, 2, [0, 0, 1]), C: (3, 6, [0, 0, 2])}

    # a house is found to stand at another address, in grid A
    r.run("INSERT INTO address (full_text, county_code, geom, grid_id, assignment) "
          "SELECT '规划路A2号', county_code, geom, (SELECT id FROM grid WHERE code = :g), "
          "'inside' FROM address WHERE county_code = :county AND full_text = '规划路C1号'", g=A)
    r.run("UPDATE house SET address_id = (SELECT id FROM address WHERE county_code = :county "
          "AND full_text = '规划路A2号') WHERE id = :ho", ho=r.house("C1"))
    assert _kept_equals_counted(db, a.village) == {
        A: (2, 4, [0, 0, 1]), B: (2, 2, [0, 0, 1]), C: (1, 2, [0, 0, 1])}

    # a household registered and removed again
    new = r.run("INSERT INTO household (house_id) VALUES (:ho) RETURNING id",
                ho=r.house("B1")).scalar_one()
    r.visit(new, 3)
    assert _kept_equals_counted(db, a.village)[B] == (3, 2, [0, 1, 2])
    r.run("DELETE FROM visit WHERE household_id = :h", h=new)
    r.run("DELETE FROM household WHERE id = :h", h=new)
    assert _kept_equals_counted(db, a.village)[B] == (2, 2, [0, 0, 1])

    # a member leaves, another moves to their household from grid C, one is registered
    # and removed again
    r.run("UPDATE person SET left_on = current_date, left_reason = 'moved_away' "
          "WHERE household_id = :h", h=b1)
    assert _kept_equals_counted(db, a.village)[B] == (2, 1, [0, 0, 1])
    r.run("UPDATE person SET household_id = :to WHERE id = (SELECT min(id) FROM person "
          "WHERE household_id = :h)", h=a1, to=b1)
    assert _kept_equals_counted(db, a.village) == {
        A: (2, 4, [0, 0, 1]), B: (2, 2, [0, 0, 1]), C: (1, 1, [0, 0, 1])}
    born = r.run("INSERT INTO person (client_id, name, household_id, registration) VALUES "
                 "(gen_random_uuid(), '新生儿', :h, 'resident') RETURNING id", h=b1).scalar_one()
    assert _kept_equals_counted(db, a.village)[B] == (2, 3, [0, 0, 1])
    r.run("DELETE FROM person WHERE id = :p", p=born)
    assert _kept_equals_counted(db, a.village)[B] == (2, 2, [0, 0, 1])


def test_two_visits_written_at_once_in_one_grid_are_both_counted(area, db):
    """The second writer waits for the first to commit, then counts with its visit."""
    a, _ = area
    r = Registry(db, a.county)
    first, second = r.household("B2", 0), r.household("B2", 1)
    insert = text("INSERT INTO visit (household_id, account_id, at) VALUES (:h, :a, now())")
    written_at_once(db, insert, insert, {"h": first, "a": r.account},
                    {"h": second, "a": r.account})
    assert _kept_equals_counted(db, a.village)[a.code("B")] == (3, 5, [2, 2, 2])


@settings(max_examples=200, deadline=None)
@given(visits=st.lists(st.integers(0, 50), max_size=40), since=st.integers(-1, 51))
def test_the_households_visited_since_a_time_are_those_whose_last_visit_is_later(
        db, visits, since):
    """``coverage_visited`` on the ordered last visits as a grid keeps them (to the second;
    minutes here), ties included."""
    def at(minute: int) -> datetime:
        return NOW + timedelta(minutes=minute)

    with db.connect() as conn:
        counted = conn.execute(text(
            "SELECT coverage_visited(ARRAY(SELECT visit_second(t) "
            "FROM unnest(CAST(:visits AS timestamptz[])) t), visit_second(:since))"),
                               {"visits": [at(m) for m in sorted(visits)], "since": at(since)})
        assert counted.scalar_one() == sum(m > since for m in visits)
