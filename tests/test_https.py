"""HTTPS: served with a certificate, which a phone needs to locate itself and to work offline."""

import datetime
import ipaddress
import ssl

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.browser import CHROMIUM, FLAGS, PHONE, wait_until
from tests.conftest import ARTIFACTS, PASSWORD, Server, new_account, serve_to_its_end

NAME = "mapsvc.example"  # a name browsers do not take for this machine, as a county's server's


def _key_file(path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return key


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A certificate of its own for 127.0.0.1 and NAME, and its key: (cert, key) files."""
    folder = tmp_path_factory.mktemp("tls")
    key = _key_file(folder / "key.pem")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName(NAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture(scope="module")
def https_server(certificate, hierarchy):
    cert, key = certificate
    served = Server("https", env={"MAPSVC_API_TLS_CERTFILE": str(cert),
                                  "MAPSVC_API_TLS_KEYFILE": str(key)},
                    verify=ssl.create_default_context(cafile=cert)).start()
    yield served
    served.stop()


def test_a_server_given_a_certificate_serves_https_alone_and_its_session_cookie_there_alone(
        https_server, server, accounts):
    """Sign-in and all after it go encrypted (GB/T 35273 §6.3); the session cookie is marked
    to travel over HTTPS alone. Plain HTTP to it is no way in."""
    name = new_account()
    with httpx.Client(base_url=https_server.base, verify=https_server.verify) as client:
        assert client.get("/api/v1/health").status_code == 200
        signed_in = client.post("/api/v1/auth/session",
                                data={"username": name, "password": PASSWORD})
        assert signed_in.status_code == 200
        assert "secure" in signed_in.headers["set-cookie"].lower().split("; ")
        assert client.get("/api/v1/incidents").status_code == 200  # by the cookie
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{https_server.port}/api/v1/health")
    plain = httpx.post(f"{server}/api/v1/auth/session",
                       data={"username": name, "password": PASSWORD})
    assert "secure" not in plain.headers["set-cookie"].lower().split("; ")


def test_behind_a_proxy_ending_tls_the_client_and_scheme_it_forwards_are_taken(server, db):
    """A proxy on the machine (nginx) ends HTTPS and forwards: the cookie is still marked for
    HTTPS alone, and the sign-in is kept as from the phone's address, not the proxy's."""
    from sqlalchemy import text

    name = new_account()
    signed_in = httpx.post(f"{server}/api/v1/auth/session",
                           data={"username": name, "password": PASSWORD},
                           headers={"X-Forwarded-For": "203.0.113.7",
                                    "X-Forwarded-Proto": "https"})
    assert "secure" in signed_in.headers["set-cookie"].lower().split("; ")
    with db.connect() as conn:
        assert conn.execute(text("SELECT origin FROM account_event WHERE username = :n AND "
                                 "event = 'signed_in'"), {"n": name}).scalar_one() \
            == "203.0.113.7"


def test_a_certificate_that_cannot_be_served_is_refused_naming_the_setting(certificate,
                                                                         tmp_path):
    cert, key = certificate
    other = tmp_path / "other-key.pem"
    _key_file(other)
    for env, said in (
            ({"MAPSVC_API_TLS_KEYFILE": str(key)},
             "MAPSVC_API_TLS_KEYFILE: set MAPSVC_API_TLS_CERTFILE, its certificate, too"),
            ({"MAPSVC_API_TLS_CERTFILE": str(tmp_path / "none.pem"),
              "MAPSVC_API_TLS_KEYFILE": str(key)},
             f"MAPSVC_API_TLS_CERTFILE: no file {tmp_path / 'none.pem'}"),
            ({"MAPSVC_API_TLS_CERTFILE": str(cert),
              "MAPSVC_API_TLS_KEYFILE": str(tmp_path / "none.pem")},
             f"MAPSVC_API_TLS_KEYFILE: no file {tmp_path / 'none.pem'}"),
            ({"MAPSVC_API_TLS_CERTFILE": str(cert), "MAPSVC_API_TLS_KEYFILE": str(other)},
             "MAPSVC_API_TLS_CERTFILE, MAPSVC_API_TLS_KEYFILE: not a certificate and its "
             "private key, in PEM")):
        refused = serve_to_its_end(env)
        assert refused.returncode == 2 and said in " ".join(refused.stderr.split()), env


def test_the_phone_opened_over_plain_http_says_why_it_cannot_locate_or_work_offline(
        https_server, server):
    """Browsers locate a phone and keep a page for use offline on secure pages alone: opened
    by a county server's name over plain HTTP, the phone says so; over HTTPS it does not."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            *FLAGS, f"--host-resolver-rules=MAP {NAME} 127.0.0.1"])
        try:
            for base, secure in ((server, False), (https_server.base, True)):
                context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                              ignore_https_errors=True)
                page = context.new_page()
                page.goto(base.replace("127.0.0.1", NAME) + "/m/")
                page.locator("#login").wait_for()
                assert page.evaluate("window.isSecureContext") is secure
                warning = page.locator("#insecure")
                if secure:
                    assert warning.is_hidden()
                else:
                    assert warning.is_visible()
                    assert "不是经 https 打开的：手机在这里不能定位" in warning.inner_text()
                    wait_until(page, "!('serviceWorker' in navigator)", "no offline shell")
                    page.screenshot(path=ARTIFACTS / "phone-over-http.png")
                context.close()
        finally:
            browser.close()
