"""Auditors (审计员): accounts that read the audit log and the accounts' events, and nothing
else (等保 2.0's separation of the system's administrator from its auditor).

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-03
"""

from alembic import op

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

ROLES = "'grid_worker', 'grid_chief', 'command', 'department', 'planner', 'admin'"


def upgrade() -> None:
    op.execute(f"""
ALTER TABLE account DROP CONSTRAINT account_role_check,
    ADD CONSTRAINT account_role_check CHECK (role IN ({ROLES}, 'auditor'))
""")


def downgrade() -> None:
    op.execute(f"""
ALTER TABLE account DROP CONSTRAINT account_role_check,
    ADD CONSTRAINT account_role_check CHECK (role IN ({ROLES}))
""")
