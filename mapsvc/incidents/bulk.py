"""Bulk intake from a CSV or Excel file (hotline exports, back-filled registers).

Rows are checked column by column, copied into a staging table and stored by the same located
insert as a single report, so they obey the same rules; so are their callers (a hotline's
``caller_name`` and ``caller_phone``). Bad rows are reported with their line
number and reason; the good ones are kept. Re-importing a file stores nothing twice.
"""

from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.db.engine import tried
from mapsvc.errors import InvalidInput
from mapsvc.geo.crs import CRS
from mapsvc.incidents.assignment import SWAPPED_COVERED, locate_staged, normalised, refusal
from mapsvc.incidents.callers import store_callers
from mapsvc.incidents.intake import SOURCE_COLUMNS, SOURCE_TYPES, insert_located
from mapsvc.incidents.model import (ACCURACY_MAX_M, CLIENT_ID_RULE, CONTROL, LOCAL_TIME,
                                   NAME_MOST, NUMBER_MOST, PHONE, PHONE_RULE, SOURCE_NAMES,
                                   SOURCES, UUID_TEXT, numbered_cases, swap_candidate)
from mapsvc.tables import (CheckedRows, RowError, coded, copy_into, in_figures, numbers,
                           read_table, rejected_lines)

REQUIRED = ("client_id", "category", "lon", "lat")
OPTIONAL = ("description", "crs", "accuracy_m", "reported_at", "source", "caller_name",
            "caller_phone")
# how a sheet made in Chinese heads each column, and the pages name it (names.js)
HEADINGS = {"client_id": "工单编号", "category": "类别", "lon": "经度", "lat": "纬度",
            "description": "问题描述", "crs": "坐标系", "accuracy_m": "定位精度",
            "reported_at": "上报时间", "source": "来源", "caller_name": "来电人",
            "caller_phone": "联系电话"}


@dataclass
class BulkResult:
    rows: int = 0
    inserted: int = 0
    already_stored: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return rejected_lines(self.errors)


def read_incidents(source: Path | IO[bytes], filename: str) -> pd.DataFrame:
    return read_table(source, filename, REQUIRED, OPTIONAL, HEADINGS)


def _parse(text_: pd.Series, **kw) -> pd.Series:
    """ISO 8601 at C speed; only what that misses goes through the slower general parser."""
    parsed = pd.to_datetime(text_, errors="coerce", format="ISO8601", **kw)
    retry = parsed.isna() & text_.notna()
    if retry.any():
        parsed = parsed.astype(f"datetime64[us{', UTC' if kw else ''}]")
        parsed[retry] = pd.to_datetime(text_[retry], errors="coerce", format="mixed", **kw)
    return parsed


def _parse_times(text_: pd.Series) -> pd.Series:
    """Times (``in_figures``) in UTC; those written without a zone are China Standard Time.
    NaT for any other text."""
    text_ = in_figures(text_)
    when = pd.Series(pd.NaT, index=text_.index, dtype="datetime64[us, UTC]")
    given = (text_ != "").to_numpy()
    zoned = text_.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).to_numpy() & given
    if zoned.any():
        when[zoned] = _parse(text_[zoned], utc=True).astype("datetime64[us, UTC]")
    naive = given & ~zoned
    if naive.any():
        local = _parse(text_[naive]).astype("datetime64[us]")
        when[naive] = local.dt.tz_localize(LOCAL_TIME, ambiguous="NaT",
                                           nonexistent="NaT").dt.tz_convert("UTC")
    return when


