"""The audit log of personal data: each reveal and export, and each departure recorded or
withdrawn, with who did it and why; and the same counted by account."""

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.geojson import Filters, page


async def audit_entries(conn: AsyncConnection, *, person: int | None = None,
                        username: str | None = None, action: str | None = None,
                        since: datetime | None = None, until: datetime | None = None,
                        limit: int, offset: int) -> list[dict]:
    """Newest first; ``person``: the entries about one person (who looked at them, and why);
    ``since`` and ``until``: those made from then up to then."""
    f = Filters()
    f.during("l.at", since, until)
    if person is not None:
        f.add("l.entity = 'person' AND l.entity_id = :person", person=str(person))
    if username is not None:
        f.add("a.username = :username", username=username)
    if action is not None:
        f.add("l.action = :action", action=action)
    rows = (await conn.execute(text(f"""
        SELECT l.id, l.at, a.username, l.action, l.entity, l.entity_id, l.field, l.reason
          FROM audit_log l JOIN account a ON a.id = l.account_id
         WHERE {f.where()}
         ORDER BY l.id DESC {page(limit, offset)}"""), f.params)).mappings().all()
    return [dict(r) for r in rows]


async def audit_by_account(conn: AsyncConnection, *, since: datetime | None = None,
                           until: datetime | None = None, limit: int,
                           offset: int) -> list[dict]:
    """Per account, what it did with personal data from ``since`` up to ``until``: how many
    full values it was shown and of how many people, how many exports and departures
    (recorded or withdrawn), and when last; those shown most first, for an auditor to look
    into an account that looked at many."""
    f = Filters()
    f.during("l.at", since, until)
    rows = (await conn.execute(text(f"""
        SELECT a.username,
               count(*) FILTER (WHERE l.action = 'reveal') AS reveals,
               count(DISTINCT l.entity_id) FILTER (WHERE l.action = 'reveal') AS people_revealed,
               count(*) FILTER (WHERE l.action = 'export') AS exports,
               count(*) FILTER (WHERE l.action IN ('departure', 'departure withdrawn'))
                   AS departures,
               max(l.at) AS last_at
          FROM audit_log l JOIN account a ON a.id = l.account_id
         WHERE {f.where()}
         GROUP BY a.username
         ORDER BY reveals DESC, exports DESC, a.username {page(limit, offset)}"""),
        f.params)).mappings().all()
    return [dict(r) for r in rows]
