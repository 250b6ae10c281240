"""A webhook following some classes of cases only (a safety platform taking the hazards of its
classes, whichever department handles them): each class named takes in the classes under it,
as the category tree's codes nest.

Revision ID: 0079
Revises: 0078
Create Date: 2026-12-05
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0079"
down_revision = "0078"
branch_labels = None
depends_on = None

_WEBHOOKS = earlier_migration("0077_webhooks")
_CLASSES = """
               AND (w.categories IS NULL OR EXISTS (
                        SELECT 1 FROM unnest(w.categories) c
                         WHERE starts_with(i.category_code, c)))"""


def upgrade() -> None:
    op.execute("ALTER TABLE webhook ADD COLUMN categories text[];"
               + _WEBHOOKS.QUEUE.format(more=_CLASSES))


def downgrade() -> None:
    op.execute(_WEBHOOKS.QUEUE.format(more="") + "ALTER TABLE webhook DROP COLUMN categories;")
