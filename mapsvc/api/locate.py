"""Which grid holds a point."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from mapsvc.api.auth import SignedIn
from mapsvc.api.deps import AtQuery, statements
from mapsvc.incidents.assignment import locate as locate_point
from mapsvc.incidents.model import Location, Point

router = APIRouter(tags=["incidents"])


@router.get("/locate", response_model=Location)
async def locate(
    request: Request,
    account: SignedIn,
    point: Annotated[Point, Query()],
    at: AtQuery = None,
) -> Location:
    async with statements(request) as conn:
        return await locate_point(conn, point, at)
