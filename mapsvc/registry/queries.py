"""Registry records on the map: standard addresses, components, organisations and places as
GeoJSON, organisations and places as a ledger (台账) for a spreadsheet, and what each grid holds
(the figures grid sizing and the wall screen's coverage layers use)."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import registry_scope
from mapsvc.accounts.model import Account
from mapsvc.db.spreadsheet import copy_statement, text_cell
from mapsvc.errors import InvalidInput, NotFound
from mapsvc.geojson import PRECISION, Filters, feature_collection, page
from mapsvc.registry.addresses import normalise
from mapsvc.registry.collection import CODE_HEADINGS, ORGANISATION_KIND_NAMES, standing
from mapsvc.registry.micro_grids import PLACED

LAYERS = {
    "addresses": ("address", "id", "json_build_object('id', t.id, 'address', t.full_text, "
                  "'households', (SELECT count(*) FROM household h JOIN house ho "
                  "ON ho.id = h.house_id WHERE ho.address_id = t.id)"),
    "things": ("thing", "component_id", "json_build_object('component_id', t.component_id, "
               "'type_code', t.type_code, 'name', t.name, 'state', t.state, "
               "'department', t.department_code"),
    "organisations": ("organisation", "id", "json_build_object('id', t.id, 'name', t.name, "
                      "'kind', t.kind, 'code', t.code, 'grid_name', g.name, "
                      "'closed_on', t.closed_on"),
    "places": ("place", "id", "json_build_object('id', t.id, 'name', t.name, 'kind', t.kind, "
               "'code', t.code, 'grid_name', g.name, 'closed_on', t.closed_on"),
}

NAMED_KINDS = ("organisations", "places")  # the layers whose records have a name and a kind
_LAYER = """
SELECT {sort} AS sort, json_build_object(
    'type', 'Feature', 'id', t.{key}, 'geometry', ST_AsGeoJSON(t.geom, {precision})::json,
    'properties', {properties}, 'grid', g.code, 'method', t.assignment)) AS feature
  FROM {table} t LEFT JOIN grid g ON g.id = t.grid_id
 WHERE {where}
 ORDER BY sort {page}
"""
# Standard addresses (``t``) in the order one walks them: by street, then number, building, floor
# and room, each number by its value (migration 0094).
WALKING_ORDER = "t.full_text COLLATE address_order, t.id"


def place_filters(f: Filters, alias: str, *, grid=None, region=None, bbox=None,
                  near=None) -> None:
    """Where a registry record (``alias``, with geom and village_code; its grid joined as ``g``)
    lies: a grid, a region (village, township or county), a box, or a radius around a point."""
    if grid:
        f.add("g.code = :grid", grid=grid)
    if region:
        f.add(f.code_prefix(f"{alias}.village_code", "region", region))
    f.bbox(f"{alias}.geom", bbox)
    if near:
        lon, lat, radius = near
        f.add(f"ST_DWithin({alias}.geom::geography, ST_SetSRID(ST_MakePoint(:near_lon, "
              ":near_lat), 4326)::geography, :near_m)", near_lon=lon, near_lat=lat, near_m=radius)


async def household_in_reach(conn: AsyncConnection, account: Account, household_id: int) -> None:
    """A household in the account's jurisdiction, or NotFound naming ``household_id``."""
    await _in_reach(conn, account, "household_id", household_id,
                    "household h JOIN house ho ON ho.id = h.house_id "
                    "JOIN address a ON a.id = ho.address_id WHERE h.id = :id")


async def address_in_reach(conn: AsyncConnection, account: Account, address_id: int) -> None:
    """A standard address in the account's jurisdiction, or NotFound naming ``address_id``."""
    await _in_reach(conn, account, "address_id", address_id, "address a WHERE a.id = :id")


async def _in_reach(conn: AsyncConnection, account: Account, field: str, key: int,
                    found_in: str) -> None:
    f = Filters(params={"id": key})
    registry_scope(account, f, alias="a")
    if (await conn.execute(text(f"SELECT 1 FROM {found_in} AND {f.where()}"),
                           f.params)).first() is None:
        raise NotFound(f"no {field.removesuffix('_id')} {key}", field=field)


async def layer_geojson(conn: AsyncConnection, layer: str, account: Account, *,
                        limit: int = 100, offset: int = 0, walking: bool = False,
                        **which) -> str:
    """The records of ``layer`` in the account's jurisdiction ``which`` picks (_picked), where
    they lie, by their key; addresses ``walking``: in the order one walks them."""
    table, key, properties = LAYERS[layer]
    f = _picked(layer, account, **which)
    sort = (f"row_number() OVER (ORDER BY {WALKING_ORDER})" if walking and layer == "addresses"
            else f"t.{key}")
    sql = feature_collection(_LAYER.format(key=key, table=table, properties=properties,
                                           precision=PRECISION, where=f.where(), sort=sort,
                                           page=page(limit, offset)))
    return (await conn.execute(text(sql), f.params)).scalar_one()


