"""Debian's Chromium, driven by Playwright (which downloads no browser of its own), as the page
tests and the benchmarks start it: headless, and quiet on a closed network. The tests drive its
headless shell (Debian's `chromium-headless-shell`: the same engine, built with no window to
draw into, as Playwright runs Chromium headless by default), which takes a sixth less time over
the phone's pages; the benchmarks time the wall in the whole browser a wall screen runs."""

import os
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium-headless-shell"
WHOLE_CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def launch(playwright, executable: str = CHROMIUM):
    return playwright.chromium.launch(executable_path=executable, args=FLAGS)


def with_fonts(browser, fonts: Path):
    """Another Chromium as ``browser``, on a system whose fonts are the machine's and those in
    the folder ``fonts`` (fontconfig's, as Chromium finds them on Linux)."""
    config = fonts / "fonts.conf"
    config.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>
<dir>{fonts}</dir><cachedir>{fonts / "cache"}</cachedir></fontconfig>""")
    return browser.browser_type.launch(executable_path=CHROMIUM, args=FLAGS,
                                       env={**os.environ, "FONTCONFIG_FILE": str(config)})


PHONE = {"width": 360, "height": 640}  # a phone's screen, in CSS pixels


def standing(browser, spot, accuracy=8.0):
    """A phone's browser, standing at ``spot`` with a fix good to ``accuracy`` metres."""
    return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                               geolocation={"longitude": spot.x, "latitude": spot.y,
                                            "accuracy": accuracy},
                               permissions=["geolocation"])


def shows(page, expression: str, tries: int = 300) -> bool:
    """Whether ``expression`` comes true in the page within ``tries`` tenths of a second,
    polled (the pages' policy forbids eval, so Playwright's own waiting for a function cannot
    run there)."""
    for _ in range(tries):
        if page.evaluate(expression):
            return True
        page.wait_for_timeout(100)
    return False


def on_one_line(page, cells: str) -> bool:
    """Whether each text of the elements ``cells`` (a selector) is drawn on one line."""
    return page.evaluate("""(cells) => [...document.querySelectorAll(cells)].every((cell) => {
        const words = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = words.nextNode(); node; node = words.nextNode()) {
          const range = document.createRange();
          range.selectNodeContents(node);
          if (range.getClientRects().length > 1) return false;
        }
        return true;
      })""", cells)


def names_shown(page, names: str) -> list[str]:
    """The texts of the names on a map (``names``, a selector) the page shows, not hidden for
    want of room, sorted, once it has drawn its next frames (where it sets them apart); an
    AssertionError if two shown cover one another's letters."""
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    shown = page.evaluate("""(names) => [...document.querySelectorAll(names)]
        .filter((el) => getComputedStyle(el).visibility !== "hidden").map((el) => {
          // its letters: as wide as its words, as high as their font
          const words = el.firstElementChild || el, b = words.getBoundingClientRect();
          const size = parseFloat(getComputedStyle(words).fontSize), y = (b.top + b.bottom) / 2;
          return [el.textContent, b.left, y - size / 2, b.right, y + size / 2]; })""", names)
    for n, (name, left, top, right, bottom) in enumerate(shown):
        for other, *box in shown[n + 1:]:
            assert not (left < box[2] and box[0] < right and top < box[3] and box[1] < bottom), (
                f"{name} written over {other}")
    return sorted(name for name, *_ in shown)


def wait_until(page, expression: str, what: str, tries: int = 300):
    """Wait for ``expression`` to come true in the page (``shows``)."""
    if not shows(page, expression, tries):
        raise AssertionError(f"the page never showed {what}")


def at_rest(page, map_js: str) -> None:
    """Wait for the map ``map_js`` (an expression) to come to rest: no zoom or pan under way
    and its view the same a quarter of a second later (a view asked for as a zoom ends has
    begun by then), however slowly a loaded machine draws it."""
    view = f"""(() => {{ const map = {map_js};
        if (map._animatingZoom || (map._panAnim && map._panAnim._inProgress)
            || document.querySelector(".leaflet-zoom-anim")) return null;
        const c = map.getCenter(); return [map.getZoom(), c.lat, c.lng]; }})()"""
    last = None
    for _ in range(120):
        now = page.evaluate(view)
        if now is not None and now == last:
            return
        last = now
        page.wait_for_timeout(250)
    raise AssertionError(f"the map {map_js} never came to rest")


