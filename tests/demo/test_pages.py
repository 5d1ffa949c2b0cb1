"""The demo's pages in process: redirects when logged out, rendering, headers, static files."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from jwtmiddleware.core.errors import CSRFError, TokenMissing, TokenRevoked
from jwtmiddleware.demo.config import LoginRedirect
from jwtmiddleware.demo.pages import device, safe_next
from jwtmiddleware.testing import FrozenClock
from tests.demo.conftest import ACCESS, CSRF, bearer, csrf, login, session_id, set_cookie_names

PAGES = ["/me", "/sessions", "/lab"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_login_when_logged_out(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"
    assert response.headers["cache-control"] == "no-store"


def test_the_root_goes_to_me(client: TestClient) -> None:
    response = client.get("/")
    assert (response.status_code, response.headers["location"]) == (303, "/me")


@pytest.mark.parametrize("path", PAGES)
def test_a_revoked_session_is_sent_to_login_with_its_cookies_cleared(
    client: TestClient, other: TestClient, path: str
) -> None:
    login(client)
    login(other)
    assert other.post("/auth/logout-others", headers=csrf(other)).status_code == 200
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}&why=revoked"
    assert set_cookie_names(response) == [ACCESS, "__Secure-refresh_token", CSRF]


def test_an_expired_token_keeps_its_cookies(client: TestClient, clock: FrozenClock) -> None:
    token = login(client).json()["access_token"]
    client.cookies.clear()
    clock.advance(400)
    response = client.get("/me", headers=bearer(token))
    assert response.headers["location"] == "/login?next=/me&why=expired"
    assert "set-cookie" not in response.headers


def test_a_bad_token_cookie_is_cleared(client: TestClient) -> None:
    client.cookies.set(ACCESS, "garbage", domain="testserver.local")
    response = client.get("/sessions")
    assert response.headers["location"] == "/login?next=/sessions&why=invalid"
    assert ACCESS in set_cookie_names(response)


def test_login_page(client: TestClient) -> None:
    response = client.get("/login?next=/sessions&why=revoked")
    assert response.status_code == 200
    html = response.text
    assert 'id="login-form"' in html
    assert 'data-next="/sessions"' in html
    assert "This device was logged out" in html
    assert "alice, bob" in html
    assert "wonderland" not in html
    assert f'data-csrf-cookie="{CSRF}"' in html
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"  # a form post's Origin is not "null"
    assert "<script>" not in html  # no inline script: the CSP forbids it


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "/me"),
        ("", "/me"),
        ("/sessions", "/sessions"),
        ("/lab?x=1", "/lab?x=1"),
        ("//evil.example", "/me"),
        ("https://evil.example/", "/me"),
        ("/\\evil.example", "/me"),
        ("javascript:alert(1)", "/me"),
        ("/\nx", "/me"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_login_page_does_not_redirect_elsewhere(client: TestClient) -> None:
    html = client.get("/login?next=//evil.example").text
    assert 'data-next="/me"' in html


def test_login_page_escapes_what_it_shows(client: TestClient) -> None:
    html = client.get('/login?next=/me"><script>&why=<b>').text
    assert "<script>x" not in html
    assert '"><script>' not in html


def test_me_page(client: TestClient) -> None:
    login(client)
    html = client.get("/me").text
    assert '<b id="subject">alice</b>' in html
    assert client.get("/auth/sessions").json()["sessions"][0]["session_id"] in html
    assert 'data-poll="5"' in html
    assert 'data-exp="1700000300"' in html
    assert "under 240 s left" in html


def test_sessions_page_marks_this_device(client: TestClient, other: TestClient) -> None:
    login(client)
    login(other)
    other_sid = session_id(other)
    html = client.get("/sessions").text
    assert html.count('data-action="revoke-session"') == 2
    assert html.count("this device</span>") == 1
    assert other_sid in html
    assert "second-device/1.0" in html
    assert 'id="logout-others"' in html
    assert 'id="logout-all"' in html


def test_user_agents_are_escaped(app: object) -> None:
    with TestClient(app, base_url="https://testserver",  # type: ignore[arg-type]
                    headers={"user-agent": "<img src=x onerror=alert(1)>"}) as evil:  # fmt: skip
        login(evil)
        html = evil.get("/sessions").text
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_lab_page(client: TestClient) -> None:
    login(client)
    html = client.get("/lab").text
    assert 'id="token"' in html
    assert 'id="mint-link"' in html


@pytest.mark.parametrize(
    ("name", "ctype"), [("demo.js", "text/javascript"), ("demo.css", "text/css")]
)
def test_static_files(client: TestClient, name: str, ctype: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(ctype)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("ua", "label"),
    [
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "HeadlessChrome/156.0.0.0 Safari/537.36", "Headless Chrome 156 on Linux"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
         "Firefox 128 on Windows"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like "
         "Gecko) Version/17.5 Safari/605.1.15", "Safari 17 on macOS"),
        ("curl/8.5.0", "curl 8"),
        ("", "unknown device"),
    ],
)  # fmt: skip
def test_device_labels(ua: str, label: str) -> None:
    assert device(ua) == label


class _View:
    def __init__(self, method: str, path: str) -> None:
        self.method, self.path = method, path


def test_login_redirect_leaves_api_paths_and_other_errors_alone(config: object) -> None:
    handler = LoginRedirect(config.settings)  # type: ignore[attr-defined]
    assert handler(TokenMissing(), _View("GET", "/api/me")) is None
    assert handler(TokenMissing(), _View("POST", "/me")) is None
    assert handler(CSRFError(), _View("GET", "/me")) is None
    redirect = handler(TokenRevoked(), _View("HEAD", "/lab"))
    assert redirect is not None
    assert redirect.status == 303
