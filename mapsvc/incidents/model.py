"""What a reporter sends and what a location resolves to."""

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from hashlib import sha1
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from mapsvc.geo.crs import CRS
from mapsvc.numbers import Number

SOURCES = ("grid_worker", "hotline", "citizen", "sensor", "other")
Source = Literal["grid_worker", "hotline", "citizen", "sensor", "other"]
PUBLIC_SOURCES = ("hotline", "citizen")  # the public's reports (监督举报), not the grids' own
# who reported the cases asked for: one source, or the public
SOURCE_FILTERS = {**{s: (s,) for s in SOURCES}, "public": PUBLIC_SOURCES}
METHODS = ("inside", "edge", "nearest", "unassigned")
# What the pages (names.js) and the case ledger call them.
SOURCE_NAMES = {"grid_worker": "网格员", "hotline": "12345热线", "citizen": "群众",
                "sensor": "物联感知", "other": "其他"}
METHOD_NAMES = {"inside": "网格内", "edge": "网格边界（按规则定格）", "nearest": "网格外就近",
                "unassigned": "未入格"}

# Times without a zone are China Standard Time, as phones and hotline exports in China write them.
LOCAL_TIME = ZoneInfo("Asia/Shanghai")
# the last days a map may look at: today (China Standard Time), the last 7 or 30 days
WINDOWS = {"today": None, "7d": timedelta(days=7), "30d": timedelta(days=30)}
Window = Literal["today", "7d", "30d"]


def window_start(window: str) -> datetime:
    """When ``window`` (of WINDOWS) starts: today's midnight in China, or so many days before
    now, to the minute (so that a tile drawn for it keeps its ETag for a while)."""
    now = datetime.now(LOCAL_TIME).replace(second=0, microsecond=0)
    return now.replace(hour=0, minute=0) if window == "today" else now - WINDOWS[window]


# A period of local dates ``:start`` to ``:end`` (inclusive) as times: its first moment, and
# the first moment after it.
PERIOD_START = "CAST(:start AS timestamp) AT TIME ZONE 'Asia/Shanghai'"
PERIOD_END = "CAST(:end AS timestamp) AT TIME ZONE 'Asia/Shanghai' + interval '1 day'"


def reported_within(column: str) -> str:
    """The cases reported (or the patrols ended) from local date ``:start`` to ``:end``
    (inclusive), as a range of times: an index can read it, and turning each case's time into a
    local date cost about a microsecond a case (the city's overdue cases of a year: 84 ms
    against 38)."""
    return f"{column} >= {PERIOD_START} AND {column} < {PERIOD_END}"


_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")


