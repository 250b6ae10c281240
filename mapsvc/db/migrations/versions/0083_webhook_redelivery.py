"""A batch a receiver took, sent again on an administrator's word (its receiver lost what it
had taken, restored from a backup): queued anew behind those waiting, the same steps, noting
the batch it copies (``resent_from``: no reference, the batch copied is erased after 30
days), and recorded in the webhooks' record.

Revision ID: 0083
Revises: 0082
Create Date: 2026-12-05
"""

from alembic import op

revision = "0083"
down_revision = "0082"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE webhook_delivery ADD COLUMN resent_from bigint;
ALTER TABLE webhook_event DROP CONSTRAINT webhook_event_event_check,
    ADD CONSTRAINT webhook_event_event_check CHECK (event IN (
        'made', 'changed', 'paused', 'resumed', 'new_secret', 'removed', 'resent'));
""")


def downgrade() -> None:
    op.execute("""
ALTER TABLE webhook_event DROP CONSTRAINT webhook_event_event_check,
    ADD CONSTRAINT webhook_event_event_check CHECK (event IN (
        'made', 'changed', 'paused', 'resumed', 'new_secret', 'removed')) NOT VALID;
ALTER TABLE webhook_delivery DROP COLUMN resent_from;
""")
