"""Webhooks (推送订阅), for administrators: another system told of each step of the cases it
follows (mapsvc.workflow.webhooks), made, listed with how their sending goes, changed, paused
and resumed, tried again at once, and removed; each one's batches looked up, and the record of
who made and changed them."""

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

import httpx
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field, model_validator

from mapsvc.accounts.model import Account, Role
from mapsvc.api.auth import allowed
from mapsvc.api.deps import Page, statements, transaction
from mapsvc.incidents.model import NO_NUL, Place, Source
from mapsvc.workflow.machine import ACTION_NAMES
from mapsvc.workflow.webhooks import (
    WebhookSpec,
    change_webhook,
    deliveries,
    drop_webhook,
    make_webhook,
    new_secret,
    receiver_of,
    resend,
    retry_webhook,
    send_ping,
    webhook,
    webhook_events,
    webhooks,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Administrator = Annotated[Account, Depends(allowed(frozenset({Role.admin})))]
WebhookId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Step = Literal[tuple(ACTION_NAMES)]
CategoryCode = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]


def _receiver(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// address with a host")
    try:
        parts.port  # a port out of range raises
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as bad:
        raise ValueError(f"is not an address a request can be sent to ({bad})") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a name or password (the secret signs each batch)")
    if parts.fragment:
        raise ValueError("must not have a fragment (#…)")
    return url


Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]*\S[^\x00]*$",
                            description="what it is for, as the administrators know it")]
Receiver = Annotated[str, AfterValidator(_receiver), Field(
    max_length=2000, pattern=NO_NUL, description="where each batch is POSTed")]
RegionCode = Annotated[str, Field(max_length=12, pattern=r"^[0-9]+$", description=(
    "only the cases of this region (also those unassigned whose point lies in it); by default "
    "everywhere"))]
DepartmentCode = Annotated[str, Field(max_length=64, pattern=NO_NUL, description=(
    "only the cases dispatched to this department (职能部门)"))]
Steps = Annotated[list[Step], Field(min_length=1, description=(
    "only these steps (report, dispatch, close …); by default every step"))]
Sources = Annotated[list[Source], Field(min_length=1, description=(
    "only the cases from these sources (hotline: the 12345 hotline's)"))]
Classes = Annotated[list[CategoryCode], Field(min_length=1, max_length=100, description=(
    "only the cases of these classes (category codes), each with the classes under it"))]


class WebhookBody(BaseModel):
    client_id: UUID = Field(description="chosen by the client: the same webhook sent again is "
                                        "answered 200, made once")
    name: Name
    url: Receiver
    region: RegionCode | None = None
    department: DepartmentCode | None = None
    actions: Steps | None = None
    sources: Sources | None = None
    categories: Classes | None = None


class Webhook(BaseModel):
    id: int
    name: str
    url: str
    created_at: datetime
    created_by: str
    region: Place | None
    department: Place | None
    actions: list[str] | None
    sources: list[str] | None
    categories: list[str] | None
    paused: bool
    paused_at: datetime | None
    failing_since: datetime | None = Field(description="its first failure since it was last "
                                                       "taken; null: not failing")
    retry_at: datetime | None = Field(description="when the batch that failed is tried again")
    last_status: int | None = Field(description="the receiver's last HTTP status")
    last_error: str | None = Field(description="what went wrong last (its answer, or no answer)")
    last_delivered_at: datetime | None
    waiting: int = Field(description="batches queued and not yet taken")
    waiting_steps: int = Field(description="their steps")
    waiting_since: datetime | None = Field(description="when the oldest was queued")


class MadeWebhook(Webhook):
    secret: str = Field(description="signs each batch (X-Mapsvc-Signature); shown only here")


class WebhookChange(BaseModel):
    """The fields sent are changed (a name, address or pause not null); null clears a region,
    department, steps, sources or classes (all of them followed)."""
    name: Name = None
    url: Receiver = None
    region: RegionCode | None = None
    department: DepartmentCode | None = None
    actions: Steps | None = None
    sources: Sources | None = None
    categories: Classes | None = None
    paused: bool = Field(None, description="true: steps are queued, none sent; false: sent "
                                           "again, from the oldest")

    @model_validator(mode="after")
    def _names_a_field(self) -> "WebhookChange":
        if not self.model_fields_set:
            raise ValueError("name a field to change")
        return self


class WebhookEvent(BaseModel):
    id: int
    at: datetime
    webhook_id: int
    name: str = Field(description="the webhook's name then")
    by: str = Field(description="the administrator's username")
    event: Literal["made", "changed", "paused", "resumed", "new_secret", "removed", "resent"]
    detail: dict[str, Any] = Field(description=(
        "made or removed: what it followed (url, region, department, actions, sources, "
        "categories; removed: and the batches and steps it had queued, dropped with it, "
        "``dropped`` and ``dropped_steps``); changed: each field changed, ``from`` and ``to``; "
        "resent: the batch sent again (``delivery``) and its copy (``as``)"))


class Delivery(BaseModel):
    id: int
    queued_at: datetime
    steps: int
    first_log_id: int
    last_log_id: int
    attempts: int
    last_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    resent_from: int | None = Field(description="the batch this one sends again, if it does")


@router.post("", status_code=201, response_model=MadeWebhook, responses={
    200: {"description": "sent before: the webhook made then"},
    409: {"description": "the client id names another account's webhook"},
    422: {"description": "no such region or department, or an address that is none"}})
