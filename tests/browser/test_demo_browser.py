"""The demo in a real browser: headless Chromium (Debian's package) driven by Playwright.

The demo runs as a real server (``python -m jwtmiddleware.demo``) on a free loopback port with
short token lifetimes, so a sliding refresh happens within seconds. The tests log in, watch the
access cookie being renewed, log in from a second browser context, end the first context's
session from the second, and see the first bounced to the login page. They see the login
page's script refresh with the refresh cookie (an answer without tokens), and tell from a
refused refresh why the device was logged out. They also check that
scripts cannot read the token cookies, and that a form an attacker page auto-submits is
refused. Screenshots of every page go to each test's ``tmp_path``.

The browser and the demo server come from ``conftest.py``.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import (
    ACCESS,
    CSRF,
    UA_LAPTOP,
    UA_PHONE,
    WAIT_MS,
    Shots,
    cookie,
    log_in,
    new_device,
)
from tests.servers import HOST, RunningServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.slow

#: The fields an attacker's form sends to each of the demo's paths it targets.
ATTACK_FIELDS = {
    "/auth/logout-all": {"confirm": "yes"},
    "/sessions/logout-all": {"confirm": "yes"},  # the form behind the confirmation page
    "/login": {"username": "bob", "password": "builder", "next": "/me"},  # login CSRF
}


class _AttackerPage(http.server.BaseHTTPRequestHandler):
    """Serves a page that auto-submits a form to the demo path named by its own path."""

    target = ""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        fields = "".join(f'<input type="hidden" name="{k}" value="{v}">'
                         for k, v in ATTACK_FIELDS.get(path, {}).items())  # fmt: skip
        body = (
            "<!doctype html><title>You won a prize</title><h1>Claiming your prize...</h1>"
            f'<form method="post" action="{self.target}{path}">{fields}</form>'
            "<script>document.forms[0].submit()</script>"
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def attacker(demo: RunningServer) -> Iterator[int]:
    """The port of a second loopback server: another origin than the demo's."""
    handler = type("Attacker", (_AttackerPage,), {"target": demo.url})
    server = http.server.ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_login_refresh_two_devices_and_log_out_the_other(
    browser: Browser, demo: RunningServer, shots: Shots
) -> None:
    from playwright.sync_api import expect

    laptop, page, laptop_errors = new_device(browser, UA_LAPTOP)
    # Logged out, the Me page sends us to the login page.
    page.goto(f"{demo.url}/me")
    assert page.url == f"{demo.url}/login?next=/me"
    shots(page, "login")
    page.fill("#username", "alice")
    page.fill("#password", "wonderland")
    page.click("#login")
    page.wait_for_url(f"{demo.url}/me")
    expect(page.locator("#subject")).to_have_text("alice")
    expect(page.locator("#source")).to_have_text("cookie")
    shots(page, "me")

    # Chromium keeps Secure, __Host- cookies from http://127.0.0.1 (a secure context).
    first = cookie(laptop, ACCESS)
    assert first is not None, laptop.cookies()
    assert first["secure"]
    assert first["httpOnly"]
    assert first["sameSite"] == "Lax"

    # The page polls GET /api/me; once under 17 s are left the middleware renews the cookie.
    status = page.locator("#refresh-status")
    expect(status).to_be_visible(timeout=WAIT_MS)
    expect(status).to_contain_text("sliding refresh by the middleware")
    assert int(page.locator("#refresh-count").get_attribute("data-refreshes") or 0) >= 1
    renewed = cookie(laptop, ACCESS)
    assert renewed is not None
    assert renewed["value"] != first["value"]
    assert page.locator("#jti").inner_text() not in first["value"]
    shots(page, "me-refreshed")
    # Leave the polling page, so that only the next click talks to the demo.
    page.click("nav >> text=Sessions")
    page.wait_for_url(f"{demo.url}/sessions")

    phone, phone_page, phone_errors = new_device(browser, UA_PHONE)
    log_in(phone_page, demo.url)
    phone_page.click("nav >> text=Sessions")
    phone_page.wait_for_url(f"{demo.url}/sessions")
    rows = phone_page.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    expect(phone_page.locator("tr.current")).to_contain_text("phone")
    expect(phone_page.locator("tr.current")).to_contain_text("this device")
    expect(phone_page.locator("#sessions tbody tr:not(.current)")).to_contain_text("laptop")
    shots(phone_page, "sessions-two-devices")

    phone_page.click("#logout-others")
    expect(rows).to_have_count(1)
    expect(phone_page.locator("#session-count")).to_have_text("1")
    shots(phone_page, "sessions-after-logout-others")

    # The laptop's next click is refused (its session was revoked) and lands on the login page.
    page.click("nav >> text=Me")
    page.wait_for_url(re.compile(r".*/login\?next=/me&why=revoked$"))
    expect(page.locator("#why")).to_contain_text("This device was logged out")
    expect(page.locator("#login-form")).to_be_visible()
    assert cookie(laptop, ACCESS) is None  # the redirect cleared the dead cookies
    shots(page, "bounced-to-login")

    # The phone is still logged in.
    phone_page.click("nav >> text=Me")
    phone_page.wait_for_url(f"{demo.url}/me")
    expect(phone_page.locator("#subject")).to_have_text("alice")
    assert laptop_errors == []
    assert phone_errors == []
    laptop.close()
    phone.close()


