"""The live feed for pages: Server-Sent Events of each step of the cases an account may see."""

import asyncio
import json
from collections.abc import AsyncIterable
from time import monotonic
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy import text

from mapsvc.accounts.tokens import SIGN_OUT_SECONDS
from mapsvc.api.auth import SignedIn, still_signed_in
from mapsvc.registry.patrols import patrols_geojson
from mapsvc.workflow.feed import CATCH_UP_MAX, RECENT_MAX, steps

router = APIRouter(tags=["live"])
KEEP_ALIVE_SECONDS = 15  # a comment sent after this long with nothing heard
RETRY_MS = 1000  # how soon a browser reconnects after losing the feed


def _event(step: dict, event: str = "step") -> ServerSentEvent:
    return ServerSentEvent(id=str(step["log_id"]), event=event, retry=RETRY_MS,
                           data={"action": step["action"], "status": step["status"],
                                 "at": step["at"].isoformat(),
                                 "received_at": step["received_at"] and
                                 step["received_at"].isoformat(),
                                 "feature": step["feature"]})


@router.get("/events", response_class=EventSourceResponse)
async def events(
    request: Request,
    account: SignedIn,
    last_event_id: Annotated[int | None, Header(
        alias="Last-Event-ID", description="the last step seen, as a browser reconnecting "
                                           "sends it: the steps since are sent first")] = None,
    after: Annotated[int | None, Query(description="the last step seen (a log id), when the "
                                                   "browser does not say it")] = None,
    recent: Annotated[int, Query(ge=0, le=RECENT_MAX,
                                 description="on a first connection, how many of the last "
                                             "steps before it to send first")] = 0,
    region: Annotated[str | None, Query(min_length=1, max_length=32, description=(
        "a region's code (a city's, county's, township's or village's): the steps of its "
        "cases and the patrols through it alone"))] = None,
    grid: Annotated[str | None, Query(min_length=1, max_length=32, description=(
        "a grid's code: the steps of its cases and the patrols through it alone"))] = None,
) -> AsyncIterable[ServerSentEvent]:
    """Each logged step (report, action) of the cases in the account's jurisdiction as it
    happens: event ``step`` with the case as a GeoJSON Feature; ``reload`` when too much
    happened at once (a bulk import) for steps to be worth sending one by one; ``patrol``, a
    patrol the account may read as it is stored, its track a GeoJSON Feature (not replayed on
    reconnecting). A first connection may ask for the last steps before it (``recent``):
    events ``recent``, oldest first, then ``ready``. Reconnecting with Last-Event-ID replays
    what was missed. A page following a region or a grid (``region``, ``grid``) is sent its
    own alone."""
    engine = request.app.state.engine
    last = last_event_id if last_event_id is not None else after

    async def read(**kw) -> list[dict]:
        async with engine.connect() as conn:
            return await steps(conn, account, region=region, grid=grid, **kw)

    async def patrol(patrol_id: int) -> list[dict]:  # none, or the patrol if the account reads it
        async with engine.connect() as conn:
            return json.loads(await patrols_geojson(conn, account, ids=[patrol_id], grid=grid,
                                                    region=region, limit=1))["features"]

    async def catch_up():
        nonlocal last
        missed = await read(after=last)
        if len(missed) >= CATCH_UP_MAX:
            async with engine.connect() as conn:
                last = (await conn.execute(text("SELECT max(id) FROM incident_log"))).scalar()
            yield ServerSentEvent(id=str(last), event="reload", data={}, retry=RETRY_MS)
            return
        for step in missed:
            last = step["log_id"]
            yield _event(step)

    with request.app.state.feed.subscription() as queue:
        if last is None:  # from now on
            async with engine.connect() as conn:
                last = (await conn.execute(text("SELECT coalesce(max(id), 0) FROM incident_log"))
                        ).scalar_one()
            if recent:
                for step in await read(upto=last, limit=recent):
                    yield _event(step, "recent")
            yield ServerSentEvent(id=str(last), event="ready", data={}, retry=RETRY_MS)
        else:
            async for event in catch_up():
                yield event
            yield ServerSentEvent(event="ready", data={}, retry=RETRY_MS)
        # quiet, the feed asks as often as sign-outs are read whether its token still counts
        quiet_since = monotonic()
        while True:
            try:
                notice = await asyncio.wait_for(queue.get(), SIGN_OUT_SECONDS)
            except TimeoutError:
                if await request.is_disconnected() or not still_signed_in(request):
                    return  # a page signed out reconnects, and is sent to sign in
                if monotonic() - quiet_since >= KEEP_ALIVE_SECONDS:
                    quiet_since = monotonic()
                    yield ServerSentEvent(comment="keep-alive")
                continue
            quiet_since = monotonic()
            if not still_signed_in(request):
                return
            if notice.get("overflow"):
                return  # the browser reconnects and catches up from the log
            if notice.get("reconnected"):
                async for event in catch_up():
                    yield event
            elif "patrol" in notice:  # not replayed: the pages ask for the day's patrols
                for walked in await patrol(notice["patrol"]):
                    yield ServerSentEvent(event="patrol", data=walked, retry=RETRY_MS)
            elif notice.get("bulk"):
                last = max(last, notice["log_id"])
                yield ServerSentEvent(id=str(last), event="reload", data={"steps": notice["bulk"]},
                                      retry=RETRY_MS)
            elif notice["log_id"] > last:
                for step in await read(log_id=notice["log_id"]):
                    yield _event(step)
                last = notice["log_id"]
