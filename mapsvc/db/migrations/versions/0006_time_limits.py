"""Time limits: category leaves with a limit and a default department; the handling clock on
each case (started at dispatch, stopped while suspended, moved by approved extensions).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Leaves seeded under the top classes, with the limits of published 立结案标准 examples.
CATEGORIES = [
    ("0101", "邻里纠纷", "01", 5, "working_days"),
    ("0102", "劳资纠纷", "01", 5, "working_days"),
    ("0201", "消防通道堵塞", "02", 4, "hours"),
    ("0202", "燃气泄漏隐患", "02", 2, "hours"),
    ("0301", "困难群众求助", "03", 3, "working_days"),
    ("0601", "暴露垃圾", "06", 4, "working_hours"),
    ("0602", "道路不洁", "06", 2, "working_hours"),
    ("0603", "井盖缺失", "06", 4, "working_hours"),
    ("0701", "占道经营", "07", 1, "working_days"),
    ("0801", "私搭乱建（停工）", "08", 4, "working_hours"),
    ("0802", "私搭乱建（拆除）", "08", 20, "working_days"),
]


# The incident's JSON gains its handling clock.
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
                   AND i.handling_deadline < now())
$$;
"""


def upgrade() -> None:
    values = ", ".join(f"('{c}', '{n}', '{p}', {v}, '{u}')" for c, n, p, v, u in CATEGORIES)
    op.execute(f"""
        INSERT INTO category (code, name, parent_code, time_limit, time_limit_unit)
        VALUES {values};
        DROP VIEW incident_doc;
        ALTER TABLE incident
            ADD COLUMN dispatched_at     timestamptz,
            ADD COLUMN handling_deadline timestamptz;
        CREATE INDEX incident_open_deadline_idx ON incident (handling_deadline)
            WHERE handling_deadline IS NOT NULL
              AND status IN ('dispatched', 'in_progress');
        CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i;
    """)
    op.execute(INCIDENT_JSON)


def downgrade() -> None:
    op.execute("""
        DROP VIEW incident_doc;
        ALTER TABLE incident DROP COLUMN dispatched_at, DROP COLUMN handling_deadline;
        CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i;
    """)
