"""Each grid's last patrol kept beside its other figures (grid_figures): when the latest patrol
that passed through it ended, in seconds since 2000 (``visit_second``, as its visits). A grid
tile then says how many days its grids have gone unpatrolled, and the grids not patrolled
lately are counted from one row each, where each grid's patrols were searched.

Patrols are only ever added, and a patrol sent late (kept on a phone with no signal) may have
ended before the last one kept: the kept moment only ever moves later. A patrol's grids are
written in grid order, as the other figures' triggers lock them. A change bumps the registry's
tile revision, which the grid tiles follow.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-02
"""

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

# the latest end of the patrols of ``walked`` (patrol_grid rows) in each of their grids
_LATEST = """
    INSERT INTO grid_figures AS f (grid_id, last_patrol)
    SELECT w.grid_id, max(visit_second(p.ended_at))
      FROM {walked} w JOIN patrol p ON p.id = w.patrol_id
     GROUP BY w.grid_id ORDER BY w.grid_id
    ON CONFLICT (grid_id) DO UPDATE SET last_patrol = excluded.last_patrol
     WHERE f.last_patrol IS NULL OR f.last_patrol < excluded.last_patrol"""


def upgrade() -> None:
    op.execute(f"""
        ALTER TABLE grid_figures ADD COLUMN last_patrol integer;
        {_LATEST.format(walked="patrol_grid")};
        CREATE FUNCTION grid_figures_patrolled() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {_LATEST.format(walked="walked")};
            IF FOUND THEN
                PERFORM nextval('tile_revision_registry');
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER patrol_grid_figures AFTER INSERT ON patrol_grid
            REFERENCING NEW TABLE AS walked
            FOR EACH STATEMENT EXECUTE FUNCTION grid_figures_patrolled();""")


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER patrol_grid_figures ON patrol_grid;
        DROP FUNCTION grid_figures_patrolled;
        ALTER TABLE grid_figures DROP COLUMN last_patrol;""")
