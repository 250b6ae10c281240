"""Campaigns (专项排查): a centre sends its grid workers to check every organisation, place or
component of a kind in a region by a date. The things to check are taken when the campaign
is made (what it counts does not move as the registry changes), each with the grid it was in;
the checks are records of work done, never changed or deleted: a target's last check says how
it stands (a hazard found, then put right and checked again, stands right).

Revision ID: 0074
Revises: 0073
Create Date: 2026-12-05
"""

from alembic import op

revision = "0074"
down_revision = "0073"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE campaign (
    id           bigserial PRIMARY KEY,
    client_id    uuid NOT NULL UNIQUE,
    title        text NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 100),
    instructions text NOT NULL DEFAULT '' CHECK (length(instructions) <= 2000),
    layer        text NOT NULL CHECK (layer IN ('organisations', 'places', 'things')),
    kind         text NOT NULL,
    region_code  text REFERENCES region,   -- none: the whole deployment
    due          date NOT NULL,
    created_by   bigint NOT NULL REFERENCES account,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaign_target (
    campaign_id  bigint NOT NULL REFERENCES campaign,
    target       text NOT NULL,            -- the organisation's or place's id, a component's
    name         text NOT NULL,
    geom         geometry(Point, 4326) NOT NULL,
    grid_id      bigint REFERENCES grid,
    village_code text,
    PRIMARY KEY (campaign_id, target)
);
CREATE INDEX campaign_target_grid_idx ON campaign_target (grid_id, campaign_id);
CREATE INDEX campaign_target_village_idx ON campaign_target (village_code);

CREATE TABLE campaign_check (
    id          bigserial PRIMARY KEY,
    client_id   uuid NOT NULL UNIQUE,
    campaign_id bigint NOT NULL,
    target      text NOT NULL,
    account_id  bigint NOT NULL REFERENCES account,
    at          timestamptz NOT NULL,
    result      text NOT NULL CHECK (result IN ('normal', 'hazard')),
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    geom        geometry(Point, 4326),     -- where the phone stood
    incident_id bigint REFERENCES incident, -- the case a hazard was reported as
    FOREIGN KEY (campaign_id, target) REFERENCES campaign_target,
    CHECK (result = 'normal' OR incident_id IS NOT NULL)
);
CREATE INDEX campaign_check_target_idx ON campaign_check (campaign_id, target, at DESC);

CREATE TRIGGER campaign_target_kept BEFORE UPDATE OR DELETE ON campaign_target
    FOR EACH ROW EXECUTE FUNCTION refuse_change('a campaign checks what it was made with');
CREATE TRIGGER campaign_check_kept BEFORE UPDATE OR DELETE ON campaign_check
    FOR EACH ROW EXECUTE FUNCTION refuse_change('checks are records of work done');
""")


def downgrade() -> None:
    op.execute("DROP TABLE campaign_check")
    op.execute("DROP TABLE campaign_target")
    op.execute("DROP TABLE campaign")