def _written(value):
    """A day or time as written (ISO 8601), never a number: pydantic would read one as seconds
    since 1970, and a year alone (2024) would be stored as 1970-01-01T00:33:44Z."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be written in ISO 8601 (2026-03-01, 2026-03-01T08:30:00+08:00), "
                         "not as a number")
    return value


# PostgreSQL holds a time's offset from UTC up to 15:59:59 either way (every zone's lies within
# -12:00 to +14:00); ISO 8601, and Python, up to 23:59.
OFFSET_MOST = timedelta(hours=15, minutes=59, seconds=59)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=LOCAL_TIME)
    if abs(value.utcoffset()) > OFFSET_MOST:
        raise ValueError("its offset from UTC must be within ±15:59 (China's is +08:00)")
    return value


# A time a request gives: ISO 8601; without a zone, China Standard Time.
ReportTime = Annotated[datetime, BeforeValidator(_written), AfterValidator(_aware)]
# A local day a request gives: ISO 8601.
ReportDay = Annotated[date, BeforeValidator(_written)]
# A device's accuracy is kept in single precision; no fix is worse than the Earth is wide.
ACCURACY_MAX_M = 20_000_000
# PostgreSQL's text cannot hold the NUL character.
NO_NUL = r"^[^\x00]*$"
PHOTOS_MOST = 10  # the photos a report or a step carries at most


def swap_candidate(lon, lat):
    """A latitude beyond ±90 that would be a longitude, with a longitude that would be a
    latitude: the pair may be swapped, which only the grids can tell (422 either way)."""
    return (abs(lat) > 90) & (abs(lat) <= 180) & (abs(lon) <= 90)


class Point(BaseModel):
    """A reported position."""

    lon: Number = Field(ge=-180, le=180, allow_inf_nan=False,
                        description="longitude in the declared CRS")
    lat: Number = Field(allow_inf_nan=False, json_schema_extra={"minimum": -90, "maximum": 90},
                        description="latitude in the declared CRS")
    crs: CRS = Field(CRS.wgs84, description=(
        "what the coordinates are given in: wgs84 (a phone's GPS), cgcs2000 (Tianditu, "
        "surveys), gcj02 (AMap, Tencent, WeChat's picker) or bd09 (Baidu)"))

    @field_validator("lat")
    @classmethod
    def _latitude(cls, lat: float, info: ValidationInfo) -> float:
        lon = info.data.get("lon")
        if abs(lat) > 90 and not (lon is not None and swap_candidate(lon, lat)):
            raise ValueError("must be between -90 and 90")
        return lat

    @property
    def in_range(self) -> bool:
        return abs(self.lat) <= 90


# a mainland mobile number, or a landline with its area code (and an extension)
PHONE = r"^(?:1\d{10}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?)$"
PHONE_RULE = "must be a mobile number of 11 digits or a landline with its area code"
CONTROL = r"[\x00-\x1f\x7f-\x9f]"  # what a name cannot hold
NAME_MOST = 50
PHONE_SAID = "a mobile number (13800138000) or a landline with its area code (0660-3388123)"


def _phone(value: str) -> str:
    if value and not re.fullmatch(PHONE, value):
        raise ValueError(PHONE_RULE)
    return value


# a phone as typed (spaces dropped), checked: empty or a number PHONE takes
PhoneNumber = Annotated[str, BeforeValidator(lambda v: re.sub(r"\s", "", v)
                                             if isinstance(v, str) else v),
                        AfterValidator(_phone)]


class Caller(BaseModel):
    """Who reported the case, to answer them and call them back: a name, a phone, or both."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=NAME_MOST, description="as they gave it")
    phone: PhoneNumber = Field("", max_length=20, description=PHONE_SAID)

    @field_validator("name", mode="before")
    @classmethod
    def _spaced(cls, value):
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if re.search(CONTROL, value):
            raise ValueError("must hold printable characters only")
        return value

    @model_validator(mode="after")
    def _something(self) -> "Caller":
        if not (self.name or self.phone):
            raise ValueError("give a name or a phone")
        return self


# A case's client id is a UUID (UUID_TEXT, whole: with its hyphens or without), or the number
# the system it comes from gave it (a hotline's 工单编号, ``source_number``), which stands for
# the UUID derived from it and the case's source: the case sent again, alone or in tomorrow's
# file, is stored once; the same number from another source is another case.
UUID_TEXT = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
NUMBER_MOST = 64
CLIENT_ID_RULE = f"neither a UUID nor a number of 1 to {NUMBER_MOST} printable characters"
NUMBERED_NAMESPACE = UUID("0b6f7c1e-52d4-4e0a-9a39-5c1d2e8f4b70")


def numbered_cases(sources: Iterable[str], numbers: Iterable[str]) -> np.ndarray:
    """The client ids the cases numbered ``numbers`` by the systems of ``sources`` stand for,
    as the 32 hexadecimal digits of each: UUIDs version 5 (RFC 9562) of the names
    ``f"{source}\\n{number}"``, which ``uuid.uuid5`` makes one by one in several times the
    time (a file of a million numbered cases: 4 s). Each name's SHA-1 digest, then the version
    and variant bits of all of them at once."""
    digests = b"".join(sha1(NUMBERED_NAMESPACE.bytes + f"{s}\n{n}".encode()).digest()[:16]
                       for s, n in zip(sources, numbers))
    octets = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 16).copy()
    octets[:, 6] = (octets[:, 6] & 0x0F) | 0x50  # version 5
    octets[:, 8] = (octets[:, 8] & 0x3F) | 0x80  # RFC 9562's variant
    return np.frombuffer(octets.tobytes().hex().encode(), dtype="S32").astype(str)


