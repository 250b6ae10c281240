"""Webhooks (推送订阅) over real HTTP: a receiver on a local port is told of each step of the
cases it follows (by region, department, step and source), in order, signed with the secret
shown once; a batch it refuses is tried again, the same batch, and those after it wait; a
paused webhook queues and sends nothing until resumed; a bulk import is sent in batches of a
hundred steps at most; a webhook changed follows the change, and its record keeps who made and
changed it; only administrators keep webhooks, and bad input is refused naming the field."""

import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.browser import Watch, refused, sign_in, wait_until
from tests.conftest import (PASSWORD, Server, free_port, new_account, signed_in_client,
                            with_an_administrator)
from tests.test_people_page import pick_area


class Receiver:
    """Another system's endpoint: each POST kept (its headers, body and the status answered);
    answers with the statuses it is told to give (``refuse``), in order, then 200."""

    def __init__(self):
        self.taken: list[tuple[dict, bytes, int]] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()
        self.arrived = 0
        self.answering = threading.Event()  # cleared: each POST is held until it is set
        self.answering.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.arrived += 1
                receiver.answering.wait()
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.taken.append((dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/mapsvc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def refuse(self, *statuses: int) -> None:
        with self.lock:
            self.answers.extend(statuses)

    def posts(self) -> list[tuple[dict, dict]]:
        """Each POST's headers and body, in the order they came."""
        with self.lock:
            return [(headers, json.loads(body)) for headers, body, _ in self.taken]

    def steps(self) -> list[dict]:
        """The steps of the batches taken (answered 200), in the order they came."""
        with self.lock:
            return [e for _, body, status in self.taken if status == 200
                    for e in json.loads(body)["events"]]

    def close(self) -> None:
        self.answering.set()
        self.server.shutdown()
        self.server.server_close()


def waited(what, seconds: float = 60):
    """What ``what()`` gives once it is truthy (the service sends within a second or so)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if found := what():
            return found
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds} s in vain")


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def hooks(api):
    """Makes webhooks as the administrator; removes them after the test."""
    made = []

    def make(**body):
        r = api.post("/webhooks", json={"client_id": str(uuid.uuid4()), "name": "测试推送",
                                        **body})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
        return r.json()

    yield make
    for webhook in made:
        api.delete(f"/webhooks/{webhook}")


def case_at(client, grids, prefix: str, index: int = 0, **more) -> int:
    p = grids[grids["code"].str.startswith(prefix)].geometry.iloc[index].representative_point()
    r = client.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "06",
                                        "description": "路灯不亮", "lon": p.x, "lat": p.y,
                                        **more})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def do(client, case, action, **body):
    r = client.post(f"/incidents/{case}/actions/{action}", json=body)
    assert r.status_code == 200, (action, r.text)


def test_a_webhook_is_told_of_each_step_of_the_cases_it_follows_signed(api, grids, receiver):
    township = grids[grids["code"].str.startswith("441502")]["code"].iloc[0][:9]
    body = {"client_id": str(uuid.uuid4()), "name": "12345热线回传", "url": receiver.url,
            "region": township, "sources": ["hotline"]}
    r = api.post("/webhooks", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    kept = len(api.get("/webhooks").json())
    try:
        assert made["region"]["code"] == township and made["sources"] == ["hotline"]
        assert made["actions"] is None and not made["paused"] and len(made["secret"]) >= 32
        again = api.post("/webhooks", json=body)  # its answer lost: sent again
        assert again.status_code == 200
        assert (again.json()["id"], again.json()["secret"]) == (made["id"], made["secret"])
        assert len(api.get("/webhooks").json()) == kept
        listed = api.get(f"/webhooks/{made['id']}").json()
        assert "secret" not in listed and listed["url"] == receiver.url

        number = f"GD{uuid.uuid4().int % 10**10:010d}"
        followed = case_at(api, grids, township, source="hotline", client_id=number)
        own = case_at(api, grids, township)  # a grid worker's source: not followed
        elsewhere = case_at(api, grids, "420106", source="hotline")  # another county
        for case in (followed, own, elsewhere):
            do(api, case, "file")
        do(api, followed, "dispatch", department="T1", note="请尽快处理<b>")

        steps = waited(lambda: len(receiver.steps()) >= 3 and receiver.steps())
        assert [(s["case"]["id"], s["action"], s["from"], s["status"]) for s in steps] == [
            (followed, "report", None, "reported"), (followed, "file", "reported", "filed"),
            (followed, "dispatch", "filed", "dispatched")]
        assert steps[-1]["note"] == "请尽快处理<b>"
        assert [s["log_id"] for s in steps] == sorted(s["log_id"] for s in steps)
        timeline = api.get(f"/incidents/{followed}/timeline").json()
        assert [(s["action"], datetime.fromisoformat(s["at"])) for s in steps] == [
            (t["action"], datetime.fromisoformat(t["at"])) for t in timeline]
        case = steps[-1]["case"]  # as it stands when sent
        assert case["type"] == "Feature" and case["properties"]["source_number"] == number
        assert (case["properties"]["status"], case["properties"]["department"]) == (
            "dispatched", "T1")

        for headers, raw, _ in receiver.taken:
            secret, stamp = made["secret"].encode(), headers["X-Mapsvc-Timestamp"]
            expected = hmac.new(secret, stamp.encode() + b"." + raw, hashlib.sha256)
            assert headers["X-Mapsvc-Signature"] == "sha256=" + expected.hexdigest()
            assert json.loads(raw)["delivery"] == int(headers["X-Mapsvc-Delivery"])
            assert json.loads(raw)["webhook"] == made["id"]
            assert headers["Content-Type"].startswith("application/json")
        assert len(receiver.taken) == len({h["X-Mapsvc-Delivery"] for h, _ in receiver.posts()})

        state = waited(lambda: (w := api.get(f"/webhooks/{made['id']}").json())["waiting"] == 0
                       and w)
        assert state["last_status"] == 200 and state["failing_since"] is None
        assert state["last_delivered_at"] is not None
        batches = api.get(f"/webhooks/{made['id']}/deliveries").json()
        assert sum(b["steps"] for b in batches) == 3
        assert all(b["attempts"] == 1 and b["delivered_at"] for b in batches)
        assert [b["id"] for b in batches] == sorted((b["id"] for b in batches), reverse=True)

        renewed = api.post(f"/webhooks/{made['id']}/secret").json()  # the old one leaked
        assert renewed["secret"] != made["secret"] and renewed["id"] == made["id"]
        do(api, followed, "urge", note="市民来电催办")
        [(headers, raw, _)] = waited(lambda: receiver.taken[len(batches):])
        stamp = headers["X-Mapsvc-Timestamp"].encode() + b"." + raw
        assert headers["X-Mapsvc-Signature"] == "sha256=" + hmac.new(
            renewed["secret"].encode(), stamp, hashlib.sha256).hexdigest()
        assert [e["action"] for e in json.loads(raw)["events"]] == ["urge"]
    finally:
        assert api.delete(f"/webhooks/{made['id']}").status_code == 204
    assert api.get(f"/webhooks/{made['id']}").status_code == 404
    sent = len(receiver.posts())
    do(api, followed, "reassign", department="T1", note="改派")
    time.sleep(2)  # a removed webhook is told nothing more
    assert len(receiver.posts()) == sent


def test_a_refused_batch_is_tried_again_and_those_after_it_wait(api, clients, grids, receiver,
                                                                hooks):
    """Following the cases dispatched to one department: the dispatch is its first step."""
    command, department = clients["command"], clients["department"]
    receiver.refuse(500)
    made = hooks(url=receiver.url, region="441502", department="T1")
    case = case_at(command, grids, "441502", index=3)
    do(command, case, "file")
    do(command, case, "dispatch", department="T1")
    failing = waited(lambda: (w := api.get(f"/webhooks/{made['id']}").json())["last_status"]
                     == 500 and w)
    assert failing["failing_since"] and failing["retry_at"] > failing["failing_since"]
    assert failing["last_error"] == "HTTP 500: no" and failing["waiting"] == 1
    do(department, case, "accept")  # queued behind the batch that failed
    assert waited(lambda: api.get(f"/webhooks/{made['id']}").json()["waiting"] == 2)
    [first] = receiver.posts()
    assert [e["action"] for e in first[1]["events"]] == ["dispatch"]

    mended = api.post(f"/webhooks/{made['id']}/retry")
    assert mended.status_code == 200
    posts = waited(lambda: len(receiver.posts()) >= 3 and receiver.posts())
    assert [h["X-Mapsvc-Delivery"] for h, _ in posts] == [
        first[0]["X-Mapsvc-Delivery"], first[0]["X-Mapsvc-Delivery"],
        str(int(first[0]["X-Mapsvc-Delivery"]) + 1)]
    assert [e["log_id"] for e in posts[1][1]["events"]] == [e["log_id"]
                                                            for e in first[1]["events"]]
    assert [e["action"] for _, b in posts for e in b["events"]] == ["dispatch", "dispatch",
                                                                   "accept"]
    mended = waited(lambda: (w := api.get(f"/webhooks/{made['id']}").json())["waiting"] == 0
                    and w)
    assert (mended["failing_since"], mended["retry_at"], mended["last_error"]) == (
        None, None, None)
    batches = api.get(f"/webhooks/{made['id']}/deliveries").json()
    assert [(b["attempts"], b["last_status"]) for b in batches] == [(1, 200), (2, 200)]

    r = api.patch(f"/webhooks/{made['id']}", json={"paused": True})
    assert r.status_code == 200 and r.json()["paused"]
    do(department, case, "report_handled", note="已修复")
    assert waited(lambda: api.get(f"/webhooks/{made['id']}").json()["waiting"] == 1)
    time.sleep(2)  # paused: queued, not sent
    assert len(receiver.posts()) == 3
    assert not api.patch(f"/webhooks/{made['id']}", json={"paused": False}).json()["paused"]
    resumed = waited(lambda: len(receiver.posts()) == 4 and receiver.posts())
    assert [e["action"] for e in resumed[-1][1]["events"]] == ["report_handled"]


def test_a_webhook_changed_follows_the_change_and_its_record_keeps_who_and_what(
        api, clients, grids, receiver):
    """An administrator moves a webhook to its receiver's new address, widens what it follows
    and renames it: the steps taken from then go there, as changed; a batch failing at the old
    address is tried at the new one at once. Each change, pause, new secret and the removal
    (with what it had queued) stays in the record, by whom; the same change again records
    nothing; a bad change is refused naming the field, changing nothing."""
    moved = Receiver()
    made = api.post("/webhooks", json={"client_id": str(uuid.uuid4()), "name": "测试推送",
                                       "url": receiver.url, "region": "441502",
                                       "actions": ["report"]}).json()
    path = f"/webhooks/{made['id']}"
    try:
        first = case_at(api, grids, "441502", index=4)
        assert waited(lambda: receiver.steps())[0]["case"]["id"] == first
        receiver.refuse(*[500] * 5)
        failing = case_at(api, grids, "441502", index=4)
        assert waited(lambda: api.get(path).json()["retry_at"])  # 15 s on, at the old address

        change = {"name": "区平台", "url": moved.url, "actions": ["file", "report"]}
        r = api.patch(path, json=change)
        assert r.status_code == 200, r.text
        assert (r.json()["name"], r.json()["url"], r.json()["actions"]) == (
            "区平台", moved.url, ["file", "report"])
        assert r.json()["retry_at"] is None  # at the new address at once
        assert api.patch(path, json={**change, "actions": ["report", "file"]}).status_code == 200
        for bad in ({}, {"name": None}, {"url": "ftp://127.0.0.1/"}, {"paused": None},
                    {"actions": []}, {"region": "999999"}, {"categories": ["ZZ9"]}):
            r = api.patch(path, json={**bad, "name": "不该改"} if "region" in bad else bad)
            assert r.status_code == 422, (bad, r.text)
            named = r.json()["detail"][0]["loc"]
            assert bad == {} or named[-1] in bad or named[1] in bad, (bad, named)
        assert api.get(path).json()["name"] == "区平台"  # the refused change made none
        do(api, first, "file")
        steps = waited(lambda: len(moved.steps()) == 2 and moved.steps())
        assert [(s["case"]["id"], s["action"]) for s in steps] == [
            (failing, "report"), (first, "file")]
        assert len(receiver.steps()) == 1

        r = api.patch(path, json={"region": None, "actions": None})  # everywhere, every step
        assert (r.json()["region"], r.json()["actions"]) == (None, None)
        elsewhere = case_at(api, grids, "420106")
        assert waited(lambda: any(s["case"]["id"] == elsewhere for s in moved.steps()))
        for paused in (True, True, False, True):
            assert api.patch(path, json={"paused": paused}).json()["paused"] is paused
        api.post(f"{path}/secret")
        case_at(api, grids, "441502", index=6)  # paused: queued when it is removed
        assert waited(lambda: api.get(path).json()["waiting"] == 1)
    finally:
        assert api.delete(path).status_code == 204
        moved.close()

    record = api.get(f"/webhooks/events?webhook={made['id']}").json()
    assert [(e["event"], e["name"], e["by"]) for e in reversed(record)] == [
        ("made", "测试推送", "admin"), ("changed", "区平台", "admin"),
        ("changed", "区平台", "admin"), ("paused", "区平台", "admin"),
        ("resumed", "区平台", "admin"), ("paused", "区平台", "admin"),
        ("new_secret", "区平台", "admin"), ("removed", "区平台", "admin")]
    made_, renamed, widened = record[-1]["detail"], record[-2]["detail"], record[-3]["detail"]
    assert made_ == {"url": receiver.url, "region": "441502", "department": None,
                     "actions": ["report"], "sources": None, "categories": None}
    assert renamed == {"name": {"from": "测试推送", "to": "区平台"},
                       "url": {"from": receiver.url, "to": moved.url},
                       "actions": {"from": ["report"], "to": ["file", "report"]}}
    assert widened == {"region": {"from": "441502", "to": None},
                       "actions": {"from": ["file", "report"], "to": None}}
    assert record[0]["detail"] == {"url": moved.url, "region": None, "department": None,
                                   "actions": None, "sources": None, "categories": None,
                                   "dropped": 1, "dropped_steps": 1}
    assert [e["id"] for e in record] == sorted((e["id"] for e in record), reverse=True)
    everything = api.get("/webhooks/events?limit=1000").json()
    assert [e for e in everything if e["webhook_id"] == made["id"]] == record
    assert clients["command"].get("/webhooks/events").status_code == 403
    assert api.patch(path, json={"paused": True}).status_code == 404


def test_a_batch_taken_is_sent_again_on_an_administrators_word(api, clients, grids, receiver,
                                                               hooks):
    """A receiver restored from a backup lost a batch it had taken: sent again, the same
    steps, as a new batch behind those waiting, noting the one it copies; asked again while the
    copy waits, the same copy; recorded."""
    made = hooks(url=receiver.url, region="441502")
    case = case_at(api, grids, "441502", index=8)
    [(headers, first)] = waited(lambda: receiver.posts())
    batch = int(headers["X-Mapsvc-Delivery"])
    path = f"/webhooks/{made['id']}"
    assert waited(lambda: api.get(path).json()["waiting"] == 0)
    api.patch(path, json={"paused": True})  # the copy waits while paused
    r = api.post(f"{path}/deliveries/{batch}/resend")
    assert r.status_code == 201, r.text
    copy = r.json()
    assert (copy["resent_from"], copy["steps"], copy["delivered_at"]) == (batch, 1, None)
    assert copy["id"] > batch and copy["first_log_id"] == first["events"][0]["log_id"]
    again = api.post(f"{path}/deliveries/{batch}/resend")
    assert (again.status_code, again.json()["id"]) == (200, copy["id"])
    assert api.post(f"{path}/deliveries/{copy['id']}/resend").json()["id"] == copy["id"]
    api.patch(path, json={"paused": False})
    [_, (headers, body)] = waited(lambda: len(receiver.posts()) == 2 and receiver.posts())
    assert headers["X-Mapsvc-Delivery"] == str(copy["id"])
    assert [(e["log_id"], e["case"]["id"]) for e in body["events"]] == [
        (e["log_id"], case) for e in first["events"]]
    [record] = [e for e in api.get(f"/webhooks/events?webhook={made['id']}").json()
                if e["event"] == "resent"]
    assert record["detail"] == {"delivery": batch, "as": copy["id"]}
    for unknown, named in ((f"{path}/deliveries/987654321", "delivery"),
                           (f"/webhooks/987654321/deliveries/{batch}", "id")):
        r = api.post(f"{unknown}/resend")
        assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == named, r.text
    other = hooks(url=receiver.url, region="420106")  # another webhook's batch is not its
    r = api.post(f"/webhooks/{other['id']}/deliveries/{batch}/resend")
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "delivery"
    assert clients["command"].post(f"{path}/deliveries/{batch}/resend").status_code == 403


def test_a_slow_receiver_holds_up_no_step(api, grids, receiver, hooks):
    """While a batch is on its way to a receiver that takes its time, the steps taken are
    queued behind it at once: the batch is still unanswered when they are."""
    made = hooks(url=receiver.url, region="441502")
    receiver.answering.clear()
    case = case_at(api, grids, "441502", index=5)
    waited(lambda: receiver.arrived == 1)  # the report's batch, held
    do(api, case, "file")
    do(api, case, "dispatch", department="T1")
    [*later, held] = api.get(f"/webhooks/{made['id']}/deliveries").json()
    assert (held["attempts"], held["delivered_at"]) == (0, None)  # still on its way
    assert [b["steps"] for b in later] == [1, 1]
    receiver.answering.set()
    steps = waited(lambda: len(receiver.steps()) == 3 and receiver.steps())
    assert [s["action"] for s in steps] == ["report", "file", "dispatch"]


def test_a_batch_on_its_way_when_its_process_stops_is_sent_again_at_once(database_at,
                                                                         database_url, receiver):
    """A process stopped (a restart, an upgrade) before its receiver answered: the batch is
    neither taken nor failed, and its webhook is free at once, not held the 15 s a batch on
    its way keeps it, for the next process to send it again, the same batch."""
    connect, _ = database_at("mapsvc_test_hooks", "head")
    with_an_administrator(make_url(database_url).set(database="mapsvc_test_hooks")
                          .render_as_string(False), "hooks")
    receiver.answering.clear()

    def served() -> Server:
        return Server("hooks", env={"MAPSVC_DATABASE_NAME": "mapsvc_test_hooks"}).start()

    first = served()
    try:
        with signed_in_client(first.base, "hooks") as api:
            assert api.post("/webhooks", json={"client_id": str(uuid.uuid4()), "name": "回传",
                                               "url": receiver.url}).status_code == 201
            assert api.post("/incidents", json={
                "client_id": str(uuid.uuid4()), "category": "06", "lon": 115.37,
                "lat": 22.79}).status_code == 201
            waited(lambda: receiver.arrived == 1)  # on its way, unanswered
    finally:
        first.stop()
    with connect() as conn:
        assert conn.execute("SELECT sending_until FROM webhook").fetchone() == (None,)
        assert conn.execute("SELECT attempts, delivered_at FROM webhook_delivery").fetchall() \
            == [(0, None)]
    second = served()
    try:
        waited(lambda: receiver.arrived == 2)
        receiver.answering.set()
        with connect() as conn:
            waited(lambda: conn.execute("SELECT attempts FROM webhook_delivery "
                                        "WHERE delivered_at IS NOT NULL").fetchone() == (1,))
    finally:
        second.stop()
    # the first, answered too once its sender had gone
    [(one, _), (again, _)] = waited(lambda: len(receiver.posts()) == 2 and receiver.posts())
    assert one["X-Mapsvc-Delivery"] == again["X-Mapsvc-Delivery"]


def test_a_webhook_is_changed_at_once_while_a_batch_is_on_its_way(api, grids, receiver, hooks):
    """While a batch is on its way to a receiver slow to answer, the administrator moves the
    webhook to its receiver's new address, renames it, gives it a new secret, pauses and
    resumes it: each is made at once, the batch still unanswered. That batch, refused at the
    old address, is tried at the new one at once, signed anew, and the steps after it follow."""
    moved = Receiver()
    made = hooks(url=receiver.url, region="441502")
    path = f"/webhooks/{made['id']}"
    try:
        receiver.answering.clear()
        receiver.refuse(500)
        case = case_at(api, grids, "441502", index=7)
        waited(lambda: receiver.arrived == 1)  # the report's batch, held
        r = api.patch(path, json={"name": "区平台", "url": moved.url})
        assert (r.status_code, r.json()["url"]) == (200, moved.url), r.text
        secret = api.post(f"{path}/secret").json()["secret"]
        for paused in (True, False):
            assert api.patch(path, json={"paused": paused}).json()["paused"] is paused
        [held] = api.get(f"{path}/deliveries").json()
        assert (held["attempts"], held["delivered_at"]) == (0, None)  # still on its way
        do(api, case, "file")
        receiver.answering.set()

        waited(lambda: api.get(f"{path}/deliveries").json()[-1]["attempts"] >= 1)
        assert api.get(path).json()["retry_at"] is None  # not 15 s on: at the new address
        steps = waited(lambda: len(moved.steps()) == 2 and moved.steps())
        assert [(s["case"]["id"], s["action"]) for s in steps] == [
            (case, "report"), (case, "file")]
        assert [status for _, _, status in receiver.taken] == [500]
        headers, raw, _ = moved.taken[0]
        assert headers["X-Mapsvc-Delivery"] == str(held["id"])
        stamp = headers["X-Mapsvc-Timestamp"].encode() + b"." + raw
        assert headers["X-Mapsvc-Signature"] == "sha256=" + hmac.new(
            secret.encode(), stamp, hashlib.sha256).hexdigest()
        first = api.get(f"{path}/deliveries").json()[-1]
        assert (first["id"], first["attempts"], first["last_status"]) == (held["id"], 2, 200)
    finally:
        moved.close()


def test_a_secret_the_service_cannot_read_fails_its_webhook_alone_until_it_has_a_new_one(
        api, grids, receiver, hooks, db):
    """A secret kept under another key than the service's now (the key changed): its batches
    fail saying so, and so does its test batch, until it is given a new secret."""
    made = hooks(url=receiver.url, region="441502")
    with db.begin() as conn:
        conn.execute(text("UPDATE webhook SET secret = :s WHERE id = :id"),
                     {"s": os.urandom(60), "id": made["id"]})
    case = case_at(api, grids, "441502", index=9)
    failing = waited(lambda: (w := api.get(f"/webhooks/{made['id']}").json())["failing_since"]
                     and w)
    assert failing["last_error"].startswith("its secret cannot be read")
    assert failing["last_status"] is None and receiver.posts() == []
    r = api.post(f"/webhooks/{made['id']}/ping")
    assert r.status_code == 409 and r.json()["detail"][0]["loc"][-1] == "id"
    renewed = api.post(f"/webhooks/{made['id']}/secret").json()["secret"]
    assert api.post(f"/webhooks/{made['id']}/retry").status_code == 200
    [(headers, raw, _)] = waited(lambda: receiver.taken)
    assert [(e["case"]["id"], e["action"]) for e in json.loads(raw)["events"]] == [
        (case, "report")]
    assert headers["X-Mapsvc-Signature"] == "sha256=" + hmac.new(
        renewed.encode(), headers["X-Mapsvc-Timestamp"].encode() + b"." + raw,
        hashlib.sha256).hexdigest()


def test_a_webhook_follows_the_classes_named_and_those_under_them(api, grids, receiver, hooks):
    hooks(url=receiver.url, region="441502", categories=["06"], actions=["report"])
    other = case_at(api, grids, "441502", index=12, category="03")
    cases = [case_at(api, grids, "441502", index=12, category=c) for c in ("06", "0601")]
    steps = waited(lambda: len(receiver.steps()) == 2 and receiver.steps())
    assert [(s["case"]["id"], s["case"]["properties"]["category"]) for s in steps] == [
        (cases[0], "06"), (cases[1], "0601")]  # sent in order: the class 03 one, before, not
    assert other not in {s["case"]["id"] for s in receiver.steps()}
    for bad, context in ((["ZZ9", "06"], {"missing": ["ZZ9"]}), ([], None)):
        r = api.post("/webhooks", json={"client_id": str(uuid.uuid4()), "name": "类别",
                                        "url": receiver.url, "categories": bad})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "categories"
        assert context is None or r.json()["detail"][0]["ctx"] == context


def test_a_bulk_import_is_sent_in_batches_of_a_hundred_steps_at_most(api, grids, receiver,
                                                                    hooks):
    made = hooks(url=receiver.url, region="441502", actions=["report"], sources=["hotline"])
    p = grids[grids["code"].str.startswith("441502")].geometry.iloc[7].representative_point()
    batch = uuid.uuid4().hex[:8]
    sheet = "client_id,category,lon,lat,description\n" + "".join(
        f"GD{batch}{n:04d},03,{p.x},{p.y},路灯不亮\n" for n in range(250))
    r = api.post("/incidents/import", data={"source": "hotline"}, files={
        "file": ("12345.csv", sheet.encode(), "text/csv")})
    assert r.json()["inserted"] == 250, r.text
    steps = waited(lambda: len(receiver.steps()) >= 250 and receiver.steps())
    assert len(steps) == 250 and {s["action"] for s in steps} == {"report"}
    assert sorted(s["case"]["properties"]["source_number"] for s in steps) == [
        f"GD{batch}{n:04d}" for n in range(250)]
    assert [s["log_id"] for s in steps] == sorted({s["log_id"] for s in steps})
    sizes = [len(body["events"]) for _, body in receiver.posts()]
    assert max(sizes) <= 100 and len(sizes) >= 3
    assert api.get(f"/webhooks/{made['id']}").json()["waiting"] == 0


def test_only_administrators_keep_webhooks_and_bad_input_is_refused_naming_it(api, clients,
                                                                               server, receiver):
    good = {"client_id": str(uuid.uuid4()), "name": "部门系统", "url": receiver.url}
    for role in ("command", "worker", "department", "auditor"):
        assert clients[role].post("/webhooks", json=good).status_code == 403
        assert clients[role].get("/webhooks").status_code == 403
    before = api.get("/webhooks").json()
    for field, value in (("url", "ftp://127.0.0.1/x"), ("url", "http://who:pw@127.0.0.1/"),
                         ("url", "127.0.0.1:9/x"), ("url", "http:///x"),
                         ("url", "http://127.0.0.1:99999/"), ("url", "http://a\u3000b/"),
                         ("name", "  "), ("actions", ["fly"]), ("actions", []),
                         ("sources", ["pigeon"]), ("region", "44x")):
        r = api.post("/webhooks", json={**good, field: value})
        assert r.status_code == 422, (field, value)
        assert r.json()["detail"][0]["loc"][1] == field, (field, value, r.text)
    for field, value in (("region", "999999"), ("department", "NO-SUCH")):
        r = api.post("/webhooks", json={**good, field: value})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field
    assert api.get("/webhooks").json() == before  # nothing made
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/retry"),
                         ("GET", "/deliveries")):
        r = api.request(method, f"/webhooks/987654321{path}",
                        json={"paused": True} if method == "PATCH" else None)
        assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "id", (method, path)

    made = api.post("/webhooks", json=good)
    try:  # a test batch, before any step goes there: sent now, signed, recorded nowhere
        ping = f"/webhooks/{made.json()['id']}/ping"
        assert api.post(ping).json() == {"status": 200, "error": None}
        [(headers, raw, _)] = receiver.taken
        assert headers["X-Mapsvc-Delivery"] == "ping" and json.loads(raw)["events"] == []
        assert headers["X-Mapsvc-Signature"] == "sha256=" + hmac.new(
            made.json()["secret"].encode(), headers["X-Mapsvc-Timestamp"].encode() + b"." + raw,
            hashlib.sha256).hexdigest()
        receiver.refuse(500)
        assert api.post(ping).json() == {"status": 500, "error": "HTTP 500: no"}
        assert clients["command"].post(ping).status_code == 403
        listed = api.get(f"/webhooks/{made.json()['id']}").json()
        assert (listed["failing_since"], listed["last_status"], listed["waiting"]) == (
            None, None, 0)
        assert api.get(f"/webhooks/{made.json()['id']}/deliveries").json() == []
        closed = api.post("/webhooks", json={**good, "client_id": str(uuid.uuid4()),
                                             "url": f"http://127.0.0.1:{free_port()}/"})
        answer = api.post(f"/webhooks/{closed.json()['id']}/ping").json()
        api.delete(f"/webhooks/{closed.json()['id']}")
        assert answer["status"] is None and answer["error"].startswith("ConnectError")
        unwritable = api.post("/webhooks", json={**good, "client_id": str(uuid.uuid4()),
                                                 "url": "http://xn--/"})  # no IDNA name
        answer = api.post(f"/webhooks/{unwritable.json()['id']}/ping").json()
        api.delete(f"/webhooks/{unwritable.json()['id']}")
        assert answer["status"] is None and answer["error"].startswith("IDNAError")
        other = signed_in_client(server, new_account("admin", region_code=None))
        r = other.post("/webhooks", json=good)  # another administrator's client id
        assert r.status_code == 409 and r.json()["detail"][0]["loc"][-1] == "client_id"
    finally:
        api.delete(f"/webhooks/{made.json()['id']}")


def test_the_administrator_makes_follows_and_removes_a_webhook_on_its_page(browser, server, api,
                                                                        grids, receiver):
    """The page: made with the region and source chosen, its secret shown once and signing the
    batches; a refusal shown failing, tried again at once; paused and resumed; its batches;
    removed. A name typed shows as text."""
    township = grids[grids["code"].str.startswith("441502")]["code"].iloc[0][:9]
    page = browser.new_context(viewport={"width": 1500, "height": 900}).new_page()
    page.on("dialog", lambda d: d.accept())
    watch = Watch(page)
    sign_in(page, server, "/map/webhooks", "admin", PASSWORD)
    wait_until(page, "window.mapsvcWebhooks.shown !== null", "the webhooks")
    name = f"<b>热线</b>回传{uuid.uuid4().hex[:6]}"
    form = page.locator("#webhooks-new")
    form.locator("[name=name]").fill(name)
    form.locator("[name=url]").fill(receiver.url)
    pick_area(page, "4415", "441502", township, within="#webhooks-region")
    form.locator("[name=sources][value=hotline]").check()
    expect(page.locator("#webhooks-department-list option[value='T1']")).to_have_text("测试局")
    form.locator("[name=categories]").fill("ZZ9")
    form.locator("button[type=submit]").click()
    expect(page.locator("#webhooks-said")).to_have_text("类别编码不存在：ZZ9")
    form.locator("[name=categories]").fill("")
    form.locator("button[type=submit]").click()
    expect(page.locator("#webhooks-said")).to_have_text(
        f"已新建 {name}，此后的环节即推送到 {receiver.url}")
    secret = page.locator("#webhooks-secret-value").inner_text()
    [made] = [w for w in api.get("/webhooks").json() if w["name"] == name]
    try:
        assert (made["region"]["code"], made["sources"], made["actions"]) == (
            township, ["hotline"], None)
        row = page.locator(f"#webhooks tr[data-webhook='{made['id']}']")
        expect(row.locator("td").nth(0)).to_have_text(name)  # as text, not markup
        expect(row.locator("td").nth(2)).to_have_text(
            f"{made['region']['name']}；来源：12345热线；全部环节")
        expect(row.locator("td").nth(3)).to_have_text("正常")

        row.get_by_role("button", name="测试推送").click()
        expect(page.locator("#webhooks-said")).to_have_text(f"测试推送已送达 {name}（HTTP 200）")
        case = case_at(api, grids, township, index=2, source="hotline")
        [ping, (headers, raw, _)] = waited(lambda: len(receiver.taken) == 2 and receiver.taken)
        assert ping[0]["X-Mapsvc-Delivery"] == "ping"
        assert headers["X-Mapsvc-Signature"] == "sha256=" + hmac.new(
            secret.encode(), headers["X-Mapsvc-Timestamp"].encode() + b"." + raw,
            hashlib.sha256).hexdigest()
        receiver.refuse(503)
        do(api, case, "file")
        expect(row.locator("td").nth(3)).to_contain_text("推送失败", timeout=30_000)
        expect(row.locator("td").nth(3)).to_contain_text("HTTP 503: no")
        expect(row.locator("td").nth(4)).to_contain_text("1 批（1 个环节）")
        row.get_by_role("button", name="立即重试").click()
        expect(page.locator("#webhooks-said")).to_have_text(f"已让 {name} 立即重试")
        waited(lambda: len(receiver.steps()) == 2)  # the report's and the file's
        row.get_by_role("button", name="暂停").click()
        expect(row.locator("td").nth(3)).to_contain_text("已暂停")
        assert api.get(f"/webhooks/{made['id']}").json()["paused"]
        row.get_by_role("button", name="恢复").click()
        expect(row.locator("td").nth(3)).to_have_text("正常")
        expect(row.locator("td").nth(4)).to_have_text("无")
        row.get_by_role("button", name="推送记录").click()
        batches = page.locator("#webhooks-batches tbody tr")
        expect(batches).to_have_count(2)
        expect(batches.nth(0).locator("td").nth(3)).to_have_text("2")  # tried twice
        expect(batches.nth(1).locator("td").nth(5)).to_have_text("HTTP 200")
        taken, lost = len(receiver.posts()), batches.nth(1).get_attribute("data-batch")
        batches.nth(1).get_by_role("button", name="重新推送").click()  # the receiver lost it
        expect(batches).to_have_count(3)
        copy = batches.nth(0).get_attribute("data-batch")
        expect(page.locator("#webhooks-said")).to_have_text(
            f"已将批次 {lost} 重新排队推送给 {name}（批次 {copy}）")
        expect(batches.nth(0).locator("td").nth(0)).to_have_text(f"{copy}（重发批次 {lost}）")
        waited(lambda: len(receiver.posts()) == taken + 1)

        row.get_by_role("button", name="修改").click()  # the form holds it, the region kept
        expect(form.locator("[name=name]")).to_have_value(name)
        expect(form.locator("[name=url]")).to_have_value(receiver.url)
        expect(form.locator("[name=sources][value=hotline]")).to_be_checked()
        expect(page.locator("#webhooks-region-kept")).to_have_text(
            f"当前：{made['region']['name']}，不选则不变")
        form.locator("[name=name]").fill(f"{name}新")
        form.locator("[name=actions]").select_option(["report", "file"])
        form.locator("[name=sources][value=hotline]").uncheck()
        form.locator("button[type=submit]").click()
        expect(page.locator("#webhooks-said")).to_have_text(
            f"已修改 {name}新，此后的环节按修改后的设置推送")
        expect(row.locator("td").nth(2)).to_have_text(
            f"{made['region']['name']}；环节：上报、立案")
        changed = api.get(f"/webhooks/{made['id']}").json()
        assert (changed["region"]["code"], changed["sources"], changed["actions"]) == (
            township, None, ["report", "file"])
        expect(form.locator("button[type=submit]")).to_have_text("新建推送")

        row.get_by_role("button", name="删除").click()
        expect(page.locator("#webhooks-said")).to_have_text(f"已删除 {name}新")
        expect(row).to_have_count(0)
        assert api.get(f"/webhooks/{made['id']}").status_code == 404
        record = page.locator("#webhooks-record tbody tr")  # the newest first
        expect(record.nth(0).locator("td").nth(3)).to_have_text("删除")
        expect(record.nth(1).locator("td").nth(1)).to_have_text(f"{name}新")  # as text
        expect(record.nth(1).locator("td").nth(2)).to_have_text("admin")
        expect(record.nth(1).locator("td").nth(4)).to_have_text(
            f"名称：{name} → {name}新；环节：全部 → 上报、立案；来源：12345热线 → 全部")
        expect(record.nth(2).locator("td").nth(4)).to_have_text(
            f"批次 {lost} 重新推送为批次 {copy}")
        expect(record.nth(3).locator("td").nth(3)).to_have_text("恢复")
    finally:
        api.delete(f"/webhooks/{made['id']}")
    # the one refusal asked for (the unknown class), and nothing else
    assert all(p == f"422: {server}/api/v1/webhooks" or "status of 422" in p
               for p in watch.problems) and len(watch.problems) == 2, watch.problems
    assert "此页面仅供管理员账号使用" in refused(browser, server, "/map/webhooks", "command",
                                                PASSWORD)
