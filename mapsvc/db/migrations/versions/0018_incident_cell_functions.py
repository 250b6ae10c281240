"""An incident's cell is worked out in a few microseconds, and for every point.

The bit spreading of the cell's column and row runs as one PL/pgSQL function. The SQL version
nested five one-line functions, each using its argument twice; PostgreSQL inlines no such call
whose argument is itself a call, so every insert ran ten SQL functions (about 17 µs a row, a
fifth of a bulk import's insert).

A latitude so close to zero that PostgreSQL's float arithmetic underflows on it (below 1e-300
degree: 5e-324 made the insert fail) now counts as zero, the cell it lies in anyway.

Every number that could be worked out before is unchanged: stored cells stay valid.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

CELL_ZOOM = 28

UPGRADE = f"""
-- v's bits spread apart, a zero between each two (the standard magic-number steps)
CREATE OR REPLACE FUNCTION cell_spread(v bigint) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    v := (v | (v << 16)) & 281470681808895;
    v := (v | (v << 8)) & 71777214294589695;
    v := (v | (v << 4)) & 1085102592571150095;
    v := (v | (v << 2)) & 3689348814741910323;
    RETURN (v | (v << 1)) & 6148914691236517205;
END $$;
DROP FUNCTION cell_spread_step;

CREATE OR REPLACE FUNCTION mercator_cell(geom geometry) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN abs(ST_Y(geom)) < 85.0511287798 AND ST_X(geom) >= -180 AND ST_X(geom) < 180
    THEN cell_spread(floor((ST_X(geom) + 180) / 360 * {2 ** CELL_ZOOM})::bigint)
       | (cell_spread(floor((0.5 + ln(tan(pi() / 4 + radians(
             CASE WHEN abs(ST_Y(geom)) < 1e-300 THEN 0 ELSE ST_Y(geom) END) / 2)) / (2 * pi()))
                            * {2 ** CELL_ZOOM})::bigint) << 1)
    END;
"""

DOWNGRADE = f"""
CREATE OR REPLACE FUNCTION mercator_cell(geom geometry) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN abs(ST_Y(geom)) < 85.0511287798 AND ST_X(geom) >= -180 AND ST_X(geom) < 180
    THEN cell_spread(floor((ST_X(geom) + 180) / 360 * {2 ** CELL_ZOOM})::bigint)
       | (cell_spread(floor((0.5 + ln(tan(pi() / 4 + radians(ST_Y(geom)) / 2)) / (2 * pi()))
                            * {2 ** CELL_ZOOM})::bigint) << 1)
    END;
CREATE FUNCTION cell_spread_step(v bigint, shift integer, mask bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN (v | (v << shift)) & mask;
CREATE OR REPLACE FUNCTION cell_spread(v bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN cell_spread_step(cell_spread_step(cell_spread_step(cell_spread_step(cell_spread_step(
        v, 16, 281470681808895), 8, 71777214294589695), 4, 1085102592571150095), 2,
        3689348814741910323), 1, 6148914691236517205);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
