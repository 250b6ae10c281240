"""The grid worker's phone page in headless Chromium with a phone's screen, a granted position
and emulated loss of signal: a report made offline survives a reload and is stored once, in
the right grid, with its photo; a poor fix asks first. Screenshots go to tests/artifacts."""

import io
import re
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
import shapely
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from PIL import Image
from playwright.sync_api import expect
from pyproj import Geod
from sqlalchemy import text

from mapsvc.workflow.machine import PHRASES
from tests.browser import (PHONE, Watch, heard, said_at_each_sign_in, shows, standing,
                           wait_until, while_zooming, with_fonts)
from tests.conftest import ARTIFACTS, PASSWORD, new_account, registered, run
from tests.signal import Signal

pytestmark = pytest.mark.long  # pages driven in a browser, minutes in all


def test_the_phone_page_allows_only_its_own_origin_and_takes_its_settings(server):
    policy = httpx.get(f"{server}/m/").headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert "img-src 'self' data: blob:;" in policy  # no basemap set: none of its servers
    assert httpx.get(f"{server}/m/config.json").json() == {"accuracy_m": 50,
                                                             "refresh_seconds": 1,
                                                             "stall_seconds": 3,
                                                             "basemap": None}


def test_the_phones_page_files_and_lists_travel_compressed_and_the_live_feed_as_it_is(
        server, clients):
    """On a weak signal each byte counts: the phone's page, its scripts and the lists it asks
    for come compressed to a browser that takes it (as browsers do), the same once
    decompressed, in less than half the bytes; the live feed comes as it is (compressed, its
    events would wait for the buffer to fill)."""
    for path in ("/m/", "/m/phone.js", "/static/vendor/leaflet/dist/leaflet.js"):
        plain = httpx.get(server + path, headers={"Accept-Encoding": "identity"})
        packed = httpx.get(server + path, headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in plain.headers
        assert packed.headers["content-encoding"] == "gzip", path
        assert packed.content == plain.content
        assert packed.num_bytes_downloaded < plain.num_bytes_downloaded / 2, path
    classes = clients["worker"].get("/categories", headers={"Accept-Encoding": "gzip"})
    assert classes.headers["content-encoding"] == "gzip" and len(classes.json()) > 10
    with clients["worker"].stream("GET", "/events", headers={"Accept-Encoding": "gzip"}) as live:
        assert live.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in live.headers


def _chinese_font(path, full_name: str, postscript_name: str) -> None:
    """A font at ``path`` by those names whose glyphs (Latin, Chinese and their punctuation)
    are each a block two ems wide, where Noto Sans SC's Chinese are one."""
    font = FontBuilder(1000, isTTF=True)
    font.setupGlyphOrder([".notdef", "block"])
    font.setupCharacterMap({c: "block" for first, last in (
        (0x20, 0x7e), (0x3000, 0x303f), (0x4e00, 0x9fff), (0xff00, 0xffef))
        for c in range(first, last + 1)})
    pen = TTGlyphPen(None)
    pen.moveTo((100, 0)), pen.lineTo((100, 800)), pen.lineTo((1900, 800))
    pen.lineTo((1900, 0)), pen.closePath()
    font.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "block": pen.glyph()})
    font.setupHorizontalMetrics({".notdef": (500, 0), "block": (2000, 100)})
    font.setupHorizontalHeader(ascent=880, descent=-120)
    font.setupNameTable({"familyName": full_name, "styleName": "Regular", "fullName": full_name,
                         "psName": postscript_name})
    font.setupOS2(sTypoAscender=880, usWinAscent=880, usWinDescent=120)
    font.setupPost()
    font.save(path)


# the width of the characters 网格员 in the page's font, in ems each, once the font has loaded
CHINESE_WIDTH = """async () => {
    const probe = document.createElement("span");
    probe.textContent = "网格员";
    document.body.append(probe);
    const size = parseFloat(getComputedStyle(probe).fontSize);
    await document.fonts.load(`${size}px "Noto Sans SC"`, probe.textContent);
    const width = probe.getBoundingClientRect().width / size / 3;
    probe.remove();
    return Math.round(width * 100) / 100; }"""


def test_a_phone_with_a_chinese_font_of_its_own_draws_with_it_and_downloads_no_font(
        browser, server, worker_spot, tmp_path):
    """Noto Sans SC's subsets would be most of a phone's first open: a phone with a Chinese
    font of its own (here one named as Android's is, Noto Sans CJK SC: its full and PostScript
    names as the font's release gives them) draws the page with that and downloads no subset;
    a phone with none downloads those its page needs, and draws with Noto Sans SC."""
    _chinese_font(tmp_path / "NotoSansCJK-Regular.ttf", "Noto Sans CJK SC", "NotoSansCJKsc-Regular")
    _, spot = worker_spot
    own_font = with_fonts(browser, tmp_path)
    try:
        for phone, ems, fetches in ((browser, 1.0, True), (own_font, 2.0, False)):
            requested = []
            context, page = _phone(phone, server, spot, requested=requested)
            assert page.evaluate(CHINESE_WIDTH) == ems
            subsets = [url for url in requested if "/noto-sans-sc/files/" in url]
            assert bool(subsets) == fetches, subsets
            context.close()
    finally:
        own_font.close()


def _sign_in(page, username: str = "worker") -> None:
    """Through the phone's sign-in form, shown."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")


def test_the_phone_says_when_wrong_passwords_hold_a_name_back(browser, server, accounts):
    name = new_account()
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server}/m/")
    tries = [f"guess-{n}" for n in range(5)] + [PASSWORD]
    assert said_at_each_sign_in(page, name, tries, "/auth/session") == [
        "账号或密码不对"] * 5 + ["登录失败次数过多，请 15 分钟后再试"]
    assert page.locator("#app").is_hidden()
    context.close()


@pytest.mark.parametrize("role,named", [("planner", "规划"), ("auditor", "审计员")])
def test_an_account_whose_work_is_on_a_computer_is_told_so_on_the_phone(browser, server,
                                                                        accounts, role, named):
    """A planner or an auditor signing in on the phone is sent to the computer's pages, not
    into a phone whose every list it may not read."""
    name = new_account(role=role, region_code=None)  # (the whole deployment; an auditor: none)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server}/m/")
    _sign_in(page, name)
    expect(page.locator("#login-error")).to_have_text(
        f"{named}账号不使用手机端，请在电脑上打开 {server}/map/")
    page.wait_for_timeout(500)
    assert page.locator("#app").is_hidden() and watch.problems == []
    context.close()


def test_a_worker_whose_password_an_administrator_set_changes_it_first(browser, server,
                                                                        worker_spot):
    """On the phone too, a password an administrator set leads to changing it, the worker
    named, and back to the phone to sign in with the new one (with no signal, told so)."""
    name = new_account(role="grid_worker", to_change=True, grid_codes=[worker_spot[0]])
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server}/m/")
    _sign_in(page, name)
    page.wait_for_url("**/map/password?**")
    assert page.input_value("input[name=username]") == name
    form = page.locator("#password").bounding_box()  # clear of the screen's edges
    assert form["x"] >= 8 and form["x"] + form["width"] <= PHONE["width"] - 8
    for field, value in (("password", PASSWORD), ("new_password", "Own-Choice-2026"),
                         ("again", "Own-Choice-2026")):
        page.fill(f"input[name={field}]", value)
    page.click("button[type=submit]")
    page.get_by_text("密码已修改，请用新密码重新登录").wait_for()
    page.click("text=返回登录")
    page.wait_for_url("**/m/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", "Own-Choice-2026")
    context.set_offline(True)
    page.click("#login button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("未能连上服务，请检查网络后再试")
    context.set_offline(False)
    page.click("#login button[type=submit]")
    page.locator("#app").wait_for()
    assert page.inner_text("#signed-in-as") == f"已登录：{name}"
    context.close()


# the codes of the grids the phone draws as the account's, in order
DRAWN_GRIDS = ("window.mapsvcPhone.grids ? window.mapsvcPhone.grids.getLayers()"
               ".map((grid) => grid.feature.properties.code).sort() : []")


def _phone(browser, server, spot, accuracy=8.0, username="worker", clock=None, requested=None):
    """A phone signed in, standing at ``spot``; its clock set to ``clock`` (then running); the
    addresses it asks for added to ``requested``."""
    context = standing(browser, spot, accuracy)
    if requested is not None:
        context.on("request", lambda request: requested.append(request.url))
    if clock is not None:
        context.clock.install(time=clock)
    page = context.new_page()
    page.goto(f"{server}/m/")
    page.locator("#login").wait_for()
    assert page.locator("#app").is_hidden()  # nothing but the sign-in until signed in
    _sign_in(page, username)
    wait_until(page, "window.mapsvcPhone.position !== null", "a position")
    assert page.locator("#login").is_hidden() and page.locator("#app").is_visible()
    wait_until(page, "window.mapsvcPhone.offlineReady === true", "the offline shell")
    wait_until(page, "document.querySelectorAll('#category option').length > 0", "categories")
    return context, page


def _far_corner(grids, code: str, spot) -> shapely.Point:
    """A corner of the grid ``code``, just inside it, the farthest from ``spot``."""
    inner = grids[grids["code"] == code].geometry.iloc[0].buffer(-0.0001)
    return max((shapely.Point(c) for c in inner.exterior.coords), key=spot.distance)


def _centred(point) -> str:
    """JavaScript: whether the phone's map (``map``) rests with ``point`` in its middle, to a
    pixel (a map already at its zoom pans there by whole pixels)."""
    return (f"(!map._animatingZoom && !(map._panAnim && map._panAnim._inProgress) && (() => {{"
            f" const at = map.latLngToContainerPoint([{point.y}, {point.x}]);"
            f" const size = map.getSize();"
            f" return Math.abs(at.x - size.x / 2) <= 1 && Math.abs(at.y - size.y / 2) <= 1;"
            f" }})())")


def _signal_back(context, page, what: str) -> None:
    """The signal back: the phone sends what waits, until nothing does."""
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, "window.mapsvcPhone.queued === 0", what, tries=600)


def _take(page, item: str, action: str, note: str, *, days: int | None = None) -> None:
    """Take ``action`` on the case listed as ``item``, saying ``note`` (and for more time
    ``days``) in the form it opens under the case."""
    page.click(f'{item} button[data-action="{action}"]')
    form = f"{item} form.step"
    page.fill(f"{form} textarea", note)
    if days is not None:
        page.fill(f"{form} input[name=working_days]", str(days))
    page.click(f"{form} button[type=submit]")


def _dispatched_case(admin, spot, description: str) -> int:
    """A case reported at the worker's spot, filed and dispatched (to the test department)."""
    import uuid

    from tests.test_workflow import do

    case = admin.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "0603",
                                          "lon": spot.x, "lat": spot.y,
                                          "description": description}).json()["id"]
    for action, body in (("file", {}), ("dispatch", {"department": "T1"})):
        assert do(admin, case, action, **body).status_code == 200
    return case


def _jpeg(colour="orange", size=(2400, 1800)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def _photo(colour="orange", size=(2400, 1800)) -> dict:
    """A photo as the camera gives the page one."""
    return {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": _jpeg(colour, size)}


def test_the_workers_grids_are_drawn_with_no_signal_until_it_signs_out(browser, server,
                                                                       worker_spot, accounts):
    """Opened again with no signal, the phone draws the worker's grids as last fetched; signed
    out, it forgets them, and a report begun: the next to sign in on that phone finds neither
    its words nor its photos."""
    _, spot = worker_spot
    context, page = _phone(browser, server, spot)
    mine = sorted(accounts["worker"][1]["grid_codes"])
    wait_until(page, f"{DRAWN_GRIDS}.length === {len(mine)}", "the worker's grids")
    assert page.evaluate(DRAWN_GRIDS) == mine
    context.set_offline(True)
    page.reload()
    page.locator("#app").wait_for()
    wait_until(page, f"{DRAWN_GRIDS}.length === {len(mine)}", "the grids kept for no signal")
    assert page.evaluate(DRAWN_GRIDS) == mine
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.fill("#description", "写了一半的上报")
    page.set_input_files("#photos", files=[_photo()])
    expect(page.locator("#report div.photos li img")).to_have_count(1)
    page.click("#sign-out")
    page.locator("#login").wait_for()
    assert page.evaluate(DRAWN_GRIDS) == []
    assert page.evaluate("localStorage['mapsvc.grids']") is None
    _sign_in(page)
    assert page.input_value("#description") == ""
    expect(page.locator("#report div.photos li")).to_have_count(0)
    expect(page.locator("#report label.photo")).to_have_text("拍照")
    context.close()


def test_the_phone_opens_as_kept_where_the_signal_stalls_and_its_report_waits_for_it(
        browser, server, worker_spot, accounts, clients, household, db):
    """Opened again where the network takes what is asked but answers nothing, with no error
    (a connection lost between cells), the phone does not wait on the network for its page: it
    opens as it was kept, the worker's grids, cases, reports and classes there; the households
    near, asked for with no answer in the stall setting, as last listed; and a report made
    there waits in its queue until the signal returns, then is stored."""
    _, spot = worker_spot
    case = _dispatched_case(clients["admin"], spot, "信号停滞前派遣的井盖")
    reported = clients["worker"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0603", "lon": spot.x, "lat": spot.y,
        "description": "信号停滞前的上报"}).json()["id"]
    report = f'#reports > li[data-id="{reported}"]'
    mine = sorted(accounts["worker"][1]["grid_codes"])
    listed = f"!!document.querySelector('#cases li[data-id=\"{case}\"]')"
    with Signal(server) as signal:
        context, page = _phone(browser, signal.url, spot)
        wait_until(page, f"{DRAWN_GRIDS}.length === {len(mine)}", "the worker's grids")
        wait_until(page, listed, "the case among mine")
        page.click("#my-reports")
        page.locator(report).wait_for()
        page.click("#visit")
        home = page.locator("#households button", has_text="走访路9号")
        home.wait_for()
        signal.stall()
        page.reload(wait_until="commit", timeout=60_000)
        page.locator("#app").wait_for(timeout=60_000)
        wait_until(page, f"{DRAWN_GRIDS}.length === {len(mine)}", "the grids kept", tries=600)
        wait_until(page, listed, "the case kept")
        page.click("#my-reports")
        page.locator(report).wait_for()
        page.click("#visit")
        home.wait_for()
        page.select_option("#category", "0603")
        page.fill("#description", "信号停滞时的上报")
        page.click("#report button[type=submit]")
        page.locator("#online", has_text="信号弱").wait_for(timeout=60_000)
        assert "待发送" in page.inner_text("#queue")
        signal.restore()
        _signal_back(context, page, "the report sent")
        context.close()
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident "
                                 "WHERE description = '信号停滞时的上报'")).scalar_one() == 1


