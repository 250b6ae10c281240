"""incident_overdue(i): whether a case is red (a running clock past its deadline), written as
one expression so that PostgreSQL inlines it: counting the overdue among many cases then calls
no function per case (incident_colour, which grades every clock, is for showing one).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def overdue_function(running: dict[str, str], create: str = "CREATE") -> str:
    """incident_overdue over the clocks ``running`` names (each with when it runs)."""
    late = " OR ".join(
        f"coalesce(({when}) AND coalesce(i.suspended_at, now()) > i.{stage}_deadline, false)"
        for stage, when in running.items())
    return f"""
        {create} FUNCTION incident_overdue(i incident) RETURNS boolean
        LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT {late} $$"""


def upgrade() -> None:
    op.execute(overdue_function(earlier_migration("0006_clocks_and_tallies").RUNNING))


def downgrade() -> None:
    op.execute("DROP FUNCTION incident_overdue")
