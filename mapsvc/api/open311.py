"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): the cases for systems that
speak it, such as a 12345 hotline platform or a citizen app, in XML or JSON as the path's
extension says, with mySociety's service request updates. A facade over the same functions as
the API, not a second workflow:

- a service is a class of the category tree (``group``: its top class);
- a request is a case: posting one reports it as ``POST /api/v1/incidents`` does (same grid
  rules), and its status is ``open`` or ``closed``, with the case's own state in
  ``status_notes``; ``expected_datetime`` is its handling deadline, ``agency_responsible`` the
  department it is dispatched to;
- the caller signs in as for the API: a bearer token, which Open311 clients may also send as
  ``api_key``. Reads see what the account may see; posting needs an account that may report.

A post carries no client id; the same account posting the same service, point, description
and media URL again is a retry, answered with the case already stored. The person reporting
(``last_name`` then ``first_name``, as a Chinese name is written, and ``phone``) is kept as the
case's caller (mapsvc.incidents.callers); ``email`` is not kept. A media URL is kept at the end
of the description. Errors answer 400 (401, 403, 404), as a list of
``code`` and ``description``, the description naming the field.
"""

import functools
import json
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import text

from mapsvc.accounts.jurisdiction import incident_scope
from mapsvc.accounts.model import REPORTERS, Account
from mapsvc.api.auth import admit, bearer, signed_in
from mapsvc.api.deps import statements
from mapsvc.api.incidents import stored
from mapsvc.errors import DomainError, NotFound
from mapsvc.geojson import Filters
from mapsvc.incidents.categories import category_tree
from mapsvc.incidents.model import IncidentReport, ReportTime, Source
from mapsvc.incidents.queries import IncidentFilter, incidents_geojson
from mapsvc.workflow.machine import OPEN, OPEN_SQL

router = APIRouter(prefix="/open311/v2", tags=["open311"])

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00Z"  # when what this endpoint serves last changed
MEDIA_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json"}
# the list's default window and its longest answer, as the specification has them
WINDOW = timedelta(days=90)
LIMIT = 1000
# the updates' default window: a caller following the cases asks from where it left off
UPDATES_WINDOW = timedelta(days=1)
# what each list's items are called in XML
ITEM = {"services": "service", "service_requests": "request", "errors": "error",
        "service_request_updates": "request_update",
        "endpoints": "endpoint", "formats": "format", "attributes": "attribute"}
# a post's idempotency key: the account and what it posted
POSTED = uuid.UUID("5f0f6a0e-9d1b-4c36-8f0b-0e3a1b2c4d5e")
_TIME = TypeAdapter(ReportTime)
_SOURCE = TypeAdapter(Source)


class Open311Error(Exception):
    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


def _xml(parent: ET.Element, name: str, value) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, list):
        for item in value:
            _xml(element, ITEM[name], item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            _xml(element, key, inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def answer(fmt: str, root: str, body: list | dict, status: int = 200) -> Response:
    """``body`` in the format asked for: JSON as it is, XML under ``root``."""
    if fmt == "json":
        return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                        media_type=MEDIA_TYPES[fmt])
    top = ET.Element(root)
    for key, value in (body.items() if isinstance(body, dict) else
                       ((ITEM[root], item) for item in body)):
        _xml(top, key, value)
    return Response(ET.tostring(top, encoding="utf-8", xml_declaration=True),
                    status_code=status, media_type=MEDIA_TYPES[fmt])


def failed(fmt: str, error: Open311Error) -> Response:
    return answer(fmt, "errors", [{"code": error.code, "description": error.description}],
                  error.code)


async def posted(request: Request) -> dict:
    """A post's fields, read once. A form URL-encoded is read as UTF-8 also where a client
    left the text unescaped, as Open311 asks a service to assume UTF-8 throughout."""
    if not hasattr(request.state, "posted"):
        if request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            body = (await request.body()).decode("utf-8", errors="replace")
            request.state.posted = dict(parse_qsl(body, keep_blank_values=True))
        else:
            request.state.posted = {k: v for k, v in (await request.form()).items()
                                    if isinstance(v, str)}
    return request.state.posted


async def caller(request: Request) -> Account:
    """The account behind the bearer token, or behind ``api_key`` (query or form)."""
    token = await bearer(request)
    if token is None:
        token = request.query_params.get("api_key")
        if token is None and request.method == "POST":
            token = (await posted(request)).get("api_key")
    try:
        return await signed_in(request, token)
    except HTTPException as e:
        raise Open311Error(e.status_code, f"api_key: {e.detail}") from None


# the API's names of the fields Open311 names otherwise
FIELD = {"lon": "long", "category": "service_code", "caller.name": "first_name, last_name",
         "caller.phone": "phone", "client_id": "attribute[number]"}


def _open311(handler):
    """Errors the Open311 way, in the format asked for, naming Open311's fields."""
    @functools.wraps(handler)
    async def wrapped(request: Request, fmt: str, **named) -> Response:
        if fmt not in MEDIA_TYPES:
            raise HTTPException(404, f"no format {fmt!r}: xml or json")
        try:
            return await handler(request, fmt, **named)
        except Open311Error as e:
            return failed(fmt, e)
        except HTTPException as e:
            return failed(fmt, Open311Error(e.status_code, str(e.detail)))
        except DomainError as e:
            code = 404 if isinstance(e, NotFound) else 400
            field = FIELD.get(e.field, e.field)
            return failed(fmt, Open311Error(code, f"{field}: {e.reason}" if field else e.reason))
    return wrapped