def test_the_classes_a_phone_could_not_fetch_as_it_opened_are_asked_for_again(
        browser, server, worker_spot):
    """A phone opened for the first time (no classes kept) where the signal drops just as it
    asks for the classes to report under asks again with its next refresh, rather than leave
    the worker none to choose until the page is opened again."""
    _, spot = worker_spot
    context = standing(browser, spot)
    page = context.new_page()
    dropped = []

    def drop_once(route):
        if dropped:
            return route.fallback()
        dropped.append(route.request.url)
        route.abort("internetdisconnected")

    page.route("**/api/v1/categories", drop_once)
    page.goto(f"{server}/m/")
    _sign_in(page)
    heard(page, lambda: dropped, "asked for the classes")
    wait_until(page, "document.querySelectorAll('#category option').length > 0",
               "the classes asked for again")
    context.close()


@pytest.mark.parametrize("allowed", [False, True])
def test_the_phone_asks_to_keep_what_waits_and_says_how_when_not_allowed(
        browser, server, worker_spot, allowed):
    """What waits on the phone is kept through a shortage of room where the browser allows it
    (as browsers do for a page added to the home screen): while a report waits, a phone not
    allowed it says how to have it kept; one allowed it says nothing."""
    _, spot = worker_spot
    context = standing(browser, spot)
    page = context.new_page()
    if allowed:  # as the browser decides for a page on the home screen
        target = context.new_cdp_session(page).send("Target.getTargetInfo")["targetInfo"]
        browser.new_browser_cdp_session().send("Browser.setPermission", {
            "permission": {"name": "persistent-storage"}, "setting": "granted",
            "origin": server, "browserContextId": target["browserContextId"]})
    page.goto(f"{server}/m/")
    _sign_in(page)
    wait_until(page, "document.querySelectorAll('#category option').length > 0", "categories")
    assert page.evaluate("navigator.storage.persisted()") is allowed  # (the browser's say)
    assert page.locator("#unkept").is_hidden()  # nothing waits
    context.set_offline(True)
    page.select_option("#category", "0603")
    page.fill("#description", "存储是否保留")
    page.click("#report button[type=submit]")
    wait_until(page, "window.mapsvcPhone.queued === 1", "the report queued")
    if allowed:
        assert page.locator("#unkept").is_hidden()
    else:
        expect(page.locator("#unkept")).to_have_text(
            "手机存储不足时，浏览器可能清除待发送的内容：请将本页添加到主屏幕")
    _signal_back(context, page, "the report sent")
    expect(page.locator("#unkept")).to_be_hidden()
    context.close()


def test_a_sign_in_the_signal_stalls_says_so_and_can_be_tried_again(browser, server):
    """Signing in where the network takes the form but answers nothing: after the service's
    stall setting (3 s here) the phone says it could not reach the service and takes the form
    again, which goes through once the signal returns."""
    with Signal(server) as signal:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(f"{signal.url}/m/")
        wait_until(page, "localStorage.getItem('mapsvc.config') !== null", "the settings")
        signal.stall()
        _sign_in(page)
        expect(page.locator("#login-error")).to_have_text("未能连上服务，请检查网络后再试")
        expect(page.locator("#login button[type=submit]")).to_be_enabled()
        signal.restore()
        page.click("#login button[type=submit]")
        page.locator("#app").wait_for()
        context.close()


def test_a_report_queued_waits_for_the_account_that_made_it(browser, server, worker_spot, db):
    """A worker's report queued with no signal, then the session over: the grid chief signing
    in on that phone neither sees nor sends it; the worker signing in again sends it."""
    _, spot = worker_spot
    context, page = _phone(browser, server, spot)
    context.set_offline(True)
    page.select_option("#category", "0603")
    page.fill("#description", "换人之前的上报")
    page.click("#report button[type=submit]")
    wait_until(page, "window.mapsvcPhone.queued === 1", "the queued report")
    page.evaluate("localStorage.removeItem('mapsvc.token')")  # the session over
    context.set_offline(False)
    page.reload()
    page.locator("#login").wait_for()

    def sign_in(username: str) -> None:
        _sign_in(page, username)
        page.locator("#app").wait_for()

    sign_in("chief")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, "window.mapsvcPhone.held === 1 && !window.mapsvcPhone.sending",
               "the worker's report held")
    assert page.inner_text("#held") == "另有 1 项待原账号登录后发送"
    assert "换人之前的上报" not in page.inner_text("#queue")
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident "
                                 "WHERE description = '换人之前的上报'")).scalar_one() == 0
    page.evaluate("localStorage.removeItem('mapsvc.token')")
    page.reload()
    sign_in("worker")
    wait_until(page, "window.mapsvcPhone.queued === 0 && window.mapsvcPhone.held === 0",
               "the report sent by its worker", tries=600)
    context.close()
    with db.connect() as conn:
        reporter = conn.execute(text(
            "SELECT l.actor FROM incident i JOIN incident_log l ON l.incident_id = i.id "
            "WHERE i.description = '换人之前的上报' ORDER BY l.id LIMIT 1")).scalar_one()
    assert reporter == "worker"


def test_a_worker_signing_out_by_hand_keeps_what_waits_and_the_patrol_going_on(
        browser, server, worker_spot, db):
    """A phone shared between shifts: 退出登录 warns of what waits to be sent, ends a patrol
    going on, and keeps both for the worker, sent once they sign in again."""
    _, spot = worker_spot
    context, page = _phone(browser, server, spot)
    assert page.inner_text("#signed-in-as") == "已登录：worker"
    context.set_offline(True)
    page.select_option("#category", "0603")
    page.fill("#description", "退出之前的上报")
    page.click("#report button[type=submit]")
    wait_until(page, "window.mapsvcPhone.queued === 1", "the queued report")
    page.click("#patrol")
    context.set_geolocation({"longitude": spot.x + 0.0003, "latitude": spot.y, "accuracy": 8})
    wait_until(page, "JSON.parse(localStorage['mapsvc.patrol']).points.length === 2",
               "the patrol's second position")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#sign-out")
    page.locator("#login").wait_for()
    assert asked == ["有 2 项待发送（含进行中的巡查），将在你再次登录后发送。确定退出吗？"]
    assert page.evaluate("[localStorage.getItem('mapsvc.token'), "
                         "localStorage.getItem('mapsvc.patrol')]") == [None, None]
    context.set_offline(False)
    _sign_in(page)
    wait_until(page, "window.mapsvcPhone.sent === 2", "both sent", tries=600)
    context.close()
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incident "
                                 "WHERE description = '退出之前的上报'")).scalar_one() == 1
        assert conn.execute(text(
            "SELECT ST_NPoints(p.track) FROM patrol p JOIN account a ON a.id = p.account_id "
            "WHERE a.username = 'worker' ORDER BY p.id DESC LIMIT 1")).scalar_one() == 2


def test_a_patrol_going_on_when_the_session_lapses_is_kept_for_the_worker(browser, server,
                                                                          worker_spot, db):
    """The session lapses mid-patrol (a shift's token expired, the account signed out
    everywhere): the phone goes back to sign in as soon as a request says so, and the walk so
    far waits, as an ended patrol, until the worker signs in again, then is sent."""
    _, spot = worker_spot
    context, page = _phone(browser, server, spot)
    page.click("#patrol")
    context.set_geolocation({"longitude": spot.x + 0.0003, "latitude": spot.y, "accuracy": 8})
    wait_until(page, "JSON.parse(localStorage['mapsvc.patrol']).points.length === 2",
               "the patrol's second position")
    client_id = page.evaluate("JSON.parse(localStorage['mapsvc.patrol']).client_id")
    page.evaluate("localStorage.setItem('mapsvc.token', 'lapsed')")
    page.locator("#login").wait_for()  # the next refresh of the cases answered 401
    assert page.evaluate("localStorage.getItem('mapsvc.patrol')") is None
    _sign_in(page)
    wait_until(page, "window.mapsvcPhone.sent === 1", "the patrol sent", tries=600)
    assert page.inner_text("#patrol") == "开始巡查"
    context.close()
    with db.connect() as conn:
        assert conn.execute(text(
            "SELECT ST_NPoints(track) FROM patrol WHERE client_id = :c"),
            {"c": client_id}).scalar_one() == 2


def test_a_report_made_with_no_signal_is_stored_once_with_its_photo_at_the_time_it_was_made(
        browser, server, worker_spot, clients, db):
    """Handled on the spot, with no signal: stored once it comes, with its photo, reported
    and handled at the time the worker made it."""
    code, spot = worker_spot
    context, page = _phone(browser, server, spot)
    context.set_offline(True)
    page.fill("#category-search", "井盖")
    page.select_option("#category", "0603")
    [c] = clients["worker"].get("/categories", params={"q": "0603"}).json()
    assert page.inner_text("#category-guide") == (  # what the class asks, with no signal too
        f"立案条件：{c['filing_condition']}；结案条件：{c['closing_condition']}")
    page.fill("#description", "离线上报：井盖缺失")
    # three photos taken one after another (each tap of the camera one), the second left out
    for colour in ("orange", "teal", "purple"):
        page.set_input_files("#photos", files=[_photo(colour)])
    taken = page.locator("#report div.photos li img")
    expect(taken).to_have_count(3)
    expect(page.locator("#report label.photo")).to_have_text("拍照（已拍 3 张）")
    page.locator("#report div.photos button.drop").nth(1).click()
    expect(taken).to_have_count(2)
    expect(page.locator("#report label.photo")).to_have_text("拍照（已拍 2 张）")
    page.check("#on-spot")
    made = datetime.now(timezone.utc)
    page.click("#report button[type=submit]")
    wait_until(page, "window.mapsvcPhone.queued === 1", "the queued report")
    expect(taken).to_have_count(0)  # gone with the report
    expect(page.locator("#report label.photo")).to_have_text("拍照")
    page.screenshot(path=ARTIFACTS / "phone-queued.png")
    page.reload()  # still no signal: the page comes from the phone, the report from IndexedDB
    wait_until(page, "window.mapsvcPhone.queued === 1", "the queued report after a reload")
    page.wait_for_timeout(1000)  # a while with no signal
    signal = datetime.now(timezone.utc)
    _signal_back(context, page, "the report sent")
    page.screenshot(path=ARTIFACTS / "phone-sent.png")
    context.close()
    with db.connect() as conn:
        rows = conn.execute(text("""
            SELECT i.id, g.code,
                   (SELECT count(DISTINCT a.media_id) FROM attachment a WHERE a.incident_id = i.id),
                   i.status, i.reported_at, i.closed_at
              FROM incident i JOIN grid g ON g.id = i.grid_id
             WHERE i.description = '离线上报：井盖缺失'""")).all()
        assert len(rows) == 1 and rows[0][1] == code and rows[0][2] == 2
        shots = conn.execute(text(
            "SELECT DISTINCT m.id, m.width, m.taken_at, ST_X(m.geom) AS lon, ST_Y(m.geom) AS lat "
            "FROM media m JOIN attachment a ON a.media_id = m.id WHERE a.incident_id = :i"),
            {"i": rows[0][0]}).all()
    for shot in shots:  # shrunk on the phone, which sends when and where each was taken
        assert shot.width == 1600
        assert abs(shot.taken_at - made) < timedelta(minutes=1)
        assert (shot.lon, shot.lat) == pytest.approx((spot.x, spot.y), abs=1e-9)
    case, _, _, status, reported, closed = rows[0]
    assert status == "self_resolved" and made <= reported < signal and closed == reported
    steps = clients["admin"].get(f"/incidents/{case}/timeline").json()
    assert [(s["action"], datetime.fromisoformat(s["at"])) for s in steps] == [
        ("report", reported), ("self_resolve", reported)]
    assert all(datetime.fromisoformat(s["received_at"]) >= signal for s in steps)


def test_a_report_from_a_phone_whose_clock_runs_behind_is_reported_when_it_was_made(
        browser, server, worker_spot, db):
    """A phone set three hours behind by hand: the service's answers put its clock right, and
    a report made with no signal since is reported when it was made, not three hours before."""
    _, spot = worker_spot
    behind = timedelta(hours=3)
    context, page = _phone(browser, server, spot, clock=datetime.now(timezone.utc) - behind)
    offset = timedelta(milliseconds=page.evaluate("window.mapsvcPhone.clockOffset"))
    assert abs(offset - behind) < timedelta(seconds=10)
    context.set_offline(True)
    page.select_option("#category", "0603")
    page.fill("#description", "手机时间慢了三小时")
    made = datetime.now(timezone.utc)
    page.click("#report button[type=submit]")
    wait_until(page, "window.mapsvcPhone.queued === 1", "the queued report")
    _signal_back(context, page, "the report sent")
    context.close()
    with db.connect() as conn:
        reported = conn.execute(text("SELECT reported_at FROM incident "
                                     "WHERE description = '手机时间慢了三小时'")).scalar_one()
    assert abs(reported - made) < timedelta(seconds=10)


