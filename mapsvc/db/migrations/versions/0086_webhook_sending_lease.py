"""A webhook's batch on its way holds its webhook by a time rather than a lock: the process
sending it notes until when it may (``sending_until``) and lets go of the row, so an
administrator's change, pause, new secret or removal made meanwhile is taken at once instead of
waiting for the receiver's answer; no other process sends that webhook's batches until the
answer is recorded or the time has passed (the process gone).

Revision ID: 0086
Revises: 0085
Create Date: 2026-12-06
"""

from alembic import op

revision = "0086"
down_revision = "0085"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE webhook ADD COLUMN sending_until timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE webhook DROP COLUMN sending_until")
