"""The four clocks of a case (dispatch, handling, checking, the whole case) with their warning
colours; filing and closing conditions and national class codes on categories; extension
requests; what each case counts for in the metrics, and the tally of those figures per county,
township, department and grid worker and day, kept by statement triggers as append-only
deltas.

Each clock is stored as its deadline and the moment 80 % of its limit is used (``*_warn_at``),
both computed in working time when it starts, so its colour is a comparison with the time:
green before ``warn_at``, yellow to the deadline, red after; while a case is suspended the
comparison is made at the moment it was suspended (the clock stands still).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import re

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INCIDENT_COLUMNS = """
    ADD COLUMN filed_at          timestamptz,
    ADD COLUMN handled_at        timestamptz,
    ADD COLUMN closed_at         timestamptz,
    ADD COLUMN dispatch_deadline timestamptz,
    ADD COLUMN dispatch_warn_at  timestamptz,
    ADD COLUMN handling_warn_at  timestamptz,
    ADD COLUMN check_deadline    timestamptz,
    ADD COLUMN check_warn_at     timestamptz,
    ADD COLUMN case_deadline     timestamptz,
    ADD COLUMN case_warn_at      timestamptz,
    ADD COLUMN suspended_hours   real NOT NULL DEFAULT 0,
    ADD COLUMN handling_hours    real,
    ADD COLUMN extension_request jsonb
"""

CATEGORY_COLUMNS = """
    ADD COLUMN filing_condition  text NOT NULL DEFAULT '',
    ADD COLUMN closing_condition text NOT NULL DEFAULT ''
"""

# Codes of the national classifications a category corresponds to, so that grid reports and
# 12345 tickets share one pool: GB/T 30428.2 (city management components and events) and
# GB/T 39666 (hotline classes).
NATIONAL_CODES = """
CREATE TABLE category_national_code (
    category_code text NOT NULL REFERENCES category,
    scheme        text NOT NULL CHECK (scheme IN ('GB/T 30428.2', 'GB/T 39666')),
    code          text NOT NULL,
    PRIMARY KEY (category_code, scheme)
);
"""

# The GB/T 30428.2 component major classes (部件大类) and one subclass whose code is attested
# in field data (3205080101000001: 公用设施 / 上水井盖), under a 部件 branch of the tree.
COMPONENT_CLASSES = [
    ("10", "部件", None, None),
    ("1001", "公用设施", "10", "01"),
    ("100101", "上水井盖", "1001", "0101"),
    ("1002", "道路交通", "10", "02"),
    ("1003", "市容环境", "10", "03"),
    ("1004", "园林绿化", "10", "04"),
    ("1005", "房屋土地", "10", "05"),
    ("1006", "其他设施", "10", "06"),
]

# 立案条件 / 结案条件 of the seeded leaves, in the words of published 立结案标准.
CONDITIONS = {
    "0601": ("城市道路、广场等公共区域有暴露垃圾、积存垃圾", "垃圾清除干净"),
    "0602": ("道路、广场有明显污迹、杂物", "道路保洁达标"),
    "0603": ("井盖缺失、破损、移位", "井盖补齐或修复，设置警示"),
    "0701": ("占用道路、广场摆摊经营", "经营者撤离，占道物品清除"),
    "0801": ("未经审批搭建建筑物、构筑物且正在施工", "停止施工"),
    "0802": ("未经审批搭建建筑物、构筑物", "违建拆除"),
    "100101": ("上水井盖缺失、破损、移位", "井盖补齐或修复"),
}

# What one incident counts for in the metrics, as it stands (the single definition: the
# tally's triggers and the live figures of villages and grids both read it). Handling times are
# counted in bins so that p90 can be read from sums: ``bin`` i holds the times from edge i-1 to
# edge i (working hours; see mapsvc.workflow.stats.HANDLING_BIN_EDGES).
HANDLING_BIN_EDGES = (0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 40, 60, 80, 120, 160, 240, 400)
MEASURES_FUNCTION = """
CREATE FUNCTION incident_measures(c incident) RETURNS TABLE (
    day date, reported int, valid int, filed int, voided int, dispatched int,
    dispatched_on_time int, handled int, handled_on_time int, closed int, closed_on_time int,
    rework int, handling_hours float8, rated int, satisfaction int, bin int
) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (c.reported_at AT TIME ZONE 'Asia/Shanghai')::date, 1,
           (c.filed_at IS NOT NULL OR c.status = 'self_resolved')::int,
           (c.filed_at IS NOT NULL)::int,
           (c.status = 'void')::int,
           (c.dispatched_at IS NOT NULL)::int,
           coalesce(c.dispatched_at <= c.dispatch_deadline, false)::int,
           (c.handled_at IS NOT NULL)::int,
           (c.handled_at IS NOT NULL AND (c.handling_deadline IS NULL
                                          OR c.handled_at <= c.handling_deadline))::int,
           (c.closed_at IS NOT NULL)::int,
           (c.closed_at IS NOT NULL AND (c.case_deadline IS NULL
                                         OR c.closed_at <= c.case_deadline))::int,
           c.rework_count,
           coalesce(c.handling_hours, 0),
           (c.satisfaction IS NOT NULL)::int,
           coalesce(c.satisfaction, 0)::int,
           width_bucket(c.handling_hours, 'EDGES'::float8[])
