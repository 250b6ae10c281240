"""The category tree (事件分类): read with what each class inherits, and loaded from a file.

A deployment loads its own tree (Anshan's has 3,329 classes) from CSV or Excel with the columns
``code, name`` and optionally ``parent_code, time_limit, time_limit_unit, department_code,
filing_condition, closing_condition, gb30428_code, gb39666_code, duplicate_radius_m,
duplicate_hours, verify_limit, dispatch_limit, check_limit, case_limit`` (or headed in Chinese:
类别编码, 类别名称, 上级编码, 处置时限, 时限单位 …; a unit written 工作日 or 个工作日). A class's code starts
with its parent's, as the national codes do. A file is loaded whole or not at all; classes
already stored are updated (never deleted: incidents refer to them).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.tables import (CODE, CODE_RULE, CheckedRows, RowError, copy_into, numbers,
                           read_table)
from mapsvc.workflow.calendar import UNIT_NAMES, UNITS
from mapsvc.workflow.clocks import Limit

REQUIRED = ("code", "name")
OPTIONAL = ("parent_code", "time_limit", "time_limit_unit", "department_code", "filing_condition",
            "closing_condition", "gb30428_code", "gb39666_code", "duplicate_radius_m",
            "duplicate_hours", "verify_limit", "dispatch_limit", "check_limit", "case_limit")
# how a tree made in Chinese heads each column
HEADINGS = {"code": "类别编码", "name": "类别名称", "parent_code": "上级编码", "time_limit": "处置时限",
            "time_limit_unit": "时限单位", "department_code": "处置部门编码",
            "filing_condition": "立案条件", "closing_condition": "结案条件",
            "gb30428_code": "GB/T 30428 编码", "gb39666_code": "GB/T 39666 编码",
            "duplicate_radius_m": "重复判定半径", "duplicate_hours": "重复判定时长",
            "verify_limit": "核实时限", "dispatch_limit": "派遣时限", "check_limit": "核查时限",
            "case_limit": "结案时限"}
# a unit of time by its code, or as the pages write it (个工作日), or as a sheet may (工作日)
_UNIT = {**{unit: unit for unit in UNITS}, **{name: unit for unit, name in UNIT_NAMES.items()},
         **{name.removeprefix("个"): unit for unit, name in UNIT_NAMES.items()}}
_NUMBER_PROPERTIES = ("duplicate_radius_m", "duplicate_hours")
_LIMIT_PROPERTIES = ("verify_limit", "dispatch_limit", "check_limit", "case_limit")


@dataclass
class CategoryResult:
    rows: int = 0
    stored: int = 0
    errors: list[RowError] = field(default_factory=list)


def under_class(column: str, name: str = "category") -> str:
    """A clause matching the class codes in ``column`` of the class given as parameter ``name``
    and of the classes under it. Codes nest, and may hold letters: a prefix test, where a range
    of codes (as for regions, all digits) would leave out a child such as Q5b under Q5."""
    return f"starts_with({column}, :{name})"


def read_categories(source: Path | IO[bytes], filename: str) -> pd.DataFrame:
    return read_table(source, filename, REQUIRED, OPTIONAL, HEADINGS)


def _limits_written(limits: pd.Series) -> pd.Series:
    """Time limits as Limit.parse reads them (``2 working_hours``), from ``2 working_hours``,
    ``2个工作小时`` or ``2 工作小时``; any other text as it is."""
    parts = limits.str.extract(r"^(\d+(?:\.\d+)?)\s*(\S+)$")
    unit = parts[1].map(_UNIT)
    return (parts[0] + " " + unit).where(unit.notna(), limits)


def _valid_limit(value: str) -> bool:
    try:
        Limit.parse(value)
    except ValueError:
        return False
    return True


def _check(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[RowError]]:
    checked = CheckedRows(frame)
    flag = checked.flag
    frame = frame.assign(time_limit_unit=frame["time_limit_unit"].replace(_UNIT),
                         **{c: _limits_written(frame[c]) for c in _LIMIT_PROPERTIES})
    flag(~frame["code"].str.fullmatch(CODE), "code", CODE_RULE)
    checked.repeats(frame["code"], "code")
    checked.empty("name")
    flag(frame["parent_code"] == frame["code"], "parent_code", "a class cannot be its own parent")
    # Codes nest (GB/T 30428.2: 2 + 2 digits; GB/T 39666: 2 + 2 + 2): the cases of a class and
    # of those under it are then those whose codes start with its code, as the lists, the heat
    # and the tiles read them (under_class).
    nested = np.char.startswith(frame["code"].to_numpy(str), frame["parent_code"].to_numpy(str))
    flag((frame["parent_code"] != "") & (frame["parent_code"] != frame["code"]) & ~nested,
         "parent_code", "a class's code starts with its parent's, as 0601 under 06")
    limit = numbers(frame["time_limit"])
    flag((frame["time_limit"] != "") & ~(limit > 0), "time_limit",
         "not a number greater than 0")
    flag((frame["time_limit"] != "") != (frame["time_limit_unit"] != ""), "time_limit_unit",
         "a time limit needs both its value and its unit")
    flag((frame["time_limit_unit"] != "") & ~frame["time_limit_unit"].isin(UNITS),
         "time_limit_unit", f"must be one of {', '.join(UNITS)}")
    for column in _NUMBER_PROPERTIES:
        number = numbers(frame[column])
        flag((frame[column] != "") & ~(number > 0), column,
             "not a number greater than 0")
    for column in _LIMIT_PROPERTIES:
        flag((frame[column] != "") & ~frame[column].map(_valid_limit), column,
             f"a number and a unit, such as '2 working_hours' ({', '.join(UNITS)})")
    ok = checked.ok
    clean = frame[ok].copy()
    clean.insert(0, "line", checked.line[ok])
    clean["time_limit"] = limit[ok]
    properties = [{c: (float(row[c]) if c in _NUMBER_PROPERTIES else row[c])
                   for c in _NUMBER_PROPERTIES + _LIMIT_PROPERTIES if row[c] != ""}
                  for row in clean[list(_NUMBER_PROPERTIES + _LIMIT_PROPERTIES)]
                  .to_dict("records")]
    clean["properties"] = [json.dumps(p, ensure_ascii=False) for p in properties]
    return clean, checked.errors


STAGE = """
CREATE TEMP TABLE category_stage (
    line int, code text, name text, parent_code text, time_limit numeric, time_limit_unit text,
    department_code text, filing_condition text, closing_condition text, gb30428_code text,
    gb39666_code text, properties jsonb
) ON COMMIT DROP
"""
_STAGED = ("line", "code", "name", "parent_code", "time_limit", "time_limit_unit",
           "department_code", "filing_condition", "closing_condition", "gb30428_code",
           "gb39666_code", "properties")

# Problems only the database can see: parents and departments that exist nowhere, and parent
# chains that loop once the file is merged with the stored tree.
PROBLEMS = text("""
WITH RECURSIVE merged AS (
    SELECT code, nullif(parent_code, '') AS parent_code FROM category_stage
    UNION ALL
    SELECT code, parent_code FROM category c
     WHERE NOT EXISTS (SELECT 1 FROM category_stage s WHERE s.code = c.code)
), chain AS (
    SELECT code, parent_code FROM merged
    UNION ALL
    SELECT chain.code, m.parent_code FROM chain JOIN merged m ON m.code = chain.parent_code
) CYCLE parent_code SET looped USING path
SELECT s.line, 'parent_code' AS field, 'no class ' || s.parent_code AS reason
  FROM category_stage s
 WHERE s.parent_code <> '' AND NOT EXISTS (SELECT 1 FROM merged m WHERE m.code = s.parent_code)
