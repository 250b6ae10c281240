"""The tile collections, their zoom policy and the SQL that builds one Mapbox Vector Tile.

Every tile is one statement: the features whose box meets the tile (grown by the buffer) are
clipped by ST_AsMVTGeom and encoded by ST_AsMVT; nothing is dropped by a LIMIT. Grids and
regions are stored in Web Mercator beside their WGS84 geometry (migration 0007), regions also
simplified for small scales, grids also drawn once into their tiles at zooms 11 to 15 with
their labels (migrations 0022, 0027, 0038), with their backlog and coverage kept beside them
(migrations 0028, 0036): a tile reads each grid's figures instead of counting them. Incidents
are few per tile at the zooms they are drawn as points and are transformed on the fly. Below
the point zooms incidents come aggregated in square bins, counted from indexes of their cells
(migrations 0017, 0019): every incident in the tile falls in exactly one bin, so the bins'
counts add up to the incidents in the tile.
"""

from dataclasses import dataclass, field

from mapsvc.accounts.jurisdiction import (
    incident_scope,
    incident_scope_key,
    region_cases,
    registry_scope,
    registry_scope_key,
)
from mapsvc.accounts.model import REGION_ROLES, WORKER_NAME, Account
from mapsvc.geojson import Filters
from mapsvc.incidents.categories import under_class
from mapsvc.registry.collection import standing
from mapsvc.registry.patrols import DAYS_UNPATROLLED, patrol_filters, patrol_scope_key
from mapsvc.registry.queries import households_visited
from mapsvc.workflow.machine import CLOSED_SQL, OPEN_SQL

EXTENT = 4096
BUFFER = 64
# The square bins of a tile, as the bits of their number a side: the low-zoom incidents' 64 a
# side; the heat's 32, wider, so that a county's week of cases reads as places hot and cold, not
# as scattered specks of one case each
BIN_BITS = {"incidents": 6, "heat": 5}
POINT_ZOOM = 14     # incidents as points from here, as bins below
SIMPLE_BELOW = 10   # regions drawn with their simplified geometry below this zoom
# Grids come drawn once per version at these zooms (migrations 0022, 0038: with this EXTENT and
# BUFFER)
DRAWN_ZOOMS = range(11, 16)
# How far beyond its region's extent a case of the region may lie: a point joins a grid from
# the assignment tolerance outside it (50 m by default), and the cases of a region whose
# boundary is redrawn keep its code, a little outside it at times.
REGION_MARGIN_M = 1000


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    minzoom: int
    maxzoom: int
    revisions: tuple[str, ...]  # the revision counters whose changes it shows
    fields: dict[str, str] = field(default_factory=dict)  # property → type, for TileJSON
    clock: bool = False  # its figures change with the time alone (overdue, colour, recent)


COLLECTIONS = {c.id: c for c in (
    Collection("cities", "地级市", 0, 22, ("regions",), {"code": "String", "name": "String"}),
    Collection("counties", "区县", 0, 22, ("regions",), {"code": "String", "name": "String"}),
    Collection("townships", "乡镇（街道）", 8, 22, ("regions",),
               {"code": "String", "name": "String"}),
    Collection("villages", "村（社区）", 10, 22, ("regions",),
               {"code": "String", "name": "String"}),
    Collection("grids", "网格", DRAWN_ZOOMS.start, 22, ("grids", "incidents", "registry"),
               {"code": "String", "name": "String", "kind": "String", "open": "Number",
                "overdue": "Number", "recent": "Number", "households": "Number",
                "visited": "Number", "patrol_days": "Number", "workers": "String"},
               clock=True),
    Collection("incidents", "事件", 0, 22, ("incidents",),
               {"id": "Number", "status": "String", "category": "String", "colour": "String",
                "urgent": "Boolean", "count": "Number", "open": "Number", "overdue": "Number"},
               clock=True),
    Collection("heat", "热力", 0, 22, ("incidents",), {"count": "Number"}),
    Collection("patrols", "巡查轨迹", 10, 22, ("patrols",),
               {"id": "Number", "worker": "String", "length_m": "Number",
                "started_at": "Number", "ended_at": "Number"}),
    Collection("places", "场所", 13, 22, ("registry",),
               {"id": "Number", "name": "String", "kind": "String"}),
    Collection("organisations", "组织", 13, 22, ("registry",),
               {"id": "Number", "name": "String", "kind": "String"}),
    Collection("things", "部件", 15, 22, ("registry",),
               {"component_id": "String", "type_code": "String", "name": "String",
                "state": "String"}),
)}
REGION_LEVEL = {"cities": "city", "counties": "county", "townships": "township",
                "villages": "village"}
