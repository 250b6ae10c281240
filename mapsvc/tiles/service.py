"""Serving tiles: the revision a tile is built from, its ETag, and a cache of hot tiles.

A tile's ETag names its collection, position, query, the jurisdiction it was drawn for and the
revisions of the data it shows (sequences the database bumps on every change, migration 0007);
so an unchanged tile answers 304 and the cache never serves a tile of older data. Revisions are
read at most once a second per process: a tile may lag a change by that second, while the page
learns of changes at once through its live feed. Aggregated tiles (heat, incident bins at small
scales, which count every case under them) follow the incidents at most once a minute: on a
busy day every report would otherwise make each of them be counted anew. Tiles whose figures
follow the clock (a case turns yellow, then red, with no change to it; cases and visits leave
the last days' counts) also name the clock's period, a minute: they are drawn anew each
minute they are asked for, changed or not (settings: MAPSVC_TILES_*).

Each tile is one read-only statement answering bytes, run on the hot paths' reads
(mapsvc.db.reads).

A change moves its revision on as it is written, before it commits: a tile drawn in that
moment, without the change, would be kept under the new revision. Each process therefore
hears the revisions announced once their changes are committed (migration 0084) and moves each
on once more (``follow_revisions``): that tile is drawn anew.
"""

import hashlib
import time
from dataclasses import dataclass

import psycopg
from cachetools import LRUCache

from mapsvc.accounts.model import Account
from mapsvc.db.listening import keep_listening
from mapsvc.db.reads import Reads
from mapsvc.settings import TileSettings
from mapsvc.tiles.layers import Collection, TileQuery, aggregated, drawn_for, tile_sql

FAMILIES = ("regions", "grids", "incidents", "registry", "patrols")
# A sequence not yet called shows the same last_value as after its first call.
_REVISIONS = "SELECT " + ", ".join(
    f"(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM tile_revision_{f}) AS {f}"
    for f in FAMILIES)


CHANNEL = "tile_revision"  # a committed change's sequence, announced (migration 0084)
SEQUENCES = frozenset(f"tile_revision_{f}" for f in FAMILIES)
GATHER_SECONDS = 0.2  # the announcements heard this long moved on once a sequence


@dataclass
class Tile:
    body: bytes | None  # None: the client already has this tile (its ETag matched)
    etag: str


class TileService:
    def __init__(self, config: TileSettings, reads: Reads):
        self.config = config
        self.reads = reads
        self.cache: LRUCache = LRUCache(maxsize=max(config.cache_tiles, 1))
        self._revisions: dict[str, int] = {}
        self._read_at = float("-inf")
        self._aggregated: dict[str, int] = {}  # the revisions aggregated tiles are drawn from
        self._aggregated_at = float("-inf")

    async def revisions(self, *, aggregated: bool = False) -> dict[str, int]:
        now = time.monotonic()
        if now - self._read_at >= self.config.revision_seconds:
            self._revisions = await self.reads.one(_REVISIONS)
            self._read_at = now
        if now - self._aggregated_at >= self.config.aggregate_seconds:
            self._aggregated, self._aggregated_at = self._revisions, now
        return self._aggregated if aggregated else self._revisions

    async def etag(self, collection: Collection, z: int, x: int, y: int, query: TileQuery,
                   account: Account) -> str:
        revisions = await self.revisions(aggregated=aggregated(collection, z))
        clock = time.time() // self.config.clock_seconds if collection.clock else None
        key = repr((collection.id, z, x, y, query, drawn_for(collection, account),
                    [revisions[f] for f in collection.revisions], clock))
        return '"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'

    async def tile(self, collection: Collection, z: int, x: int, y: int, query: TileQuery,
                   account: Account, *, unless: str | None = None) -> Tile:
        """The tile with its ETag; without a body when the ETag is ``unless`` (If-None-Match)."""
        etag = await self.etag(collection, z, x, y, query, account)
        if etag == unless:
            return Tile(None, etag)
        if (hit := self.cache.get(etag)) is not None:
            return hit
        statement = tile_sql(collection, z, query, account)
        body = b""
        if statement is not None:
            sql, params = statement
            body = (await self.reads.one(sql, {**params, "z": z, "x": x, "y": y}))["tile"] or b""
        tile = Tile(body, etag)
        if self.config.cache_tiles:
            self.cache[etag] = tile
        return tile


async def follow_revisions() -> None:
    """Move each tile revision announced after its change's commit on once more, for as long
    as the process serves."""
    await keep_listening(CHANNEL, "following the tile revisions", _move_on)


async def _move_on(conn: psycopg.AsyncConnection) -> None:
    while True:
        heard = {n.payload async for n in conn.notifies(timeout=GATHER_SECONDS)}
        if moved := sorted(heard & SEQUENCES):
            await conn.execute("SELECT " + ", ".join("nextval(%s)" for _ in moved), moved)
