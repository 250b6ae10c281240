"""Foundation: region hierarchy, versioned grids, incidents and their append-only log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = r"""
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE region_level (
    code        text PRIMARY KEY,
    rank        smallint NOT NULL UNIQUE,
    name_zh     text NOT NULL,
    code_length smallint
);
INSERT INTO region_level VALUES
    ('county', 1, '区县', 6), ('township', 2, '乡镇街道', 9), ('village', 3, '村社区', 12);

CREATE TABLE region (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]+$'),
    level       text NOT NULL REFERENCES region_level,
    name        text NOT NULL CHECK (name <> ''),
    parent_code text REFERENCES region,
    properties  jsonb NOT NULL DEFAULT '{}',
    geom        geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX region_geom_idx ON region USING gist (geom);
CREATE INDEX region_parent_idx ON region (parent_code);
CREATE INDEX region_level_idx ON region (level);

CREATE TABLE grid (
    id           bigserial PRIMARY KEY,
    code         text NOT NULL UNIQUE CHECK (code <> ''),
    name         text NOT NULL CHECK (name <> ''),
    kind         text NOT NULL DEFAULT 'comprehensive' CHECK (kind IN ('comprehensive', 'dedicated')),
    village_code text NOT NULL REFERENCES region,
    households   integer CHECK (households >= 0),
    population   integer CHECK (population >= 0),
    properties   jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grid_village_idx ON grid (village_code);

-- Geometry is never overwritten: a redraw closes a version and opens the next.
CREATE TABLE grid_version (
    id         bigserial PRIMARY KEY,
    grid_id    bigint NOT NULL REFERENCES grid,
    version    integer NOT NULL CHECK (version >= 1),
    geom       geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz CHECK (valid_to > valid_from),
    UNIQUE (grid_id, version),
    EXCLUDE USING gist (grid_id WITH =, tstzrange(valid_from, valid_to) WITH &&)
);
CREATE INDEX grid_version_current_geom_idx ON grid_version USING gist (geom) WHERE valid_to IS NULL;
CREATE INDEX grid_version_geom_idx ON grid_version USING gist (geom);

CREATE TABLE department (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    region_code text REFERENCES region
);

CREATE TABLE category (
    code            text PRIMARY KEY,
    name            text NOT NULL,
    parent_code     text REFERENCES category,
    time_limit      numeric CHECK (time_limit > 0),
    time_limit_unit text CHECK (time_limit_unit IN
                        ('working_hours', 'working_days', 'natural_days', 'hours')),
    department_code text REFERENCES department,
    properties      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX category_parent_idx ON category (parent_code);

-- Incidents and their log are append-only and reference categories, grids and grid versions
-- that are never deleted either (see the triggers below). Foreign keys would add nothing but a
-- per-row check that halves the speed of bulk intake, so the references are kept by those rules
-- and by the one statement that writes incidents (mapsvc.incidents.intake).
CREATE TABLE incident (
    id                    bigserial PRIMARY KEY,
    client_id             uuid NOT NULL UNIQUE,
    category_code         text NOT NULL,
    description           text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    source                text NOT NULL CHECK (source IN
                              ('grid_worker', 'hotline', 'citizen', 'sensor', 'other')),
    reported_at           timestamptz NOT NULL,
    received_at           timestamptz NOT NULL DEFAULT now(),
    raw_lon               double precision NOT NULL,
    raw_lat               double precision NOT NULL,
    raw_crs               text NOT NULL CHECK (raw_crs IN ('wgs84', 'cgcs2000', 'gcj02', 'bd09')),
    accuracy_m            real CHECK (accuracy_m >= 0),
    geom                  geometry(Point, 4326) NOT NULL,
    grid_id               bigint,
    grid_version_id       bigint,
    village_code          text,
    township_code         text,
    county_code           text,
    assignment            text NOT NULL CHECK (assignment IN ('inside', 'edge', 'nearest', 'unassigned')),
    assignment_distance_m real,
    status                text NOT NULL DEFAULT 'reported' CHECK (status IN (
                              'reported', 'verifying', 'filed', 'rejected', 'dispatched',
                              'in_progress', 'handled', 'checking', 'closed', 'evaluated',
                              'self_resolved', 'void')),
    CHECK ((assignment = 'unassigned') = (grid_id IS NULL)),
    CHECK ((grid_id IS NULL) = (grid_version_id IS NULL))
);
CREATE INDEX incident_geom_idx ON incident USING gist (geom);
CREATE INDEX incident_grid_idx ON incident (grid_id);
-- Statistical codes nest, so this one index also serves township and county filters
-- (a prefix range on village_code).
CREATE INDEX incident_village_idx ON incident (village_code);
CREATE INDEX incident_reported_at_idx ON incident (reported_at);
CREATE INDEX incident_triage_idx ON incident (id) WHERE assignment = 'unassigned';

CREATE TABLE incident_log (
    id          bigserial PRIMARY KEY,
    incident_id bigint NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    from_status text,
    to_status   text,
    note        text NOT NULL DEFAULT '',
    data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_log_incident_idx ON incident_log (incident_id, at);

-- Incidents are closed or voided, never deleted; their log only grows.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is not allowed: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER incident_never_deleted BEFORE DELETE ON incident
    FOR EACH ROW EXECUTE FUNCTION refuse_change('incidents are closed or voided, never deleted');
CREATE TRIGGER incident_log_append_only BEFORE UPDATE OR DELETE ON incident_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change('the incident log is append-only');
CREATE TRIGGER incident_log_no_truncate BEFORE TRUNCATE ON incident_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('the incident log is append-only');
CREATE TRIGGER grid_never_deleted BEFORE DELETE ON grid
    FOR EACH ROW EXECUTE FUNCTION refuse_change('grids are retired by closing their version');
CREATE TRIGGER grid_version_never_deleted BEFORE DELETE ON grid_version
    FOR EACH ROW EXECUTE FUNCTION refuse_change('grid versions are closed, never deleted');
CREATE TRIGGER category_never_deleted BEFORE DELETE ON category
    FOR EACH ROW EXECUTE FUNCTION refuse_change('incidents refer to every category ever used');
CREATE TRIGGER incident_no_truncate BEFORE TRUNCATE ON incident
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('incidents are never deleted');

-- The one rule that puts a point in a grid (DESIGN invariant 2), shared by locate, single
-- intake and bulk import. Among the grids in force at `at` that cover the point, a grid holding
-- it in its interior wins over one it only touches, then a dedicated grid over a comprehensive
-- one, then the lowest grid code. A point covered by none joins the nearest grid within
-- tolerance_m (ties again to the lowest code); otherwise it stays unassigned.
CREATE FUNCTION locate_grid(p geometry, at timestamptz, tolerance_m double precision)
RETURNS TABLE (grid_version_id bigint, grid_id bigint, method text, distance_m double precision)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT * FROM (
        (SELECT gv.id, gv.grid_id,
                CASE WHEN ST_Contains(gv.geom, p) THEN 'inside' ELSE 'edge' END,
                NULL::double precision
           FROM grid_version gv JOIN grid g ON g.id = gv.grid_id
          WHERE ST_Covers(gv.geom, p)
            AND gv.valid_from <= at AND (gv.valid_to IS NULL OR gv.valid_to > at)
          ORDER BY ST_Contains(gv.geom, p) DESC, g.kind = 'dedicated' DESC, g.code
          LIMIT 1)
        UNION ALL
        (SELECT near.id, near.grid_id, 'nearest', near.d
           FROM (SELECT gv.id, gv.grid_id, g.code,
                        ST_Distance(gv.geom::geography, p::geography) AS d
                   FROM grid_version gv JOIN grid g ON g.id = gv.grid_id
                  WHERE ST_DWithin(gv.geom, p, tolerance_m / (110000.0 * cos(radians(least(abs(ST_Y(p)) + 1, 89)))))
                    AND gv.valid_from <= at AND (gv.valid_to IS NULL OR gv.valid_to > at)) near
          WHERE near.d <= tolerance_m
          ORDER BY near.d, near.code
          LIMIT 1)
        UNION ALL
        SELECT NULL::bigint, NULL::bigint, 'unassigned', NULL::double precision
    ) ranked
    LIMIT 1
$$;

-- How an incident is shown: one JSON document, built where the data is.
CREATE FUNCTION incident_json(i incident) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', i.id, 'client_id', i.client_id, 'category', i.category_code,
        'description', i.description, 'source', i.source, 'status', i.status,
        'reported_at', i.reported_at, 'received_at', i.received_at,
        'lon', round(ST_X(i.geom)::numeric, 7), 'lat', round(ST_Y(i.geom)::numeric, 7),
        'raw', json_build_object('lon', i.raw_lon, 'lat', i.raw_lat, 'crs', i.raw_crs,
                                 'accuracy_m', i.accuracy_m),
        'method', i.assignment, 'distance_m', round(i.assignment_distance_m::numeric, 1),
        'grid', (SELECT json_build_object('code', g.code, 'name', g.name, 'version', gv.version)
                   FROM grid g JOIN grid_version gv ON gv.id = i.grid_version_id
                  WHERE g.id = i.grid_id),
        'village', (SELECT json_build_object('code', code, 'name', name) FROM region
                     WHERE code = i.village_code),
        'township', (SELECT json_build_object('code', code, 'name', name) FROM region
                      WHERE code = i.township_code),
        'county', (SELECT json_build_object('code', code, 'name', name) FROM region
                    WHERE code = i.county_code))
$$;
CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i;
"""

SEED = r"""
INSERT INTO category (code, name, parent_code) VALUES
    ('01', '矛盾纠纷', NULL),
    ('02', '治安与安全隐患', NULL),
    ('03', '民生服务', NULL),
    ('04', '特殊人群服务管理', NULL),
    ('05', '社情民意', NULL),
    ('06', '市容环境', NULL),
    ('07', '街面秩序', NULL),
    ('08', '施工管理', NULL),
    ('09', '突发事件', NULL),
    ('99', '其他', NULL);
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(SEED)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS incident_doc")
    op.execute("DROP FUNCTION IF EXISTS incident_json")
    for table in ("incident_log", "incident", "category", "department", "grid_version", "grid",
                  "region", "region_level"):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS locate_grid, refuse_change CASCADE")
