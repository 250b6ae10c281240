"""The closed loop on each incident: who handles it, its handling clock (started at dispatch,
stopped while suspended, moved by extensions), rework, supervision, escalation, suspension,
the reporter's rating and the case it duplicates; category leaves with time limits; the working
calendar; duplicate suggestions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import re

from alembic import op

revision = "0005"
down_revision = "0004"
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

COLUMNS = """
    ADD COLUMN department_code   text REFERENCES department,
    ADD COLUMN rework_count      integer NOT NULL DEFAULT 0,
    ADD COLUMN supervision       text CHECK (supervision IN ('normal', 'yellow', 'red')),
    ADD COLUMN escalation_level  text NOT NULL DEFAULT 'grid' CHECK (escalation_level IN
                                     ('grid', 'village', 'township', 'county', 'department')),
    ADD COLUMN suspended_at      timestamptz,
    ADD COLUMN satisfaction      smallint CHECK (satisfaction BETWEEN 1 AND 5),
    ADD COLUMN updated_at        timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN dispatched_at     timestamptz,
    ADD COLUMN handling_deadline timestamptz,
    ADD COLUMN duplicate_of      bigint
"""

INDEXES = """
CREATE INDEX incident_department_idx ON incident (department_code, status)
    WHERE department_code IS NOT NULL;
CREATE INDEX incident_status_idx ON incident (status);
CREATE INDEX incident_open_deadline_idx ON incident (handling_deadline)
    WHERE handling_deadline IS NOT NULL AND status IN ('dispatched', 'in_progress');
CREATE INDEX incident_duplicate_idx ON incident (duplicate_of) WHERE duplicate_of IS NOT NULL;
"""

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
        'updated_at', i.updated_at, 'dispatched_at', i.dispatched_at,
        'handling_deadline', i.handling_deadline,
        'overdue', i.status IN ('dispatched', 'in_progress') AND i.suspended_at IS NULL
                   AND i.handling_deadline < now(),
        'duplicate_of', i.duplicate_of)
$$;
"""

# Open cases of the same category near ``new`` and reported around the same time. Radius and
# window are the category's properties duplicate_radius_m and duplicate_hours, inherited from
# the nearest ancestor that sets them, else 50 m and 72 h. Called while ``new`` is being stored,
# the new row itself is not yet visible, so it never suggests itself.
SUGGEST = r"""
CREATE FUNCTION duplicate_suggestions(new incident) RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL keeps the plan of this query for the session; a SQL function would plan it anew
    -- on every call
    RETURN (WITH RECURSIVE up AS (
        SELECT c.code, c.parent_code, c.properties, 0 AS depth
          FROM category c WHERE c.code = new.category_code
        UNION ALL
        SELECT c.code, c.parent_code, c.properties, up.depth + 1
          FROM up JOIN category c ON c.code = up.parent_code
    ), rule AS (
        SELECT coalesce((SELECT (properties->>'duplicate_radius_m')::float8 FROM up
                          WHERE properties ? 'duplicate_radius_m' ORDER BY depth LIMIT 1),
                        50) AS radius_m,
               coalesce((SELECT (properties->>'duplicate_hours')::float8 FROM up
                          WHERE properties ? 'duplicate_hours' ORDER BY depth LIMIT 1),
                        72) AS hours
    ), near AS (
        SELECT o.id, round(ST_Distance(o.geom::geography, new.geom::geography)::numeric, 1) AS d
          FROM rule, incident o
         WHERE o.id <> new.id AND o.category_code = new.category_code
           AND o.status IN ('reported', 'verifying', 'filed', 'dispatched', 'in_progress',
                            'handled', 'checking')
           -- a box holding the circle below 60 degrees latitude, for the index
           AND ST_DWithin(o.geom, new.geom, rule.radius_m / 50000.0)
           AND ST_DWithin(o.geom::geography, new.geom::geography, rule.radius_m)
           AND abs(extract(epoch FROM o.reported_at - new.reported_at)) <= rule.hours * 3600
         ORDER BY d, o.id
         LIMIT 5
    )
    SELECT coalesce(json_agg(json_build_object('id', id, 'distance_m', d) ORDER BY d, id), '[]')
      FROM near);
END
$$;
"""


def upgrade() -> None:
    values = ", ".join(f"('{c}', '{n}', '{p}', {v}, '{u}')" for c, n, p, v, u in CATEGORIES)
    op.execute(f"""
        INSERT INTO category (code, name, parent_code, time_limit, time_limit_unit)
        VALUES {values};
        DROP VIEW incident_doc;
        ALTER TABLE incident {COLUMNS};
        {INDEXES}
        CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i;
    """)
    op.execute(INCIDENT_JSON)
    op.execute(SUGGEST)


# What the incident's JSON was before (revision 0001), for the downgrade.
INCIDENT_JSON_BEFORE = r"""
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
                    WHERE code = i.county_code))
$$;
"""


def downgrade() -> None:
    columns = re.findall(r"ADD COLUMN (\w+)", COLUMNS)
    codes = ", ".join(f"'{c}'" for c, *_ in CATEGORIES)
    op.execute(f"""
        DROP FUNCTION duplicate_suggestions;
        DROP VIEW incident_doc;
        DROP INDEX incident_status_idx;
        ALTER TABLE incident {", ".join(f"DROP COLUMN {c}" for c in columns)};
        ALTER TABLE category DISABLE TRIGGER category_never_deleted;
        DELETE FROM category WHERE code IN ({codes});
        ALTER TABLE category ENABLE TRIGGER category_never_deleted;
    """)
    op.execute(INCIDENT_JSON_BEFORE)
    op.execute("CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i")