# Registry collections: the table, the properties its features carry, the feature id (if a
# number: MVT ids are integers) and which of its rows are drawn (those standing: no
# organisation or place closed, no component removed). Never people.
REGISTRY_LAYERS = {
    "places": ("place", "t.id, t.name, t.kind", "id", standing("places")),
    "organisations": ("organisation", "t.id, t.name, t.kind", "id", standing("organisations")),
    "things": ("thing", "t.component_id, t.type_code, t.name, t.state", None,
               standing("things"))}


@dataclass
class TileQuery:
    """What to draw beside the tile itself: the heat's window and category, the incidents'
    status and category, and how many days count as a recent visit."""
    since: str | None = None        # ISO time: incidents reported from then on
    until: str | None = None
    category: str | None = None     # a class and everything under it (code prefix)
    status: str | None = None       # open, overdue, or one state
    visit_days: int = 30


_BOUNDS = """
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_TileEnvelope(:z, :x, :y, margin => {margin}) AS grown
)
""".format(margin=BUFFER / EXTENT)
_MVT_GEOM = f"ST_AsMVTGeom({{geom}}, b.tile, {EXTENT}, {BUFFER}, true)"


def drawn_for(collection: Collection, account: Account) -> tuple:
    """What of ``account`` decides the features and figures of the collection's tiles: accounts
    alike in it are drawn the same tiles (and share them in the cache). Boundaries are drawn
    alike for all; grids and registry layers by the registry's jurisdiction; cases by the
    cases' jurisdiction."""
    if collection.id in REGION_LEVEL:
        return ()
    if collection.id == "grids" or collection.id in REGISTRY_LAYERS:
        return registry_scope_key(account)
    if collection.id == "patrols":
        return patrol_scope_key(account)
    return incident_scope_key(account)


def aggregated(collection: Collection, z: int) -> bool:
    """Whether the tile counts every case under it (heat, and incidents below point zooms)."""
    return collection.id == "heat" or (collection.id == "incidents" and z < POINT_ZOOM)


def tile_sql(collection: Collection, z: int, query: TileQuery,
             account: Account) -> tuple[str, dict] | None:
    """The statement answering one tile of ``collection`` (None: nothing at this zoom)."""
    if not collection.minzoom <= z <= collection.maxzoom:
        return None
    if collection.id in REGION_LEVEL:
        return _regions(collection, z)
    if collection.id == "grids":
        return _grids(z, query, account)
    if collection.id == "patrols":
        return _patrols(query, account)
    if aggregated(collection, z):
        return _bins(collection, query, account)
    if collection.id == "incidents":
        return _incident_points(query, account)
    return _registry(collection, account)


def _mvt(layer: str, rows_sql: str, id_column: str | None = None, ctes: str = "") -> str:
    """The tile of the features ``rows_sql`` yields; ``ctes`` are more common table
    expressions after ``bounds`` (each starting with a comma)."""
    feature_id = f", '{id_column}'" if id_column else ""
    return (f"{_BOUNDS}{ctes} SELECT ST_AsMVT(t, '{layer}', {EXTENT}, 'geom'{feature_id}) "
            f"AS tile FROM ({rows_sql}) t")


