"""The registry: people (masked unless revealed, with an audit row; corrected as found, audited;
leaving when they move away or die) and the audit log."""

import io
from dataclasses import asdict
from typing import Annotated, Literal
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from mapsvc.accounts.model import AUDIT_READERS, IMPORTERS, Account, Role
from mapsvc.api.auth import SignedIn, allowed
from mapsvc.api.deps import (
    GEOJSON,
    During,
    Page,
    bbox_query,
    near_query,
    read_upload,
    statements,
    transaction,
)
from mapsvc.db.spreadsheet import BOM, copied, sheet
from mapsvc.geo.crs import CRS
from mapsvc.incidents.model import NO_NUL, ReportDay, ReportTime
from mapsvc.numbers import Number, Whole
from mapsvc.registry.audit import ACTIONS, audit_by_account, audit_entries, audit_sheet
from mapsvc.registry.importer import (KIND_NAMES, Importer, import_registry, read_registry,
                                     template)
from mapsvc.registry.imports import imports_seen
from mapsvc.registry.people import (
    EXPORTERS,
    MOBILE_NUMBER,
    REGISTRATIONS,
    RELATIONS,
    REVEALERS,
    SEXES,
    SHEET_HEADINGS,
    Departure,
    correct_person,
    export_people,
    list_households,
    list_people,
    move_person,
    read_person,
    record_departure,
    register_person,
    reveal,
    sheet_cells,
    withdraw_departure,
)
from mapsvc.registry.people import Field as PersonField
from mapsvc.registry.queries import grid_counts, layer_geojson, layer_sheet
from mapsvc.registry.visits import record_visit

router = APIRouter(tags=["registry"])
ID_NUMBER_PATTERN = r"^\s*\d{17}[\dXx]\s*$"  # a resident ID number as typed
CareTag = Annotated[str, Field(min_length=1, max_length=32, pattern=NO_NUL)]
VISITORS = frozenset({Role.grid_worker, Role.grid_chief, Role.command, Role.admin})


async def place_query(
    grid: Annotated[str | None, Query(description="grid code")] = None,
    region: Annotated[str | None, Query(description="village, township or county code")] = None,
    bbox=Depends(bbox_query),
    near=Depends(near_query),
) -> dict:
    """Where the registry's records asked for lie."""
    return {"grid": grid, "region": region, "bbox": bbox, "near": near}


PlaceQuery = Annotated[dict, Depends(place_query)]


async def people_query(
    place: PlaceQuery,
    care_tag: Annotated[str | None, Query(description="e.g. 独居老人")] = None,
    left: Annotated[bool, Query(description="those who moved away or died, until erased, "
                                            "instead of those who live there")] = False,
    micro_grid: Annotated[str | None, Query(min_length=4, max_length=67, pattern=r"^[0-9]+$",
                                            description="those of this micro-grid (微网格: its "
                                                        "code)")] = None,
    id_number: Annotated[str | None, Query(pattern=ID_NUMBER_PATTERN,
                                           description="the one with this resident ID number "
                                                       "(a lookup, with `reason`)")] = None,
    mobile: Annotated[str | None, Query(pattern=f"^{MOBILE_NUMBER}$",
                                        description="those with this mobile (a lookup, with "
                                                    "`reason`)")] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"\S",
                                      description="those of this full name (a lookup, with "
                                                  "`reason`)")] = None,
) -> dict:
    """Where the people asked for live (or lived), which care tag they carry, and who they are
    when looked up by an ID number, a mobile or a name."""
    return {**place, "care_tag": care_tag, "left": left, "micro_grid": micro_grid,
            "id_number": id_number, "mobile": mobile, "name": name}


PeopleQuery = Annotated[dict, Depends(people_query)]


@router.get("/registry/people")
async def people(
    request: Request, account: SignedIn, query: PeopleQuery, page: Page,
    reason: Annotated[str | None, Query(max_length=500, description="why a person is looked "
                                                                    "up (查找人员)")] = None,
) -> list[dict]:
    """People in your jurisdiction, with name, ID number and mobile masked. Looked up by an ID
    number, a mobile or a full name (one at a time), for a stated `reason`: each person shown
    (or that no one was found) is written to the audit log."""
    async with statements(request) as conn:
        return await list_people(conn, account, limit=page.limit, offset=page.offset,
                                 reason=reason, **query)


