"""Request dependencies: the database transaction and the shared query parameters."""

import io
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, AsyncIterator

from fastapi import Depends, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc import settings
from mapsvc.errors import InvalidInput
from mapsvc.incidents.model import ReportTime


def public_base(request: Request) -> str:
    """The address users reach the service by, for the links that leave it (a door plate's QR
    code, the OGC API's links): MAPSVC_API_PUBLIC_URL, or the one the request came to."""
    return settings.api().public_url or str(request.base_url).rstrip("/")


@asynccontextmanager
async def transaction(request: Request) -> AsyncIterator[AsyncConnection]:
    """One transaction, committed before the response is sent."""
    async with request.app.state.engine.begin() as conn:
        yield conn


@asynccontextmanager
async def statements(request: Request) -> AsyncIterator[AsyncConnection]:
    """A connection on which each statement commits by itself: for reads, and for writes made
    in one statement. Saves the BEGIN and COMMIT round trips on the hot paths."""
    async with request.app.state.statements.connect() as conn:
        yield conn


async def bbox_query(
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)",
                                      examples=["114.9,22.7,115.5,23.1"])] = None,
) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        values = tuple(float(v) for v in bbox.split(","))
    except ValueError:
        raise InvalidInput("bbox must be four numbers: minlon,minlat,maxlon,maxlat", field="bbox")
    if len(values) != 4 or any(v != v or abs(v) == float("inf") for v in values):
        raise InvalidInput("bbox must be four finite numbers: minlon,minlat,maxlon,maxlat",
                           field="bbox")
    minx, miny, maxx, maxy = values
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput("bbox must have minlon ≤ maxlon within ±180 and minlat ≤ maxlat "
                           "within ±90", field="bbox")
    return values


async def near_query(
    near: Annotated[str | None, Query(description="lon,lat,radius in metres (WGS84)",
                                      examples=["115.37,22.78,500"])] = None,
) -> tuple[float, float, float] | None:
    if near is None:
        return None
    try:
        lon, lat, radius = (float(v) for v in near.split(","))
    except ValueError:
        raise InvalidInput("near must be lon,lat,radius", field="near") from None
    if not (abs(lon) <= 180 and abs(lat) <= 90 and 0 < radius <= 50_000):
        raise InvalidInput("near must be lon,lat within range and a radius of up to 50 km",
                           field="near")
    return lon, lat, radius


@dataclass
class Paging:
    limit: int
    offset: int


async def paging(
    limit: Annotated[int, Query(ge=1, le=settings.api().page_size_max,
                                description="how many to answer at most (a page)")] = 100,
    offset: Annotated[int, Query(ge=0, description="how many to pass over first (the pages "
                                                   "before)")] = 0,
) -> Paging:
    return Paging(limit, offset)


Page = Annotated[Paging, Depends(paging)]


AT = "a past time (ISO 8601): answer with the grids in force then"
AtQuery = Annotated[ReportTime | None, Query(description=AT)]


@dataclass
class Period:
    """A span of time a log is read over: from ``since`` (None: its first entry) up to
    ``until`` (None: now), ``until`` itself left out."""
    since: datetime | None
    until: datetime | None


async def period(
    since: Annotated[ReportTime | None, Query(alias="from", description="at or after")] = None,
    until: Annotated[ReportTime | None, Query(alias="to", description="before")] = None,
) -> Period:
    if since is not None and until is not None and until <= since:
        raise InvalidInput("to must come after from", field="to")
    return Period(since, until)


During = Annotated[Period, Depends(period)]


GEOJSON = "application/geo+json"


class RowProblem(BaseModel):
    """A line of an uploaded file that cannot be stored, and why (its column named)."""

    line: int
    field: str
    reason: str
    ctx: dict | None = Field(None, description="where given, the rule the line breaks "
                                                "(``rule``), for a client to say it in its words")


def refused_rows(answer: str, nothing: str) -> dict:
    """The OpenAPI description of an all-or-nothing import's 422: the request unread, or the
    ``answer`` schema listing the lines refused (``nothing``: what was not done)."""
    return {422: {
        "description": f"the request cannot be read, or a line has a problem ({nothing})",
        "content": {"application/json": {"schema": {"anyOf": [
            {"$ref": "#/components/schemas/HTTPValidationError"},
            {"$ref": f"#/components/schemas/{answer}"}]}}}}}


class StoredWhole(BaseModel):
    """What an all-or-nothing import of a file's rows did."""

    rows: int
    stored: int = Field(description="the rows stored (none on a 422)")
    errors: list[RowProblem] = Field(description="any (422): nothing was stored")


async def stored_whole(request: Request, file: UploadFile, read, store) -> JSONResponse:
    """The upload ``file`` read by ``read(source, filename)`` and stored by ``store(conn,
    frame)`` in one transaction, all of it or, when a line has a problem, nothing: its
    StoredWhole answer, 422 listing the lines at fault."""
    data = await read_upload(file)
    frame = read(io.BytesIO(data), file.filename or "upload.csv")
    async with transaction(request) as conn:
        result = await store(conn, frame)
    answer = StoredWhole(rows=result.rows, stored=result.stored,
                         errors=[asdict(e) for e in result.errors])
    return JSONResponse(answer.model_dump(mode="json"), status_code=422 if result.errors else 200)


async def read_upload(file: UploadFile) -> bytes:
    """An uploaded file, refused whole when larger than the setting allows."""
    limit = settings.api().upload_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"larger than {limit} bytes", field="file")
    return data
