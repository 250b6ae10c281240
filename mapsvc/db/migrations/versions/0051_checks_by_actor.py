"""A grid worker's 按时核查率 (mapsvc.workflow.stats) counts the checks it took, each on time if
taken by the deadline the case's check clock then had. Two partial indexes of the log: its
check steps by actor and time, so that a worker's since a day are found without reading the
log through; and the steps that started a check clock by case, so that the one before a check
is read at once, not among all the case's steps.

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-03
"""

from alembic import op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX incident_log_checks_idx ON incident_log (actor, at) "
               "WHERE action IN ('check_pass', 'check_fail')")
    op.execute("CREATE INDEX incident_log_check_clocks_idx ON incident_log (incident_id, id) "
               "WHERE data ? 'check_deadline'")


def downgrade() -> None:
    op.execute("DROP INDEX incident_log_check_clocks_idx")
    op.execute("DROP INDEX incident_log_checks_idx")
