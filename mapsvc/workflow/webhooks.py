"""Webhooks (推送订阅): another system — a 12345 hotline's platform waiting for its tickets'
outcome (工单回传), a department's own case system — told of each step of the cases it follows,
as it is taken, without asking.

An administrator names what a webhook follows: the cases of a region (by default everywhere),
only those dispatched to one department, only some steps, only cases from some sources or of
some classes (each with the classes under it). The
log's trigger (migration 0077) queues each step logged for every webhook following its case in
the step's own transaction, in batches of at most a hundred steps. Each process of the service
sends what is queued (``deliver_one``): a webhook's batches one at a time, oldest first, each
until the receiver takes it (answers 2xx); one failing is tried again after 15 s, 30 s, 1 min … at
most an hour apart, and those after it wait; one on its way when its process stops goes again
at once from another. Nothing queued is dropped but with its webhook.

A batch is a POST of JSON (``{"delivery", "webhook", "events": [...]}``), each event a step of
the log (its id, action, statuses, time and note) with the case as it stands when sent (the
GeoJSON Feature the API gives). A batch tried again is the same batch (``X-Mapsvc-Delivery``),
its steps the same (their ``log_id``): the receiver ignores what it has taken. Each POST is
signed with the webhook's secret, shown once when it is made: ``X-Mapsvc-Signature`` is
``sha256=`` and the hex HMAC-SHA256 of ``X-Mapsvc-Timestamp``, a dot and the body.

What a webhook follows and where it sends can be changed (the steps taken from then on follow
the change). Each time an administrator makes, changes, pauses, resumes, gives a new secret to
or removes one, the webhooks' record (``webhook_events``) keeps who and what, also once the
webhook is gone: a webhook is a flow of cases out of the deployment.
"""

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from uuid import UUID

import httpx
from cryptography.exceptions import InvalidTag
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mapsvc.errors import Conflict, InvalidInput, NotFound
from mapsvc.incidents.queries import incident_feature
from mapsvc.registry.privacy import decrypt, encrypt
from mapsvc.workflow.actions import STEP_TIMES

SECRET = b"webhook.secret"  # what the secrets' encryption is bound to
TIMEOUT_SECONDS = 10        # a receiver not answering by then has failed
SENDING_SECONDS = TIMEOUT_SECONDS + 5  # how long a batch on its way keeps its webhook's next
RETRY_FIRST_SECONDS = 15    # the wait after a first failure, doubled after each next one
RETRY_MOST_SECONDS = 3600
IDLE_SECONDS = 1            # how often each process looks for what is queued
KEPT_DAYS = 30              # batches taken are kept this long, to be looked up
ERRORS_MOST = 300           # characters of a receiver's answer or error kept
UNREADABLE = ("its secret cannot be read: kept under another key than the service's now; "
              "give the webhook a new secret")


@dataclass
class WebhookSpec:
    client_id: UUID
    name: str
    url: str
    region: str | None = None
    department: str | None = None
    actions: list[str] | None = None
    sources: list[str] | None = None
    categories: list[str] | None = None


# A webhook as the API lists it: what it follows, and how its sending goes.
_LISTED = """
SELECT w.id, w.name, w.url, w.created_at, a.username AS created_by,
       CASE WHEN w.region_code IS NOT NULL
            THEN json_build_object('code', r.code, 'name', r.name) END AS region,
       CASE WHEN w.department_code IS NOT NULL
            THEN json_build_object('code', dp.code, 'name', dp.name) END AS department,
       w.actions, w.sources, w.categories, w.paused_at IS NOT NULL AS paused, w.paused_at,
       w.failing_since, w.retry_at, w.last_status, w.last_error, w.last_delivered_at,
       q.waiting, q.waiting_steps, q.waiting_since
  FROM webhook w
  JOIN account a ON a.id = w.created_by
  LEFT JOIN region r ON r.code = w.region_code
  LEFT JOIN department dp ON dp.code = w.department_code
 CROSS JOIN LATERAL (
       SELECT count(*) AS waiting, coalesce(sum(cardinality(d.log_ids)), 0) AS waiting_steps,
              min(d.queued_at) AS waiting_since
         FROM webhook_delivery d
        WHERE d.webhook_id = w.id AND d.delivered_at IS NULL) q
 WHERE {where}
 ORDER BY w.id LIMIT :limit OFFSET :offset
"""


