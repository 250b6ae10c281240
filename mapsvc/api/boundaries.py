"""Regions (county, township, village) and grids as GeoJSON, for any signed-in account."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from mapsvc.api.auth import SignedIn
from mapsvc.api.deps import GEOJSON, AtQuery, Page, bbox_query, statements
from mapsvc.boundaries.history import grid_diff, grid_versions
from mapsvc.boundaries.queries import grids_geojson, regions_geojson
from mapsvc.errors import InvalidInput
from mapsvc.incidents.model import ReportTime

router = APIRouter(tags=["boundaries"])


@router.get("/regions", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def regions(
    request: Request,
    page: Page,
    account: SignedIn,
    level: Annotated[Literal["county", "township", "village"] | None, Query()] = None,
    parent: Annotated[str | None, Query(description="the parent region's code")] = None,
    bbox=Depends(bbox_query),
) -> Response:
    async with statements(request) as conn:
        body = await regions_geojson(conn, level=level, parent=parent, bbox=bbox,
                                     limit=page.limit, offset=page.offset)
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


@router.get("/grids/{code}/versions", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def versions(request: Request, code: str, account: SignedIn) -> Response:
    """Every version of a grid, oldest first, with the plan that opened it."""
    async with statements(request) as conn:
        body = await grid_versions(conn, code)
    return Response(body, media_type=GEOJSON)
