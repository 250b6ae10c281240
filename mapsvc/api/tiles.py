"""OGC API – Tiles: Mapbox Vector Tiles of the collections in mapsvc.tiles, their tilesets,
TileJSON and the WebMercatorQuad tile matrix set."""

from datetime import datetime, timedelta
from typing import Annotated, Literal

import morecantile
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from mapsvc.api.auth import SignedIn
from mapsvc.api.deps import statements
from mapsvc.errors import InvalidInput, NotFound
from mapsvc.incidents.model import LOCAL_TIME
from mapsvc.tiles.layers import COLLECTIONS, Collection, TileQuery

router = APIRouter(prefix="/ogc", tags=["tiles"])
TMS_ID = "WebMercatorQuad"
MVT = "application/vnd.mapbox-vector-tile"
WEB_MERCATOR = morecantile.tms.get(TMS_ID)
WINDOWS = {"today": None, "7d": timedelta(days=7), "30d": timedelta(days=30)}


def _collection(name: str) -> Collection:
    found = COLLECTIONS.get(name)
    if found is None:
        raise NotFound(f"no tile collection {name!r}; collections: {', '.join(COLLECTIONS)}",
                       field="collection")
    return found


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/tileMatrixSets/{tms}")
async def tile_matrix_set(tms: str) -> Response:
    if tms != TMS_ID:
        raise NotFound(f"no tile matrix set {tms!r}; only {TMS_ID}", field="tms")
    return Response(WEB_MERCATOR.model_dump_json(exclude_none=True), media_type="application/json")


@router.get("/collections/{name}/tiles/WebMercatorQuad")
async def tileset(request: Request, name: str, account: SignedIn) -> dict:
    """The tileset's description (OGC API – Tiles), with the link template of its tiles."""
    c = _collection(name)
    base = _base(request)
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
    c = _collection(name)
    return {
        "tilejson": "3.0.0", "name": c.id, "description": c.title, "scheme": "xyz",
        "tiles": [f"{_base(request)}/ogc/collections/{name}/tiles/{TMS_ID}/{{z}}/{{x}}/{{y}}"],
        "minzoom": c.minzoom, "maxzoom": c.maxzoom, "bounds": [-180, -85.0511, 180, 85.0511],
        "vector_layers": [{"id": c.id, "fields": c.fields, "minzoom": c.minzoom,
                           "maxzoom": c.maxzoom}],
    }


@router.get("/collections/{name}/tiles/WebMercatorQuad/{z}/{x}/{y}", response_class=Response,
            responses={200: {"content": {MVT: {}}}, 304: {"description": "unchanged"}})
async def tile(
    request: Request,
    account: SignedIn,
    name: str,
    z: Annotated[int, Path(ge=0, le=22)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    window: Annotated[Literal["today", "7d", "30d"] | None, Query(
        description="incidents reported today (local time), in the last 7 or 30 days")] = None,
    since: Annotated[datetime | None, Query(description="reported from (custom window)")] = None,
    until: Annotated[datetime | None, Query(description="reported before")] = None,
    category: Annotated[str | None, Query(max_length=32,
                                          description="a class and those under it")] = None,
    status: Annotated[str | None, Query(max_length=20,
                                        description="open, overdue, or one state")] = None,
    visit_days: Annotated[int, Query(ge=1, le=366, description="grids: a visit this recent "
                                                               "covers a household")] = 30,
) -> Response:
    c = _collection(name)
    for value, field in ((x, "x"), (y, "y")):
        if value >= 2 ** z:
            raise InvalidInput(f"{field}={value} is outside zoom {z} (0 to {2 ** z - 1})",
                               field=field)
    if window is not None:  # to the minute, so that a tile keeps its ETag for a while
        now = datetime.now(LOCAL_TIME).replace(second=0, microsecond=0)
        since = now.replace(hour=0, minute=0) if window == "today" else now - WINDOWS[window]
    query = TileQuery(since=since.isoformat() if since else None,
                      until=until.isoformat() if until else None, category=category,
                      status=status, visit_days=visit_days)
    found = await request.app.state.tiles.tile(lambda: statements(request), c, z, x, y, query,
                                                account,
                                                unless=request.headers.get("if-none-match"))
    headers = {"ETag": found.etag, "Cache-Control": "private, no-cache"}
    if found.body is None:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=MVT, headers=headers)


@router.get("/collections/{name}/tiles")
async def tilesets(request: Request, name: str, account: SignedIn) -> JSONResponse:
    _collection(name)
    return JSONResponse({"tilesets": [{
        "title": COLLECTIONS[name].title, "dataType": "vector", "tileMatrixSetURI":
            "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "links": [{"rel": "self", "type": "application/json",
                   "href": f"{_base(request)}/ogc/collections/{name}/tiles/{TMS_ID}"}]}]})
