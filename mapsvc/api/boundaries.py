"""Regions (city, county, township, village) and grids as GeoJSON, for any signed-in account; the
grids in force against the sizing rules, for planners."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from mapsvc.accounts.model import Account
from mapsvc.api.auth import SignedIn, allowed
from mapsvc.api.deps import GEOJSON, AtQuery, Page, bbox_query, statements
from mapsvc.boundaries.history import grid_diff, grid_versions
from mapsvc.boundaries.plans import PLANNERS
from mapsvc.boundaries.queries import grids_geojson, regions_geojson
from mapsvc.boundaries.reading import RegionLevel
from mapsvc.boundaries.sizing import grid_sizing
from mapsvc.errors import InvalidInput
from mapsvc.incidents.model import ReportTime

router = APIRouter(tags=["boundaries"])


@router.get("/regions", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def regions(
    request: Request,
    page: Page,
    account: SignedIn,
    level: Annotated[RegionLevel | None, Query(description="of one level alone")] = None,
    parent: Annotated[str | None, Query(description="the parent region's code")] = None,
    top: Annotated[bool, Query(description="the deployment's top regions alone: its cities and "
                                           "its counties of no city")] = False,
    code: Annotated[str | None, Query(description="one region, by its code")] = None,
    bbox=Depends(bbox_query),
) -> Response:
    """The regions (cities, counties, townships, villages) with their codes, names, parents and
    outlines."""
    async with statements(request) as conn:
        body = await regions_geojson(conn, level=level, parent=parent, top=top, code=code,
                                     bbox=bbox, limit=page.limit, offset=page.offset)
    return Response(body, media_type=GEOJSON)


@router.get("/grids", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def grids(
    request: Request,
    page: Page,
    account: SignedIn,
    parent: Annotated[str | None, Query(
        description="a village, township or county code: the grids under it")] = None,
    bbox=Depends(bbox_query),
    at: AtQuery = None,
    mine: Annotated[bool, Query(description="only the grids I work in")] = False,
) -> Response:
    """The grids in force (or in force at ``at``) with their codes, names, kinds, villages,
    households and outlines."""
    async with statements(request) as conn:
        body = await grids_geojson(conn, parent=parent, bbox=bbox, at=at,
                                   ids=list(account.grid_ids) if mine else None,
                                   limit=page.limit, offset=page.offset)
    return Response(body, media_type=GEOJSON)


@router.get("/grids/diff", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def grids_diff(
    request: Request,
    account: SignedIn,
    before: Annotated[ReportTime, Query(alias="from", description="the earlier time")],
    after: Annotated[ReportTime, Query(alias="to", description="the later time")],
    parent: Annotated[str | None, Query(description="a village, township or county code")] = None,
) -> Response:
    """The grids added, retired or reshaped between two times."""
    if after < before:
        raise InvalidInput("must not be earlier than from", field="to")
    async with statements(request) as conn:
        body = await grid_diff(conn, before, after, parent=parent)
    return Response(body, media_type=GEOJSON)


@router.get("/grids/sizing", responses={404: {"description": "no region of that code"}})
async def sizing(
    request: Request,
    account: Annotated[Account, Depends(allowed(PLANNERS))],
    parent: Annotated[str | None, Query(max_length=15, description=(
        "a county, township or village code (default: your region)"))] = None,
) -> dict:
    """Where grids need redrawing: the grids in force under ``parent`` against the sizing rules
    (``MAPSVC_PLANS_SIZING``), households and people counted from the registry. ``totals`` and
    each child region of ``parent`` (``parts``) count the grids ``over`` a maximum, ``under`` a
    minimum, ``ok``, of a kind and setting with ``no_rule``, and of villages with
    ``no_registry`` loaded; ``grids`` lists a village's every grid, or above a village the
    grids over a maximum, the most over first (at most 50)."""
    async with statements(request) as conn:
        return await grid_sizing(conn, account, parent)


@router.get("/grids/{code}/versions", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def versions(request: Request, code: str, account: SignedIn) -> Response:
    """Every version of a grid, oldest first, with the plan that opened it."""
    async with statements(request) as conn:
        body = await grid_versions(conn, code)
    return Response(body, media_type=GEOJSON)
