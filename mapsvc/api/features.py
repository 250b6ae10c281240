"""OGC API – Features: Part 1 (core, GeoJSON) reads of the regions, the grids and the incidents,
and Part 4 (create, replace, update, delete) on a draft plan's grids, so that GDAL reads and
QGIS edits a plan like any other layer.

A plan's grids are the collection ``plan-{id}``; every request is signed in (a bearer token, or
for reads the page's session cookie). Filters on a collection's properties are query
parameters (``?kind=dedicated``); ``properties=code,name`` keeps only those properties.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response

from mapsvc.accounts.model import Account
from mapsvc.api.auth import SignedIn
from mapsvc.api.deps import (
    GEOJSON,
    Page,
    Paging,
    bbox_query,
    public_base,
    statements,
    transaction,
)
from mapsvc.boundaries.plans import (
    PLANNERS,
    add_grid,
    change_grid,
    feature_draft,
    list_plans,
    load_plan,
    plan_grid_feature,
    plan_grids_geojson,
    remove_grid,
)
from mapsvc.boundaries.queries import grids_geojson, regions_geojson
from mapsvc.errors import InvalidInput, NotFound
from mapsvc.incidents.queries import IncidentFilter, incidents_geojson
from mapsvc.tiles.layers import COLLECTIONS as TILE_COLLECTIONS

router = APIRouter(prefix="/ogc", tags=["features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
READ = "GET, HEAD, OPTIONS"


@dataclass(frozen=True)
class Interval:
    start: datetime | None
    end: datetime | None  # exclusive
    instant: bool


def _time(value: str) -> datetime | None:
    if value in ("", ".."):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is no RFC 3339 time", field="datetime") from None
    if t.tzinfo is None:
        raise InvalidInput(f"{value!r} needs a time zone (Z or +08:00)", field="datetime")
    return t


def datetime_query(value: Annotated[str | None, Query(
        alias="datetime", description="an instant, or an interval start/end ('..' open)")] = None,
) -> Interval | None:
    if value is None:
        return None
    if "/" not in value:
        t = _time(value)
        if t is None:
            raise InvalidInput("an instant cannot be open", field="datetime")
        return Interval(t, t + timedelta(microseconds=1), instant=True)
    start, _, end = value.partition("/")
    interval = Interval(_time(start), _time(end), instant=False)
    if interval.start and interval.end and interval.end < interval.start:
        raise InvalidInput("the interval ends before it starts", field="datetime")
    return interval


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    filters: tuple[str, ...]  # properties a query parameter may filter on
    items: Callable  # (conn, account, page, bbox, when, filters, fid) -> FeatureCollection text


def _region_items(level: str):
    async def items(conn, account, page, bbox, when, filters, fid=None):
        return await regions_geojson(conn, level=level, parent=filters.get("parent_code"),
                                     code=fid, bbox=bbox, limit=page.limit, offset=page.offset)
    return items


async def _grid_items(conn, account, page, bbox, when, filters, fid=None):
    if when is not None and not when.instant:
        raise InvalidInput("the grid map answers an instant: the grids in force then",
                           field="datetime")
    return await grids_geojson(conn, parent=filters.get("village_code"), code=fid,
                               kind=filters.get("kind"), bbox=bbox,
                               at=when.start if when else None, limit=page.limit,
                               offset=page.offset)


async def _incident_items(conn, account, page, bbox, when, filters, fid=None):
    if fid is not None and not fid.isdigit():
        raise NotFound(f"no incident {fid}", field="featureId")
    category = filters.get("category")
    where = IncidentFilter(ids=None if fid is None else [int(fid)], bbox=bbox,
                           grid=filters.get("grid"),
                           village=filters.get("village_code"),
                           statuses=(filters["status"],) if filters.get("status") else (),
                           categories=(category,) if category else (),
                           reported_from=when.start if when else None,
                           reported_to=when.end if when else None)
    return await incidents_geojson(conn, where, account, limit=page.limit, offset=page.offset)


COLLECTIONS = {c.id: c for c in (
    Collection("cities", "地级市", "city boundaries", (), _region_items("city")),
    Collection("counties", "区县", "county boundaries", ("parent_code",), _region_items("county")),
    Collection("townships", "乡镇街道", "township boundaries", ("parent_code",),
               _region_items("township")),
    Collection("villages", "村社区", "village and community boundaries", ("parent_code",),
               _region_items("village")),
    Collection("grids", "网格", "the grids in force (datetime: as they were then)",
               ("village_code", "kind"), _grid_items),
    Collection("incidents", "事件", "incidents within the account's jurisdiction "
               "(datetime: when reported)", ("village_code", "grid", "status", "category"),
               _incident_items),
)}
PLAN_PREFIX = "plan-"


def _base(request: Request) -> str:
    return public_base(request) + "/ogc"


def _describe(request: Request, cid: str, title: str, description: str) -> dict:
    base = _base(request)
    links = [{"rel": "self", "type": "application/json", "href": f"{base}/collections/{cid}"},
             {"rel": "items", "type": GEOJSON, "href": f"{base}/collections/{cid}/items"}]
    if cid in TILE_COLLECTIONS:
        links.append({"rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                      "type": "application/json", "href": f"{base}/collections/{cid}/tiles"})
    return {"id": cid, "title": title, "description": description, "itemType": "feature",
            "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"], "links": links}


@router.get("")
async def landing(request: Request) -> dict:
    """The landing page of OGC API – Features: links to the conformance, the collections and
    this description."""
    base = _base(request)
    return {"title": "mapsvc", "description": "民情地图: regions, grids, incidents and plans",
            "links": [
                {"rel": "self", "type": "application/json", "href": base},
                {"rel": "conformance", "type": "application/json", "href": f"{base}/conformance"},
                {"rel": "data", "type": "application/json", "href": f"{base}/collections"},
                {"rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
                 "href": public_base(request) + "/openapi.json"}]}


@router.get("/conformance")
async def conformance() -> dict:
    """The OGC API – Features and Tiles conformance classes the service implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/collections")