async def _listed(conn: AsyncConnection, where: str, params: dict) -> list[dict]:
    rows = await conn.execute(text(_LISTED.format(where=where)), params)
    return [dict(r) for r in rows.mappings()]


async def webhooks(conn: AsyncConnection, limit: int, offset: int) -> list[dict]:
    """The webhooks, oldest first, with their batches waiting."""
    return await _listed(conn, "true", {"limit": limit, "offset": offset})


async def webhook(conn: AsyncConnection, webhook_id: int) -> dict:
    found = await _listed(conn, "w.id = :id", {"id": webhook_id, "limit": 1, "offset": 0})
    if not found:
        raise NotFound(f"no webhook {webhook_id}", field="id")
    return found[0]


async def _check_follows(conn: AsyncConnection, region: str | None, department: str | None,
                         categories: list[str] | None) -> None:
    """Refuse, naming the field, a region, department or class that does not exist."""
    if region and not (await conn.execute(text("SELECT 1 FROM region WHERE code = :c"),
                                          {"c": region})).first():
        raise InvalidInput(f"no region {region}", field="region")
    if department and not (await conn.execute(
            text("SELECT 1 FROM department WHERE code = :c"), {"c": department})).first():
        raise InvalidInput(f"no department {department}", field="department")
    if categories:
        missing = (await conn.execute(text(
            "SELECT array_agg(c ORDER BY c) FROM unnest(CAST(:codes AS text[])) c "
            "WHERE NOT EXISTS (SELECT 1 FROM category WHERE code = c)"),
            {"codes": categories})).scalar_one()
        if missing:
            raise InvalidInput(f"no category {', '.join(missing)}", field="categories",
                               context={"missing": missing})


# What a webhook (``w``) follows and where it sends, as its record keeps it; and a step of
# its record, by the account ``:account``, about the webhook ``:id``.
_FOLLOWS = """jsonb_build_object(
    'url', w.url, 'region', w.region_code, 'department', w.department_code,
    'actions', w.actions, 'sources', w.sources, 'categories', w.categories)"""
_RECORD = """
INSERT INTO webhook_event (webhook_id, name, account_id, event, detail)
SELECT w.id, w.name, :account, :event, {detail} FROM webhook w WHERE w.id = :id
"""
# a field of the API → its column
COLUMNS = {"name": "name", "url": "url", "region": "region_code",
           "department": "department_code", "actions": "actions", "sources": "sources",
           "categories": "categories"}


async def _record(conn: AsyncConnection, account_id: int, webhook_id: int, event: str,
                  detail: str = "'{}'::jsonb", params: dict | None = None) -> None:
    await conn.execute(text(_RECORD.format(detail=detail)), {
        "account": account_id, "event": event, "id": webhook_id, **(params or {})})


