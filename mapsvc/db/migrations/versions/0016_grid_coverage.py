"""Each grid's coverage kept beside it (the grid tiles' ``households`` and ``visited``): how
many households live at its addresses, and the time of each one's last visit, in order. A
tile then finds the households visited within any number of days by one binary search
(``width_bucket``) per grid, instead of counting a city's households and their visits under
every tile (a z12 tile holds hundreds of grids of hundreds of households each).

Kept by statement triggers on visits, households, houses and addresses, through
``grid_coverage_refresh``, which counts the changed grids afresh. It first locks their rows,
in grid order: a writer waits for another writing in the same grid to commit and then counts
with what that one wrote, so that neither overwrites the other's count.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Each table: how a changed row leads to its grid (``r`` the changed row), and which columns
# of an updated row decide that grid or the grid's counts.
TABLES = {
    "visit": (("JOIN household h ON h.id = r.household_id JOIN house ho ON ho.id = h.house_id "
               "JOIN address a ON a.id = ho.address_id"), ("household_id", "at")),
    "household": ("JOIN house ho ON ho.id = r.house_id JOIN address a ON a.id = ho.address_id",
                  ("house_id",)),
    "house": ("JOIN address a ON a.id = r.address_id", ("address_id",)),
    "address": ("CROSS JOIN LATERAL (SELECT r.grid_id) a", ("grid_id",)),
}


def locked_in_grid_order(table: str) -> str:
    """The opening of a refresh function's body over ``table`` (a row per grid, keyed by
    ``grid_id``): its argument ``grids`` sorted, each once, the grids' missing rows made and
    their rows locked in grid order, so that a writer waits for another writing in the same
    grid to commit."""
    return f"""
    grids := ARRAY(SELECT DISTINCT id FROM unnest(grids) AS g(id) WHERE id IS NOT NULL
                    ORDER BY id);
    IF cardinality(grids) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO {table} (grid_id) SELECT unnest(grids) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM {table} WHERE grid_id = ANY (grids) ORDER BY grid_id FOR UPDATE;""".strip("\n")


UPGRADE = """
CREATE TABLE grid_coverage (
    grid_id     bigint PRIMARY KEY REFERENCES grid,
    households  integer NOT NULL DEFAULT 0,
    -- the last visit of each household visited at least once, earliest first
    last_visits timestamptz[] NOT NULL DEFAULT '{}'
);
CREATE TRIGGER grid_coverage_bumps_registry AFTER INSERT OR UPDATE OR DELETE ON grid_coverage
    FOR EACH STATEMENT EXECUTE FUNCTION bump_tile_revision('tile_revision_registry');
"""


def visited_function(kept: str = "timestamptz[]", moment: str = "{}") -> str:
    """``coverage_visited``: how many of a grid's households were visited after ``since``,
    width_bucket counting the visits up to ``since`` by a binary search; the visits ``kept``
    as an array of this type, ``moment`` the kept form of a time, a format of its
    expression."""
    return f"""
CREATE FUNCTION coverage_visited(last_visits {kept}, since timestamptz) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN cardinality(last_visits) - width_bucket({moment.format("since")}, last_visits);"""


def refresh_coverage(table: str, then: str = "", moment: str = "{}", people: bool = False,
                     each_call: bool = False) -> str:
    """``grid_coverage_refresh``, counting the grids' coverage afresh into ``table``; ``then``:
    statements run after, FOUND telling whether any grid's coverage changed; ``moment``: the
    kept form of a visit's time, a format of its expression; ``people``: the households'
    members who have not left counted too, into ``population`` (migration 0056);
    ``each_call``: the count planned at each call, for its grids and the tables as they are
    then, rather than once a session (migration 0068)."""
    kept = ["households", *(["population"] if people else []), "last_visits"]
    new, old = (", ".join(f"{row}.{column}" for column in kept) for row in ("n", "c"))
    update = f"""UPDATE {table} c SET ({", ".join(kept)}) = ({new})
      FROM (SELECT g.id, count(h.id)::integer AS households,{PEOPLE_COUNTED if people else ""}
                   coalesce(array_agg({moment.format("v.at")} ORDER BY v.at)
                                FILTER (WHERE v.at IS NOT NULL), '{{}}') AS last_visits
              FROM unnest({"$1" if each_call else "grids"}) AS g(id)
              LEFT JOIN address a ON a.grid_id = g.id
              LEFT JOIN house ho ON ho.address_id = a.id
              LEFT JOIN household h ON h.house_id = ho.id
              LEFT JOIN LATERAL (SELECT max(at) AS at FROM visit WHERE household_id = h.id) v
                ON true
             GROUP BY g.id) n
     WHERE c.grid_id = n.id
       AND ({old}) IS DISTINCT FROM ({new})"""
    if each_call:  # EXECUTE leaves FOUND as it was: set from the rows it changed
        update = f"""EXECUTE $update$
    {update}$update$ USING grids;
    GET DIAGNOSTICS changed = ROW_COUNT;
    FOUND := changed > 0"""
    return f"""
