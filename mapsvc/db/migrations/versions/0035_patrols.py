"""Patrols (日常巡查): the track a grid worker walked, from the phone's positions between the
start and the end of a patrol, with the grids it passed through and how far it went in each,
worked out when it is stored. Patrols are records of work done: never changed or deleted.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-02
"""

from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE patrol (
    id          bigserial PRIMARY KEY,
    client_id   uuid NOT NULL UNIQUE,
    account_id  bigint NOT NULL REFERENCES account,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz NOT NULL CHECK (ended_at >= started_at),
    track       geometry(LineString, 4326) NOT NULL,
    length_m    real NOT NULL CHECK (length_m >= 0),
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patrol_track_idx ON patrol USING gist (track);
CREATE INDEX patrol_account_idx ON patrol (account_id, ended_at);
CREATE INDEX patrol_ended_idx ON patrol (ended_at);

CREATE TABLE patrol_grid (
    patrol_id bigint NOT NULL REFERENCES patrol,
    grid_id   bigint NOT NULL REFERENCES grid,
    length_m  real NOT NULL,
    PRIMARY KEY (patrol_id, grid_id)
);
CREATE INDEX patrol_grid_grid_idx ON patrol_grid (grid_id, patrol_id);

CREATE TRIGGER patrol_kept BEFORE UPDATE OR DELETE ON patrol
    FOR EACH ROW EXECUTE FUNCTION refuse_change('patrols are records of work done');
CREATE TRIGGER patrol_grid_kept BEFORE UPDATE OR DELETE ON patrol_grid
    FOR EACH ROW EXECUTE FUNCTION refuse_change('patrols are records of work done');
""")


def downgrade() -> None:
    op.execute("DROP TABLE patrol_grid")
    op.execute("DROP TABLE patrol")
