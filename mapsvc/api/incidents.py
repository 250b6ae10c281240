"""Incidents: report one (a hot path, mapsvc.api.hot), import many, list and read them, find
those a case may repeat and the places where cases keep coming, move them through the loop,
and export their ledger."""

import io
import json
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.routing import Route

from mapsvc.accounts.model import IMPORTERS, REPORTERS, Account
from mapsvc.api.auth import SignedIn, admit, allowed, bearer, signed_in
from mapsvc.api.deps import GEOJSON, Page, bbox_query, read_upload, statements, transaction
from mapsvc.api.hot import read_json, schema_ref
from mapsvc.db.spreadsheet import copied
from mapsvc.errors import Forbidden
from mapsvc.geo.crs import CRS
from mapsvc.incidents.bulk import import_incidents, read_incidents
from mapsvc.incidents.callers import CALLER_READERS, CallerField, caller_shown, reveal_caller
from mapsvc.incidents.duplicates import possible_duplicates
from mapsvc.incidents.hotspots import LEAST, RADIUS_M, hotspots_geojson
from mapsvc.incidents.intake import report_incident
from mapsvc.incidents.ledger import ledger_statement
from mapsvc.incidents.model import (METHODS, NO_NUL, PHONE_SAID, PHOTOS_MOST, SOURCE_FILTERS,
                                   IncidentReport, PhoneNumber, Point, ReportTime, Source,
                                   Window, window_start)
from mapsvc.incidents.queries import ORDERS, IncidentFilter, incident_doc, incidents_geojson
from mapsvc.numbers import Whole
from mapsvc.registry.privacy import phone_hash
from mapsvc.workflow.actions import BATCH_MOST, ActionRequest, act, act_on_many, timeline
from mapsvc.workflow.clocks import COLOURS
from mapsvc.workflow.machine import STATUS_FILTERS

router = APIRouter(prefix="/incidents", tags=["incidents"])


def _json(doc: str, status: int) -> Response:
    return Response(doc, status_code=status, media_type="application/json")


async def report(request: Request) -> Response:
    """Store an incident with its grid (201), or answer with the one already stored under its
    ``client_id`` (200)."""
    account = admit(await signed_in(request, await bearer(request)), REPORTERS)
    doc, created = await stored(request, read_json(IncidentReport, await request.body()),
                                account)
    return _json(doc, 201 if created else 200)


async def stored(request: Request, report: IncidentReport,
                 account: Account) -> tuple[str, bool]:
    """The incident ``report`` stored (JSON), and whether it is new."""
    if report.attachments or report.caller:  # stored with them in one transaction
        async with transaction(request) as conn:
            return await report_incident(conn, report, account)
    # with the reports arriving meanwhile, by one statement
    return await request.app.state.reports.report(report, account)


PATH = "/api/v1/incidents"
# A report's fields at their longest (4,000 characters of description, each written as a JSON
# escaped surrogate pair, and 10 photo ids) take under 50 kB; a larger body is refused (413) as
# it streams in.
REPORT_MAX_BYTES = 64 * 1024
route = Route(PATH, report, methods=["POST"],  # a hot path (mapsvc.api.hot)
              max_body_size=REPORT_MAX_BYTES)


def document(openapi: dict) -> None:
    """Put the report route into the API's OpenAPI description."""
    answer = {"description": "the stored incident with its grid, how the grid was chosen, and "
                             "the open cases nearby it may repeat (possible_duplicates)",
              "content": {"application/json": {}}}
    openapi["paths"].setdefault(PATH, {})["post"] = {
        "tags": ["incidents"], "summary": "Report", "description": report.__doc__,
        "operationId": "report",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": schema_ref(openapi, IncidentReport)}}},
        "security": [{"OAuth2PasswordBearer": []}],
        "responses": {"201": answer,
                      "200": {**answer, "description": "already stored under this client_id"},
                      "401": {"description": "not signed in"},
                      "403": {"description": "the account's role does not report incidents"},
                      "409": {"description": "client_id already names a different incident"},
                      "413": {"description": f"the body is over {REPORT_MAX_BYTES} bytes"},
                      "422": {"description": "a field is missing or wrong; the body names it"}}}


