"""Organisations and places recorded and corrected from the field (动态采集), each change kept
(mapsvc.registry.collection)."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mapsvc.accounts.model import Account
from mapsvc.api.auth import SignedIn, allowed
from mapsvc.api.deps import statements, transaction
from mapsvc.incidents.model import NO_NUL, Point
from mapsvc.numbers import Whole
from mapsvc.registry.collection import COLLECTORS, change_point, point_changes, record_point

router = APIRouter(prefix="/registry", tags=["registry"])
Collector = Annotated[Account, Depends(allowed(COLLECTORS))]
Layer = Literal["organisations", "places"]
_KIND = ("organisations: enterprise, social_organisation, party_branch, service_station, "
         "school, hospital, agency or other; places: the kind in words (农贸市场, 加油站 …)")
NOT_FOUND = {404: {"description": "not in your jurisdiction"},
             403: {"description": "the point lies outside your jurisdiction"}}


class Recording(BaseModel):
    client_id: UUID = Field(description="chosen by the phone: the same record sent again is "
                                        "answered 200, stored once")
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    kind: str = Field(min_length=1, max_length=50, pattern=NO_NUL, description=_KIND)
    point: Point = Field(description="where it is: the grid it lands in, by the rules of a "
                                     "report, must be yours")


class Correction(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    kind: str | None = Field(None, min_length=1, max_length=50, pattern=NO_NUL,
                             description=_KIND)
    point: Point | None = Field(None, description="where it really is (更正位置)")
    closed: bool | None = Field(None, description="true: closed (注销、停业) today, off the "
                                                  "lists, the map and the counts, its record "
                                                  "kept; false: reopened")


@router.post("/{layer}", status_code=201,
             responses={200: {"description": "sent before"}, **NOT_FOUND})
async def record(request: Request, layer: Layer, body: Recording,
                 account: Collector) -> JSONResponse:
    """Record an organisation (实有单位) or a place (场所) where it is, in your grids (a centre:
    its region); kept with who recorded it."""
    async with transaction(request) as conn:
        shown, made = await record_point(conn, account, layer, client_id=body.client_id,
                                         name=body.name, kind=body.kind, point=body.point)
    return JSONResponse(shown, status_code=201 if made else 200)


@router.patch("/{layer}/{point_id}", responses=NOT_FOUND)
async def correct(request: Request, layer: Layer, point_id: Whole, body: Correction,
                  account: Collector) -> dict:
    """Rename an organisation or place of your jurisdiction, put it in another kind, move it
    to where it really is (within your jurisdiction), close or reopen it; the change is kept,
    before and after."""
    async with transaction(request) as conn:
        return await change_point(conn, account, layer, point_id, name=body.name,
                                  kind=body.kind, point=body.point, closed=body.closed)


@router.get("/{layer}/{point_id}/changes", responses={404: NOT_FOUND[404]})
async def changes(request: Request, layer: Layer, point_id: Whole,
                  account: SignedIn) -> list[dict]:
    """How an organisation or place of your jurisdiction was recorded and changed, oldest
    first: when, by whom, and its name, kind, point and grid before and after."""
    async with statements(request) as conn:
        return await point_changes(conn, account, layer, point_id)