def test_a_report_whose_answer_a_weak_signal_loses_is_sent_again_and_stored_once(
        browser, server, worker_spot, db):
    """The report, with its photo, reaches the service, but its answer never comes back (a
    connection lost between cells stalls with no error): the phone stops waiting, says the
    signal is weak, keeps the report and sends it again; it is stored once, its photo once."""
    _, spot = worker_spot
    context, page = _phone(browser, server, spot)
    reached = []

    def answer_lost(route):
        if route.request.method != "POST":
            return route.fallback()
        reached.append(route.fetch().status)  # the service answers; the phone never hears it

    page.route("**/api/v1/incidents", answer_lost)
    page.select_option("#category", "0603")
    page.fill("#description", "弱信号上报：井盖缺失")
    page.set_input_files("#photos", files=[{"name": "a.jpg", "mimeType": "image/jpeg",
                                            "buffer": _jpeg()}])
    page.click("#report button[type=submit]")
    page.locator("#online", has_text="信号弱，稍后重发").wait_for(timeout=30_000)
    assert reached[0] == 201 and "待发送" in page.inner_text("#queue")
    page.unroute("**/api/v1/incidents")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, "window.mapsvcPhone.queued === 0", "the report sent again", tries=600)
    assert page.inner_text("#online") == ""
    context.close()
    with db.connect() as conn:
        stored = conn.execute(text(
            "SELECT count(DISTINCT i.id), count(DISTINCT a.media_id) FROM incident i "
            "JOIN attachment a ON a.incident_id = i.id "
            "WHERE i.description = '弱信号上报：井盖缺失'")).one()
    assert tuple(stored) == (1, 1)


def test_the_phone_says_which_grid_a_report_from_where_it_is_lands_in(browser, server,
                                                                      worker_spot):
    code, spot = worker_spot
    context, page = _phone(browser, server, spot)
    wait_until(page, f"window.mapsvcPhone.grid === '{code}'", "the worker's grid")
    assert page.inner_text("#where").startswith("将报入 ")
    wait_until(page, f"window.mapsvcPhone.outlined === '{code}'", "the grid outlined")
    context.set_geolocation({"longitude": 115.30, "latitude": 22.60, "accuracy": 8})  # at sea
    wait_until(page, "window.mapsvcPhone.grid === null", "no grid out at sea")
    assert page.inner_text("#where") == "不在任何网格内：上报后待分派"
    assert page.evaluate("window.mapsvcPhone.outlined") is None
    context.set_geolocation({"longitude": spot.x, "latitude": spot.y, "accuracy": 8})
    wait_until(page, f"window.mapsvcPhone.outlined === '{code}'", "the grid outlined again")
    context.set_offline(True)  # no signal: nothing rather than something old
    context.set_geolocation({"longitude": spot.x + 0.001, "latitude": spot.y, "accuracy": 8})
    wait_until(page, "window.mapsvcPhone.grid === undefined", "the question unanswered")
    assert page.inner_text("#where") == ""
    assert page.evaluate("window.mapsvcPhone.outlined") is None
    context.close()


def test_a_fix_near_another_grid_asks_the_worker_to_check_where_the_report_lands(
        browser, server, worker_spot, grids, clients):
    """Ten metres inside the worker's grid from a neighbour, with a fix good to 40 m: the
    phone names the neighbour and its distance (as the service finds them) and asks the
    worker to check; in the grid's middle with a fix good to 5 m it does not."""
    code, spot = worker_spot
    grid = grids[grids["code"] == code].geometry.iloc[0]
    neighbour = grids[(grids["code"] != code) & grids.geometry.touches(grid)].iloc[0]
    shared = shapely.line_merge(grid.boundary.intersection(neighbour.geometry.boundary))
    edge = max(getattr(shared, "geoms", [shared]), key=lambda line: line.length)
    m = edge.interpolate(0.5, normalized=True)
    metres = Geod(ellps="WGS84").inv(m.x, m.y, spot.x, spot.y)[2]
    at = shapely.Point(m.x + (spot.x - m.x) * 10 / metres, m.y + (spot.y - m.y) * 10 / metres)
    assert grid.contains(at)
    located = clients["worker"].get("/locate", params={
        "lon": at.x, "lat": at.y, "accuracy_m": 40}).json()
    near = located["nearby"][0]
    context, page = _phone(browser, server, at, accuracy=40)
    wait_until(page, f"window.mapsvcPhone.near === '{near['code']}'", "the neighbour named")
    assert page.inner_text("#where") == (
        f"将报入 {located['grid']['name']}。距{near['name']}仅 {round(near['distance_m'])} 米，"
        "定位精度约 40 米：请核对位置，可拖动图钉")
    context.set_geolocation({"longitude": spot.x, "latitude": spot.y, "accuracy": 5})
    wait_until(page, "window.mapsvcPhone.near === null", "none near enough")
    assert page.inner_text("#where") == f"将报入 {located['grid']['name']}"
    context.close()


CHINA = ZoneInfo("Asia/Shanghai")
CASES_LISTED = 50  # the most cases the phone lists (phone.js)


@pytest.mark.parametrize("username", ["worker", "department"])
def test_the_phone_shows_its_accounts_own_month_as_the_centre_counts_it(browser, server,
                                                                        worker_spot, clients,
                                                                        username):
    """What the centre's evaluation counts of the account this month: a worker's reports, the
    share of them valid, its 漏报率, 按时核实率, 按时核查率, 综合指标值, patrols and the things of
    its campaigns due checked in time; a department's cases
    dispatched to it, the shares taken on, handled and closed in time and of their callers told
    in time, and those overdue."""
    _, spot = worker_spot
    context, page = _phone(browser, server, spot, username=username)
    wait_until(page, "document.querySelector('#month dl').childElementCount > 0", "the month")
    today = datetime.now(CHINA).date()
    own = clients[username].get("/stats", params={"from": today.replace(day=1).isoformat(),
                                                  "to": today.isoformat()}).json()
    f = own["figures"]

    def rate(v):
        return "—" if v is None else page.evaluate("(v) => `${(v * 100).toFixed(1)}%`", v)

    assert page.inner_text("#month h3") == ("本月" if username == "worker" else "本部门本月")
    shown = page.evaluate("""[...document.querySelectorAll('#month dl > div')].map((d) =>
        [d.querySelector('dt').textContent, d.querySelector('dd').textContent])""")
    due = own["campaigns"]["due"] if username == "worker" else 0
    assert shown == ([
        ["上报", f"{f['reported']} 件"], ["有效上报率", rate(f["valid_report_rate"])],
        ["漏报率", rate(own["missed"]["rate"])], ["按时核实率", rate(own["verifies"]["rate"])],
        ["按时核查率", rate(own["checks"]["rate"])],
        ["综合指标值", "—" if own["score"] is None else format(own["score"], ".1f")],
        ["巡查", f"{own['patrols']['count']} 次 {own['patrols']['km']:.1f} 公里"],
        ["专项排查按期", f"{own['campaigns']['on_time']}/{due}" if due else "—"],
    ] if username == "worker" else [
        ["派遣", f"{f['dispatched']} 件"], ["及时签收率", rate(f["on_time_accept_rate"])],
        ["按时处置率", rate(f["on_time_handling_rate"])],
        ["按期结案率", rate(f["on_time_closure_rate"])], ["响应率", rate(f["response_rate"])],
        ["超期在办", f"{f['overdue_now']} 件"]])
    # two figures to a row, each named above its value, on the phone's narrow screen
    tops = page.evaluate("""[...document.querySelectorAll('#month dl > div')].map((d) =>
        [d.getBoundingClientRect().top, d.querySelector('dt').getBoundingClientRect().bottom
         <= d.querySelector('dd').getBoundingClientRect().top])""")
    assert all(above for _, above in tops)
    assert [top for top, _ in tops][::2] == [top for top, _ in tops][1::2]
    # the pages of tables: the evaluation for a department, neither for a worker
    for link in ("#to-people", "#to-units", "#to-campaigns"):
        assert page.locator(link).is_hidden(), link
    assert page.locator("#to-stats").is_visible() == (username == "department")
    assert page.locator("#to-desk").is_visible() == (username == "department")
    # a department's phone neither reports, nor visits, nor patrols, nor asks what is refused
    # it (as its cases are asked for again, twice, the rest asked with them)
    for control in ("#report", "#visit", "#patrol", "#my-reports"):
        assert page.locator(control).is_visible() == (username == "worker"), control
    # nor says which grid a report from here would go to, once it knows
    wait_until(page, "window.mapsvcPhone.grid !== undefined", "the grid here")
    assert page.locator("#where").is_visible() == (username == "worker")
    refused, cycles = [], []
    page.on("response", lambda r: r.status >= 400 and refused.append(r.url))
    page.on("response", lambda r: "/incidents?queue=mine&order=due" in r.url
            and cycles.append(r.url))
    heard(page, lambda: len(cycles) >= 2, "asked for its cases twice more")
    assert refused == []
    page.click("#sign-out")
    wait_until(page, "document.getElementById('month').hidden "
                     "&& document.querySelector('#month dl').childElementCount === 0",
               "gone with the session")
    context.close()


def test_a_chief_opens_its_pages_from_the_phone_signed_in_and_signs_out_of_all_at_once(
        browser, server, worker_spot):
    """The phone's links (人口台账, 考核评价…) open the pages in its session, with no second
    sign-in; signing out of a page so opened signs the phone out too, and signing out of the
    phone the pages."""
    _, spot = worker_spot
    context, page = _phone(browser, server, spot, username="chief")
    page.click("#to-people")
    page.wait_for_url(f"{server}/map/people")
    wait_until(page, "window.mapsvcPeople && window.mapsvcPeople.shown !== null",
               "the register's first page")
    page.click("[data-sign-out]")
    page.wait_for_url(f"{server}/map/login")
    page.goto(f"{server}/m/")
    page.locator("#login").wait_for()
    assert page.locator("#app").is_hidden()
    _sign_in(page, "chief")
    page.locator("#app").wait_for()
    page.click("#sign-out")
    page.locator("#login").wait_for()
    page.goto(f"{server}/map/stats")
    page.wait_for_url(f"{server}/map/login?next=/map/stats")
    context.close()


def test_a_department_opens_its_desk_from_the_phone_its_list_above_its_map(browser, server,
                                                                         worker_spot):
    """The department's 案件处置 from its phone, in its session: on the phone's screen the
    desk's panel above and its map below, each whole across the screen, one clear of the
    other."""
    _, spot = worker_spot
    context, page = _phone(browser, server, spot, username="department")
    page.click("#to-desk")
    page.wait_for_url(f"{server}/map/desk")
    wait_until(page, "window.mapsvcDesk && window.mapsvcDesk.online === true", "the live feed")
    panel, map_ = (page.locator(which).bounding_box() for which in ("#desk-panel", ".folium-map"))
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]
    for box in (panel, map_):
        assert box["x"] == 0 and box["width"] == PHONE["width"]
    assert 0 == panel["y"] < panel["y"] + panel["height"] <= map_["y"]
    assert map_["height"] > PHONE["height"] / 3 and map_["y"] + map_["height"] <= PHONE["height"]
    context.close()


def test_a_long_queue_lists_its_most_urgent_cases_first_and_its_newest(browser, server,
                                                                       clients, grids, db):
    """A department with more cases waiting than the phone lists (in a grid away from the
    worker's): the one overdue, though the first dispatched, is listed first, the urgent (加急)
    before it, then the most urgent of the others; the newest, due last of all, is listed too
    (news); the rest are not."""
    spot = grids[grids["code"].str.startswith("420106")].iloc[5].geometry.representative_point()
    code = f"Q{uuid.uuid4().hex[:5]}"
    with db.begin() as conn:
        conn.execute(text("INSERT INTO department (code, name) VALUES (:c, '排队局')"), {"c": code})
    name = new_account(role="department", department_code=code)
    cases = [clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0603", "lon": spot.x, "lat": spot.y,
        "description": f"排队的井盖 {n}"}).json()["id"] for n in range(CASES_LISTED + 3)]
    overdue, urgent, *others, newest = cases
    with db.begin() as conn:
        conn.execute(text("""
            UPDATE incident SET status = 'dispatched', department_code = :code,
                   handling_deadline = now() + CASE id WHEN :late THEN interval '-1 day'
                                                       WHEN :newest THEN interval '30 days'
                                                       ELSE interval '3 days' END,
                   urgent_at = CASE WHEN id = :urgent THEN now() END
             WHERE id = ANY(:ids)"""), {"code": code, "late": overdue, "urgent": urgent,
                                        "newest": newest, "ids": cases})
    context, page = _phone(browser, server, spot, username=name)
    assert page.evaluate("CASES_LISTED") == CASES_LISTED
    wait_until(page, f"document.querySelectorAll('#cases > li').length === {CASES_LISTED + 1}",
               "the list")
    listed = page.evaluate("[...document.querySelectorAll('#cases > li')].map((li) => "
                           "Number(li.dataset.id))")
    assert listed[:2] == [urgent, overdue] and newest in listed
    assert page.inner_text("#cases-count") == (  # how many wait, beyond those listed
        f"共 {len(cases)} 件，列出最急和最新的 {CASES_LISTED + 1} 件")
    assert sorted(set(listed) - {urgent, overdue, newest}) == sorted(others)[-(CASES_LISTED - 2):]
    context.close()