async def collections(request: Request, account: SignedIn) -> dict:
    """The collections, with the draft plans the account may edit."""
    found = [_describe(request, c.id, c.title, c.description) for c in COLLECTIONS.values()]
    if account.role in PLANNERS:
        async with statements(request) as conn:
            for plan in await list_plans(conn, account, status="draft"):
                found.append(_describe(request, f"{PLAN_PREFIX}{plan['id']}",
                                       f"规划方案 {plan['name']}",
                                       f"draft grids of villages {', '.join(plan['villages'])}"))
    return {"collections": found,
            "links": [{"rel": "self", "type": "application/json",
                       "href": f"{_base(request)}/collections"}]}


def _plan_id(cid: str) -> int | None:
    if cid.startswith(PLAN_PREFIX) and cid[len(PLAN_PREFIX):].isdigit():
        return int(cid[len(PLAN_PREFIX):])
    return None


def _collection(cid: str) -> Collection:
    if cid not in COLLECTIONS:
        raise NotFound(f"no collection {cid!r}; collections: {', '.join(COLLECTIONS)} and "
                       f"{PLAN_PREFIX}{{plan id}}", field="collectionId")
    return COLLECTIONS[cid]


@router.get("/collections/{cid}")
async def collection(request: Request, cid: str, account: SignedIn) -> dict:
    """One collection (or a plan's grids, ``plan-{id}``) with the links to its items and
    tiles."""
    if (plan_id := _plan_id(cid)) is not None:
        async with statements(request) as conn:
            plan = await load_plan(conn, account, plan_id)
        return _describe(request, cid, f"规划方案 {plan.name}",
                         f"{plan.status} grids of villages {', '.join(plan.villages)}")
    c = _collection(cid)
    return _describe(request, c.id, c.title, c.description)


def _select(body: dict, properties: str | None) -> dict:
    """Keep only the named properties of each feature (a page of them)."""
    if properties:
        keep = {p.strip() for p in properties.split(",")}
        for feature in body["features"]:
            feature["properties"] = {k: v for k, v in feature["properties"].items() if k in keep}
    return body