def _regions(collection: Collection, z: int) -> tuple[str, dict]:
    column = "geom_3857_simple" if z < SIMPLE_BELOW else "geom_3857"
    rows = f"""
        SELECT r.code, r.name, {_MVT_GEOM.format(geom="r." + column)} AS geom
          FROM region r, bounds b
         WHERE r.level = :level AND r.geom_3857 && b.grown"""
    return _mvt(collection.id, rows), {"level": REGION_LEVEL[collection.id]}


# A grid's backlog now, from its row ``f`` of grid_figures (migrations 0026, 0028): its open
# cases, those red before now (up to a microsecond before it), and those reported in the last
# 30 days. Each moment is worked out once a tile (a scalar subquery), not once a grid: a tenth
# of a tile's statement at zoom 12.
BACKLOG = {
    "open": "coalesce(f.open, 0)",
    "overdue": "coalesce(width_bucket((SELECT now() - interval '1 microsecond'), f.red_from), 0)",
    "recent": ("coalesce(cardinality(f.reported)"
               " - width_bucket((SELECT now() - interval '30 days'), f.reported), 0)"),
}


def _grids(z: int, query: TileQuery, account: Account) -> tuple[str, dict]:
    """Current grids with their backlog (open, overdue, reported in the last 30 days), coverage
    (households and those visited within ``visit_days``, whole days since the last patrol:
    none if never) and workers. Figures are given for the grids within the account's
    jurisdiction only, and count all their cases. At DRAWN_ZOOMS the grids come drawn
    already, with their labels (migrations 0022, 0027, 0038): the tile's own rows are all it reads
    of them. Beyond those zooms they are clipped here. Each grid keeps its workers' names
    (migration 0015) and its figures, backlog and coverage, beside it (migrations 0028, 0036):
    they are read from one row, by a binary search each for the figures that follow the
    clock."""
    scope = Filters(params={"visit_days": query.visit_days})
    if z in DRAWN_ZOOMS:
        registry_scope(account, scope, alias="d", grid_column="grid_id", people=False)
        shown = f"""d.grid_id AS id, d.code, d.name, d.kind, d.workers, {scope.where()} AS counted,
                   d.geom
              FROM grid_version_tile d
             WHERE d.z = :z AND d.x = :x AND d.y = :y"""
    else:
        registry_scope(account, scope, alias="g", grid_column="id", people=False)
        shown = f"""g.id, g.code, g.name, g.kind, g.workers, {scope.where()} AS counted,
                   {_MVT_GEOM.format(geom="gv.geom_3857")} AS geom
              FROM bounds b
              JOIN grid_version gv ON gv.valid_to IS NULL AND gv.geom_3857 && b.grown
              JOIN grid g ON g.id = gv.grid_id"""
    counted = {**BACKLOG, "households": "coalesce(f.households, 0)",
               "visited": households_visited("visit_days"), "patrol_days": DAYS_UNPATROLLED}
    rows = f"""
        SELECT s.id, s.code, s.name, s.kind,
               {", ".join(f"CASE WHEN s.counted THEN {v} END AS {k}" for k, v in counted.items())},
               s.workers, s.geom
          FROM (SELECT {shown}) s
          LEFT JOIN grid_figures f ON s.counted AND f.grid_id = s.id"""
    return _mvt("grids", rows, "id"), scope.params


def _patrols(query: TileQuery, account: Account) -> tuple[str, dict]:
    """The tracks of the patrols the account may read that ended within the query's window
    (all of them without one), with their walker, length, and start and end (seconds since
    1970). Transformed on the fly: a day's tracks in a tile are few."""
    f = patrol_filters(account, query.since, query.until)
    rows = f"""
        SELECT p.id, {WORKER_NAME} AS worker, round(p.length_m) AS length_m,
               floor(extract(epoch FROM p.started_at))::bigint AS started_at,
               floor(extract(epoch FROM p.ended_at))::bigint AS ended_at,
               {_MVT_GEOM.format(geom="ST_Transform(p.track, 3857)")} AS geom
          FROM bounds b
          JOIN patrol p ON p.track && ST_Transform(b.grown, 4326)
          JOIN account a ON a.id = p.account_id
         WHERE {f.where()}"""
    return _mvt("patrols", rows), f.params  # the id a property: the pages' styles read it