def test_with_no_position_the_phone_shows_the_workers_grids(browser, server, worker_spot):
    _, spot = worker_spot
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # no fix
    page = context.new_page()
    page.goto(f"{server}/m/")
    _sign_in(page)
    wait_until(page, "window.mapsvcPhone.map && window.mapsvcPhone.map.getBounds()"
                     f".contains([{spot.y}, {spot.x}])", "the worker's grid in view")
    assert page.inner_text("#fix") == "无法定位：请允许定位"
    context.close()


def test_a_case_shown_on_the_map_before_the_first_fix_is_answered_stays_in_view(
        browser, server, worker_spot, grids, clients):
    """On a weak signal the service's answer to where the first fix lies may come after the
    worker has tapped a case's 位置: the map stays on the case the worker asked to see, rather
    than going back to frame the grid."""
    code, spot = worker_spot
    corner = _far_corner(grids, code, spot)
    case = _dispatched_case(clients["admin"], corner, "定位答复之前查看位置的井盖")
    context = standing(browser, spot)
    held = []
    context.route(re.compile(r"/api/v1/locate\?"), lambda route: held.append(route))
    page = context.new_page()
    page.goto(f"{server}/m/")
    _sign_in(page)
    item = f'#cases li[data-id="{case}"]'
    wait_until(page, f"!!document.querySelector('{item}')", "the case among mine")
    heard(page, lambda: held, "asked where the fix lies")
    page.click(f"{item} button[data-show=place]")
    on_case = _centred(corner)
    wait_until(page, f"(() => {{ const map = window.mapsvcPhone.map; return {on_case}; }})()",
               "the map on the case")
    held[0].continue_()
    wait_until(page, f"window.mapsvcPhone.outlined === '{code}' && (() => {{"
                     " const map = window.mapsvcPhone.map; return !map._animatingZoom"
                     " && !(map._panAnim && map._panAnim._inProgress); })()",
               "the grid outlined, the map still")
    assert page.evaluate(f"(() => {{ const map = window.mapsvcPhone.map; return {on_case}; }})()")
    context.close()


def test_the_first_fix_frames_the_grid_it_lies_in_even_while_the_map_still_zooms(
        browser, server, worker_spot, grids):
    """The first fix shows the grid the worker stands in, whole, with the fix in it: with no
    basemap a street's width of the grid is blank. Leaflet drops a view asked for while it
    draws a zoom (a quarter of a second, as when the worker's grids have just been framed):
    the fix arriving meanwhile still brings the map there. A second fix, a step away, comes
    before the service answers where the first lies: that answer holds for it. The fixes come
    from a stand-in for the phone's position sensor."""
    code, spot = worker_spot
    minx, miny, maxx, maxy = grids[grids["code"] == code].geometry.iloc[0].bounds
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_init_script("navigator.geolocation.watchPosition = (fixed) => {"
                            " window.deliverFix = fixed; return 1; };")
    page = context.new_page()
    page.goto(f"{server}/m/")
    _sign_in(page)
    wait_until(page, "window.mapsvcPhone.map && window.mapsvcPhone.map.getBounds()"
                     f".contains([{spot.y}, {spot.x}]) && !window.mapsvcPhone.map._animatingZoom",
               "the worker's grids framed")
    held = []
    page.route(re.compile(r"/api/v1/locate\?"), lambda route: held.append(route))
    assert while_zooming(page, "window.mapsvcPhone.map", "window.deliverFix({ coords: {"
                         f" latitude: {spot.y}, longitude: {spot.x}, accuracy: 8 }} }})",
                         step=-1)
    heard(page, lambda: held, "asked where the fix lies")
    east, north, _ = Geod(ellps="WGS84").fwd(spot.x, spot.y, 90, 2)  # two metres east
    page.evaluate(f"window.deliverFix({{ coords: {{ latitude: {north}, longitude: {east},"
                  " accuracy: 8 } })")
    held[0].continue_()
    page.unroute_all()
    wait_until(page, "document.getElementById('where').textContent.startsWith('将报入 ')",
               "the grid named")
    # the grid whole in view, and as large as the map lets it be: a zoom nearer (twice as
    # large) would cut it
    wait_until(page, f"window.mapsvcPhone.outlined === '{code}' && (() => {{"
                     " const map = window.mapsvcPhone.map;"
                     f" const a = map.latLngToContainerPoint([{miny}, {minx}]);"
                     f" const b = map.latLngToContainerPoint([{maxy}, {maxx}]);"
                     " const size = map.getSize();"
                     " return !map._animatingZoom"
                     f" && map.getBounds().contains([[{miny}, {minx}], [{maxy}, {maxx}]])"
                     " && (b.x - a.x > size.x / 2 || a.y - b.y > size.y / 2); })()",
               "the grid framed about the fix")
    context.close()


def test_a_poor_fix_asks_before_reporting(browser, server, worker_spot):
    _, spot = worker_spot
    context, page = _phone(browser, server, spot, accuracy=400)
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer)
    page.select_option("#category", "0603")
    page.fill("#description", "精度太差")
    page.click("#report button[type=submit]")
    for _ in range(100):
        if asked:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(300)
    assert asked and "400" in asked[0]
    assert page.evaluate("window.mapsvcPhone.queued || 0") == 0
    context.close()


def test_the_worker_follows_a_case_through_its_steps(browser, server, worker_spot, clients):
    from tests.test_workflow import do

    _, spot = worker_spot
    admin = clients["admin"]
    case = _dispatched_case(admin, spot, "要跟进的井盖")
    do(admin, case, "extend", note="<b>材料</b>未到", working_days=2)
    context, page = _phone(browser, server, spot)
    item = f'#cases li[data-id="{case}"]'
    wait_until(page, f"!!document.querySelector('{item}')", "the case among mine")
    page.click(f"{item} >> text=进度")
    wait_until(page, f"document.querySelectorAll('{item} ol.steps > li').length === 4",
               "the case's steps")
    steps = page.locator(f"{item} ol.steps > li")
    # each: its time, then what and who
    assert [re.sub(r"^.*\d\d:\d\d(:\d\d)? ", "", t.split("\n")[0])
            for t in steps.all_inner_texts()] == [
        "上报 · admin", "立案 · admin", "派遣 · admin", "延期 · admin"]
    assert steps.nth(3).locator("p").inner_text() == "<b>材料</b>未到"  # as typed
    page.click(f"{item} >> text=进度")  # and folded away again
    wait_until(page, f"!document.querySelector('{item} ol.steps')", "the steps folded")
    context.close()


def _accepted_with_no_signal(browser, server, spot, admin, description: str):
    """A case dispatched at ``spot``, accepted on the worker's phone with no signal: the case,
    the phone (context, page) and when the worker tapped."""
    case = _dispatched_case(admin, spot, description)
    context, page = _phone(browser, server, spot)
    button = f'#cases li[data-id="{case}"] button[data-action="accept"]'
    wait_until(page, f"!!document.querySelector('{button}')", "the case to accept")
    assert page.inner_text("#queue") == "全部已发出"
    context.set_offline(True)
    tapped = datetime.now(timezone.utc)
    page.click(button)
    wait_until(page, "window.mapsvcPhone.queued === 1", "the queued action")
    return case, context, page, tapped


def test_an_action_taken_with_no_signal_is_applied_once_at_the_time_it_was_taken(
        browser, server, worker_spot, clients):
    admin = clients["admin"]
    case, context, page, tapped = _accepted_with_no_signal(browser, server, worker_spot[1],
                                                           admin, "待签收的井盖")
    assert page.inner_text("#queue") == f"待发送 签收 #{case}"
    page.reload()
    wait_until(page, "window.mapsvcPhone.queued === 1", "the queued action after a reload")
    page.wait_for_timeout(1000)  # a while with no signal
    signal = datetime.now(timezone.utc)
    _signal_back(context, page, "the action sent")
    assert page.inner_text("#queue") == "全部已发出"
    context.close()
    steps = admin.get(f"/incidents/{case}/timeline").json()
    assert [s["action"] for s in steps].count("accept") == 1
    accepted = steps[-1]
    assert tapped <= datetime.fromisoformat(accepted["at"]) < signal  # when, not when it came
    assert datetime.fromisoformat(accepted["received_at"]) >= signal
    assert admin.get(f"/incidents/{case}").json()["status"] == "in_progress"


def test_a_step_a_case_moved_past_while_offline_is_kept_refused_until_the_worker_drops_it(
        browser, server, worker_spot, clients):
    """Accepted with no signal while the centre voided the case: sent, it is refused; the
    phone keeps it, saying why, and drops it at the worker's second tap, not the first (nor
    at a tap made again after a round of sending)."""
    from tests.test_workflow import do

    admin = clients["admin"]
    case, context, page, _ = _accepted_with_no_signal(browser, server, worker_spot[1], admin,
                                                      "离线期间被作废")
    assert do(admin, case, "void", note="重复上报").status_code == 200
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    refused = page.locator("#queue li.failed")
    refused.wait_for()
    assert refused.inner_text().startswith(f"未能发送：案件已有变化，此步已不能办理 签收 #{case}")
    drop = refused.locator("button")
    drop.click()
    assert drop.inner_text() == "确认删除" and page.evaluate("window.mapsvcPhone.queued") == 1
    page.evaluate("send()")  # a round of sending between the taps: the first not undone
    assert drop.inner_text() == "确认删除" and page.evaluate("window.mapsvcPhone.queued") == 1
    drop.click()
    wait_until(page, "window.mapsvcPhone.queued === 0", "the step dropped")
    assert page.inner_text("#queue") == "全部已发出"
    context.close()
    steps = admin.get(f"/incidents/{case}/timeline").json()
    assert "accept" not in [s["action"] for s in steps] and steps[-1]["action"] == "void"


@pytest.fixture
def household(worker_spot, clients, db) -> int:
    """A household at the worker's spot: 走访路9号 (a resident more each time it is asked)."""
    code, spot = worker_spot
    registered(clients["admin"], "addresses",
               [{"address": "走访路9号", "lon": spot.x, "lat": spot.y}], county=code[:6])
    registered(clients["admin"], "people", [{"address": "走访路9号",
                                             "name": f"戊{uuid.uuid4().hex[:4]}",
                                             "registration": "resident", "household": "1"}],
               county=code[:6])
    with db.connect() as conn:
        return conn.execute(text(
            "SELECT h.id FROM household h JOIN house ho ON ho.id = h.house_id "
            "JOIN address a ON a.id = ho.address_id WHERE a.full_text LIKE '%走访路9号%'")
        ).scalar_one()


def test_a_household_visit_takes_two_taps_and_keeps_its_time_with_no_signal(
        browser, server, worker_spot, household, db):
    _, spot = worker_spot
    context, page = _phone(browser, server, spot)
    page.click("#visit")  # one
    wait_until(page, "!!document.querySelector('#households button')", "the households near")
    household_button = page.locator("#households button", has_text="走访路9号")
    context.set_offline(True)  # the signal goes as the worker knocks
    tapped = datetime.now(timezone.utc)
    household_button.click()  # two
    wait_until(page, "window.mapsvcPhone.queued === 1", "the visit waiting")
    page.wait_for_timeout(1000)  # a while with no signal
    signal = datetime.now(timezone.utc)
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, "window.mapsvcPhone.sent >= 1 && window.mapsvcPhone.queued === 0",
               "the visit sent", tries=600)
    context.close()
    with db.connect() as conn:
        visits = conn.execute(text(
            "SELECT v.at FROM visit v JOIN account a ON a.id = v.account_id "
            "WHERE v.household_id = :h AND a.username = 'worker'"), {"h": household}).all()
    assert len(visits) == 1
    assert tapped <= visits[0].at < signal  # when made, not when it came


def test_a_member_who_moved_away_is_recorded_in_two_taps_with_no_signal_and_leaves_the_list(
        browser, server, worker_spot, clients, db):
    """Knocking at a door, the worker learns that one of the household moved away: the first
    tap on 迁出 asks to confirm, the second queues it, with no signal; sent once the signal is
    back, the person leaves the household's list, and the people near leave with the session."""
    code, spot = worker_spot
    admin = clients["admin"]
    registered(admin, "addresses", [{"address": "迁出路3号", "lon": spot.x, "lat": spot.y}],
               county=code[:6])
    registered(admin, "people", [{"address": "迁出路3号", "name": name, "registration": "resident",
                                  "household": "1", "birth_date": born} for name, born in
                                 (("周己", "1950-05-01"), ("周庚", "1990-07-01"))],
               county=code[:6])
    with db.connect() as conn:
        elder, younger = conn.execute(text(
            "SELECT id FROM person WHERE name IN ('周己', '周庚') ORDER BY id DESC LIMIT 2")
        ).scalars().all()[::-1]
    context, page = _phone(browser, server, spot)
    page.click("#visit")
    home = page.locator("#households > li", has_text="迁出路3号")
    members = home.locator("ul.members li")
    expect(members).to_have_count(2)
    assert home.locator("button").first.inner_text() == "走访 迁出路3号（户号 1）"
    # each on a line of their own, what may befall them in a row under it
    assert [m.split("\n")[:2] for m in members.all_inner_texts()] == [
        ["周* 1950年生", "更正迁出去世"], ["周* 1990年生", "更正迁出去世"]]
    home.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "phone-household-members.png")
    context.set_offline(True)
    leaving = home.locator(f"li[data-person='{younger}'] button[data-reason='moved_away']")
    leaving.click()  # a slip of the thumb records nothing
    assert leaving.inner_text() == "确认迁出" and page.evaluate("window.mapsvcPhone.queued") == 0
    leaving.click()
    wait_until(page, "window.mapsvcPhone.queued === 1", "the departure waiting")
    assert page.inner_text("#queue") == "待发送 迁出 周*"
    expect(members).to_have_count(1)
    _signal_back(context, page, "the departure sent")
    assert page.inner_text("#result") == "已登记迁出：周*"
    today = datetime.now(timezone(timedelta(hours=8))).date().isoformat()
    left = admin.get(f"/registry/people/{younger}").json()
    assert (left["left_reason"], left["left_on"]) == ("moved_away", today)
    assert admin.get(f"/registry/people/{elder}").json()["left_on"] is None
    households = lambda url: "/registry/households?" in url  # noqa: E731
    with page.expect_response(lambda r: households(r.url)):
        page.click("#visit")  # asked again: the household without them
    expect(home.locator("ul.members li")).to_have_count(1)
    assert home.locator("ul.members li").inner_text().startswith("周* 1950年生")
    page.evaluate("localStorage.setItem('mapsvc.people-near', '[]')")  # as v21 kept them
    # asked once more, on a signal so weak that the answer comes after signing out
    route, answer = _hold_the_next_answer(page, households, lambda: page.click("#visit"))
    page.click("#sign-out")
    page.locator("#login").wait_for()
    with page.expect_response(lambda r: households(r.url)) as late:
        route.fulfill(response=answer)
    late.value.finished()
    page.wait_for_timeout(300)  # the answer read, had it been kept
    assert page.evaluate("[localStorage.getItem('mapsvc.households-near'), "
                         "localStorage.getItem('mapsvc.people-near')]") == [None, None]
    expect(page.locator("#households > li")).to_have_count(0)
    context.close()