@router.get("/collections/{cid}/items", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def items(
    request: Request,
    cid: str,
    account: SignedIn,
    page: Page,
    bbox: Annotated[tuple | None, Depends(bbox_query)],
    when: Annotated[Interval | None, Depends(datetime_query)],
    properties: Annotated[str | None, Query(description="the properties to return, "
                                                        "comma-separated")] = None,
) -> Response:
    """A page of the collection's features you may see, as GeoJSON, with a link to the next
    page; a collection's own filters are further query parameters."""
    async with statements(request) as conn:
        if (plan_id := _plan_id(cid)) is not None:
            plan = await load_plan(conn, account, plan_id)
            text = await plan_grids_geojson(conn, plan, bbox=bbox, limit=page.limit,
                                            offset=page.offset)
        else:
            c = _collection(cid)
            filters = {k: v for k, v in request.query_params.items() if k in c.filters}
            text = await c.items(conn, account, page, bbox, when, filters)
    body = _select(json.loads(text), properties)
    base = f"{_base(request)}/collections/{cid}/items"
    query = dict(request.query_params)
    body["links"] = [{"rel": "self", "type": GEOJSON,
                      "href": f"{base}?{urlencode(query)}" if query else base}]
    if body["numberReturned"] == page.limit:
        body["links"].append({"rel": "next", "type": GEOJSON, "href": f"{base}?" + urlencode(
            {**query, "limit": page.limit, "offset": page.offset + page.limit})})
    body["timeStamp"] = datetime.now().astimezone().isoformat(timespec="seconds")
    return Response(json.dumps(body, ensure_ascii=False), media_type=GEOJSON)


@router.get("/collections/{cid}/items/{fid}", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a Feature"}})
async def item(request: Request, cid: str, fid: str, account: SignedIn) -> Response:
    """One feature of the collection, as GeoJSON."""
    async with statements(request) as conn:
        if (plan_id := _plan_id(cid)) is not None:
            plan = await load_plan(conn, account, plan_id)
            feature = await plan_grid_feature(conn, plan, _fid(fid))
        else:
            c = _collection(cid)
            found = json.loads(await c.items(conn, account, Paging(1, 0), None, None, {}, fid))
            if not found["features"]:
                raise NotFound(f"{cid} has no feature {fid}", field="featureId")
            feature = found["features"][0]
    feature["links"] = [{"rel": "self", "type": GEOJSON,
                         "href": f"{_base(request)}/collections/{cid}/items/{fid}"},
                        {"rel": "collection", "type": "application/json",
                         "href": f"{_base(request)}/collections/{cid}"}]
    return Response(json.dumps(feature, ensure_ascii=False), media_type=GEOJSON)


def _fid(fid: str) -> int:
    if not fid.isdigit():
        raise NotFound(f"no feature {fid}", field="featureId")
    return int(fid)


async def _feature_body(request: Request) -> dict:
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("the body must be a GeoJSON Feature", field="body") from None


def _editable_plan(cid: str) -> int:
    plan_id = _plan_id(cid)
    if plan_id is None:
        _collection(cid)
        raise InvalidInput(f"{cid} is read-only: only a draft plan's grids are edited",
                           field="collectionId")
    return plan_id


async def _allowed(request: Request, cid: str, account: Account, one: bool) -> str:
    plan_id = _plan_id(cid)
    if plan_id is None:
        _collection(cid)
        return READ
    async with statements(request) as conn:
        plan = await load_plan(conn, account, plan_id)
    if plan.status != "draft":
        return READ
    return "GET, HEAD, PUT, PATCH, DELETE, OPTIONS" if one else "GET, HEAD, POST, OPTIONS"


@router.options("/collections/{cid}/items", status_code=204)
async def items_options(request: Request, cid: str, account: SignedIn) -> Response:
    """What the collection's items take (Allow): a draft plan's grids are also added to."""
    return Response(status_code=204, headers={"Allow": await _allowed(request, cid, account,
                                                                      one=False)})


@router.options("/collections/{cid}/items/{fid}", status_code=204)
async def item_options(request: Request, cid: str, fid: str, account: SignedIn) -> Response:
    """What the feature takes (Allow): a draft plan's grid is also replaced, changed and taken
    out."""
    return Response(status_code=204, headers={"Allow": await _allowed(request, cid, account,
                                                                      one=True)})


@router.post("/collections/{cid}/items", status_code=201)
async def create_item(request: Request, cid: str, account: SignedIn) -> Response:
    """Add a grid to a draft plan (a GeoJSON Feature: geometry, and optionally code, name,
    kind, village_code, households, population)."""
    plan_id = _editable_plan(cid)
    draft = feature_draft(await _feature_body(request))
    async with transaction(request) as conn:
        plan = await load_plan(conn, account, plan_id, draft=True)
        fid = await add_grid(conn, plan, draft)
    location = f"{_base(request)}/collections/{cid}/items/{fid}"
    return Response(status_code=201, headers={"Location": location})


async def _change(request: Request, cid: str, fid: str, account: Account, *,
                  replace: bool) -> Response:
    plan_id = _editable_plan(cid)
    draft = feature_draft(await _feature_body(request), partial=not replace)
    async with transaction(request) as conn:
        plan = await load_plan(conn, account, plan_id, draft=True)
        await change_grid(conn, plan, _fid(fid), draft, replace=replace)
    return Response(status_code=204)


@router.put("/collections/{cid}/items/{fid}", status_code=204)
async def replace_item(request: Request, cid: str, fid: str, account: SignedIn) -> Response:
    """Replace a draft plan's grid with the Feature (its geometry, and optionally code, name,
    kind, village_code, households, population): what it leaves out goes back to its default,
    but the code, which stays."""
    return await _change(request, cid, fid, account, replace=True)


@router.patch("/collections/{cid}/items/{fid}", status_code=204)
async def update_item(request: Request, cid: str, fid: str, account: SignedIn) -> Response:
    """Change what the Feature gives (JSON merge patch: absent members stay as they are)."""
    return await _change(request, cid, fid, account, replace=False)


@router.delete("/collections/{cid}/items/{fid}", status_code=204)
async def delete_item(request: Request, cid: str, fid: str, account: SignedIn) -> Response:
    """Take a grid out of the draft: a live grid of its code is retired on publish."""
    plan_id = _editable_plan(cid)
    async with transaction(request) as conn:
        plan = await load_plan(conn, account, plan_id, draft=True)
        await remove_grid(conn, plan, _fid(fid))
    return Response(status_code=204)
