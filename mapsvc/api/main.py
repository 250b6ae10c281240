"""The application: composed here, built elsewhere."""

import asyncio
import contextlib
import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from starlette.middleware.gzip import GZipMiddleware

from mapsvc import settings
from mapsvc.accounts.store import signed_out_accounts
from mapsvc.accounts.tokens import SIGN_OUT_SECONDS, refuse_tokens_before
from mapsvc.api import (accounts, auth, boundaries, calendar, campaigns, categories, collection,
                        departments, events, features, health, incidents, locate, media,
                        micro_grids, open311, pages, patrols, plans, registry, stats, tiles,
                        webhooks)
from mapsvc.api.errors import UNAVAILABLE, add_exception_handlers, document_errors
from mapsvc.api.hot import HotPaths
from mapsvc.db.engine import async_engine, database_said
from mapsvc.db.reads import Reads
from mapsvc.incidents.batching import ReportBatches
from mapsvc.incidents.callers import erase_old_callers
from mapsvc.registry.patrols import erase_old_tracks
from mapsvc.registry.people import erase_people_who_left
from mapsvc.tiles.service import TileService, follow_revisions
from mapsvc.workflow.feed import Feed
from mapsvc.workflow.stats import fold
from mapsvc.workflow.webhooks import (IDLE_SECONDS, deliver_one, erase_old_deliveries,
                                      webhook_client)

logger = logging.getLogger(__name__)


FOLD_SECONDS = 5
ERASE_SECONDS = 3600
HOT = (tiles, locate, incidents)  # the hot paths' routes (mapsvc.api.hot)


@contextlib.contextmanager
def survived(what: str):
    """A round of background work the database was away for logged (``what`` failed), as is
    one that failed otherwise; the process goes on."""
    try:
        yield
    except UNAVAILABLE as away:
        logger.warning("%s failed: %s", what, database_said(away))
    except SQLAlchemyError:
        logger.warning("%s failed", what, exc_info=True)


async def every(seconds: float, engine, work, what: str) -> None:
    """Run ``work(conn)`` in a transaction now and every ``seconds`` after."""
    while True:
        with survived(what):
            async with engine.begin() as conn:
                await work(conn)
        await asyncio.sleep(seconds)


async def send_webhooks(engine) -> None:
    """Send the batches queued for webhooks (mapsvc.workflow.webhooks), each webhook's as they
    come due, for as long as the process serves."""
    async with webhook_client() as client:
        while True:
            with survived("sending the webhooks' batches"):
                while await deliver_one(engine, client):
                    pass
            await asyncio.sleep(IDLE_SECONDS)


async def follow_sign_outs(conn) -> None:
    """Take the accounts signed out everywhere (mapsvc.accounts.tokens): a token of an account
    disabled, or whose password or grids changed, stops counting in every process within
    SIGN_OUT_SECONDS."""
    refuse_tokens_before(await signed_out_accounts(conn))


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.engine = async_engine()
    app.state.statements = async_engine(autocommit=True)
    app.state.reports = ReportBatches(app.state.statements)
    app.state.reads = Reads()
    await app.state.reads.open()
    app.state.tiles = TileService(settings.tiles(), app.state.reads)
    app.state.feed = Feed()
    app.state.feed.start()
    # the metrics tally's deltas folded (mapsvc.workflow.stats.fold); the sign-outs followed;
    # the patrol tracks, the people who left, the closed cases' callers and the webhooks'
    # batches taken past their days erased; the webhooks' batches sent
    rounds = [asyncio.create_task(every(seconds, app.state.engine, work, what)) for
              seconds, work, what in (
                  (FOLD_SECONDS, fold, "folding the metrics tally"),
                  (SIGN_OUT_SECONDS, follow_sign_outs, "reading the accounts signed out"),
                  (ERASE_SECONDS, erase_old_tracks, "erasing old patrol tracks"),
                  (ERASE_SECONDS, erase_people_who_left, "erasing the people who left"),
                  (ERASE_SECONDS, erase_old_callers, "erasing the callers of closed cases"),
                  (ERASE_SECONDS, erase_old_deliveries, "erasing the webhooks' old batches"))]
    rounds.append(asyncio.create_task(send_webhooks(app.state.engine)))
    rounds.append(asyncio.create_task(follow_revisions()))  # tiles drawn mid-change drawn anew
    # What is loaded by now lives as long as the process: kept out of the collector's full
    # passes, which would otherwise walk it and stall every request for ~0.1 s now and then.
    gc.freeze()
    yield
    await app.state.feed.stop()
    for task in rounds:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app.state.reports.close()
    await app.state.reads.close()
    await app.state.engine.dispose()
    await app.state.statements.dispose()


class Service(FastAPI):
    """The API, its hot paths answered ahead of its middleware (mapsvc.api.hot)."""

    def build_middleware_stack(self):
        return HotPaths(super().build_middleware_stack(), [m.route for m in HOT],
                        self.exception_handlers)


def largest_body() -> int:
    """The largest request body the service reads: the largest file it takes, with room for
    the form around it. A larger one is refused (413) as it streams in, before any of it is
    kept. Reports, the busiest body, have a smaller limit of their own (api.incidents)."""
    return max(settings.api().upload_max_bytes, settings.media().max_bytes) + 2**20


def create_app() -> FastAPI:
    # the docs are served by mapsvc.api.pages, from mapsvc's own copy of Swagger UI
    app = Service(title="mapsvc", summary="People's-situation map (民情地图) for grid governance",
                  version="0.1.0", lifespan=lifespan, max_body_size=largest_body(),
                  docs_url=None, redoc_url=None)
    for module in HOT:  # answered ahead of the middleware (Service); here for other methods
        app.router.routes.insert(0, module.route)
    app.include_router(tiles.router)
    # the registry's own paths ahead of its layers' (/registry/people before /registry/{layer})
    for module in (health, auth, accounts, boundaries, calendar, campaigns, categories,
                   departments, incidents, media, micro_grids, registry, collection, patrols,
                   stats, events, plans, webhooks):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(features.router)
    app.include_router(open311.router)
    app.include_router(pages.router)
    app.include_router(pages.top_router)
    pages.add_assets(app)
    add_exception_handlers(app)
    # Text travels compressed to those who take it (a phone's pages and lists on a weak signal:
    # a third of their bytes or less); the live feed, and what is compressed already
    # (photos, fonts), as they are. The hot paths (tiles, served as the cache keeps them,
    # locate, reports) are answered ahead of it (Service).
    app.add_middleware(GZipMiddleware, compresslevel=6)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)  # FastAPI keeps what it made in openapi_schema
            for module in HOT:
                module.document(schema)
            document_errors(schema)
        return app.openapi_schema

    app.openapi = openapi
    return app
