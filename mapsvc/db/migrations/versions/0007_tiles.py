"""Vector tiles: Web Mercator copies of grid and region geometry (regions also simplified for
small scales), kept by the database itself; one revision counter per tile layer family, bumped
by statement triggers whenever what the layer shows changes; the warning colour of a case as
a function of its own, shared by the case's JSON and the tiles; announcements of new and
changed cases from the log itself; duplicate suggestions that look near the case first.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


# Metres of simplification for regions drawn at small scales (zoom below 10: a pixel there
# is 150 m or more).
SIMPLE_M = 30

GEOMETRY = f"""
ALTER TABLE grid_version ADD COLUMN geom_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
CREATE INDEX grid_version_current_3857_idx ON grid_version USING gist (geom_3857)
    WHERE valid_to IS NULL;
ALTER TABLE region ADD COLUMN geom_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE region ADD COLUMN geom_3857_simple geometry(Geometry, 3857)
    GENERATED ALWAYS AS (ST_SimplifyPreserveTopology(ST_Transform(geom, 3857), {SIMPLE_M})) STORED;
CREATE INDEX region_3857_idx ON region USING gist (geom_3857);
"""

# Layer families and the tables whose changes they show.
REVISIONS = {
    "regions": ("region",),
    "grids": ("grid", "grid_version", "account_grid", "account"),
    "incidents": ("incident",),
    "registry": ("address", "household", "visit", "organisation", "thing", "place"),
}

BUMP = """
CREATE FUNCTION bump_tile_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval(TG_ARGV[0]);
    RETURN NULL;
END
$$;
"""


def _revision_sql() -> str:
    out = [BUMP]
    for family, tables in REVISIONS.items():
        # a sequence: bumped by any number of writers at once without waiting on each other
        out.append(f"CREATE SEQUENCE tile_revision_{family};")
        for table in tables:
            out.append(f"CREATE TRIGGER {table}_bumps_{family} AFTER INSERT OR UPDATE OR DELETE "
                       f"ON {table} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION bump_tile_revision('tile_revision_{family}');")
    return "\n".join(out)


def _clocks_sql() -> tuple[str, str]:
    """incident_colour(i): the case's warning colour (the worst of its running clocks), cheap
    enough for counting many cases; incident_clocks(i): each running clock's deadline and
    colour, and the case's; and the case's JSON built on them."""
    before = earlier_migration("0006_clocks_and_tallies")
    clocks = f"""
CREATE FUNCTION incident_colour(i incident) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT {before._WORST} FROM (SELECT {before._COLOURS}) k
$$;
CREATE FUNCTION incident_clocks(i incident) RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'dispatch', jsonb_build_object('deadline', i.dispatch_deadline, 'colour', k.dispatch),
        'handling', jsonb_build_object('deadline', i.handling_deadline, 'colour', k.handling),
        'check', jsonb_build_object('deadline', i.check_deadline, 'colour', k.check),
        'case', jsonb_build_object('deadline', i.case_deadline, 'colour', k.case),
        'colour', {before._WORST})
      FROM (SELECT {before._COLOURS}) k
$$;
"""
    doc = before.INCIDENT_JSON
    start = doc.index("        'clocks', json_build_object(")
    end = doc.index("        'extension_request'")
    doc = (doc[:start] + "        'clocks', c - 'colour', 'colour', c->'colour',\n"
           "        'overdue', coalesce(c->>'colour' = 'red', false),\n" + doc[end:])
    doc = doc.replace("      FROM (SELECT " + before._COLOURS + ") k, LATERAL (SELECT "
                      + before._WORST + " AS colour) w",
                      "      FROM (SELECT incident_clocks(i) AS c) k")
    return clocks, doc


# One announcement per case a statement logs, or, for a statement that logs many (a bulk
# import), one saying how many, so that a page reloads instead of drowning.
ANNOUNCE = """
CREATE FUNCTION announce_logged() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    logged bigint;
BEGIN
    SELECT count(*) INTO logged FROM new_rows;
    IF logged > 100 THEN
        PERFORM pg_notify('incident', jsonb_build_object(
            'bulk', logged, 'log_id', (SELECT max(id) FROM new_rows))::text);
    ELSE
        PERFORM pg_notify('incident', jsonb_build_object(
            'log_id', n.id, 'id', n.incident_id, 'action', n.action, 'status', n.to_status)::text)
          FROM new_rows n ORDER BY n.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER incident_log_announced AFTER INSERT ON incident_log
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION announce_logged();
"""


def _suggestions_0005() -> str:
    """Duplicate suggestions as migration 0005 wrote them, to replace the function."""
    return earlier_migration("0005_workflow").SUGGEST.replace("CREATE FUNCTION",
                                                             "CREATE OR REPLACE FUNCTION")


def _suggestions_sql() -> str:
    """Duplicate suggestions (migration 0005) that look near the new case first: once most
    cases are closed, the planner would otherwise also read every open case by state."""
    sql = _suggestions_0005()
    before = """    ), near AS (
        SELECT o.id, round(ST_Distance(o.geom::geography, new.geom::geography)::numeric, 1) AS d
          FROM rule, incident o
         WHERE o.id <> new.id AND o.category_code = new.category_code"""
    after = """    ), around AS MATERIALIZED (
        -- a box holding the circle below 60 degrees latitude, for the index
        SELECT o.* FROM rule, incident o WHERE ST_DWithin(o.geom, new.geom, rule.radius_m / 50000.0)
    ), near AS (
        SELECT o.id, round(ST_Distance(o.geom::geography, new.geom::geography)::numeric, 1) AS d
          FROM rule, around o
         WHERE o.id <> new.id AND o.category_code = new.category_code"""
    assert before in sql
    return sql.replace(before, after)


def upgrade() -> None:
    clocks, doc = _clocks_sql()
    op.execute(GEOMETRY)
    op.execute(_revision_sql())
    op.execute(clocks)
    op.execute(doc)
    op.execute(ANNOUNCE)
    op.execute(_suggestions_sql())


def downgrade() -> None:
    op.execute(_suggestions_0005())
    before = earlier_migration("0006_clocks_and_tallies")
    op.execute("""
        DROP TRIGGER incident_log_announced ON incident_log;
        DROP FUNCTION announce_logged;
    """)
    op.execute(before.INCIDENT_JSON)
    op.execute("DROP FUNCTION incident_clocks, incident_colour")
    for family, tables in REVISIONS.items():
        for table in tables:
            op.execute(f"DROP TRIGGER {table}_bumps_{family} ON {table}")
        op.execute(f"DROP SEQUENCE tile_revision_{family}")
    op.execute("""
        DROP FUNCTION bump_tile_revision;
        ALTER TABLE grid_version DROP COLUMN geom_3857;
        ALTER TABLE region DROP COLUMN geom_3857, DROP COLUMN geom_3857_simple;
    """)
