"""The time by which a public case's handler is to tell its caller it has the case (响应),
given at each dispatch by the setting MAPSVC_WORKFLOW_RESPONSE_LIMIT (``response_deadline``, in
the case and its JSON), which 响应率 now counts against. A case dispatched before keeps the
24 hours of the dispatch that counted it then, so the tally stays as it is.

Revision ID: 0065
Revises: 0064
Create Date: 2026-12-05
"""

from mapsvc.db.migrate import earlier_migration

revision = "0065"
down_revision = "0064"
branch_labels = None
depends_on = None

_ANSWERS = earlier_migration("0059_follow_up_resolved")
_RESPONSES = earlier_migration("0060_callers_contacted")
_ACCEPTED = earlier_migration("0064_accepted_in_time")
_URGENT = earlier_migration("0049_urgent_cases")

_HOURS = f"interval '{_RESPONSES.RESPONSE_HOURS} hours'"
_WITHIN = f"coalesce(c.contacted_at - c.dispatched_at <= {_HOURS}, false)"
assert _ACCEPTED.MEASURES_FUNCTION.count(_WITHIN) == 1
MEASURES_FUNCTION = _ACCEPTED.MEASURES_FUNCTION.replace(
    _WITHIN, "coalesce(c.contacted_at <= coalesce(c.response_deadline, "
             f"c.dispatched_at + {_HOURS}), false)")
_BEFORE = "'contacted_at', i.contacted_at,"
INCIDENT_JSON = _ACCEPTED.INCIDENT_JSON.replace(
    _BEFORE, f"'response_deadline', i.response_deadline, {_BEFORE}")


def upgrade() -> None:
    _URGENT.columns_added({"response_deadline": "timestamptz"}, INCIDENT_JSON)
    _ANSWERS._measures_written(MEASURES_FUNCTION, _ACCEPTED._tally_functions(new=True))


def downgrade() -> None:
    _ANSWERS._measures_written(_ACCEPTED.MEASURES_FUNCTION, _ACCEPTED._tally_functions(new=True))
    _URGENT.columns_dropped(("response_deadline",), _ACCEPTED.INCIDENT_JSON)