@router.get("/discovery.{fmt}")
@_open311
async def discovery(request: Request, fmt: str) -> Response:
    """Where the GeoReport v2 endpoint is and what it speaks."""
    url = str(request.url_for("discovery", fmt=fmt)).rsplit("/", 1)[0]
    return answer(fmt, "discovery", {
        "changeset": CHANGESET, "contact": "", "key_service": "",
        "endpoints": [{"specification": SPECIFICATION, "url": url,
                       "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}]})


async def _services(request: Request) -> list[dict]:
    async with statements(request) as conn:
        tree = json.loads(await category_tree(conn))
    return [{"service_code": c["code"], "service_name": c["name"], "description": c["path"],
             "metadata": False, "type": "realtime", "keywords": "",
             "group": c["path"].split(" / ")[0]} for c in tree]


@router.get("/services.{fmt}")
@_open311
async def services(request: Request, fmt: str) -> Response:
    """The classes a request may name: every class of the category tree."""
    await caller(request)
    return answer(fmt, "services", await _services(request))


@router.get("/services/{code}.{fmt}")
@_open311
async def service_definition(request: Request, fmt: str, code: str) -> Response:
    """A class's definition: no attributes beyond the standard fields."""
    await caller(request)
    if not any(s["service_code"] == code for s in await _services(request)):
        raise Open311Error(404, f"service_code: no service {code!r}")
    return answer(fmt, "service_definition", {"service_code": code, "attributes": []})


def _id(value: str) -> int | None:
    """A row id written in a request, or None where it cannot be one."""
    return int(value) if value.isdigit() and int(value) < 2**63 else None


def _number(form, name: str) -> float:
    value = form.get(name)
    if value is None or value == "":
        raise Open311Error(400, f"{name}: required (a request is located by lat and long, or "
                                "by a standard address: address_id or address_string)")
    try:
        return float(value)
    except ValueError:
        raise Open311Error(400, f"{name}: not a number: {value!r}") from None


# A standard address (一标三实) by its id, or by its full text in the county named by
# ``jurisdiction_id`` or in any county (each county's addresses are unique by their text)
_ADDRESS = {
    "address_id": text("SELECT ST_Y(geom) AS lat, ST_X(geom) AS lon FROM address "
                       "WHERE id = CAST(:value AS bigint)"),
    "address_string": text("""
        SELECT ST_Y(geom) AS lat, ST_X(geom) AS lon FROM address
         WHERE full_text = :value AND county_code IN (
               SELECT code FROM region
                WHERE level = 'county' AND code = coalesce(CAST(:county AS text), code))
         LIMIT 2"""),
}


async def _located(request: Request, form: dict) -> tuple[float, float]:
    """The request's point: ``lat`` and ``long``, or its standard address's."""
    if form.get("lat") or form.get("long") or not (
            form.get("address_id") or form.get("address_string")):
        return _number(form, "lat"), _number(form, "long")
    field = "address_id" if form.get("address_id") else "address_string"
    if field == "address_id" and _id(form["address_id"]) is None:
        raise Open311Error(400, f"address_id: not a standard address's id: {form[field]!r}")
    async with statements(request) as conn:
        found = (await conn.execute(_ADDRESS[field], {
            "value": form[field], "county": form.get("jurisdiction_id") or None})).all()
    if not found:
        raise Open311Error(400, f"{field}: no standard address {form[field]!r}")
    if len(found) > 1:
        raise Open311Error(400, f"{field}: {form[field]!r} is in more than one county: name "
                                "its county's code as jurisdiction_id")
    return found[0].lat, found[0].lon


@router.post("/requests.{fmt}")
@_open311
async def post_request(request: Request, fmt: str) -> Response:
    """Report a case: ``service_code``, ``lat`` and ``long`` (or a standard address:
    ``address_id``, or ``address_string`` as the registry writes it, with the county's code as
    ``jurisdiction_id`` where the text is in more than one), ``description``, ``media_url``;
    ``attribute[source]`` names its source (default ``citizen``) and ``attribute[number]`` the
    number that source's system gave the case (its 工单编号: the case's client id, as the API
    takes one); ``last_name``, ``first_name`` and ``phone`` the person reporting, kept as the
    case's caller."""
    account = admit(await caller(request), REPORTERS)
    form = await posted(request)
    code = form.get("service_code")
    if not code:
        raise Open311Error(400, "service_code: required")
    lat, lon = await _located(request, form)
    description = form.get("description") or ""
    if media := form.get("media_url"):
        description = f"{description}\n{media}".strip()
    try:
        source = _SOURCE.validate_python(form.get("attribute[source]") or "citizen")
    except ValidationError:
        raise Open311Error(400, "attribute[source]: one of grid_worker, hotline, citizen, "
                                "sensor, other") from None
    # its source's number, or what it says (the same request again is the same case)
    client_id = form.get("attribute[number]") or uuid.uuid5(POSTED, "\n".join(
        map(str, (account.id, code, lat, lon, description))))
    name = (form.get("last_name") or "").strip() + (form.get("first_name") or "").strip()
    phone = form.get("phone") or ""
    try:
        report = IncidentReport(client_id=client_id, category=code,
                                description=description, lon=lon, lat=lat, source=source,
                                caller={"name": name, "phone": phone}
                                if name or phone.strip() else None)
    except ValidationError as e:
        error = e.errors()[0]
        field = ".".join(map(str, error["loc"]))
        raise Open311Error(400, f"{FIELD.get(field, field)}: {error['msg']}") from None
    doc, created = await stored(request, report, account)
    case = json.loads(doc)
    grid = (case.get("grid") or {}).get("name")
    return answer(fmt, "service_requests", [{
        "service_request_id": str(case["id"]),
        "service_notice": f"已报入{grid}" if grid else "不在任何网格内，待分派",
        "account_id": None}], 201 if created else 200)


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return _TIME.validate_python(value)
    except ValidationError:
        raise Open311Error(400, f"{name}: not an ISO 8601 time: {value!r}") from None


def _list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


async def _requests(request: Request, account: Account, where: IncidentFilter) -> list[dict]:
    """The cases matching ``where`` that ``account`` may see, newest first, as Open311 has
    them (a page of at most LIMIT)."""
    async with statements(request) as conn:
        cases = json.loads(await incidents_geojson(conn, where, account, limit=LIMIT))
        services = dict((await conn.execute(text("SELECT code, name FROM category"))).all())
        agencies = dict((await conn.execute(text("SELECT code, name FROM department"))).all())
        # each county's city, by the link the hierarchy keeps (as locate and the ledger read it)
        city_of = dict((await conn.execute(text(
            "SELECT c.code, ci.name FROM region c JOIN region ci ON ci.code = c.parent_code "
            "WHERE c.level = 'county'"))).all())
    records = []
    for f in cases["features"]:
        p = f["properties"]
        # as a Chinese address is written: the city first (汕尾市城区香洲街道…)
        city = city_of.get((p.get("county") or {}).get("code"), "")
        place = city + "".join((p.get(level) or {}).get("name", "")
                               for level in ("county", "township", "village"))
        records.append({
            "service_request_id": str(p["id"]),
            "status": "open" if p["status"] in OPEN else "closed",
            "status_notes": p["status"],
            "service_name": services.get(p["category"], p["category"]),
            "service_code": p["category"],
            "description": p["description"],
            "agency_responsible": agencies.get(p.get("department")),
            "service_notice": None,
            "requested_datetime": p["reported_at"],
            "updated_datetime": p["updated_at"],
            "expected_datetime": p.get("handling_deadline"),
            "address": place or None, "address_id": None, "zipcode": None,
            "lat": p["lat"], "long": p["lon"], "media_url": None,
        })
    return records


def _window(request: Request, default: timedelta) -> tuple[datetime, datetime]:
    """``start_date`` and ``end_date``: at most 90 days apart; by default the last ``default``
    (to the end date given), or the ``default`` from the start date given."""
    end = _time(request.query_params.get("end_date"), "end_date")
    start = _time(request.query_params.get("start_date"), "start_date")
    end = end or (start + default if start else datetime.now(timezone.utc))
    start = start or end - default
    if end < start:
        raise Open311Error(400, "end_date: before start_date")
    if end - start > WINDOW:
        raise Open311Error(400, "end_date: at most 90 days after start_date")
    return start, end


@router.get("/requests.{fmt}")
@_open311
async def get_requests(request: Request, fmt: str) -> Response:
    """Cases by ``service_request_id`` (a comma list; the other filters then do not apply), or
    by ``service_code`` (a comma list), ``status`` (open, closed) and reported between
    ``start_date`` and ``end_date``; newest first, at most 1,000."""
    account = await caller(request)
    q = request.query_params
    if ids := _list(q.get("service_request_id")):
        if None in map(_id, ids):
            raise Open311Error(400, "service_request_id: case ids are numbers")
        where = IncidentFilter(ids=[_id(i) for i in ids])
    else:
        statuses = set(_list(q.get("status")))
        if not statuses <= {"open", "closed"}:
            raise Open311Error(400, "status: open, closed, or both")
        start, end = _window(request, WINDOW)
        where = IncidentFilter(reported_from=start, reported_to=end,
                               categories=tuple(_list(q.get("service_code"))),
                               open=None if len(statuses) != 1 else "open" in statuses)
    return answer(fmt, "service_requests", await _requests(request, account, where))


@router.get("/requests/{case}.{fmt}")
@_open311
async def get_request(request: Request, fmt: str, case: str) -> Response:
    """One case, as a list of one."""
    account = await caller(request)
    if _id(case) is None:
        raise Open311Error(404, f"service_request_id: no request {case!r}")
    found = await _requests(request, account, IncidentFilter(ids=[_id(case)]))
    if not found:
        raise Open311Error(404, f"service_request_id: no request {case}")
    return answer(fmt, "service_requests", found)


_UPDATES = """
SELECT l.id AS update_id, l.incident_id::text AS service_request_id,
       CASE WHEN l.to_status IN {open} THEN 'open' ELSE 'closed' END AS status,
       l.at AS updated_datetime, l.note AS description, l.to_status AS external_status_code
  FROM incident_log l JOIN incident d ON d.id = l.incident_id
 WHERE l.at >= :start AND l.at < :end AND l.to_status IS NOT NULL AND {where}
 ORDER BY l.at, l.id
 LIMIT {limit}"""


@router.get("/servicerequestupdates.{fmt}")
@_open311
async def updates(request: Request, fmt: str) -> Response:
    """The steps that changed a case's state and came between ``start_date`` and
    ``end_date`` (the last day by default), oldest first, at most 1,000 (mySociety's
    extension): each with its case, open or closed, the case's state it led to
    (``external_status_code``), its note, and when it came (``updated_datetime``; a step sent
    after the fact came after it was taken). A caller following the cases asks again from the
    last ``updated_datetime`` it saw, and misses no step that came late."""
    account = await caller(request)
    start, end = _window(request, UPDATES_WINDOW)
    f = Filters(params={"start": start, "end": end})
    incident_scope(account, f)
    async with statements(request) as conn:
        rows = (await conn.execute(text(_UPDATES.format(
            open=OPEN_SQL, where=f.where(), limit=LIMIT)), f.params)).mappings().all()
    return answer(fmt, "service_request_updates", [
        {**row, "update_id": str(row["update_id"]),
         "updated_datetime": row["updated_datetime"].isoformat(), "media_url": None}
        for row in rows])
