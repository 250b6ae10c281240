"""Registry files (CSV or Excel) into the database: standard addresses first, then the people,
organisations, components and places on them. Every row is stored or reported with its line
and reason; a file is one transaction, and an account's fills or changes its jurisdiction
alone. A file imported again stores nothing twice: an address is known by its text; a person
by their name and ID number at their house (or their name alone, where no ID number or birth
date tells them apart), corrected to the file (each field audited as a correction on the
register is), and an ID number registered at another house or to another name refused; a
component by its ID and an organisation or place by its number (a ledger's 编号), its code, or
else by name and kind at one point, and updated to the file (renamed, moved, a component's
state), each organisation's and place's import and change kept in its record with the file and
who imported it."""

import re
from collections.abc import Awaitable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from stdnum.cn import uscc

from mapsvc.accounts.jurisdiction import registry_scope
from mapsvc.accounts.model import Account
from mapsvc.db.engine import tried
from mapsvc.errors import InvalidInput
from mapsvc.geo.crs import CRS, to_wgs84
from mapsvc.geojson import Filters
from mapsvc.incidents.assignment import locate_staged
from mapsvc.registry.addresses import normalise, parts
from mapsvc.incidents.bulk import LAT_RANGE, LON_RANGE
from mapsvc.registry.collection import (CODE_HEADINGS, ORGANISATION_KIND_NAMES,
                                       ORGANISATION_KINDS, TABLES, changed_by,
                                       logged_insert, logged_update)
from mapsvc.registry.imports import keep_import
from mapsvc.registry.people import (MOBILE_NUMBER, REGISTRATION_NAMES, REGISTRATIONS,
                                   RELATION_NAMES, RELATIONS, SEX_NAMES, SEXES)
from mapsvc.registry.privacy import (
    ID_NUMBER,
    MOBILE,
    encrypt,
    lookup_hash,
    normalise_id,
    phone_hash,
    valid_id_number,
)
from mapsvc.tables import (CheckedRows, RowError, bytea_text, coded, copy_into, in_figures,
                           numbers, read_table, rejected_lines)

KINDS = ("addresses", "people", "organisations", "things", "places")
POINT_KINDS = ("organisations", "things", "places")  # a point each, updated by a file again
# how the pages name a house's uses and a component's states (a sheet may write either)
HOUSE_USE_NAMES = {"residential": "住宅", "commercial": "商业", "mixed": "商住",
                   "industrial": "工业", "public": "公共", "other": "其他"}
THING_STATE_NAMES = {"normal": "完好", "damaged": "损坏", "lost": "丢失", "removed": "拆除"}
COLUMNS = {
    "addresses": (("address", "lon", "lat"), ("county", "crs", "use", "rental", "area_m2")),
    "people": (("address", "name", "registration"),
               ("county", "id_number", "mobile", "birth_date", "sex", "care_tags", "household",
                "relation")),
    "organisations": (("name", "kind", "lon", "lat"), ("crs", "code", "id")),
    "things": (("component_id", "name", "lon", "lat"), ("crs", "state", "department")),
    "places": (("name", "kind", "lon", "lat"), ("crs", "code", "id")),
}
# how a sheet made in Chinese (a community's 人口信息表, say) heads each kind's columns
_PLACED = {"address": "地址", "lon": "经度", "lat": "纬度", "crs": "坐标系", "county": "区县代码"}
HEADINGS = {
    "addresses": {**_PLACED, "use": "房屋用途", "rental": "是否出租", "area_m2": "建筑面积"},
    "people": {**_PLACED, "name": "姓名", "registration": "人口类型", "id_number": "身份证号",
               "mobile": "手机号码", "birth_date": "出生日期", "sex": "性别",
               "care_tags": "关怀标签", "household": "户号", "relation": "与房屋关系"},
    "organisations": {**_PLACED, "name": "名称", "kind": ("类型", "类别"),
                      "code": CODE_HEADINGS["organisations"], "id": "编号"},
    "things": {**_PLACED, "component_id": "部件编码", "name": "名称", "state": "状态",
               "department": "权属部门"},
    "places": {**_PLACED, "name": "名称", "kind": ("类型", "类别"),
               "code": CODE_HEADINGS["places"], "id": "编号"},
}


# how the pages name each kind of file
KIND_NAMES = {"addresses": "标准地址", "people": "人口", "organisations": "实有单位",
              "things": "部件", "places": "场所"}


def columns(kind: str) -> list[dict]:
    """The columns of a file of ``kind``, those needed first: each by its name, its heading in
    a sheet made in Chinese, whether it is needed, and whether it is the ledger's alone (the
    number, 编号, a ledger downloaded gives each record: no one fills it in)."""
    required, optional = COLUMNS[kind]
    return [{"column": c, "heading": _heading(HEADINGS[kind][c]), "required": c in required,
             "ledger": c == "id"} for c in required + optional]


def _heading(given: str | tuple[str, ...]) -> str:
    """A column's heading, of those a sheet may give it the one a template writes."""
    return given if isinstance(given, str) else given[0]


