"""Settings, one class per concern, read from ``MAPSVC_*`` environment variables."""

import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (BaseModel, ConfigDict, Field, SecretStr, ValidationError,
                      ValidationInfo, field_validator, model_validator)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


def project_root() -> Path:
    """The checkout that holds this package, or the working directory for an installed copy."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


class ClusterSettings(BaseSettings):
    """The embedded PostGIS cluster that the project owns under ``.mapsvc/``."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_CLUSTER_")

    dir: Path = Field(default_factory=lambda: project_root() / ".mapsvc")
    port: int = 54320
    # PostgreSQL server binaries; found under /usr/lib/postgresql if unset
    bindir: Path | None = None
    superuser: str = "mapsvc"
    shared_buffers_mb: int | None = None  # unset: a quarter of the memory it may use, up to 8 GB

    @property
    def password_file(self) -> Path:
        return self.dir / "password"


class DatabaseSettings(BaseSettings):
    """Where the data lives: ``MAPSVC_DATABASE_URL`` or else the embedded cluster."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_DATABASE_")

    url: str | None = None
    name: str | None = None  # overrides the database name of the URL (the test suite's own)
    # Per server process: the transactions' and the single statements' pools each keep this
    # many connections and open as many again under load; the tiles' pool opens up to this many.
    pool_size: int = 10
    # The longest a read on the hot paths waits for a connection before answering 503
    wait_seconds: float = Field(5.0, gt=0, description="a read waits this long for the database")

    def sqlalchemy_url(self) -> str:
        if self.url:
            url = make_url(self.url).set(drivername="postgresql+psycopg")
        else:
            from mapsvc.db.cluster import Cluster  # which reads these settings itself

            url = Cluster(ClusterSettings()).url()
        if self.name:
            url = url.set(database=self.name)
        return url.render_as_string(hide_password=False)

    @property
    def uses_embedded_cluster(self) -> bool:
        return self.url is None


class AssignmentSettings(BaseSettings):
    """How an incident's point is matched to a grid."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_ASSIGNMENT_")

    tolerance_m: float = Field(50.0, ge=0,
                               description="an outside point this close to a grid joins it")


# OWASP's least Argon2id cost (its Password Storage Cheat Sheet): 7 MiB of memory over 5 passes,
# or as much work in other proportions (19 MiB over 2, 46 MiB over 1 …)
LEAST_HASH_WORK_KIB = 7 * 1024 * 5