def heard(page, condition, what: str, tries: int = 300) -> None:
    """Wait for ``condition`` (a function of what the page's events told the test) to come
    true, the page's events heard meanwhile, within ``tries`` tenths of a second."""
    for _ in range(tries):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the page never {what}")


def while_zooming(page, map_js: str, act_js: str, around_js: str = "map.getCenter()",
                  step: int = 1) -> bool:
    """The map (``map_js``, where the page keeps it; ``map`` in the other expressions) zoomed
    ``step`` round ``around_js``, and, as the zoom starts, ``act_js`` run: whether Leaflet was
    still drawing the zoom when it ran."""
    return page.evaluate(f"""new Promise((done) => {{
        const map = {map_js};
        map.once("zoomanim", () => setTimeout(() => {{
            {act_js};
            done(map._animatingZoom);
        }}));
        map.setZoomAround({around_js}, map.getZoom() + {step});
    }})""")


def click_while_zooming(page, map_js: str, lon: float, lat: float, x: float, y: float) -> bool:
    """A click on what the screen shows at (x, y), as the map starts to zoom in a step round
    (lon, lat), where that point stays while the map zooms round it (``while_zooming``)."""
    click = (f"document.elementFromPoint({x}, {y}).dispatchEvent(new MouseEvent('click', {{"
             f" bubbles: true, cancelable: true, view: window, clientX: {x}, clientY: {y} }}))")
    return while_zooming(page, map_js, click, f"[{lat}, {lon}]")


class Watch:
    """Console errors and failed requests of a page."""

    def __init__(self, page):
        self.problems: list[str] = []
        self.reloading = False
        page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        page.on("requestfailed", self.failed)
        page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"{r.status}: {r.url}"))

    def failed(self, request) -> None:
        """A request that failed, but for one broken off by the page as it reloads, or the
        live feed, which the page closes as it asks for another (the wall, drilled down)."""
        feed = urlsplit(request.url).path == "/api/v1/events"
        if not ((self.reloading or feed) and request.failure == "net::ERR_ABORTED"):
            self.problems.append(f"failed: {request.url}")

    def reload(self, page) -> None:
        """``page`` reloaded, the requests in flight (a list the live feed refreshes, the feed
        itself) broken off by it and by nothing else forgiven."""
        self.reloading = True
        try:
            page.reload()
        finally:
            self.reloading = False


def searched(page, form: str, watched: str) -> None:
    """The search ``form`` (a selector) sent, the count of rows its page shows (``watched``,
    where the page keeps it) forgotten first: what is waited for next is the answer's, not a
    page shown before it came."""
    page.evaluate(f"{watched}.shown = null")
    page.click(f"{form} button[type=submit]")


def desk_opened(page, link):
    """The desk that ``link`` (a selector, or a locator) of ``page`` opens in a tab of its own,
    in the page's session: at the address asked for, not sent to sign in."""
    with page.context.expect_page() as opened:
        (page.locator(link) if isinstance(link, str) else link).click()
    desk = opened.value
    desk.wait_for_url(lambda url: "/map/desk#" in url and "login" not in url)
    return desk


def sign_in(page, base: str, path: str, username: str, password: str) -> None:
    """Through the login page, on to ``path`` (a /map/ page)."""
    page.goto(f"{base}/map/login?next={path}")
    signed_in_here(page, username, password)
    page.wait_for_url(lambda url: url.endswith(path) and "login" not in url)


def signed_in_here(page, username: str, password: str) -> None:
    """The login page the browser is on, filled in and sent."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def said_at_each_sign_in(page, username: str, passwords: list[str], answered_by: str) -> list:
    """What a page's sign-in form (``#login``) says under it (``#login [role=alert]``) after
    each of ``passwords`` is tried for ``username``, each try's answer (from the API path
    ``answered_by``) awaited."""
    said = []
    for password in passwords:
        page.fill("#login input[name=username]", username)
        page.fill("#login input[name=password]", password)
        with page.expect_response(f"**/api/v1{answered_by}"):
            page.click("#login button[type=submit]")
        said.append(page.inner_text("#login [role=alert]"))
    return said


def refused(browser, base: str, path: str, username: str, password: str) -> str:
    """What ``path`` (a /map/ page) says to ``username`` signing in for it."""
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(page, base, path, username, password)
        return page.content()
    finally:
        context.close()
