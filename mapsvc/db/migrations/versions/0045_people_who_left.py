"""A person who moved away or died leaves the registry (人口动态: 迁出, 死亡): the day and why are
kept, their ties to houses end that day, lists and counts no longer hold them, and the service
erases them once the privacy settings' days are over (PIPL article 19: kept no longer than the
purpose needs). A departure recorded by mistake is withdrawn, audited too. An ID number is
registered once among the people who have not left, so one who comes back is registered anew.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-03
"""

from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE person
    ADD COLUMN left_on date,
    ADD COLUMN left_reason text CHECK (left_reason IN ('moved_away', 'deceased')),
    ADD CONSTRAINT person_left_check CHECK ((left_on IS NULL) = (left_reason IS NULL));
ALTER TABLE person DROP CONSTRAINT person_id_number_hash_key;
CREATE UNIQUE INDEX person_id_number_hash_key ON person (id_number_hash) WHERE left_on IS NULL;
-- those to erase found without the people who stay
CREATE INDEX person_left_idx ON person (left_on) WHERE left_on IS NOT NULL;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check,
    ADD CONSTRAINT audit_log_action_check
        CHECK (action IN ('reveal', 'export', 'departure', 'departure withdrawn'));
""")


def downgrade() -> None:
    # the departures audited (and withdrawn) stay in the log; refused while one who left and
    # one registered anew share an ID number
    op.execute("""
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check,
    ADD CONSTRAINT audit_log_action_check CHECK (action IN ('reveal', 'export')) NOT VALID;
DROP INDEX person_left_idx;
DROP INDEX person_id_number_hash_key;
ALTER TABLE person ADD CONSTRAINT person_id_number_hash_key UNIQUE (id_number_hash);
ALTER TABLE person DROP COLUMN left_reason, DROP COLUMN left_on;
""")
