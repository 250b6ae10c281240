"""A micro-grid counts as led (grid_figures.micro_led) while its leader (联户长) lives in it: a
leader who left, or moved out of its households (to another household, or its address placed in
another micro-grid or moved to another grid by a redraw), leaves it unled until another is
named, as the grid's own list of micro-grids says (``leader_gone``). Counted again when a
leader's person, or an address of a micro-grid, changes.

Revision ID: 0082
Revises: 0081
Create Date: 2026-12-05
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0082"
down_revision = "0081"
branch_labels = None
depends_on = None

_FIGURES = earlier_migration("0078_micro_grid_figures")
# the micro-grids (``m``) whose leader lives in one of their addresses still
_LED = """count(m.id) FILTER (WHERE EXISTS (
        SELECT 1 FROM person l JOIN household lh ON lh.id = l.household_id
          JOIN house lho ON lho.id = lh.house_id JOIN address la ON la.id = lho.address_id
         WHERE l.id = m.leader_id AND l.left_on IS NULL
           AND la.micro_grid_id = m.id AND la.grid_id = m.grid_id))"""
# the grids of the micro-grids led by the people a statement moved or saw leave
_LEADERS_MOVED = """
    SELECT DISTINCT m.grid_id FROM new_rows n JOIN old_rows o ON o.id = n.id
      JOIN micro_grid m ON m.leader_id = n.id
     WHERE n.household_id IS DISTINCT FROM o.household_id
        OR n.left_on IS DISTINCT FROM o.left_on"""
# the grids of the micro-grids an address a statement changed was or is in
_ADDRESSES_MOVED = """
    SELECT DISTINCT m.grid_id FROM micro_grid m
     WHERE m.id IN (SELECT n.micro_grid_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                     WHERE n.micro_grid_id IS DISTINCT FROM o.micro_grid_id
                        OR n.grid_id IS DISTINCT FROM o.grid_id
                    UNION
                    SELECT o.micro_grid_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                     WHERE n.micro_grid_id IS DISTINCT FROM o.micro_grid_id
                        OR n.grid_id IS DISTINCT FROM o.grid_id)"""


def upgrade() -> None:
    op.execute(f"""
        CREATE INDEX micro_grid_leader_idx ON micro_grid (leader_id) WHERE leader_id IS NOT NULL;
        {_FIGURES.figures(_LED)}
        CREATE FUNCTION grid_figures_micro_leaders() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_TABLE_NAME = 'person' THEN
                {_FIGURES.count(_LEADERS_MOVED, _LED)};
            ELSE
                {_FIGURES.count(_ADDRESSES_MOVED, _LED)};
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER person_micro_leader AFTER UPDATE ON person
            REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION grid_figures_micro_leaders();
        CREATE TRIGGER address_micro_grid AFTER UPDATE ON address
            REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION grid_figures_micro_leaders();
        {_FIGURES.count("SELECT DISTINCT grid_id FROM micro_grid", _LED)};""")


def downgrade() -> None:
    op.execute(f"""
        DROP TRIGGER person_micro_leader ON person;
        DROP TRIGGER address_micro_grid ON address;
        DROP FUNCTION grid_figures_micro_leaders;
        DROP INDEX micro_grid_leader_idx;
        {_FIGURES.figures()}
        {_FIGURES.count("SELECT DISTINCT grid_id FROM micro_grid")};""")
