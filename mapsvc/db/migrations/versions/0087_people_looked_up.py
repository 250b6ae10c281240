"""People looked up by ID number, mobile or name (查找人员): a mobile beside a keyed hash as an ID
number is (the one a caller's phone is kept by), the registered mobiles hashed here a thousand at
a time; names indexed; each lookup written to the audit log.

Revision ID: 0087
Revises: 0086
Create Date: 2026-12-06
"""

from alembic import op
from sqlalchemy import text

from mapsvc.registry.privacy import MOBILE, decrypt, phone_hash

revision = "0087"
down_revision = "0086"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    op.execute("ALTER TABLE person ADD COLUMN mobile_hash bytea")
    bind = op.get_bind()
    after = 0
    while batch := bind.execute(text(
            "SELECT id, mobile_enc FROM person WHERE mobile_enc IS NOT NULL AND id > :after "
            "ORDER BY id LIMIT :most"), {"after": after, "most": _BATCH}).all():
        bind.execute(text(
            "UPDATE person p SET mobile_hash = v.hash "
            "  FROM unnest(CAST(:ids AS bigint[]), CAST(:hashes AS bytea[])) AS v (id, hash)"
            " WHERE p.id = v.id"),
            {"ids": [row.id for row in batch],
             "hashes": [phone_hash(decrypt(row.mobile_enc, MOBILE)) for row in batch]})
        after = batch[-1].id
    op.execute("""
ALTER TABLE person ADD CONSTRAINT person_mobile_hash_check
    CHECK ((mobile_enc IS NULL) = (mobile_hash IS NULL));
CREATE INDEX person_mobile_hash_idx ON person (mobile_hash) WHERE mobile_hash IS NOT NULL;
CREATE INDEX person_name_idx ON person (name);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check,
    ADD CONSTRAINT audit_log_action_check
        CHECK (action IN ('reveal', 'export', 'departure', 'departure withdrawn', 'lookup'));
""")


def downgrade() -> None:
    # the lookups audited stay in the log
    op.execute("""
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check,
    ADD CONSTRAINT audit_log_action_check
        CHECK (action IN ('reveal', 'export', 'departure', 'departure withdrawn')) NOT VALID;
DROP INDEX person_name_idx;
ALTER TABLE person DROP COLUMN mobile_hash;
""")