UNION ALL
SELECT s.line, 'department_code', 'no department ' || s.department_code
  FROM category_stage s
 WHERE s.department_code <> ''
   AND NOT EXISTS (SELECT 1 FROM department d WHERE d.code = s.department_code)
UNION ALL
SELECT s.line, 'parent_code', 'the parent chain comes back to ' || s.code
  FROM category_stage s WHERE s.code IN (SELECT code FROM chain WHERE looped)
ORDER BY 1
""")

UPSERT = text("""
WITH stored AS (
    INSERT INTO category AS c (code, name, parent_code, time_limit, time_limit_unit,
                               department_code, filing_condition, closing_condition, properties)
    SELECT code, name, nullif(parent_code, ''), time_limit, nullif(time_limit_unit, ''),
           nullif(department_code, ''), filing_condition, closing_condition, properties
      FROM category_stage
    ON CONFLICT (code) DO UPDATE SET
        name = excluded.name, parent_code = excluded.parent_code,
        time_limit = excluded.time_limit, time_limit_unit = excluded.time_limit_unit,
        department_code = excluded.department_code,
        filing_condition = excluded.filing_condition,
        closing_condition = excluded.closing_condition,
        properties = c.properties || excluded.properties
    RETURNING code
), national AS (
    INSERT INTO category_national_code (category_code, scheme, code)
    SELECT s.code, n.scheme, n.code
      FROM category_stage s
     CROSS JOIN LATERAL (VALUES ('GB/T 30428.2', s.gb30428_code),
                                ('GB/T 39666', s.gb39666_code)) n(scheme, code)
     WHERE n.code <> ''
    ON CONFLICT (category_code, scheme) DO UPDATE SET code = excluded.code
)
SELECT count(*) FROM stored
""")


async def import_categories(conn: AsyncConnection, frame: pd.DataFrame) -> CategoryResult:
    """Store the classes of ``frame`` in the caller's transaction, all of them or, when any
    line has a problem, none (the result lists the problems)."""
    clean, errors = _check(frame)
    result = CategoryResult(rows=len(frame), errors=errors)
    await conn.execute(text("DROP TABLE IF EXISTS pg_temp.category_stage"))
    await conn.execute(text(STAGE))
    await copy_into(conn, "category_stage", clean[list(_STAGED)],
                    not_null=tuple(c for c in _STAGED if c not in ("line", "time_limit")))
    result.errors += [RowError(r.line, r.field, r.reason)
                      for r in (await conn.execute(PROBLEMS)).all()]
    result.errors.sort(key=lambda e: e.line)
    if not result.errors:
        result.stored = (await conn.execute(UPSERT)).scalar_one()
    return result


# Each class with its path from the root and what it inherits from the nearest ancestor that
# sets it: the time limit and the default department.
TREE = text("""
WITH RECURSIVE down AS (
    SELECT c.code, c.name::text AS path, c.time_limit, c.time_limit_unit, c.department_code
      FROM category c WHERE c.parent_code IS NULL
    UNION ALL
    SELECT c.code, down.path || ' / ' || c.name,
           CASE WHEN c.time_limit IS NULL THEN down.time_limit ELSE c.time_limit END,
           CASE WHEN c.time_limit IS NULL THEN down.time_limit_unit ELSE c.time_limit_unit END,
           coalesce(c.department_code, down.department_code)
      FROM down JOIN category c ON c.parent_code = down.code
)
SELECT coalesce(json_agg(json_build_object(
           'code', c.code, 'name', c.name, 'parent_code', c.parent_code, 'path', d.path,
           'leaf', NOT EXISTS (SELECT 1 FROM category k WHERE k.parent_code = c.code),
           'time_limit', CASE WHEN d.time_limit IS NOT NULL THEN json_build_object(
                             'value', d.time_limit, 'unit', d.time_limit_unit) END,
           'department', d.department_code, 'filing_condition', c.filing_condition,
           'closing_condition', c.closing_condition,
           'national_codes', (SELECT coalesce(json_object_agg(n.scheme, n.code), '{}')
                                FROM category_national_code n WHERE n.category_code = c.code))
         ORDER BY c.code), '[]')::text
  FROM category c JOIN down d ON d.code = c.code
 WHERE CAST(:q AS text) IS NULL OR d.path ILIKE '%' || CAST(:q AS text) || '%'
    OR c.code LIKE CAST(:q AS text) || '%'
""")


async def category_tree(conn: AsyncConnection, q: str | None = None) -> str:
    """Every class (or those whose path or code matches ``q``) as a JSON list, by code."""
    escaped = None if q is None else q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return (await conn.execute(TREE, {"q": escaped})).scalar_one()
