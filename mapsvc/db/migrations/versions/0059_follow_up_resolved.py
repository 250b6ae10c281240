"""The follow-up's answers counted as a hotline is judged (接诉即办: 解决率, 满意率): whether the
caller says the problem was resolved (``resolved``, in the case and its JSON; NULL when not
asked), and, of the cases rated, those rated satisfied (满意 or 非常满意, 4 or 5). The tally
gains ``satisfied``, ``resolved`` and ``resolution_asked``; the cases rated already enter it by
a delta of their own (none has been asked whether it was resolved).

Revision ID: 0059
Revises: 0058
Create Date: 2026-12-04
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0059"
down_revision = "0058"
branch_labels = None
depends_on = None

_TALLIES = earlier_migration("0006_clocks_and_tallies")
_PUBLIC = earlier_migration("0050_public_reports_filed")
_URGED = earlier_migration("0058_urged_cases")
_URGENT = earlier_migration("0049_urgent_cases")
SATISFIED = 4  # 满意; 5 非常满意
NEW = ("satisfied", "resolved", "resolution_asked")

_RATED = "           coalesce(c.satisfaction, 0)::int,\n"
MEASURES_FUNCTION = (
    _PUBLIC.MEASURES_FUNCTION
    .replace("rated int, satisfaction int, bin int",
             "rated int, satisfaction int, satisfied int, resolved int, resolution_asked int, "
             "bin int")
    .replace(_RATED, _RATED + f"           coalesce(c.satisfaction >= {SATISFIED}, false)::int,\n"
                              "           coalesce(c.resolved, false)::int,\n"
                              "           (c.resolved IS NOT NULL)::int,\n"))
assert MEASURES_FUNCTION.count("resolution_asked") == 1
_BEFORE = "'urged', coalesce(i.urged, 0),"
INCIDENT_JSON = _URGED.INCIDENT_JSON.replace(_BEFORE, f"'resolved', i.resolved, {_BEFORE}")


def with_measures(sql: str, after: str, new: tuple[str, ...], sums: int) -> str:
    """``sql`` of the tally (its triggers' functions, or the select they share), which sums its
    measures ``sums`` times, summing, writing and checking the measures ``new`` too, each list
    of them right after the measure ``after``."""
    summed = f"sum(c.sign * m.{after}) AS {after},\n"
    assert sql.count(summed) == sums, after
    sql = sql.replace(summed, summed + "".join(f"       sum(c.sign * m.{m}) AS {m},\n"
                                               for m in new))
    sql = sql.replace(f" {after}, h0", " " + ", ".join((after, *new)) + ", h0")
    return sql.replace(f"t.{after} <> 0 OR",
                       " OR ".join(f"t.{m} <> 0" for m in (after, *new)) + " OR")


def _tally_functions(new: bool) -> str:
    """The tally's triggers' functions as migration 0050 wrote them, with the new measures or
    not."""
    functions = _PUBLIC._tally_functions(public_filed=True)
    return with_measures(functions, "satisfaction", NEW, sums=2) if new else functions


def measures_added(new: tuple[str, ...], measures_function: str, tally_functions: str) -> None:
    """The tally's tables gain the measures ``new``, which ``measures_function`` (a new
    incident_measures) gives and ``tally_functions`` (its triggers' functions) sum."""
    for table in ("incident_tally", "incident_tally_delta"):
        for measure in new:
            op.execute(f"ALTER TABLE {table} ADD COLUMN {measure} bigint NOT NULL DEFAULT 0")
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {measure} DROP DEFAULT")
    _measures_written(measures_function, tally_functions)


def measures_dropped(new: tuple[str, ...], measures_function: str, tally_functions: str) -> None:
    """The tally's measures ``new`` dropped, incident_measures and the triggers' functions
    written back as ``measures_function`` and ``tally_functions``."""
    _measures_written(measures_function, tally_functions)
    for table in ("incident_tally", "incident_tally_delta"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {', DROP COLUMN '.join(new)}")


def _measures_written(measures_function: str, tally_functions: str) -> None:
    op.execute("DROP FUNCTION incident_measures(incident)")
    op.execute(measures_function)
    op.execute(tally_functions)


def counted_anew(measure: str, counted: str, others: tuple[str, ...]) -> None:
    """The cases stored before ``measure`` was tallied enter it by a delta of their own:
    ``counted``, the tally's select over them, gives it; the ``others`` measures, counted
    already, are 0 in it."""
    op.execute(f"""
        INSERT INTO incident_tally_delta (kind, subject, day, {measure}, {", ".join(others)})
        SELECT t.kind, t.subject, t.day, t.{measure}, {", ".join("0" for _ in others)}
          FROM ({counted}) t
         WHERE t.{measure} <> 0""")


def upgrade() -> None:
    _URGENT.columns_added({"resolved": "boolean"}, INCIDENT_JSON)
    measures_added(NEW, MEASURES_FUNCTION, _tally_functions(new=True))
    # the cases rated, as the tally's triggers count them
    counted_anew("satisfied", with_measures(_TALLIES.TALLY_SELECT, "satisfaction", NEW, sums=1)
                 .format(rows="SELECT 1 AS sign, i AS inc FROM incident i "
                              "WHERE i.satisfaction IS NOT NULL"),
                 ("public_filed", *_TALLIES.MEASURES, "resolved", "resolution_asked"))


def downgrade() -> None:
    measures_dropped(NEW, _PUBLIC.MEASURES_FUNCTION, _tally_functions(new=False))
    _URGENT.columns_dropped(("resolved",), _URGED.INCIDENT_JSON)