@router.get("/registry/households")
async def households(
    request: Request, account: SignedIn, place: PlaceQuery, page: Page,
    address: Annotated[Whole | None, Query(description="those at this standard address")] = None,
) -> list[dict]:
    """Households in your jurisdiction with the people living in them (names masked), also
    those whose people have all left: the phone's list at a door."""
    async with statements(request) as conn:
        return await list_households(conn, account, address=address, limit=page.limit,
                                     offset=page.offset, **place)


@router.get("/registry/people.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}},
                             "description": "the register: a row per person, masked"}})
async def people_csv(
    request: Request,
    account: Annotated[Account, Depends(allowed(EXPORTERS))],
    reason: Annotated[str, Query(min_length=2, max_length=500, description="why")],
    query: PeopleQuery,
) -> StreamingResponse:
    """All people of your query, masked, as a CSV file for a spreadsheet (Chinese headings and
    names); the export is written to the audit log, with how many people it holds, first."""
    async with transaction(request) as conn:
        statement, params = await export_people(conn, account, reason, **query)
    return StreamingResponse(await sheet(SHEET_HEADINGS, statement, params, sheet_cells),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="people.csv"'})


@router.get("/registry/people/{person_id}", responses={404: {"description": "not in your scope"}})
async def person(request: Request, person_id: int, account: SignedIn) -> dict:
    """The person, masked as the register lists them (name, ID number and mobile shown in part),
    with their household, address and grid; and, if they left, when and why."""
    async with statements(request) as conn:
        return await read_person(conn, account, person_id)


class PersonRegistration(BaseModel):
    household_id: Whole | None = Field(None, description="the household they join")
    address_id: Whole | None = Field(None, description="else the standard address where they "
                                                       "are the first of a new household")
    client_id: UUID = Field(description="chosen by the phone: the same registration sent "
                                        "again is answered 200, stored once")
    name: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    registration: Literal[REGISTRATIONS] = Field(description="resident (户籍), floating (流动) "
                                                             "or overseas (境外)")
    relation: Literal[RELATIONS] = Field("lodger", description="to the household's house")
    id_number: str | None = Field(None, pattern=ID_NUMBER_PATTERN,
                                  description="resident ID number (GB 11643), check digit "
                                              "checked; stored encrypted")
    mobile: str | None = Field(None, pattern=f"^{MOBILE_NUMBER}$",
                               description="stored encrypted")
    birth_date: ReportDay | None = Field(None, description="never ahead of today")
    sex: Literal[SEXES] | None = None
    care_tags: list[CareTag] = Field([], max_length=10, description="e.g. 独居老人")


@router.post("/registry/people", status_code=201,
             responses={200: {"description": "sent before"},
                        404: {"description": "no such household or address within the "
                                             "account's scope"},
                        409: {"description": "the ID number is registered already, or the "
                                             "client id is another account's"}})
async def register(request: Request, body: PersonRegistration,
                   account: Annotated[Account, Depends(allowed(VISITORS))]) -> JSONResponse:
    """Register a newcomer (流动人口登记) to a household, or as the first of a new household
    (新立户) at a standard address, living in its house from today; the answer shows them
    masked, as every read does."""
    async with transaction(request) as conn:
        person, created = await register_person(conn, account, **body.model_dump())
    return JSONResponse(person, status_code=201 if created else 200)


class RevealRequest(BaseModel):
    field: PersonField
    reason: str = Field(min_length=2, max_length=500, description="why the full value is needed")


@router.post("/registry/people/{person_id}/reveal")
async def reveal_field(request: Request, person_id: int, body: RevealRequest,
                       account: Annotated[Account, Depends(allowed(REVEALERS))]) -> dict:
    """One field in full; the reveal is written to the audit log with your reason."""
    async with transaction(request) as conn:
        value = await reveal(conn, account, person_id, body.field, body.reason)
    return {"id": person_id, "field": body.field, "value": value}


class MoveRequest(BaseModel):
    household_id: Whole | None = Field(None, description="the household they join")
    address_id: Whole | None = Field(None, description="else the standard address where they "
                                                       "are the first of a new household")
    relation: Literal[RELATIONS] = Field("lodger", description="to the new household's house")
    on: ReportDay | None = Field(None, description="the day they moved (ISO 8601); default: "
                                                   "today in China; never ahead of it")


@router.post("/registry/people/{person_id}/move",
             responses={200: {"description": "moved, or moved there before"},
                        404: {"description": "no such person, household or address within "
                                             "the account's scope"},
                        409: {"description": "the person has left"}})
async def move(request: Request, person_id: int, body: MoveRequest,
               account: Annotated[Account, Depends(allowed(VISITORS))]) -> dict:
    """A person moves within your jurisdiction (辖区内迁居), keeping their number, to another
    household or as the first of a new one at a standard address: their ties to houses end
    that day and one to the new house begins. Sent again, it changes nothing."""
    async with transaction(request) as conn:
        return await move_person(conn, account, person_id, **body.model_dump())


class PersonCorrection(BaseModel):
    """The details found to be otherwise: only those given change."""
    name: str | None = Field(None, min_length=1, max_length=64, pattern=NO_NUL)
    id_number: str | None = Field(None, pattern=ID_NUMBER_PATTERN,
                                  description="resident ID number (GB 11643), check digit "
                                              "checked; null clears it; stored encrypted")
    mobile: str | None = Field(None, pattern=f"^{MOBILE_NUMBER}$",
                               description="null clears it; stored encrypted")
    birth_date: ReportDay | None = Field(None, description="never ahead of today; null clears "
                                                           "it")
    sex: Literal[SEXES] | None = None
    registration: Literal[REGISTRATIONS] | None = Field(
        None, description="resident (户籍), floating (流动) or overseas (境外)")
    care_tags: list[CareTag] | None = Field(
        None, max_length=10, description="all the person's tags, e.g. [\"独居老人\"]; [] clears "
                                         "them")
    reason: str = Field(min_length=2, max_length=500,
                        description="why, e.g. 入户核实, for the audit log")


@router.patch("/registry/people/{person_id}",
              responses={404: {"description": "no such person within the account's scope"},
                         409: {"description": "the person has left, or the ID number is "
                                              "registered to another"}})
async def correct(request: Request, person_id: int, body: PersonCorrection,
                  account: Annotated[Account, Depends(allowed(VISITORS))]) -> dict:
    """A person's details corrected as found (信息更正): each field given that differs from
    what is held is changed and written to the audit log, with the reason. Sent again, it
    changes nothing. The answer shows the person masked, as every read does."""
    details = body.model_dump(include=body.model_fields_set - {"reason"})
    async with transaction(request) as conn:
        return await correct_person(conn, account, person_id, details, body.reason)


class DepartureRequest(BaseModel):
    reason: Departure = Field(description="moved_away (迁出) or deceased (死亡)")
    on: ReportDay | None = Field(None, description="the day they left (ISO 8601); default: "
                                                   "today in China; never ahead of it")
    note: str = Field("", max_length=500, description="e.g. where to, for the audit log")


@router.post("/registry/people/{person_id}/departure",
             responses={404: {"description": "no such person within the account's scope"},
                        409: {"description": "recorded before as leaving otherwise"}})
async def departure(request: Request, person_id: int, body: DepartureRequest,
                    account: Annotated[Account, Depends(allowed(VISITORS))]) -> dict:
    """A person moved away or died: they leave the lists and counts, their ties to houses end
    that day, the record goes to the audit log, and they are erased once the privacy settings'
    days after it are over (`erased_after`). The same departure sent again answers as the first
    did (200, changing nothing)."""
    async with transaction(request) as conn:
        return await record_departure(conn, account, person_id, body.reason, body.on, body.note)


@router.delete("/registry/people/{person_id}/departure", status_code=204,
               responses={404: {"description": "no such person within the account's scope"},
                          409: {"description": "registered anew since"}})
async def departure_withdrawn(
    request: Request, person_id: int,
    account: Annotated[Account, Depends(allowed(VISITORS))],
    reason: Annotated[str, Query(min_length=2, max_length=500,
                                 description="why, for the audit log")],
) -> None:
    """A departure recorded by mistake, taken back: the person is in the lists and counts
    again, with the ties to houses it ended. Audited; sent again, it changes nothing."""
    async with transaction(request) as conn:
        await withdraw_departure(conn, account, person_id, reason)


RegistryKind = Literal["addresses", "people", "organisations", "things", "places"]


@router.get("/registry/import/{kind}", response_class=Response,
            responses={200: {"content": {"text/csv": {}},
                             "description": "the columns' headings, and no row"}})
async def import_template(
    kind: RegistryKind, account: Annotated[Account, Depends(allowed(IMPORTERS))],
) -> Response:
    """An empty file of ``kind`` to fill in and import (CSV for a spreadsheet): its columns
    headed as a sheet made in Chinese heads them, those needed first."""
    named = quote(f"{KIND_NAMES[kind]}导入模板.csv")  # RFC 6266, as the ledgers are named
    return Response(BOM + template(kind).encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{kind}.csv"; '
                                                    f"filename*=UTF-8''{named}"})


