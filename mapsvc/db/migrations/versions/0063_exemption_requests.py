"""A department asking the centre to take its case out of the hotline's evaluation (申请不纳入
考核, 申诉): when it asked (``exemption_requested_at``, in the case and its JSON), until the
centre takes the case out or declines. The cases asked for are read from an index of their own:
a handful among a county's.

Revision ID: 0063
Revises: 0062
Create Date: 2026-12-05
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0063"
down_revision = "0062"
branch_labels = None
depends_on = None

_EXEMPTED = earlier_migration("0062_cases_not_counted")
_URGENT = earlier_migration("0049_urgent_cases")
_BEFORE = "'exempted_at', i.exempted_at,"
INCIDENT_JSON = _EXEMPTED.INCIDENT_JSON.replace(
    _BEFORE, f"'exemption_requested_at', i.exemption_requested_at, {_BEFORE}")


def upgrade() -> None:
    _URGENT.columns_added({"exemption_requested_at": "timestamptz"}, INCIDENT_JSON)
    op.execute("CREATE INDEX incident_exemption_requested_idx ON incident (id) "
               "WHERE exemption_requested_at IS NOT NULL")


def downgrade() -> None:
    _URGENT.columns_dropped(("exemption_requested_at",), _EXEMPTED.INCIDENT_JSON)
