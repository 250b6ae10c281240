"""Cases done the first time they were sent (一次完成率, which Lianyungang's 12345 reports among
its five rates): the case counts the times it went back rather than on (``returned_count``, in
the case and its JSON, NULL for never: handed back 退回, reassigned 改派, reopened 重新办理),
each step's log counted for the cases before; the tally gains ``closed_first_time``, the cases
closed that never went back nor were sent back for rework (返工). The cases closed already
enter it by a delta of their own.

Revision ID: 0066
Revises: 0065
Create Date: 2026-12-05
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0066"
down_revision = "0065"
branch_labels = None
depends_on = None

_TALLIES = earlier_migration("0006_clocks_and_tallies")
_ANSWERS = earlier_migration("0059_follow_up_resolved")
_RESPONSES = earlier_migration("0060_callers_contacted")
_URGES = earlier_migration("0061_urged_counted")
_ACCEPTED = earlier_migration("0064_accepted_in_time")
_DEADLINE = earlier_migration("0065_response_deadline")
_URGENT = earlier_migration("0049_urgent_cases")
NEW = ("closed_first_time",)
RETURNS = ("hand_back", "reassign", "reopen")  # the steps that send a case back

_ACCEPTED_ON_TIME = "           coalesce(c.accepted_at <= c.accept_deadline, false)::int,\n"
MEASURES_FUNCTION = (
    _DEADLINE.MEASURES_FUNCTION
    .replace("accepted_on_time int, bin int",
             "accepted_on_time int, closed_first_time int, bin int")
    .replace(_ACCEPTED_ON_TIME, _ACCEPTED_ON_TIME
             + "           (c.closed_at IS NOT NULL AND c.rework_count = 0"
               " AND c.returned_count IS NULL)::int,\n"))
assert MEASURES_FUNCTION.count("c.returned_count") == 1
_BEFORE = "'rework_count', i.rework_count,"
INCIDENT_JSON = _DEADLINE.INCIDENT_JSON.replace(
    _BEFORE, f"{_BEFORE} 'returned_count', i.returned_count,")


def _tally_functions(new: bool) -> str:
    """The tally's triggers' functions as migration 0064 wrote them, with the new measure or
    not."""
    functions = _ACCEPTED._tally_functions(new=True)
    return _ANSWERS.with_measures(functions, "accepted_on_time", NEW, sums=2) if new else functions


def upgrade() -> None:
    _URGENT.columns_added({"returned_count": "integer"}, INCIDENT_JSON)
    # counted from the log while no measure reads it (the tally's triggers change nothing)
    op.execute(f"""
        UPDATE incident i SET returned_count = r.n
          FROM (SELECT incident_id, count(*) AS n FROM incident_log
                 WHERE action IN ('{"', '".join(RETURNS)}') GROUP BY incident_id) r
         WHERE i.id = r.incident_id""")
    _ANSWERS.measures_added(NEW, MEASURES_FUNCTION, _tally_functions(new=True))
    # the cases closed, as the tally's triggers count them
    _ANSWERS.counted_anew(
        "closed_first_time",
        _ANSWERS.with_measures(_TALLIES.TALLY_SELECT, "satisfaction", NEW, sums=1).format(
            rows="SELECT 1 AS sign, i AS inc FROM incident i WHERE i.closed_at IS NOT NULL"),
        ("public_filed", *_TALLIES.MEASURES, *_ANSWERS.NEW, *_RESPONSES.NEW, *_URGES.NEW,
         *_ACCEPTED.NEW))


def downgrade() -> None:
    _ANSWERS.measures_dropped(NEW, _DEADLINE.MEASURES_FUNCTION, _tally_functions(new=False))
    _URGENT.columns_dropped(("returned_count",), _DEADLINE.INCIDENT_JSON)
