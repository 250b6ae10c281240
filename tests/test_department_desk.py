"""A department's desk (案件处置) in headless Chromium (Debian's, driven by Playwright): its
cases, and only its, on a list and on the map, the most urgent first; taken on many at once;
one reported handled with the photos of its result; a photo the service refuses named, the
step not taken; a case dispatched while the desk is open marked new until opened.
Screenshots go to tests/artifacts."""

import io
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser import Watch, signed_in_here, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, new_account
from tests.test_desk import find_case, listed, spot
from tests.test_workflow import do


@pytest.fixture
def department(db, accounts):
    """A department of its own (no other test dispatches to it) and its account: (code,
    name, username)."""
    code = f"D{uuid.uuid4().hex[:6]}"
    name = f"测试处置局{code}"
    with db.begin() as conn:
        conn.execute(text("INSERT INTO department (code, name) VALUES (:code, :name)"),
                     {"code": code, "name": name})
    return code, name, new_account("department", department_code=code)


@pytest.fixture
def at_desk(server, browser, department):
    """The department's desk, opened by its account signed in from the site's root, on a page
    of its own, once called: (page, console watch)."""
    context = browser.new_context(viewport={"width": 1600, "height": 900})

    def opened():
        page = context.new_page()
        page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
        watch = Watch(page)
        page.goto(f"{server}/")
        signed_in_here(page, department[2], PASSWORD)
        page.wait_for_url(lambda url: url.endswith("/map/desk"))  # a department's work is there
        wait_until(page, "window.mapsvcDesk && window.mapsvcDesk.online === true",
                   "the live feed")
        return page, watch

    yield opened
    context.close()


def dispatched(api, grids, n: int, department: str, description: str,
               source: str = "grid_worker") -> int:
    """A case reported at ``spot(grids, n)`` (by ``source``), filed and dispatched to
    ``department``."""
    point = spot(grids, n)
    case = api.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0601", "lon": point.x, "lat": point.y,
        "description": description, "source": source}).json()["id"]
    for action, body in (("file", {}), ("dispatch", {"department": department})):
        assert do(api, case, action, **body).status_code == 200
    return case


def jpeg(colour: str) -> bytes:
    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(photo, format="JPEG")
    return photo.getvalue()


def sent(page, action: str) -> None:
    """The form of ``action`` sent, and what the desk says of it awaited."""
    page.evaluate("document.getElementById('desk-message').textContent = ''")
    page.click("#desk-form button[type=submit]")
    wait_until(page, "document.getElementById('desk-message').textContent !== ''",
               f"the answer to {action}")


def test_a_department_takes_on_its_cases_at_once_and_reports_one_handled_with_photos(
        at_desk, department, api, grids):
    code, name, username = department
    ours = [dispatched(api, grids, 40 + n, code, f"占道堆放建材{n}", source="hotline")
            for n in range(2)]
    theirs = dispatched(api, grids, 42, "T1", "另一部门的案件")
    page, watch = at_desk()
    assert page.inner_text("h1").startswith(f"案件处置 {name}")
    assert page.locator("#desk-panel nav a").all_inner_texts() == ["手机端", "考核评价",
                                                                   "修改密码"]
    assert page.locator("#desk-department").is_hidden()  # its own cases alone
    assert page.locator("#desk-new-open").is_hidden()  # it reports nothing
    assert page.locator("#desk-import-open").is_hidden()  # nor imports
    assert page.input_value("#desk-view") == "mine"
    assert page.input_value("#desk-order") == "due"  # the most urgent first
    assert page.url.endswith("/map/desk")  # as it opens
    assert sorted(page.evaluate("window.mapsvcDesk.cases.map((f) => f.id)")) == ours
    assert page.inner_text("#desk-count") == "共 2 件"
    # the map on its cases, not on the whole deployment
    framed = page.evaluate("""() => { const m = window.mapsvcDesk.map;
        return [m.getZoom(), window.mapsvcDesk.cases.every((f) => m.getBounds().contains(
            [f.geometry.coordinates[1], f.geometry.coordinates[0]]))]; }""")
    assert framed[0] >= 12 and framed[1], framed

    # both taken on at once (批量签收)
    page.check("#desk-all")
    offered = page.locator("#desk-batch-actions button").all_inner_texts()
    assert "批量签收" in offered and "批量派遣" not in offered and "批量立案" not in offered
    page.click("#desk-batch-actions button[data-action=accept]")
    assert page.locator("#desk-form [data-field=photos]").is_hidden()  # one case's alone
    sent(page, "accept")
    assert page.inner_text("#desk-message") == "批量签收：2 件已完成"
    for case in ours:
        steps = api.get(f"/incidents/{case}/timeline").json()
        assert [(s["action"], s["actor"]) for s in steps][-1] == ("accept", username)
        assert api.get(f"/incidents/{case}").json()["status"] == "in_progress"

    # one reported handled, with two photos of its result
    find_case(page, ours[0])
    actions = page.locator("#desk-actions button").all_inner_texts()
    assert actions == ["退回", "处置完成", "申请延期", "联系诉求人", "申请不纳入考核"]
    # its caller to be told it has the case (响应) by a time; told, in a common note
    due = api.get(f"/incidents/{ours[0]}").json()["response_deadline"]
    expect(page.locator("#desk-case-facts")).to_contain_text(
        "联系诉求人时限" + page.evaluate("(at) => dueTime(at)", due))
    page.click("#desk-actions button[data-action=contact]")
    page.click("#desk-phrases button:text-is('已电话联系诉求人，告知正在办理')")
    sent(page, "contact")
    assert page.inner_text("#desk-message") == "联系诉求人：已完成"
    contacted = api.get(f"/incidents/{ours[0]}").json()["contacted_at"]
    expect(page.locator("#desk-case-facts")).to_contain_text(
        "联系诉求人" + page.evaluate("(at) => localTime(at)", contacted))
    expect(page.locator("#desk-case-facts")).not_to_contain_text("联系诉求人时限")
    page.select_option("#desk-view", "uncontacted")  # the other's caller is still to be told
    wait_until(page, f"window.mapsvcDesk.cases.map((f) => f.id).join() === '{ours[1]}'",
               "the case whose caller is still to be told")
    page.click("#desk-actions button[data-action=report_handled]")
    assert page.locator("#desk-form [data-field=photos]").is_visible()
    page.fill("#desk-form textarea[name=note]", "建材已清运")
    page.set_input_files("#desk-form input[name=photos]", [
        {"name": "处置前.jpg", "mimeType": "image/jpeg", "buffer": jpeg("olive")},
        {"name": "处置后.jpg", "mimeType": "image/jpeg", "buffer": jpeg("silver")}])
    sent(page, "report_handled")
    assert page.inner_text("#desk-message") == "处置完成：已完成"
    step = api.get(f"/incidents/{ours[0]}/timeline").json()[-1]
    assert (step["action"], step["note"], len(step["attachments"])) == (
        "report_handled", "建材已清运", 2)
    wait_until(page, "[...document.querySelectorAll('#desk-steps .step-photos img')].filter("
                     "(i) => i.complete && i.naturalWidth > 0).length === 2", "the photos shown")
    page.screenshot(path=ARTIFACTS / "department-desk.png")

    # another department's case is out of its reach
    page.fill("#desk-find input[name='id']", str(theirs))
    page.click("#desk-find button[type='submit']")
    wait_until(page, "document.getElementById('desk-message').className === 'bad'", "refused")
    assert page.inner_text("#desk-message") == f"没有案件 #{theirs}，或未派给本部门"
    assert all(f"/incidents/{theirs}" in p or "status of 404" in p for p in watch.problems)