def template(kind: str) -> str:
    """An empty file of ``kind`` to fill in (CSV): its columns headed in Chinese."""
    return ",".join(c["heading"] for c in columns(kind) if not c["ledger"]) + "\r\n"


@dataclass(frozen=True)
class Importer:
    """Who imports a registry file, as the records it stores or changes keep it: an account
    (whose jurisdiction alone its rows may fill or change), or the system user at a shell
    (``origin``, anywhere); and the file's name."""
    account: Account | None = None
    origin: str | None = None
    file: str | None = None

    def who(self) -> dict:
        """``collection.BY``'s parameters."""
        return changed_by(self.account, self.origin, self.file)


@dataclass
class RegistryResult:
    kind: str
    rows: int = 0
    stored: int = 0
    updated: int = 0  # records held already changed by the file (people: corrected)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return rejected_lines(self.errors)

    @property
    def held(self) -> int:
        """The rows naming what the registry holds already, as the file has it: left so."""
        return self.rows - self.rejected - self.stored - self.updated


class _Rows(CheckedRows):
    """Registry rows: the checks of any file, and coordinates in a declared CRS."""

    def coordinates(self, default_crs: CRS) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = numbers(self.frame["lon"]), numbers(self.frame["lat"])
        self.flag(~np.isfinite(lon) | (np.abs(np.nan_to_num(lon)) > 180), "lon",
                  "must be a number between -180 and 180", LON_RANGE)
        self.flag(~np.isfinite(lat) | (np.abs(np.nan_to_num(lat)) > 90), "lat",
                  "must be a number between -90 and 90", LAT_RANGE)
        crs = self.frame["crs"].str.lower().replace({"": default_crs.value})
        self.one_of(crs, "crs", [c.value for c in CRS])
        x, y = np.nan_to_num(lon), np.nan_to_num(lat)
        for name in crs[~self.bad].unique():
            rows = (crs == name).to_numpy() & ~self.bad
            x[rows], y[rows] = to_wgs84(x[rows], y[rows], CRS(name))
        return x, y

    def good(self) -> pd.DataFrame:
        out = self.frame[~self.bad].copy()
        out.insert(0, "line", self.line[~self.bad])
        return out


def _binary(column: str) -> bool:
    return column.endswith(("_enc", "_hash"))