async def make_webhook(conn: AsyncConnection, account_id: int,
                       spec: WebhookSpec) -> tuple[dict, bool]:
    """The webhook made, with its secret, and whether it was made now: sent again (its answer
    lost on the way), the one made then, with its secret again, to the account that made it."""
    await _check_follows(conn, spec.region, spec.department, spec.categories)
    made = (await conn.execute(text("""
        INSERT INTO webhook (client_id, name, url, secret, region_code, department_code, actions,
                             sources, categories, created_by)
        VALUES (:client_id, :name, :url, :secret, :region, :department, :actions, :sources,
                :categories, :account)
        ON CONFLICT (client_id) DO NOTHING
        RETURNING id"""), {
        "client_id": spec.client_id, "name": spec.name.strip(), "url": spec.url,
        "secret": encrypt(secrets.token_urlsafe(32), SECRET), "region": spec.region,
        "department": spec.department, "actions": spec.actions, "sources": spec.sources,
        "categories": spec.categories, "account": account_id})).scalar_one_or_none()
    stored = (await conn.execute(text(
        "SELECT id, created_by, secret FROM webhook WHERE client_id = :c"),
        {"c": spec.client_id})).one()
    if stored.created_by != account_id:
        raise Conflict("another account's webhook has this client id", field="client_id")
    if made is not None:
        await _record(conn, account_id, made, "made", _FOLLOWS)
    return ({**await webhook(conn, stored.id), "secret": decrypt(stored.secret, SECRET)},
            made is not None)


def _same(before, after) -> bool:
    if isinstance(before, list) and isinstance(after, list):  # steps, sources, classes
        return sorted(set(before)) == sorted(set(after))
    return before == after


async def change_webhook(conn: AsyncConnection, account_id: int, webhook_id: int,
                         changes: dict) -> dict:
    """Change what a webhook follows, where it sends or its name (``changes``: fields of
    COLUMNS; None clears a region, department, steps, sources or classes: all of them
    followed), and pause it (``paused``: its steps queued, none sent) or resume it (sent from
    the oldest, at once). The steps taken from now follow the change; one waiting to be tried
    again at a changed address is tried at once. Each change is recorded, with what it was;
    the same change again changes and records nothing."""
    columns = {COLUMNS[field]: value for field, value in changes.items() if field in COLUMNS}
    if "name" in columns:
        columns["name"] = columns["name"].strip()
    await _check_follows(conn, changes.get("region"), changes.get("department"),
                         changes.get("categories"))
    found = (await conn.execute(text(
        f"SELECT paused_at IS NOT NULL AS paused, {', '.join(COLUMNS.values())} "
        "FROM webhook WHERE id = :id FOR UPDATE"), {"id": webhook_id})).mappings().first()
    if found is None:
        raise NotFound(f"no webhook {webhook_id}", field="id")
    changed = {column: value for column, value in columns.items()
               if not _same(found[column], value)}
    if changed:
        await conn.execute(text(
            f"UPDATE webhook SET {', '.join(f'{c} = :{c}' for c in changed)}"
            f"{', retry_at = NULL' if 'url' in changed else ''} WHERE id = :id"),
            {"id": webhook_id, **changed})
        await _record(conn, account_id, webhook_id, "changed", "CAST(:detail AS jsonb)", {
            "detail": json.dumps({field: {"from": found[column], "to": changed[column]}
                                  for field, column in COLUMNS.items() if column in changed},
                                 ensure_ascii=False)})
    paused = changes.get("paused")
    if paused is not None and paused != found["paused"]:
        await conn.execute(text("""
            UPDATE webhook SET paused_at = CASE WHEN :paused THEN now() END,
                               retry_at = CASE WHEN :paused THEN retry_at END
             WHERE id = :id"""), {"id": webhook_id, "paused": paused})
        await _record(conn, account_id, webhook_id, "paused" if paused else "resumed")
    return await webhook(conn, webhook_id)


async def new_secret(conn: AsyncConnection, account_id: int, webhook_id: int) -> dict:
    """The webhook with a new secret (shown this once), which signs its batches from now."""
    secret = secrets.token_urlsafe(32)
    changed = await conn.execute(text("UPDATE webhook SET secret = :secret WHERE id = :id"),
                                 {"id": webhook_id, "secret": encrypt(secret, SECRET)})
    if not changed.rowcount:
        raise NotFound(f"no webhook {webhook_id}", field="id")
    await _record(conn, account_id, webhook_id, "new_secret")
    return {**await webhook(conn, webhook_id), "secret": secret}