def test_the_pages_refresh_with_the_cookie_and_learn_why_it_failed(
    browser: Browser, demo: RunningServer, shots: Shots
) -> None:
    from playwright.sync_api import expect

    laptop, page, errors = new_device(browser, UA_LAPTOP)
    log_in(page, demo.url)
    # Without its access cookie the Me page sends us to the login page, whose script refreshes
    # with the HttpOnly refresh cookie and the CSRF header, then goes back.
    laptop.clear_cookies(name=ACCESS)
    with page.expect_response(f"{demo.url}/auth/refresh") as answer:
        page.goto(f"{demo.url}/me")
    refreshed = answer.value
    page.wait_for_url(f"{demo.url}/me")
    expect(page.locator("#subject")).to_have_text("alice")
    assert refreshed.status == 200
    assert refreshed.request.headers["x-csrf-token"] == (cookie(laptop, CSRF) or {})["value"]
    assert cookie(laptop, ACCESS) is not None
    # A cookie refresh answers with cookies only: the page's script never sees a token. (The
    # answer above was navigated away from; ask again the way the script does.)
    body = page.evaluate(
        """() => fetch("/auth/refresh", { method: "POST", headers: baseHeaders() })
                   .then((response) => response.json())"""
    )
    assert set(body) == {"token_type", "expires_in", "csrf_token"}
    page.click("nav >> text=Sessions")
    page.wait_for_url(f"{demo.url}/sessions")

    phone, phone_page, phone_errors = new_device(browser, UA_PHONE)
    log_in(phone_page, demo.url)
    phone_page.click("nav >> text=Sessions")
    phone_page.click("#logout-others")
    expect(phone_page.locator("#session-count")).to_have_text("1")

    # The laptop's next API call is refused, its refresh too: the script reads "why" and the
    # login page says this device was logged out.
    with page.expect_response(f"{demo.url}/auth/refresh") as answer:
        page.click("#logout-others")
    assert answer.value.status == 401
    # The middleware's 401 has no "why"; the login page says "revoked" only if the script
    # read it from the refused refresh.
    page.wait_for_url(re.compile(r".*/login\?next=%2Fsessions&why=revoked$"))
    expect(page.locator("#why")).to_contain_text("This device was logged out")
    assert cookie(laptop, CSRF) is None  # the refused refresh deleted the cookies
    shots(page, "refresh-refused")
    assert errors == []
    assert phone_errors == []
    laptop.close()
    phone.close()


def test_scripts_cannot_read_the_tokens(browser: Browser, demo: RunningServer) -> None:
    context, page, _ = new_device(browser, UA_LAPTOP)
    log_in(page, demo.url, "bob", "builder")
    readable = page.evaluate("document.cookie")
    assert readable.startswith(f"{CSRF}=")
    assert "access_token" not in readable
    assert "refresh_token" not in readable
    assert cookie(context, ACCESS) is not None  # it is there, just not for scripts
    context.close()


