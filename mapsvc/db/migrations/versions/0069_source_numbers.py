"""The number the system a case came from gave it (a hotline's 工单编号, ``source_number``, in
the case and its JSON), kept as it was given: the case is told of, looked up and reported to
that system by it.

Revision ID: 0069
Revises: 0068
Create Date: 2026-12-05
"""

from mapsvc.db.migrate import earlier_migration

revision = "0069"
down_revision = "0068"
branch_labels = None
depends_on = None

_RETURNED = earlier_migration("0066_closed_first_time")
_URGENT = earlier_migration("0049_urgent_cases")
_AFTER = "'source', i.source,"
assert _RETURNED.INCIDENT_JSON.count(_AFTER) == 1
INCIDENT_JSON = _RETURNED.INCIDENT_JSON.replace(
    _AFTER, f"{_AFTER} 'source_number', i.source_number,")


def upgrade() -> None:
    _URGENT.columns_added({"source_number": "text"}, INCIDENT_JSON)


def downgrade() -> None:
    _URGENT.columns_dropped(("source_number",), _RETURNED.INCIDENT_JSON)
