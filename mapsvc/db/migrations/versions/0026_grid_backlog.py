"""Each grid's backlog kept beside it (the grid tiles' ``open``, ``overdue`` and ``recent``):
how many of its cases are open, the moment each open case turns red, and the report time of
each case of the last 30 days, in order. A tile then reads a grid's backlog from one row, with
one binary search (``width_bucket``) for the cases overdue now and one for those reported in
the last 30 days, instead of counting them by two index scans per grid (a z12 tile holds up to
two thousand grids; the scans were half of its statement).

A case turns red when a running clock passes its deadline (``incident_overdue``, migration
0011). ``incident_red_from`` gives that moment: the earliest deadline of its running clocks;
minus infinity if a clock was suspended past its deadline (it stays red while suspended);
none if no clock can turn it red (no clock running, or suspended in time). So a case is
overdue at ``t`` exactly when ``incident_red_from(case) < t``.

Kept by statement triggers on the incidents (cases are never deleted). New cases are added to
their grids' rows by one upsert (ON CONFLICT DO UPDATE): meeting a row that another writer is
changing, it waits for that one to commit and adds to the row as committed. Changed cases have
their grids counted afresh by ``grid_backlog_refresh``, as ``grid_coverage_refresh`` does
(migration 0016): it first locks their rows in grid order, so that a writer waits for another
writing in the same grid to commit and then counts with what that one wrote. A grid's report
times keep those of the 30 days before its last change: the older ones can never count again.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

OPEN = "('reported', 'verifying', 'filed', 'dispatched', 'in_progress', 'handled', 'checking')"
RECENT = "interval '30 days'"


def red_from_function(running: dict[str, str], create: str = "CREATE") -> str:
    """incident_red_from over the clocks ``running`` names (each with when it runs)."""
    clocks = ",\n               ".join(
        f"CASE WHEN {when} THEN CASE WHEN i.suspended_at IS NULL THEN i.{stage}_deadline "
        f"WHEN i.suspended_at > i.{stage}_deadline THEN '-infinity' END END"
        for stage, when in running.items())
    return f"""
{create} FUNCTION incident_red_from(i incident) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN least({clocks});"""


def _running() -> dict[str, str]:
    return earlier_migration("0006_clocks_and_tallies").RUNNING


def _locked_in_grid_order(table: str) -> str:
    return earlier_migration("0016_grid_coverage").locked_in_grid_order(table)


UPGRADE = """
CREATE TABLE grid_backlog (
    grid_id  bigint PRIMARY KEY REFERENCES grid,
    open     integer NOT NULL DEFAULT 0,
    -- incident_red_from of each open case a clock can turn red, earliest first
    red_from timestamptz[] NOT NULL DEFAULT '{}',
    -- the report time of each case reported within 30 days of the last change, earliest first
    reported timestamptz[] NOT NULL DEFAULT '{}'
);
"""


def backlog_functions(table: str, running: dict[str, str] | None = None) -> str:
    """``grid_backlog_refresh`` and the incidents' trigger function, keeping the grids' backlog
    in ``table``, with the clocks ``running`` names (those of migration 0006 if none)."""
    # what decides an updated case's grid and its part in the grid's backlog
    deciding = ("grid_id", "status", "reported_at", "suspended_at",
                *(f"{stage}_deadline" for stage in running or _running()))
    return f"""
CREATE OR REPLACE FUNCTION grid_backlog_refresh(grids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
{_locked_in_grid_order(table)}
    UPDATE {table} b SET open = n.open, red_from = n.red_from, reported = n.reported
      FROM (SELECT g.id, o.open, o.red_from,
                   ARRAY(SELECT i.reported_at FROM incident i
                          WHERE i.grid_id = g.id AND i.reported_at > now() - {RECENT}
                          ORDER BY i.reported_at) AS reported
              FROM unnest(grids) AS g(id)
              CROSS JOIN LATERAL (
                  SELECT count(*)::integer AS open,
                         coalesce(array_agg(r.red ORDER BY r.red)
                                      FILTER (WHERE r.red IS NOT NULL), '{{}}') AS red_from
                    FROM incident i CROSS JOIN LATERAL (SELECT incident_red_from(i) AS red) r
                   WHERE i.grid_id = g.id AND i.status IN {OPEN}) o) n
     WHERE b.grid_id = n.id
       AND (b.open, b.red_from, b.reported) IS DISTINCT FROM (n.open, n.red_from, n.reported);
END
$$;

CREATE OR REPLACE FUNCTION incident_backlog() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {table} AS b (grid_id, open, red_from, reported)
        SELECT n.grid_id, count(*) FILTER (WHERE n.status IN {OPEN}),
               coalesce(array_agg(r.red ORDER BY r.red) FILTER (WHERE r.red IS NOT NULL), '{{}}'),
               coalesce(array_agg(n.reported_at ORDER BY n.reported_at)
                            FILTER (WHERE n.reported_at > now() - {RECENT}), '{{}}')
          FROM changed_new n CROSS JOIN LATERAL (SELECT incident_red_from(n) AS red) r
         WHERE n.grid_id IS NOT NULL
         GROUP BY n.grid_id ORDER BY n.grid_id
        ON CONFLICT (grid_id) DO UPDATE SET
            open = b.open + excluded.open,
            red_from = ARRAY(SELECT t FROM unnest(b.red_from || excluded.red_from) AS t ORDER BY t),
            reported = ARRAY(SELECT t FROM unnest(b.reported || excluded.reported) AS t
                              WHERE t > now() - {RECENT} ORDER BY t);
    ELSE
        PERFORM grid_backlog_refresh(ARRAY(
            WITH moved AS (SELECT n.grid_id AS now_in, o.grid_id AS was_in
                             FROM changed_new n JOIN changed_old o USING (id)
                            WHERE {" OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in deciding)})
            SELECT now_in FROM moved UNION ALL SELECT was_in FROM moved));
    END IF;
    RETURN NULL;
END
$$;
"""


TRIGGERS = """
CREATE TRIGGER incident_backlog_insert AFTER INSERT ON incident
    REFERENCING NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION incident_backlog();
CREATE TRIGGER incident_backlog_update AFTER UPDATE ON incident
    REFERENCING NEW TABLE AS changed_new OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION incident_backlog();

SELECT grid_backlog_refresh(ARRAY(SELECT DISTINCT grid_id FROM incident));
"""


def upgrade() -> None:
    op.execute(red_from_function(_running()) + UPGRADE + backlog_functions("grid_backlog")
               + TRIGGERS)


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER incident_backlog_insert ON incident;
        DROP TRIGGER incident_backlog_update ON incident;
        DROP FUNCTION incident_backlog, grid_backlog_refresh, incident_red_from;
        DROP TABLE grid_backlog""")
