"""Campaigns (专项排查): a centre makes one; grid workers check its things; everyone follows it
through the things they may see (mapsvc.registry.campaigns)."""

from datetime import date, datetime
from typing import Annotated, Literal
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, field_validator

from mapsvc.accounts.model import Account
from mapsvc.api.auth import allowed
from mapsvc.api.deps import GEOJSON, Page, statements, transaction
from mapsvc.db.spreadsheet import copied
from mapsvc.incidents.model import LOCAL_TIME, NO_NUL, ReportTime
from mapsvc.numbers import Number
from mapsvc.registry.campaigns import (
    CHECKERS,
    LAYERS,
    MAKERS,
    READERS,
    campaign,
    campaign_grids,
    campaign_log,
    campaign_title,
    campaign_targets,
    campaigns,
    change_campaign,
    kinds,
    make_campaign,
    record_check,
    targets_sheet,
)

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
Layer = Literal[tuple(LAYERS)]
CampaignId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _ahead(due: date) -> date:
    if due < datetime.now(LOCAL_TIME).date():
        raise ValueError("must not be before today")
    return due


Due = Annotated[date, AfterValidator(_ahead), Field(
    description="the day by which all are checked (China Standard Time)")]


class CampaignBody(BaseModel):
    client_id: UUID = Field(description="chosen by the page: the same campaign sent again is "
                                        "answered 200, made once")
    title: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00]*\S[^\x00]*$")
    instructions: str = Field("", max_length=2000, pattern=NO_NUL,
                              description="what to check, said to the workers")
    layer: Layer = Field(description="what is checked: organisations (实有单位), places (重点场所) "
                                     "or things (部件)")
    kind: str = Field(min_length=1, max_length=64, pattern=NO_NUL, description=(
        "an organisation's or a place's kind, or a component's four-digit type"))
    region: str | None = Field(None, max_length=12, pattern=r"^[0-9]+$", description=(
        "the region whose things are checked; by default yours"))
    due: Due


class CampaignChange(BaseModel):
    due: Due | None = Field(None, description="the new due date")
    end: bool = Field(False, validate_default=True, description=(
        "true: the campaign ends; checks done since are not taken (those done before, sent "
        "late, are)"))
    reopen: bool = Field(False, validate_default=True, description=(
        "true, with a new due date: a campaign ended runs again (its end a mistake, or the "
        "hazard back), and every check is taken again"))
    reason: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$",
                        description="why, kept in the campaign's log")

    @field_validator("end")
    @classmethod
    def _one(cls, end: bool, info: ValidationInfo) -> bool:
        if "due" in info.data and end == (info.data["due"] is not None):  # both, or neither
            raise ValueError("give either a new due date or end: true")
        return end

    @field_validator("reopen")
    @classmethod
    def _dated(cls, reopen: bool, info: ValidationInfo) -> bool:
        if reopen and info.data.get("due") is None:
            raise ValueError("a campaign is reopened with a new due date")
        return reopen