@pytest.mark.parametrize("path", ["/auth/logout-all", "/sessions/logout-all"])
def test_a_cross_site_form_post_is_refused(
    browser: Browser, demo: RunningServer, attacker: int, shots: Shots, path: str
) -> None:
    from playwright.sync_api import expect

    context, page, _ = new_device(browser, UA_LAPTOP)
    log_in(page, demo.url)
    sessions_url = f"{demo.url}/auth/sessions"
    before = context.request.get(sessions_url).json()["sessions"]
    target = f"{demo.url}{path}"

    # Same site, other origin (another port on 127.0.0.1): SameSite=Lax lets the cookies go,
    # so only the middleware's CSRF check stands between the form and "log out everywhere".
    evil = context.new_page()
    with evil.expect_response(lambda r: r.url == target) as answer:
        evil.goto(f"http://{HOST}:{attacker}{path}")
    response = answer.value
    assert response.request.method == "POST"
    assert ACCESS in (response.request.all_headers().get("cookie") or "")
    assert response.status == 403
    assert response.json()["error"] == "csrf_failed"
    expect(evil.locator("body")).to_contain_text("csrf_failed")
    shots(evil, "same-site-attacker-refused")

    # Another site (localhost is not 127.0.0.1): the browser does not even send the cookies.
    with evil.expect_response(lambda r: r.url == target) as answer:
        evil.goto(f"http://localhost:{attacker}{path}")
    response = answer.value
    assert "cookie" not in response.request.all_headers()
    # the API answers 401; the page's form sends the visitor to log in
    assert response.status == (401 if path.startswith("/auth/") else 303)
    shots(evil, "cross-site-attacker-refused")

    # Nothing changed: the same sessions, still logged in.
    after = context.request.get(sessions_url).json()["sessions"]
    assert [s["session_id"] for s in after] == [s["session_id"] for s in before]
    page.reload()
    expect(page.locator("#subject")).to_have_text("alice")
    context.close()


def test_another_site_cannot_log_the_visitor_in(
    browser: Browser, demo: RunningServer, attacker: int, shots: Shots
) -> None:
    """Login CSRF: a page elsewhere auto-submits the login form with the attacker's account."""
    context, page, _ = new_device(browser, UA_LAPTOP)
    log_in(page, demo.url)
    evil = context.new_page()
    for origin in (f"http://{HOST}:{attacker}", f"http://localhost:{attacker}"):
        with evil.expect_response(lambda r: r.url == f"{demo.url}/login") as answer:
            evil.goto(f"{origin}/login")
        response = answer.value
        assert response.request.method == "POST"
        assert response.status == 403
        assert ACCESS not in (response.headers.get("set-cookie") or "")
        shots(evil, "login-csrf-refused")
    # still alice, not the attacker's bob
    assert context.request.get(f"{demo.url}/api/me").json()["subject"] == "alice"
    context.close()


def test_token_lab_and_a_one_time_link(browser: Browser, demo: RunningServer, shots: Shots) -> None:
    from playwright.sync_api import expect

    context, page, errors = new_device(browser, UA_LAPTOP)
    log_in(page, demo.url)
    page.click("nav >> text=Token lab")
    page.wait_for_url(f"{demo.url}/lab")
    page.click("button.sample >> text=expired")
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("Refused: TokenExpired")
    expect(verdict).to_contain_text("exp has passed")
    expect(page.locator("#payload")).to_contain_text('"sub": "alice"')
    page.click("button.sample >> text=tampered")
    expect(verdict).to_contain_text("InvalidSignature")
    page.click("button.sample >> text=valid")
    expect(verdict).to_contain_text("Accepted")

    page.click("#mint-link")
    expect(page.locator("#link")).to_be_visible()
    page.click("#use-link")
    expect(page.locator("#link-log li")).to_have_count(1)
    page.click("#use-link")
    expect(page.locator("#link-log li")).to_have_count(2)
    statuses = page.locator("#link-log li").evaluate_all(
        "items => items.map(i => i.dataset.status)"
    )
    assert statuses == ["200", "401"]
    shots(page, "token-lab")
    assert errors == []
    context.close()
