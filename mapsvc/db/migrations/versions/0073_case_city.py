"""A case's JSON names its county's city (地级市) beside its village, township and county
(``city``, null for a county of none), as ``locate`` does: a city's centre reads where each of
its counties' cases is.

Revision ID: 0073
Revises: 0072
Create Date: 2026-12-05
"""

from mapsvc.db.migrate import earlier_migration

revision = "0073"
down_revision = "0072"
branch_labels = None
depends_on = None

_COUNTED = earlier_migration("0072_extensions_counted")
_URGENT = earlier_migration("0049_urgent_cases")
_VIEW = earlier_migration("0032_case_json_inlined")
_PLACE = f"'county', {_VIEW._place('c')},"
_JOIN = "LEFT JOIN region c ON c.code = i.county_code"
assert _COUNTED.INCIDENT_JSON.count(_PLACE) == 1 and _COUNTED.INCIDENT_JSON.count(_JOIN) == 1
INCIDENT_JSON = _COUNTED.INCIDENT_JSON.replace(
    _PLACE, f"{_PLACE} 'city', {_VIEW._place('ci')},").replace(
    _JOIN, f"{_JOIN}\n      LEFT JOIN region ci ON ci.code = c.parent_code")


def upgrade() -> None:
    _URGENT._case_json(INCIDENT_JSON, _VIEW._view_columns())


def downgrade() -> None:
    _URGENT._case_json(_COUNTED.INCIDENT_JSON, _VIEW._view_columns())