class CheckBody(BaseModel):
    client_id: UUID = Field(description="chosen by the phone: the same check sent again is "
                                        "answered 200, recorded once (and its case reported once)")
    target: str = Field(min_length=1, max_length=64, pattern=NO_NUL,
                        description="the thing checked: its id in the campaign")
    result: Literal["normal", "hazard"]
    note: str = Field("", max_length=2000, pattern=NO_NUL)
    category: str | None = Field(None, min_length=1, max_length=64, pattern=NO_NUL,
                                 validate_default=True, description=(
        "a hazard's case's class: a hazard is reported as a case at the thing"))
    at: ReportTime | None = Field(None, description="when it was checked; default now")
    lon: Number | None = Field(None, ge=-180, le=180, allow_inf_nan=False,
                               description="where the phone stood (WGS84)")
    lat: Number | None = Field(None, ge=-90, le=90, allow_inf_nan=False, validate_default=True)

    @field_validator("category")
    @classmethod
    def _classed(cls, category: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("result") == "hazard" and category is None:
            raise ValueError("a hazard is reported as a case, of a class: give its category")
        return category

    @field_validator("lat")
    @classmethod
    def _both(cls, lat: float | None, info: ValidationInfo) -> float | None:
        if "lon" in info.data and (info.data["lon"] is None) != (lat is None):
            raise ValueError("give both lon and lat, or neither")
        return lat


@router.post("", status_code=201, responses={
    200: {"description": "sent before: the campaign made then"},
    404: {"description": "a region outside yours"},
    409: {"description": "the client id names another account's campaign"},
    422: {"description": "nothing of the kind in the region to check"}})
async def make(request: Request, body: CampaignBody,
               account: Annotated[Account, Depends(allowed(MAKERS))]) -> JSONResponse:
    """Make a campaign: every thing of ``kind`` in ``region`` to be checked by ``due``; the
    things are those the registry holds now, each with its grid. Answers it with its
    progress."""
    async with transaction(request) as conn:
        made, created = await make_campaign(conn, account, **body.model_dump())
    return JSONResponse(jsonable_encoder(made), status_code=201 if created else 200)


@router.get("")
async def list_campaigns(request: Request, page: Page,
                         account: Annotated[Account, Depends(allowed(READERS))]) -> list[dict]:
    """The campaigns with things you may see (a worker's: in its grids), those running first
    and the soonest due first, each counting those things: how many, checked, hazards."""
    async with statements(request) as conn:
        return await campaigns(conn, account, limit=page.limit, offset=page.offset)


@router.get("/kinds", responses={404: {"description": "a region outside yours"}})
async def kinds_to_check(
    request: Request, account: Annotated[Account, Depends(allowed(MAKERS))],
    region: Annotated[str | None, Query(max_length=12, pattern=r"^[0-9]+$", description=(
        "a region's code; by default yours"))] = None,
) -> list[dict]:
    """What a campaign of the region could check: each layer's kinds there (``kind`` as a
    campaign takes it, ``name`` as the pages say it), with how many things of each."""
    async with statements(request) as conn:
        return await kinds(conn, account, region)


@router.get("/{campaign_id}", responses={404: {"description": "none you may see"}})
async def one_campaign(request: Request, campaign_id: CampaignId,
                       account: Annotated[Account, Depends(allowed(READERS))]) -> dict:
    """The campaign as the list shows it, counting the things of it you may see: how many,
    how many checked and how many stand as hazards."""
    async with statements(request) as conn:
        return await campaign(conn, account, campaign_id)


@router.patch("/{campaign_id}", responses={
    403: {"description": "a campaign over more than your region"},
    404: {"description": "none you may see"},
    409: {"description": "an ended campaign's date, not reopening it"}})
async def change(request: Request, campaign_id: CampaignId, body: CampaignChange,
                 account: Annotated[Account, Depends(allowed(MAKERS))]) -> dict:
    """Move the campaign's due date, end it before all is checked, or reopen it once ended
    (with a new due date), saying why (kept in its log); a centre over the campaign's whole
    region does. The same change sent again changes nothing more. Answers the campaign as it
    now stands."""
    async with transaction(request) as conn:
        changed, _ = await change_campaign(conn, account, campaign_id, **body.model_dump())
    return changed


@router.get("/{campaign_id}/log", responses={404: {"description": "none you may see"}})
async def log(request: Request, campaign_id: CampaignId,
              account: Annotated[Account, Depends(allowed(READERS))]) -> list[dict]:
    """Each change of the campaign, the first first: ``action`` due (its date moved from
    ``due_before`` to ``due``), end, or reopen (with its new ``due``), when, by whom and
    why."""
    async with statements(request) as conn:
        return await campaign_log(conn, account, campaign_id)


@router.get("/{campaign_id}/grids", responses={404: {"description": "none you may see"}})
async def grids(request: Request, campaign_id: CampaignId,
                account: Annotated[Account, Depends(allowed(READERS))]) -> list[dict]:
    """Each grid of the campaign you may see, with its workers, how many things it holds,
    how many were checked and how many stand as hazards: the least checked first."""
    async with statements(request) as conn:
        return await campaign_grids(conn, account, campaign_id)


@router.get("/{campaign_id}/targets", response_class=Response, responses={
    200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"},
    404: {"description": "none you may see"}})
async def targets(
    request: Request, campaign_id: CampaignId, page: Page,
    account: Annotated[Account, Depends(allowed(READERS))],
    grid: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9]+$",
                                      description="of this grid (its code)")] = None,
    result: Annotated[Literal["none", "normal", "hazard"] | None, Query(
        description="standing so after their last check; none: not yet checked")] = None,
) -> Response:
    """The things of the campaign you may see, the unchecked first, each with its grid and
    its last check (result, when, by whom, the note, the case a hazard was reported as)."""
    async with statements(request) as conn:
        body = await campaign_targets(conn, account, campaign_id, grid=grid, result=result,
                                      limit=page.limit, offset=page.offset)
    return Response(body, media_type=GEOJSON)


@router.get("/{campaign_id}/targets.csv", response_class=StreamingResponse, responses={
    200: {"content": {"text/csv": {}}, "description": "a row per thing, by grid"},
    404: {"description": "none you may see"}})
async def ledger(request: Request, campaign_id: CampaignId,
                 account: Annotated[Account, Depends(allowed(READERS))]) -> StreamingResponse:
    """The campaign's ledger (排查台账) of the things you may see, all of them, as a CSV file
    for a spreadsheet: each with its grid and its last check, in Chinese and local times."""
    async with statements(request) as conn:
        title = await campaign_title(conn, account, campaign_id)
    statement, params = targets_sheet(account, campaign_id)
    named = quote(f"排查台账_{title}.csv")  # RFC 6266: named in Chinese to the browsers that can
    return StreamingResponse(await copied(statement, params),
                             media_type="text/csv; charset=utf-8", headers={
                                 "Content-Disposition": f'attachment; filename="campaign-'
                                 f'{campaign_id}.csv"; filename*=UTF-8\'\'{named}'})


@router.post("/{campaign_id}/checks", status_code=201, response_class=Response, responses={
    201: {"content": {GEOJSON: {}}, "description": "the thing as it stands: a Feature"},
    200: {"content": {GEOJSON: {}}, "description": "sent before: the thing as it stands"},
    404: {"description": "no such thing of the campaign in your grids"},
    409: {"description": "the client id names another check, or the campaign ended before "
                         "the check was done"}})
async def check(request: Request, campaign_id: CampaignId, body: CheckBody,
                account: Annotated[Account, Depends(allowed(CHECKERS))]) -> JSONResponse:
    """Record a check of one of the campaign's things in your grids; a hazard is reported as
    a case of ``category`` at the thing, in the same transaction."""
    async with transaction(request) as conn:
        standing, created = await record_check(conn, account, campaign_id,
                                               **body.model_dump())
    return JSONResponse(jsonable_encoder(standing), status_code=201 if created else 200,
                        media_type=GEOJSON)