async def retry_webhook(conn: AsyncConnection, webhook_id: int) -> dict:
    """A failing webhook's batch tried again now rather than at its time."""
    changed = await conn.execute(text("UPDATE webhook SET retry_at = NULL WHERE id = :id"),
                                 {"id": webhook_id})
    if not changed.rowcount:
        raise NotFound(f"no webhook {webhook_id}", field="id")
    return await webhook(conn, webhook_id)


async def drop_webhook(conn: AsyncConnection, account_id: int, webhook_id: int) -> None:
    """The webhook gone, and what it had queued with it; its record keeps what it followed,
    where it sent, and the batches and steps it had queued (``dropped``, ``dropped_steps``)."""
    await _record(conn, account_id, webhook_id, "removed", f"""{_FOLLOWS} || (
        SELECT jsonb_build_object('dropped', count(*),
                                  'dropped_steps', coalesce(sum(cardinality(d.log_ids)), 0))
          FROM webhook_delivery d WHERE d.webhook_id = w.id AND d.delivered_at IS NULL)""")
    dropped = await conn.execute(text("DELETE FROM webhook WHERE id = :id"), {"id": webhook_id})
    if not dropped.rowcount:
        raise NotFound(f"no webhook {webhook_id}", field="id")


async def webhook_events(conn: AsyncConnection, webhook_id: int | None, limit: int,
                         offset: int) -> list[dict]:
    """The webhooks' record (of one webhook, or all), the newest first."""
    rows = await conn.execute(text(f"""
        SELECT e.id, e.at, e.webhook_id, e.name, a.username AS by, e.event, e.detail
          FROM webhook_event e JOIN account a ON a.id = e.account_id
         WHERE {'e.webhook_id = :webhook' if webhook_id is not None else 'true'}
         ORDER BY e.id DESC LIMIT :limit OFFSET :offset"""),
        {"webhook": webhook_id, "limit": limit, "offset": offset})
    return [dict(r) for r in rows.mappings()]


# a batch as the API lists it
_BATCH = """
SELECT id, queued_at, cardinality(log_ids) AS steps, log_ids[1] AS first_log_id,
       log_ids[cardinality(log_ids)] AS last_log_id, attempts, last_at, last_status,
       last_error, delivered_at, resent_from
  FROM webhook_delivery WHERE webhook_id = :id AND {where}
 ORDER BY id DESC LIMIT :limit OFFSET :offset
"""


async def deliveries(conn: AsyncConnection, webhook_id: int, limit: int,
                     offset: int) -> list[dict]:
    """A webhook's batches, the newest first: its steps, tries and the last answer."""
    await webhook(conn, webhook_id)
    rows = await conn.execute(text(_BATCH.format(where="true")),
                              {"id": webhook_id, "limit": limit, "offset": offset})
    return [dict(r) for r in rows.mappings()]


async def resend(conn: AsyncConnection, account_id: int, webhook_id: int,
                 delivery_id: int) -> tuple[dict, bool]:
    """A batch its receiver took, queued again behind those waiting, the same steps (its
    receiver lost them); and whether it was queued now: asked again while the copy waits (or
    of a batch not yet taken), the batch waiting. Recorded in the webhooks' record."""
    await webhook(conn, webhook_id)
    found = (await conn.execute(text(
        "SELECT delivered_at FROM webhook_delivery WHERE id = :d AND webhook_id = :id "
        "FOR UPDATE"), {"d": delivery_id, "id": webhook_id})).first()
    if found is None:
        raise NotFound(f"no batch {delivery_id} of webhook {webhook_id}", field="delivery")
    waiting = delivery_id if found.delivered_at is None else (await conn.execute(text(
        "SELECT max(id) FROM webhook_delivery WHERE resent_from = :d AND webhook_id = :id "
        "AND delivered_at IS NULL"), {"d": delivery_id, "id": webhook_id})).scalar_one()
    queued = waiting is None
    if queued:
        waiting = (await conn.execute(text("""
            INSERT INTO webhook_delivery (webhook_id, log_ids, resent_from)
            SELECT webhook_id, log_ids, id FROM webhook_delivery WHERE id = :d
            RETURNING id"""), {"d": delivery_id})).scalar_one()
        await _record(conn, account_id, webhook_id, "resent", "CAST(:detail AS jsonb)",
                      {"detail": json.dumps({"delivery": delivery_id, "as": waiting})})
    rows = await conn.execute(text(_BATCH.format(where="id = :d")),
                              {"id": webhook_id, "d": waiting, "limit": 1, "offset": 0})
    return dict(rows.mappings().one()), queued


