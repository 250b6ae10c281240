"""OGC API – Tiles: Mapbox Vector Tiles of the collections in mapsvc.tiles, their tilesets,
TileJSON and the WebMercatorQuad tile matrix set."""

import morecantile
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.routing import Route

from mapsvc.api.auth import SignedIn, bearer, signed_in
from mapsvc.api.deps import public_base
from mapsvc.api.hot import parameters, read
from mapsvc.errors import InvalidInput, NotFound
from mapsvc.incidents.model import ReportTime, Window, window_start
from mapsvc.tiles.layers import COLLECTIONS, Collection, TileQuery

router = APIRouter(prefix="/ogc", tags=["tiles"])
TMS_ID = "WebMercatorQuad"
MVT = "application/vnd.mapbox-vector-tile"
WEB_MERCATOR = morecantile.tms.get(TMS_ID)


def _collection(name: str) -> Collection:
    found = COLLECTIONS.get(name)
    if found is None:
        raise NotFound(f"no tile collection {name!r}; collections: {', '.join(COLLECTIONS)}",
                       field="collection")
    return found


@router.get("/tileMatrixSets/{tms}")
async def tile_matrix_set(tms: str) -> Response:
    """The tile matrix set the tiles are cut on (WebMercatorQuad, OGC 2D Tile Matrix Set)."""
    if tms != TMS_ID:
        raise NotFound(f"no tile matrix set {tms!r}; only {TMS_ID}", field="tms")
    return Response(WEB_MERCATOR.model_dump_json(exclude_none=True), media_type="application/json")


@router.get("/collections/{name}/tiles/WebMercatorQuad")
async def tileset(request: Request, name: str, account: SignedIn) -> dict:
    """The tileset's description (OGC API – Tiles), with the link template of its tiles."""
    c = _collection(name)
    base = public_base(request)
    return {
        "title": c.title, "dataType": "vector", "crs": WEB_MERCATOR.crs.srs,
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "links": [
            {"rel": "self", "href": f"{base}/ogc/collections/{name}/tiles/{TMS_ID}",
             "type": "application/json"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
             "href": f"{base}/ogc/tileMatrixSets/{TMS_ID}", "type": "application/json"},
            {"rel": "item", "templated": True, "type": MVT,
             # z/x/y, as TileJSON and Leaflet count them: column before row
             "href": f"{base}/ogc/collections/{name}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileCol}}/"
                     "{tileRow}"}],
        "tileMatrixSetLimits": [{"tileMatrix": str(z)} for z in range(c.minzoom, c.maxzoom + 1)],
    }


@router.get("/collections/{name}/tiles/WebMercatorQuad/tilejson.json")
async def tilejson(request: Request, name: str, account: SignedIn) -> dict:
    """The tileset as TileJSON 3.0 (for MapLibre, QGIS and the like): its tile template, zooms
    and fields."""
    c = _collection(name)
    return {
        "tilejson": "3.0.0", "name": c.id, "description": c.title, "scheme": "xyz",
        "tiles": [f"{public_base(request)}/ogc/collections/{name}/tiles/{TMS_ID}"
                  "/{z}/{x}/{y}"],
        "minzoom": c.minzoom, "maxzoom": c.maxzoom, "bounds": [-180, -85.0511, 180, 85.0511],
        "vector_layers": [{"id": c.id, "fields": c.fields, "minzoom": c.minzoom,
                           "maxzoom": c.maxzoom}],
    }


class TileParameters(BaseModel):
    """What a tile draws beside its position (query parameters; others are ignored)."""

    window: Window | None = Field(
        None, description="incidents reported (patrols ended) today (local time), in the last "
                          "7 or 30 days")
    since: ReportTime | None = Field(
        None, description="reported (ended) from (custom window; ISO 8601, no zone means China "
                          "Standard Time)")
    until: ReportTime | None = Field(None, description="reported (ended) before")
    category: str | None = Field(None, max_length=32, description="a class and those under it")
    status: str | None = Field(None, max_length=20, description="open, overdue, or one state")
    visit_days: int = Field(30, ge=1, le=366,
                            description="grids: a visit this recent covers a household")

    def query(self) -> TileQuery:
        since = window_start(self.window) if self.window is not None else self.since
        return TileQuery(since=since.isoformat() if since else None,
                         until=self.until.isoformat() if self.until else None,
                         category=self.category, status=self.status, visit_days=self.visit_days)


class TileAddress(BaseModel):
    """Where the tile is (path parameters): z/x/y, as TileJSON and Leaflet count them."""

    name: str = Field(description="the collection")
    z: int = Field(ge=0, le=22, description="zoom (tile matrix)")
    x: int = Field(ge=0, description="column")
    y: int = Field(ge=0, description="row")


async def tile(request: Request) -> Response:
    """A Mapbox Vector Tile of a collection (ETag, 304 to a matching If-None-Match)."""
    account = await signed_in(request, await bearer(request))
    at = read(TileAddress, request.path_params, "path")
    c = _collection(at.name)
    for value, field in ((at.x, "x"), (at.y, "y")):
        if value >= 2 ** at.z:
            raise InvalidInput(f"{field}={value} is outside zoom {at.z} (0 to {2 ** at.z - 1})",
                               field=field)
    query = read(TileParameters, request.query_params, "query").query()
    found = await request.app.state.tiles.tile(c, at.z, at.x, at.y, query, account,
                                                unless=request.headers.get("if-none-match"))
    headers = {"ETag": found.etag, "Cache-Control": "private, no-cache"}
    if found.body is None:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=MVT, headers=headers)


TILE_PATH = "/ogc/collections/{name}/tiles/WebMercatorQuad/{z}/{x}/{y}"
route = Route(TILE_PATH, tile, methods=["GET"])  # a hot path (mapsvc.api.hot)


def document(openapi: dict) -> None:
    """Put the tile route into the API's OpenAPI description."""
    openapi["paths"][TILE_PATH] = {"get": {
        "tags": ["tiles"], "summary": "Tile", "description": tile.__doc__, "operationId": "tile",
        "parameters": parameters(openapi, TileAddress, "path")
                      + parameters(openapi, TileParameters, "query"),
        "security": [{"OAuth2PasswordBearer": []}],
        "responses": {"200": {"description": "the tile", "content": {MVT: {}}},
                      "304": {"description": "unchanged"},
                      "401": {"description": "not signed in"},
                      "404": {"description": "no such collection"},
                      "422": {"description": "a parameter is out of range; the body names it"}}}}


@router.get("/collections/{name}/tiles")
async def tilesets(request: Request, name: str, account: SignedIn) -> JSONResponse:
    """The collection's tilesets (OGC API – Tiles): one, on WebMercatorQuad."""
    _collection(name)
    return JSONResponse({"tilesets": [{
        "title": COLLECTIONS[name].title, "dataType": "vector", "tileMatrixSetURI":
            "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "links": [{"rel": "self", "type": "application/json",
                   "href": f"{public_base(request)}/ogc/collections/{name}/tiles/{TMS_ID}"}]}]})
