"""Cases urged (催办): how many times the caller called again about a case still open, in the
case and its JSON (``urged``), each time a step of its own in the case's log. NULL in the table
for a case never urged (a column with a default cannot be added to a table whose row type the
clock functions take), 0 in its JSON. The urged cases are read from an index of their own, as
the urgent ones are: a handful among a county's.

Revision ID: 0058
Revises: 0057
Create Date: 2026-12-04
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0058"
down_revision = "0057"
branch_labels = None
depends_on = None

_VERIFY = earlier_migration("0052_verify_clock")
_URGENT = earlier_migration("0049_urgent_cases")
_VIEW = earlier_migration("0032_case_json_inlined")
_BEFORE = "'urgent_at', i.urgent_at,"
INCIDENT_JSON = _VERIFY.INCIDENT_JSON.replace(_BEFORE, f"'urged', coalesce(i.urged, 0), {_BEFORE}")


def upgrade() -> None:
    op.execute("ALTER TABLE incident ADD COLUMN urged integer")
    op.execute("CREATE INDEX incident_urged_idx ON incident (id) WHERE urged IS NOT NULL")
    _URGENT._case_json(INCIDENT_JSON, f"{_VIEW._view_columns()}, i.urged")


def downgrade() -> None:
    _URGENT._case_json(_VERIFY.INCIDENT_JSON, _VIEW._view_columns().replace(", i.urged", ""))
    op.execute("ALTER TABLE incident DROP COLUMN urged")
