"""A step sent after the fact (a phone with no signal kept it; a report's row in a hotline
file) keeps when it was taken, ``incident_log.taken_at``, beside when it came, ``at``. The
log stays appended to in the order its rows came, and is read by that time (Open311's
updates: a caller asking again from the last time it saw misses no step that came late; the
BRIN index on ``at``); the pages show a step at the time it was taken.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-02
"""

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE incident_log ADD COLUMN taken_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE incident_log DROP COLUMN taken_at")
