"""The case ledger (案件台账): the cases a filter finds, a row each, as a CSV file for a
spreadsheet (mapsvc.db.spreadsheet: names and times in Chinese and local time, as the centre's
reports to its leaders write them)."""

import json

from mapsvc.accounts.jurisdiction import incident_scope
from mapsvc.accounts.model import Account
from mapsvc.db.spreadsheet import copy_statement, local_time, text_cell
from mapsvc.incidents.model import METHOD_NAMES, SOURCE_NAMES
from mapsvc.incidents.queries import IncidentFilter
from mapsvc.workflow.clocks import COLOUR_NAMES
from mapsvc.workflow.machine import STATE_NAMES

NAMES = json.dumps({"status": STATE_NAMES, "source": SOURCE_NAMES, "method": METHOD_NAMES,
                    "colour": COLOUR_NAMES}, ensure_ascii=False)


def _named(kind: str, column: str) -> str:
    return f"coalesce(CAST(:names AS jsonb) -> '{kind}' ->> {column}, {column})"


# (heading, value): the columns in their order
COLUMNS = (
    ("编号", "d.id"),
    ("上报时间", local_time("d.reported_at")),
    ("来源", _named("source", "d.source")),
    ("来源工单编号", text_cell("d.source_number")),
    ("类别编码", "d.category_code"),
    ("类别", text_cell("k.name")),
    ("描述", text_cell("d.description")),
    ("状态", _named("status", "d.status")),
    ("地级市", text_cell("ci.name")),
    ("区县", text_cell("c.name")),
    ("乡镇（街道）", text_cell("t.name")),
    ("村（社区）", text_cell("v.name")),
    ("网格编码", "g.code"),
    ("网格", text_cell("g.name")),
    ("经度", "round(ST_X(d.geom)::numeric, 6)"),
    ("纬度", "round(ST_Y(d.geom)::numeric, 6)"),
    ("入格方式", _named("method", "d.assignment")),
    ("处置部门", text_cell("p.name")),
    ("加急时间", local_time("d.urgent_at")),
    ("处置时限", local_time("d.handling_deadline")),
    ("结案时间", local_time("d.closed_at")),
    ("按期结案", "CASE WHEN d.closed_at IS NULL THEN NULL "
                 "WHEN m.closed_on_time = 1 THEN '是' ELSE '否' END"),
    ("警示", _named("colour", "incident_colour(d)")),
    ("满意度", "d.satisfaction"),
    ("返工次数", "d.rework_count"),
    # closed, never handed back, reassigned, reopened nor reworked (一次完成率)
    ("一次完成", "CASE WHEN d.closed_at IS NULL THEN NULL "
                 "WHEN m.closed_first_time = 1 THEN '是' ELSE '否' END"),
    ("催办次数", "coalesce(d.urged, 0)"),
    ("延期次数", "coalesce(d.extensions, 0)"),  # since its handler has it
    ("不纳入考核时间", local_time("d.exempted_at")),
)

LEDGER = """
SELECT {columns}
  FROM incident d
  LEFT JOIN category k ON k.code = d.category_code
  LEFT JOIN region c ON c.code = d.county_code
  LEFT JOIN region ci ON ci.code = c.parent_code
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
    return copy_statement(LEDGER.format(columns=columns, where=f.where()),
                          {"names": NAMES, **f.params})
