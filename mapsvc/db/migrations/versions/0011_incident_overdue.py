"""incident_overdue(i): whether a case is red (a running clock past its deadline), written as
one expression so that PostgreSQL inlines it: counting the overdue among many cases then calls
no function per case (incident_colour, which grades every clock, is for showing one).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _clocks():
    spec = importlib.util.spec_from_file_location(
        "clocks_0006", Path(__file__).with_name("0006_clocks_and_tallies.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    late = " OR ".join(
        f"coalesce(({running}) AND coalesce(i.suspended_at, now()) > i.{stage}_deadline, false)"
        for stage, running in _clocks().RUNNING.items())
    op.execute(f"""
        CREATE FUNCTION incident_overdue(i incident) RETURNS boolean
        LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT {late} $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION incident_overdue")
