"""Each grid's workers' names kept on the grid (the grid tiles' ``workers``), by triggers on
the accounts and their grids: a tile then reads them with the grid instead of looking up the
accounts of each of its grids (a z12 tile holds hundreds).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def refresh_function(name: str) -> str:
    """The function that writes the workers' names of some grids, each worker named by
    ``name`` (an expression over their account ``a``)."""
    return f"""
CREATE OR REPLACE FUNCTION grid_workers_refresh(grids bigint[]) RETURNS void LANGUAGE sql AS $$
    UPDATE grid g SET workers = w.names
      FROM (SELECT id, (SELECT string_agg({name}, '、' ORDER BY {name})
                          FROM account_grid ag JOIN account a ON a.id = ag.account_id
                         WHERE ag.grid_id = ids.id AND a.role = 'grid_worker' AND a.active)
                       AS names
              FROM unnest(grids) AS ids(id)) w
     WHERE g.id = w.id AND g.workers IS DISTINCT FROM w.names
$$;
"""


UPGRADE = """
ALTER TABLE grid ADD COLUMN workers text;
""" + refresh_function("a.display_name") + """

CREATE FUNCTION account_grid_workers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM grid_workers_refresh(ARRAY(SELECT DISTINCT grid_id FROM changed_new));
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM grid_workers_refresh(ARRAY(SELECT DISTINCT grid_id FROM changed_old));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER account_grid_workers_insert AFTER INSERT ON account_grid
    REFERENCING NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION account_grid_workers();
CREATE TRIGGER account_grid_workers_update AFTER UPDATE ON account_grid
    REFERENCING NEW TABLE AS changed_new OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION account_grid_workers();
CREATE TRIGGER account_grid_workers_delete AFTER DELETE ON account_grid
    REFERENCING OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION account_grid_workers();

-- a name, role or active flag changed: the grids of those accounts
CREATE FUNCTION account_workers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM grid_workers_refresh(ARRAY(
        SELECT DISTINCT ag.grid_id FROM changed_new n JOIN account_grid ag ON ag.account_id = n.id));
    RETURN NULL;
END
$$;
CREATE TRIGGER account_workers AFTER UPDATE ON account
    REFERENCING NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION account_workers();

SELECT grid_workers_refresh(ARRAY(SELECT DISTINCT grid_id FROM account_grid));
"""

DOWNGRADE = """
DROP TRIGGER account_workers ON account;
DROP FUNCTION account_workers;
DROP TRIGGER account_grid_workers_insert ON account_grid;
DROP TRIGGER account_grid_workers_update ON account_grid;
DROP TRIGGER account_grid_workers_delete ON account_grid;
DROP FUNCTION account_grid_workers;
DROP FUNCTION grid_workers_refresh;
ALTER TABLE grid DROP COLUMN workers;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