def test_a_members_mobile_and_care_tags_are_corrected_at_the_door_with_no_signal(
        browser, server, worker_spot, clients, db):
    """At the door the worker finds a member's mobile changed and that she now lives alone:
    更正 shows her care tags as held, a new mobile is typed, a tag added; sent once the signal
    is back, what changed alone, audited with the reason; the household lists her tags."""
    code, spot = worker_spot
    admin = clients["admin"]
    name = f"吴{uuid.uuid4().hex[:4]}"
    masked = "吴****"  # as the service shows her
    registered(admin, "addresses", [{"address": "更正路5号", "lon": spot.x, "lat": spot.y}],
               county=code[:6])
    registered(admin, "people", [{"address": "更正路5号", "name": name, "registration": "resident",
                                  "household": "1", "birth_date": "1950-02-01",
                                  "mobile": "13900005555", "care_tags": "低保户"}],
               county=code[:6])
    with db.connect() as conn:
        person = conn.execute(text("SELECT id FROM person WHERE name = :n"),
                              {"n": name}).scalar_one()
    context, page = _phone(browser, server, spot)
    page.click("#visit")
    member = page.locator(f"#households li[data-person='{person}']")
    expect(member).to_contain_text(f"{masked} 1950年生（低保户）")
    member.locator("button", has_text="更正").click()
    form = page.locator("#person-details")
    expect(form).to_be_visible()
    assert page.inner_text("#person-details-name") == masked
    assert form.locator("[name=care_tags]").input_value() == "低保户"
    form.locator("button[type=submit]").click()  # nothing changed: nothing waits
    expect(page.locator("#person-details-said")).to_have_text("未改动任何信息")
    assert page.evaluate("window.mapsvcPhone.queued") == 0
    context.set_offline(True)
    form.locator("[name=mobile]").fill("13600006666")
    form.locator("[name=care_tags]").fill("低保户、独居老人")
    form.locator("button[type=submit]").click()
    wait_until(page, "window.mapsvcPhone.queued === 1", "the correction waiting")
    assert page.inner_text("#queue") == f"待发送 更正信息 {masked}" and form.is_hidden()
    _signal_back(context, page, "the correction sent")
    assert page.inner_text("#result") == f"已更正信息：{masked}"
    shown = admin.get(f"/registry/people/{person}").json()
    assert (shown["mobile"], shown["care_tags"]) == ("136****6666", ["低保户", "独居老人"])
    assert sorted((a["username"], a["field"], a["reason"]) for a in admin.get(
        "/audit", params={"person": person, "action": "correct"}).json()) == [
        ("worker", "care_tags", "入户走访核实"), ("worker", "mobile", "入户走访核实")]
    page.click("#visit")  # asked again: her tags as they now are
    expect(member).to_contain_text(f"{masked} 1950年生（低保户、独居老人）")
    context.close()


def test_a_newcomer_is_registered_from_the_phone_with_no_signal_and_a_mistyped_id_caught(
        browser, server, worker_spot, household, clients, db):
    """A tenant has moved in: the worker registers them under the household, at the door with
    no signal; an ID number whose check digit does not fit is caught before anything waits,
    and once the signal is back the newcomer is in the household, registered by the worker."""
    from mapsvc.registry.privacy import id_check_character, lookup_hash

    _, spot = worker_spot
    body = f"441502199{uuid.uuid4().int % 10**8:08d}"
    good = body + id_check_character(body)
    bad = body + ("0" if good[-1] != "0" else "1")
    context, page = _phone(browser, server, spot)
    page.click("#visit")
    home = page.locator("#households > li", has_text="走访路9号")
    home.locator("button", has_text="登记新住户").click()
    form = page.locator("#newcomer")
    expect(form).to_be_visible()
    assert page.inner_text("#newcomer-home") == "走访路9号"
    context.set_offline(True)
    form.locator("[name=name]").fill("林来")
    form.locator("[name=id_number]").fill(bad)
    form.locator("[name=mobile]").fill("13700001234")
    form.locator("[name=relation]").select_option("tenant")
    form.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "phone-newcomer.png")
    form.locator("button[type=submit]").click()
    assert form.locator("[name=id_number]").evaluate("e => e.validationMessage") == \
        "身份证号校验位不符，请核对"
    page.wait_for_timeout(300)
    assert page.evaluate("window.mapsvcPhone.queued") == 0 and form.is_visible()
    form.locator("[name=id_number]").fill(good)
    form.locator("button[type=submit]").click()
    wait_until(page, "window.mapsvcPhone.queued === 1", "the newcomer waiting")
    assert page.inner_text("#queue") == "待发送 登记新住户 林*" and form.is_hidden()
    _signal_back(context, page, "the newcomer sent")
    assert page.inner_text("#result") == "已登记新住户：林*"
    context.close()
    with db.connect() as conn:
        row = conn.execute(text(
            "SELECT p.id, p.registration, p.household_id, a.username FROM person p "
            "JOIN account a ON a.id = p.registered_by WHERE p.id_number_hash = :h"),
            {"h": lookup_hash(good)}).one()
    assert (row.registration, row.household_id, row.username) == ("floating", household, "worker")
    shown = clients["worker"].get(f"/registry/people/{row.id}").json()
    assert (shown["name"], shown["mobile"]) == ("林*", "137****1234")


def test_a_flat_newly_let_takes_its_first_household_from_the_phone_with_no_signal(
        browser, server, worker_spot, household, clients):
    """新立户: at a standard address with nobody registered, the worker starts a household with
    its first member, with no signal; once sent, the household is listed at the door."""
    code, spot = worker_spot
    street = f"新租路{uuid.uuid4().hex[:6]}号"
    registered(clients["admin"], "addresses", [{"address": street, "lon": spot.x,
                                                "lat": spot.y}], county=code[:6])
    context, page = _phone(browser, server, spot)
    page.click("#visit")
    choice = page.locator("#new-household select")
    option = choice.locator("option", has_text=street)
    expect(option).to_have_text(f"{street}（无住户）")
    assert choice.locator("option").first.inner_text().endswith("（无住户）")  # those first
    assert page.locator("#households > li", has_text=street).count() == 0
    page.locator("#new-household").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "phone-new-household.png")
    context.set_offline(True)
    choice.select_option(option.get_attribute("value"))
    page.click("#new-household button")
    form = page.locator("#newcomer")
    expect(form).to_be_visible()
    assert page.inner_text("#newcomer-home") == f"{street}（新立户）"
    form.locator("[name=name]").fill("韩租")
    form.locator("button[type=submit]").click()
    wait_until(page, "window.mapsvcPhone.queued === 1", "the newcomer waiting")
    assert page.inner_text("#queue") == "待发送 登记新住户 韩*"
    _signal_back(context, page, "the newcomer sent")
    assert page.inner_text("#result") == "已登记新住户：韩*"
    page.click("#visit")  # asked again: the new household, with its member
    home = page.locator("#households > li", has_text=street)
    expect(home.locator("ul.members li")).to_have_count(1)
    assert home.locator("ul.members li").inner_text().startswith("韩*")
    expect(option).to_have_text(f"{street}（1 户）")
    page.click("#sign-out")
    page.locator("#login").wait_for()
    assert page.evaluate("localStorage.getItem('mapsvc.addresses-near')") is None
    expect(page.locator("#new-household")).to_be_hidden()
    context.close()


def test_one_registered_elsewhere_in_the_grid_is_moved_to_their_new_door(
        browser, server, worker_spot, clients):
    """At the new door of someone the registry has at another address of the worker's grid:
    registered there as a newcomer, the service names them, and the worker moves them, their
    number kept."""
    from mapsvc.registry.privacy import id_check_character

    code, spot = worker_spot
    body = f"441502198{uuid.uuid4().int % 10**8:08d}"
    number = body + id_check_character(body)
    old, new = (f"{street}{uuid.uuid4().hex[:6]}号" for street in ("老屋路", "新屋路"))
    admin = clients["admin"]
    registered(admin, "addresses", [{"address": a, "lon": spot.x, "lat": spot.y}
                                    for a in (old, new)], county=code[:6])
    registered(admin, "people", [{"address": old, "name": "曹搬", "registration": "resident",
                                  "id_number": number, "care_tags": number}], county=code[:6])
    [person] = admin.get("/registry/people", params={"care_tag": number}).json()
    context, page = _phone(browser, server, spot)
    page.click("#visit")
    choice = page.locator("#new-household select")
    choice.select_option(choice.locator("option", has_text=new).get_attribute("value"))
    page.click("#new-household button")
    form = page.locator("#newcomer")
    form.locator("[name=name]").fill("曹搬")
    form.locator("[name=id_number]").fill(number)
    form.locator("button[type=submit]").click()
    refused = page.locator("#queue li.failed")
    expect(refused).to_contain_text("未能发送：此人已在辖区登记，可迁入此户（保留人员编号）")
    context.set_offline(True)
    refused.locator("button", has_text="迁入此户").click()
    expect(page.locator("#queue")).to_have_text("待发送 迁入 曹*")  # in the newcomer's place
    _signal_back(context, page, "the move sent")
    assert page.inner_text("#result") == "已迁入：曹*"
    context.close()
    moved = admin.get(f"/registry/people/{person['id']}").json()
    assert (moved["address"], moved["left_on"]) == (new, None)
    assert admin.get("/registry/people", params={"care_tag": number}).json() == [moved]


def test_a_visit_sent_again_is_recorded_once(clients, household):
    import uuid

    body = {"household_id": household, "client_id": str(uuid.uuid4())}
    first = clients["admin"].post("/registry/visits", json=body)
    again = clients["admin"].post("/registry/visits", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]


def test_a_visit_from_a_phone_whose_clock_runs_ahead_is_made_when_it_comes(clients, household):
    r = clients["admin"].post("/registry/visits", json={"household_id": household,
                                                        "visited_at": "2099-01-01T09:00:00"})
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["at"]) <= datetime.now(timezone.utc)


def test_the_result_is_reported_from_the_phone_with_its_photo(browser, server, worker_spot,
                                                             clients):
    from tests.test_workflow import do

    _, spot = worker_spot
    admin = clients["admin"]
    case = _dispatched_case(admin, spot, "待处置的井盖")
    assert do(admin, case, "accept").status_code == 200
    context, page = _phone(browser, server, spot)
    item = f'#cases li[data-id="{case}"]'
    wait_until(page, f"!!document.querySelector('{item} button[data-action=\"report_handled\"]')",
               "the case in progress")
    [c] = clients["worker"].get("/categories", params={"q": "0603"}).json()
    assert page.inner_text(f"{item} small.guide") == f"结案条件：{c['closing_condition']}"
    photos = page.locator(f"{item} div.photos")
    photos.locator("input[type=file]").set_input_files(files=[_photo()])
    # ten more chosen at once: the step carries ten at most, the first nine of them kept
    photos.locator("input[type=file]").set_input_files(
        files=[_photo((n * 20, 0, 0), (40, 30)) for n in range(10)])
    expect(photos.locator("li img")).to_have_count(10)
    expect(photos.locator("li.full")).to_have_text("最多附 10 张照片")
    photos.locator("button.drop").last.click()
    expect(photos.locator("li img")).to_have_count(9)
    expect(photos.locator("li.full")).to_have_count(0)
    _take(page, item, "report_handled", "已补装井盖")
    wait_until(page, "window.mapsvcPhone.sent >= 1 && window.mapsvcPhone.queued === 0",
               "the result sent")
    step = admin.get(f"/incidents/{case}/timeline").json()[-1]
    assert (step["action"], step["note"], len(step["attachments"])) == (
        "report_handled", "已补装井盖", 9)
    wait_until(page, f"!!document.querySelector('{item} button[data-action=\"check\"]')",
               "the case handled, to be checked")
    page.click(f"{item} >> text=进度")  # the photo among the steps, fetched with the token
    wait_until(page, f"[...document.querySelectorAll('{item} .step-photos img')].some("
                     "(i) => i.complete && i.naturalWidth > 0)", "the photo shown")
    assert admin.post(f"/incidents/{case}/actions/expedite",  # its item drawn anew
                      json={"note": "群众反映强烈"}).status_code == 200
    wait_until(page, f"!!document.querySelector('{item}.urgent')", "the case marked urgent")
    assert page.locator(f"{item} .step-photos img").count() > 0  # the steps still open
    context.close()


