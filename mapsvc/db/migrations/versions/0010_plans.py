"""Plans (规划方案): drafts of the grid layer of some villages, validated, previewed and
published as new grid versions.

A plan holds the whole grid layer its villages should have: a grid of those villages missing
from it is retired on publish, a code no grid has yet is a new grid, a changed geometry opens a
new version. Drafts may hold invalid geometry (validation reports it); published and discarded
plans no longer change.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE plan (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL CHECK (name <> ''),
    status         text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'discarded')),
    village_codes  text[] NOT NULL CHECK (cardinality(village_codes) > 0),
    -- the villages' grid versions in force when the draft began: publish refuses a stale plan
    base_versions  bigint[] NOT NULL,
    created_by     bigint NOT NULL REFERENCES account,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz,
    published_by   bigint REFERENCES account,
    effective_from timestamptz,
    forced_reason  text,
    CHECK ((status = 'published') = (published_at IS NOT NULL))
);
CREATE INDEX plan_villages_idx ON plan USING gin (village_codes);

CREATE TABLE plan_grid (
    id           bigserial PRIMARY KEY,
    plan_id      bigint NOT NULL REFERENCES plan,
    code         text NOT NULL CHECK (code <> ''),
    name         text NOT NULL CHECK (name <> ''),
    kind         text NOT NULL DEFAULT 'comprehensive' CHECK (kind IN ('comprehensive', 'dedicated')),
    village_code text NOT NULL REFERENCES region,
    households   integer CHECK (households >= 0),
    population   integer CHECK (population >= 0),
    geom         geometry(Geometry, 4326) NOT NULL
                 CHECK (GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON') AND NOT ST_IsEmpty(geom)),
    UNIQUE (plan_id, code)
);
CREATE INDEX plan_grid_geom_idx ON plan_grid USING gist (geom);

CREATE FUNCTION plan_grid_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT status FROM plan WHERE id = coalesce(NEW.plan_id, OLD.plan_id)) <> 'draft' THEN
        RAISE EXCEPTION 'plan % is no longer a draft', coalesce(NEW.plan_id, OLD.plan_id)
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN coalesce(NEW, OLD);
END $$;
CREATE TRIGGER plan_grid_draft_only BEFORE INSERT OR UPDATE OR DELETE ON plan_grid
    FOR EACH ROW EXECUTE FUNCTION plan_grid_frozen();

-- the plan that opened a version (none: an import)
ALTER TABLE grid_version ADD COLUMN plan_id bigint REFERENCES plan;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("ALTER TABLE grid_version DROP COLUMN plan_id")
    op.execute("DROP TABLE plan_grid, plan")
    op.execute("DROP FUNCTION plan_grid_frozen")