async def erase_old_deliveries(conn: AsyncConnection) -> int:
    """Batches taken longer ago than KEPT_DAYS erased; how many."""
    erased = await conn.execute(text(
        "DELETE FROM webhook_delivery WHERE delivered_at < now() - make_interval(days => :d)"),
        {"d": KEPT_DAYS})
    return erased.rowcount


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What ``X-Mapsvc-Signature`` says of a body sent at ``timestamp``."""
    signed = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + signed.hexdigest()


# The oldest batch waiting of a webhook whose time has come and whose batch before it has been
# answered, taken to be sent: the webhook noted as being sent until SENDING_SECONDS on, when
# another process may take it (this one gone); another process meanwhile takes another
# webhook's, or waits for the next round. The row is held only while the batch is taken: a
# change an administrator makes while it is on its way, and the steps queued meanwhile (their
# batches name the webhook), wait for no receiver.
_TAKEN = """
WITH due AS (
    SELECT w.id AS webhook_id, w.url, w.secret, d.id, d.attempts
      FROM webhook w
     CROSS JOIN LATERAL (SELECT d.id, d.attempts FROM webhook_delivery d
                          WHERE d.webhook_id = w.id AND d.delivered_at IS NULL
                          ORDER BY d.id LIMIT 1) d
     WHERE w.paused_at IS NULL AND (w.retry_at IS NULL OR w.retry_at <= now())
       AND (w.sending_until IS NULL OR w.sending_until < now())
     ORDER BY w.retry_at NULLS FIRST, d.id
     LIMIT 1
       FOR NO KEY UPDATE OF w SKIP LOCKED)
UPDATE webhook w SET sending_until = now() + make_interval(secs => :seconds)
  FROM due WHERE w.id = due.webhook_id
RETURNING due.*
"""

_BODY = f"""
SELECT json_build_object('delivery', :delivery, 'webhook', :webhook, 'events',
                         json_agg(e ORDER BY e.log_id))::text
  FROM (SELECT l.id AS log_id, l.action, l.from_status AS "from", l.to_status AS status,
               {STEP_TIMES}, l.note, {incident_feature("d")} AS "case"
          FROM webhook_delivery b
         CROSS JOIN LATERAL unnest(b.log_ids) s(log_id)
          JOIN incident_log l ON l.id = s.log_id
          JOIN incident_doc d ON d.id = l.incident_id
         WHERE b.id = :delivery) e
"""

# A batch taken, or failed (its webhook tried again after ``wait`` seconds, or at once if it
# was sent to an address the webhook has left meanwhile); with the answer. The webhook free to
# send its next.
_ANSWERED = """
WITH batch AS (
    UPDATE webhook_delivery SET attempts = attempts + 1, last_at = now(),
                                last_status = :status, last_error = :error,
                                delivered_at = CASE WHEN NOT :failed THEN now() END
     WHERE id = :delivery)
UPDATE webhook
   SET last_status = :status, last_error = :error,
       failing_since = CASE WHEN :failed THEN coalesce(failing_since, now()) END,
       retry_at = CASE WHEN :failed AND url = :url THEN now() + make_interval(secs => :wait)
                  END,
       last_delivered_at = CASE WHEN :failed THEN last_delivered_at ELSE now() END,
       sending_until = NULL
 WHERE id = :webhook