$$;
""".replace("EDGES", "{" + ",".join(map(str, HANDLING_BIN_EDGES)) + "}")
COUNTS = ("reported", "valid", "filed", "voided", "dispatched", "dispatched_on_time", "handled",
          "handled_on_time", "closed", "closed_on_time", "rework", "handling_hours", "rated",
          "satisfaction")
BINS = tuple(f"h{i}" for i in range(len(HANDLING_BIN_EDGES) + 1))
MEASURES = (*COUNTS, *BINS)

# The tally holds the subjects with many cases: counties, townships, departments and grid
# workers, each per local day reported. ``{rows}`` yields (sign, row): +1 for an incident row
# as it is now, -1 for one as it was.
TALLY_SELECT = """
SELECT s.kind, s.subject, m.day, SUMS
  FROM ({rows}) c
 CROSS JOIN LATERAL incident_measures(c.inc) m
 CROSS JOIN LATERAL (VALUES ('county', (c.inc).county_code),
                            ('township', (c.inc).township_code),
                            ('department', (c.inc).department_code),
                            ('worker', (c.inc).reporter_id::text)) s(kind, subject)
 WHERE s.subject IS NOT NULL
 GROUP BY 1, 2, 3
""".replace("SUMS", ",\n       ".join(
    [f"sum(c.sign * m.{name}) AS {name}" for name in COUNTS]
    + [f"coalesce(sum(c.sign) FILTER (WHERE m.bin = {i}), 0) AS {name}"
       for i, name in enumerate(BINS)]))
_KEY = "kind text NOT NULL, subject text NOT NULL, day date NOT NULL"
_MEASURE_COLUMNS = ", ".join(f"{m} {'float8' if m == 'handling_hours' else 'bigint'} NOT NULL"
                             for m in MEASURES)
_NONZERO = " OR ".join(f"t.{m} <> 0" for m in MEASURES)

# Statement triggers write the net change of each statement as new delta rows: no row is
# updated in place, so concurrent reports never wait for each other here. Deltas are folded
# into incident_tally from time to time (mapsvc.workflow.stats.fold); readers add both.
TALLY = f"""
CREATE TABLE incident_tally ({_KEY}, {_MEASURE_COLUMNS}, PRIMARY KEY (kind, subject, day));
CREATE TABLE incident_tally_delta ({_KEY}, {_MEASURE_COLUMNS});
CREATE INDEX incident_tally_delta_idx ON incident_tally_delta (kind, subject, day);

CREATE FUNCTION tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO incident_tally_delta (kind, subject, day, {", ".join(MEASURES)})
    SELECT * FROM ({TALLY_SELECT.format(rows="SELECT 1 AS sign, ROW(n.*)::incident AS inc FROM new_rows n")}) t;
    RETURN NULL;
END
$$;
CREATE FUNCTION tally_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO incident_tally_delta (kind, subject, day, {", ".join(MEASURES)})
    SELECT * FROM ({TALLY_SELECT.format(rows="SELECT 1 AS sign, ROW(n.*)::incident AS inc FROM new_rows n "
                                              "UNION ALL SELECT -1, ROW(o.*)::incident FROM old_rows o")}) t
     WHERE {_NONZERO};
    RETURN NULL;