def test_a_case_is_listed_by_its_number_and_category_and_shown_on_the_map(
        browser, server, worker_spot, grids, clients, db):
    """The worker's list names each case by its number and category beside what the reporter
    wrote, with the soonest deadline of its clocks running (a verify task's too); its 位置
    button marks the case on the map and brings the map to it, until the case is no longer the
    worker's."""
    code, spot = worker_spot
    admin = clients["admin"]
    corner = _far_corner(grids, code, spot)
    case = _dispatched_case(admin, corner, "角落里的井盖")
    new, verifying = (admin.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0603", "lon": spot.x, "lat": spot.y}
    ).json()["id"] for _ in range(2))
    assert admin.post(f"/incidents/{verifying}/actions/verify", json={}).status_code == 200
    name = next(c["name"] for c in admin.get("/categories").json() if c["code"] == "0603")
    context, page = _phone(browser, server, spot)
    item = f'#cases li[data-id="{case}"]'
    wait_until(page, f"!!document.querySelector('{item}')", "the case among mine")
    line = "(id) => document.querySelector(`#cases li[data-id='${id}']`).firstChild.textContent"
    assert page.evaluate(line, case) == f"时限内 · 已派遣 · #{case} {name} · 角落里的井盖"
    with db.connect() as conn:  # where it is: the worker's own grid, by name
        named = conn.execute(text("SELECT name FROM grid WHERE code = :c"), {"c": code}).scalar()
    assert page.inner_text(f"{item} small.place") == named
    # its deadline: the soonest of its clocks running (dispatched: the handling's)
    clocks = admin.get(f"/incidents/{case}").json()["clocks"]
    assert clocks["handling"]["deadline"] < clocks["case"]["deadline"]
    assert page.locator(f"{item} small.due").inner_text() == page.evaluate(
        "(at) => `时限 ${dueTime(at)}`", clocks["handling"]["deadline"])
    # not yet filed, no clock running, nothing written: its state, number and category alone
    assert page.evaluate(line, new) == f"已上报 · #{new} {name}"
    assert page.locator(f'#cases li[data-id="{new}"] small.due').count() == 0
    # sent to the field to verify: on the verify clock
    assert page.evaluate(line, verifying) == f"时限内 · 核实中 · #{verifying} {name}"
    assert page.locator(f'#cases li[data-id="{verifying}"] small.due').inner_text() == (
        page.evaluate("(at) => `时限 ${dueTime(at)}`", admin.get(
            f"/incidents/{verifying}").json()["clocks"]["verify"]["deadline"]))
    page.click(f"{item} button[data-show=place]")
    # (a zoom still drawn, as the first fix's may be, takes the map there once it ends)
    assert shows(page, f"""(() => {{
        const phone = window.mapsvcPhone, map = phone.map;
        return phone.placeMark && phone.placeMark.caseId === {case} && map.getZoom() >= 17
          && {_centred(corner)}; }})()"""
                 ), ("the case marked, the map on it; the map shows", page.evaluate("""(() => {
        const phone = window.mapsvcPhone, c = phone.map.getCenter();
        return { marked: phone.placeMark && phone.placeMark.caseId, zoom: phone.map.getZoom(),
                 zooming: phone.map._animatingZoom, centre: [c.lng, c.lat] }; })()"""), corner)
    marked = page.evaluate("(() => { const at = window.mapsvcPhone.placeMark.getLatLng();"
                           " return [at.lng, at.lat]; })()")
    assert marked == pytest.approx([corner.x, corner.y], abs=1e-7)
    assert page.locator(".leaflet-tooltip", has_text=f"#{case}").is_visible()
    page.screenshot(path=ARTIFACTS / "phone-case-on-map.png")
    with db.begin() as conn:  # taken up by the county
        conn.execute(text("UPDATE incident SET escalation_level = 'county' WHERE id = :i"),
                     {"i": case})
    wait_until(page, f"!document.querySelector('{item}') && !window.mapsvcPhone.placeMark",
               "the case and its mark gone")
    context.close()


def _hold_the_next_answer(page, url, asking=None) -> tuple:
    """The next request for ``url`` (a pattern, or a test of the address) is answered by the
    service at once, and the answer held on its way to the page (a weak signal); the others go
    through. ``asking``: what makes the page ask, done once the hold is set (else the page asks
    by itself). Once it is held: the route and the answer, to pass on
    (``route.fulfill(response=answer)``)."""
    held = []

    def hold(route):
        if held:
            return route.fallback()
        held.append((route, route.fetch()))

    page.route(url, hold)
    if asking:
        asking()
    for _ in range(300):
        if held:
            return held[0]
        page.wait_for_timeout(100)
    raise AssertionError(f"the page never asked for {url}")


def test_signing_in_again_after_the_session_lapsed_lists_the_new_accounts_cases_alone(
        browser, server, worker_spot, accounts, clients):
    """The session lapses (the phone's next request, a refresh of its cases, answered 401): the
    phone asks to sign in, showing none of the worker's cases, not even those of an answer that
    was on its way; the grid chief signing in on it, with no reload, gets the chief's grids on
    the map and the chief's cases."""
    _, spot = worker_spot
    case = _dispatched_case(clients["admin"], spot, "换班前的案件")
    context, page = _phone(browser, server, spot)
    wait_until(page, f"!!document.querySelector('#cases li[data-id=\"{case}\"]')", "my cases")
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    route, answer = _hold_the_next_answer(page, "**/api/v1/incidents?queue=mine*")
    page.evaluate("localStorage.setItem('mapsvc.token', 'lapsed')")
    page.locator("#login").wait_for()
    route.fulfill(response=answer)  # the worker's cases, come after the session ended
    page.wait_for_timeout(500)
    assert page.locator("#cases li").count() == 0
    refreshed = page.evaluate("window.mapsvcPhone.refreshed")
    _sign_in(page, "chief")
    page.locator("#app").wait_for()
    wait_until(page, f"window.mapsvcPhone.refreshed > {refreshed}", "the chief's cases")
    chiefs = {f["id"] for f in clients["chief"].get("/incidents?queue=mine&limit=50")
              .json()["features"]}
    listed = page.evaluate("[...document.querySelectorAll('#cases li')].map(li => +li.dataset.id)")
    assert set(listed) == chiefs
    wait_until(page, "window.mapsvcPhone.grids && window.mapsvcPhone.grids.getLayers().length"
                     f" === {len(accounts['chief'][1]['grid_codes'])}", "the chief's grids")
    assert errors == []
    context.close()


def test_my_cases_come_most_urgent_first(browser, server, worker_spot, clients, db):
    _, spot = worker_spot
    admin = clients["admin"]
    cases = []
    for description in ("时限内的案件", "超期的案件", "加急的案件"):
        cases.append(_dispatched_case(admin, spot, description))
    with db.begin() as conn:
        conn.execute(text("UPDATE incident SET handling_deadline = now() - interval '1 hour' "
                          "WHERE id = :i"), {"i": cases[1]})
    assert admin.post(f"/incidents/{cases[2]}/actions/expedite",
                      json={"note": "燃气泄漏"}).status_code == 200
    context, page = _phone(browser, server, spot)
    wait_until(page, f"!!document.querySelector('#cases li[data-id=\"{cases[0]}\"]')", "my cases")
    order = page.evaluate("[...document.querySelectorAll('#cases li')].map(li => li.dataset.id)")
    # marked urgent by the centre (in time), then past its deadline, then in time
    assert order.index(str(cases[2])) < order.index(str(cases[1])) < order.index(str(cases[0]))
    assert page.locator(f'#cases li[data-id="{cases[1]}"]').text_content().startswith("超期")
    late = page.locator(f'#cases li[data-id="{cases[1]}"] small.due').inner_text()
    assert late.startswith("时限 ") and late.endswith("（已超 1 小时）"), late  # by how long
    assert "已超" not in page.locator(f'#cases li[data-id="{cases[0]}"]').text_content()
    urgent = page.locator(f'#cases li[data-id="{cases[2]}"]')
    assert urgent.text_content().startswith("加急 · 时限内 · 已派遣")
    assert "urgent" in urgent.get_attribute("class")
    context.close()


def test_a_case_marked_urgent_while_the_phone_is_open_is_news(browser, server, worker_spot,
                                                              clients):
    _, spot = worker_spot
    admin = clients["admin"]
    case = _dispatched_case(admin, spot, "渗漏的燃气管")
    context, page = _phone(browser, server, spot)
    item = f'#cases li[data-id="{case}"]'
    wait_until(page, f"!!document.querySelector('{item}')", "the case among mine")
    wait_until(page, "document.getElementById('news').textContent === ''", "nothing new")
    assert admin.post(f"/incidents/{case}/actions/expedite",
                      json={"note": "有居民报告气味加重"}).status_code == 200
    wait_until(page, f"!!document.querySelector('{item}.new.urgent')", "marked urgent, as news")
    assert page.inner_text("#news") == "新到 1 件案件，其中加急 1 件"
    page.click(item)
    wait_until(page, "document.getElementById('news').textContent === ''", "touched")
    context.close()


def test_a_case_urged_by_its_caller_while_the_phone_is_open_is_news(browser, server,
                                                                    worker_spot, clients):
    _, spot = worker_spot
    admin = clients["admin"]
    case = _dispatched_case(admin, spot, "楼道灯不亮")
    context, page = _phone(browser, server, spot)
    item = f'#cases li[data-id="{case}"]'
    wait_until(page, f"!!document.querySelector('{item}')", "the case among mine")
    wait_until(page, "document.getElementById('news').textContent === ''", "nothing new")
    assert "催办" not in page.locator(item).text_content()
    assert admin.post(f"/incidents/{case}/actions/urge",
                      json={"note": "诉求人来电催促办理"}).status_code == 200
    wait_until(page, f"!!document.querySelector('{item}.new')", "urged, as news")
    assert page.inner_text("#news") == "新到 1 件案件，其中催办 1 件"
    assert "已派遣 · 催办 1 次 · " in page.locator(item).text_content()
    page.click(item)
    wait_until(page, "document.getElementById('news').textContent === ''", "touched")
    context.close()


def test_a_task_on_site_come_while_the_phone_is_open_is_news(browser, server, worker_spot,
                                                            clients):
    """A case of the worker's come to a task on site, the centre asking it to verify (核实) or
    the department having handled it (to be checked, 核查), is news, said as such; a case the
    worker's own step brought there is not."""
    import uuid

    from tests.test_workflow import do

    _, spot = worker_spot
    admin = clients["admin"]
    reported = admin.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0603", "lon": spot.x, "lat": spot.y,
        "source": "hotline", "description": "热线反映井盖松动"}).json()["id"]
    handled, mine = (_dispatched_case(admin, spot, what) for what in ("部门处置的井盖",
                                                                      "网格员处置的井盖"))
    context, page = _phone(browser, server, spot)
    item = '#cases li[data-id="{}"]'.format
    wait_until(page, f"!!document.querySelector('{item(mine)}')", "the cases among mine")
    wait_until(page, "document.getElementById('news').textContent === ''", "nothing new")
    offered = "!!document.querySelector('{} button[data-action=\"{}\"]')".format
    page.click(f'{item(mine)} button[data-action="accept"]')
    wait_until(page, offered(item(mine), "report_handled"), "accepted")
    _take(page, item(mine), "report_handled", "已补装井盖")
    wait_until(page, offered(item(mine), "check"), "handled by the worker itself")
    assert do(admin, reported, "verify").status_code == 200
    for action, body in (("accept", {}), ("report_handled", {"note": "已更换井盖"})):
        assert do(admin, handled, action, **body).status_code == 200
    wait_until(page, f"!!document.querySelector('{item(reported)}.new') "
                     f"&& !!document.querySelector('{item(handled)}.new')", "the tasks, as news")
    assert page.inner_text("#news") == "新到 2 件案件，其中待核实 1 件，待核查 1 件"
    assert "new" not in page.get_attribute(item(mine), "class")
    context.close()


def test_the_phones_own_step_is_no_news_while_its_answer_is_on_its_way(browser, server,
                                                                         worker_spot, clients):
    """On a weak signal the worker's step is stored and its answer late: the list asked for
    meanwhile already holds the state the step led to (to be checked), which is no news to the
    phone that took it, then or once the answer comes."""
    _, spot = worker_spot
    mine = _dispatched_case(clients["admin"], spot, "信号弱时处置的井盖")
    context, page = _phone(browser, server, spot)
    item = f'#cases li[data-id="{mine}"]'
    wait_until(page, f"!!document.querySelector('{item}')", "the case among mine")
    page.click(f'{item} button[data-action="accept"]')
    wait_until(page, f"!!document.querySelector('{item} button[data-action=\"report_handled\"]')",
               "accepted")
    route, answer = _hold_the_next_answer(
        page, lambda url: url.endswith(f"/incidents/{mine}/actions/report_handled"),
        lambda: _take(page, item, "report_handled", "已补装井盖"))
    listed = page.evaluate("window.mapsvcPhone.refreshed")
    wait_until(page, f"window.mapsvcPhone.refreshed > {listed + 1}", "the cases listed again")
    assert page.inner_text("#news") == ""
    route.fulfill(response=answer)
    wait_until(page, "window.mapsvcPhone.queued === 0", "the step answered")
    listed = page.evaluate("window.mapsvcPhone.refreshed")
    wait_until(page, f"window.mapsvcPhone.refreshed > {listed}", "the cases listed after")
    assert page.inner_text("#news") == "" and "new" not in page.get_attribute(item, "class")
    context.close()