"""

# A batch on its way when its process stopped: neither answered nor failed, its webhook free
# for another process to send it again.
_FREED = "UPDATE webhook SET sending_until = NULL WHERE id = :webhook"


async def receiver_of(conn: AsyncConnection, webhook_id: int) -> tuple[str, str]:
    """What a test batch is sent to and signed with: the webhook's address and secret."""
    found = (await conn.execute(text("SELECT url, secret FROM webhook WHERE id = :id"),
                                {"id": webhook_id})).first()
    if found is None:
        raise NotFound(f"no webhook {webhook_id}", field="id")
    try:
        return found.url, decrypt(found.secret, SECRET)
    except InvalidTag:
        raise Conflict(UNREADABLE, field="id") from None


async def send_ping(webhook_id: int, url: str, secret: str) -> dict:
    """A test batch (``X-Mapsvc-Delivery: ping``, no steps) sent now, queued behind nothing
    and recorded nowhere: the receiver's answer (``status``, and ``error``: None if taken)."""
    body = json.dumps({"delivery": "ping", "webhook": webhook_id, "events": []}).encode()
    async with webhook_client() as client:
        status, error = await _post(client, url, secret, "ping", body)
    return {"status": status, "error": error}


def webhook_client() -> httpx.AsyncClient:
    """What sends the batches: redirects not followed (a receiver's address is the one given)."""
    return httpx.AsyncClient(timeout=TIMEOUT_SECONDS)


async def _post(client: httpx.AsyncClient, url: str, secret: str, delivery: str,
                body: bytes) -> tuple[int | None, str | None]:
    """Send one batch: the receiver's status, and what went wrong (None: taken)."""
    timestamp = str(int(time.time()))
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):  # the whole of it, however it trickles
            answer = await client.post(url, content=body, headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "mapsvc-webhooks", "X-Mapsvc-Delivery": delivery,
                "X-Mapsvc-Timestamp": timestamp,
                "X-Mapsvc-Signature": signature(secret, timestamp, body)})
    except TimeoutError:
        return None, f"no answer within {TIMEOUT_SECONDS} s"
    except Exception as failed:  # whatever keeps a batch from its receiver
        # (no answer, an address no name server knows or IDNA can write) fails that webhook's
        # batch alone, to be tried again, and never the sending of the others
        return None, f"{type(failed).__name__}: {failed}"[:ERRORS_MOST]
    if answer.is_success:
        return answer.status_code, None
    return answer.status_code, f"HTTP {answer.status_code}: {answer.text}"[:ERRORS_MOST]


async def deliver_one(engine: AsyncEngine, client: httpx.AsyncClient) -> bool:
    """Send the oldest batch of one webhook whose time has come; whether there was one."""
    async with engine.begin() as conn:
        due = (await conn.execute(text(_TAKEN), {"seconds": SENDING_SECONDS})).mappings().first()
        if due is None:
            return False
        body = (await conn.execute(text(_BODY), {"delivery": due["id"],
                                                 "webhook": due["webhook_id"]})).scalar_one()
    try:
        secret = decrypt(due["secret"], SECRET)
    except InvalidTag:  # kept under another key than the service's now
        status, error = None, UNREADABLE
    else:
        try:
            status, error = await _post(client, due["url"], secret, str(due["id"]),
                                        body.encode())
        except asyncio.CancelledError:  # the process stopping: the batch goes again, at once
            with contextlib.suppress(SQLAlchemyError):  # (if not, once SENDING_SECONDS pass)
                async with engine.begin() as conn:
                    await conn.execute(text(_FREED), {"webhook": due["webhook_id"]})
            raise
    wait = min(RETRY_FIRST_SECONDS * 2 ** due["attempts"], RETRY_MOST_SECONDS)
    async with engine.begin() as conn:
        await conn.execute(text(_ANSWERED), {
            "delivery": due["id"], "webhook": due["webhook_id"], "url": due["url"],
            "status": status, "error": error, "failed": error is not None, "wait": wait})
    return True
