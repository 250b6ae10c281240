"""A grid worker's or chief's periods in its grids (migration 0053) end when its account is
disabled and start again, for the grids it holds, when it is enabled: it answers for no case of
its grids reported in between. Kept, as the periods' other changes are, by a statement trigger,
on the accounts whose ``active`` changed.

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-04
"""

from alembic import op

revision = "0054"
down_revision = "0053"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE FUNCTION account_active_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_grid_period p SET until = now()
      FROM changed a JOIN was b USING (id)
     WHERE p.account_id = a.id AND b.active AND NOT a.active AND p.until IS NULL;
    INSERT INTO account_grid_period (account_id, grid_id, since)
    SELECT ag.account_id, ag.grid_id, now()
      FROM changed a JOIN was b USING (id) JOIN account_grid ag ON ag.account_id = a.id
     WHERE a.active AND NOT b.active AND NOT EXISTS (
           SELECT 1 FROM account_grid_period p
            WHERE p.account_id = ag.account_id AND p.grid_id = ag.grid_id AND p.until IS NULL);
    RETURN NULL;
END
$$;

CREATE TRIGGER account_active_changed AFTER UPDATE ON account
    REFERENCING OLD TABLE AS was NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION account_active_changed();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TRIGGER account_active_changed ON account; "
               "DROP FUNCTION account_active_changed")
