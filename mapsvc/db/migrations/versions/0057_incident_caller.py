"""Who reported a case from outside the grids (a 12345 caller, a citizen), to answer them and
call them back (回访): each value encrypted beside its masked form, the phone beside a keyed
hash that finds the same caller's other cases, kept until the case has been closed for the
privacy settings' days (mapsvc.incidents.callers).

Revision ID: 0057
Revises: 0056
Create Date: 2026-12-04
"""

from alembic import op

revision = "0057"
down_revision = "0056"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE incident_caller (
    incident_id bigint PRIMARY KEY REFERENCES incident ON DELETE CASCADE,
    name_shown  text,
    name_enc    bytea,
    phone_shown text,
    phone_enc   bytea,
    phone_hash  bytea,
    CHECK ((name_enc IS NULL) = (name_shown IS NULL)),
    CHECK ((phone_enc IS NULL) = (phone_shown IS NULL)),
    CHECK ((phone_enc IS NULL) = (phone_hash IS NULL)),
    CHECK (name_enc IS NOT NULL OR phone_enc IS NOT NULL)
);
CREATE INDEX incident_caller_phone_idx ON incident_caller (phone_hash)
    WHERE phone_hash IS NOT NULL""")


def downgrade() -> None:
    op.execute("DROP TABLE incident_caller")