@router.get("/registry/imports")
async def imports(request: Request, page: Page,
                  account: Annotated[Account, Depends(allowed(IMPORTERS))]) -> list[dict]:
    """The registry files imported, the newest first: when, by whom (an account, or the system
    user at a shell), of what kind, the file's name, and how many of its rows were stored,
    updated and refused. A centre reads those of its region's accounts."""
    async with statements(request) as conn:
        return await imports_seen(conn, account, limit=page.limit, offset=page.offset)


@router.post("/registry/import/{kind}")
async def import_file(
    request: Request,
    kind: RegistryKind,
    file: Annotated[UploadFile, File(description="CSV or Excel with a header line")],
    account: Annotated[Account, Depends(allowed(IMPORTERS))],
    county: Annotated[str | None, Form(description="county code for rows without one")] = None,
    crs: Annotated[CRS, Form()] = CRS.wgs84,
    check: Annotated[bool, Form(description="only check: what the file would store, update "
                                            "and refuse, storing nothing")] = False,
) -> dict:
    """Addresses first: people are matched to standard addresses. Bad rows are reported, each
    with the rule it breaks (``ctx.rule``); rows lying outside your jurisdiction, or naming a
    record held outside it, among them. A file sent again stores nothing twice: organisations,
    components and places held already (by their number as a ledger gives it, their code or
    component ID; with none, by name and kind at one point) are updated to it (``updated``),
    each organisation's and place's import and change kept in its record with the file and your
    account; people registered already at their house (by name and ID number; with none, by
    name) are corrected to it (``updated``: those of a detail the file gives otherwise, each
    field written to the audit log); each file is kept in the log of imports."""
    data = await read_upload(file)
    name = file.filename or "upload.csv"
    frame = read_registry(io.BytesIO(data), name, kind)
    async with transaction(request) as conn:
        result = await import_registry(conn, kind, frame, county=county, crs=crs, check=check,
                                       by=Importer(account=account, file=name))
    return {"checked": check, "rows": result.rows, "stored": result.stored,
            "updated": result.updated, "held": result.held, "rejected": result.rejected,
            "errors": [asdict(e) for e in result.errors]}


