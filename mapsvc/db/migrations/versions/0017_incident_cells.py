"""Each incident's Web Mercator cell at zoom 28, as one Morton (Z-order) number, with an index
that carries what the aggregated tiles count by.

A tile at zoom z holds exactly the cells whose number starts with the tile's own number (its
column and its row counted from the south, interleaved bit by bit), so its incidents are one
range of the index, and a bin of a tile (a cell of zoom z + 6) is that number shifted right.
Heat and the incident bins below point zooms then count an index range, read alone (no table
row is visited), instead of each incident's point under the tile.

Cells are counted from the south and the west, so a point on a bin's left or lower edge lies in
that bin, as in the bins drawn before. Points beyond Web Mercator's latitudes have no cell.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

CELL_ZOOM = 28  # the largest zoom (22) and the 6 bits of a bin's column and row

UPGRADE = f"""
-- v's bits spread apart, a zero between each two (the standard magic-number steps)
CREATE FUNCTION cell_spread_step(v bigint, shift integer, mask bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN (v | (v << shift)) & mask;
CREATE FUNCTION cell_spread(v bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN cell_spread_step(cell_spread_step(cell_spread_step(cell_spread_step(cell_spread_step(
        v, 16, 281470681808895), 8, 71777214294589695), 4, 1085102592571150095), 2,
        3689348814741910323), 1, 6148914691236517205);

-- the Morton number of a WGS84 point's cell at zoom {CELL_ZOOM}: column bits even, row bits odd
CREATE FUNCTION mercator_cell(geom geometry) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN abs(ST_Y(geom)) < 85.0511287798 AND ST_X(geom) >= -180 AND ST_X(geom) < 180
    THEN cell_spread(floor((ST_X(geom) + 180) / 360 * {2 ** CELL_ZOOM})::bigint)
       | (cell_spread(floor((0.5 + ln(tan(pi() / 4 + radians(ST_Y(geom)) / 2)) / (2 * pi()))
                            * {2 ** CELL_ZOOM})::bigint) << 1)
    END;

ALTER TABLE incident ADD COLUMN cell bigint GENERATED ALWAYS AS (mercator_cell(geom)) STORED;
CREATE INDEX incident_cell_idx ON incident (cell)
    INCLUDE (status, reported_at, category_code, suspended_at, dispatch_deadline,
             handling_deadline, check_deadline, case_deadline);
"""

DOWNGRADE = """
ALTER TABLE incident DROP COLUMN cell;
DROP FUNCTION mercator_cell;
DROP FUNCTION cell_spread;
DROP FUNCTION cell_spread_step;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