def _incident_filters(query: TileQuery, account: Account | None, alias: str = "d") -> Filters:
    """The query's filters on the cases, and the account's jurisdiction unless it is None."""
    f = Filters()
    if account is not None:
        incident_scope(account, f, alias=alias)
    if query.since:
        f.add(f"{alias}.reported_at >= CAST(:since AS timestamptz)", since=query.since)
    if query.until:
        f.add(f"{alias}.reported_at < CAST(:until AS timestamptz)", until=query.until)
    if query.category:
        f.add(under_class(f"{alias}.category_code"), category=query.category)
    if query.status == "open":
        f.add(f"{alias}.status IN {OPEN_SQL}")
    elif query.status == "overdue":
        f.add(f"{alias}.status IN {OPEN_SQL} AND incident_overdue({alias})")
    elif query.status:
        f.add(f"{alias}.status = :status", status=query.status)
    return f


def _incident_points(query: TileQuery, account: Account) -> tuple[str, dict]:
    f = _incident_filters(query, account)
    rows = f"""
        SELECT d.id, d.status, d.category_code AS category,
               incident_colour(d) AS colour,
               CASE WHEN d.urgent_at IS NOT NULL AND d.status IN {OPEN_SQL} THEN true END
                   AS urgent,
               {_MVT_GEOM.format(geom="ST_Transform(d.geom, 3857)")} AS geom
          FROM bounds b
          JOIN incident d ON d.geom && ST_Transform(b.grown, 4326)
         WHERE {f.where()}"""
    return _mvt("incidents", rows, "id"), f.params


# Incidents' cells (migration 0017): Morton numbers of their Web Mercator cells at CELL_ZOOM.
# A tile's cells are one range of numbers, starting with the tile's own number (its column and
# its row counted from the south, interleaved); a bin of it is a cell BIN_BITS (its
# collection's) zooms deeper.
CELL_ZOOM = 28
_TILE_NUMBER = ("(cell_spread(CAST(:x AS bigint)) | "
                "(cell_spread((CAST(1 AS bigint) << :z) - 1 - :y) << 1))")
_CELL_SHIFT = f"(2 * ({CELL_ZOOM} - :z))"


def _bin_place(bits: int) -> tuple[str, str]:
    """SQL for a bin's column and row in its tile (``bits`` a side), from its number there
    (column bits even, row bits odd)."""
    return (" | ".join(f"((n.bin >> {k}) & {1 << k})" for k in range(bits)),
            " | ".join(f"((n.bin >> {k + 1}) & {1 << k})" for k in range(bits)))


# A time's local day as a number (days since 1970-01-01): a case's day of report, so, is what
# the index of cases by day and cell has (migration 0019).
_DAY_NUMBER = "(({} AT TIME ZONE 'Asia/Shanghai')::date - DATE '1970-01-01')"
_REPORT_DAY = _DAY_NUMBER.format("d.reported_at")


def _window_days(query: TileQuery) -> str:
    """The local days from the query's ``since`` to its ``until`` (or on), within the days
    of the first and the last report (each read from the end of an index): an array of day
    numbers."""
    until = "CAST(:until AS timestamptz), " if query.until else ""
    first = _DAY_NUMBER.format(
        "greatest(CAST(:since AS timestamptz), (SELECT min(reported_at) FROM incident))")
    last = _DAY_NUMBER.format(f"least({until}(SELECT max(reported_at) FROM incident))")
    return f"ARRAY(SELECT generate_series({first}, {last}))"


# a case's state in a bin: 0 closed, 1 open, 2 open and overdue (most cases are closed: that
# is asked first)
_STATE = f"CASE WHEN d.status IN {CLOSED_SQL} THEN 0 WHEN incident_overdue(d) THEN 2 ELSE 1 END"


