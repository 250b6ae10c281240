"""The case ledger (案件台账): the cases a filter finds, a row each, as a CSV file for a
spreadsheet (UTF-8 with a byte-order mark, which Excel needs to read it as UTF-8; names and
times in Chinese and local time, as the centre's reports to its leaders write them).

PostgreSQL writes the file (COPY … TO STDOUT) and the service passes it on as it comes, so a
year of a city's cases costs no more memory than a page. A cell a user typed that begins with
``=``, ``+``, ``-``, ``@`` or a tab or a carriage return is written after an apostrophe, so a
spreadsheet shows it as text and never runs it as a formula (CSV injection, per OWASP).
"""

import json
from collections.abc import AsyncIterator

import psycopg
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from mapsvc.accounts.jurisdiction import incident_scope
from mapsvc.accounts.model import Account
from mapsvc.db.engine import conninfo
from mapsvc.incidents.model import METHOD_NAMES, SOURCE_NAMES
from mapsvc.incidents.queries import IncidentFilter
from mapsvc.workflow.clocks import COLOUR_NAMES
from mapsvc.workflow.machine import STATE_NAMES

BOM = "\ufeff".encode()
NAMES = json.dumps({"status": STATE_NAMES, "source": SOURCE_NAMES, "method": METHOD_NAMES,
                    "colour": COLOUR_NAMES}, ensure_ascii=False)


def _text(expression: str) -> str:
    """A cell of text as a spreadsheet shows it, never a formula."""
    return (f"CASE WHEN left({expression}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') "
            f"THEN '''' || {expression} ELSE {expression} END")


def _local(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')"


def _named(kind: str, column: str) -> str:
    return f"coalesce(CAST(:names AS jsonb) -> '{kind}' ->> {column}, {column})"


# (heading, value): the columns in their order
COLUMNS = (
    ("编号", "d.id"),
    ("上报时间", _local("d.reported_at")),
    ("来源", _named("source", "d.source")),
    ("类别编码", "d.category_code"),
    ("类别", _text("k.name")),
    ("描述", _text("d.description")),
    ("状态", _named("status", "d.status")),
    ("区县", _text("c.name")),
    ("乡镇（街道）", _text("t.name")),
    ("村（社区）", _text("v.name")),
    ("网格编码", "g.code"),
    ("网格", _text("g.name")),
    ("经度", "round(ST_X(d.geom)::numeric, 6)"),
    ("纬度", "round(ST_Y(d.geom)::numeric, 6)"),
    ("入格方式", _named("method", "d.assignment")),
    ("处置部门", _text("p.name")),
    ("处置时限", _local("d.handling_deadline")),
    ("结案时间", _local("d.closed_at")),
    ("按期结案", "CASE WHEN d.closed_at IS NULL THEN NULL "
                 "WHEN m.closed_on_time = 1 THEN '是' ELSE '否' END"),
    ("警示", _named("colour", "incident_colour(d)")),
    ("满意度", "d.satisfaction"),
    ("返工次数", "d.rework_count"),
)

LEDGER = """
SELECT {columns}
  FROM incident d
  LEFT JOIN category k ON k.code = d.category_code
  LEFT JOIN region c ON c.code = d.county_code
  LEFT JOIN region t ON t.code = d.township_code
  LEFT JOIN region v ON v.code = d.village_code
  LEFT JOIN grid g ON g.id = d.grid_id
  LEFT JOIN department p ON p.code = d.department_code
 CROSS JOIN LATERAL incident_measures(d) m
 WHERE {where}
 ORDER BY d.id DESC
"""


def ledger_statement(where: IncidentFilter, account: Account) -> tuple[str, dict]:
    """The COPY statement writing the ledger of the cases matching ``where`` within
    ``account``'s jurisdiction, newest first, in psycopg's parameter style; and its
    parameters. Checks the filters (InvalidInput names a bad one)."""
    f = where.filters()
    incident_scope(account, f)
    columns = ",\n       ".join(f'{value} AS "{heading}"' for heading, value in COLUMNS)
    select = LEDGER.format(columns=columns, where=f.where())
    compiled = text(f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)").compile(
        dialect=PGDialect_psycopg())
    return str(compiled), compiled.construct_params({"names": NAMES, **f.params})


async def ledger_csv(statement: str, params: dict) -> AsyncIterator[bytes]:
    """The ledger's file, as PostgreSQL writes it, on a connection of its own: an export
    broken off (the client gone) ends with that connection, not in the service's pools."""
    async with await psycopg.AsyncConnection.connect(conninfo(), autocommit=True) as conn:
        yield BOM
        async with conn.cursor() as cur, cur.copy(statement, params) as copy:
            async for chunk in copy:
                yield bytes(chunk)
