"""Reports that arrive together are stored together.

A report waits while the reports before it are being stored, and then goes with every other
report that arrived meanwhile, by one statement (``store_reports``). On a quiet service each
report goes alone and at once; on a busy one the work of a statement, its commit and its
triggers is shared: on two cores the database's time for a report falls by about half when
eight go together.

Each process stores by one statement at a time. The statements announce what they store
(NOTIFY, for the live feed), and PostgreSQL commits announcing transactions one after another,
holding a lock on the database until each commit is on disk. With two statements per process
they were found waiting for that lock a quarter of the time, and the reports went by smaller
batches; with two workers at 16 connections, one statement at a time stored 1,600–1,940
reports/s against 1,150–1,430, and the wait all but went. A report whose statement waits for
a lock (a grid's backlog row under a file import about to commit, say) delays the reports
after it in its process as long.

Each report is answered as if it had gone alone: a report that one statement cannot store
(a retry, an unknown category, a refused point) is settled by itself afterwards, and a report
whose client id is already on its way waits until that statement is done, so the first one
to arrive is the one stored and every retry is compared with it. Should a statement fail,
each of its reports is stored alone, and only the one at fault is refused. Reports with photos
or a caller are not batched: these are stored in the report's own transaction
(``report_incident``).

Reports in one statement do not see each other as possible duplicates, as two reports stored
at the same moment by statements of their own do not either.
"""

import asyncio
from collections import deque
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from mapsvc.accounts.model import Account
from mapsvc.incidents.intake import report_incident, settle, store_reports
from mapsvc.incidents.model import IncidentReport


@dataclass
class _Waiting:
    report: IncidentReport
    account: Account
    answer: asyncio.Future = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class ReportBatches:
    """Stores reports on ``engine`` (autocommit), by at most ``writers`` statements at a time of
    at most ``most`` reports each."""

    def __init__(self, engine: AsyncEngine, *, writers: int = 1, most: int = 64):
        self.engine = engine
        self.writers = writers
        self.most = most
        self.waiting: deque[_Waiting] = deque()
        self.active = 0  # writers taking reports; one that finds none stops at once
        self.tasks: set[asyncio.Task] = set()
        self.on_way: set[UUID] = set()  # the client ids of the reports being stored

    async def report(self, report: IncidentReport, account: Account) -> tuple[str, bool]:
        """The stored incident (JSON) and whether it is new, as ``report_incident`` answers."""
        waiting = _Waiting(report, account)
        self.waiting.append(waiting)
        if self.active < self.writers:
            self.active += 1
            task = asyncio.create_task(self._write())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await waiting.answer

    async def close(self) -> None:
        """Wait for the reports already taken to be stored."""
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _take(self) -> list[_Waiting]:
        """The next statement's reports, in their order of arrival, each client id once and
        none whose client id is on its way already (those wait for the statement before)."""
        batch, later = [], deque()
        while self.waiting and len(batch) < self.most:
            waiting = self.waiting.popleft()
            if waiting.report.client_id in self.on_way:
                later.append(waiting)
            else:
                self.on_way.add(waiting.report.client_id)
                batch.append(waiting)
        self.waiting.extendleft(reversed(later))
        return batch

    async def _write(self) -> None:
        try:
            while batch := self._take():
                try:
                    await self._store(batch)
                except Exception as e:  # no connection, say: each report learns why
                    for waiting in batch:
                        _answer(waiting, exception=e)
                finally:  # a report never waits for an answer that cannot come
                    for waiting in batch:
                        self.on_way.discard(waiting.report.client_id)
                        _answer(waiting, exception=RuntimeError("the report was not stored"))
        finally:  # with no step between its last look at the queue and this
            self.active -= 1

    async def _store(self, batch: list[_Waiting]) -> None:
        async with self.engine.connect() as conn:
            try:
                stored = await store_reports(conn, [(w.report, w.account) for w in batch])
            except Exception:  # one report's fault: each is stored alone below
                await conn.rollback()
                stored = None
            for waiting in batch:
                try:
                    if stored is None:
                        answer = await report_incident(conn, waiting.report, waiting.account)
                    elif (doc := stored.get(waiting.report.client_id)) is not None:
                        answer = doc, True
                    else:
                        answer = await settle(conn, waiting.report), False
                except Exception as e:
                    _answer(waiting, exception=e)
                else:
                    _answer(waiting, result=answer)


def _answer(waiting: _Waiting, *, result=None, exception: Exception | None = None) -> None:
    """Answer a report unless it has its answer or its request is gone (the client hung
    up)."""
    if waiting.answer.done():
        return
    if exception is not None:
        waiting.answer.set_exception(exception)
    else:
        waiting.answer.set_result(result)
