"""The verify clock (核实): from the verify task sent to the field to the field's finding, so that
a case waiting on a check that it exists turns yellow and red as the other stages do, and a grid
worker's 按时核实率 counts the findings made in time.

A case's clocks gain ``verify`` (``verify_deadline``, ``verify_warn_at``), running while the
case is being verified and has a deadline: the finding (``confirm``) clears it, the case still
being verified until the centre files or rejects it. The functions that read the running
clocks (incident_colour, incident_overdue, incident_red_from, the grids' backlog trigger and
incident_json) are written again with it; the index of the cases whose clocks run takes in the
cases being verified, the index of a grid's open cases the verify deadline. The index of the
check steps by actor and time becomes that of the field's findings on site, verifying and
checking.

A case being verified before this migration has no verify clock: nothing is counted afresh.

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-03
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None

_CLOCKS = earlier_migration("0006_clocks_and_tallies")
_OVERDUE = earlier_migration("0011_incident_overdue")
_COLOUR = earlier_migration("0021_inlined_colour")
_BACKLOG = earlier_migration("0026_grid_backlog")
_URGENT = earlier_migration("0049_urgent_cases")
VERIFYING = "i.status = 'verifying'"
RUNNING = {"verify": VERIFYING, **_CLOCKS.RUNNING}  # the loop's order

_VERIFY_CLOCK = earlier_migration("0024_case_json_once")._clock("verify", VERIFYING).replace(
    "jsonb_build_object", "json_build_object")
_CLOCKS_OPEN = "'clocks', json_build_object("
INCIDENT_JSON = _URGENT.INCIDENT_JSON.replace(_CLOCKS_OPEN, f"{_CLOCKS_OPEN}{_VERIFY_CLOCK}, ")
_VERIFY_COLUMNS = ", i.verify_deadline, i.verify_warn_at"

_GRID_OPEN = earlier_migration("0012_grid_backlog_indexes")
_TIMED = "('filed', 'dispatched', 'in_progress', 'handled', 'checking')"
_TIMED_NOW = "('verifying', 'filed', 'dispatched', 'in_progress', 'handled', 'checking')"
_TIMED_COLUMNS = ("status, suspended_at, dispatch_deadline, dispatch_warn_at, handling_deadline, "
                  "handling_warn_at, check_deadline, check_warn_at, case_deadline, case_warn_at, "
                  "village_code")
_CHECKING = "('check_pass', 'check_fail')"
_FINDINGS = "('confirm', 'check_pass', 'check_fail')"


def _clock_functions(running: dict[str, str]) -> str:
    return (_OVERDUE.overdue_function(running, "CREATE OR REPLACE") + ";"
            + _COLOUR.colour_function(running) + ";"
            + _BACKLOG.red_from_function(running, "CREATE OR REPLACE") + ";"
            + _BACKLOG.backlog_functions("grid_figures", running))


def _indexes(timed: str, timed_columns: str, open_columns: str) -> str:
    return f"""
        DROP INDEX incident_timed_idx;
        CREATE INDEX incident_timed_idx ON incident (id) INCLUDE ({timed_columns})
            WHERE status IN {timed};
        DROP INDEX incident_grid_open_idx;
        CREATE INDEX incident_grid_open_idx ON incident (grid_id) INCLUDE ({open_columns})
            WHERE status IN {_GRID_OPEN.OPEN};"""


def upgrade() -> None:
    op.execute("ALTER TABLE incident ADD COLUMN verify_deadline timestamptz, "
               "ADD COLUMN verify_warn_at timestamptz")
    op.execute(_clock_functions(RUNNING))
    _URGENT._case_json(INCIDENT_JSON,
                       earlier_migration("0032_case_json_inlined")._view_columns()
                       + _VERIFY_COLUMNS)
    op.execute(_indexes(_TIMED_NOW, f"{_TIMED_COLUMNS}, verify_deadline, verify_warn_at",
                        f"{_GRID_OPEN.OVERDUE_COLUMNS}, verify_deadline"))
    op.execute(f"""
        CREATE INDEX incident_log_findings_idx ON incident_log (actor, at)
            WHERE action IN {_FINDINGS};
        DROP INDEX incident_log_checks_idx""")


def downgrade() -> None:
    op.execute(f"""
        CREATE INDEX incident_log_checks_idx ON incident_log (actor, at)
            WHERE action IN {_CHECKING};
        DROP INDEX incident_log_findings_idx""")
    op.execute(_indexes(_TIMED, _TIMED_COLUMNS, _GRID_OPEN.OVERDUE_COLUMNS))
    columns = earlier_migration("0032_case_json_inlined")._view_columns()
    _URGENT._case_json(_URGENT.INCIDENT_JSON, columns.replace(_VERIFY_COLUMNS, ""))
    op.execute(_clock_functions(_CLOCKS.RUNNING))
    op.execute("ALTER TABLE incident DROP COLUMN verify_deadline, DROP COLUMN verify_warn_at")
