"""Photos (stored as files by content hash; their EXIF time and position kept here) and the
steps of cases they are attached to.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE media (
            id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
            content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png',
                                                               'image/webp')),
            bytes        integer NOT NULL CHECK (bytes > 0),
            width        integer NOT NULL,
            height       integer NOT NULL,
            taken_at     timestamptz,
            geom         geometry(Point, 4326),
            name         text NOT NULL DEFAULT '',
            uploaded_by  bigint NOT NULL REFERENCES account,
            uploaded_at  timestamptz NOT NULL DEFAULT now()
        );
        -- Like the log it extends, written once by the statement that logs the step
        -- (mapsvc.workflow.actions) and never changed: evidence stays.
        CREATE TABLE attachment (
            media_id    text NOT NULL REFERENCES media,
            incident_id bigint NOT NULL,
            log_id      bigint NOT NULL,
            PRIMARY KEY (log_id, media_id)
        );
        CREATE INDEX attachment_media_idx ON attachment (media_id);
        CREATE INDEX attachment_incident_idx ON attachment (incident_id);
        CREATE TRIGGER attachment_never_changed BEFORE UPDATE OR DELETE ON attachment
            FOR EACH ROW EXECUTE FUNCTION refuse_change('attachments are evidence: never changed');
        CREATE TRIGGER media_never_deleted BEFORE DELETE ON media
            FOR EACH ROW EXECUTE FUNCTION refuse_change('photos attached to cases are evidence');
    """)


def downgrade() -> None:
    op.execute("DROP TABLE attachment, media")
