"""The handler calling the caller back (联系诉求人), counted as a hotline is judged (接诉即办:
响应率): when the case's handler first told its caller it has the case (``contacted_at``, in
the case and its JSON), and, of the public's cases dispatched (a citizen's, the 12345
hotline's), those whose caller was contacted within RESPONSE_HOURS of the dispatch. The tally
gains ``response_due`` and ``responded``; the public's cases dispatched already enter it by a
delta of their own (none contacted).

Revision ID: 0060
Revises: 0059
Create Date: 2026-12-04
"""

from mapsvc.db.migrate import earlier_migration

revision = "0060"
down_revision = "0059"
branch_labels = None
depends_on = None

_TALLIES = earlier_migration("0006_clocks_and_tallies")
_PUBLIC = earlier_migration("0050_public_reports_filed")
_ANSWERS = earlier_migration("0059_follow_up_resolved")
_URGENT = earlier_migration("0049_urgent_cases")
RESPONSE_HOURS = 24
NEW = ("response_due", "responded")

_ASKED = "           (c.resolved IS NOT NULL)::int,\n"
DISPATCHED_PUBLIC = f"c.dispatched_at IS NOT NULL AND c.source IN {_PUBLIC.PUBLIC_SOURCES}"
RESPONDED = (f"           ({DISPATCHED_PUBLIC} AND coalesce(c.contacted_at - c.dispatched_at "
             f"<= interval '{RESPONSE_HOURS} hours', false))::int,\n")
MEASURES_FUNCTION = (
    _ANSWERS.MEASURES_FUNCTION
    .replace("resolution_asked int, bin int",
             "resolution_asked int, response_due int, responded int, bin int")
    .replace(_ASKED, _ASKED + f"           ({DISPATCHED_PUBLIC})::int,\n" + RESPONDED))
assert MEASURES_FUNCTION.count("responded") == 1
_BEFORE = "'resolved', i.resolved,"
INCIDENT_JSON = _ANSWERS.INCIDENT_JSON.replace(_BEFORE,
                                               f"'contacted_at', i.contacted_at, {_BEFORE}")


def _tally_functions(new: bool) -> str:
    """The tally's triggers' functions as migration 0059 wrote them, with the new measures or
    not."""
    functions = _ANSWERS._tally_functions(new=True)
    return (_ANSWERS.with_measures(functions, "resolution_asked", NEW, sums=2) if new
            else functions)


def upgrade() -> None:
    _URGENT.columns_added({"contacted_at": "timestamptz"}, INCIDENT_JSON)
    _ANSWERS.measures_added(NEW, MEASURES_FUNCTION, _tally_functions(new=True))
    # the public's cases dispatched, as the tally's triggers count them
    answered = _ANSWERS.with_measures(_TALLIES.TALLY_SELECT, "satisfaction", _ANSWERS.NEW, sums=1)
    _ANSWERS.counted_anew(
        "response_due", _ANSWERS.with_measures(answered, "resolution_asked", NEW, sums=1).format(
            rows="SELECT 1 AS sign, i AS inc FROM incident i WHERE i.dispatched_at IS NOT NULL"),
        ("public_filed", *_TALLIES.MEASURES, *_ANSWERS.NEW, "responded"))


def downgrade() -> None:
    _ANSWERS.measures_dropped(NEW, _ANSWERS.MEASURES_FUNCTION, _tally_functions(new=False))
    _URGENT.columns_dropped(("contacted_at",), _ANSWERS.INCIDENT_JSON)
