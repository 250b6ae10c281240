"""The live feed of cases: each step the log announces (LISTEN/NOTIFY channel ``incident``,
migration 0007), passed to the pages following it, each within its account's jurisdiction.

One listening connection per process fans announcements out to the pages' queues. A page that
reconnects names the last step it saw (the log row's id, the event id of Server-Sent Events)
and first catches up on what it missed from the log itself, so a network or server restart
loses nothing. A page that opens may first ask for the last steps before it came (the wall's
list is not empty on a quiet morning).
"""

import asyncio
import contextlib
import json

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from mapsvc.accounts.jurisdiction import incident_scope
from mapsvc.accounts.model import Account
from mapsvc.db.listening import keep_listening
from mapsvc.geojson import page
from mapsvc.incidents.queries import IncidentFilter, incident_feature
from mapsvc.workflow.actions import NOTIFY_CHANNEL, STEP_TIMES

QUEUE_SIZE = 1000   # a page this far behind is dropped; it reconnects and catches up
CATCH_UP_MAX = 500  # steps replayed on reconnection; beyond that the page reloads its layers
RECENT_MAX = 100    # steps a page may ask for when it opens

_STEPS = f"""
SELECT q.log_id, q.action, q.status, q.at, q.received_at, {incident_feature("q")} AS feature
  FROM (SELECT l.id AS log_id, l.action, l.to_status AS status, {STEP_TIMES}, d.id, d.doc
          FROM incident_log l JOIN incident_doc d ON d.id = l.incident_id
         WHERE {{where}}
         ORDER BY l.id {{order}}
         {{page}}) q
"""


async def steps(conn: AsyncConnection, account: Account, *, after: int | None = None,
                log_id: int | None = None, upto: int | None = None,
                limit: int = CATCH_UP_MAX, region: str | None = None,
                grid: str | None = None) -> list[dict]:
    """Logged steps the account may see, oldest first: the first ``limit`` after log row
    ``after``, the last ``limit`` up to log row ``upto``, or the one ``log_id``; of the cases
    of ``region`` alone (a region's code: its villages' codes begin with it), or of ``grid``."""
    f, order = IncidentFilter(region=region, grid=grid).filters(), ""
    if log_id is not None:
        f.add("l.id = :log_id", log_id=log_id)
    elif upto is not None:
        f.add("l.id <= :upto", upto=upto)
        order = "DESC"
    else:
        f.add("l.id > :after", after=after or 0)
    incident_scope(account, f)
    sql = _STEPS.format(where=f.where(), order=order, page=page(limit))
    rows = [dict(r) for r in (await conn.execute(text(sql), f.params)).mappings()]
    return rows[::-1] if order else rows


class Feed:
    """Fans the channel out to subscribers; reconnects by itself when the database goes away."""

    def __init__(self):
        self.queues: set[asyncio.Queue] = set()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(
            keep_listening(NOTIFY_CHANNEL, "the live feed", self._fan_out))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def subscription(self):
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self.queues.add(queue)
        try:
            yield queue
        finally:
            self.queues.discard(queue)

    def _publish(self, payload: dict) -> None:
        for queue in self.queues:
            try:
                queue.put_nowait(payload)
            except asyncio.QueueFull:  # too far behind: it catches up from the log instead
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait({"overflow": True})

    async def _fan_out(self, conn: psycopg.AsyncConnection) -> None:
        self._publish({"reconnected": True})
        async for notice in conn.notifies():
            self._publish(json.loads(notice.payload))
