"""The cases urged counted as a hotline is judged (接诉即办: 催办率): of the public's cases
dispatched (``response_due``), those whose caller called again about them (``urged``, at least
once). The tally gains ``urged``; the public's cases dispatched and urged already enter it by a
delta of their own.

Revision ID: 0061
Revises: 0060
Create Date: 2026-12-05
"""

from mapsvc.db.migrate import earlier_migration

revision = "0061"
down_revision = "0060"
branch_labels = None
depends_on = None

_TALLIES = earlier_migration("0006_clocks_and_tallies")
_ANSWERS = earlier_migration("0059_follow_up_resolved")
_RESPONSES = earlier_migration("0060_callers_contacted")
NEW = ("urged",)

MEASURES_FUNCTION = (
    _RESPONSES.MEASURES_FUNCTION
    .replace("responded int, bin int", "responded int, urged int, bin int")
    .replace(_RESPONSES.RESPONDED, _RESPONSES.RESPONDED
             + f"           ({_RESPONSES.DISPATCHED_PUBLIC} AND coalesce(c.urged, 0) > 0)::int,\n"))
assert MEASURES_FUNCTION.count("urged int") == 1 and MEASURES_FUNCTION.count("c.urged") == 1


def _tally_functions(new: bool) -> str:
    """The tally's triggers' functions as migration 0060 wrote them, with the new measure or
    not."""
    functions = _RESPONSES._tally_functions(new=True)
    return _ANSWERS.with_measures(functions, "responded", NEW, sums=2) if new else functions


def upgrade() -> None:
    _ANSWERS.measures_added(NEW, MEASURES_FUNCTION, _tally_functions(new=True))
    # the public's cases dispatched and urged, as the tally's triggers count them
    tallied = _TALLIES.TALLY_SELECT
    for after, new in (("satisfaction", _ANSWERS.NEW), ("resolution_asked", _RESPONSES.NEW),
                       ("responded", NEW)):
        tallied = _ANSWERS.with_measures(tallied, after, new, sums=1)
    _ANSWERS.counted_anew(
        "urged", tallied.format(rows="SELECT 1 AS sign, i AS inc FROM incident i"
                                     " WHERE i.urged IS NOT NULL AND i.dispatched_at IS NOT NULL"),
        ("public_filed", *_TALLIES.MEASURES, *_ANSWERS.NEW, *_RESPONSES.NEW))


def downgrade() -> None:
    _ANSWERS.measures_dropped(NEW, _RESPONSES.MEASURES_FUNCTION, _tally_functions(new=False))