# The ledger (台账) of organisations or places: a row per one, by grid, as a spreadsheet shows it.
_SHEET = """
SELECT t.id AS "编号", {name} AS "名称", {kind} AS "类别", {code} AS "{code_heading}",
       {grid} AS "网格",
       g.code AS "网格编码", round(ST_X(t.geom)::numeric, 6) AS "经度",
       round(ST_Y(t.geom)::numeric, 6) AS "纬度",
       CASE WHEN t.closed_on IS NULL THEN '在业'
            ELSE to_char(t.closed_on, 'YYYY-MM-DD') || ' 注销或停业' END AS "状态"
  FROM {table} t LEFT JOIN grid g ON g.id = t.grid_id
 WHERE {where}
 ORDER BY g.code NULLS LAST, t.name, t.id
"""
# an organisation's kind as the pages name it (a place's is the words it was given)
_ORGANISATION_KIND = "CASE t.kind {} ELSE t.kind END".format(" ".join(
    f"WHEN '{kind}' THEN '{name}'" for kind, name in ORGANISATION_KIND_NAMES.items()))


def layer_sheet(layer: str, account: Account, **which) -> tuple[str, dict]:
    """The COPY statement writing the ledger of the organisations or places of the account's
    jurisdiction ``which`` picks (_picked), in psycopg's parameter style; and its parameters."""
    f = _picked(layer, account, **which)
    kind = _ORGANISATION_KIND if layer == "organisations" else text_cell("t.kind")
    return copy_statement(_SHEET.format(
        name=text_cell("t.name"), kind=kind, code=text_cell("t.code"),
        code_heading=CODE_HEADINGS[layer],
        grid=text_cell("coalesce(g.name, '未落入网格')"), table=LAYERS[layer][0],
        where=f.where()), f.params)


def _picked(layer: str, account: Account, *, grid: str | None = None,
            region: str | None = None, bbox=None, near: tuple[float, float, float] | None = None,
            words: str | None = None, kind: str | None = None, closed: bool = False) -> Filters:
    """Which records of ``layer`` in the account's jurisdiction: of a grid or region, in a
    box or near a point; addresses whose text holds ``words`` (as the registry writes an
    address), organisations and places whose name or code does, of ``kind``; of these, those
    open, or ``closed`` instead."""
    if words and layer == "things":
        raise InvalidInput("components are not found by their words", field="q")
    if kind and layer not in NAMED_KINDS:
        raise InvalidInput("only organisations and places are of a kind", field="kind")
    if closed and layer not in NAMED_KINDS:
        raise InvalidInput("only organisations and places are closed", field="closed")
    f = Filters()
    if layer in NAMED_KINDS:
        f.add(f"NOT {standing(layer)}" if closed else standing(layer))
    registry_scope(account, f, alias="t", people=False)
    place_filters(f, "t", grid=grid, region=region, bbox=bbox, near=near)
    if words and layer in NAMED_KINDS and words.strip():
        f.holds(("t.name", "t.code"), words.strip())
    elif words and (words := normalise(words)):  # as the registry writes it: 三号楼 as 3栋
        f.holds(("t.full_text",), words)
    if kind:
        f.add("t.kind = :kind", kind=kind)
    return f


def households_visited(days: str) -> str:
    """SQL: how many of a grid's households were visited in the last ``days`` (the name of a
    bound parameter), from its row ``f`` of grid_figures (migrations 0016, 0028, 0030); 0 for
    a grid without one. The moment counted from is worked out once a statement (a scalar
    subquery), not once a grid."""
    return ("coalesce(coverage_visited(f.last_visits, "
            f"(SELECT visit_second(now() - make_interval(days => :{days})))), 0)")


_GRID_COUNTS = """
SELECT g.code AS grid, g.name,
       (SELECT count(*) FROM address a WHERE a.grid_id = g.id) AS addresses,
       coalesce(f.households, 0) AS households,
       (SELECT count(*) FROM person p JOIN household h ON h.id = p.household_id
          JOIN house ho ON ho.id = h.house_id JOIN address a ON a.id = ho.address_id
         WHERE a.grid_id = g.id AND p.left_on IS NULL) AS people,
       (SELECT count(*) FROM organisation o WHERE o.grid_id = g.id AND {organisations})
           AS organisations,
       (SELECT count(*) FROM thing t WHERE t.grid_id = g.id AND {things}) AS things,
       (SELECT count(*) FROM place pl WHERE pl.grid_id = g.id AND {places}) AS places,
       {visited} AS visited,
       (SELECT count(*) FROM micro_grid m WHERE m.grid_id = g.id) AS micro_grids,
       (SELECT count(*) FROM address a JOIN house ho ON ho.address_id = a.id
          JOIN household h ON h.house_id = ho.id
         WHERE a.grid_id = g.id AND {placed}) AS placed
  FROM grid g LEFT JOIN grid_figures f ON f.grid_id = g.id
 WHERE {{where}}
 ORDER BY g.code {{page}}
""".format(visited=households_visited("days"), placed=PLACED,
           organisations=standing("organisations", "o"), things=standing("things"),
           places=standing("places", "pl"))


async def grid_counts(conn: AsyncConnection, account: Account, *, parent: str | None = None,
                      days: int = 30, limit: int = 100, offset: int = 0) -> list[dict]:
    """Per grid: registry counts, the share of households visited in the last ``days``, and
    its micro-grids with the households in them (``placed``)."""
    f = Filters(params={"days": days})
    registry_scope(account, f, alias="g", grid_column="id", people=False)
    if parent:
        f.add(f.code_prefix("g.village_code", "parent", parent))
    rows = (await conn.execute(text(_GRID_COUNTS.format(where=f.where(), page=page(limit, offset))),
                               f.params)).mappings()
    return [{**r, "visited_share": round(r["visited"] / r["households"], 4)
             if r["households"] else None} for r in rows]
