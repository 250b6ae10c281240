"""Grids drawn into their tiles (migration 0022) at zoom 11 too: the grid tiles start a zoom
earlier. A wall of 1920 × 1080 frames a county some 35 km across at zoom 12, where its tiles of
512 pixels are those of zoom 11: it shows the county's grids, their backlog and coverage, as it
opens, no longer only once zoomed in.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-02
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def _draw(zooms: range) -> str:
    return earlier_migration("0022_drawn_grid_tiles").draw(
        earlier_migration("0027_grid_tile_labels").LABELS, zooms)


def upgrade() -> None:
    op.execute(_draw(range(11, 16)) + """
        TRUNCATE grid_version_tile;
        SELECT grid_version_tiles_draw(ARRAY(SELECT id FROM grid_version WHERE valid_to IS NULL));
        ANALYZE grid_version_tile;""")


def downgrade() -> None:
    op.execute(_draw(range(12, 16)) + "DELETE FROM grid_version_tile WHERE z = 11;")