def test_a_step_answered_after_signing_out_makes_no_news_for_the_next_to_sign_in(
        browser, server, worker_spot, clients):
    """A worker signs out while a step it took is on its way, on a weak signal; its answer,
    come after, keeps nothing of the cases seen: the next to sign in finds no case new in its
    first list, as anyone signing in does."""
    _, spot = worker_spot
    case = _dispatched_case(clients["admin"], spot, "退出时正在提交的井盖")
    context, page = _phone(browser, server, spot)
    item = f'#cases li[data-id="{case}"]'
    wait_until(page, f"!!document.querySelector('{item}')", "the case among mine")
    route, answer = _hold_the_next_answer(
        page, lambda url: url.endswith(f"/incidents/{case}/actions/accept"),
        lambda: page.click(f'{item} button[data-action="accept"]'))
    page.on("dialog", lambda dialog: dialog.accept())  # 1 item waiting: sign out all the same
    page.click("#sign-out")
    page.locator("#login").wait_for()
    with page.expect_response(lambda r: r.url.endswith("/actions/accept")) as late:
        route.fulfill(response=answer)
    assert late.value.ok
    wait_until(page, "window.mapsvcPhone.queued === 0", "the step sent")
    listed = page.evaluate("window.mapsvcPhone.refreshed")
    _sign_in(page)
    wait_until(page, f"window.mapsvcPhone.refreshed > {listed}", "the cases listed")
    assert page.locator(item).count() == 1
    assert page.inner_text("#news") == "" and page.locator("#cases li.new").count() == 0
    context.close()


def test_a_worker_follows_its_reports_to_their_close_and_the_rating_given(
        browser, server, worker_spot, clients):
    """我的上报: the cases the worker reported lately, in whatever state, a case closed and
    followed up too (its rating), with its steps at a tap; none another reported in its grids;
    a description shown as typed; as last seen with no signal; gone once signed out."""
    import uuid

    from tests.test_workflow import do

    _, spot = worker_spot
    worker, admin, department = clients["worker"], clients["admin"], clients["department"]
    report = {"category": "0603", "lon": spot.x, "lat": spot.y}
    done, waiting = (worker.post("/incidents", json={
        **report, "client_id": str(uuid.uuid4()), "description": what}).json()["id"]
        for what in ("井盖缺失，已上报", "<b>路灯</b>不亮"))
    theirs = admin.post("/incidents", json={**report, "client_id": str(uuid.uuid4()),
                                            "description": "他人上报的井盖"}).json()["id"]
    for client, action, body in (
            (admin, "file", {}), (admin, "dispatch", {"department": "T1"}),
            (department, "accept", {}), (department, "report_handled", {"note": "已补装井盖"}),
            (admin, "check", {}), (admin, "check_pass", {}),
            (admin, "follow_up", {"satisfaction": 4})):
        assert do(client, done, action, **body).status_code == 200, action
    context, page = _phone(browser, server, spot)
    page.click("#my-reports")
    item = '#reports > li[data-id="{}"]'.format
    page.locator(item(done)).wait_for()
    closed = page.locator(item(done))
    assert closed.inner_text().startswith("已评价 · ")
    assert "满意度 4" in closed.locator("small").inner_text()
    assert "办结 " in closed.locator("small").inner_text()
    assert page.locator(item(waiting)).inner_text().startswith("已上报 · ")
    assert do(admin, waiting, "file").status_code == 200  # followed while the list is open
    expect(page.locator(item(waiting))).to_contain_text("已立案 · ")
    assert "<b>路灯</b>不亮" in page.locator(item(waiting)).inner_text()  # as typed
    assert page.locator(item(theirs)).count() == 0
    assert page.inner_text("#reports-count").startswith("近30天 ")
    closed.locator("button", has_text="进度").click()
    expect(closed.locator("ol.steps > li")).to_have_count(8)
    followed = page.locator(item(waiting))
    followed.locator("button", has_text="进度").click()
    expect(followed.locator("ol.steps > li")).to_have_count(2)
    assert do(admin, waiting, "dispatch", department="T1").status_code == 200
    expect(followed).to_contain_text("已派遣 · ")  # its item drawn anew, its steps still open
    expect(followed.locator("ol.steps > li")).to_have_count(2)
    expect(closed.locator("ol.steps > li")).to_have_count(8)
    page.screenshot(path=ARTIFACTS / "phone-my-reports.png", full_page=True)
    page.select_option("#category", "0603")  # reported from the phone: on the list it shows
    page.fill("#description", "刚在手机上报的井盖")
    page.click("#report button[type=submit]")
    expect(page.locator("#reports > li").first).to_contain_text("刚在手机上报的井盖")
    context.set_offline(True)
    page.reload()
    page.locator("#app").wait_for()
    page.click("#my-reports")  # with no signal: as last seen
    page.locator(item(done)).wait_for()
    context.set_offline(False)
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#sign-out")
    page.locator("#login").wait_for()
    assert page.locator("#reports > li").count() == 0
    assert page.evaluate("localStorage.getItem('mapsvc.reports')") is None
    context.close()


def test_my_reports_keep_the_newest_list_when_an_older_answer_comes_after_it(
        browser, server, worker_spot):
    """我的上报 open, its refresh asked and answered slowly (a weak signal), a report sent
    meanwhile: the list with the new report stays, the older answer coming after it dropped."""
    _, spot = worker_spot
    context, page = _phone(browser, server, spot)
    page.click("#my-reports")
    expect(page.locator("#reports-count")).to_contain_text("近30天")
    held = []

    def slow(route):  # the first answer kept back as it was: older than any after it
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))

    page.route("**/api/v1/incidents?reporter=me*", slow)
    page.evaluate("""() => { window.listedFirst = [];  // the newest report, at each drawing
      new MutationObserver(() => window.listedFirst.push(
        document.querySelector('#reports > li').textContent))
        .observe(document.getElementById('reports'), { childList: true }); }""")
    page.evaluate("() => { showReports(); }")  # the list's refresh, not waited for
    for _ in range(100):  # until it is asked
        if held:
            break
        page.wait_for_timeout(100)
    assert held
    page.select_option("#category", "0603")
    page.fill("#description", "慢信号下刚上报的井盖")
    page.click("#report button[type=submit]")
    newest = page.locator("#reports > li").first
    expect(newest).to_contain_text("慢信号下刚上报的井盖")
    route, answer = held[0]
    with page.expect_response(lambda r: "reporter=me" in r.url):
        route.fulfill(response=answer)
    page.wait_for_timeout(500)  # the older answer read
    drawn = page.evaluate("window.listedFirst")
    since = next(i for i, first in enumerate(drawn) if "慢信号下刚上报的井盖" in first)
    assert all("慢信号下刚上报的井盖" in first for first in drawn[since:]), drawn
    context.close()


def test_a_handler_asks_for_more_time_or_hands_a_case_back_from_the_phone(browser, server,
                                                                         worker_spot, clients):
    _, spot = worker_spot
    admin = clients["admin"]
    longer = _dispatched_case(admin, spot, "需要更多时间的井盖")
    back = _dispatched_case(admin, spot, "不属于本单位的井盖")
    context, page = _phone(browser, server, spot)
    for case, action in ((longer, "request_extension"), (back, "hand_back")):
        button = f'#cases li[data-id="{case}"] button[data-action="{action}"]'
        wait_until(page, f"!!document.querySelector('{button}')", f"{action} offered")
    item = f'#cases li[data-id="{longer}"]'
    page.click(f'{item} button[data-action="request_extension"]')
    page.click(f"{item} form.step button[type=submit]")  # nothing said: not sent
    assert page.locator(f"{item} form.step").count() == 1
    page.click(f"{item} form.step button:text('取消')")
    assert page.locator(f"{item} form.step").count() == 0
    _take(page, item, "request_extension", "需采购配件", days=3)
    # handed back with one of its common notes (常用语), offered as the service gives them
    item = f'#cases li[data-id="{back}"]'
    page.click(f'{item} button[data-action="hand_back"]')
    assert page.locator(f"{item} form.step button.phrase").all_inner_texts() == list(
        PHRASES["hand_back"])
    page.screenshot(path=ARTIFACTS / "phone-step-note.png", full_page=True)
    page.click(f"{item} form.step button.phrase >> text=不属于本单位职责")
    page.click(f"{item} form.step button[type=submit]")
    wait_until(page, "window.mapsvcPhone.sent >= 2 && window.mapsvcPhone.queued === 0",
               "both sent")
    context.close()
    asked = admin.get(f"/incidents/{longer}").json()
    assert asked["status"] == "dispatched"
    assert (asked["extension_request"]["working_days"], asked["extension_request"]["note"]) == (
        3, "需采购配件")
    handed = admin.get(f"/incidents/{back}").json()
    assert handed["status"] == "filed"  # back to the centre, to dispatch again
    assert admin.get(f"/incidents/{back}/timeline").json()[-1]["note"] == "不属于本单位职责"


def test_a_tap_held_while_the_cases_are_refreshed_is_not_lost(browser, server, worker_spot,
                                                             clients):
    """My cases refreshed while a finger is down on a step's button: the case unchanged, its
    item stays as it was, and the finger lifted takes the step (a button drawn anew between
    the finger's down and up would take no tap)."""
    _, spot = worker_spot
    case = _dispatched_case(clients["admin"], spot, "刷新时按下的井盖")
    context, page = _phone(browser, server, spot)
    item = f'#cases li[data-id="{case}"]'
    button = f'{item} button[data-action="request_extension"]'
    wait_until(page, f"!!document.querySelector('{button}')", "more time offered")
    page.hover(button)
    page.mouse.down()
    refreshed = page.evaluate("window.mapsvcPhone.refreshed")
    wait_until(page, f"window.mapsvcPhone.refreshed > {refreshed}", "the cases refreshed")
    page.mouse.up()
    expect(page.locator(f"{item} form.step")).to_have_count(1)
    context.close()


def test_a_department_calls_a_caller_back_from_the_phone(browser, server, worker_spot, clients):
    """A hotline case dispatched to the department: its phone says by when the caller is to be
    told (联系诉求人时限) and shows who called, masked; their phone in full, to dial, once a
    reason is given (the reveal audited); 联系诉求人 taken with a common note ends the wait. A
    case no caller reported offers neither."""
    from tests.test_workflow import do

    _, spot = worker_spot
    admin = clients["admin"]
    number = f"139{uuid.uuid4().int % 10 ** 8:08d}"
    called = admin.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0603", "lon": spot.x, "lat": spot.y,
        "source": "hotline", "description": "热线反映井盖缺失", "caller": {"phone": number}}
    ).json()["id"]
    for action, body in (("file", {}), ("dispatch", {"department": "T1"})):
        assert do(admin, called, action, **body).status_code == 200
    own = _dispatched_case(admin, spot, "网格员上报的井盖")
    deadline = admin.get(f"/incidents/{called}").json()["response_deadline"]
    context, page = _phone(browser, server, spot, username="department")
    item, other = (f'#cases li[data-id="{case}"]' for case in (called, own))
    wait_until(page, f"!!document.querySelector('{item} button[data-action=\"contact\"]')",
               "联系诉求人 offered")
    doc = admin.get(f"/incidents/{called}").json()  # where to go: its county, township, grid
    assert page.inner_text(f"{item} small.place") == (
        f"{doc['county']['name']} {doc['township']['name']} {doc['grid']['name']}")
    told_by = page.evaluate("(at) => `联系诉求人时限 ${dueTime(at)}`", deadline)
    assert told_by in page.locator(f"{item} small.due").all_inner_texts()
    assert page.locator(f'{other} button[data-action="accept"]').count() == 1
    assert page.locator(f'{other} button[data-action="contact"]').count() == 0
    assert page.locator(f'{other} button[data-show="caller"]').count() == 0
    assert not any(t.startswith("联系诉求人时限")
                   for t in page.locator(f"{other} small.due").all_inner_texts())
    page.click(f'{item} button[data-show="caller"]')
    caller = page.locator(f"{item} div.caller")
    expect(caller.locator("p")).to_have_text(f"来电人 {number[:3]}****{number[-4:]}")
    caller.locator("button[type=submit]").click()  # no reason: not asked
    assert caller.locator("a").count() == 0
    caller.locator("button.phrase", has_text="回访诉求人").click()
    caller.locator("button[type=submit]").click()
    expect(caller.locator("a")).to_have_text(f"拨打 {number}")
    assert caller.locator("a").get_attribute("href") == f"tel:{number}"
    audit = admin.get("/audit", params={"action": "reveal", "limit": 1}).json()[0]
    assert (audit["username"], audit["entity_id"], audit["field"], audit["reason"]) == (
        "department", str(called), "caller_phone", "回访诉求人")
    page.screenshot(path=ARTIFACTS / "phone-caller.png", full_page=True)
    page.click(f'{item} button[data-show="caller"]')  # folded; opened again with no signal
    expect(caller).to_have_count(0)
    context.set_offline(True)
    page.click(f'{item} button[data-show="caller"]')
    expect(caller.locator("p")).to_have_text("无信号：有信号时再看")
    context.set_offline(False)
    page.click(f'{item} button[data-action="contact"]')
    assert page.locator(f"{item} form.step button.phrase").all_inner_texts() == list(
        PHRASES["contact"])
    page.click(f"{item} form.step button.phrase >> text={PHRASES['contact'][0]}")
    page.click(f"{item} form.step button[type=submit]")
    wait_until(page, "window.mapsvcPhone.sent >= 1 && window.mapsvcPhone.queued === 0", "sent")
    told = admin.get(f"/incidents/{called}").json()
    assert told["contacted_at"] is not None and told["status"] == "dispatched"
    assert admin.get(f"/incidents/{called}/timeline").json()[-1]["note"] == PHRASES["contact"][0]
    wait_until(page, f"""![...document.querySelectorAll('{item} small.due')]
                         .some((s) => s.textContent.startsWith('联系诉求人时限'))""",
               "the wait over")
    context.close()