def _bins(collection: Collection, query: TileQuery, account: Account) -> tuple[str, dict]:
    """Square bins of the tile (2 ** BIN_BITS a side) with the incidents in each, counted over
    the range of the tile's cells: every incident in the tile falls in exactly one bin, a point
    on a bin's left or lower edge in that bin. Heat counts the cases; incident bins also their
    open and overdue ones.

    The count reads an index alone (migrations 0017, 0019): the cells of all cases, of the open
    ones, or, for a window of report times, the cells of each day in it. A region account's
    cases are read in two parts, those of the region from the index alone (and only where the
    tile meets the region), and the few beyond it from their own indexes."""
    if account.role in REGION_ROLES and not account.sees_everything:
        f = _incident_filters(query, None)
        region = region_cases(account, f)
        # The region test is written so that no index on the village serves it: a generic plan
        # would otherwise read the whole region's cases by village for every tile.
        parts = [["left(d.village_code, length(:scope_region)) = :scope_region",
                  f"EXISTS (SELECT FROM region r, bounds b WHERE r.code = :scope_region"
                  f" AND ST_Expand(r.geom_3857, {REGION_MARGIN_M}) && b.grown)"],
                 [region.beyond, f"NOT coalesce({region.inside}, false)"]]
    else:
        f = _incident_filters(query, account)
        parts = [[]]
    in_tile = "d.cell >= t.first AND d.cell < t.after"
    if query.since:
        in_tile = f"{_REPORT_DAY} = ANY({_window_days(query)}) AND {in_tile}"
    backlog = collection.id == "incidents"
    bits = BIN_BITS[collection.id]
    column, row = _bin_place(bits)
    state = f", {_STATE} AS state" if backlog else ""
    counts = (", count(*) FILTER (WHERE c.state > 0) AS open,"
              " count(*) FILTER (WHERE c.state = 2) AS overdue") if backlog else ""
    cases = " UNION ALL ".join(
        f"""SELECT d.cell >> t.shift AS number{state}
              FROM tile_cells t JOIN incident d ON {in_tile}
             WHERE {" AND ".join([*part, f.where()])}""" for part in parts)
    ctes = f"""
        , tile_cells AS (  -- worked out once, not for each case
            SELECT n << {_CELL_SHIFT} AS first, (n + 1) << {_CELL_SHIFT} AS after,
                   (2 * ({CELL_ZOOM - bits} - :z)) AS shift, n << {2 * bits} AS base
              FROM (SELECT {_TILE_NUMBER} AS n) tile
        ), counted AS (
            SELECT c.number, count(*) AS count{counts}
              FROM ({cases}
                    OFFSET 0  -- kept apart, so that a case's state is worked out once
                   ) c
             GROUP BY 1
        ), placed AS (
            SELECT n.*, {column} AS i, {row} AS j
              FROM (SELECT c.*, c.number - t.base AS bin FROM counted c, tile_cells t) n
        )"""
    # A bin is drawn straight in the tile's units (y down), its ring turned to the winding of
    # an MVT polygon: what ST_AsMVTGeom gives for a square inside the tile, at a third of the
    # cost on a tile of thousands of bins.
    unit = EXTENT >> bits
    rows = f"""
        SELECT c.count{", c.open, c.overdue" if backlog else ""},
               ST_Reverse(ST_MakeEnvelope(c.i * {unit}, {EXTENT} - (c.j + 1) * {unit},
                                          (c.i + 1) * {unit}, {EXTENT} - c.j * {unit})) AS geom
          FROM placed c"""
    return _mvt(collection.id, rows, ctes=ctes), f.params


def _registry(collection: Collection, account: Account) -> tuple[str, dict]:
    table, properties, feature_id, drawn = REGISTRY_LAYERS[collection.id]
    f = Filters()
    f.add(drawn)
    registry_scope(account, f, alias="t", people=False)
    rows = f"""
        SELECT {properties},
               {_MVT_GEOM.format(geom="ST_Transform(t.geom, 3857)")} AS geom
          FROM bounds b JOIN {table} t ON t.geom && ST_Transform(b.grown, 4326)
         WHERE {f.where()}"""
    return _mvt(collection.id, rows, feature_id), f.params
