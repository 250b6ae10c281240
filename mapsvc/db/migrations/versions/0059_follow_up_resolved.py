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
_VIEW = earlier_migration("0032_case_json_inlined")
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
_SUM = "sum(c.sign * m.satisfaction) AS satisfaction,\n"
_NEW_SUMS = _SUM + "".join(f"       sum(c.sign * m.{m}) AS {m},\n" for m in NEW)
_BEFORE = "'urged', coalesce(i.urged, 0),"
INCIDENT_JSON = _URGED.INCIDENT_JSON.replace(_BEFORE, f"'resolved', i.resolved, {_BEFORE}")


def _summing_new(sql: str, sums: int) -> str:
    """``sql`` summing the tally's measures ``sums`` times, summing the new ones too."""
    assert sql.count(_SUM) == sums
    return sql.replace(_SUM, _NEW_SUMS)


def _tally_functions(new: bool) -> str:
    """The tally's triggers' functions as migration 0050 wrote them, with the new measures or
    not."""
    functions = _PUBLIC._tally_functions(public_filed=True)
    if not new:
        return functions
    columns = "rated, satisfaction, " + ", ".join(NEW) + ", h0"
    nonzero = "t.satisfaction <> 0 OR " + " OR ".join(f"t.{m} <> 0" for m in NEW) + " OR"
    for before, after, times in (("rated, satisfaction, h0", columns, 2),
                                 ("t.satisfaction <> 0 OR", nonzero, 1)):
        assert functions.count(before) == times, before
        functions = functions.replace(before, after)
    return _summing_new(functions, 2)


def upgrade() -> None:
    op.execute("ALTER TABLE incident ADD COLUMN resolved boolean")
    _URGENT._case_json(INCIDENT_JSON, f"{_VIEW._view_columns()}, i.resolved")
    for table in ("incident_tally", "incident_tally_delta"):
        for measure in NEW:
            op.execute(f"ALTER TABLE {table} ADD COLUMN {measure} bigint NOT NULL DEFAULT 0")
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {measure} DROP DEFAULT")
    op.execute("DROP FUNCTION incident_measures(incident)")
    op.execute(MEASURES_FUNCTION)
    op.execute(_tally_functions(new=True))
    # the cases rated, as the tally's triggers count them, the other measures counted already
    counted = _summing_new(_TALLIES.TALLY_SELECT, 1).format(
        rows="SELECT 1 AS sign, i AS inc FROM incident i WHERE i.satisfaction IS NOT NULL")
    others = ("public_filed", *_TALLIES.MEASURES, "resolved", "resolution_asked")
    op.execute(f"""
        INSERT INTO incident_tally_delta (kind, subject, day, satisfied, {", ".join(others)})
        SELECT t.kind, t.subject, t.day, t.satisfied, {", ".join("0" for _ in others)}
          FROM ({counted}) t
         WHERE t.satisfied <> 0""")


def downgrade() -> None:
    op.execute("DROP FUNCTION incident_measures(incident)")
    op.execute(_PUBLIC.MEASURES_FUNCTION)
    op.execute(_tally_functions(new=False))
    for table in ("incident_tally", "incident_tally_delta"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {', DROP COLUMN '.join(NEW)}")
    _URGENT._case_json(_URGED.INCIDENT_JSON,
                       _VIEW._view_columns().replace(", i.resolved", ""))
    op.execute("ALTER TABLE incident DROP COLUMN resolved")