@router.post("/import")
async def import_file(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV or Excel: client_id (a UUID, or the "
                                                 "number the source's system gave the case), "
                                                 "category, lon, lat [, description, crs, "
                                                 "accuracy_m, reported_at, source, caller_name, "
                                                 "caller_phone], each headed by its name or its "
                                                 "Chinese heading (工单编号, 类别, 经度, 纬度, "
                                                 "问题描述 …)")],
    crs: Annotated[CRS, Form(description="CRS of rows that name none")] = CRS.wgs84,
    source: Annotated[Source, Form(description="source of rows that name none")] = "hotline",
    check: Annotated[bool, Form(description="only check: what the file would store and "
                                            "refuse, storing nothing")] = False,
    account: Account = Depends(allowed(IMPORTERS)),
) -> JSONResponse:
    """Cases from a hotline's or another system's file, each assigned to its grid: the good rows
    stored, each bad one refused with its line and why; a row whose client_id is stored already
    is not stored again (a file sent twice stores its cases once)."""
    data = await read_upload(file)
    frame = read_incidents(io.BytesIO(data), file.filename or "upload.csv")
    async with transaction(request) as conn:
        result = await import_incidents(conn, frame, crs=crs, source=source, check=check,
                                        actor=account.username, reporter_id=account.id)
    return JSONResponse({"checked": check, "rows": result.rows, "inserted": result.inserted,
                         "already_stored": result.already_stored, "rejected": result.rejected,
                         "errors": [asdict(e) for e in result.errors]})


