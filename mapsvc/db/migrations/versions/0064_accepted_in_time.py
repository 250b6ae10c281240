"""Cases taken on (签收) in time, counted as departments are judged (及时签收率): each dispatch
(and each rework sent back) gives the case a time by which its handler is to take it on
(``accept_deadline``, by the setting MAPSVC_WORKFLOW_ACCEPT_LIMIT), and the handler taking it on
sets ``accepted_at``; both in the case and its JSON. The tally gains ``accept_due`` (the cases
given such a time) and ``accepted_on_time`` (those taken on by it). No case dispatched before
had one: none enters them.

Revision ID: 0064
Revises: 0063
Create Date: 2026-12-05
"""

from mapsvc.db.migrate import earlier_migration

revision = "0064"
down_revision = "0063"
branch_labels = None
depends_on = None

_ANSWERS = earlier_migration("0059_follow_up_resolved")
_URGES = earlier_migration("0061_urged_counted")
_EXEMPTED = earlier_migration("0062_cases_not_counted")
_REQUESTS = earlier_migration("0063_exemption_requests")
_URGENT = earlier_migration("0049_urgent_cases")
NEW = ("accept_due", "accepted_on_time")
_COLUMNS = ("accept_deadline", "accepted_at")

_URGED = "coalesce(c.urged, 0) > 0)::int * (c.exempted_at IS NULL)::int,\n"
MEASURES_FUNCTION = (
    _EXEMPTED.MEASURES_FUNCTION
    .replace("urged int, bin int", "urged int, accept_due int, accepted_on_time int, bin int")
    .replace(_URGED, _URGED + "           (c.accept_deadline IS NOT NULL)::int,\n"
                              "           coalesce(c.accepted_at <= c.accept_deadline, "
                              "false)::int,\n"))
assert MEASURES_FUNCTION.count("accepted_on_time") == 1
_BEFORE = "'exemption_requested_at', i.exemption_requested_at,"
INCIDENT_JSON = _REQUESTS.INCIDENT_JSON.replace(
    _BEFORE, f"'accept_deadline', i.accept_deadline, 'accepted_at', i.accepted_at, {_BEFORE}")


def _tally_functions(new: bool) -> str:
    """The tally's triggers' functions as migration 0061 wrote them, with the new measures or
    not."""
    functions = _URGES._tally_functions(new=True)
    return _ANSWERS.with_measures(functions, "urged", NEW, sums=2) if new else functions


def upgrade() -> None:
    _URGENT.columns_added(dict.fromkeys(_COLUMNS, "timestamptz"), INCIDENT_JSON)
    _ANSWERS.measures_added(NEW, MEASURES_FUNCTION, _tally_functions(new=True))


def downgrade() -> None:
    _ANSWERS.measures_dropped(NEW, _EXEMPTED.MEASURES_FUNCTION, _tally_functions(new=False))
    _URGENT.columns_dropped(_COLUMNS, _REQUESTS.INCIDENT_JSON)