def _text_array(values) -> str:
    """``values`` as PostgreSQL's literal of a text[]: each quoted, its quotes and backslashes
    escaped."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for v in values) + "}"


async def _stage(conn: AsyncConnection, name: str, frame: pd.DataFrame) -> None:
    """A temporary table holding ``frame``: its columns as text, encrypted ones as bytea."""
    await conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{name}"))
    columns = ", ".join(f"{c} {'bytea' if _binary(c) else 'text'}"
                        for c in frame.columns if c != "line")
    await conn.execute(text(f"CREATE TEMP TABLE {name} (line int, {columns}) ON COMMIT DROP"))
    frame = frame.assign(**{c: bytea_text(frame[c]) for c in frame.columns if _binary(c)})
    await copy_into(conn, name, frame,
                    not_null=tuple(c for c in frame.columns if c != "line" and not _binary(c)))
    await conn.execute(text(f"ANALYZE {name}"))


def _normalised(addresses: pd.Series) -> pd.Series:
    """Each address normalised, each text once (a house's people repeat its address)."""
    texts = addresses.unique()
    return addresses.map(dict(zip(texts, map(normalise, texts))))


def _county(rows: _Rows, county: str | None) -> None:
    frame = rows.frame
    frame["county"] = frame["county"].replace("", county or "")
    rows.flag(~frame["county"].str.fullmatch(r"\d{6}"), "county",
              "needs a 6-digit county code (column county or --county)", {"rule": "county"})


async def _unknown(conn: AsyncConnection, rows: _Rows, column: str, values: pd.Series,
                   known: str, what: str, among=True) -> None:
    """Flag (naming ``column``) the rows (of those ``among`` picks) whose ``values`` none of
    ``known`` (a query) gives: no such ``what``."""
    known = set((await conn.execute(text(known))).scalars())
    rows.flag(among & ~values.isin(known), column, lambda i: f"no {what} {values.iloc[i]}",
              lambda i: {"rule": "unknown", "value": values.iloc[i]})


_COUNTIES = "SELECT code FROM region WHERE level = 'county'"


async def _outside(conn: AsyncConnection, rows: _Rows, by: Importer, stage: str, placed: str,
                   column: str, rule: str) -> None:
    """Refuse (naming ``column``) the rows staged in ``stage`` whose place, as ``placed`` gives
    it (a query of their ``line``, ``grid_id`` and ``village_code``), lies outside the importing
    account's jurisdiction, taking them off the stage. ``rule``: outside (the row's place) or
    outside_held (that of the record it names)."""
    f = Filters()
    if by.account is not None:
        registry_scope(by.account, f, alias="p", people=False)
    if f.clauses:  # not at a shell, nor an administrator
        await _refused(conn, rows, stage, f"SELECT p.line FROM ({placed}) p "
                       f"WHERE NOT coalesce({f.where()}, false)", column, {"rule": rule},
                       f.params)


# why the service refuses a line, by its rule (the pages say it in their words)
_REASONS = {"outside": "lies outside your jurisdiction",
            "registered": "this ID number is registered already, at another address or to "
                          "another name",
            "namesakes": "more than one person of this name lives at this address: give their "
                         "ID number or birth date",
            "outside_held": "names a record held outside your jurisdiction",
            "unknown": "names no record the registry holds",
            "code_taken": "is the code of another record than the one its number names"}


async def _refused(conn: AsyncConnection, rows: _Rows, stage: str, lines: str, column: str,
                   ctx, params: dict | None = None) -> None:
    """Refuse (naming ``column``, saying why by ``ctx``: a dict, or a function of the line
    giving one) the rows staged in ``stage`` whose lines ``lines`` (a query) gives, taking
    them off the stage."""
    for line in sorted((await conn.execute(text(
            f"DELETE FROM {stage} WHERE line IN ({lines}) RETURNING line"),
            params or {})).scalars()):
        said = ctx(line) if callable(ctx) else ctx
        rows.errors.append(RowError(line, column, _REASONS[said["rule"]], said))


# The rows staged ({what}_stage) naming a record held ({what}_matched: each line's id, none for
# one new) that a row above named already: taken off the stage, each with the line it repeats.
_REPEATS = """
WITH repeats AS (
    DELETE FROM {what}_stage s USING {what}_matched m
     WHERE m.line = s.line AND m.id IS NOT NULL
       AND EXISTS (SELECT 1 FROM {what}_matched e WHERE e.id = m.id AND e.line < m.line)
    RETURNING s.line, m.id)
SELECT r.line, (SELECT min(e.line) FROM {what}_matched e WHERE e.id = r.id) FROM repeats r
 ORDER BY r.line
"""


async def _repeated(conn: AsyncConnection, rows: _Rows, what: str, table: str) -> None:
    """Refuse the rows staged naming a record of ``table`` a row above named (_REPEATS)."""
    rows.errors += [RowError(line, "name", f"names the {table} of line {first} again",
                             {"rule": "repeated", "line": first})
                    for line, first in await conn.execute(text(_REPEATS.format(what=what)))]


# where a row staged lies (of a locate_staged table ``{located}``)
_LOCATED = """SELECT l.line, l.grid_id, g.village_code FROM {located} l
                LEFT JOIN grid g ON g.id = l.grid_id"""


async def import_addresses(conn: AsyncConnection, rows: _Rows, county: str | None,
                           crs: CRS, by: Importer) -> int:
    frame = rows.frame
    _county(rows, county)
    await _unknown(conn, rows, "county", frame["county"], _COUNTIES, "county")
    frame["full_text"] = _normalised(frame["address"])
    rows.flag(frame["full_text"] == "", "address", "empty", {"rule": "empty"})
    x, y = rows.coordinates(crs)
    frame["lon"], frame["lat"] = x.astype(str), y.astype(str)
    frame["rental"] = frame["rental"].str.lower().isin(["1", "true", "yes", "是", "y"])
    frame["use"] = coded(frame["use"], HOUSE_USE_NAMES)
    rows.one_of(frame["use"], "use", HOUSE_USE_NAMES, HOUSE_USE_NAMES, required=False)
    area = numbers(frame["area_m2"])
    rows.flag((frame["area_m2"] != "") & ~(area > 0), "area_m2", "must be a positive number",
              {"rule": "positive"})
    good = rows.good()
    split = pd.DataFrame([parts(t).as_dict() for t in good["full_text"]], index=good.index)
    staged = pd.concat([good[["line", "county", "full_text", "lon", "lat", "use", "rental",
                              "area_m2"]].astype(str), split.fillna("")], axis=1)
    await _stage(conn, "address_stage", staged)
    await locate_staged(conn, """SELECT line, ST_SetSRID(ST_MakePoint(lon::float8, lat::float8),
                                         4326) AS geom, now() AS at FROM address_stage""",
                        into="address_located")
    await _outside(conn, rows, by, "address_stage", _LOCATED.format(located="address_located"),
                   "lon", "outside")
    stored = (await conn.execute(text("""
        WITH a AS (
            INSERT INTO address (full_text, county_code, street, number, compound, building,
                                 entrance, floor, room, geom, grid_id, grid_version_id,
                                 village_code, assignment)
            SELECT DISTINCT ON (s.county, s.full_text) s.full_text, s.county,
                   nullif(s.street, ''), nullif(s.number, ''), nullif(s.compound, ''),
                   nullif(s.building, ''), nullif(s.entrance, ''), nullif(s.floor, ''),
                   nullif(s.room, ''),
                   ST_SetSRID(ST_MakePoint(s.lon::float8, s.lat::float8), 4326),
                   l.grid_id, l.grid_version_id, g.village_code, l.method
              FROM address_stage s JOIN address_located l USING (line)
              LEFT JOIN grid g ON g.id = l.grid_id
             ORDER BY s.county, s.full_text, s.line
            ON CONFLICT (county_code, full_text) DO NOTHING
            RETURNING id, county_code, full_text)
        INSERT INTO house (address_id, use, rental, area_m2)
        SELECT a.id, coalesce(nullif(s.use, ''), 'residential'), s.rental::boolean,
               nullif(s.area_m2, '')::numeric
          FROM a JOIN (SELECT DISTINCT ON (county, full_text) * FROM address_stage
                        ORDER BY county, full_text, line) s
            ON s.county = a.county_code AND s.full_text = a.full_text
        """))).rowcount
    return stored


def _care_tags(cell: str) -> list[str]:
    """A cell's care tags, however they are separated, each once."""
    return list(dict.fromkeys(t.strip() for t in re.split(r"[|、,，;；]", cell) if t.strip()))


# The person each row staged (person_stage) names among those of its name living at its house
# who have not left: the one of its ID number; else the one no ID number, nor birth date, tells
# apart from it (one registered with none given it by the file; one of namesakes the row cannot
# tell apart: ``namesakes``, refused). None: one new.
_PEOPLE_MATCHED = """
CREATE TEMP TABLE person_matched ON COMMIT DROP AS
WITH held AS (
    SELECT s.line, p.id, p.id_number_hash = s.id_number_hash AS by_id
      FROM person_stage s
      JOIN person_house ph ON ph.house_id = s.house_id::bigint AND ph.valid_to IS NULL
      JOIN person p ON p.id = ph.person_id AND p.left_on IS NULL AND p.name = s.name
     WHERE p.id_number_hash = s.id_number_hash
        OR (s.id_number_hash IS NULL OR p.id_number_hash IS NULL)
           AND (p.birth_date IS NULL OR s.birth_date = ''
                OR p.birth_date = CAST(nullif(s.birth_date, '') AS date)))
SELECT line, coalesce(min(id) FILTER (WHERE by_id),
                      CASE WHEN count(DISTINCT id) = 1 THEN min(id) END) AS id,
       NOT bool_or(coalesce(by_id, false)) AND count(DISTINCT id) > 1 AS namesakes
  FROM held GROUP BY line
"""
# What the file corrects of each person it names (person_matched): each detail it gives that
# differs from what is held (a blank cell leaves it as it is), into person_corrected for those
# of any; then _PEOPLE_CORRECTED changes them, written to the audit log a row a field as a
# correction on the register is, by whoever imports the file (``BY``'s account or origin),
# returning how many people it corrected.
_PEOPLE_CHANGES = """
CREATE TEMP TABLE person_corrected ON COMMIT DROP AS
SELECT * FROM (
    SELECT s.*, m.id, array_remove(ARRAY[
               CASE WHEN p.id_number_hash IS NULL AND s.id_number_hash IS NOT NULL
                    THEN 'id_number' END,
               CASE WHEN s.mobile_hash IS NOT NULL
                         AND p.mobile_hash IS DISTINCT FROM s.mobile_hash THEN 'mobile' END,
               CASE WHEN p.birth_date IS DISTINCT FROM
                         coalesce(CAST(nullif(s.birth_date, '') AS date), p.birth_date)
                    THEN 'birth_date' END,
               CASE WHEN p.sex IS DISTINCT FROM coalesce(nullif(s.sex, ''), p.sex)
                    THEN 'sex' END,
               CASE WHEN s.registration <> p.registration THEN 'registration' END,
               CASE WHEN s.care_tags <> '{}'
                         AND NOT (CAST(s.care_tags AS text[]) @> p.care_tags
                                  AND p.care_tags @> CAST(s.care_tags AS text[]))
                    THEN 'care_tags' END], NULL) AS fields
      FROM person_stage s JOIN person_matched m USING (line) JOIN person p ON p.id = m.id) c
 WHERE fields <> '{}'
"""
_PEOPLE_CORRECTED = """
WITH changed AS (
    UPDATE person p
       SET id_number_enc = CASE WHEN 'id_number' = ANY (c.fields) THEN c.id_number_enc
                                ELSE p.id_number_enc END,
           id_number_hash = coalesce(c.id_number_hash, p.id_number_hash),
           mobile_enc = CASE WHEN 'mobile' = ANY (c.fields) THEN c.mobile_enc
                             ELSE p.mobile_enc END,
           mobile_hash = coalesce(c.mobile_hash, p.mobile_hash),
           birth_date = coalesce(CAST(nullif(c.birth_date, '') AS date), p.birth_date),
           sex = coalesce(nullif(c.sex, ''), p.sex),
           registration = c.registration,
           care_tags = CASE WHEN 'care_tags' = ANY (c.fields) THEN CAST(c.care_tags AS text[])
                            ELSE p.care_tags END
      FROM person_corrected c
     WHERE p.id = c.id
    RETURNING p.id),
audited AS (
    INSERT INTO audit_log (account_id, origin, action, entity, entity_id, field, reason)
    SELECT :account, :origin, 'correct', 'person', c.id::text, f.field,
           '导入文件' || coalesce(' ' || CAST(:file AS text), '') || ' 第 ' || c.line || ' 行'
      FROM person_corrected c, unnest(c.fields) WITH ORDINALITY AS f (field, n)
     ORDER BY c.line, f.n)
SELECT count(*) FROM changed
"""


async def import_people(conn: AsyncConnection, rows: _Rows, county: str | None,
                        by: Importer) -> tuple[int, int]:
    """People, each on the standard address of their house, in the household its number names:
    one registered there already (_PEOPLE_MATCHED) corrected to the row (_PEOPLE_CHANGES),
    within the importing account's jurisdiction alone. The numbers stored and corrected."""
    frame = rows.frame
    _county(rows, county)
    frame["full_text"] = _normalised(frame["address"])
    for column, names in (("registration", REGISTRATION_NAMES), ("sex", SEX_NAMES),
                          ("relation", RELATION_NAMES)):  # by its code, or its name (男, 流动)
        frame[column] = coded(frame[column], names)
    rows.empty("name")
    rows.one_of(frame["registration"], "registration", REGISTRATIONS, REGISTRATION_NAMES)
    given = frame["id_number"] != ""
    rows.flag(given & ~frame["id_number"].map(valid_id_number), "id_number",
              "not a valid resident ID number (18 characters, check digit)",
              {"rule": "id_number"})
    rows.repeats(frame["id_number"].map(normalise_id), "id_number", among=given)
    rows.flag((frame["mobile"] != "") & ~frame["mobile"].str.fullmatch(MOBILE_NUMBER), "mobile",
              "must be 11 digits starting with 1", {"rule": "mobile"})
    rows.one_of(frame["sex"], "sex", SEXES, SEX_NAMES, required=False)
    rows.one_of(frame["relation"], "relation", RELATIONS, RELATION_NAMES, required=False)
    birth = pd.to_datetime(in_figures(frame["birth_date"]).replace("", None), errors="coerce",
                           format="mixed")
    rows.flag((frame["birth_date"] != "") & birth.isna().to_numpy(), "birth_date",
              "not a date (1990-01-02, 1990/1/2, 1990年1月2日)", {"rule": "date"})
    frame["birth_date"] = birth.dt.strftime("%Y-%m-%d").fillna("").to_numpy()
    # people hang on standard addresses: an address not in the registry is reported, not made up
    named = frame[["county", "full_text"]].drop_duplicates()
    addresses = pd.DataFrame((await conn.execute(text(
        "SELECT u.county, u.full_text, h.id AS house_id"
        "  FROM unnest(CAST(:counties AS text[]), CAST(:texts AS text[])) AS u (county, full_text)"
        "  JOIN address a ON a.county_code = u.county AND a.full_text = u.full_text"
        "  JOIN house h ON h.address_id = a.id"),
        {"counties": named["county"].tolist(), "texts": named["full_text"].tolist()}
    )).mappings().all(), columns=["county", "full_text", "house_id"])
    matched = frame[["county", "full_text"]].merge(addresses, how="left",
                                                   on=["county", "full_text"])
    rows.flag(matched["house_id"].isna().to_numpy(), "address",
              lambda i: f"no standard address {frame['full_text'].iloc[i]!r} in county "
                        f"{frame['county'].iloc[i]}",
              lambda i: {"rule": "no_address", "value": frame["full_text"].iloc[i]})
    frame["house_id"] = matched["house_id"].astype("Int64").astype(str).to_numpy()
    rows.repeats(frame[["house_id", "name", "birth_date"]], "name", among=~given)
    good = rows.good()
    staged = pd.DataFrame({
        "line": good["line"], "house_id": good["house_id"], "household": good["household"],
        "name": good["name"], "registration": good["registration"], "sex": good["sex"],
        "birth_date": good["birth_date"], "relation": good["relation"],
        "care_tags": [_text_array(_care_tags(cell)) for cell in good["care_tags"]],
        "id_number_enc": [encrypt(normalise_id(v), ID_NUMBER) if v else None
                          for v in good["id_number"]],
        "id_number_hash": [lookup_hash(v) if v else None for v in good["id_number"]],
        "mobile_enc": [encrypt(v, MOBILE) if v else None for v in good["mobile"]],
        "mobile_hash": [phone_hash(v) if v else None for v in good["mobile"]],
    })
    await _stage(conn, "person_stage", staged)
    await _outside(conn, rows, by, "person_stage", """
        SELECT s.line, a.grid_id, a.village_code FROM person_stage s
          JOIN house h ON h.id = s.house_id::bigint JOIN address a ON a.id = h.address_id""",
                   "address", "outside")
    # one file of people at a time: two sent at once store each person once
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('registry import person'))"))
    await conn.execute(text("DROP TABLE IF EXISTS pg_temp.person_matched, "
                            "pg_temp.person_corrected"))
    await conn.execute(text(_PEOPLE_MATCHED))
    await _refused(conn, rows, "person_stage", "SELECT line FROM person_matched WHERE namesakes",
                   "name", {"rule": "namesakes"})
    await _repeated(conn, rows, "person", "person")
    await _refused(conn, rows, "person_stage",
                   "SELECT s.line FROM person_stage s JOIN person p "
                   "ON p.id_number_hash = s.id_number_hash AND p.left_on IS NULL "
                   "LEFT JOIN person_matched m USING (line) WHERE p.id IS DISTINCT FROM m.id",
                   "id_number", {"rule": "registered"})
    await conn.execute(text(_PEOPLE_CHANGES))
    corrected = (await conn.execute(text(_PEOPLE_CORRECTED), by.who())).scalar_one()
    await conn.execute(text("DELETE FROM person_stage s USING person_matched m "
                            "WHERE m.line = s.line AND m.id IS NOT NULL"))
    for statement in (
        # ids drawn first, so each person's tie to their house can follow from their own row
        "ALTER TABLE person_stage ADD COLUMN pid bigint",
        "UPDATE person_stage SET pid = nextval(pg_get_serial_sequence('person', 'id'))",
        # one household per house and household number (户号), numbered in the order the
        # file first names them
        """INSERT INTO household (house_id, number)
           SELECT s.house_id::bigint, nullif(s.household, '') FROM person_stage s
            WHERE NOT EXISTS (SELECT 1 FROM household h WHERE h.house_id = s.house_id::bigint
                                AND h.number IS NOT DISTINCT FROM nullif(s.household, ''))
            GROUP BY 1, 2 ORDER BY min(s.line)""",
        """INSERT INTO person (id, name, id_number_enc, id_number_hash, mobile_enc, mobile_hash,
                               birth_date, sex, registration, care_tags, household_id)
           SELECT s.pid, s.name, s.id_number_enc, s.id_number_hash, s.mobile_enc, s.mobile_hash,
                  nullif(s.birth_date, '')::date, nullif(s.sex, ''), s.registration,
                  s.care_tags::text[],
                  (SELECT min(h.id) FROM household h WHERE h.house_id = s.house_id::bigint
                      AND h.number IS NOT DISTINCT FROM nullif(s.household, ''))
             FROM person_stage s""",
        """INSERT INTO person_house (person_id, house_id, relation)
           SELECT pid, house_id::bigint, coalesce(nullif(relation, ''), 'owner')
             FROM person_stage""",
    ):
        await conn.execute(text(statement))
    stored = (await conn.execute(text("SELECT count(*) FROM person_stage"))).scalar_one()
    return stored, corrected