async def incident_filter(
    account: SignedIn,
    bbox=Depends(bbox_query),
    grid: Annotated[str | None, Query(description="grid code")] = None,
    village: Annotated[str | None, Query(description="a village's code (12 digits)")] = None,
    township: Annotated[str | None, Query(description="a township's code (9 digits)")] = None,
    county: Annotated[str | None, Query(description="a county's code (6 digits)")] = None,
    city: Annotated[str | None, Query(description="a city's code (4 digits)")] = None,
    status: Annotated[Literal[tuple(STATUS_FILTERS)] | None, Query(  # type: ignore[valid-type]
        description="a state, or waiting: those not yet taken in (reported, being verified: "
                    "待受理)")] = None,
    department: Annotated[str | None, Query(
        max_length=64, description="the code of the department dispatched to")] = None,
    category: Annotated[str | None, Query(max_length=32,
                                          description="a class and those under it")] = None,
    method: Annotated[Literal[METHODS] | None, Query(  # type: ignore[valid-type]
        description="how the grid was chosen; `unassigned` lists the triage queue")] = None,
    reported_from: Annotated[ReportTime | None, Query(
        alias="from", description="reported at or after")] = None,
    reported_to: Annotated[ReportTime | None, Query(alias="to", description="reported before")
                           ] = None,
    colour: Annotated[Literal[COLOURS] | None, Query(  # type: ignore[valid-type]
        description="the case's warning colour: the worst of its running clocks")] = None,
    overdue: Annotated[bool, Query(
        description="true: the cases in handling past their handling deadline (超期在办, as the "
                    "evaluation's overdue_now counts them)")] = False,
    queue: Annotated[Literal["mine"] | None, Query(
        description="mine: the open cases waiting on me (my grids, my level's escalations, "
                    "my department's dispatches)")] = None,
    reporter: Annotated[Literal["me"] | None, Query(
        description="me: the cases I reported, in whatever state (closed and followed up "
                    "too)")] = None,
    extension: Annotated[Literal["requested"] | None, Query(
        description="requested: the cases in handling whose handler asked for more working "
                    "days, waiting on the centre to extend or decline")] = None,
    exemption: Annotated[Literal["requested"] | None, Query(
        description="requested: the cases whose department asked to take them out of the "
                    "hotline's evaluation (申请不纳入考核), waiting on the centre")] = None,
    urgent: Annotated[bool | None, Query(
        description="true: the cases marked urgent (加急); false: the others")] = None,
    urged: Annotated[bool, Query(
        description="true: the cases their callers called again about (催办)")] = False,
    response: Annotated[Literal["due"] | None, Query(
        description="due: the public's cases being handled whose caller their handler has not "
                    "contacted yet (待联系诉求人, as 响应率 counts)")] = None,
    source: Annotated[Literal[tuple(SOURCE_FILTERS)] | None, Query(  # type: ignore[valid-type]
        description="who reported them: one source, or public (the 12345 hotline's and "
                    "citizens' reports, as 监督举报率 counts them)")] = None,
    open_: Annotated[bool | None, Query(
        alias="open", description="true: the open cases; false: the closed ones")] = None,
    q: Annotated[str | None, Query(
        max_length=100, description="text the case's description or its source_number (a "
                                    "hotline's 工单编号) holds, as typed (letters of either "
                                    "case; % and _ are themselves)")] = None,
    caller_of: Annotated[Whole | None, Query(
        description="a case's number: the other cases its caller reported from the same phone "
                    "(重复来电; for the centre and departments)")] = None,
) -> IncidentFilter:
    """The cases asked for (query parameters), before the account's jurisdiction."""
    if caller_of is not None and account.role not in CALLER_READERS:
        raise Forbidden("your role does not see who called", field="caller_of")
    return IncidentFilter(bbox=bbox, grid=grid, village=village, township=township,
                          county=county, city=city,
                          statuses=STATUS_FILTERS[status] if status else (),
                          department=department,
                          categories=(category,) if category else (), method=method,
                          reported_from=reported_from, reported_to=reported_to, colour=colour,
                          overdue=overdue,
                          queue_of=account if queue == "mine" else None,
                          reporter_id=account.id if reporter == "me" else None,
                          extension_requested=extension == "requested",
                          exemption_requested=exemption == "requested", urgent=urgent,
                          urged=urged, response_due=response == "due",
                          sources=SOURCE_FILTERS[source] if source else (), open=open_,
                          words=(q or "").strip() or None, caller_of=caller_of)


Cases = Annotated[IncidentFilter, Depends(incident_filter)]