def _client_ids(given: pd.Series, source: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Each row's client id as a UUID's text (``numbered_cases``), empty where it is neither a
    UUID nor a number; and its source's number, missing where it has none."""
    numbered = ~given.str.fullmatch(UUID_TEXT).to_numpy(dtype=bool)
    if not numbered.any():
        return given, given.where(numbered)
    number = given[numbered]
    number = number.where((number != "") & (number.str.len() <= NUMBER_MOST)
                          & ~number.str.contains(CONTROL)).reindex(given.index)
    fit = number.notna().to_numpy()
    client_id = given.mask(numbered, "")
    client_id[fit] = numbered_cases(source[fit].tolist(), number[fit].tolist())
    return client_id, number


# what a page may say a row's refusal by (``RowError.ctx``), beside those of each check
LON_RANGE = {"rule": "range", "low": -180, "high": 180}
LAT_RANGE = {"rule": "range", "low": -90, "high": 90}


def _check(frame: pd.DataFrame, default_crs: CRS, default_source: str,
           now: datetime) -> tuple[pd.DataFrame, list[RowError]]:
    """Vectorised checks; returns the clean rows (with their line) and the errors found."""
    checked = CheckedRows(frame)
    flag, line = checked.flag, checked.line

    # a source by its code or by its name on the pages (12345热线)
    source = coded(frame["source"], SOURCE_NAMES).replace("", default_source)
    client_id, number = _client_ids(frame["client_id"], source)
    frame = frame.assign(client_id=client_id)
    flag(client_id == "", "client_id", CLIENT_ID_RULE, {"rule": "client_id", "most": NUMBER_MOST})
    checked.repeats(frame["client_id"].str.lower().str.replace("-", ""), "client_id")
    checked.empty("category")
    flag(frame["description"].str.len() > 4000, "description", "longer than 4000 characters",
         {"rule": "longest", "most": 4000})
    coords = {}
    for column in ("lon", "lat"):
        coords[column] = numbers(frame[column])
        flag(~np.isfinite(coords[column]), column, "not a finite number", {"rule": "number"})
    lon, lat = np.nan_to_num(coords["lon"]), np.nan_to_num(coords["lat"])
    flag(np.abs(lon) > 180, "lon", "must be between -180 and 180", LON_RANGE)
    # A latitude beyond ±90 may be a swapped pair; the grids decide which error it is.
    flag((np.abs(lat) > 90) & ~swap_candidate(lon, lat), "lat", "must be between -90 and 90",
         LAT_RANGE)
    crs = frame["crs"].str.lower().replace({"": default_crs.value, "epsg:4326": "wgs84",
                                           "epsg:4490": "cgcs2000", "gcj-02": "gcj02",
                                           "bd-09": "bd09"})
    checked.one_of(crs, "crs", [c.value for c in CRS])
    accuracy = numbers(frame["accuracy_m"])
    metres = (accuracy >= 0) & (accuracy <= ACCURACY_MAX_M)
    flag((frame["accuracy_m"] != "") & ~metres, "accuracy_m",
         f"not a number of metres from 0 to {ACCURACY_MAX_M:,}",
         {"rule": "range", "low": 0, "high": ACCURACY_MAX_M})
    when = _parse_times(frame["reported_at"])
    flag((frame["reported_at"] != "") & when.isna().to_numpy(), "reported_at",
         "not a date and time", {"rule": "time"})
    checked.one_of(source, "source", SOURCES)
    # who called, as a report's ``caller`` takes them (a file of none read at once)
    name, phone = frame["caller_name"], frame["caller_phone"]
    if (name != "").any():
        name = name.str.replace(r"\s+", " ", regex=True)
        flag(name.str.len() > NAME_MOST, "caller_name", f"longer than {NAME_MOST} characters",
             {"rule": "longest", "most": NAME_MOST})
        flag(name.str.contains(CONTROL), "caller_name", "must hold printable characters only",
             {"rule": "printable"})
    if (phone != "").any():
        phone = phone.str.replace(r"\s", "", regex=True)
        flag((phone != "") & ~phone.str.fullmatch(PHONE), "caller_phone", PHONE_RULE,
             {"rule": "phone"})

    ok = checked.ok
    raw_lon, raw_lat, raw_crs = coords["lon"][ok], coords["lat"][ok], crs[ok].array
    # the columns as they are (Arrow strings, zoned times), none turned into Python objects
    clean = pd.DataFrame({"line": line[ok], "client_id": frame["client_id"][ok].array,
                          "category": frame["category"][ok].array,
                          "description": frame["description"][ok].array,
                          "source": source[ok].array,
                          "source_number": number[ok].array,
                          "reported_at": when[ok].astype("datetime64[us, UTC]").fillna(now).array,
                          "raw_lon": raw_lon, "raw_lat": raw_lat, "raw_crs": raw_crs,
                          "accuracy_m": accuracy[ok], "caller_name": name[ok].array,
                          "caller_phone": phone[ok].array})
    # a latitude out of range left here is a swap candidate's
    clean["lon"], clean["lat"], clean["swap_lon"], clean["swap_lat"] = normalised(
        raw_lon, raw_lat, raw_crs)
    return clean, checked.errors


STAGE = ("CREATE TEMP TABLE incident_stage (line int, "
         + ", ".join(f"{name} {kind}" for name, kind in SOURCE_TYPES.items()) + ") ON COMMIT DROP")
STAGING_TABLES = ("incident_stage", "incident_located")

# A row's class by its code, or by its name (暴露垃圾) where no other class has that name.
NAMED_CATEGORY = text("""
UPDATE incident_stage s SET category = n.code
  FROM (SELECT name, min(code) AS code FROM category GROUP BY name HAVING count(*) = 1) n
 WHERE s.category = n.name AND NOT EXISTS (SELECT 1 FROM category c WHERE c.code = s.category)
""")
# the rows left naming no class, and whether they name several by their name
UNKNOWN_CATEGORY = text("""
SELECT s.line, s.category, (SELECT count(*) FROM category n WHERE n.name = s.category) > 1
  FROM incident_stage s LEFT JOIN category c ON c.code = s.category
 WHERE c.code IS NULL ORDER BY s.line
""")
# After the insert, a staged row with a known category whose client id is stored nowhere was
# held back: its latitude is out of range or its coordinates look swapped.
HELD_BACK = text(f"""
SELECT s.line, s.raw_lon, s.raw_lat, {SWAPPED_COVERED.format(
    lon="s.swap_lon", lat="s.swap_lat", at="s.reported_at")} AS swapped
  FROM incident_stage s JOIN category c ON c.code = s.category
 WHERE NOT EXISTS (SELECT 1 FROM incident i WHERE i.client_id = s.client_id) ORDER BY s.line
""")


async def import_incidents(conn: AsyncConnection, frame: pd.DataFrame, *,
                           crs: CRS = CRS.wgs84, source: str = "hotline", actor: str,
                           reporter_id: int | None = None,
                           by_row: tuple[str, str] | None = None,
                           check: bool = False) -> BulkResult:
    """Store every good row of ``frame`` (see ``read_table``) in the caller's transaction, each
    reported by ``reporter_id`` and logged as by ``actor``; or, with ``by_row``, by the
    reporter and actor that SQL finds for each row (``insert_located``'s ``reporter`` and
    ``actor``). ``check``: say what it would store and refuse, storing nothing."""
    def imported(c: AsyncConnection) -> Awaitable[BulkResult]:
        return _imported(c, frame, crs, source, actor, reporter_id, by_row)
    return await (tried(conn, imported) if check else imported(conn))


async def _imported(conn: AsyncConnection, frame: pd.DataFrame, crs: CRS, source: str,
                    actor: str, reporter_id: int | None,
                    by_row: tuple[str, str] | None) -> BulkResult:
    if source not in SOURCES:
        raise InvalidInput(f"must be one of {', '.join(SOURCES)}", field="source")
    now = pd.Timestamp(datetime.now(timezone.utc))
    clean, errors = _check(frame, crs, source, now)
    result = BulkResult(rows=len(frame), errors=errors)
    for table in STAGING_TABLES:
        await conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table}"))
    await conn.execute(text(STAGE))
    await copy_into(conn, "incident_stage", clean[["line", *SOURCE_COLUMNS]],
                    not_null=("description",))
    await conn.execute(text("ANALYZE incident_stage"))
    await locate_staged(conn, """SELECT line, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom,
                                        reported_at AS at
                                   FROM incident_stage WHERE lon IS NOT NULL""",
                        into="incident_located")
    await conn.execute(NAMED_CATEGORY)
    unknown = (await conn.execute(UNKNOWN_CATEGORY)).all()
    result.errors += [RowError(line, "category", f"{code!r} names more than one class: give its "
                               "code", {"rule": "ambiguous", "name": code}) if several else
                      RowError(line, "category", f"no class has the code or name {code!r}",
                               {"rule": "unknown", "code": code})
                      for line, code, several in unknown]
    reporter, logged = by_row or ("CAST(:reporter_id AS bigint)", "CAST(:actor AS text)")
    result.inserted = (await conn.execute(text(insert_located(
        "incident_stage s JOIN incident_located l ON l.line = s.line",
        "s.reported_at, s.line", reporter=reporter, actor=logged)),
        {"actor": actor, "reporter_id": reporter_id})).scalar_one()
    await store_callers(conn, clean)
    held = (await conn.execute(HELD_BACK)).all()
    for line, lon, lat, swapped in held:
        refused = refusal(lon, lat, swapped)
        result.errors.append(RowError(line, refused.field, refused.reason,
                                      {"rule": "swapped"} if swapped else LAT_RANGE))
    result.errors.sort(key=lambda e: e.line)
    result.already_stored = len(clean) - len(unknown) - len(held) - result.inserted
    return result