# A row's point (of point_stage s).
_POINT = "ST_SetSRID(ST_MakePoint(s.lon::float8, s.lat::float8), 4326)"
# A row with no code and an organisation or place of no code held already, of one name and kind
# and within this many degrees (about a metre) of each other, are one.
_SAME_POINT_DEGREES = 1e-5


def _credit_codes(rows: _Rows) -> None:
    """Organisations' unified social credit codes (统一社会信用代码, GB 32100), compacted
    (capitals, no spaces or dashes) and checked by their check character."""
    frame = rows.frame
    frame["code"] = frame["code"].map(uscc.compact)
    rows.flag((frame["code"] != "") & ~frame["code"].map(uscc.is_valid), "code",
              "not a unified social credit code (18 characters, check character)",
              {"rule": "credit_code"})


# Each staged row of an organisation or place, with the one the registry holds already (its id):
# by its number (编号, as the ledger gives it), by code, or else by name and kind at the same
# point, among those of no code; whether it gives a number the registry has not
# (``unknown``), and whether its code is another's than the one its number names
# (``code_taken``).
_MATCHED = """
CREATE TEMP TABLE point_matched ON COMMIT DROP AS
SELECT s.line, coalesce(i.id, c.id, (
           SELECT t.id FROM {table} t
            WHERE s.id = '' AND t.code IS NULL AND t.name = s.name AND t.kind = s.kind
              AND ST_DWithin(t.geom, {point}, {near})
            ORDER BY t.id LIMIT 1)) AS id,
       s.id <> '' AND i.id IS NULL AS unknown, c.id <> i.id AS code_taken
  FROM point_stage s
  LEFT JOIN {table} i ON i.id = CAST(nullif(s.id, '') AS bigint)
  LEFT JOIN {table} c ON c.code = nullif(s.code, '')
"""
# The rows staged, where they lie and the one each is of (id: none for one new).
_STAGED = f"""
SELECT s.name, s.kind, nullif(s.code, '') AS code, {_POINT} AS geom, l.grid_id,
       l.grid_version_id, g.village_code, l.method, m.id
  FROM point_stage s JOIN point_located l USING (line) JOIN point_matched m USING (line)
  LEFT JOIN grid g ON g.id = l.grid_id"""


