"""Each current grid version drawn once into the tiles it meets at zooms 12 to 15, in tile
units, as ST_AsMVTGeom draws it for the grid tiles (extent 4096, buffer 64, clipped). A grid
tile at these zooms then reads its grids' geometry by the tile's key instead of clipping and
snapping up to 3,000 polygons each time it is drawn: two fifths of a dense z12 tile's cost.

A version's geometry never changes, so neither does its drawing. Statement triggers on
grid_version draw the versions that become current and drop those that stop being so,
whichever path writes them (boundary import, plan publish).

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def draw(labels: tuple[str, ...] = (), zooms: range = range(12, 16)) -> str:
    """``grid_version_tiles_draw``: each of the given current versions drawn into the tiles it
    meets at ``zooms``, with these columns of its grid beside its drawing."""
    columns, values = "".join(f", {c}" for c in labels), "".join(f", g.{c}" for c in labels)
    grid = "\n      JOIN grid g ON g.id = gv.grid_id" if labels else ""
    return f"""
CREATE OR REPLACE FUNCTION grid_version_tiles_draw(versions bigint[]) RETURNS void LANGUAGE sql
    BEGIN ATOMIC
    INSERT INTO grid_version_tile (z, x, y, grid_version_id, grid_id, geom{columns})
    SELECT zoom.z, t.x, t.y, gv.id, gv.grid_id, d.geom{values}
      FROM grid_version gv{grid}
     CROSS JOIN generate_series({zooms.start}, {zooms.stop - 1}) AS zoom(z)
     CROSS JOIN LATERAL tiles_meeting(gv.geom_3857, zoom.z, 64.0 / 4096) t
     CROSS JOIN LATERAL (SELECT ST_AsMVTGeom(gv.geom_3857, ST_TileEnvelope(zoom.z, t.x, t.y),
                                             4096, 64, true) AS geom) d
     WHERE gv.id = ANY (versions) AND gv.valid_to IS NULL AND d.geom IS NOT NULL;
    END;
"""


UPGRADE = """
CREATE TABLE grid_version_tile (
    z               smallint NOT NULL,
    x               integer NOT NULL,
    y               integer NOT NULL,
    grid_version_id bigint NOT NULL REFERENCES grid_version ON DELETE CASCADE,
    grid_id         bigint NOT NULL,
    geom            geometry NOT NULL,  -- in tile units: 0 to 4096, y down
    PRIMARY KEY (z, x, y, grid_version_id)
);
CREATE INDEX grid_version_tile_version_idx ON grid_version_tile (grid_version_id);

-- The tiles of zoom z whose envelope, grown by ``margin`` (a share of the tile's side), meets
-- ``box`` (Web Mercator): worked out from the box's corners, one tile wider on each side,
-- then kept by the same test the tile itself makes.
CREATE FUNCTION tiles_meeting(box geometry, z integer, margin float8)
    RETURNS TABLE (x integer, y integer) LANGUAGE sql IMMUTABLE PARALLEL SAFE
    BEGIN ATOMIC
    WITH side AS (SELECT 2 * 20037508.342789244 / (1 << z) AS size, (1 << z) - 1 AS last)
    SELECT t.x, u.y
      FROM side,
           generate_series(greatest(0, floor((ST_XMin(box) + 20037508.342789244) / size) - 1)::int,
                           least(last, floor((ST_XMax(box) + 20037508.342789244) / size) + 1)::int)
               AS t(x),
           generate_series(greatest(0, floor((20037508.342789244 - ST_YMax(box)) / size) - 1)::int,
                           least(last, floor((20037508.342789244 - ST_YMin(box)) / size) + 1)::int)
               AS u(y)
     WHERE box && ST_TileEnvelope(z, t.x, u.y, margin => margin);
    END;

""" + draw() + """
CREATE FUNCTION grid_version_tiles_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM grid_version_tiles_draw(ARRAY(SELECT id FROM added WHERE valid_to IS NULL));
    RETURN NULL;
END
$$;
CREATE FUNCTION grid_version_tiles_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    versions bigint[] := ARRAY(
        SELECT n.id FROM changed_new n JOIN changed_old o USING (id)
         WHERE n.valid_to IS DISTINCT FROM o.valid_to
            OR NOT ST_OrderingEquals(n.geom_3857, o.geom_3857));
BEGIN
    DELETE FROM grid_version_tile WHERE grid_version_id = ANY (versions);
    PERFORM grid_version_tiles_draw(versions);
    RETURN NULL;
END
$$;
CREATE TRIGGER grid_version_tiles_insert AFTER INSERT ON grid_version
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION grid_version_tiles_added();
CREATE TRIGGER grid_version_tiles_update AFTER UPDATE ON grid_version
    REFERENCING NEW TABLE AS changed_new OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION grid_version_tiles_changed();

SELECT grid_version_tiles_draw(ARRAY(SELECT id FROM grid_version WHERE valid_to IS NULL));
ANALYZE grid_version_tile;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TRIGGER grid_version_tiles_insert ON grid_version; "
               "DROP TRIGGER grid_version_tiles_update ON grid_version; "
               "DROP FUNCTION grid_version_tiles_added; DROP FUNCTION grid_version_tiles_changed; "
               "DROP FUNCTION grid_version_tiles_draw; DROP FUNCTION tiles_meeting; "
               "DROP TABLE grid_version_tile")