class AuthSettings(BaseSettings):
    """Sign-in: the key that signs bearer tokens, how long a token lasts, how many wrong
    passwords an account name may be tried with, how long a password must be, and what a
    password's hash costs."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_AUTH_")

    secret: SecretStr | None = Field(
        None, description="token signing key; unset: a key generated once into .mapsvc/")
    token_hours: float = Field(12, gt=0, description="a token lasts one work shift")
    sign_in_attempts: int = Field(5, gt=0, description=(
        "failed sign-ins in a row an account name may have within sign_in_minutes of the "
        "first; past them, its sign-ins are refused (429) until those minutes are over"))
    sign_in_minutes: float = Field(15, gt=0)
    password_length: int = Field(8, ge=8, description=(
        "the fewest characters a password may have (it also mixes three kinds of them)"))
    # Argon2id's cost (RFC 9106's second recommendation by default): a hash made at another is
    # made anew at this one when its password next signs in
    hash_memory_kib: int = Field(64 * 1024, ge=7 * 1024, description=(
        "the memory a password's hash takes, in KiB"))
    hash_passes: int = Field(3, ge=1, description="the passes over that memory")
    hash_lanes: int = Field(4, ge=1, description="the threads a hash may take")

    @field_validator("hash_passes")
    @classmethod
    def _hard_enough(cls, passes: int, given: ValidationInfo) -> int:
        memory = given.data.get("hash_memory_kib")  # absent: refused itself
        if memory is not None and memory * passes < LEAST_HASH_WORK_KIB:
            raise ValueError(f"with hash_memory_kib {memory}, at least "
                             f"{-(-LEAST_HASH_WORK_KIB // memory)} (OWASP's least work: "
                             "7 MiB over 5 passes)")
        return passes

    def secret_value(self) -> str:
        if self.secret is not None:
            return self.secret.get_secret_value()
        return generated_secret(ClusterSettings().dir / "auth-secret")


def generated_secret(path: Path, nbytes: int = 48) -> str:
    """A key generated once for this checkout, readable by its owner only. Of processes
    starting together (a server's workers, the test suite's), the first to put its key in
    place gives it to all: a key is never replaced, nor read half written."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as new:  # 0600
            new.write(secrets.token_urlsafe(nbytes))
        try:
            os.link(new.name, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(new.name)
    return path.read_text().strip()


class PrivacySettings(BaseSettings):
    """Personal data: the master key for encryption at rest and keyed lookup hashes, and how
    long where a worker walked, a person who left, and a closed case's caller are kept."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_PRIVACY_")

    key: SecretStr | None = Field(
        None, description="32 random bytes, url-safe base64; unset: generated once into .mapsvc/")
    track_days: int = Field(180, ge=1, description=(
        "a patrol's track is erased this many days after it ended; its times, length and "
        "grids stay"))
    person_days: int = Field(365, ge=1, description=(
        "a person who moved away or died is erased this many days after the day they left"))
    caller_days: int = Field(180, ge=1, description=(
        "who reported a case (a caller's name and phone) is erased this many days after the "
        "case was closed, unless it was reopened"))

    def key_value(self) -> str:
        if self.key is not None:
            return self.key.get_secret_value()
        return generated_secret(ClusterSettings().dir / "privacy-key", nbytes=32)


class WorkerWeights(BaseModel):
    """The weights of a grid worker's 综合指标值 (监督员, CJ/T 292): of its 有效上报率, 漏报率
    (counted as 1 − 漏报率: lower is better), 按时核实率 and 按时核查率. As one deployment sets
    them by default; a centre sets its own."""

    model_config = ConfigDict(extra="forbid")

    valid_report: float = Field(40.0, ge=0)
    missed: float = Field(20.0, ge=0)
    verifies: float = Field(20.0, ge=0)
    checks: float = Field(20.0, ge=0)

    @model_validator(mode="after")
    def _weighs_something(self) -> "WorkerWeights":
        if not any(self.model_dump().values()):
            raise ValueError("at least one weight is above 0")
        return self


class WorkflowSettings(BaseSettings):
    """The closed loop: working hours for deadlines counted in working time, the limits of the
    verifying, dispatch and checking clocks (a category may set its own), of taking a case on, of
    telling its caller and of an urgent case's handling, how often a handler's deadline is
    extended, how 按期结案率 is counted and how a grid worker's rates make its 综合指标值."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_WORKFLOW_")

    working_hours: str = Field("08:30-12:00,14:00-17:30",
                               description="the working periods of a working day")
    verify_limit: str = Field("2 working_hours", description="from the verify task sent to the "
                                                          "field's finding (核实)")
    dispatch_limit: str = Field("1 working_hours", description="from filing to dispatch")
    check_limit: str = Field("2 working_hours", description="from handled to checked")
    accept_limit: str = Field(
        "2 working_hours", description="from a dispatch (or a rework sent back) to its handler "
                                       "taking the case on (签收), as 及时签收率 counts")
    response_limit: str = Field(
        "24 hours", description="from a public case's dispatch to its handler telling the "
                                "caller it has the case (联系诉求人), as 响应率 counts")
    urgent_limit: str = Field(
        "4 hours", description="an urgent case's (加急) handling limit, where it is shorter "
                               "than its category's: on the clock, nights and holidays too")
    extensions_most: int = Field(
        1, ge=1, le=10, description="how often a case's handling deadline may be extended (延期) "
                                    "while one handler has it, asked for or not; the 12345 "
                                    "hotlines' rule: once, by ten working days at most")
    on_time_denominator: Literal["due", "closed"] = Field(
        "due", description="按期结案率 over cases due (应结案数) or over cases closed (结案数): "
                           "the evaluation's unless it asks otherwise, and the wall's")
    worker_weights: WorkerWeights = Field(
        default_factory=WorkerWeights,
        description='as JSON, e.g. {"valid_report": 40, "missed": 20, "verifies": 20, '
                    '"checks": 20}')


class TileSettings(BaseSettings):
    """Vector tiles: how many a process keeps ready, and how often it rereads the revisions of
    the data (a tile may lag a change by that long; pages hear of changes live)."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_TILES_")

    cache_tiles: int = Field(4096, ge=0)
    revision_seconds: float = Field(1.0, ge=0)
    aggregate_seconds: float = Field(60.0, ge=0, description="heat and incident bins follow "
                                                             "new cases at most this often")
    clock_seconds: float = Field(60.0, gt=0, description=(
        "tiles whose figures follow the clock (overdue counts, warning colours, the cases and "
        "visits of the last days) are drawn anew this often, changed or not; the wall redraws "
        "them as often"))


class MediaSettings(BaseSettings):
    """Photos: where they are kept (by content hash), how large one may be, thumbnail size."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_MEDIA_")

    root: Path | None = Field(None, description="unset: media/ beside the embedded cluster")
    max_bytes: int = Field(15 * 1024 * 1024, gt=0)
    thumb_px: int = Field(320, ge=32, le=2048)

    def root_dir(self) -> Path:
        return self.root or ClusterSettings().dir / "media"


