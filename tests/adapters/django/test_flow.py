"""The whole session with the helpers, under the WSGI and the ASGI handler: login, call,
refresh, logout, and the logged-out tokens no longer work (cookies, then bearer tokens)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from .conftest import Configure, bearer, current_settings

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


class Driver:
    """One API for ``Client`` (sync views under the WSGI handler) and ``AsyncClient`` (async
    views under the ASGI handler)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.prefix = "/auth" if kind == "wsgi" else "/aauth"
        self.sessions = "/api/sessions" if kind == "wsgi" else "/api/asessions"
        self.client: Client | AsyncClient = Client() if kind == "wsgi" else AsyncClient()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        func: Callable[..., Any] = getattr(self.client, method)
        if self.kind == "asgi":
            return async_to_sync(func)(path, **kwargs)
        return func(path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("get", path, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> Any:
        if data is not None:
            kwargs.update(data=json.dumps(data), content_type=JSON)
        return self.call("post", path, **kwargs)

    def login(self, subject: str = "alice", scope: str = "profile", **extra: Any) -> Any:
        response = self.post(f"{self.prefix}/login", {"subject": subject, "scope": scope, **extra})
        assert response.status_code == 200, response.content
        return response

    def bearer_login(self, subject: str = "alice", scope: str = "profile") -> dict[str, Any]:
        """Log in as an API client: keep the body's tokens, drop the cookies."""
        body: dict[str, Any] = self.login(subject, scope).json()
        self.cookies.clear()
        return body

    def refresh(self, token: str) -> Any:
        response = self.post(f"{self.prefix}/refresh", {"refresh_token": token})
        self.cookies.clear()
        return response

    @property
    def cookies(self) -> Any:
        return self.client.cookies


@pytest.fixture(params=["wsgi", "asgi"])
def driver(request: pytest.FixtureRequest) -> Driver:
    return Driver(request.param)


def _names() -> tuple[str, str, str]:
    settings = current_settings()
    return (
        settings.access_cookie_name,
        settings.cookie_name_for(settings.refresh_cookie_name, settings.refresh_cookie_path),
        settings.cookie_name_for(settings.csrf_cookie_name, "/"),
    )


def test_login_answers_tokens_and_three_cookies_with_safe_attributes(driver: Driver) -> None:
    response = driver.login()
    access, refresh, csrf = _names()
    assert (access, refresh, csrf) == (
        "__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"
    )  # fmt: skip
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 898 <= body["expires_in"] <= 900
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "csrf_token"}
    cookies = response.cookies
    assert cookies[access].value == body["access_token"]
    assert cookies[refresh].value == body["refresh_token"]
    assert cookies[csrf].value == body["csrf_token"]
    for name, path, http_only in ((access, "/", True), (refresh, "/auth/refresh", True),
                                  (csrf, "/", False)):  # fmt: skip
        morsel = cookies[name]
        assert morsel["path"] == path
        assert morsel["secure"] is True
        assert bool(morsel["httponly"]) is http_only
        assert morsel["samesite"] == "Lax"
        assert int(morsel["max-age"]) > 0
        assert not morsel["domain"]
    raw = cookies[access].OutputString()
    assert "Secure" in raw
    assert "HttpOnly" in raw
    assert "SameSite=Lax" in raw


def test_tokens_can_stay_in_the_cookies(driver: Driver) -> None:
    body = driver.login(tokens_in_body=False).json()
    assert set(body) == {"token_type", "expires_in", "csrf_token"}
    assert driver.get("/api/me").status_code == 200


def test_cookie_session_login_call_refresh_logout_reuse(driver: Driver) -> None:
    access, refresh, csrf = _names()
    first = driver.login("alice", "profile").json()
    assert driver.get("/api/me").json()["source"] == "cookie"

    # Refresh with the cookie needs the CSRF echo.
    denied = driver.post(f"{driver.prefix}/refresh")
    assert denied.status_code == 403
    assert denied.json()["error"] == "csrf_failed"
    proof = {"X-CSRF-Token": first["csrf_token"]}
    refreshed = driver.post(f"{driver.prefix}/refresh", headers=proof)
    assert refreshed.status_code == 200, refreshed.content
    body = refreshed.json()
    assert body["csrf_token"] == first["csrf_token"]  # the session keeps its CSRF value
    # A cookie refresh answers with cookies only: no token in reach of the page's scripts.
    assert set(body) == {"token_type", "expires_in", "csrf_token"}
    new_access = refreshed.cookies[access].value
    new_refresh = refreshed.cookies[refresh].value
    assert new_access != first["access_token"]
    assert new_refresh != first["refresh_token"]

    me = driver.get("/api/me")
    assert me.status_code == 200
    assert me.json()["scopes"] == ["profile"]
    listed = driver.get(driver.sessions).json()["sessions"]
    assert [s["current"] for s in listed] == [True]

    # A cookie-authenticated POST needs the CSRF echo too.
    assert driver.post(f"{driver.prefix}/logout").status_code == 403
    logout = driver.post(f"{driver.prefix}/logout", headers=proof)
    assert logout.status_code == 204, logout.content
    assert logout.content == b""
    assert logout.headers["Cache-Control"] == "no-store"
    for name in (access, refresh, csrf):
        assert logout.cookies[name].value == ""
        assert logout.cookies[name]["max-age"] == "0"

    # The jar holds the cleared cookies: no token.
    assert driver.get("/api/me").status_code == 401
    # The logged-out tokens fail, as cookies and as bearer tokens.
    driver.cookies[access] = new_access
    revoked = driver.get("/api/me")
    assert revoked.status_code == 401
    challenge = revoked.headers["WWW-Authenticate"]
    assert 'error_description="The access token has been revoked"' in challenge
    del driver.cookies[access]
    assert driver.get("/api/me", headers=bearer(first["access_token"])).status_code == 401
    # A dead refresh cookie is refused and deleted.
    driver.cookies[refresh] = new_refresh
    reuse = driver.post(f"{driver.prefix}/refresh", headers=proof)
    assert reuse.status_code == 401
    assert reuse.cookies[refresh].value == ""


def test_bearer_session_login_call_refresh_logout_reuse(driver: Driver) -> None:
    first = driver.bearer_login("bob", "profile")
    assert driver.get("/api/me", headers=bearer(first["access_token"])).json()["source"] == "header"

    refreshed = driver.refresh(first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    second = refreshed.json()
    assert second["access_token"] != first["access_token"]
    assert driver.get("/api/me", headers=bearer(second["access_token"])).status_code == 200

    # A bearer POST needs no CSRF proof.
    logout = driver.post(f"{driver.prefix}/logout", headers=bearer(second["access_token"]))
    assert logout.status_code == 204

    for token in (first["access_token"], second["access_token"]):
        assert driver.get("/api/me", headers=bearer(token)).status_code == 401
    for token in (first["refresh_token"], second["refresh_token"]):
        response = driver.refresh(token)
        assert response.status_code == 401
        assert not response.cookies  # a body refresh leaves cookies alone


def test_logout_everywhere_ends_every_session(driver: Driver) -> None:
    one = driver.bearer_login("carol")
    two = driver.bearer_login("carol")
    other = driver.bearer_login("dave")
    listed = driver.get(driver.sessions, headers=bearer(one["access_token"])).json()["sessions"]
    assert len(listed) == 2
    assert [s["current"] for s in listed] == [True, False]
    assert set(listed[0]) == {
        "session_id", "created_at", "last_seen", "expires_at", "user_agent", "ip", "current"
    }  # fmt: skip

    response = driver.post(f"{driver.prefix}/logout-all", headers=bearer(two["access_token"]))
    assert response.status_code == 200
    assert response.json() == {"sessions_ended": 2}
    assert {c.value for c in response.cookies.values()} == {""}
    for pair in (one, two):
        assert driver.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401
        assert driver.refresh(pair["refresh_token"]).status_code == 401
    assert driver.get("/api/me", headers=bearer(other["access_token"])).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_session(
    driver: Driver, configure: Configure
) -> None:
    configure(jwt={"REFRESH_REUSE_GRACE": 0})
    first = driver.bearer_login()
    second = driver.refresh(first["refresh_token"])
    assert second.status_code == 200
    assert driver.refresh(first["refresh_token"]).status_code == 401
    new_access = second.json()["access_token"]
    assert driver.get("/api/me", headers=bearer(new_access)).status_code == 401


def test_refresh_refusals(driver: Driver) -> None:
    _, refresh, _ = _names()
    path = f"{driver.prefix}/refresh"
    missing = driver.post(path)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    driver.cookies[refresh] = "not.a-token"
    assert driver.post(path, headers={"X-CSRF-Token": "x"}).status_code == 401
    driver.cookies[refresh] = "x.y.z"
    both = driver.post(path, {"refresh_token": "x.y.z"})
    assert both.status_code == 400
    driver.cookies.clear()
    assert driver.post(path, {"refresh_token": 5}).status_code == 400
    assert driver.call("post", path, data="{", content_type=JSON).status_code == 400
    assert driver.post(path, ["refresh_token"]).status_code == 400
    twice = "refresh_token=a&refresh_token=b"
    assert driver.call("post", path, data=twice, content_type=FORM).status_code == 400
    access = driver.bearer_login()["access_token"]
    # An access token is no refresh token (its typ differs).
    assert driver.refresh(access).status_code == 401


def test_refresh_token_in_a_form_body(driver: Driver) -> None:
    first = driver.bearer_login()
    data = f"refresh_token={first['refresh_token']}"
    response = driver.call("post", f"{driver.prefix}/refresh", data=data, content_type=FORM)
    assert response.status_code == 200, response.content
    assert "refresh_token" in response.json()


def test_refresh_cookie_with_the_csrf_form_field(client: Client) -> None:
    _, refresh, _ = _names()
    first = Driver("wsgi")
    first.client = client
    csrf = first.login().json()["csrf_token"]
    response = client.post("/auth/refresh", f"csrf_token={csrf}", content_type=FORM)
    assert response.status_code == 200, response.content
    assert response.cookies[refresh].value


def test_cross_site_refresh_is_refused(client: Client) -> None:
    driver = Driver("wsgi")
    driver.client = client
    csrf = driver.login().json()["csrf_token"]
    headers = {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
    response = client.post("/auth/refresh", headers=headers)
    assert response.status_code == 403


def test_logout_without_a_token_is_401(client: Client, configure: Configure) -> None:
    configure(jwt={"EXEMPT_PATHS": ["/auth/logout", "/auth/logout-all", "/api/sessions"]})
    for path in ("/auth/logout", "/auth/logout-all"):
        assert client.post(path).status_code == 401
    assert client.get("/api/sessions").status_code == 401


def test_session_limit_refusal_is_rendered(driver: Driver, configure: Configure) -> None:
    configure(jwt={"MAX_SESSIONS_PER_SUBJECT": 1, "SESSION_LIMIT_POLICY": "deny_new"})
    driver.login("erin")
    response = driver.post(f"{driver.prefix}/login", {"subject": "erin"})
    assert response.status_code == 403
    assert response.json()["error"] == "session_limit_reached"


def test_login_records_the_device(client: Client) -> None:
    from django_jwtmiddleware import session_manager

    client.post("/auth/login", json.dumps({"subject": "fay"}), content_type=JSON,
                headers={"User-Agent": "pytest-browser"})  # fmt: skip
    (session,) = session_manager().sessions("fay")
    assert session.user_agent == "pytest-browser"
    assert session.ip == "127.0.0.1"