def _client_id(value) -> UUID | str:
    """A UUID, or a number (its text, spaces around it dropped)."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        if re.fullmatch(UUID_TEXT, value):
            return UUID(value)
        if value.strip() and len(value) <= NUMBER_MOST and not re.search(CONTROL, value):
            return value.strip()
    raise ValueError(CLIENT_ID_RULE)


_CONTROLS = CONTROL[1:-1]  # the ranges of CONTROL's characters
ClientId = Annotated[UUID | str, PlainValidator(_client_id), WithJsonSchema({"anyOf": [
    {"type": "string", "format": "uuid"},
    {"type": "string", "maxLength": NUMBER_MOST,  # printable, and not only spaces
     "pattern": rf"^[^{_CONTROLS}]*[^\s{_CONTROLS}][^{_CONTROLS}]*$"}]})]


class IncidentReport(Point):
    """One incident as a phone, the hotline or a script reports it."""

    model_config = ConfigDict(extra="forbid")

    client_id: ClientId = Field(
        description="chosen by the reporter, a UUID; or the number the system the case comes "
                    f"from gave it (a hotline's 工单编号, 1 to {NUMBER_MOST} printable "
                    "characters), kept as the case's source_number. A retry with it is "
                    "answered with the incident already stored; a number is one case of its "
                    "source (the same number from another source is another case)")
    category: str = Field(min_length=1, max_length=64, pattern=NO_NUL,
                          description="category code")
    description: str = Field("", max_length=4000, pattern=NO_NUL)
    accuracy_m: Number | None = Field(None, ge=0, le=ACCURACY_MAX_M, allow_inf_nan=False,
                                      description="the device's reported accuracy in metres")
    reported_at: ReportTime | None = Field(
        None, description="when it was reported (ISO 8601; no zone means China Standard Time); "
                          "default, and for a time ahead of now (a phone's clock running "
                          "ahead): when received")
    source: Source = "grid_worker"
    attachments: list[Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = Field(
        [], max_length=PHOTOS_MOST, description="ids of photos uploaded to /media first")
    caller: Caller | None = Field(
        None, description="who reported it (a hotline caller, a citizen), to answer them and "
                          "call them back (回访): stored encrypted, shown masked to the centre "
                          "and the department the case is with, revealed for a stated reason "
                          "with an audit row, erased once the case has been closed for the "
                          "privacy settings' days")

    _source_number: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _numbered(self) -> "IncidentReport":
        if isinstance(self.client_id, str):
            self._source_number = self.client_id
            self.client_id = UUID(numbered_cases([self.source], [self.client_id])[0])
        return self

    @property
    def source_number(self) -> str | None:
        return self._source_number

    def reported_time(self) -> datetime:
        return self.reported_at or datetime.now(timezone.utc)


class Place(BaseModel):
    code: str
    name: str


class GridRef(Place):
    version: int


class NearGrid(Place):
    distance_m: float = Field(description="from the point to the grid, on the ellipsoid")


class Location(BaseModel):
    """Where a point falls: its grid and how it was chosen, and the regions above it."""

    method: Literal["inside", "edge", "nearest", "unassigned"]
    grid: GridRef | None
    village: Place | None
    township: Place | None
    county: Place | None
    city: Place | None = Field(None, description="the county's city (地级市), where it has one")
    distance_m: float | None = Field(None, description="distance to the grid (method nearest)")
    lon: float = Field(description="the point in WGS84")
    lat: float = Field(description="the point in WGS84")
    nearby: list[NearGrid] | None = Field(
        None, description="asked with accuracy_m: the other grids that near the point, nearest "
                          "first, at most three (a phone whose fix may be off so far may "
                          "stand in one of them)")