class PageSettings(BaseSettings):
    """The map pages. No basemap by default: the boundaries are the base, and a wall screen
    on a closed network reaches no tile server."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_PAGES_")

    basemap_url: str | None = Field(None, description="an XYZ tile URL template, e.g. a city's "
                                                      "own basemap server")
    basemap_attribution: str = ""
    basemap_subdomains: str = Field("abc", min_length=1, description=(
        "the letters the template's {s} takes, one per server (Tianditu's t{s}: 01234567)"))
    basemap_crs: Literal["wgs84", "cgcs2000", "gcj02"] = Field("wgs84", description=(
        "the coordinates the basemap's tiles are drawn in: wgs84 or cgcs2000 (a city's own "
        "server, Tianditu's _w), gcj02 (AMap, Tencent: the pages shift its tiles onto the "
        "boundaries)"))
    phone_accuracy_m: float = Field(50, gt=0, description="the phone asks before reporting "
                                                          "with a position fix worse than this")
    phone_refresh_seconds: float = Field(60, gt=0, description=(
        "how often the phone, open and with a signal, asks again for the cases waiting on "
        "its worker"))
    phone_stall_seconds: float = Field(20, gt=0, description=(
        "how long the phone waits for the answer to a report, step, visit or patrol it sends "
        "before it gives up and tries again (on a weak signal a request may stall with no "
        "error); one carrying a photo waits that and the time the photo takes at 16 kbit/s"))

    @field_validator("basemap_url")
    @classmethod
    def _tile_template(cls, url: str | None) -> str | None:
        parts = urlsplit(url or "")
        if url is not None and (parts.scheme not in ("http", "https") or not parts.netloc
                                or not all(f"{{{part}}}" in url for part in "zxy")):
            raise ValueError("must be an http:// or https:// tile template with {z}, {x} and "
                             "{y}, as https://tiles.example.cn/{z}/{x}/{y}.png")
        return url

    def basemap(self) -> dict | None:
        """The basemap the map pages draw under their layers, as they draw it: its template
        and Leaflet's options for it; None with none set."""
        if not self.basemap_url:
            return None
        return {"url": self.basemap_url, "attribution": self.basemap_attribution,
                "subdomains": self.basemap_subdomains, "gcj02": self.basemap_crs == "gcj02"}


class SizingRule(BaseModel):
    """How large a grid of one kind in one setting may be (None: no bound)."""

    households_min: int | None = None
    households_max: int | None = None
    population_max: int | None = None


