"""A step on many cases at once (批量办理) through the API: taken on each case as if alone, or,
should any case refuse it, on none, with every case refused named by its place and reason."""

import threading
from datetime import timedelta

import psycopg
import pytest

from mapsvc.settings import database_url
from mapsvc.workflow.actions import BATCH_MOST
from mapsvc.workflow.machine import ACTIONS
from tests.test_workflow import _stored, do, new_case


def many(client, action, ids, **body):
    return client.post(f"/incidents/actions/{action}", json={"ids": ids, **body})


def cases(client, grids, n: int, start: int, prefix: str = "441502") -> list[int]:
    """``n`` new cases, each in a grid of its own from the ``start``-th of those under
    ``prefix``."""
    return [new_case(client, grids, code_prefix=prefix, index=start + i) for i in range(n)]


def state(client, case) -> tuple:
    stored = client.get(f"/incidents/{case}").json()
    return stored["status"], stored["department"]


def steps(client, case) -> list[str]:
    return [step["action"] for step in client.get(f"/incidents/{case}/timeline").json()]


def test_a_step_on_many_cases_is_each_cases_own_step_and_announced(clients, grids):
    command = clients["command"]
    filed = cases(command, grids, 3, 20)
    url = database_url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute("LISTEN incident")
        r = many(command, "file", filed)
        assert r.status_code == 200, r.text
        notes = [n.payload for n in listener.notifies(timeout=10, stop_after=3)]
    assert [(c["id"], c["from"], c["status"]) for c in r.json()] == [
        (case, "reported", "filed") for case in filed]
    assert all(any(f'"id": {case}' in note for note in notes) for case in filed)
    # in the order given, not the order taken
    r = many(command, "dispatch", filed[::-1], department="T1", note="请尽快处置")
    assert r.status_code == 200 and [c["id"] for c in r.json()] == filed[::-1]
    for case in filed:
        assert state(command, case) == ("dispatched", "T1")
        timeline = command.get(f"/incidents/{case}/timeline").json()
        assert [(t["action"], t["actor"]) for t in timeline] == [
            ("report", "command"), ("file", "command"), ("dispatch", "command")]
        assert timeline[-1]["note"] == "请尽快处置" and timeline[-1]["data"]["department"] == "T1"


def test_one_case_refusing_a_step_leaves_every_case_as_it_was(clients, grids):
    command = clients["command"]
    first, reported, last = cases(command, grids, 3, 24)
    do(command, first, "file")
    do(command, last, "file")
    r = many(command, "dispatch", [first, reported, last], department="T1")
    assert r.status_code == 409
    assert r.json()["detail"] == [{
        "loc": ["body", "ids", 1, "status"], "type": "conflict",
        "msg": "cannot dispatch an incident that is reported",
        "ctx": {"id": reported, "status": "reported"}}]
    assert [state(command, case) for case in (first, reported, last)] == [
        ("filed", None), ("reported", None), ("filed", None)]
    assert steps(command, first) == steps(command, last) == ["report", "file"]
    # what the request does not give a case: each such case named, nothing done
    r = many(command, "dispatch", [first, last])
    assert r.status_code == 422
    assert [(d["loc"], d["ctx"]["id"]) for d in r.json()["detail"]] == [
        (["body", "ids", 0, "department"], first), (["body", "ids", 1, "department"], last)]
    assert steps(command, first) == steps(command, last) == ["report", "file"]


def test_a_case_out_of_reach_is_named_and_the_answer_is_the_first_refusals(clients, accounts,
                                                                            grids):
    """A township's centre naming a case of another township among its own: not found, like a
    case that does not exist; the answer's status is that of the first case refused."""
    township = accounts["township_command"][1]["region_code"]
    own = cases(clients["admin"], grids, 2, 0, prefix=township)
    other = grids[grids["code"].str.startswith("441502")
                  & ~grids["code"].str.startswith(township)]
    elsewhere = new_case(clients["admin"], other, index=0)
    do(clients["admin"], own[1], "file")  # filed already: it is verified no more
    centre = clients["township_command"]
    r = many(centre, "verify", [elsewhere, *own])
    assert r.status_code == 404
    assert [(d["loc"][:3], d["type"], d["ctx"]["id"]) for d in r.json()["detail"]] == [
        (["body", "ids", 0], "notfound", elsewhere), (["body", "ids", 2], "conflict", own[1])]
    r = many(centre, "verify", [*own, elsewhere])
    assert r.status_code == 409 and len(r.json()["detail"]) == 2
    assert [state(centre, case)[0] for case in own] == ["reported", "filed"]
    assert clients["command"].get(f"/incidents/{elsewhere}").json()["status"] == "reported"
    assert many(centre, "verify", own[:1]).status_code == 200
    assert state(centre, own[0])[0] == "verifying"


@pytest.mark.parametrize("action", sorted(name for name, a in ACTIONS.items() if not a.batched))
def test_a_step_that_needs_something_of_one_case_is_taken_one_case_at_a_time(clients, grids,
                                                                             action):
    admin = clients["admin"]
    case = new_case(admin, grids, index=30)
    r = many(admin, action, [case], note="理由", satisfaction=4)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "action"]
    assert steps(admin, case) == ["report"]


def test_the_steps_that_are_taken_one_case_at_a_time():
    """Those needing the case's place, the case it repeats, its reporter's rating or a photo of
    its result (evidence)."""
    assert {name for name, a in ACTIONS.items() if not a.batched} == {
        "confirm", "self_resolve", "relocate", "merge", "follow_up"}


