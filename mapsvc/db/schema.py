"""Table definitions for queries (SQLAlchemy Core + GeoAlchemy2).

The migrations under ``migrations/versions`` create these tables; a test checks that the two agree.
"""

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()


def _geom(kind: str) -> Geometry:
    # Indexes are declared in the migration (partial GiST indexes among them).
    return Geometry(kind, srid=4326, spatial_index=False)


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
)

grid_version = Table(
    "grid_version", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("grid_id", BigInteger, ForeignKey("grid.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("geom", _geom("MULTIPOLYGON"), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
)

department = Table(
    "department", metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("region_code", Text, ForeignKey("region.code")),
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
)

incident = Table(
    "incident", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("client_id", Uuid, nullable=False, unique=True),
    Column("category_code", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("source", Text, nullable=False),
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
)

incident_log = Table(
    "incident_log", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("incident_id", BigInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
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
)

account_grid = Table(
    "account_grid", metadata,
    Column("account_id", BigInteger, ForeignKey("account.id"), primary_key=True),
    Column("grid_id", BigInteger, ForeignKey("grid.id"), primary_key=True),
)