@router.get("", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def list_incidents(
    request: Request, page: Page, account: SignedIn, where: Cases,
    order: Annotated[Literal[ORDERS], Query(  # type: ignore[valid-type]
        description="the newest (the default) or the oldest to come in first; or due: the "
                    "urgent first, then the soonest due of their running clocks, then those "
                    "with none, newest first")] = "newest",
    count: Annotated[bool, Query(
        description="true: also how many cases the filters find in all (numberMatched)")] = False,
) -> Response:
    """The cases of your jurisdiction the filters find, a page of them, as GeoJSON points with
    their grid, regions, class and state."""
    async with statements(request) as conn:
        body = await incidents_geojson(conn, where, account, limit=page.limit,
                                       offset=page.offset, order=order, count=count)
    return Response(body, media_type=GEOJSON)


class CallerPhone(BaseModel):
    phone: PhoneNumber = Field(min_length=1, max_length=20, description=PHONE_SAID)


@router.post("/by-caller", response_class=Response,
             responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"}})
async def cases_by_caller(request: Request, page: Page, body: CallerPhone,
                          account: Annotated[Account, Depends(allowed(CALLER_READERS))]
                          ) -> Response:
    """The cases reported from a phone, newest first, among those you may read, with how many
    in all (numberMatched): a caller's earlier calls, looked up while they are on the line
    (重复来电), to urge a case still open (催办) rather than register it again. The number
    goes in the body, where no address log keeps it; it is matched by its keyed hash, written
    with or without the hyphen after its area code."""
    where = IncidentFilter(caller_hash=phone_hash(body.phone))
    async with statements(request) as conn:
        found = await incidents_geojson(conn, where, account, limit=page.limit,
                                        offset=page.offset, count=True)
    return Response(found, media_type=GEOJSON)


@router.get("/hotspots", response_class=Response,
            responses={200: {"content": {GEOJSON: {}},
                             "description": "a FeatureCollection of the hot spots' centres"}})
async def hotspots(
    request: Request, page: Page, account: SignedIn, where: Cases,
    window: Annotated[Window | None, Query(
        description="reported today (China Standard Time) or in the last 7 or 30 days, in "
                    "place of from")] = None,
    radius_m: Annotated[int, Query(ge=5, le=1000, description="how near")] = RADIUS_M,
    min_cases: Annotated[int, Query(ge=2, le=1000, description="how many")] = LEAST,
) -> Response:
    """The places where cases of one class keep being reported (高发点位), among the cases the
    filters find (reported in the `window`, else from `from` to `to`, else in the last 30
    days), void and rejected ones left out: at least `min_cases` cases of a class within
    `radius_m` metres of one of them, and the cases within that reach of those (DBSCAN, as
    mapsvc.incidents.hotspots says). Each is a point at the middle of its cases, with their
    class, how many there are and how many are open, the first and last reported, how far the
    farthest lies from the middle (`radius_m`), the grid most of them lie in and the numbers
    of the newest 20 (`ids`); those of the most cases first."""
    if window is not None or (where.reported_from is None and where.reported_to is None):
        where.reported_from = window_start(window or "30d")
    async with statements(request) as conn:
        body = await hotspots_geojson(conn, where, account, radius_m=radius_m,
                                      least=min_cases, limit=page.limit, offset=page.offset)
    return Response(body, media_type=GEOJSON)


@router.get(".csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}},
                             "description": "the ledger: a row per case, newest first"}})