@pytest.mark.parametrize("who,action,body,status,loc", [
    ("department", "file", {}, 403, ["body", "action"]),
    ("command", "teleport", {}, 422, ["body", "action"]),
    ("command", "reject", {}, 422, ["body", "note"]),
    ("command", "supervise", {}, 422, ["body", "level"]),
    ("command", "file", {"ids": []}, 422, ["body", "ids"]),
    ("command", "file", {"ids": list(range(1, BATCH_MOST + 2))}, 422, ["body", "ids"]),
    ("command", "file", {"ids": [True]}, 422, ["body", "ids", 0]),
])
def test_what_a_step_on_many_needs_is_named_once(clients, grids, who, action, body, status, loc):
    case = new_case(clients["admin"], grids, index=31)
    r = clients[who].post(f"/incidents/actions/{action}", json={"ids": [case], **body})
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["detail"][0]["loc"] == loc
    assert steps(clients["admin"], case) == ["report"]


def test_a_case_named_twice_is_refused(clients, grids):
    command = clients["command"]
    a, b = cases(command, grids, 2, 32)
    r = many(command, "file", [a, b, a])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "ids"]
    assert str(a) in r.json()["detail"][0]["msg"]
    assert steps(command, a) == steps(command, b) == ["report"]


def test_two_centres_filing_the_same_cases_at_once_file_each_once(clients, grids):
    """The same cases in opposite orders, sent at the same moment (two operators, or a step
    sent again after its answer was lost): one files them all, the other is refused for each,
    finding it filed; no deadlock between them, no case filed twice."""
    batch = cases(clients["command"], grids, 30, 40)
    answers = {}
    start = threading.Barrier(2)

    def send(who, ids):
        start.wait()
        answers[who] = many(clients[who], "file", ids)

    threads = [threading.Thread(target=send, args=(who, ids))
               for who, ids in (("command", batch), ("city", batch[::-1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in answers.values()) == [200, 409]
    refused = next(r for r in answers.values() if r.status_code == 409).json()["detail"]
    assert sorted(d["ctx"]["id"] for d in refused) == sorted(batch)
    assert {d["ctx"]["status"] for d in refused} == {"filed"}
    assert all(steps(clients["command"], case) == ["report", "file"] for case in batch)


def test_cases_reported_in_the_wrong_class_are_put_in_theirs_at_once(clients, grids):
    """Reported in the wrong class, many at once (a file of the hotline's, say): those already
    of the class named refuse it, and once they are left out the rest are put in it."""
    command = clients["command"]
    wrong = [new_case(command, grids, index=80 + i, category="0101") for i in range(2)]
    right = new_case(command, grids, index=82, category="0601")
    r = many(command, "reclassify", [*wrong, right], category="0601", note="类别有误")
    assert r.status_code == 409
    assert [(d["loc"], d["ctx"]) for d in r.json()["detail"]] == [
        (["body", "ids", 2, "category"], {"id": right, "category": "0601"})]
    assert {command.get(f"/incidents/{case}").json()["category"] for case in wrong} == {"0101"}
    assert many(command, "reclassify", wrong, category="0601", note="类别有误").status_code == 200
    assert {command.get(f"/incidents/{case}").json()["category"] for case in wrong} == {"0601"}


def test_cases_a_step_changes_differently_are_each_changed_as_the_step_alone_would(clients,
                                                                                  grids, db):
    """Reassigned together (改派): a plain case, one whose department asked for more time (the
    request lapses) and an urgent one (its new handling clock the urgent four hours, nights
    too): each as if reassigned alone, each step its own in its timeline."""
    from sqlalchemy import text

    command = clients["command"]
    with db.begin() as conn:
        conn.execute(text("INSERT INTO department (code, name) VALUES ('TB2', '改派测试局') "
                          "ON CONFLICT DO NOTHING"))
    plain, asked, urgent = cases(command, grids, 3, 120)
    assert many(command, "file", [plain, asked, urgent]).status_code == 200
    assert many(command, "dispatch", [plain, asked, urgent], department="T1").status_code == 200
    assert do(clients["department"], asked, "request_extension", note="需采购配件",
              working_days=3).status_code == 200
    assert do(command, urgent, "expedite", note="存在安全隐患").status_code == 200
    r = many(command, "reassign", [urgent, plain, asked], department="TB2", note="职责调整")
    assert r.status_code == 200, r.text
    assert [(c["id"], c["from"], c["status"]) for c in r.json()] == [
        (urgent, "dispatched", "dispatched"), (plain, "dispatched", "dispatched"),
        (asked, "dispatched", "dispatched")]
    stored = {case: command.get(f"/incidents/{case}").json() for case in (plain, asked, urgent)}
    assert {case: (s["department"], s["extension_request"]) for case, s in stored.items()} == {
        plain: ("TB2", None), asked: ("TB2", None), urgent: ("TB2", None)}
    handling = {case: _stored(db, case) for case in stored}
    assert handling[urgent].handling_deadline == (handling[urgent].dispatched_at
                                                  + timedelta(hours=4))
    for case in (plain, asked):
        assert handling[case].handling_deadline > handling[case].dispatched_at + timedelta(hours=4)
    for case in stored:
        step = command.get(f"/incidents/{case}/timeline").json()[-1]
        assert (step["action"], step["note"], step["data"]["department"]) == (
            "reassign", "职责调整", "TB2")
