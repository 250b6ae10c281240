"""Tile revisions moved on again once a change is committed. A revision is a sequence a change
moves on as it is written (migration 0007), before its transaction commits: a tile drawn in
that moment, from a snapshot without the change, was kept (the ETag, the tiles' cache) under the
new revision until the next change of its data. Each bump now also announces its sequence on
the channel ``tile_revision``, which PostgreSQL delivers only after the commit (once per
transaction and sequence); each process of the service, hearing it, moves the sequence on once
more (mapsvc.tiles.service.follow_revisions), so a tile drawn without the change is drawn anew.

Revision ID: 0084
Revises: 0083
Create Date: 2026-12-06
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0084"
down_revision = "0083"
branch_labels = None
depends_on = None

_TILES = earlier_migration("0007_tiles")
_COVERAGE = earlier_migration("0016_grid_coverage")
_FIGURES = earlier_migration("0028_grid_figures")
_PATROLLED = earlier_migration("0036_grid_last_patrol")

CHANNEL = "tile_revision"
_BUMP = f"""
CREATE OR REPLACE FUNCTION bump_tile_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval(TG_ARGV[0]);
    PERFORM pg_notify('{CHANNEL}', TG_ARGV[0]);
    RETURN NULL;
END
$$;
"""
# the grids' figures moving the registry's tiles on (migrations 0028, 0036), announced too
_REGISTRY = f"""
    IF FOUND THEN
        PERFORM nextval('tile_revision_registry');
        PERFORM pg_notify('{CHANNEL}', 'tile_revision_registry');
    END IF;"""


def _figures(bump: str) -> str:
    return (_COVERAGE.refresh_coverage("grid_figures", bump, _FIGURES._SECONDS, people=True,
                                       each_call=True) + f"""
        CREATE OR REPLACE FUNCTION grid_figures_patrolled() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            {_PATROLLED._LATEST.format(walked="walked")};
            {bump}
            RETURN NULL;
        END $$;""")


def upgrade() -> None:
    op.execute(_BUMP + _figures(_REGISTRY))


def downgrade() -> None:
    op.execute(_TILES.BUMP.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
               + _figures(_FIGURES._BUMP))