END
$$;
CREATE TRIGGER incident_tally_insert AFTER INSERT ON incident
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tally_inserted();
CREATE TRIGGER incident_tally_update AFTER UPDATE ON incident
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_updated();
"""

# Clocks in the incident's JSON: each with its deadline and, while it runs, its colour; the
# case's colour is the worst of its running clocks, and it is overdue when that is red.
CLOCK_COLOUR = """CASE WHEN {running} THEN CASE
        WHEN coalesce(i.suspended_at, now()) > i.{stage}_deadline THEN 'red'
        WHEN coalesce(i.suspended_at, now()) >= i.{stage}_warn_at THEN 'yellow'
        ELSE 'green' END END"""
RUNNING = {
    "dispatch": "i.status = 'filed'",
    "handling": "i.status IN ('dispatched', 'in_progress')",
    "check": "i.status IN ('handled', 'checking')",
    "case": "i.status IN ('filed', 'dispatched', 'in_progress', 'handled', 'checking')",
}
_COLOURS = ",\n".join(
    CLOCK_COLOUR.format(stage=stage, running=f"{running} AND i.{stage}_deadline IS NOT NULL")
    + f" AS {stage}" for stage, running in RUNNING.items())
_WORST = ("CASE greatest(" + ", ".join(
    f"CASE k.{stage} WHEN 'red' THEN 3 WHEN 'yellow' THEN 2 WHEN 'green' THEN 1 END"
    for stage in RUNNING) + ") WHEN 3 THEN 'red' WHEN 2 THEN 'yellow' WHEN 1 THEN 'green' END")

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
        'updated_at', i.updated_at, 'filed_at', i.filed_at, 'dispatched_at', i.dispatched_at,
        'handled_at', i.handled_at, 'closed_at', i.closed_at,
        'handling_deadline', i.handling_deadline, 'handling_hours', i.handling_hours,
        'clocks', json_build_object(
            'dispatch', json_build_object('deadline', i.dispatch_deadline, 'colour', k.dispatch),
            'handling', json_build_object('deadline', i.handling_deadline, 'colour', k.handling),
            'check', json_build_object('deadline', i.check_deadline, 'colour', k.check),
            'case', json_build_object('deadline', i.case_deadline, 'colour', k.case)),
        'colour', w.colour,
        'overdue', coalesce(w.colour = 'red', false),
        'extension_request', i.extension_request,
        'duplicate_of', i.duplicate_of)
      FROM (SELECT COLOURS) k, LATERAL (SELECT WORST AS colour) w
$$;
""".replace("COLOURS", _COLOURS).replace("WORST", _WORST)

INDEXES = """
CREATE INDEX incident_open_dispatch_idx ON incident (dispatch_deadline)
    WHERE status = 'filed';
"""


def upgrade() -> None:
    values = ", ".join(f"('{c}', '{n}', {repr(p) if p else 'NULL'})"
                       for c, n, p, _ in COMPONENT_CLASSES)
    national = ", ".join(f"('{c}', 'GB/T 30428.2', '{n}')" for c, _, _, n in COMPONENT_CLASSES if n)
    conditions = ";\n".join(f"UPDATE category SET filing_condition = '{f}', "
                             f"closing_condition = '{d}' WHERE code = '{c}'"
                             for c, (f, d) in CONDITIONS.items())
    op.execute(f"""
        DROP VIEW incident_doc;
        ALTER TABLE incident {INCIDENT_COLUMNS};
        ALTER TABLE category {CATEGORY_COLUMNS};
        {NATIONAL_CODES}
        INSERT INTO category (code, name, parent_code) VALUES {values};
        INSERT INTO category_national_code (category_code, scheme, code) VALUES {national};
        UPDATE category SET time_limit = 4, time_limit_unit = 'working_hours' WHERE code = '100101';
        {conditions};
        {INDEXES}
        CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i;
    """)
    op.execute(MEASURES_FUNCTION)
    op.execute(TALLY)
    op.execute(INCIDENT_JSON)
    # Incidents already stored enter the tally as they are.
    op.execute(f"""
        INSERT INTO incident_tally (kind, subject, day, {", ".join(MEASURES)})
        {TALLY_SELECT.format(rows="SELECT 1 AS sign, i AS inc FROM incident i")}""")


def downgrade() -> None:
    before = earlier_migration("0005_workflow")
    codes = ", ".join(f"'{c}'" for c, *_ in COMPONENT_CLASSES)
    drop = lambda clause: ", ".join(f"DROP COLUMN {c}"  # noqa: E731
                                    for c in re.findall(r"ADD COLUMN (\w+)", clause))
    op.execute(f"""
        DROP TRIGGER incident_tally_insert ON incident;
        DROP TRIGGER incident_tally_update ON incident;
        DROP FUNCTION tally_inserted, tally_updated, incident_measures;
        DROP TABLE incident_tally, incident_tally_delta, category_national_code;
        DROP VIEW incident_doc;
        DROP INDEX incident_open_dispatch_idx;
        ALTER TABLE incident {drop(INCIDENT_COLUMNS)};
        ALTER TABLE category {drop(CATEGORY_COLUMNS)};
        ALTER TABLE category DISABLE TRIGGER category_never_deleted;
        DELETE FROM category WHERE code IN ({codes});
        ALTER TABLE category ENABLE TRIGGER category_never_deleted;
    """)
    op.execute(before.INCIDENT_JSON)
    op.execute("CREATE VIEW incident_doc AS SELECT i.*, incident_json(i) AS doc FROM incident i")
