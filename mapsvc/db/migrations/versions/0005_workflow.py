"""The closed loop on each incident: who handles it, rework, supervision, escalation,
suspension and the reporter's rating.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# The incident's JSON gains the loop's fields.
INCIDENT_JSON = r"""
CREATE OR REPLACE FUNCTION incident_json(i incident) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
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
                    WHERE code = i.county_code),
        'department', i.department_code, 'rework_count', i.rework_count,
        'supervision', i.supervision, 'escalation_level', i.escalation_level,
        'suspended', i.suspended_at IS NOT NULL, 'satisfaction', i.satisfaction,
        'updated_at', i.updated_at)
$$;
"""


def upgrade() -> None:
    op.execute("""
        DROP VIEW incident_doc;
        ALTER TABLE incident
            ADD COLUMN department_code  text REFERENCES department,
            ADD COLUMN rework_count     integer NOT NULL DEFAULT 0,
            ADD COLUMN supervision      text CHECK (supervision IN ('normal', 'yellow', 'red')),
            ADD COLUMN escalation_level text NOT NULL DEFAULT 'grid' CHECK (escalation_level IN
                                            ('grid', 'village', 'township', 'county', 'department')),
            ADD COLUMN suspended_at     timestamptz,
            ADD COLUMN satisfaction     smallint CHECK (satisfaction BETWEEN 1 AND 5),
            ADD COLUMN updated_at       timestamptz NOT NULL DEFAULT now();
        CREATE INDEX incident_department_idx ON incident (department_code, status)
            WHERE department_code IS NOT NULL;
        CREATE INDEX incident_status_idx ON incident (status);
        CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i;
    """)
    op.execute(INCIDENT_JSON)


def downgrade() -> None:
    op.execute("""
        DROP VIEW incident_doc;
        ALTER TABLE incident DROP COLUMN department_code, DROP COLUMN rework_count,
            DROP COLUMN supervision, DROP COLUMN escalation_level, DROP COLUMN suspended_at,
            DROP COLUMN satisfaction, DROP COLUMN updated_at;
        CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i;
    """)