async def _checked_points(conn: AsyncConnection, kind: str, rows: _Rows, crs: CRS) -> None:
    """The checks of a file of organisations, components or places, row by row; its points in
    WGS84 (lon, lat)."""
    frame = rows.frame
    rows.empty("name")
    if kind == "things":
        rows.flag(~frame["component_id"].str.fullmatch(r"\d{16}"), "component_id",
                  "must be 16 digits: county code, 4-digit type, 6-digit serial",
                  {"rule": "component_id"})
        frame["state"] = coded(frame["state"], THING_STATE_NAMES)
        rows.one_of(frame["state"], "state", THING_STATE_NAMES, THING_STATE_NAMES, required=False)
        await _unknown(conn, rows, "department", frame["department"],
                       "SELECT code FROM department", "department",
                       among=frame["department"] != "")
        await _unknown(conn, rows, "component_id", frame["component_id"].str[:6], _COUNTIES,
                       "county with the code its first six digits")
        rows.repeats(frame["component_id"], "component_id")
    else:
        rows.empty("kind")
        if kind == "organisations":
            frame["kind"] = coded(frame["kind"], ORGANISATION_KIND_NAMES)
            rows.one_of(frame["kind"], "kind", ORGANISATION_KINDS, ORGANISATION_KIND_NAMES)
            _credit_codes(rows)
        rows.repeats(frame["code"], "code", among=frame["code"] != "")
        rows.flag((frame["id"] != "") & ~frame["id"].str.fullmatch(r"\d{1,18}"), "id",
                  "must be the number (编号) of a record", {"rule": "record_id"})
        rows.repeats(frame["id"], "id", among=frame["id"] != "")
    x, y = rows.coordinates(crs)
    frame["lon"], frame["lat"] = x.astype(str), y.astype(str)
    if kind != "things":
        rows.repeats(frame[["name", "kind", "lon", "lat"]], "name",
                     among=(frame["code"] == "") & (frame["id"] == ""))


