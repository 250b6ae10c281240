"""Micro-grids (微网格, 联户) of a grid: divided, named, each with its leader (联户长), an address
put into another; their leaders' roster exported (mapsvc.registry.micro_grids)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from mapsvc.accounts.model import Account
from mapsvc.api.auth import allowed
from mapsvc.api.deps import statements, transaction
from mapsvc.api.registry import VISITORS
from mapsvc.db.spreadsheet import sheet
from mapsvc.numbers import Whole
from mapsvc.registry.micro_grids import (
    ROSTER_HEADINGS,
    change_micro_grid,
    divide,
    export_roster,
    micro_grids,
    place_address,
    roster_cells,
)
from mapsvc.registry.people import EXPORTERS

router = APIRouter(prefix="/registry", tags=["registry"])
Keeper = Annotated[Account, Depends(allowed(VISITORS))]
GridCode = Annotated[str, Path(max_length=64, pattern=r"^[0-9]+$", description="a grid's code")]
MicroCode = Annotated[str, Path(min_length=4, max_length=67, pattern=r"^[0-9]+$",
                                description="a micro-grid's code: its grid's and three digits")]
NOT_FOUND = {404: {"description": "not in your jurisdiction"}}


@router.get("/micro-grids.csv", response_class=StreamingResponse, responses={
    200: {"content": {"text/csv": {}}, "description": "a row per micro-grid, by grid"}})
async def roster(
    request: Request, account: Annotated[Account, Depends(allowed(EXPORTERS))],
    reason: Annotated[str, Query(min_length=2, max_length=500, description="why")],
    region: Annotated[str | None, Query(max_length=12, pattern=r"^[0-9]+$",
                                        description="village, township or county code")] = None,
    grid: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9]+$",
                                      description="grid code")] = None,
) -> StreamingResponse:
    """The micro-grids of your jurisdiction (of the region or grid) with their households,
    people and leaders, masked, as a CSV file for a spreadsheet (联户长名册, Chinese headings);
    the export is written to the audit log, with how many leaders it names, first."""
    async with transaction(request) as conn:
        statement, params = await export_roster(conn, account, reason, region=region,
                                                grid=grid)
    return StreamingResponse(await sheet(ROSTER_HEADINGS, statement, params, roster_cells),
                             media_type="text/csv; charset=utf-8", headers={
                                 "Content-Disposition": 'attachment; filename="micro-grids.csv"'})


@router.get("/grids/{code}/micro-grids", responses=NOT_FOUND)
async def listed(request: Request, code: GridCode, account: Keeper) -> dict:
    """The grid's micro-grids, each with its households, its people, its leader (masked; none
    if it left or moved out: ``leader_gone``) and whether it is over the rule's most
    households (``households_max``, by the village's setting); with the grid's households and
    those in a micro-grid (``placed``)."""
    async with statements(request) as conn:
        return await micro_grids(conn, account, code)


class Division(BaseModel):
    households_max: int | None = Field(None, ge=1, le=200, description=(
        "the most households of a micro-grid; by default the rule's for the village"))
    replace: bool = Field(False, description="true: the grid's micro-grids made again, their "
                                             "leaders with them")


@router.post("/grids/{code}/micro-grids", responses=NOT_FOUND)
async def divided(request: Request, code: GridCode, body: Division, account: Keeper) -> dict:
    """Divide the grid's households into micro-grids by stairwell (a building's entrance; a
    lane or compound where there is no building), each split evenly within the most
    households: those in none yet (an address registered since joins its stairwell's
    smallest), or all afresh (``replace``). Sent again, nothing more is divided. Answers the
    grid's micro-grids."""
    async with transaction(request) as conn:
        return await divide(conn, account, code, **body.model_dump())


class MicroGridChange(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=100,
                             pattern=r"^[^\x00]*\S[^\x00]*$")
    leader: Whole | None = Field(None, description="a person living in it, its leader "
                                                   "(联户长); null: none")


@router.patch("/micro-grids/{code}", responses={
    **NOT_FOUND, 422: {"description": "a leader who does not live in it"}})
async def changed(request: Request, code: MicroCode, body: MicroGridChange,
                  account: Keeper) -> dict:
    """Rename the micro-grid, or name its leader. Answers the grid's micro-grids."""
    changes = body.model_dump(include=body.model_fields_set)  # a leader of null: none
    if changes.get("name", "") is None:  # a name of null: left as it is
        changes.pop("name")
    async with transaction(request) as conn:
        return await change_micro_grid(conn, account, code, changes)


class Placing(BaseModel):
    address: Whole = Field(description="a standard address of the micro-grid's grid")


@router.post("/micro-grids/{code}/addresses", responses=NOT_FOUND)
async def placed(request: Request, code: MicroCode, body: Placing, account: Keeper) -> dict:
    """Put an address of the grid, and so its households, into this micro-grid. Answers the
    grid's micro-grids."""
    async with transaction(request) as conn:
        return await place_address(conn, account, code, body.address)
