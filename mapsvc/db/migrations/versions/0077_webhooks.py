"""Webhooks (推送订阅): another system (a 12345 hotline's platform, a department's own system)
told of each step of the cases it follows, as it is taken. Each step a statement logs is queued
for every webhook that follows its case by the log's trigger, in the same transaction as the
step: a step taken is queued, one rolled back is not. The queue holds batches of at most a
hundred steps (a bulk import is queued in batches), sent in order, each until it is taken.

Revision ID: 0077
Revises: 0076
Create Date: 2026-12-05
"""

from alembic import op

revision = "0077"
down_revision = "0076"
branch_labels = None
depends_on = None


# Each statement's steps queued for the webhooks following their cases (``new_rows``, the log
# rows it wrote; ``i``, their case), a hundred steps a batch at most; ``more``: what else a
# webhook (``w``) asks of a case, in later migrations.
QUEUE = """
CREATE OR REPLACE FUNCTION queue_webhook_steps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM webhook) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_delivery (webhook_id, log_ids)
    SELECT f.webhook_id, array_agg(f.log_id ORDER BY f.log_id)
      FROM (SELECT w.id AS webhook_id, n.id AS log_id,
                   (row_number() OVER (PARTITION BY w.id ORDER BY n.id) - 1) / 100 AS batch
              FROM new_rows n
              JOIN incident i ON i.id = n.incident_id
              JOIN webhook w
                ON (w.region_code IS NULL
                    OR i.village_code LIKE w.region_code || '%'
                    OR (i.village_code IS NULL AND ST_Covers(
                            (SELECT r.geom FROM region r WHERE r.code = w.region_code), i.geom)))
               AND (w.department_code IS NULL OR i.department_code = w.department_code)
               AND (w.actions IS NULL OR n.action = ANY (w.actions))
               AND (w.sources IS NULL OR i.source = ANY (w.sources)){more}) f
     GROUP BY f.webhook_id, f.batch
     ORDER BY f.webhook_id, f.batch;
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.execute(f"""
CREATE TABLE webhook (
    id                bigserial PRIMARY KEY,
    client_id         uuid NOT NULL UNIQUE,      -- chosen by the client: made once
    name              text NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 100),
    url               text NOT NULL,
    secret            bytea NOT NULL,            -- encrypted (mapsvc.registry.privacy)
    region_code       text REFERENCES region,    -- the cases of a region; NULL: everywhere
    department_code   text REFERENCES department,  -- only the cases dispatched to it
    actions           text[],                    -- only these steps; NULL: every step
    sources           text[],                    -- only cases from these sources
    created_by        bigint NOT NULL REFERENCES account,
    created_at        timestamptz NOT NULL DEFAULT now(),
    paused_at         timestamptz,               -- steps are queued, none sent
    failing_since     timestamptz,               -- the first failure since the last success
    retry_at          timestamptz,               -- the next try after a failure
    last_status       int,                       -- the receiver's last answer (NULL: none)
    last_error        text,
    last_delivered_at timestamptz
);

CREATE TABLE webhook_delivery (
    id           bigserial PRIMARY KEY,
    webhook_id   bigint NOT NULL REFERENCES webhook ON DELETE CASCADE,
    log_ids      bigint[] NOT NULL,              -- the steps, oldest first
    queued_at    timestamptz NOT NULL DEFAULT now(),
    attempts     int NOT NULL DEFAULT 0,
    last_at      timestamptz,
    last_status  int,
    last_error   text,
    delivered_at timestamptz
);
CREATE INDEX webhook_delivery_waiting_idx ON webhook_delivery (webhook_id, id)
    WHERE delivered_at IS NULL;
CREATE INDEX webhook_delivery_recent_idx ON webhook_delivery (webhook_id, id DESC);

{QUEUE.format(more="")}
CREATE TRIGGER incident_log_pushed AFTER INSERT ON incident_log
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION queue_webhook_steps();
""")


def downgrade() -> None:
    op.execute("DROP TRIGGER incident_log_pushed ON incident_log")
    op.execute("DROP FUNCTION queue_webhook_steps")
    op.execute("DROP TABLE webhook_delivery")
    op.execute("DROP TABLE webhook")
