"""Patrols (日常巡查): grid workers send the tracks they walked; they, their chiefs and the
command centres over their grids read them."""

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from mapsvc.accounts.model import Account, Role
from mapsvc.api.auth import allowed
from mapsvc.api.deps import GEOJSON, Page, bbox_query, statements, transaction
from mapsvc.incidents.model import ReportTime, window_start
from mapsvc.numbers import Number
from mapsvc.registry.patrols import (
    PATROLLERS,
    patrol_coverage,
    patrols_geojson,
    record_patrol,
)

router = APIRouter(prefix="/patrols", tags=["patrols"])
READERS = PATROLLERS | {Role.command, Role.admin}
MAX_POINTS = 20_000  # a position every 5 s for a day's patrol and more
LONGEST = timedelta(hours=24)

Lon = Annotated[Number, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[Number, Field(ge=-90, le=90, allow_inf_nan=False)]


class PatrolBody(BaseModel):
    client_id: UUID = Field(description="chosen by the phone: the same patrol sent again is "
                                        "answered 200, stored once")
    started_at: ReportTime
    ended_at: ReportTime = Field(description=(
        "after started_at, within 24 hours of it; one ahead of now (a phone's clock running "
        "ahead) is taken as the time the patrol came, and its start as long before"))
    points: list[tuple[Lon, Lat]] = Field(
        min_length=2, max_length=MAX_POINTS,
        description="the positions walked, in order: [longitude, latitude] in WGS84")
    note: str = Field("", max_length=2000)

    @field_validator("ended_at")
    @classmethod
    def _after_start(cls, ended_at: datetime, info: ValidationInfo) -> datetime:
        started_at = info.data.get("started_at")
        if started_at is not None and ended_at < started_at:
            raise ValueError("must not be before started_at")
        if started_at is not None and ended_at - started_at > LONGEST:
            raise ValueError("a patrol lasts at most 24 hours")
        return ended_at


@router.post("", status_code=201, response_class=Response, responses={
    201: {"content": {GEOJSON: {}}, "description": "the patrol stored: a GeoJSON Feature"},
    200: {"content": {GEOJSON: {}}, "description": "sent before: the patrol stored then"},
    409: {"description": "the client id names another account's patrol"}})
async def send_patrol(request: Request, body: PatrolBody,
                      account: Annotated[Account, Depends(allowed(PATROLLERS))]) -> JSONResponse:
    """Store a patrol you walked: its track, its length and the grids it passed through (a
    GeoJSON Feature)."""
    async with transaction(request) as conn:
        walked, created = await record_patrol(
            conn, account, client_id=body.client_id, started_at=body.started_at,
            ended_at=body.ended_at, points=body.points, note=body.note)
    return JSONResponse(jsonable_encoder(walked), status_code=201 if created else 200,
                        media_type=GEOJSON)


@router.get("", response_class=Response, responses={
    200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def list_patrols(
    request: Request, page: Page,
    account: Annotated[Account, Depends(allowed(READERS))],
    since: Annotated[ReportTime | None, Query(alias="from", description="ended from")] = None,
    until: Annotated[ReportTime | None, Query(alias="to", description="ended before")] = None,
    window: Annotated[Literal["today"] | None, Query(description=(
        "ended today, China Standard Time (in place of from): today as the service knows it, "
        "whatever the asking computer's clock says"))] = None,
    received_since: Annotated[ReportTime | None, Query(alias="received_from", description=(
        "came to the service from (a phone long without signal sends a patrol hours after it "
        "ended)"))] = None,
    grid: Annotated[str | None, Query(max_length=64,
                                      description="passed through this grid (its code)")] = None,
    region: Annotated[str | None, Query(min_length=1, max_length=32, description=(
        "passed through a grid of this region (a city's, county's, township's or village's "
        "code)"))] = None,
    bbox=Depends(bbox_query),
) -> Response:
    """The patrols you may read, the latest first: yours (grid workers), those through your
    grids (grid chiefs), those through your region's grids (command centres); of those, the
    ones that ended in [from, to) (or today), came from ``received_from``, passed through a
    grid or a region, or whose track meets a box."""
    if window == "today":
        since = window_start(window)
    async with statements(request) as conn:
        body = await patrols_geojson(conn, account, since=since, until=until,
                                     received_since=received_since, grid=grid, region=region,
                                     bbox=bbox, limit=page.limit, offset=page.offset)
    return Response(body, media_type=GEOJSON)


@router.get("/coverage", responses={404: {"description": "a region outside yours"}})
async def coverage(
    request: Request, account: Annotated[Account, Depends(allowed(READERS))],
    days: Annotated[int, Query(ge=1, le=366, description="patrolled in the last N days")] = 7,
    region: Annotated[str | None, Query(max_length=12, pattern=r"^[0-9]+$", description=(
        "a county's, township's or village's code; by default all your grids"))] = None,
) -> dict:
    """How many of your grids (or a region's) no patrol passed through in the last ``days``,
    and the longest unpatrolled of them, with when each was last patrolled."""
    since = datetime.now(timezone.utc) - timedelta(days=days)
    async with statements(request) as conn:
        return await patrol_coverage(conn, account, since, region)
