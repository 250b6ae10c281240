"""The audit log of personal data: each reveal (of a person's, or of a case's caller's), lookup
(of a person by ID number, mobile or name) and export, each departure recorded or withdrawn and
each field of a person corrected, with who did it (an account, or the system user at a shell
importing a registry file) and why, read a page at a time or whole as a CSV file for a
spreadsheet; and the same counted by account."""

import json
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.db.spreadsheet import copy_statement, local_time, text_cell
from mapsvc.geojson import Filters, page
from mapsvc.incidents.callers import CALLER_FIELD_NAMES
from mapsvc.registry.people import DETAIL_NAMES

ACTIONS = ("reveal", "lookup", "export", "departure", "departure withdrawn", "correct")
# as the pages call them
AUDIT_ACTION_NAMES = {"reveal": "查看完整信息", "lookup": "查找人员", "export": "导出",
                      "departure": "登记离开", "departure withdrawn": "撤销离开",
                      "correct": "更正信息"}
AUDIT_FIELD_NAMES = {**DETAIL_NAMES, **CALLER_FIELD_NAMES}  # those revealed or corrected
# who made an entry (of the log ``l``, its account ``a``): the account, or at a shell the
# system user (a registry file imported there corrects the people it names)
_WHO = "coalesce(a.username, l.origin)"


def _entries(*, person: int | None, username: str | None, action: str | None,
             since: datetime | None, until: datetime | None) -> Filters:
    """The entries of the log (``l``, its account ``a``) about one person (who looked at them,
    and why), by one account, of one action, made from ``since`` up to ``until``."""
    f = Filters()
    f.during("l.at", since, until)
    if person is not None:
        f.add("l.entity = 'person' AND l.entity_id = :person", person=str(person))
    if username is not None:  # an account's, or a shell's (its origin)
        f.add("(l.account_id = (SELECT id FROM account WHERE username = :username)"
              " OR l.origin = :username)", username=username)
    if action is not None:
        f.add("l.action = :action", action=action)
    return f


async def audit_entries(conn: AsyncConnection, *, limit: int, offset: int,
                        **which) -> list[dict]:
    """The entries ``which`` names (``_entries``), newest first."""
    f = _entries(**which)
    rows = (await conn.execute(text(f"""
        SELECT l.id, l.at, {_WHO} AS username, l.action, l.entity, l.entity_id, l.field,
               l.reason
          FROM audit_log l LEFT JOIN account a ON a.id = l.account_id
         WHERE {f.where()}
         ORDER BY l.id DESC {page(limit, offset)}"""), f.params)).mappings().all()
    return [dict(r) for r in rows]


_NAMES = json.dumps({"action": AUDIT_ACTION_NAMES, "field": AUDIT_FIELD_NAMES},
                    ensure_ascii=False)
_SHEET = f"""
SELECT {local_time("l.at", "YYYY-MM-DD HH24:MI:SS")} AS "时间", {_WHO} AS "账号",
       coalesce(CAST(:names AS jsonb) -> 'action' ->> l.action, l.action) AS "操作",
       {text_cell("CASE WHEN l.entity_id !~ '^[0-9]+$' THEN l.entity_id "
                  "WHEN l.entity = 'person' THEN '人员 ' || l.entity_id "
                  "WHEN l.entity = 'incident' THEN '案件 #' || l.entity_id "
                  "ELSE l.entity_id END")} AS "对象",
       coalesce(CAST(:names AS jsonb) -> 'field' ->> l.field, l.field) AS "字段",
       {text_cell("l.reason")} AS "理由或说明"
  FROM audit_log l LEFT JOIN account a ON a.id = l.account_id
 WHERE {{where}}
 ORDER BY l.id DESC
"""


def audit_sheet(**which) -> tuple[str, dict]:
    """The COPY statement writing the entries ``which`` names (``_entries``), newest first,
    as a spreadsheet's CSV with Chinese headings and names and China's times; and its
    parameters."""
    f = _entries(**which)
    return copy_statement(_SHEET.format(where=f.where()), {"names": _NAMES, **f.params})


async def audit_by_account(conn: AsyncConnection, *, since: datetime | None = None,
                           until: datetime | None = None, limit: int,
                           offset: int) -> list[dict]:
    """Per account, what it did with personal data from ``since`` up to ``until``: how many
    full values it was shown and of how many people, how many people it looked up (each found,
    and each lookup that found no one), how many exports, departures (recorded or withdrawn)
    and fields corrected, and when last; those shown most first, for an auditor to look
    into an account that looked at many."""
    f = Filters()
    f.during("l.at", since, until)
    rows = (await conn.execute(text(f"""
        SELECT {_WHO} AS username,
               count(*) FILTER (WHERE l.action = 'reveal') AS reveals,
               count(DISTINCT l.entity_id) FILTER (WHERE l.action = 'reveal'
                                                     AND l.entity = 'person') AS people_revealed,
               count(*) FILTER (WHERE l.action = 'lookup') AS lookups,
               count(*) FILTER (WHERE l.action = 'export') AS exports,
               count(*) FILTER (WHERE l.action IN ('departure', 'departure withdrawn'))
                   AS departures,
               count(*) FILTER (WHERE l.action = 'correct') AS corrections,
               max(l.at) AS last_at
          FROM audit_log l LEFT JOIN account a ON a.id = l.account_id
         WHERE {f.where()}
         GROUP BY 1
         ORDER BY reveals DESC, exports DESC, 1 {page(limit, offset)}"""),
        f.params)).mappings().all()
    return [dict(r) for r in rows]
