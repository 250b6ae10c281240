"""Who worked which grid when: each grid worker's or chief's periods in each of its grids
(account_grid_period), kept by statement triggers on account_grid from now on, so that a grid
worker's 漏报率, lapsed verifications and lapsed checks (mapsvc.workflow.stats) count the cases
of the grids it worked when they were reported, not of those it works now: a worker moved to
other grids mid-month answers for its old grids' cases until the move and no more.

A period runs from ``since`` until ``until`` (none: to now). A grid given again in the
transaction that took it (the grids given anew, as a worker's are) keeps its period whole. The
assignments stored before this migration have no known start: their periods run from
``-infinity``.

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-04
"""

from alembic import op

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None


def given_function(create: str = "CREATE", given: str = "given g") -> str:
    """The trigger function that starts the periods of the grids given (``given``: the rows
    given, as ``g``)."""
    return f"""
{create} FUNCTION account_grid_given() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- given back in the transaction that took it: the period goes on
    UPDATE account_grid_period p SET until = NULL
      FROM {given}
     WHERE p.account_id = g.account_id AND p.grid_id = g.grid_id AND p.until = now();
    INSERT INTO account_grid_period (account_id, grid_id, since)
    SELECT g.account_id, g.grid_id, now() FROM {given}
     WHERE NOT EXISTS (SELECT 1 FROM account_grid_period p
                        WHERE p.account_id = g.account_id AND p.grid_id = g.grid_id
                          AND p.until IS NULL);
    RETURN NULL;
END
$$"""


UPGRADE = f"""
CREATE TABLE account_grid_period (
    account_id bigint NOT NULL REFERENCES account,
    grid_id    bigint NOT NULL REFERENCES grid,
    since      timestamptz NOT NULL,
    until      timestamptz CHECK (until >= since)
);
CREATE UNIQUE INDEX account_grid_period_open_idx ON account_grid_period (account_id, grid_id)
    WHERE until IS NULL;
CREATE INDEX account_grid_period_account_idx ON account_grid_period (account_id, since);
INSERT INTO account_grid_period (account_id, grid_id, since)
SELECT account_id, grid_id, '-infinity' FROM account_grid ORDER BY account_id, grid_id;

{given_function()};

CREATE FUNCTION account_grid_taken() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_grid_period p SET until = now()
      FROM taken t
     WHERE p.account_id = t.account_id AND p.grid_id = t.grid_id AND p.until IS NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER account_grid_given AFTER INSERT ON account_grid
    REFERENCING NEW TABLE AS given FOR EACH STATEMENT EXECUTE FUNCTION account_grid_given();
CREATE TRIGGER account_grid_taken AFTER DELETE ON account_grid
    REFERENCING OLD TABLE AS taken FOR EACH STATEMENT EXECUTE FUNCTION account_grid_taken();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("""
        DROP TRIGGER account_grid_given ON account_grid;
        DROP TRIGGER account_grid_taken ON account_grid;
        DROP FUNCTION account_grid_given, account_grid_taken;
        DROP TABLE account_grid_period""")
