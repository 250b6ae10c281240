"""Who reported a case from outside the grids (a 12345 caller, a citizen): kept to answer and call
them back, encrypted at rest, masked when shown, revealed for a reason with an audit row, and
erased once the case has been closed long enough."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from tests.conftest import Server, new_account, signed_in_client
from tests.test_workflow import do

CALLER = {"name": "欧阳明月", "phone": "13812345678"}


def hotline_report(client, grids, index: int = 7, **more) -> dict:
    p = grids[grids["code"].str.startswith("441502")].geometry.iloc[index].representative_point()
    return {"client_id": str(uuid.uuid4()), "category": "0601", "description": "楼下噪音扰民",
            "lon": p.x, "lat": p.y, "source": "hotline", "caller": CALLER, **more}


def stored_caller(db, case: int):
    with db.connect() as conn:
        return conn.execute(text("SELECT * FROM incident_caller WHERE incident_id = :id"),
                            {"id": case}).mappings().first()


def test_a_callers_name_and_phone_are_kept_sealed_and_shown_masked(clients, grids, db):
    command = clients["command"]
    body = hotline_report(command, grids)
    with ThreadPoolExecutor(4) as pool:  # a call-taker's retries racing each other
        answers = list(pool.map(lambda _: command.post("/incidents", json=body), range(4)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201], answers[0].text
    case = answers[0].json()["id"]
    assert "caller" not in answers[0].json()  # the report's answer goes back to whoever sent it
    assert command.get(f"/incidents/{case}").json()["caller"] == {"name": "欧***", "phone":
                                                                   "138****5678"}
    row = stored_caller(db, case)
    for sealed, plain in ((row["name_enc"], "欧阳明月"), (row["phone_enc"], "13812345678")):
        assert plain.encode() not in sealed and b"12345678" not in sealed
    # those who do not answer nor call back the public do not see who called
    assert "caller" not in clients["chief"].get(f"/incidents/{case}").json()
    assert "caller" not in clients["worker"].get(f"/incidents/{case}").json()
    # a case with no caller says so to those who would see one
    other = command.post("/incidents", json=hotline_report(command, grids, caller=None)).json()
    assert command.get(f"/incidents/{other['id']}").json()["caller"] is None


def test_a_caller_is_revealed_for_a_reason_with_an_audit_row(clients, grids, server):
    command, department, admin = clients["command"], clients["department"], clients["admin"]
    case = command.post("/incidents", json=hotline_report(
        command, grids, caller={"name": " 林小红 ", "phone": " 0660-3388123 "})).json()["id"]
    assert command.get(f"/incidents/{case}").json()["caller"] == {"name": "林**",
                                                                   "phone": "066****8123"}
    r = command.post(f"/incidents/{case}/caller/reveal", json={"field": "phone", "reason": " "})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    r = command.post(f"/incidents/{case}/caller/reveal",
                     json={"field": "phone", "reason": "回访诉求人"})
    assert r.status_code == 200 and r.json()["value"] == "0660-3388123"
    assert command.post(f"/incidents/{case}/caller/reveal", json={
        "field": "name", "reason": "回访诉求人"}).json()["value"] == "林小红"
    # the department the case is with answers the caller; before, the case is not its own
    assert department.post(f"/incidents/{case}/caller/reveal", json={
        "field": "phone", "reason": "答复诉求人"}).status_code == 404
    for step, body in (("file", {}), ("dispatch", {"department": "T1"})):
        assert do(command, case, step, **body).status_code == 200
    assert department.get(f"/incidents/{case}").json()["caller"]["phone"] == "066****8123"
    assert department.post(f"/incidents/{case}/caller/reveal", json={
        "field": "phone", "reason": "答复诉求人"}).json()["value"] == "0660-3388123"
    # the field cannot: 403; a centre elsewhere: as if there were no such case
    assert clients["worker"].post(f"/incidents/{case}/caller/reveal", json={
        "field": "phone", "reason": "想知道"}).status_code == 403
    elsewhere = signed_in_client(server, new_account("command", region_code="420106"))
    assert elsewhere.post(f"/incidents/{case}/caller/reveal", json={
        "field": "phone", "reason": "回访"}).status_code == 404
    audit = admin.get("/audit", params={"action": "reveal", "limit": 10}).json()
    mine = [(a["username"], a["entity"], a["entity_id"], a["field"], a["reason"])
            for a in audit if a["entity"] == "incident" and a["entity_id"] == str(case)]
    assert mine == [("department", "incident", str(case), "caller_phone", "答复诉求人"),
                    ("command", "incident", str(case), "caller_name", "回访诉求人"),
                    ("command", "incident", str(case), "caller_phone", "回访诉求人")]
    sheet = admin.get("/audit.csv", params={"action": "reveal"}).text
    assert f"案件 #{case},来电人电话,答复诉求人" in sheet


def test_a_case_reported_without_its_callers_phone_has_no_phone_to_reveal(clients, grids):
    command = clients["command"]
    case = command.post("/incidents", json=hotline_report(
        command, grids, caller={"name": "王五"})).json()["id"]
    assert command.get(f"/incidents/{case}").json()["caller"] == {"name": "王*", "phone": None}
    r = command.post(f"/incidents/{case}/caller/reveal", json={"field": "phone",
                                                              "reason": "回访"})
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "field"


@pytest.mark.parametrize("caller, field", [
    ({"name": "张三", "phone": "1381234567"}, "phone"),   # a digit short
    ({"name": "张三", "phone": "138-1234-5678x"}, "phone"),
    ({"name": "张\x00三"}, "name"),
    ({"name": "张" * 51}, "name"),
    ({}, "caller"),
    ({"name": "张三", "email": "a@b.cn"}, "email"),
])
def test_a_caller_given_wrong_is_refused_naming_the_field(clients, grids, db, caller, field):
    body = hotline_report(clients["command"], grids, caller=caller)
    r = clients["command"].post("/incidents", json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == field
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id = :c"),
                            {"c": body["client_id"]}).scalar_one() == 0


def test_a_report_refused_for_its_photo_keeps_no_caller(clients, grids, db):
    body = hotline_report(clients["command"], grids, attachments=["0" * 64])
    assert clients["command"].post("/incidents", json=body).status_code == 422
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident WHERE client_id = :c"),
                            {"c": body["client_id"]}).scalar_one() == 0


def test_a_callers_contact_is_erased_once_the_case_has_been_closed_long_enough(clients, grids,
                                                                               db):
    """The service erases them as it runs (at its start, then hourly): a case closed (here
    voided) 181 days ago loses its caller; one closed 179 days ago, and one still open
    though reported long ago, keep theirs."""
    command = clients["command"]
    old, recent, open_ = (command.post("/incidents", json=hotline_report(command, grids))
                          .json()["id"] for _ in range(3))
    for case in (old, recent):
        assert do(command, case, "void", note="重复来电").status_code == 200
    with db.begin() as conn:
        for case, days in ((old, 181), (recent, 179), (open_, 400)):
            conn.execute(text("UPDATE incident SET updated_at = now() - make_interval(days => "
                              ":days) WHERE id = :id"), {"id": case, "days": days})
    served = Server("callers-erasing").start()
    try:
        for _ in range(300):
            if stored_caller(db, old) is None:
                break
            time.sleep(0.1)
    finally:
        served.stop()
    assert command.get(f"/incidents/{old}").json()["caller"] is None
    assert stored_caller(db, recent) is not None and stored_caller(db, open_) is not None
    assert command.get(f"/incidents/{old}").json()["status"] == "void"  # the case stays


def test_a_callers_other_cases_are_found_by_their_phone(clients, grids, server):
    """重复来电: the cases reported from the same phone (however its area code was written),
    each one the account may read, and no other; only for those who see who called."""
    command, department = clients["command"], clients["department"]
    phone = f"0660-{uuid.uuid4().int % 10_000_000:07d}"
    first, second, third = (command.post("/incidents", json=hotline_report(
        command, grids, caller={"phone": written})).json()["id"]
        for written in (phone, phone.replace("-", ""), phone))
    stranger = command.post("/incidents", json=hotline_report(
        command, grids, caller={"phone": "13900009999"})).json()["id"]

    def others(client, case):
        r = client.get("/incidents", params={"caller_of": case, "count": "true"})
        assert r.status_code == 200, r.text
        return [f["id"] for f in r.json()["features"]], r.json()["numberMatched"]

    assert others(command, first) == ([third, second], 2)  # newest first, not itself
    assert others(command, stranger) == ([], 0)
    # a department reads those dispatched to it, from a case of its own
    for case in (first, second):
        for step, body in (("file", {}), ("dispatch", {"department": "T1"})):
            assert do(command, case, step, **body).status_code == 200
    assert others(department, first) == ([second], 1)
    assert others(department, third) == ([], 0)  # not its case: it learns nothing of it
    elsewhere = signed_in_client(server, new_account("command", region_code="420106"))
    assert others(elsewhere, first) == ([], 0)
    r = clients["worker"].get("/incidents", params={"caller_of": first})
    assert r.status_code == 403 and r.json()["detail"][0]["loc"][-1] == "caller_of"


def test_a_callers_cases_are_found_by_the_phone_typed_while_they_are_on_the_line(clients, grids,
                                                                                 server):
    """The number in the body, spaces and hyphen as typed: the cases reported from it that the
    account may read, newest first, with how many in all; a wrong number 422 naming it; for
    those who see who called only."""
    command, department = clients["command"], clients["department"]
    phone = f"0660-{uuid.uuid4().int % 10_000_000:07d}"
    first, second = (command.post("/incidents", json=hotline_report(
        command, grids, caller={"name": "林小红", "phone": phone})).json()["id"]
        for _ in range(2))
    command.post("/incidents", json=hotline_report(command, grids,
                                                   caller={"phone": "13900009999"}))

    def called(client, typed, **page):
        r = client.post("/incidents/by-caller", params=page, json={"phone": typed})
        assert r.status_code == 200, r.text
        return [f["id"] for f in r.json()["features"]], r.json()["numberMatched"]

    spaced = f"{phone[:4]} {phone[5:8]} {phone[8:]}"  # 0660 338 8123: no hyphen, spaces
    assert called(command, spaced) == ([second, first], 2)
    assert called(command, phone, limit=1, offset=1) == ([first], 2)
    assert called(command, "13700001111") == ([], 0)
    assert called(department, phone) == ([], 0)  # none of them dispatched to it yet
    for step, body in (("file", {}), ("dispatch", {"department": "T1"})):
        assert do(command, first, step, **body).status_code == 200
    assert called(department, phone) == ([first], 1)
    elsewhere = signed_in_client(server, new_account("command", region_code="420106"))
    assert called(elsewhere, phone) == ([], 0)
    for typed in ("1381234567", "", "138123456789"):
        r = command.post("/incidents/by-caller", json={"phone": typed})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "phone", typed
    assert clients["worker"].post("/incidents/by-caller",
                                  json={"phone": phone}).status_code == 403