@router.get("/registry/grid-counts")
async def counts(
    request: Request,
    page: Page,
    account: SignedIn,
    parent: Annotated[str | None, Query(description="village, township or county code")] = None,
    days: Annotated[int, Query(ge=1, le=366, description="visits in the last N days")] = 30,
) -> list[dict]:
    """Per grid in your jurisdiction: addresses, households, people, organisations, components,
    places, and the share of households visited in the last ``days``."""
    async with statements(request) as conn:
        return await grid_counts(conn, account, parent=parent, days=days, limit=page.limit,
                                 offset=page.offset)


Words = Annotated[str | None, Query(max_length=100, description=(
    "addresses: those whose text holds these words, read as the registry writes an address "
    "(三号楼 as 3栋); organisations and places: those whose name or code does"))]
Kind = Annotated[str | None, Query(max_length=50, description=(
    "organisations and places: those of this kind"))]
Closed = Annotated[bool, Query(description=(
    "organisations and places: those closed (注销、停业) instead of those open"))]
LEDGERS = {"organisations": "单位台账", "places": "场所台账"}


@router.get("/registry/{layer}.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}},
                             "description": "a row per organisation or place, by grid"}})
async def ledger(layer: Literal["organisations", "places"], account: SignedIn,
                 place: PlaceQuery, q: Words = None, kind: Kind = None,
                 closed: Closed = False) -> StreamingResponse:
    """The ledger (单位台账, 场所台账) of the organisations or places of your query, all of them,
    as a CSV file for a spreadsheet: each with its kind, grid, where it lies and whether it is
    open."""
    statement, params = layer_sheet(layer, account, words=q, kind=kind, closed=closed, **place)
    named = quote(f"{LEDGERS[layer]}.csv")  # RFC 6266: named in Chinese to the browsers that can
    return StreamingResponse(await copied(statement, params),
                             media_type="text/csv; charset=utf-8", headers={
                                 "Content-Disposition": f'attachment; filename="{layer}.csv"; '
                                 f"filename*=UTF-8''{named}"})


