"""Listening on a LISTEN/NOTIFY channel for as long as the process serves: one connection of
its own, listened on again when the database comes back."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg

from mapsvc.db.engine import conninfo, database_said

logger = logging.getLogger(__name__)
RETRY_FIRST_SECONDS, RETRY_MOST_SECONDS = 0.5, 10


async def keep_listening(channel: str, what: str,
                         listen: Callable[[psycopg.AsyncConnection], Awaitable[None]]) -> None:
    """LISTEN on ``channel`` and hand the connection to ``listen``, which reads its
    notifications; when the database goes away (``what`` lost it, logged), again, waiting
    twice as long each time it stays away, up to RETRY_MOST_SECONDS."""
    delay = RETRY_FIRST_SECONDS
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo(),
                                                             autocommit=True) as conn:
                await conn.execute(f"LISTEN {channel}")
                delay = RETRY_FIRST_SECONDS
                await listen(conn)
        except (psycopg.OperationalError, OSError) as lost:
            logger.warning("%s lost the database (%s); retrying", what, database_said(lost))
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MOST_SECONDS)
