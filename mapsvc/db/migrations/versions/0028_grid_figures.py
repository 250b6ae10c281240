"""Each grid's backlog (migration 0026) and coverage (migration 0016) kept in one row of
grid_figures: a grid tile reads each of its grids' figures by one lookup instead of two, a
fifth of its statement at zooms 12 to 14.

The two are still kept apart: the incidents' triggers write the backlog's columns, the
registry's triggers the coverage's, each locking the grids' rows in grid order first. A
change of coverage bumps the registry's tile revision, as the coverage's own table did.

A grid's last visits are kept as whole seconds since 2000 (``visit_second``, in four bytes,
to 2068), and its figures in its row rather than apart from it (up to some 2,000 visited
households): a grid of 300 to 500 households (the usual size) had them as timestamps of twice
the size, stored apart (TOAST) from 250 visited households on, and a tile fetching them for
each grid took twice as long.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_BUMP = """
    IF FOUND THEN
        PERFORM nextval('tile_revision_registry');
    END IF;"""

_BACKLOG = earlier_migration("0026_grid_backlog")
_COVERAGE = earlier_migration("0016_grid_coverage")
_SECONDS = "visit_second({})"


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION visit_second(t timestamptz) RETURNS integer
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            RETURN floor(extract(epoch FROM t - timestamptz '2000-01-01 00:00+00'))::integer;
        ALTER TABLE grid_backlog RENAME TO grid_figures;
        ALTER INDEX grid_backlog_pkey RENAME TO grid_figures_pkey;
        ALTER TABLE grid_figures
            RENAME CONSTRAINT grid_backlog_grid_id_fkey TO grid_figures_grid_id_fkey;
        ALTER TABLE grid_figures
            ADD COLUMN households integer NOT NULL DEFAULT 0,
            -- the last visit of each household visited at least once, earliest first
            ADD COLUMN last_visits integer[] NOT NULL DEFAULT '{}',
            ALTER COLUMN red_from SET STORAGE MAIN, ALTER COLUMN reported SET STORAGE MAIN,
            ALTER COLUMN last_visits SET STORAGE MAIN;
        INSERT INTO grid_figures AS f (grid_id, households, last_visits)
        SELECT grid_id, households, ARRAY(SELECT visit_second(t) FROM unnest(last_visits) t)
          FROM grid_coverage ORDER BY grid_id
        ON CONFLICT (grid_id) DO UPDATE
           SET households = excluded.households, last_visits = excluded.last_visits;
        DROP TABLE grid_coverage;
        DROP FUNCTION coverage_visited(timestamptz[], timestamptz);
    """ + _COVERAGE.visited_function("integer[]", _SECONDS)
        + _BACKLOG.backlog_functions("grid_figures")
        + _COVERAGE.refresh_coverage("grid_figures", _BUMP, _SECONDS))


def downgrade() -> None:
    op.execute("""
        CREATE TABLE grid_coverage (
            grid_id     bigint PRIMARY KEY REFERENCES grid,
            households  integer NOT NULL DEFAULT 0,
            last_visits timestamptz[] NOT NULL DEFAULT '{}'
        );
        INSERT INTO grid_coverage (grid_id, households, last_visits)
        SELECT grid_id, households,
               ARRAY(SELECT timestamptz '2000-01-01 00:00+00' + make_interval(secs => s)
                       FROM unnest(last_visits) s)
          FROM grid_figures ORDER BY grid_id;
        CREATE TRIGGER grid_coverage_bumps_registry
            AFTER INSERT OR UPDATE OR DELETE ON grid_coverage
            FOR EACH STATEMENT EXECUTE FUNCTION bump_tile_revision('tile_revision_registry');
        DROP FUNCTION coverage_visited(integer[], timestamptz);
        ALTER TABLE grid_figures DROP COLUMN households, DROP COLUMN last_visits,
            ALTER COLUMN red_from SET STORAGE EXTENDED,
            ALTER COLUMN reported SET STORAGE EXTENDED;
        ALTER TABLE grid_figures RENAME TO grid_backlog;
        ALTER INDEX grid_figures_pkey RENAME TO grid_backlog_pkey;
        ALTER TABLE grid_backlog
            RENAME CONSTRAINT grid_figures_grid_id_fkey TO grid_backlog_grid_id_fkey;
    """ + _COVERAGE.visited_function()
        + _BACKLOG.backlog_functions("grid_backlog")
        + _COVERAGE.refresh_coverage("grid_coverage")
        + "DROP FUNCTION visit_second;")
