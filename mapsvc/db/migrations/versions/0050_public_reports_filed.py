"""The cases the public reported (a citizen, the 12345 hotline) that were filed, counted in the
figures: 监督举报核实数, of which a region's 监督举报率 is read (mapsvc.workflow.stats). The tally
gains the count; the cases already stored enter it by a delta of their own.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-03
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None

_TALLIES = earlier_migration("0006_clocks_and_tallies")
PUBLIC_SOURCES = "('citizen', 'hotline')"
_FILED = "           (c.filed_at IS NOT NULL)::int,\n"
MEASURES_FUNCTION = (
    _TALLIES.MEASURES_FUNCTION
    .replace("filed int, voided int", "filed int, public_filed int, voided int")
    .replace(_FILED, _FILED + f"           (c.filed_at IS NOT NULL AND c.source IN "
                              f"{PUBLIC_SOURCES})::int,\n"))
assert MEASURES_FUNCTION.count("public_filed") == 1 and PUBLIC_SOURCES in MEASURES_FUNCTION
_SUM = "sum(c.sign * m.filed) AS filed,\n"
_PUBLIC_SUM = _SUM + "       sum(c.sign * m.public_filed) AS public_filed,\n"


def _summing_public_filed(sql: str, sums: int) -> str:
    """``sql`` of migration 0006's, which sums the tally's measures ``sums`` times, summing
    public_filed too."""
    assert sql.count(_SUM) == sums
    return sql.replace(_SUM, _PUBLIC_SUM)


def _tally_functions(public_filed: bool) -> str:
    """The tally's triggers' functions as migration 0006 wrote them, with public_filed or not."""
    written = _TALLIES.TALLY
    functions = written[written.index("CREATE FUNCTION tally_inserted"):
                        written.index("CREATE TRIGGER")]
    functions = functions.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    if not public_filed:
        return functions
    for before, after, times in (("filed, voided", "filed, public_filed, voided", 2),
                                 ("t.filed <> 0 OR", "t.filed <> 0 OR t.public_filed <> 0 OR", 1)):
        assert functions.count(before) == times, before
        functions = functions.replace(before, after)
    return _summing_public_filed(functions, 2)


def upgrade() -> None:
    for table in ("incident_tally", "incident_tally_delta"):
        op.execute(f"ALTER TABLE {table} ADD COLUMN public_filed bigint NOT NULL DEFAULT 0")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN public_filed DROP DEFAULT")
    op.execute("DROP FUNCTION incident_measures(incident)")
    op.execute(MEASURES_FUNCTION)
    op.execute(_tally_functions(public_filed=True))
    # the cases stored, as the tally's triggers count them, the other measures counted already
    counted = _summing_public_filed(_TALLIES.TALLY_SELECT, 1).format(
        rows="SELECT 1 AS sign, i AS inc FROM incident i")
    op.execute(f"""
        INSERT INTO incident_tally_delta (kind, subject, day, public_filed,
                                          {", ".join(_TALLIES.MEASURES)})
        SELECT t.kind, t.subject, t.day, t.public_filed,
               {", ".join("0" for _ in _TALLIES.MEASURES)}
          FROM ({counted}) t
         WHERE t.public_filed <> 0""")


def downgrade() -> None:
    op.execute("DROP FUNCTION incident_measures(incident)")
    op.execute(_TALLIES.MEASURES_FUNCTION)
    op.execute(_tally_functions(public_filed=False))
    for table in ("incident_tally", "incident_tally_delta"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN public_filed")
