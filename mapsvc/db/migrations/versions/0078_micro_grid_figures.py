"""Each grid's micro-grids counted beside its other figures (grid_figures): how many it has and
how many of them have a leader named (联户长), kept by a statement trigger on the micro-grids (a
division, a leader named, a micro-grid moving with a redraw). The wall's panel of a township or
a county then says how far its grids are divided from one row a grid, where every micro-grid of
the region was counted. Written in grid order, as the other figures' triggers lock them.

Revision ID: 0078
Revises: 0077
Create Date: 2026-12-05
"""

from alembic import op

revision = "0078"
down_revision = "0077"
branch_labels = None
depends_on = None


# the micro-grids of the grids ``grids`` names, counted again, and those led (``led``, an
# aggregate over their micro-grids ``m``)
def count(grids: str, led: str = "count(m.leader_id)") -> str:
    return f"""
    INSERT INTO grid_figures AS f (grid_id, micro_grids, micro_led)
    SELECT g.grid_id, count(m.id), {led}
      FROM ({grids}) g LEFT JOIN micro_grid m ON m.grid_id = g.grid_id
     GROUP BY g.grid_id ORDER BY g.grid_id
    ON CONFLICT (grid_id) DO UPDATE SET micro_grids = excluded.micro_grids,
                                        micro_led = excluded.micro_led"""


# what the micro-grids' trigger does, counting those led by ``led``
def figures(led: str = "count(m.leader_id)") -> str:
    return f"""
        CREATE OR REPLACE FUNCTION grid_figures_micro_grids() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {count("SELECT DISTINCT grid_id FROM new_rows", led)};
            ELSIF TG_OP = 'DELETE' THEN
                {count("SELECT DISTINCT grid_id FROM old_rows", led)};
            ELSE
                {count("SELECT grid_id FROM new_rows UNION SELECT grid_id FROM old_rows", led)};
            END IF;
            RETURN NULL;
        END $$;"""


def upgrade() -> None:
    op.execute(f"""
        ALTER TABLE grid_figures ADD COLUMN micro_grids integer NOT NULL DEFAULT 0,
                                 ADD COLUMN micro_led integer NOT NULL DEFAULT 0;
        {count("SELECT DISTINCT grid_id FROM micro_grid")};
        {figures()}
        CREATE TRIGGER micro_grid_figures_insert AFTER INSERT ON micro_grid
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION grid_figures_micro_grids();
        CREATE TRIGGER micro_grid_figures_update AFTER UPDATE ON micro_grid
            REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION grid_figures_micro_grids();
        CREATE TRIGGER micro_grid_figures_delete AFTER DELETE ON micro_grid
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION grid_figures_micro_grids();""")


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER micro_grid_figures_insert ON micro_grid;
        DROP TRIGGER micro_grid_figures_update ON micro_grid;
        DROP TRIGGER micro_grid_figures_delete ON micro_grid;
        DROP FUNCTION grid_figures_micro_grids;
        ALTER TABLE grid_figures DROP COLUMN micro_grids, DROP COLUMN micro_led;""")