CREATE OR REPLACE FUNCTION grid_coverage_refresh(grids bigint[]) RETURNS void LANGUAGE plpgsql
AS $$
{"DECLARE changed bigint;" if each_call else ""}
BEGIN
{locked_in_grid_order(table)}
    {update};{then}
END
$$;"""


# a household's members who have not left, summed per grid (``h`` the household)
PEOPLE_COUNTED = """
                   coalesce(sum((SELECT count(*) FROM person p
                                  WHERE p.household_id = h.id AND p.left_on IS NULL)),
                            0)::integer AS population,"""


def coverage_function(table: str, to_grid: str, columns: tuple[str, ...],
                      create: str = "CREATE", each_call: bool = False) -> str:
    """``{table}_coverage``, refreshing the coverage of the grids whose rows of ``table``
    changed: ``to_grid`` leads a changed row ``r`` to its address ``a``; ``columns``, those
    of an updated row that decide the grid or its counts; ``each_call``: the grids found by a
    statement planned at each call, for the rows changed then (migration 0068)."""
    changed = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in columns)
    grids = {
        "INSERT": f"SELECT a.grid_id FROM changed_new r {to_grid}",
        "DELETE": f"SELECT a.grid_id FROM changed_old r {to_grid}",
        "UPDATE": f"""
            WITH moved AS (SELECT id FROM changed_new n JOIN changed_old o USING (id)
                            WHERE {changed})
            SELECT a.grid_id FROM changed_new r {to_grid} WHERE r.id IN (TABLE moved)
            UNION ALL
            SELECT a.grid_id FROM changed_old r {to_grid} WHERE r.id IN (TABLE moved)"""}
    run = {change: (f"EXECUTE $refresh$SELECT grid_coverage_refresh(ARRAY({found}))$refresh$"
                    if each_call else f"PERFORM grid_coverage_refresh(ARRAY({found}))")
           for change, found in grids.items()}
    return f"""
{create} FUNCTION {table}_coverage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {run["INSERT"]};
    ELSIF TG_OP = 'DELETE' THEN
        {run["DELETE"]};
    ELSE
        {run["UPDATE"]};
    END IF;
    RETURN NULL;
END
$$;"""


def table_triggers(table: str, to_grid: str, columns: tuple[str, ...]) -> str:
    """``{table}_coverage`` (``coverage_function``) and the statement triggers that run it."""
    return coverage_function(table, to_grid, columns) + f"""
CREATE TRIGGER {table}_coverage_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_coverage();
CREATE TRIGGER {table}_coverage_update AFTER UPDATE ON {table}
    REFERENCING NEW TABLE AS changed_new OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_coverage();
CREATE TRIGGER {table}_coverage_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_coverage();"""


def _triggers() -> str:
    out = [table_triggers(table, to_grid, columns)
           for table, (to_grid, columns) in TABLES.items()]
    out.append("SELECT grid_coverage_refresh(ARRAY(SELECT id FROM grid));")
    return "\n".join(out)


def upgrade() -> None:
    op.execute(UPGRADE + visited_function() + refresh_coverage("grid_coverage") + _triggers())


def downgrade() -> None:
    for table in TABLES:
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_coverage_{action} ON {table}")
        op.execute(f"DROP FUNCTION {table}_coverage")
    op.execute("DROP FUNCTION grid_coverage_refresh; DROP FUNCTION coverage_visited; "
               "DROP TABLE grid_coverage")
