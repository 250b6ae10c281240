"""The departments (职能部门) cases are dispatched to: loaded from a file (a deployment's 部门名录),
listed, and the one a case goes to where its dispatch names none.

A file has the columns ``code, name`` and optionally ``region`` (the region it serves: a
county's 城管局, a city's 水务局; none: everywhere) and ``classes`` (the classes it answers for
there, 负责类别: codes apart by spaces, commas or 、), or is headed in Chinese (部门编码, 部门名称,
区域编码, 负责类别). It is loaded whole or not at all; departments already stored are updated
(never deleted: cases and accounts refer to them), their classes those the file gives where it
has the column.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.tables import (APART, CODE, CODE_RULE, CheckedRows, RowError, copy_into,
                           read_table)

REQUIRED = ("code", "name")
OPTIONAL = ("region", "classes")
# how a list made in Chinese heads each column
HEADINGS = {"code": "部门编码", "name": "部门名称", "region": "区域编码", "classes": "负责类别"}
NAME_LONGEST = 100


@dataclass
class DepartmentResult:
    rows: int = 0
    stored: int = 0
    errors: list[RowError] = field(default_factory=list)


def read_departments(source: Path | IO[bytes], filename: str) -> pd.DataFrame:
    return read_table(source, filename, REQUIRED, OPTIONAL, HEADINGS)


def _check(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[RowError]]:
    """The good rows, the classes of each (``line, code, category``), and the problems."""
    checked = CheckedRows(frame)
    flag = checked.flag
    flag(~frame["code"].str.fullmatch(CODE), "code", CODE_RULE, {"rule": "code"})
    checked.repeats(frame["code"], "code")
    checked.empty("name")
    flag(frame["name"].str.len() > NAME_LONGEST, "name",
         f"longer than {NAME_LONGEST} characters", {"rule": "longest", "most": NAME_LONGEST})
    ok = checked.ok
    clean = frame[ok].copy()
    clean.insert(0, "line", checked.line[ok])
    classes = (clean.assign(category=clean["classes"].str.split(APART, regex=True))
               .explode("category")[["line", "code", "category"]])
    return clean, classes[classes["category"].fillna("") != ""], checked.errors


STAGES = {"department_stage": "line int, code text, name text, region text",
          "department_class_stage": "line int, code text, category text"}

# Problems only the database can see: regions and classes that exist nowhere.
PROBLEMS = text("""
SELECT s.line, 'region' AS field, 'region' AS noun, s.region AS value
  FROM department_stage s
 WHERE s.region <> '' AND NOT EXISTS (SELECT 1 FROM region r WHERE r.code = s.region)
UNION ALL
SELECT s.line, 'classes', 'class', s.category
  FROM department_class_stage s
 WHERE NOT EXISTS (SELECT 1 FROM category c WHERE c.code = s.category)
ORDER BY 1
""")

UPSERT = text("""
INSERT INTO department AS d (code, name, region_code)
SELECT code, name, nullif(region, '') FROM department_stage
ON CONFLICT (code) DO UPDATE SET name = excluded.name, region_code = excluded.region_code
""")
# the file's departments answer for the classes it gives them, and no others
CLASSES = text("""
WITH gone AS (
    DELETE FROM department_class dc
     USING department_stage s
     WHERE dc.department_code = s.code
       AND NOT EXISTS (SELECT 1 FROM department_class_stage k
                        WHERE k.code = dc.department_code AND k.category = dc.category_code)
)
INSERT INTO department_class (department_code, category_code)
SELECT DISTINCT code, category FROM department_class_stage
ON CONFLICT DO NOTHING
""")


async def import_departments(conn: AsyncConnection, frame: pd.DataFrame) -> DepartmentResult:
    """Store the departments of ``frame`` in the caller's transaction, all of them or, when
    any line has a problem, none (the result lists the problems)."""
    clean, classes, errors = _check(frame)
    result = DepartmentResult(rows=len(frame), errors=errors)
    for name, columns in STAGES.items():
        await conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{name}"))
        await conn.execute(text(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP"))
    await copy_into(conn, "department_stage", clean[["line", "code", "name", "region"]],
                    not_null=("code", "name", "region"))
    await copy_into(conn, "department_class_stage", classes, not_null=("code", "category"))
    result.errors += [RowError(r.line, r.field, f"no {r.noun} {r.value}",
                               {"rule": "unknown", "value": r.value})
                      for r in (await conn.execute(PROBLEMS)).all()]
    result.errors.sort(key=lambda e: e.line)
    if not result.errors:
        result.stored = (await conn.execute(UPSERT)).rowcount
        if "classes" in frame.attrs["given"]:  # a file without them keeps those stored
            await conn.execute(CLASSES)
    return result


LIST = text("""
SELECT coalesce(json_agg(json_build_object(
           'code', d.code, 'name', d.name,
           'region', CASE WHEN r.code IS NOT NULL THEN json_build_object(
                         'code', r.code, 'name', r.name, 'level', r.level) END,
           'classes', (SELECT coalesce(json_agg(dc.category_code ORDER BY dc.category_code),
                                       '[]')
                         FROM department_class dc WHERE dc.department_code = d.code))
         ORDER BY d.code), '[]')::text
  FROM department d LEFT JOIN region r ON r.code = d.region_code
