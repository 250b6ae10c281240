"""Door plates (门牌二维码): a grid's standard addresses printed with QR codes, which a phone's
camera reads as the phone page at each address; there, the households living at it, to visit."""

import io
import re
import uuid

import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import text

from tests.browser import PHONE, Watch, sign_in, signed_in_here, wait_until
from tests.conftest import (
    ARTIFACTS,
    PASSWORD,
    Server,
    registered,
    serve_to_its_end,
    signed_in_client,
)
from tests.test_people_page import pick_area
from tests.test_phone import _phone, _sign_in


def test_a_grids_plates_read_as_the_phone_page_that_visits_the_households_at_each(
        browser, server, worker_spot, grids, clients, db):
    code, spot = worker_spot
    street = f"门牌路{uuid.uuid4().hex[:6]}"
    registered(clients["admin"], "addresses", [
        {"address": f"{street}{n}号", "lon": spot.x + n * 1e-5, "lat": spot.y}
        for n in (2, 10, 1)], county=code[:6])
    registered(clients["admin"], "people", [{"address": f"{street}1号", "name": "门牌甲",
                                             "registration": "resident", "household": "1"}],
               county=code[:6])
    with db.connect() as conn:
        ids = dict(conn.execute(text("SELECT full_text, id FROM address WHERE full_text LIKE "
                                     ":street ORDER BY id"), {"street": f"%{street}%"}).all())
    assert len(ids) == 3
    # in the order one walks the street: 1号, 2号, 10号 (neither as registered nor as text sorts)
    walked = [ids[address] for address in
              sorted(ids, key=lambda address: int(re.search(r"(\d+)号$", address)[1]))]

    # a grid chief signing in on the way is taken on to them
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/map/plates?grid={code}")
    signed_in_here(page, "chief", PASSWORD)
    page.wait_for_url(f"{server}/map/plates?grid={code}")
    for address_id in ids.values():  # (other tests put addresses in the grid too)
        expect(page.locator(f"#plates li[data-address='{address_id}']")).to_have_count(1)
    # not those of a grid of another village: not the chief's, none listed
    elsewhere = grids[grids["village_code"] != code[:12]]["code"].iloc[0]
    assert page.goto(f"{server}/map/plates?grid={elsewhere}").status == 404
    expect(page.locator("#said")).to_have_text(f"本账号的辖区内没有编码为 {elsewhere} 的网格。")
    expect(page.locator("#plates li")).to_have_count(0)
    # a code written as the page's own words is the code, written as it came
    assert page.goto(f"{server}/map/plates?grid={{home}}<b>").status == 404
    expect(page.locator("#said")).to_have_text("本账号的辖区内没有编码为 {home}<b> 的网格。")
    assert page.goto(f"{server}/map/plates").status == 400  # no grid: which, it says
    expect(page.locator("h1")).to_have_text("请选择网格")
    expect(page.locator("#other")).to_have_attribute("href", "/map/people")
    context.close()

    # printed by the centre from the people's register, for the grid
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server, "/map/people", "command", PASSWORD)
    pick_area(page, code[:9], code[:12], code)
    with context.expect_page() as opened:
        page.click("#people-plates button[type=submit]")
    plates = opened.value
    Watch(plates)
    plates.wait_for_load_state()
    expect(plates.locator("h1")).to_contain_text(code)
    printed = [int(address_id) for address_id in plates.locator("#plates li").evaluate_all(
        "plates => plates.map(plate => plate.dataset.address)") if int(address_id) in walked]
    assert printed == walked
    for address, address_id in ids.items():
        plate = plates.locator(f"#plates li[data-address='{address_id}']")
        expect(plate).to_contain_text(address)
        drawn = Image.open(io.BytesIO(plate.locator("svg").screenshot())).convert("L")
        assert [found.text for found in zxingcpp.read_barcodes(drawn)] == [
            f"{server}/m/#address={address_id}"]
    plates.screenshot(path=ARTIFACTS / "plates.png")
    assert plates.goto(f"{server}/map/plates?grid=no-such-grid").status == 404
    expect(plates.locator("#said")).to_have_text("本账号的辖区内没有编码为 no-such-grid 的网格。")
    plates.click("#other")  # on to pick one
    plates.wait_for_url(f"{server}/map/people")
    assert not watch.problems, watch.problems
    context.close()

    # scanned by the worker of the grid: the households there, one tap to visit
    context, phone = _phone(browser, server, spot)
    inhabited, empty = walked[:2]
    phone.goto(f"{server}/m/#address={inhabited}")
    home = phone.locator("#households > li", has_text=f"{street}1号")
    expect(home).to_have_count(1)
    expect(phone.locator("#households > li")).to_have_count(1)
    expect(phone.locator("#result")).to_contain_text(f"{street}1号")
    expect(home.locator("ul.members")).to_contain_text("门")
    home.locator("button").first.click()
    wait_until(phone, "window.mapsvcPhone.sent >= 1 && window.mapsvcPhone.queued === 0",
               "the visit sent", tries=600)
    phone.goto(f"{server}/m/#address={empty}")
    expect(phone.locator("#result")).to_have_text("该门牌的地址没有你可走访的住户")
    expect(phone.locator("#households > li")).to_have_count(0)
    context.close()
    # scanned by a phone not signed in: the households there once it is
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.goto(f"{server}/m/#address={inhabited}")
    _sign_in(phone)
    expect(phone.locator("#households > li", has_text=f"{street}1号")).to_have_count(1)
    context.close()
    with db.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM visit v JOIN household h ON h.id = v.household_id "
            "JOIN house ho ON ho.id = h.house_id JOIN account a ON a.id = v.account_id "
            "WHERE ho.address_id = :address AND a.username = 'worker'"),
            {"address": inhabited}).scalar_one() == 1


