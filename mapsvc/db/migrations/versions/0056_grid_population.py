"""Each grid's population kept beside its households in grid_figures: the members of its
households who have not left, kept by the coverage's refresh (migration 0016) and a statement
trigger on people (a newcomer, a departure, a move to another household). The grids' sizing
(where a planner has grids to redraw) reads a city's grids' households and people at once
instead of counting every person of the registry.

Revision ID: 0056
Revises: 0055
Create Date: 2026-12-04
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0056"
down_revision = "0055"
branch_labels = None
depends_on = None

_COVERAGE = earlier_migration("0016_grid_coverage")
_FIGURES = earlier_migration("0028_grid_figures")
_TO_GRID = ("JOIN household h ON h.id = r.household_id JOIN house ho ON ho.id = h.house_id "
            "JOIN address a ON a.id = ho.address_id")


def _refresh(people: bool) -> str:
    return _COVERAGE.refresh_coverage("grid_figures", _FIGURES._BUMP, _FIGURES._SECONDS,
                                      people=people)


def upgrade() -> None:
    op.execute("ALTER TABLE grid_figures ADD COLUMN population integer NOT NULL DEFAULT 0;"
               + _refresh(people=True)
               + _COVERAGE.table_triggers("person", _TO_GRID, ("household_id", "left_on"))
               + """
        UPDATE grid_figures f SET population = n.population
          FROM (SELECT a.grid_id, count(*)::integer AS population
                  FROM person p JOIN household h ON h.id = p.household_id
                  JOIN house ho ON ho.id = h.house_id JOIN address a ON a.id = ho.address_id
                 WHERE p.left_on IS NULL AND a.grid_id IS NOT NULL
                 GROUP BY a.grid_id) n
         WHERE f.grid_id = n.grid_id;""")


def downgrade() -> None:
    for action in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER person_coverage_{action} ON person")
    op.execute("DROP FUNCTION person_coverage;" + _refresh(people=False)
               + "ALTER TABLE grid_figures DROP COLUMN population;")