async def ledger(account: SignedIn, where: Cases) -> StreamingResponse:
    """The cases the same filters find in the list, all of them (no pages), as a CSV file for
    a spreadsheet: the case ledger (案件台账), with Chinese headings and names and local times.
    """
    statement, params = ledger_statement(where, account)
    return StreamingResponse(await copied(statement, params), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="cases.csv"'})


@router.get("/{incident_id:int}",
            responses={404: {"description": "no such incident in your scope"}})
async def read(request: Request, incident_id: int, account: SignedIn) -> Response:
    """The case; to the centre and the department, with its ``caller`` (masked), if any."""
    async with statements(request) as conn:
        doc = await incident_doc(conn, incident_id, account)
        if account.role not in CALLER_READERS:
            return _json(doc, 200)
        caller = await caller_shown(conn, incident_id)
    # spliced into the case's object as text, as a report's answer is (mapsvc.incidents.intake)
    return _json(f'{doc[:-1]}, "caller": {json.dumps(caller, ensure_ascii=False)}}}', 200)


class CallerReveal(BaseModel):
    field: CallerField
    reason: str = Field(min_length=2, max_length=500, description="why the full value is needed")


@router.post("/{incident_id:int}/caller/reveal",
             responses={404: {"description": "no such incident in your scope, or no such value "
                                             "of its caller"}})
async def reveal_caller_field(request: Request, incident_id: int, body: CallerReveal,
                              account: Annotated[Account, Depends(allowed(CALLER_READERS))]
                              ) -> dict:
    """The case's caller's name or phone in full, to answer or call them back; the reveal is
    written to the audit log with your reason."""
    async with transaction(request) as conn:
        value = await reveal_caller(conn, account, incident_id, body.field, body.reason)
    return {"id": incident_id, "field": body.field, "value": value}


class StepBody(BaseModel):
    note: str = Field("", max_length=2000, description="why; required by some actions")
    department: str | None = Field(None, description="dispatch, reassign: the department's code")
    level: Literal["normal", "yellow", "red"] | None = Field(None, description="supervise")
    working_days: Whole | None = Field(None, ge=1, le=10, description="extend: by how many")
    category: str | None = Field(None, min_length=1, max_length=64, pattern=NO_NUL,
                                 description="reclassify: the code of the class it is of")


class ActionBody(StepBody):
    satisfaction: Whole | None = Field(None, ge=1, le=5, description="follow_up: 1 to 5")
    resolved: bool | None = Field(None, description="follow_up: whether the caller says the "
                                                    "problem was resolved (解决率), if asked")
    original: Whole | None = Field(None, description="merge: the incident this one repeats")
    point: Point | None = Field(None, description="relocate: where the case really is; it "
                                                  "lands in that point's grid")
    attachments: list[Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = Field(
        [], max_length=PHOTOS_MOST,
        description="ids of photos uploaded to /media (before and after photos, evidence); "
                    "self_resolve needs a note or one")
    taken_at: ReportTime | None = Field(
        None, description="when the step was taken (ISO 8601; no zone means China Standard "
                          "Time), for one sent after the fact (a phone without signal queues "
                          "it): the step keeps that time, though never one before the case's "
                          "last step nor one ahead of now; its log also keeps when it came")


@router.post("/{incident_id:int}/actions/{action}", responses={
    403: {"description": "your role may not take this action"},
    404: {"description": "no such incident in your scope"},
    409: {"description": "the action is not possible in the incident's state"}})
async def take_action(request: Request, incident_id: int, action: str, body: ActionBody,
                      account: SignedIn) -> dict:
    """Move the case on: verify, file, reject, self_resolve, dispatch, accept, hand_back,
    report_handled, check, check_pass, check_fail, close, follow_up, reopen, void, extend,
    suspend, resume, supervise, escalate, reassign, merge, relocate, reclassify."""
    async with transaction(request) as conn:
        return await act(conn, account, incident_id, action, ActionRequest(**dict(body)))


class BatchBody(StepBody):
    ids: list[Whole] = Field(min_length=1, max_length=BATCH_MOST,
                             description="the cases, each named once")


@router.post("/actions/{action}", responses={
    403: {"description": "your role may not take this action"},
    404: {"description": "a case named is not in your scope: nothing was done"},
    409: {"description": "a case named is in a state the action is not taken in: nothing was "
                         "done"}})
async def take_action_on_many(request: Request, action: str, body: BatchBody,
                              account: SignedIn) -> list[dict]:
    """The same step on many cases at once (批量办理: file, dispatch to one department, check,
    close, supervise …), all or none: each case's step is its own in its timeline. Steps that
    need something of one case alone (relocate, merge, follow_up) or a photo of its result are
    taken one case at a time. If any case refuses the step, none takes it, and the answer, with
    the status of the first refused, names each refused case by its place in ``ids`` with its
    reason and, in ``ctx``, its ``id`` (and its ``status``, where that refused it)."""
    async with transaction(request) as conn:
        return await act_on_many(conn, account, body.ids, action,
                                 ActionRequest(**body.model_dump(exclude={"ids"})))


@router.get("/{incident_id:int}/duplicates", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a FeatureCollection"},
                       404: {"description": "no such incident in your scope"}})
async def duplicates(request: Request, incident_id: int, account: SignedIn) -> Response:
    """The open cases the case may repeat, by the rule a report is answered with
    (``possible_duplicates``: of its class, within its class's radius and hours of it), among
    those you may read: nearest first, at most five, each with its ``distance_m``; to merge it
    into one of them."""
    async with statements(request) as conn:
        near = await possible_duplicates(conn, incident_id, account)
    return Response(json.dumps(near, ensure_ascii=False), media_type=GEOJSON)


@router.get("/{incident_id:int}/timeline")
async def case_timeline(request: Request, incident_id: int, account: SignedIn) -> list[dict]:
    """Every step of the case, oldest first."""
    async with statements(request) as conn:
        return await timeline(conn, account, incident_id)