""")


async def departments_json(conn: AsyncConnection) -> str:
    """Every department, with the region it serves and the classes it answers for, by code."""
    return (await conn.execute(LIST)).scalar_one()


# Whether each department serves a case's place (a condition on a department ``d`` and the
# case ``i``): one of a region (a county's 城管局, a city's) the cases within it, one of none
# every case. A case of no grid has a place unknown to the regions: any department may be
# chosen for it, though none of a region is chosen for it unasked.
SERVES = "(d.region_code IS NULL OR starts_with(i.village_code, d.region_code))"

# The department each case of :ids goes to: the one named (:named), else, where the dispatch
# names none, of those answering for its class (负责类别) or for the nearest class above it, and
# the classes' defaults (as near), the one that serves its place, a county's before its city's
# before one of no region; else the nearest default, which may serve it not. With whether it
# serves the case's place (a case of no grid: any department does) and the region it serves;
# no code where none is named and its class names none, not known where no department has it.
FOR_CASES = text(f"""
SELECT x.id, p.code, d.code IS NOT NULL AS known,
       i.village_code IS NULL OR {SERVES} AS serves, d.region_code, r.name
  FROM unnest(CAST(:ids AS bigint[])) x(id)
  JOIN incident i ON i.id = x.id
 CROSS JOIN LATERAL (
     SELECT coalesce(CAST(:named AS text), (
         WITH RECURSIVE up AS (
             SELECT c.code, c.parent_code, c.department_code, 0 AS depth
               FROM category c WHERE c.code = i.category_code
             UNION ALL
             SELECT c.code, c.parent_code, c.department_code, up.depth + 1
               FROM up JOIN category c ON c.code = up.parent_code
         ), candidate AS (
             SELECT up.depth, dc.department_code AS code, true AS answers
               FROM up JOIN department_class dc ON dc.category_code = up.code
             UNION ALL
             SELECT up.depth, up.department_code, false FROM up
              WHERE up.department_code IS NOT NULL
         )
         SELECT k.code
           FROM candidate k JOIN department d ON d.code = k.code
          CROSS JOIN LATERAL (SELECT {SERVES} IS TRUE AS serves) s
          WHERE s.serves OR NOT k.answers
          ORDER BY s.serves DESC, k.depth, length(d.region_code) DESC NULLS LAST,
                   k.answers DESC, k.code
          LIMIT 1)) AS code) p
  LEFT JOIN department d ON d.code = p.code
  LEFT JOIN region r ON r.code = d.region_code
""")


async def departments_for(conn: AsyncConnection, ids: list[int],
                          named: str | None) -> dict[int, Row]:
    """The department each case of ``ids`` is dispatched to, the one ``named`` or else its
    class's (FOR_CASES), by case, in one statement."""
    return {row.id: row for row in await conn.execute(FOR_CASES, {"ids": ids, "named": named})}
