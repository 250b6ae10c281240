"""Duplicates: a newcomer merged into the case it repeats.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


# The incident's JSON names the case it duplicates.
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
        'updated_at', i.updated_at, 'dispatched_at', i.dispatched_at,
        'handling_deadline', i.handling_deadline,
        'overdue', i.status IN ('dispatched', 'in_progress') AND i.suspended_at IS NULL
                   AND i.handling_deadline < now(),
        'duplicate_of', i.duplicate_of)
$$;
"""


def upgrade() -> None:
    op.execute("""
        DROP VIEW incident_doc;
        ALTER TABLE incident ADD COLUMN duplicate_of bigint;
        CREATE INDEX incident_duplicate_idx ON incident (duplicate_of) WHERE duplicate_of IS NOT NULL;
        CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i;
    """)
    op.execute(INCIDENT_JSON)


def downgrade() -> None:
    op.execute("""
        DROP VIEW incident_doc;
        ALTER TABLE incident DROP COLUMN duplicate_of;
        CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i;
    """)
