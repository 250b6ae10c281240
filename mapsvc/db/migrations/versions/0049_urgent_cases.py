"""Urgent cases (加急): when the centre marked a case urgent, in the case and its JSON
(``urgent_at``), and the urgent cases read from an index of their own: they are a handful among
a county's cases.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-03
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

_INLINED = earlier_migration("0032_case_json_inlined")
_BEFORE = "'supervision', i.supervision,"
INCIDENT_JSON = _INLINED.INCIDENT_JSON.replace(_BEFORE, f"'urgent_at', i.urgent_at, {_BEFORE}")


def _case_json(function: str, columns: str) -> None:
    """incident_json as ``function`` writes it, and the view built on it showing ``columns``
    of the table."""
    op.execute("DROP VIEW incident_doc")
    op.execute("DROP FUNCTION incident_json(incident)")
    op.execute(function)
    op.execute(f"CREATE VIEW incident_doc AS SELECT {columns}, j.doc FROM incident i "
               "CROSS JOIN LATERAL incident_json(i) j")


def columns_added(columns: dict[str, str], function: str) -> None:
    """The case gains ``columns`` (name → SQL type), shown in its JSON as ``function`` writes
    it and in the view built on it."""
    op.execute("ALTER TABLE incident " + ", ".join(f"ADD COLUMN {name} {kind}"
                                                   for name, kind in columns.items()))
    shown = "".join(f", i.{name}" for name in columns)
    _case_json(function, f"{_INLINED._view_columns()}{shown}")


def columns_dropped(columns: tuple[str, ...], function: str) -> None:
    """The case's ``columns`` dropped, its JSON written back as ``function`` writes it."""
    _case_json(function, _INLINED._view_columns().replace(
        "".join(f", i.{name}" for name in columns), ""))
    op.execute("ALTER TABLE incident " + ", ".join(f"DROP COLUMN {name}" for name in columns))


def upgrade() -> None:
    op.execute("ALTER TABLE incident ADD COLUMN urgent_at timestamptz")
    op.execute("CREATE INDEX incident_urgent_idx ON incident (id) WHERE urgent_at IS NOT NULL")
    _case_json(INCIDENT_JSON, f"{_INLINED._view_columns()}, i.urgent_at")


def downgrade() -> None:
    columns = _INLINED._view_columns().replace(", i.urgent_at", "")
    _case_json(_INLINED.INCIDENT_JSON, columns)
    op.execute("ALTER TABLE incident DROP COLUMN urgent_at")