@router.get("/registry/{layer}", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def layer(
    request: Request,
    page: Page,
    layer: Literal["addresses", "things", "organisations", "places"],
    account: SignedIn,
    place: PlaceQuery,
    q: Words = None,
    kind: Kind = None,
    closed: Closed = False,
) -> Response:
    """Standard addresses (标准地址, with how many households each has), components (部件),
    organisations (实有单位) and key places in your jurisdiction."""
    async with statements(request) as conn:
        body = await layer_geojson(conn, layer, account, limit=page.limit, offset=page.offset,
                                   words=q, kind=kind, closed=closed, **place)
    return Response(body, media_type=GEOJSON)


class VisitRequest(BaseModel):
    household_id: Whole
    lon: Number | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    lat: Number | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    note: str = Field("", max_length=2000)
    client_id: UUID | None = Field(None, description="chosen by the phone: the same visit sent "
                                                     "again is answered 200, recorded once")
    visited_at: ReportTime | None = Field(
        None, description="when the visit was made (ISO 8601; no zone means China Standard "
                          "Time), for one sent after the fact (a phone without signal queues "
                          "it); default, and at the latest: when it comes")


@router.post("/registry/visits", status_code=201,
             responses={200: {"description": "sent before"},
                        404: {"description": "no such household within the account's scope"}})
async def visit(request: Request, body: VisitRequest,
                account: Annotated[Account, Depends(allowed(VISITORS))]) -> JSONResponse:
    """Record a household visit where you are (WGS84 from the phone)."""
    async with statements(request) as conn:
        recorded, created = await record_visit(conn, account, body.household_id, lon=body.lon,
                                               lat=body.lat, note=body.note,
                                               client_id=body.client_id, at=body.visited_at)
    return JSONResponse(recorded, status_code=201 if created else 200)


AuditReader = Annotated[Account, Depends(allowed(AUDIT_READERS))]


@router.get("/audit/accounts")
async def audit_accounts(request: Request, account: AuditReader, page: Page,
                         during: During) -> list[dict]:
    """Per account (or system user at a shell), what it did with personal data over a span
    of time: full values shown (and of how many people), people looked up, exports,
    departures recorded or withdrawn, fields corrected, and when last; those that were shown
    most first (administrators and auditors)."""
    async with statements(request) as conn:
        return await audit_by_account(conn, since=during.since, until=during.until,
                                      limit=page.limit, offset=page.offset)


async def audit_query(
    during: During,
    person: Annotated[int | None, Query(description="a person's id: who looked at them, "
                                                    "and why")] = None,
    username: Annotated[str | None, Query(max_length=200, description=(
        "by one account, or the system user at a shell (as `username` names it)"))] = None,
    action: Annotated[Literal[ACTIONS] | None, Query(  # type: ignore[valid-type]
        description="one kind of entry alone")] = None,
) -> dict:
    """Which entries of the audit log are asked for."""
    return {"person": person, "username": username, "action": action, "since": during.since,
            "until": during.until}


AuditQuery = Annotated[dict, Depends(audit_query)]


@router.get("/audit")
async def audit(request: Request, account: AuditReader, page: Page,
                which: AuditQuery) -> list[dict]:
    """Every reveal, lookup and export of personal data, every departure recorded or
    withdrawn and every field of a person corrected, newest first, each with who (`username`:
    the account, or the system user at a shell importing a registry file) and why
    (administrators and auditors)."""
    async with statements(request) as conn:
        return await audit_entries(conn, limit=page.limit, offset=page.offset, **which)


@router.get("/audit.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}},
                             "description": "a row per entry, newest first"}})
async def audit_csv(account: AuditReader, which: AuditQuery) -> StreamingResponse:
    """The entries the same filters find, all of them (no pages), as a CSV file for a
    spreadsheet, with Chinese headings and names and China's times (administrators and
    auditors: for a report, or to keep)."""
    statement, params = audit_sheet(**which)
    return StreamingResponse(await copied(statement, params), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
