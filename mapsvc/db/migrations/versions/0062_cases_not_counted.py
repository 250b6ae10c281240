"""Cases the centre takes out of the hotline's evaluation (不纳入考核): a caller's demand found
unreasonable, beyond what law and policy provide for, or the same demand called in again and
again. From then on (``exempted_at``, in the case and its JSON) the case counts in none of the
figures its caller's judgement or calls make: its rating (满意度, 满意率), whether it was
resolved (解决率), the response due to it (响应率) and its urges (催办率). Its handling counts
as ever. No case was taken out before.

Revision ID: 0062
Revises: 0061
Create Date: 2026-12-05
"""

from mapsvc.db.migrate import earlier_migration

revision = "0062"
down_revision = "0061"
branch_labels = None
depends_on = None

_ANSWERS = earlier_migration("0059_follow_up_resolved")
_RESPONSES = earlier_migration("0060_callers_contacted")
_URGES = earlier_migration("0061_urged_counted")
_URGENT = earlier_migration("0049_urgent_cases")

# the measures the caller's judgement and calls make, from ``rated`` to ``urged``, each line of
# incident_measures counted only while the case is
_FIRST, _LAST = "           (c.satisfaction IS NOT NULL)::int,\n", "> 0)::int,\n"
_head, _rest = _URGES.MEASURES_FUNCTION.split(_FIRST)
_judged, _tail = _rest.split(_LAST)
_JUDGED = [line.removesuffix(",") for line in (_FIRST + _judged + _LAST).splitlines()]
assert len(_JUDGED) == 8, _JUDGED
MEASURES_FUNCTION = _head + "".join(f"{line} * (c.exempted_at IS NULL)::int,\n"
                                    for line in _JUDGED) + _tail
_BEFORE = "'resolved', i.resolved,"
INCIDENT_JSON = _RESPONSES.INCIDENT_JSON.replace(_BEFORE,
                                                 f"'exempted_at', i.exempted_at, {_BEFORE}")


def upgrade() -> None:
    _URGENT.columns_added({"exempted_at": "timestamptz"}, INCIDENT_JSON)
    _ANSWERS._measures_written(MEASURES_FUNCTION, _URGES._tally_functions(new=True))


def downgrade() -> None:
    _ANSWERS._measures_written(_URGES.MEASURES_FUNCTION, _URGES._tally_functions(new=True))
    _URGENT.columns_dropped(("exempted_at",), _RESPONSES.INCIDENT_JSON)
