"""How often a case's handling deadline was extended (延期) since it was sent to its handler
(``extensions``, in the case and its JSON): a deployment allows so many (the 12345 hotlines'
rule: once). A case extended before is counted from its log; NULL for none.

Revision ID: 0072
Revises: 0071
Create Date: 2026-12-05
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0072"
down_revision = "0071"
branch_labels = None
depends_on = None

_NUMBERED = earlier_migration("0069_source_numbers")
_URGENT = earlier_migration("0049_urgent_cases")
_AFTER = "'extension_request', i.extension_request,"
assert _NUMBERED.INCIDENT_JSON.count(_AFTER) == 1
INCIDENT_JSON = _NUMBERED.INCIDENT_JSON.replace(
    _AFTER, f"{_AFTER} 'extensions', coalesce(i.extensions, 0),")


def upgrade() -> None:
    # NULL for none: a default would have the table rewritten, which its row type's index
    # (incident_red_from) refuses
    _URGENT.columns_added({"extensions": "smallint"}, INCIDENT_JSON)
    op.execute("""
        UPDATE incident i SET extensions = n.extensions
          FROM (SELECT l.incident_id, count(*) AS extensions
                  FROM incident_log l JOIN incident c ON c.id = l.incident_id
                 WHERE l.action = 'extend' AND coalesce(l.taken_at, l.at) >= c.dispatched_at
                 GROUP BY l.incident_id) n
         WHERE i.id = n.incident_id""")


def downgrade() -> None:
    _URGENT.columns_dropped(("extensions",), _NUMBERED.INCIDENT_JSON)