class PlanSettings(BaseSettings):
    """Checks on redrawn grids. Sizing rules are keyed ``kind/setting`` (comprehensive or
    dedicated; urban or rural: a village's ``setting`` property, else its code's last three
    digits, 001–199 for a residents' committee 居委会, 200 and above for a villagers'
    committee 村委会). The defaults follow national practice for comprehensive grids: urban
    300–500 households and at most 2,500 people; rural about 300 households."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_PLANS_")

    sliver_m2: float = Field(200, ge=0, description="a grid or part of one smaller than this "
                                                    "is a sliver")
    sizing: dict[str, SizingRule] = Field(default_factory=lambda: {
        "comprehensive/urban": SizingRule(households_min=300, households_max=500,
                                          population_max=2500),
        "comprehensive/rural": SizingRule(households_max=300, population_max=2500),
    })
    micro_households_max: dict[Literal["urban", "rural"], int] = Field(
        default_factory=lambda: {"urban": 20, "rural": 30}, description=(
            "the most households of a micro-grid (微网格, 联户) a grid is divided into, in an "
            "urban and in a rural village"))


class APISettings(BaseSettings):
    """The HTTP service."""

    model_config = SettingsConfigDict(env_prefix="MAPSVC_API_")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    page_size_max: int = 1000
    upload_max_bytes: int = 200 * 1024 * 1024
    shutdown_seconds: int = Field(3, description="on stopping, how long open requests (live "
                                                 "feeds among them) may take to finish")
    # HTTPS, which a phone needs to locate itself and to work with no signal (browsers allow
    # both to secure pages alone), and personal data on its way (GB/T 35273 §6.3)
    tls_certfile: Path | None = Field(None, description="the certificate (PEM, its chain "
                                                        "after it; the key too, if in one file)")
    tls_keyfile: Path | None = Field(None, description="its private key (PEM)")
    # behind a reverse proxy that does not pass the Host it was reached by (nginx's default), the
    # links that leave the service (a door plate's QR code, the OGC API's) name this instead
    public_url: str | None = Field(None, description=(
        "the address users reach the service by: scheme, host and port, as "
        "https://mqdt.example.gov.cn; by default the one each request came to"))

    @field_validator("public_url")
    @classmethod
    def _origin(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// address with a host")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError("must be the scheme, host and port alone (the service is served "
                             "at the root of its address)")
        parts.port  # a port out of range raises ValueError
        return url.rstrip("/")


def problems() -> list[str]:
    """What is wrong with the settings as set, each named by its variable: the service refuses
    to start on any, rather than answer 500 to the first request that reads it."""
    said = []
    for concern in (ClusterSettings, DatabaseSettings, AssignmentSettings, AuthSettings,
                    PrivacySettings, WorkflowSettings, TileSettings, MediaSettings,
                    PageSettings, PlanSettings, APISettings):
        try:
            concern()
        except ValidationError as e:
            prefix = concern.model_config["env_prefix"]
            said += [f"{prefix}{str(error['loc'][0]).upper()}: {error['msg']}"
                     for error in e.errors()]
    return said


@lru_cache
def database_url() -> str:
    return DatabaseSettings().sqlalchemy_url()


@lru_cache
def assignment() -> AssignmentSettings:
    return AssignmentSettings()


@lru_cache
def api() -> APISettings:
    return APISettings()


@lru_cache
def auth() -> AuthSettings:
    return AuthSettings()


@lru_cache
def privacy() -> PrivacySettings:
    return PrivacySettings()


@lru_cache
def workflow() -> WorkflowSettings:
    return WorkflowSettings()


@lru_cache
def tiles() -> TileSettings:
    return TileSettings()


@lru_cache
def pages() -> PageSettings:
    return PageSettings()


@lru_cache
def media() -> MediaSettings:
    return MediaSettings()


@lru_cache
def plans() -> PlanSettings:
    return PlanSettings()
