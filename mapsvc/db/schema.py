"""Table definitions for queries (SQLAlchemy Core + GeoAlchemy2).

The migrations under ``migrations/versions`` create these tables; a test checks that the two agree.
"""

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Double,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from mapsvc.workflow.stats import MEASURES

metadata = MetaData()


def _geom(kind: str, srid: int = 4326) -> Geometry:
    # Indexes are declared in the migration (partial GiST indexes among them).
    return Geometry(kind, srid=srid, spatial_index=False)


def _computed(name: str, kind: str, source: str) -> Column:
    """Geometry the database computes from ``geom``: Web Mercator copies for tiles."""
    return Column(name, _geom(kind, 3857), Computed(source, persisted=True))


region_level = Table(
    "region_level", metadata,
    Column("code", Text, primary_key=True),
    Column("rank", SmallInteger, nullable=False, unique=True),
    Column("name_zh", Text, nullable=False),
    Column("code_length", SmallInteger),
)

region = Table(
    "region", metadata,
    Column("code", Text, primary_key=True),
    Column("level", Text, ForeignKey("region_level.code"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("parent_code", Text, ForeignKey("region.code"), index=True),
    Column("properties", JSONB, nullable=False),
    Column("geom", _geom("MULTIPOLYGON"), nullable=False),
    _computed("geom_3857", "MULTIPOLYGON", "ST_Transform(geom, 3857)"),
    _computed("geom_3857_simple", "GEOMETRY",
              "ST_SimplifyPreserveTopology(ST_Transform(geom, 3857), 30)"),
)

grid = Table(
    "grid", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("village_code", Text, ForeignKey("region.code"), nullable=False, index=True),
    Column("households", Integer),
    Column("population", Integer),
    Column("properties", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("workers", Text),  # its grid workers' names, kept by triggers (migration 0015)
)

# a grid's open cases, when each turns red and its last 30 days' report times (its backlog),
# and its households, their members and the last visit of each household visited (its
# coverage), kept by triggers (migrations 0016, 0026, 0028, 0056), and when its last patrol
# ended (migration 0036)
grid_figures = Table(
    "grid_figures", metadata,
    Column("grid_id", BigInteger, ForeignKey("grid.id"), primary_key=True),
    Column("open", Integer, nullable=False),
    Column("red_from", ARRAY(DateTime(timezone=True)), nullable=False),
    Column("reported", ARRAY(DateTime(timezone=True)), nullable=False),
    Column("households", Integer, nullable=False),
    Column("population", Integer, nullable=False),
    Column("last_visits", ARRAY(Integer), nullable=False),  # in seconds since 2000
    Column("last_patrol", Integer),  # in seconds since 2000
    Column("micro_grids", Integer, nullable=False),  # its micro-grids (0078)
    Column("micro_led", Integer, nullable=False),  # those whose leader lives in them (0082)
)

grid_version = Table(
    "grid_version", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("grid_id", BigInteger, ForeignKey("grid.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("geom", _geom("MULTIPOLYGON"), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
    _computed("geom_3857", "MULTIPOLYGON", "ST_Transform(geom, 3857)"),
)

# each current grid version drawn into the tiles it meets at zooms 11 to 15, in tile units,
# with its grid's labels, kept by triggers (migrations 0022, 0027, 0038)
grid_version_tile = Table(
    "grid_version_tile", metadata,
    Column("z", SmallInteger, primary_key=True),
    Column("x", Integer, primary_key=True),
    Column("y", Integer, primary_key=True),
    Column("grid_version_id", BigInteger, ForeignKey("grid_version.id", ondelete="CASCADE"),
           primary_key=True),
    Column("grid_id", BigInteger, nullable=False),
    Column("geom", Geometry(srid=0, spatial_index=False), nullable=False),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("workers", Text),
    Column("village_code", Text, nullable=False),
)

department = Table(
    "department", metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("region_code", Text, ForeignKey("region.code")),
)
# the classes a department answers for in its region (负责类别)
department_class = Table(
    "department_class", metadata,
    Column("department_code", Text, ForeignKey("department.code"), primary_key=True),
    Column("category_code", Text, ForeignKey("category.code"), primary_key=True,
           index=True),
)

category = Table(
    "category", metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("parent_code", Text, ForeignKey("category.code"), index=True),
    Column("time_limit", Numeric),
    Column("time_limit_unit", Text),
    Column("department_code", Text, ForeignKey("department.code")),
    Column("properties", JSONB, nullable=False),
    Column("filing_condition", Text, nullable=False),
    Column("closing_condition", Text, nullable=False),
)

category_national_code = Table(
    "category_national_code", metadata,
    Column("category_code", Text, ForeignKey("category.code"), primary_key=True),
    Column("scheme", Text, primary_key=True),
    Column("code", Text, nullable=False),
)

incident = Table(
    "incident", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("client_id", Uuid, nullable=False, unique=True),
    Column("category_code", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("source", Text, nullable=False),
    # the number the system it came from gave it (a hotline's 工单编号); NULL: none
    Column("source_number", Text),
    Column("reported_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("raw_lon", Double, nullable=False),
    Column("raw_lat", Double, nullable=False),
    Column("raw_crs", Text, nullable=False),
    Column("accuracy_m", Float),
    Column("geom", _geom("POINT"), nullable=False),
    Column("grid_id", BigInteger),
    Column("grid_version_id", BigInteger),
    Column("village_code", Text),
    Column("township_code", Text),
    Column("county_code", Text),
    Column("assignment", Text, nullable=False),
    Column("assignment_distance_m", Float),
    Column("status", Text, nullable=False),
    Column("reporter_id", BigInteger),
    Column("department_code", Text, ForeignKey("department.code")),
    Column("rework_count", Integer, nullable=False),
    # times it went back rather than on: handed back, reassigned, reopened (一次完成率); NULL: never
    Column("returned_count", Integer),
    Column("supervision", Text),
    Column("escalation_level", Text, nullable=False),
    Column("suspended_at", DateTime(timezone=True)),
    Column("satisfaction", SmallInteger),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("dispatched_at", DateTime(timezone=True)),
    Column("handling_deadline", DateTime(timezone=True)),
    Column("duplicate_of", BigInteger),
    Column("filed_at", DateTime(timezone=True)),
    Column("handled_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("dispatch_deadline", DateTime(timezone=True)),
    Column("dispatch_warn_at", DateTime(timezone=True)),
    Column("handling_warn_at", DateTime(timezone=True)),
    Column("check_deadline", DateTime(timezone=True)),
    Column("check_warn_at", DateTime(timezone=True)),
    Column("case_deadline", DateTime(timezone=True)),
    Column("case_warn_at", DateTime(timezone=True)),
    Column("suspended_hours", Float, nullable=False),
    Column("handling_hours", Float),
    Column("extension_request", JSONB),
    # times its handling deadline was extended (延期) since it was last sent; NULL: never
    Column("extensions", SmallInteger),
    Column("urgent_at", DateTime(timezone=True)),  # marked urgent (加急)
    Column("urged", Integer),  # times the caller called again (催办); NULL: never
    Column("resolved", Boolean),  # the follow-up's answer: resolved or not; NULL: not asked
    Column("response_deadline", DateTime(timezone=True)),  # its caller to be told by (响应)
    Column("contacted_at", DateTime(timezone=True)),  # its handler first called its caller
    Column("exempted_at", DateTime(timezone=True)),  # out of the hotline's figures (不纳入考核)
    Column("exemption_requested_at", DateTime(timezone=True)),  # its department asked (申诉)
    Column("accept_deadline", DateTime(timezone=True)),  # to be taken on (签收) by, once sent
    Column("accepted_at", DateTime(timezone=True)),  # taken on since it was last sent
    Column("verify_deadline", DateTime(timezone=True)),  # cleared by the field's finding
    Column("verify_warn_at", DateTime(timezone=True)),
    # its Web Mercator cell at zoom 28 as a Morton number, for the aggregated tiles (0017)
    Column("cell", BigInteger, Computed("mercator_cell(geom)", persisted=True)),
)


def _tally_columns(keyed: bool) -> list[Column]:
    """The figures one subject (kind, subject) has for the cases reported on one day (see
    mapsvc.workflow.stats)."""
    return [*(Column(name, kind, nullable=False, primary_key=keyed) for name, kind in
              (("kind", Text), ("subject", Text), ("day", Date))),
            *(Column(m, Double if m == "handling_hours" else BigInteger, nullable=False)
              for m in MEASURES)]


incident_tally = Table("incident_tally", metadata, *_tally_columns(keyed=True))
incident_tally_delta = Table("incident_tally_delta", metadata, *_tally_columns(keyed=False))

incident_log = Table(
    "incident_log", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("incident_id", BigInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),  # when it came
    Column("taken_at", DateTime(timezone=True)),  # when taken, for a step that came after
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("from_status", Text),
    Column("to_status", Text),
    Column("note", Text, nullable=False),
    Column("data", JSONB, nullable=False),
)

account = Table(
    "account", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("username", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("region_code", Text, ForeignKey("region.code")),
    Column("department_code", Text, ForeignKey("department.code")),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("signed_out_at", DateTime(timezone=True)),  # tokens issued before no longer count
    Column("password_to_change", Boolean, nullable=False),  # set by an administrator
)

sign_in_failure = Table(
    "sign_in_failure", metadata,
    Column("username", Text, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
)

account_event = Table(
    "account_event", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("username", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("origin", Text, nullable=False),
    Column("detail", Text, nullable=False),
)

account_grid = Table(
    "account_grid", metadata,
    Column("account_id", BigInteger, ForeignKey("account.id"), primary_key=True),
    Column("grid_id", BigInteger, ForeignKey("grid.id"), primary_key=True),
)

# when each grid worker or chief worked each of its grids (kept by account_grid's triggers, 0053)
account_grid_period = Table(
    "account_grid_period", metadata,
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("grid_id", BigInteger, ForeignKey("grid.id"), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True)),  # none: to now
)


def _located() -> list[Column]:
    """A registry point and the grid locate_grid gave it."""
    return [Column("geom", _geom("POINT"), nullable=False),
            Column("grid_id", BigInteger, ForeignKey("grid.id")),
            Column("grid_version_id", BigInteger, ForeignKey("grid_version.id")),
            Column("village_code", Text),
            Column("assignment", Text, nullable=False)]


def _collected() -> list[Column]:
    """Who recorded a registry point from the field, sent once however often (0088); the day
    it closed (0089); the code a registry file knows it by (0090: an organisation's unified
    social credit code, a place's code)."""
    return [Column("client_id", Uuid, unique=True),
            Column("recorded_by", BigInteger, ForeignKey("account.id")),
            Column("closed_on", Date),
            Column("code", Text, unique=True)]


address = Table(
    "address", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("full_text", Text, nullable=False),
    Column("county_code", Text, ForeignKey("region.code"), nullable=False),
    *(Column(part, Text) for part in ("street", "number", "compound", "building", "entrance",
                                      "floor", "room")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    *_located(),
    Column("micro_grid_id", BigInteger, ForeignKey("micro_grid.id")),  # (0076)
)

house = Table(
    "house", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("address_id", BigInteger, ForeignKey("address.id"), nullable=False, unique=True),
    Column("use", Text, nullable=False),
    Column("rental", Boolean, nullable=False),
    Column("area_m2", Numeric),
)

household = Table(
    "household", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("house_id", BigInteger, ForeignKey("house.id"), nullable=False),
    Column("number", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

person = Table(
    "person", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("id_number_enc", LargeBinary),
    Column("id_number_hash", LargeBinary),  # unique among those who have not left
    Column("mobile_enc", LargeBinary),
    Column("mobile_hash", LargeBinary),  # found by, as a caller's phone is
    Column("birth_date", Date),
    Column("sex", Text),
    Column("registration", Text, nullable=False),
    Column("care_tags", ARRAY(Text), nullable=False),
    Column("household_id", BigInteger, ForeignKey("household.id")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("left_on", Date),  # moved away or died; erased after the privacy settings' days
    Column("left_reason", Text),
    Column("client_id", Uuid, unique=True),  # registered from a phone: by whom, sent once
    Column("registered_by", BigInteger, ForeignKey("account.id")),
)

person_house = Table(
    "person_house", metadata,
    Column("person_id", BigInteger, ForeignKey("person.id"), primary_key=True),
    Column("house_id", BigInteger, ForeignKey("house.id"), primary_key=True),
    Column("relation", Text, primary_key=True),
    Column("valid_from", Date, primary_key=True),
    Column("valid_to", Date),
)

organisation = Table(
    "organisation", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("address_id", BigInteger, ForeignKey("address.id")),
    *_located(),
    *_collected(),
)
grid.append_column(Column("organisation_id", BigInteger,
                          ForeignKey("organisation.id", use_alter=True)))

thing = Table(
    "thing", metadata,
    Column("component_id", Text, primary_key=True),
    Column("type_code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("department_code", Text, ForeignKey("department.code")),
    *_located(),
    Column("removed_on", Date),  # the day a file first said it removed (0090)
)

place = Table(
    "place", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    *_located(),
    *_collected(),
)

# Each organisation or place recorded or changed one at a time, before and after (0088), or
# imported or changed by a file (0090: its name, and who imported it when no account did).
registry_change = Table(
    "registry_change", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("account_id", BigInteger, ForeignKey("account.id")),
    Column("origin", Text),
    Column("file", Text),
    Column("layer", Text, nullable=False),
    Column("entity_id", BigInteger, nullable=False),
    Column("action", Text, nullable=False),
    Column("before", JSONB),
    Column("after", JSONB, nullable=False),
)

# Each registry file imported, by whom and what became of its rows (0091).
registry_import = Table(
    "registry_import", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("account_id", BigInteger, ForeignKey("account.id")),
    Column("origin", Text),
    Column("region_code", Text),
    Column("kind", Text, nullable=False),
    Column("file", Text),
    Column("rows", Integer, nullable=False),
    Column("stored", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
)

visit = Table(
    "visit", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("household_id", BigInteger, ForeignKey("household.id"), nullable=False),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("geom", _geom("POINT")),
    Column("note", Text, nullable=False),
    Column("client_id", Uuid, unique=True),
)

patrol = Table(
    "patrol", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("client_id", Uuid, nullable=False, unique=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=False),
    Column("track", _geom("LINESTRING")),  # erased after the privacy settings' days
    Column("length_m", Float, nullable=False),
    Column("note", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

patrol_grid = Table(
    "patrol_grid", metadata,
    Column("patrol_id", BigInteger, ForeignKey("patrol.id"), primary_key=True),
    Column("grid_id", BigInteger, ForeignKey("grid.id"), primary_key=True),
    Column("length_m", Float, nullable=False),
)

# micro-grids (微网格, 联户) under a grid, each with its leader (联户长), a resident (0076)
micro_grid = Table(
    "micro_grid", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("grid_id", BigInteger, ForeignKey("grid.id"), nullable=False),
    Column("serial", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("leader_id", BigInteger, ForeignKey("person.id", ondelete="SET NULL",
                                               use_alter=True)),  # (a cycle: its address)
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# campaigns (专项排查), the things each checks, taken when it was made, and their checks (0074)
campaign = Table(
    "campaign", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("client_id", Uuid, nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("instructions", Text, nullable=False),
    Column("layer", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("region_code", Text, ForeignKey("region.code")),  # none: the whole deployment
    Column("due", Date, nullable=False),
    Column("created_by", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),  # ended before all was checked (0075)
)

# each due date moved and each end, with who and why (0075)
campaign_log = Table(
    "campaign_log", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("campaign_id", BigInteger, ForeignKey("campaign.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("action", Text, nullable=False),
    Column("due_before", Date, nullable=False),
    Column("due", Date, nullable=False),
    Column("reason", Text, nullable=False),
)

campaign_target = Table(
    "campaign_target", metadata,
    Column("campaign_id", BigInteger, ForeignKey("campaign.id"), primary_key=True),
    Column("target", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("geom", _geom("POINT"), nullable=False),
    Column("grid_id", BigInteger, ForeignKey("grid.id")),
    Column("village_code", Text),
)

campaign_check = Table(
    "campaign_check", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("client_id", Uuid, nullable=False, unique=True),
    Column("campaign_id", BigInteger, nullable=False),
    Column("target", Text, nullable=False),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("result", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("geom", _geom("POINT")),
    Column("incident_id", BigInteger, ForeignKey("incident.id")),
)

# who reported a case from outside the grids, encrypted beside the masked form (0057)
incident_caller = Table(
    "incident_caller", metadata,
    Column("incident_id", BigInteger, ForeignKey("incident.id", ondelete="CASCADE"),
           primary_key=True),
    Column("name_shown", Text),
    Column("name_enc", LargeBinary),
    Column("phone_shown", Text),
    Column("phone_enc", LargeBinary),
    Column("phone_hash", LargeBinary),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("account_id", BigInteger, ForeignKey("account.id")),
    Column("origin", Text),  # with no account: the system user at a shell (0093)
    Column("action", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("entity_id", Text, nullable=False),
    Column("field", Text),
    Column("reason", Text, nullable=False),
)

calendar_day = Table(
    "calendar_day", metadata,
    Column("day", Date, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
)


media = Table(
    "media", metadata,
    Column("id", Text, primary_key=True),
    Column("content_type", Text, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("taken_at", DateTime(timezone=True)),
    Column("geom", _geom("POINT")),
    Column("name", Text, nullable=False),
    Column("uploaded_by", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
)

attachment = Table(
    "attachment", metadata,
    Column("media_id", Text, ForeignKey("media.id"), primary_key=True),
    Column("incident_id", BigInteger, nullable=False, index=True),
    Column("log_id", BigInteger, primary_key=True),
)


plan = Table(
    "plan", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("village_codes", ARRAY(Text), nullable=False),
    Column("base_versions", ARRAY(BigInteger), nullable=False),
    Column("created_by", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("published_by", BigInteger, ForeignKey("account.id")),
    Column("effective_from", DateTime(timezone=True)),
    Column("forced_reason", Text),
)
grid_version.append_column(Column("plan_id", BigInteger, ForeignKey("plan.id")))

plan_grid = Table(
    "plan_grid", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("plan_id", BigInteger, ForeignKey("plan.id"), nullable=False),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("village_code", Text, ForeignKey("region.code"), nullable=False),
    Column("households", Integer),
    Column("population", Integer),
    Column("geom", _geom("GEOMETRY"), nullable=False),
)

# another system told of each step of the cases it follows (0077)
webhook = Table(
    "webhook", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("client_id", Uuid, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", LargeBinary, nullable=False),
    Column("region_code", Text, ForeignKey("region.code")),
    Column("department_code", Text, ForeignKey("department.code")),
    Column("actions", ARRAY(Text)),
    Column("sources", ARRAY(Text)),
    Column("categories", ARRAY(Text)),  # only cases of these classes and those under them
    Column("created_by", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("paused_at", DateTime(timezone=True)),
    Column("failing_since", DateTime(timezone=True)),
    Column("retry_at", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("last_delivered_at", DateTime(timezone=True)),
    Column("sending_until", DateTime(timezone=True)),  # a batch on its way (0086)
)

webhook_delivery = Table(
    "webhook_delivery", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("webhook_id", BigInteger, ForeignKey("webhook.id", ondelete="CASCADE"),
           nullable=False),
    Column("log_ids", ARRAY(BigInteger), nullable=False),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_at", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    Column("resent_from", BigInteger),  # the batch it sends again, if it does (0083)
)

# who made, changed, paused, resumed, gave a new secret to or removed a webhook, and what
# changed; kept after the webhook is gone (0080)
webhook_event = Table(
    "webhook_event", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("webhook_id", BigInteger, nullable=False),
    Column("name", Text, nullable=False),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("event", Text, nullable=False),
    Column("detail", JSONB, nullable=False),
)
