"""Each grid drawn into its tiles (migration 0022) with its labels beside its drawing: code,
name, kind, workers' names and village code, the grid tiles' text and what a command centre's
region is told by. A grid tile at zooms 12 to 15 then reads its grids from the tile's own rows
instead of looking up each grid's row: that lookup was a third of a z12 tile's statement.

Labels change with the grid's row, never with its version: a statement trigger on grid copies
changed labels into the drawings of the grid's current version, whichever path writes them
(boundary import, plan publish, the workers' names of migration 0015).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01
"""

from alembic import op

from mapsvc.db.migrate import earlier_migration

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

LABELS = ("code", "name", "kind", "workers", "village_code")
_LABELS = ", ".join(LABELS)


def _draw(labels: tuple[str, ...] = ()) -> str:
    return earlier_migration("0022_drawn_grid_tiles").draw(labels)


UPGRADE = f"""
ALTER TABLE grid_version_tile
    ADD COLUMN code text, ADD COLUMN name text, ADD COLUMN kind text, ADD COLUMN workers text,
    ADD COLUMN village_code text;
UPDATE grid_version_tile d SET ({_LABELS}) = (SELECT {", ".join(f"g.{c}" for c in LABELS)})
  FROM grid g WHERE g.id = d.grid_id;
ALTER TABLE grid_version_tile
    ALTER COLUMN code SET NOT NULL, ALTER COLUMN name SET NOT NULL,
    ALTER COLUMN kind SET NOT NULL, ALTER COLUMN village_code SET NOT NULL;

""" + _draw(LABELS) + f"""
CREATE FUNCTION grid_tile_labels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE grid_version_tile d
       SET ({_LABELS}) = (SELECT {", ".join(f"n.{c}" for c in LABELS)})
      FROM changed_new n
      JOIN changed_old o USING (id)
      JOIN grid_version gv ON gv.grid_id = n.id AND gv.valid_to IS NULL
     WHERE d.grid_version_id = gv.id
       AND ({", ".join(f"n.{c}" for c in LABELS)})
           IS DISTINCT FROM ({", ".join(f"o.{c}" for c in LABELS)});
    RETURN NULL;
END
$$;
CREATE TRIGGER grid_tile_labels AFTER UPDATE ON grid
    REFERENCING NEW TABLE AS changed_new OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION grid_tile_labels();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TRIGGER grid_tile_labels ON grid; DROP FUNCTION grid_tile_labels;"
               + _draw()
               + "ALTER TABLE grid_version_tile DROP COLUMN code, DROP COLUMN name, "
                 "DROP COLUMN kind, DROP COLUMN workers, DROP COLUMN village_code")
