"""The 一标三实 registry: standard addresses, houses, households, people, organisations,
components and key places, household visits, and the audit log of personal-data access.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Every registry point is assigned to a grid by locate_grid, as incidents are.
LOCATED = """
    geom            geometry(Point, 4326) NOT NULL,
    grid_id         bigint REFERENCES grid,
    grid_version_id bigint REFERENCES grid_version,
    village_code    text,
    assignment      text NOT NULL CHECK (assignment IN ('inside', 'edge', 'nearest', 'unassigned'))
"""

SCHEMA = rf"""
CREATE TABLE address (
    id          bigserial PRIMARY KEY,
    -- the normalised text below the region (see mapsvc.registry.addresses), unique per county
    full_text   text NOT NULL CHECK (full_text <> ''),
    county_code text NOT NULL REFERENCES region,
    street      text, number text, compound text, building text, entrance text, floor text,
    room        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    {LOCATED},
    UNIQUE (county_code, full_text)
);

CREATE TABLE house (
    id         bigserial PRIMARY KEY,
    address_id bigint NOT NULL UNIQUE REFERENCES address,
    use        text NOT NULL DEFAULT 'residential' CHECK (use IN
                   ('residential', 'commercial', 'mixed', 'industrial', 'public', 'other')),
    rental     boolean NOT NULL DEFAULT false,
    area_m2    numeric CHECK (area_m2 > 0)
);

CREATE TABLE household (
    id         bigserial PRIMARY KEY,
    house_id   bigint NOT NULL REFERENCES house,
    number     text,                    -- 户号, when the household register gives one
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX household_house_idx ON household (house_id);

-- ID numbers and mobiles are encrypted (AES-GCM); id_number_hash (HMAC) finds a person exactly.
CREATE TABLE person (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL CHECK (name <> ''),
    id_number_enc  bytea,
    id_number_hash bytea UNIQUE,
    mobile_enc     bytea,
    birth_date     date,
    sex            text CHECK (sex IN ('male', 'female')),
    registration   text NOT NULL CHECK (registration IN ('resident', 'floating', 'overseas')),
    care_tags      text[] NOT NULL DEFAULT '{{}}',
    household_id   bigint REFERENCES household,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((id_number_enc IS NULL) = (id_number_hash IS NULL))
);
CREATE INDEX person_household_idx ON person (household_id);
CREATE INDEX person_care_idx ON person USING gin (care_tags);

CREATE TABLE person_house (
    person_id  bigint NOT NULL REFERENCES person,
    house_id   bigint NOT NULL REFERENCES house,
    relation   text NOT NULL CHECK (relation IN ('owner', 'tenant', 'lodger')),
    valid_from date NOT NULL DEFAULT current_date,
    valid_to   date CHECK (valid_to >= valid_from),
    PRIMARY KEY (person_id, house_id, relation, valid_from)
);

CREATE TABLE organisation (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (name <> ''),
    kind       text NOT NULL CHECK (kind IN ('enterprise', 'social_organisation', 'party_branch',
                   'service_station', 'school', 'hospital', 'agency', 'other')),
    address_id bigint REFERENCES address,
    {LOCATED}
);
-- a dedicated grid (专属网格) can be tied to the organisation it serves
ALTER TABLE grid ADD COLUMN organisation_id bigint REFERENCES organisation;

-- 部件: components with the 16-digit ID of GB/T 30428 (county code + 4-digit type + serial)
CREATE TABLE thing (
    component_id    text PRIMARY KEY CHECK (component_id ~ '^[0-9]{{16}}$'),
    type_code       text NOT NULL GENERATED ALWAYS AS (substr(component_id, 7, 4)) STORED,
    name            text NOT NULL,
    state           text NOT NULL DEFAULT 'normal' CHECK (state IN ('normal', 'damaged', 'lost',
                                                                     'removed')),
    department_code text REFERENCES department,
    {LOCATED}
);

CREATE TABLE place (
    id   bigserial PRIMARY KEY,
    name text NOT NULL CHECK (name <> ''),
    kind text NOT NULL,
    {LOCATED}
);

CREATE TABLE visit (
    id           bigserial PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES household,
    account_id   bigint NOT NULL REFERENCES account,
    at           timestamptz NOT NULL DEFAULT now(),
    geom         geometry(Point, 4326),
    note         text NOT NULL DEFAULT '' CHECK (length(note) <= 2000)
);
CREATE INDEX visit_household_at_idx ON visit (household_id, at DESC);

-- Who saw or took personal data, when and why. Append-only.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    account_id bigint NOT NULL REFERENCES account,
    action     text NOT NULL CHECK (action IN ('reveal', 'export')),
    entity     text NOT NULL,
    entity_id  text NOT NULL,
    field      text,
    reason     text NOT NULL CHECK (length(trim(reason)) > 0)
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change('the audit log is append-only');
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('the audit log is append-only');
"""

for table in ("address", "organisation", "thing", "place"):
    SCHEMA += f"""
CREATE INDEX {table}_geom_idx ON {table} USING gist (geom);
CREATE INDEX {table}_grid_idx ON {table} (grid_id);
CREATE INDEX {table}_village_idx ON {table} (village_code);
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("ALTER TABLE grid DROP COLUMN organisation_id")
    op.execute("DROP TABLE audit_log, visit, place, thing, organisation, person_house, person, "
               "household, house, address")
