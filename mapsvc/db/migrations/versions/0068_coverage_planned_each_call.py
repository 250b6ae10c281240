"""The registry's coverage (migrations 0016, 0056) counted by statements planned at each call,
for the rows changed and the tables as they are then, rather than once a session.

A plan kept from a call when a table was empty read the whole of it for each row of another
once it was filled in the same session: a registry's first import stores its households (the
refresh planned with no people yet) and then their people, for each of whose households the
kept plan read every person stored; a township's 21,000 people took 68 s. A refresh's work
(a statement's rows, a set of grids) outweighs its planning many times over.

Revision ID: 0068
Revises: 0067
Create Date: 2026-12-05
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0068"
down_revision = "0067"
branch_labels = None
depends_on = None

_COVERAGE = earlier_migration("0016_grid_coverage")
_FIGURES = earlier_migration("0028_grid_figures")
_PEOPLE = earlier_migration("0056_grid_population")
_TABLES = {**_COVERAGE.TABLES, "person": (_PEOPLE._TO_GRID, ("household_id", "left_on"))}


def _functions(each_call: bool) -> str:
    return _COVERAGE.refresh_coverage("grid_figures", _FIGURES._BUMP, _FIGURES._SECONDS,
                                      people=True, each_call=each_call) + "".join(
        _COVERAGE.coverage_function(table, to_grid, columns, "CREATE OR REPLACE", each_call)
        for table, (to_grid, columns) in _TABLES.items())


def upgrade() -> None:
    op.execute("DROP INDEX person_household_idx;"
               "CREATE INDEX person_household_idx ON person (household_id, left_on);"
               + _functions(each_call=True))


def downgrade() -> None:
    op.execute("DROP INDEX person_household_idx;"
               "CREATE INDEX person_household_idx ON person (household_id);"
               + _functions(each_call=False))