async def make(request: Request, body: WebhookBody, account: Administrator) -> JSONResponse:
    """Make a webhook: from now on, each step of the cases it follows is POSTed to ``url``,
    signed with the secret answered (shown this once)."""
    async with transaction(request) as conn:
        made, created = await make_webhook(conn, account.id, WebhookSpec(**body.model_dump()))
    return JSONResponse(jsonable_encoder(MadeWebhook(**made)),
                        status_code=201 if created else 200)


@router.get("")
async def list_webhooks(request: Request, account: Administrator, page: Page) -> list[Webhook]:
    """The webhooks, the oldest first, with how their sending goes."""
    async with statements(request) as conn:
        return [Webhook(**w) for w in await webhooks(conn, limit=page.limit,
                                                     offset=page.offset)]


@router.get("/events")
async def record(request: Request, account: Administrator, page: Page,
                 webhook: Annotated[int | None, Query(ge=1, le=2**63 - 1,
                                                      description="one webhook's id")] = None,
                 ) -> list[WebhookEvent]:
    """Who made, changed, paused, resumed, gave a new secret to or removed the webhooks (or
    ``webhook``, also once removed), the newest first."""
    async with statements(request) as conn:
        return [WebhookEvent(**e) for e in await webhook_events(conn, webhook, page.limit,
                                                                page.offset)]


@router.get("/{webhook_id}")
async def one(request: Request, webhook_id: WebhookId, account: Administrator) -> Webhook:
    """The webhook: where it posts, what it sends (the steps, sources, classes and region or
    department it follows), whether it is paused or failing, and what waits to be delivered."""
    async with statements(request) as conn:
        return Webhook(**await webhook(conn, webhook_id))


@router.patch("/{webhook_id}")
async def change(request: Request, webhook_id: WebhookId, body: WebhookChange,
                 account: Administrator) -> Webhook:
    """Change what a webhook follows, where it sends (a batch waiting to be tried again is
    tried at the new address at once) or its name: the steps taken from now follow the change.
    Pause it (its receiver is down for a while: nothing is lost), or resume it. Each change is
    recorded; the same change sent again changes and records nothing."""
    changes = body.model_dump(include=body.model_fields_set)
    async with transaction(request) as conn:
        return Webhook(**await change_webhook(conn, account.id, webhook_id, changes))


@router.post("/{webhook_id}/retry")
async def retry(request: Request, webhook_id: WebhookId, account: Administrator) -> Webhook:
    """Try the batch that failed again now (its receiver mended), not at its time."""
    async with transaction(request) as conn:
        return Webhook(**await retry_webhook(conn, webhook_id))


@router.post("/{webhook_id}/secret", response_model=MadeWebhook)
async def change_secret(request: Request, webhook_id: WebhookId,
                        account: Administrator) -> JSONResponse:
    """Give a webhook a new secret (the old one leaked, or is due to change): the batches sent
    from now are signed with it, the one answered (shown this once)."""
    async with transaction(request) as conn:
        return JSONResponse(jsonable_encoder(MadeWebhook(
            **await new_secret(conn, account.id, webhook_id))))


class PingAnswer(BaseModel):
    status: int | None = Field(description="the receiver's HTTP status; null: no answer")
    error: str | None = Field(description="what went wrong (its answer, or no answer); null: "
                                          "taken")


@router.post("/{webhook_id}/ping")
async def test_ping(request: Request, webhook_id: WebhookId,
                    account: Administrator) -> PingAnswer:
    """Send the receiver a test batch now (no steps; ``X-Mapsvc-Delivery: ping``), signed as
    every batch is, and answer what it said: whether the address and the secret work, before
    any step goes there. Nothing is queued or recorded."""
    async with statements(request) as conn:
        url, secret = await receiver_of(conn, webhook_id)
    return PingAnswer(**await send_ping(webhook_id, url, secret))


@router.delete("/{webhook_id}", status_code=204)
async def remove(request: Request, webhook_id: WebhookId, account: Administrator) -> Response:
    """Remove a webhook, and what it had queued (the record keeps what that was)."""
    async with transaction(request) as conn:
        await drop_webhook(conn, account.id, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries")
async def batches(request: Request, webhook_id: WebhookId, account: Administrator,
                  page: Page) -> list[Delivery]:
    """A webhook's batches, the newest first: their steps, tries and last answers."""
    async with statements(request) as conn:
        return [Delivery(**d) for d in
                await deliveries(conn, webhook_id, page.limit, page.offset)]


@router.post("/{webhook_id}/deliveries/{delivery_id}/resend", status_code=201, responses={
    200: {"description": "already waiting: the batch, or its copy, not yet taken"},
    404: {"description": "no such webhook, or no such batch of it"}})
async def send_again(request: Request, webhook_id: WebhookId,
                     delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
                     account: Administrator) -> JSONResponse:
    """Send a batch its receiver took again (it lost what it had taken: restored from a
    backup): queued behind those waiting, the same steps, answered as a new batch noting the
    one it copies (``resent_from``). Asked again while the copy waits, the copy (200)."""
    async with transaction(request) as conn:
        batch, queued = await resend(conn, account.id, webhook_id, delivery_id)
    return JSONResponse(jsonable_encoder(Delivery(**batch)), status_code=201 if queued else 200)
