"""Patrol tracks as vector tiles: a revision counter of their own, bumped by every patrol
stored, which the tiles of the ``patrols`` collection follow.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-02
"""

from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE SEQUENCE tile_revision_patrols;
        CREATE TRIGGER patrol_bumps_patrols AFTER INSERT ON patrol
            FOR EACH STATEMENT EXECUTE FUNCTION bump_tile_revision('tile_revision_patrols');""")


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER patrol_bumps_patrols ON patrol;
        DROP SEQUENCE tile_revision_patrols;""")