def test_behind_a_proxy_the_plates_and_the_ogc_links_name_the_address_users_reach(
        browser, worker_spot, clients, db):
    """Behind a reverse proxy that sends on its own Host (nginx's default), the service knows
    itself only by its local address: given the public one (MAPSVC_API_PUBLIC_URL), a door
    plate's QR code and the OGC API's links name that, not the local one; an address that is
    not one of a site's root is refused at start, naming the setting."""
    public = "https://mqdt.example.gov.cn:8443"
    code, spot = worker_spot
    street = f"代理路{uuid.uuid4().hex[:6]}"
    registered(clients["admin"], "addresses", [{"address": f"{street}1号", "lon": spot.x,
                                                "lat": spot.y}], county=code[:6])
    with db.connect() as conn:
        address_id = conn.execute(text("SELECT id FROM address WHERE full_text LIKE :s"),
                                  {"s": f"%{street}1号"}).scalar_one()
    proxied = Server("proxied", env={"MAPSVC_API_PUBLIC_URL": f"{public}/"}).start()
    try:
        client = signed_in_client(proxied.base, "command")
        tiles = client.get(f"{proxied.base}/ogc/collections/grids/tiles/WebMercatorQuad/"
                           "tilejson.json").json()
        assert tiles["tiles"] == [f"{public}/ogc/collections/grids/tiles/WebMercatorQuad/"
                                  "{z}/{x}/{y}"]
        links = client.get(f"{proxied.base}/ogc").json()["links"]
        assert {link["href"].split("/ogc")[0].split("/openapi")[0] for link in links} == {public}

        context = browser.new_context()
        page = context.new_page()
        sign_in(page, proxied.base, f"/map/plates?grid={code}", "command", PASSWORD)
        plate = page.locator(f"#plates li[data-address='{address_id}']")
        expect(plate).to_contain_text(f"{street}1号")
        drawn = Image.open(io.BytesIO(plate.locator("svg").screenshot())).convert("L")
        assert [found.text for found in zxingcpp.read_barcodes(drawn)] == [
            f"{public}/m/#address={address_id}"]
        context.close()
    finally:
        proxied.stop()
    for wrong in ("https://mqdt.example.gov.cn/mapsvc", "mqdt.example.gov.cn", "ftp://x.cn"):
        refused = serve_to_its_end({"MAPSVC_API_PUBLIC_URL": wrong})
        assert refused.returncode == 2 and "MAPSVC_API_PUBLIC_URL:" in refused.stderr, wrong