def test_a_department_asks_from_the_phone_that_a_callers_case_count_not(browser, server,
                                                                         worker_spot, clients):
    """申诉 from the phone: on a hotline case dispatched to it, the department asks that the case
    be taken out of the evaluation (申请不纳入考核) with one of the common notes, and is offered
    the step no more. A case no caller reported offers it not, nor does a grid worker's phone
    on the caller's case."""
    from tests.test_workflow import do

    _, spot = worker_spot
    admin = clients["admin"]
    called = admin.post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0603", "lon": spot.x, "lat": spot.y,
        "source": "hotline", "description": "热线反复来电的井盖"}).json()["id"]
    for action, body in (("file", {}), ("dispatch", {"department": "T1"})):
        assert do(admin, called, action, **body).status_code == 200
    own = _dispatched_case(admin, spot, "网格员上报的井盖")
    item, other = (f'#cases li[data-id="{case}"]' for case in (called, own))
    asking = f'{item} button[data-action="request_exemption"]'
    context, page = _phone(browser, server, spot)  # the grid worker's: its caller to contact
    wait_until(page, f"!!document.querySelector('{item} button[data-action=\"contact\"]')",
               "the caller's case listed")
    assert page.locator(asking).count() == 0
    context.close()
    context, page = _phone(browser, server, spot, username="department")
    wait_until(page, f"!!document.querySelector('{asking}')", "申请不纳入考核 offered")
    assert page.locator(f'{other} button[data-action="accept"]').count() == 1
    assert page.locator(f'{other} button[data-action="request_exemption"]').count() == 0
    page.click(asking)
    assert page.locator(f"{item} form.step button.phrase").all_inner_texts() == list(
        PHRASES["request_exemption"])
    said = PHRASES["request_exemption"][0]
    page.click(f"{item} form.step button.phrase >> text={said}")
    page.click(f"{item} form.step button[type=submit]")
    wait_until(page, "window.mapsvcPhone.sent >= 1 && window.mapsvcPhone.queued === 0", "sent")
    asked = admin.get(f"/incidents/{called}").json()
    assert asked["exemption_requested_at"] is not None and asked["exempted_at"] is None
    assert asked["status"] == "dispatched"
    assert admin.get(f"/incidents/{called}/timeline").json()[-1]["note"] == said
    wait_until(page, f"!document.querySelector('{asking}')", "asked once, offered no more")
    assert page.locator(f'{item} button[data-action="contact"]').count() == 1
    context.close()


def test_the_worker_who_went_to_see_moves_a_case_to_where_it_is(browser, server, worker_spot,
                                                               clients, grids):
    import uuid

    code, spot = worker_spot
    admin = clients["admin"]
    case = admin.post("/incidents", json={"client_id": str(uuid.uuid4()), "category": "0603",
                                          "lon": spot.x, "lat": spot.y,
                                          "description": "位置报错的井盖"}).json()["id"]
    village = grids[grids["code"] == code].village_code.iloc[0]
    neighbour = grids[(grids["village_code"] == village) & (grids["code"] != code)].iloc[0]
    there = neighbour.geometry.representative_point()  # where the worker stands, and the case is
    context, page = _phone(browser, server, there)
    item = f'#cases li[data-id="{case}"]'
    wait_until(page, f"!!document.querySelector('{item} button[data-action=\"relocate\"]')",
               "relocate offered")
    _take(page, item, "relocate", "井盖实际在隔壁网格")
    wait_until(page, "window.mapsvcPhone.sent >= 1 && window.mapsvcPhone.queued === 0", "sent")
    context.close()
    moved = admin.get(f"/incidents/{case}").json()
    assert (moved["grid"]["code"], moved["lon"], moved["lat"]) == (
        neighbour.code, round(there.x, 7), round(there.y, 7))
    step = admin.get(f"/incidents/{case}/timeline").json()[-1]
    assert (step["action"], step["actor"], step["note"]) == ("relocate", "worker",
                                                           "井盖实际在隔壁网格")


def test_a_step_taken_while_another_is_on_its_way_is_sent_right_after_it(
        browser, server, worker_spot, clients):
    """A second step taken while the first is still on its way (a weak signal) goes as soon as
    the first is answered, not at the phone's next round of sending (its clock stopped here,
    the round never comes)."""
    _, spot = worker_spot
    cases = [clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0603", "lon": spot.x, "lat": spot.y,
        "description": f"接连办理的案件{n}"}).json()["id"] for n in range(2)]
    context, page = _phone(browser, server, spot, clock=datetime.now(timezone.utc))
    items = [f'#cases li[data-id="{case}"]' for case in cases]
    for item in items:
        wait_until(page, f"!!document.querySelector('{item} button[data-action=\"relocate\"]')",
                   "relocate offered")
    page.clock.pause_at(datetime.now(timezone.utc) + timedelta(seconds=1))
    route, answer = _hold_the_next_answer(page, "**/actions/relocate",
                                          lambda: _take(page, items[0], "relocate", "第一步"))
    _take(page, items[1], "relocate", "第二步")
    wait_until(page, "window.mapsvcPhone.queued === 2", "both queued")
    route.fulfill(response=answer)
    wait_until(page, "window.mapsvcPhone.sent === 2 && window.mapsvcPhone.queued === 0",
               "the second sent after the first")
    context.close()
    for case, note in zip(cases, ("第一步", "第二步")):
        step = clients["admin"].get(f"/incidents/{case}/timeline").json()[-1]
        assert (step["action"], step["note"]) == ("relocate", note)


def test_a_case_arriving_while_the_phone_is_open_shows_up_marked_until_touched(
        browser, server, worker_spot, clients):
    import uuid

    _, spot = worker_spot
    context, page = _phone(browser, server, spot)
    # the cases listed once before the new one arrives (what the first list holds is not new)
    wait_until(page, "window.mapsvcPhone.refreshed > 0", "the cases listed")
    wait_until(page, "document.getElementById('news').textContent === ''", "nothing new")
    case = clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0603", "lon": spot.x, "lat": spot.y,
        "description": "新到的井盖"}).json()["id"]  # in the worker's grid: waiting on them
    item = f'#cases li[data-id="{case}"]'
    wait_until(page, f"!!document.querySelector('{item}.new')", "the new case, marked")
    assert page.inner_text("#news") == "新到 1 件案件"
    page.screenshot(path=str(ARTIFACTS / "phone-new-case.png"), full_page=True)
    page.wait_for_timeout(2500)  # asked again meanwhile: still marked
    assert page.locator(f"{item}.new").count() == 1
    page.click(item)
    wait_until(page, f"!document.querySelector('{item}.new')", "touched: no longer marked")
    assert page.inner_text("#news") == ""
    assert case in [f["id"] for f in page.evaluate("JSON.parse(localStorage['mapsvc.cases'])")]
    page.evaluate("localStorage.removeItem('mapsvc.token')")  # the session over
    page.reload()
    page.locator("#login").wait_for()
    assert page.evaluate("localStorage.getItem('mapsvc.cases')") is None  # its cases forgotten
    context.close()


def test_an_answer_a_weak_signal_delays_past_a_later_one_does_not_undo_it(
        browser, server, worker_spot, clients):
    """The list of my cases asked for, its answer held up on the way; asked again meanwhile,
    the later answer shows a case just arrived. The earlier answer, come at last, is older
    than what is shown: the case stays listed."""
    import uuid

    _, spot = worker_spot
    context, page = _phone(browser, server, spot)
    route, answer = _hold_the_next_answer(page, "**/api/v1/incidents?queue=mine*")
    case = clients["admin"].post("/incidents", json={
        "client_id": str(uuid.uuid4()), "category": "0603", "lon": spot.x, "lat": spot.y,
        "description": "迟到的答复之后"}).json()["id"]
    item = f'#cases li[data-id="{case}"]'
    wait_until(page, f"!!document.querySelector('{item}')", "the case, in a later answer")
    page.evaluate(f"""new MutationObserver(() => {{
        if (!document.querySelector('{item}')) window.caseLost = true;
    }}).observe(document.getElementById('cases'), {{ childList: true }})""")
    route.fulfill(response=answer)
    page.wait_for_timeout(1500)
    assert page.evaluate("window.caseLost") is None
    assert page.locator(item).count() == 1
    context.close()


def test_a_patrol_walked_with_the_phone_is_sent_when_it_ends(browser, server, worker_spot,
                                                             clients):
    _, spot = worker_spot
    context, page = _phone(browser, server, spot)
    page.click("#patrol")
    assert page.inner_text("#patrol") == "结束巡查"
    walk = [(spot.x + i * 0.0003, spot.y) for i in range(1, 4)]  # about 30 m a step, eastwards
    for x, y in walk:
        context.set_geolocation({"longitude": x, "latitude": y, "accuracy": 8})
        wait_until(page, f"JSON.parse(localStorage['mapsvc.patrol']).points.some("
                         f"(p) => Math.abs(p[0] - {x}) < 1e-9)", "the position kept")
    page.reload()  # a patrol going on survives a reload
    wait_until(page, "document.getElementById('patrol').textContent === '结束巡查'", "still on")
    context.set_offline(True)
    page.click("#patrol")
    wait_until(page, "window.mapsvcPhone.queued === 1", "the patrol waiting for a signal")
    _signal_back(context, page, "the patrol sent")
    context.close()
    walked = clients["worker"].get("/patrols", params={"limit": 1}).json()["features"][0]
    assert walked["geometry"]["coordinates"] == [
        [round(spot.x, 7), round(spot.y, 7)], *[[round(x, 7), round(y, 7)] for x, y in walk]]
    lons, lats = zip((spot.x, spot.y), *walk)
    assert walked["properties"]["length_m"] == pytest.approx(
        Geod(ellps="WGS84").line_length(lons, lats), abs=0.1)


def test_the_phone_names_the_workers_grids_not_patrolled_lately_until_walked(browser, server,
                                                                              area):
    """A worker of grids A and B, never patrolled: both named under the patrol button, and
    drawn dashed; once a patrol through A is sent, B alone; once B is patrolled from another
    phone, none (the phone asks again with its cases); signed out, nothing named."""
    from shapely import Point

    from mapsvc.accounts.model import Role
    from mapsvc.accounts.store import create_account
    from mapsvc.db.engine import in_transaction

    a = area[0]
    run(in_transaction(lambda conn: create_account(
        conn, "due_worker", PASSWORD, Role.grid_worker, grid_codes=[a.code("A"), a.code("B")],
        origin="tests")))
    context, page = _phone(browser, server, Point(a.at(0.2, 0.5)), username="due_worker")
    dashed = ("(() => { const dashed = []; window.mapsvcPhone.grids.eachLayer((l) => "
              "l.options.dashArray && dashed.push(l.feature.properties.code)); "
              "return dashed.sort(); })()")
    both = "7天未巡查 2 个网格：规划测试网格A（从未巡查）、规划测试网格B（从未巡查）"
    wait_until(page, f"document.getElementById('patrol-due').textContent === {both!r}",
               "both grids named")
    assert page.evaluate(dashed) == [a.code("A"), a.code("B")]
    page.click("#patrol")
    for i in range(3, 9, 2):  # some 80 m a step, eastwards through A
        x, y = a.at(i / 10, 0.5)
        context.set_geolocation({"longitude": x, "latitude": y, "accuracy": 8})
        wait_until(page, f"JSON.parse(localStorage['mapsvc.patrol']).points.some("
                         f"(p) => Math.abs(p[0] - {x}) < 1e-9)", "the position kept")
    page.click("#patrol")
    b_alone = "7天未巡查 1 个网格：规划测试网格B（从未巡查）"
    wait_until(page, f"document.getElementById('patrol-due').textContent === {b_alone!r}",
               "B alone named once A is patrolled")
    assert page.evaluate(dashed) == [a.code("B")]
    colour = "getComputedStyle(document.getElementById('patrol-due')).color"
    assert page.evaluate(colour) == "rgb(173, 78, 0)"  # a grid due: said as a warning
    page.screenshot(path=ARTIFACTS / "phone-patrol-due.png")
    token = httpx.post(f"{server}/api/v1/auth/token", data={
        "username": "due_worker", "password": PASSWORD}).json()["access_token"]
    ended = datetime.now(timezone.utc)
    assert httpx.post(f"{server}/api/v1/patrols", headers={"Authorization": f"Bearer {token}"},
                      json={"client_id": str(uuid.uuid4()), "started_at": ended.isoformat(),
                            "ended_at": ended.isoformat(),
                            "points": [a.at(1.2, 0.5), a.at(1.8, 0.5)]}).status_code == 201
    wait_until(page, "document.getElementById('patrol-due').textContent === "
                     "'所辖网格7天内均已巡查'", "B patrolled from elsewhere, seen on refresh")
    assert page.evaluate(dashed) == []
    assert page.evaluate(colour) == "rgb(46, 125, 50)"  # all patrolled: said as done
    page.evaluate("localStorage.setItem('mapsvc.token', 'ended')")  # the session over
    page.locator("#login").wait_for()  # its next refresh refused 401: back to sign in
    assert page.inner_text("#patrol-due") == ""  # the next to sign in may be another
    context.close()