async def _held(conn: AsyncConnection, kind: str, rows: _Rows) -> str:
    """SQL for the records the registry holds already that the rows staged (point_stage) name,
    each with its row's ``line``: a component by its ID; an organisation or place as _MATCHED
    finds it (into point_matched), its rows naming none the registry holds, or a code another
    has, refused. Holds the lock on the layer's imports."""
    if kind == "things":
        return "SELECT s.line, t.* FROM point_stage s JOIN thing t USING (component_id)"
    table = TABLES[kind]
    # one file of a layer at a time: two sent at once store their rows once
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:what))"),
                       {"what": f"registry import {table}"})
    await conn.execute(text("DROP TABLE IF EXISTS pg_temp.point_matched"))
    await conn.execute(text(_MATCHED.format(table=table, point=_POINT, near=_SAME_POINT_DEGREES)))
    await _refused(conn, rows, "point_stage", "SELECT line FROM point_matched WHERE unknown",
                   "id", lambda line: {"rule": "unknown", "value": rows.cell(line, "id")})
    await _refused(conn, rows, "point_stage", "SELECT line FROM point_matched WHERE code_taken",
                   "code", {"rule": "code_taken"})
    return f"SELECT m.line, t.* FROM point_matched m JOIN {table} t ON t.id = m.id"