def test_a_photo_the_service_refuses_is_named_and_the_step_is_not_taken(
        at_desk, department, api, grids):
    page, watch = at_desk()
    case = dispatched(api, grids, 43, department[0], "井盖缺失")
    assert do(api, case, "accept").status_code == 200
    wait_until(page, listed(case), "the case, live")
    find_case(page, case)
    page.click("#desk-actions button[data-action=report_handled]")
    page.fill("#desk-form textarea[name=note]", "已补装井盖")
    page.set_input_files("#desk-form input[name=photos]", [
        {"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": jpeg("navy")},
        {"name": "<b>记录</b>.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo"}])
    sent(page, "report_handled")
    assert page.inner_text("#desk-message") == (
        "照片“<b>记录</b>.jpg”未能上传：须为 JPEG、PNG 或 WebP 图片")  # named as text
    assert page.locator("#desk-message b").count() == 0
    assert page.locator("#desk-form").is_visible()  # to choose the photos again
    page.set_input_files("#desk-form input[name=photos]", [
        {"name": f"{n}.jpg", "mimeType": "image/jpeg", "buffer": jpeg("navy")}
        for n in range(11)])
    sent(page, "report_handled")
    assert page.inner_text("#desk-message") == "最多附 10 张照片"
    assert api.get(f"/incidents/{case}").json()["status"] == "in_progress"
    assert [p for p in watch.problems if "/media" not in p and "status of 422" not in p] == []


def test_a_case_dispatched_while_the_desk_is_open_is_news_until_opened(
        at_desk, department, api, grids, db):
    before = dispatched(api, grids, 44, department[0], "早先派来的案件")
    with db.begin() as conn:  # and left unhandled past its deadline, two days and more
        conn.execute(text("UPDATE incident SET handling_deadline = now() - interval '50 hours' "
                          "WHERE id = :id"), {"id": before})
    page, watch = at_desk()
    assert page.title() == "民情地图 · 案件处置"
    arrived = dispatched(api, grids, 45, department[0], "新派来的案件")
    wait_until(page, listed(arrived), "the case, live")
    item = page.locator(f"#desk-list li[data-id='{arrived}']")
    assert item.locator("mark.news").inner_text() == "新"
    assert page.locator(f"#desk-list li[data-id='{before}'] mark.news").count() == 0
    assert page.title() == "(1) 民情地图 · 案件处置"  # seen from behind other tabs too
    doc = api.get(f"/incidents/{arrived}").json()
    deadline = page.evaluate("(at) => dueTime(at)", doc["handling_deadline"])
    said = item.locator("small").inner_text()  # when, where and by when
    assert said.endswith(f"{doc['village']['name']} · 处置时限 {deadline}") and " 上报 · " in said
    late = api.get(f"/incidents/{before}").json()["handling_deadline"]
    assert page.locator(f"#desk-list li[data-id='{before}'] small").inner_text().endswith(
        f"处置时限 {page.evaluate('(at) => dueTime(at)', late)}（已超 2 天）")  # and by how long
    find_case(page, arrived)
    assert item.locator("mark.news").count() == 0
    assert page.title() == "民情地图 · 案件处置"
    find_case(page, before)  # opened, the late case says by how long among its facts too
    facts = page.inner_text("#desk-case-facts").split("\n")
    assert facts[facts.index("处置时限") + 1].endswith("（已超 2 天）"), facts
    assert watch.problems == []
