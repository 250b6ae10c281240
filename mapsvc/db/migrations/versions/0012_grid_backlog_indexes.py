"""A grid's backlog straight from two indexes: its open cases with what decides whether they
are overdue (the grid tiles count a whole tile's grids with index-only scans), and its cases by
report time (which also serves every lookup by grid).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OPEN = "('reported', 'verifying', 'filed', 'dispatched', 'in_progress', 'handled', 'checking')"


def _stages():
    spec = importlib.util.spec_from_file_location(
        "clocks_0006", Path(__file__).with_name("0006_clocks_and_tallies.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RUNNING


def upgrade() -> None:
    deadlines = ", ".join(f"{stage}_deadline" for stage in _stages())
    op.execute(f"""
        CREATE INDEX incident_grid_open_idx ON incident (grid_id)
            INCLUDE (status, suspended_at, {deadlines}) WHERE status IN {OPEN};
        CREATE INDEX incident_grid_reported_idx ON incident (grid_id, reported_at);
        DROP INDEX incident_grid_idx""")


def downgrade() -> None:
    op.execute("""
        CREATE INDEX incident_grid_idx ON incident (grid_id);
        DROP INDEX incident_grid_reported_idx, incident_grid_open_idx""")