async def import_points(conn: AsyncConnection, kind: str, rows: _Rows, crs: CRS,
                        by: Importer) -> tuple[int, int]:
    """Organisations, components and places: a point each, assigned to its grid; one the
    registry holds already (_held) updated to the row, within the importing account's
    jurisdiction alone. The numbers stored and updated."""
    await _checked_points(conn, kind, rows, crs)
    columns = {"organisations": ["id", "name", "kind", "code"],
               "places": ["id", "name", "kind", "code"],
               "things": ["component_id", "name", "state", "department"]}[kind]
    await _stage(conn, "point_stage", rows.good()[["line", *columns, "lon", "lat"]].astype(str))
    held = await _held(conn, kind, rows)
    # a point written to the metre, as a ledger rounds it, stays where it is held
    await conn.execute(text(f"""
        UPDATE point_stage s SET lon = ST_X(t.geom)::text, lat = ST_Y(t.geom)::text
          FROM ({held}) t
         WHERE t.line = s.line AND ST_DWithin(t.geom, {_POINT}, {_SAME_POINT_DEGREES})"""))
    await locate_staged(conn, f"SELECT line, {_POINT} AS geom, now() AS at FROM point_stage s",
                        into="point_located")
    await _outside(conn, rows, by, "point_stage", _LOCATED.format(located="point_located"),
                   "lon", "outside")
    await _outside(conn, rows, by, "point_stage", held,
                   "component_id" if kind == "things" else "name", "outside_held")
    if kind == "things":
        return await _components(conn)
    table = TABLES[kind]
    await _repeated(conn, rows, "point", table)
    who = by.who()
    updated = (await conn.execute(text(logged_update(table, f"""
        UPDATE {table} t SET name = s.name, kind = s.kind, code = s.code, geom = s.geom,
               grid_id = s.grid_id, grid_version_id = s.grid_version_id,
               village_code = s.village_code, assignment = s.method
          FROM ({_STAGED}) s
         WHERE t.id = s.id AND ((t.name, t.kind, t.code, t.grid_id)
                                IS DISTINCT FROM (s.name, s.kind, s.code, s.grid_id)
                                OR NOT ST_Equals(t.geom, s.geom))""")), who)).rowcount
    stored = (await conn.execute(text(logged_insert(table, f"""
        INSERT INTO {table} (name, kind, code, geom, grid_id, grid_version_id, village_code,
                             assignment)
        SELECT s.name, s.kind, s.code, s.geom, s.grid_id, s.grid_version_id, s.village_code,
               s.method
          FROM ({_STAGED}) s WHERE s.id IS NULL
        ON CONFLICT (code) DO NOTHING""", "imported")), who)).rowcount
    return stored, updated


async def _components(conn: AsyncConnection) -> tuple[int, int]:
    """The components staged stored, or those of the census already updated to their row (the
    day one is first said removed kept); the numbers stored and updated."""
    changed = (await conn.execute(text(f"""
        INSERT INTO thing (component_id, name, state, department_code, geom, grid_id,
                           grid_version_id, village_code, assignment, removed_on)
        SELECT s.component_id, s.name, coalesce(nullif(s.state, ''), 'normal'),
               nullif(s.department, ''), {_POINT}, l.grid_id, l.grid_version_id,
               g.village_code, l.method,
               CASE WHEN s.state = 'removed' THEN CAST(now() AT TIME ZONE 'Asia/Shanghai' AS date)
               END
          FROM point_stage s JOIN point_located l USING (line)
          LEFT JOIN grid g ON g.id = l.grid_id
        ON CONFLICT (component_id) DO UPDATE
           SET name = excluded.name, state = excluded.state,
               department_code = excluded.department_code, geom = excluded.geom,
               grid_id = excluded.grid_id, grid_version_id = excluded.grid_version_id,
               village_code = excluded.village_code, assignment = excluded.assignment,
               removed_on = CASE WHEN excluded.state = 'removed'
                                 THEN coalesce(thing.removed_on, excluded.removed_on) END
         WHERE (thing.name, thing.state, thing.department_code, thing.grid_id)
               IS DISTINCT FROM (excluded.name, excluded.state, excluded.department_code,
                                 excluded.grid_id)
               OR NOT ST_Equals(thing.geom, excluded.geom)
        RETURNING xmax = 0 AS stored"""))).scalars().all()
    return sum(changed), len(changed) - sum(changed)


async def import_registry(conn: AsyncConnection, kind: str, frame: pd.DataFrame, *,
                          by: Importer = Importer(origin="mapsvc"), county: str | None = None,
                          crs: CRS = CRS.wgs84, check: bool = False) -> RegistryResult:
    """Store the good rows of a registry file of ``kind``, imported ``by`` someone (an
    account, a system user; mapsvc itself unless told), in the caller's transaction; or,
    ``check``, say what it would store, update and refuse, storing nothing (nor keeping it in
    the log of imports)."""
    if kind not in KINDS:
        raise InvalidInput(f"must be one of {', '.join(KINDS)}", field="kind")

    def imported(c: AsyncConnection) -> Awaitable[RegistryResult]:
        return _imported(c, kind, frame, by, county, crs)
    return await (tried(conn, imported) if check else imported(conn))


async def _imported(conn: AsyncConnection, kind: str, frame: pd.DataFrame, by: Importer,
                    county: str | None, crs: CRS) -> RegistryResult:
    rows = _Rows(frame)
    updated = 0
    if kind in POINT_KINDS:
        stored, updated = await import_points(conn, kind, rows, crs, by)
    elif kind == "addresses":
        stored = await import_addresses(conn, rows, county, crs, by)
    else:
        stored, updated = await import_people(conn, rows, county, by)
    rows.errors.sort(key=lambda e: e.line)
    result = RegistryResult(kind=kind, rows=len(frame), stored=stored, updated=updated,
                            errors=rows.errors)
    await keep_import(conn, by.account, by.origin, by.file, kind, {
        "rows": result.rows, "stored": stored, "updated": updated, "rejected": result.rejected})
    return result


def read_registry(source, filename: str, kind: str) -> pd.DataFrame:
    if kind not in KINDS:
        raise InvalidInput(f"must be one of {', '.join(KINDS)}", field="kind")
    required, optional = COLUMNS[kind]
    return read_table(source, filename, required, optional, HEADINGS[kind])


def conform(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A frame made in code, shaped as ``read_registry`` gives a file: every column, as text."""
    required, optional = COLUMNS[kind]
    return frame.reindex(columns=list(required + optional), fill_value="").astype(str)
