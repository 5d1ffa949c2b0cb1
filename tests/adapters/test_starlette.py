"""The Starlette adapter with Starlette's TestClient: settings, route rules, websockets, sessions.

Sessions live in a SQLite store under ``tmp_path``. Cookie flows use
``base_url="https://testserver"`` so the cookies stay ``Secure`` (and ``__Host-`` prefixed) and
the client's cookie jar still sends them; one test passes them by hand over plain http.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.authentication import requires as starlette_requires
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from jwtmiddleware import (
    ClaimCheckFailed,
    ConfigurationError,
    ErrorResponse,
    JWTMiddleware,
    Settings,
)
from jwtmiddleware.testing import mint_token
from starlette_jwtmiddleware import (
    ANONYMOUS,
    JWTAuth,
    JWTAuthMiddleware,
    current_identity,
    requires,
)

ISSUER = "https://issuer.test"
BARE = 'Bearer realm="api"'
EXEMPT = ("/health", "/auth/login", "/auth/refresh", "/public*")


def tenant_is_acme(claims: Mapping[str, Any]) -> None:
    """A claim check named by import string in the tests."""
    if claims.get("tenant") != "acme":
        raise ClaimCheckFailed("wrong tenant")


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "secret": secrets.token_urlsafe(48),
        "issuer": ISSUER,
        "store": f"sqlite:///{tmp_path}/sessions.db",
        "exempt_paths": EXEMPT,
        "optional_paths": ("/optional",),
    }
    values.update(overrides)
    return Settings(**values)


def build_app(auth: JWTAuth) -> Starlette:
    """Every kind of route the adapter supports."""

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    @requires("profile")
    async def me(request: Request) -> Response:
        identity = current_identity(request)
        return JSONResponse({"subject": identity.subject, "scopes": sorted(identity.scopes)})

    @requires(optional=True)
    async def optional(request: Request) -> Response:
        return JSONResponse({"subject": current_identity(request).subject})

    @requires()
    async def public_but_checked(request: Request) -> Response:
        return PlainTextResponse("authenticated")

    @requires("read")
    def sync_endpoint(request: Request) -> Response:
        return PlainTextResponse(f"sync {request.user.display_name}")

    class Items(HTTPEndpoint):
        @requires("read")
        async def get(self, request: Request) -> Response:
            return PlainTextResponse("items")

        @requires("write")
        async def post(self, request: Request) -> Response:
            return PlainTextResponse("created")

    @starlette_requires("read")
    async def starlette_style(request: Request) -> Response:
        return PlainTextResponse(f"{request.user.display_name} {sorted(request.auth.scopes)}")

    @requires(checks=[f"{__name__}:tenant_is_acme"])
    async def tenant(request: Request) -> Response:
        return PlainTextResponse("acme")

    @requires("chat")
    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        message = await websocket.receive_text()
        await websocket.send_text(f"{current_identity(websocket).subject}: {message}")
        await websocket.close()

    async def login(request: Request) -> Response:
        body = await request.json()
        claims = {"scope": body["scope"]} if body.get("scope") else None
        return await auth.login_response(request, body["subject"], claims=claims)

    async def refresh(request: Request) -> Response:
        return await auth.refresh_response(request)

    async def logout(request: Request) -> Response:
        return await auth.logout_response(request)

    async def logout_all(request: Request) -> Response:
        return await auth.logout_everywhere_response(request)

    async def sessions(request: Request) -> Response:
        return await auth.sessions_response(request)

    routes = [
        Route("/health", health),
        Route("/api/me", me),
        Route("/optional", optional),
        Route("/public/checked", public_but_checked),
        Route("/sync", sync_endpoint),
        Route("/items", Items),
        Route("/starlette", starlette_style),
        Route("/tenant", tenant),
        WebSocketRoute("/ws", chat),
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/refresh", refresh, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/auth/logout-all", logout_all, methods=["POST"]),
        Route("/auth/sessions", sessions),
    ]
    return Starlette(routes=routes, middleware=[auth.middleware()])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def auth(settings: Settings) -> Iterator[JWTAuth]:
    auth = JWTAuth(settings)
    yield auth
    assert auth.store is not None
    auth.store.close()


@pytest.fixture
def client(auth: JWTAuth) -> Iterator[TestClient]:
    with TestClient(build_app(auth)) as client:
        yield client


@pytest.fixture
def browser(auth: JWTAuth) -> Iterator[TestClient]:
    """A client on https, so Secure cookies are kept and sent by its cookie jar."""
    with TestClient(build_app(auth), base_url="https://testserver") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token(settings: Settings, scope: str = "", **claims: Any) -> str:
    return mint_token(settings, {"scope": scope or None, **claims}, subject="alice")


# -- settings -------------------------------------------------------------------------------------


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JWTMIDDLEWARE_SECRET", secrets.token_urlsafe(48))
    monkeypatch.setenv("JWTMIDDLEWARE_EXEMPT_PATHS", "/health,/public*")
    monkeypatch.setenv("JWTMIDDLEWARE_REALM", "env-realm")
    auth = JWTAuth()
    assert auth.settings.exempt_paths == ("/health", "/public*")
    assert auth.store is None
    with TestClient(build_app(auth)) as client:
        response = client.get("/public/checked")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="env-realm"'


def test_bad_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTMIDDLEWARE_SECRET", secrets.token_urlsafe(48))
    monkeypatch.setenv("JWTMIDDLEWARE_LEEWAY", "9000")
    with pytest.raises(ConfigurationError) as info:
        JWTAuth()
    assert info.value.setting == "LEEWAY"
    assert "JWTMIDDLEWARE_LEEWAY" in str(info.value)
    assert "between 0 and 300" in str(info.value)


def test_missing_secret_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("JWTMIDDLEWARE_")]:
        monkeypatch.delenv(name)
    with pytest.raises(ConfigurationError, match="JWTMIDDLEWARE_SECRET"):
        JWTAuth()


def test_settings_from_a_mapping(tmp_path: Path) -> None:
    auth = JWTAuth({"SECRET": secrets.token_urlsafe(48), "LEEWAY": "5",
                    "STORE": f"sqlite:///{tmp_path}/m.db"})  # fmt: skip
    assert auth.settings.leeway == 5.0
    assert auth.manager.store is auth.store
    auth.manager.close()


def test_unknown_mapping_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigurationError) as info:
        JWTAuth({"SECRET": secrets.token_urlsafe(48), "EXEMPT_PATH": ["/health"]})
    message = str(info.value)
    assert "EXEMPT_PATHS" in message
    assert "mapping given to JWTAuth" in message


def test_settings_object_is_used_as_is(settings: Settings) -> None:
    auth = JWTAuth(settings)
    assert auth.settings is settings
    assert auth.manager.settings is settings
    auth.manager.close()


def test_settings_of_the_wrong_type() -> None:
    with pytest.raises(ConfigurationError, match=r"takes a jwtmiddleware\.Settings"):
        JWTAuth(["SECRET"])  # type: ignore[arg-type]


def test_claim_checks_as_import_strings(tmp_path: Path) -> None:
    settings = Settings.from_mapping(
        {"SECRET": secrets.token_urlsafe(48), "CLAIM_CHECKS": [f"{__name__}:tenant_is_acme"],
         "EXEMPT_PATHS": EXEMPT})  # fmt: skip
    with TestClient(build_app(JWTAuth(settings))) as client:
        good = mint_token(settings, {"scope": "profile", "tenant": "acme"})
        bad = mint_token(settings, {"scope": "profile", "tenant": "other"})
        assert client.get("/api/me", headers=bearer(good)).status_code == 200
        refused = client.get("/api/me", headers=bearer(bad))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_claim_check_import_typo_fails_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="CLAIM_CHECKS"):
        JWTAuth({"SECRET": secrets.token_urlsafe(48), "CLAIM_CHECKS": "nowhere.at_all:check"})


def test_sessions_without_a_store_explain_what_to_set() -> None:
    auth = JWTAuth(Settings(secret=secrets.token_urlsafe(48)))
    with pytest.raises(ConfigurationError, match="JWTMIDDLEWARE_STORE"):
        _ = auth.manager


# -- routes ---------------------------------------------------------------------------------------


def test_protected_route_without_a_token(client: TestClient) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == BARE
    assert response.json() == {
        "error": "unauthorized",
        "error_description": "Authentication required",
    }


def test_requires_grants_the_scope(client: TestClient, settings: Settings) -> None:
    response = client.get("/api/me", headers=bearer(token(settings, "profile read")))
    assert response.status_code == 200
    assert response.json() == {"subject": "alice", "scopes": ["profile", "read"]}
    assert response.headers["vary"] == "Authorization, Cookie"


def test_requires_refuses_a_missing_scope(client: TestClient, settings: Settings) -> None:
    response = client.get("/api/me", headers=bearer(token(settings, "read")))
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="api", error="insufficient_scope"')
    assert challenge.endswith('scope="profile"')
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": "The access token does not grant the required scope",
    }
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"


def test_optional_route(client: TestClient, settings: Settings) -> None:
    assert client.get("/optional").json() == {"subject": None}
    assert client.get("/optional", headers=bearer(token(settings))).json() == {"subject": "alice"}
    assert client.get("/optional", headers=bearer("not.a.token")).status_code == 401


def test_exempt_route_with_requires_still_needs_a_token(
    client: TestClient, settings: Settings
) -> None:
    assert client.get("/health").text == "ok"
    response = client.get("/public/checked")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == BARE
    assert "vary" not in response.headers


def test_sync_endpoints_and_endpoint_methods(client: TestClient, settings: Settings) -> None:
    reader = bearer(token(settings, "read"))
    assert client.get("/sync", headers=reader).text == "sync alice"
    assert client.get("/sync").status_code == 401
    assert client.get("/items", headers=reader).text == "items"
    refused = client.post("/items", headers=reader)
    assert refused.status_code == 403
    assert 'scope="write"' in refused.headers["www-authenticate"]


def test_starlettes_own_requires_works(client: TestClient, settings: Settings) -> None:
    response = client.get("/starlette", headers=bearer(token(settings, "read")))
    assert response.text == "alice ['read']"
    assert client.get("/starlette", headers=bearer(token(settings))).status_code == 403


def test_per_route_claim_check_by_import_string(client: TestClient, settings: Settings) -> None:
    assert client.get("/tenant", headers=bearer(token(settings, tenant="acme"))).text == "acme"
    refused = client.get("/tenant", headers=bearer(token(settings, tenant="umbrella")))
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"


def test_error_handler_renders_adapter_refusals(tmp_path: Path) -> None:
    def to_login(error: Exception, request: Any) -> ErrorResponse | None:
        return ErrorResponse(302, (("location", "/login"),))

    settings = make_settings(tmp_path, error_handler=to_login, realm="shop")
    auth = JWTAuth(settings)
    with TestClient(build_app(auth), follow_redirects=False) as client:
        response = client.get("/public/checked")
    assert response.status_code == 302
    assert response.headers["location"] == "/login"
    auth.manager.close()


def test_realm_comes_from_the_settings(tmp_path: Path) -> None:
    auth = JWTAuth(make_settings(tmp_path, realm="shop"))
    with TestClient(build_app(auth)) as client:
        response = client.get("/api/me", headers=bearer(token(auth.settings, "read")))
    assert response.headers["www-authenticate"].startswith('Bearer realm="shop", error="insuff')
    auth.manager.close()


def test_under_the_bare_core_middleware_requires_uses_default_rendering(
    settings: Settings,
) -> None:
    app = build_app(JWTAuth(settings))
    app.user_middleware = [Middleware(JWTMiddleware, settings=settings)]
    with TestClient(app) as client:
        response = client.get("/api/me", headers=bearer(token(settings, "read")))
    assert response.status_code == 403
    assert 'scope="profile"' in response.headers["www-authenticate"]


def test_without_the_middleware_requires_fails_loudly(settings: Settings) -> None:
    app = build_app(JWTAuth(settings))
    app.user_middleware = []
    with TestClient(app) as client, pytest.raises(RuntimeError, match="not installed"):
        client.get("/api/me")


def test_current_identity_is_anonymous_on_exempt_paths(settings: Settings) -> None:
    seen: list[Any] = []

    async def endpoint(request: Request) -> Response:
        seen.append(current_identity(request))
        return PlainTextResponse("ok")

    auth = JWTAuth(settings)
    app = Starlette(routes=[Route("/health", endpoint)], middleware=[auth.middleware()])
    with TestClient(app) as client:
        client.get("/health")
    assert seen == [ANONYMOUS]


def test_requires_misuse_is_caught_early() -> None:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("x")

    with pytest.raises(TypeError, match="parentheses"):
        requires(endpoint)  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="single scope"):
        requires("read write")
    with pytest.raises(ConfigurationError, match="cannot import"):
        requires(checks=["nowhere.at_all:check"])
    wrapped: Any = requires("read")(endpoint)
    with pytest.raises(TypeError, match="Request or WebSocket"):
        anyio.run(wrapped, "not a request")
    assert repr(requires("b", "a", optional=True)) == "requires('a', 'b', optional=True)"


def test_install_adds_the_middleware_once(settings: Settings) -> None:
    auth = JWTAuth(settings)
    app = Starlette(routes=[Route("/health", lambda r: PlainTextResponse("ok"))])
    auth.install(app)
    assert [m.cls for m in app.user_middleware] == [JWTAuthMiddleware]  # type: ignore[comparison-overlap]
    with pytest.raises(ConfigurationError, match="already installed"):
        auth.install(app)


def test_install_refuses_starlettes_authentication_middleware(settings: Settings) -> None:
    from starlette.authentication import AuthenticationBackend

    app = Starlette(middleware=[Middleware(AuthenticationMiddleware,
                                           backend=AuthenticationBackend())])  # fmt: skip
    with pytest.raises(ConfigurationError, match="AuthenticationMiddleware"):
        JWTAuth(settings).install(app)


# -- websockets -----------------------------------------------------------------------------------


def test_websocket_without_a_token_is_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/ws"):
        pass  # pragma: no cover
    assert info.value.status_code == 401
    assert info.value.headers["www-authenticate"] == BARE


def test_websocket_with_the_scope(client: TestClient, settings: Settings) -> None:
    with client.websocket_connect("/ws", headers=bearer(token(settings, "chat"))) as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "alice: hello"


def test_websocket_missing_a_scope_is_closed_with_1008(
    client: TestClient, settings: Settings
) -> None:
    headers = bearer(token(settings, "read"))
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect("/ws", headers=headers),
    ):
        pass  # pragma: no cover
    assert info.value.code == 1008


# -- sessions: login, call, refresh, logout -------------------------------------------------------


def login(client: TestClient, subject: str = "alice", scope: str = "profile") -> dict[str, Any]:
    response = client.post("/auth/login", json={"subject": subject, "scope": scope})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def test_login_sets_safe_cookies(browser: TestClient) -> None:
    response = browser.post("/auth/login", json={"subject": "alice", "scope": "profile"})
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "csrf_token"}
    assert body["token_type"] == "Bearer"
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    assert set(cookies) == {"__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"}
    access = cookies["__Host-access_token"]
    assert f"={body['access_token']};" in access
    for part in ("Path=/", "HttpOnly", "Secure", "SameSite=Lax"):
        assert part in access
    assert "Path=/auth/refresh" in cookies["__Secure-refresh_token"]
    assert "HttpOnly" in cookies["__Secure-refresh_token"]
    assert "HttpOnly" not in cookies["__Host-csrf_token"]  # scripts echo it


def test_cookie_flow_login_call_refresh_logout(browser: TestClient) -> None:
    pair = login(browser)
    csrf = {"X-CSRF-Token": pair["csrf_token"]}
    assert browser.get("/api/me").json()["subject"] == "alice"

    # Unsafe methods with cookie tokens need the CSRF header, refresh included.
    assert browser.post("/auth/refresh").status_code == 403
    refreshed = browser.post("/auth/refresh", headers=csrf)
    assert refreshed.status_code == 200, refreshed.text
    # A cookie refresh answers with cookies only: no token in reach of the page's scripts.
    assert set(refreshed.json()) == {"token_type", "expires_in", "csrf_token"}
    assert refreshed.json()["csrf_token"] == pair["csrf_token"]
    new = {
        "access_token": browser.cookies.get("__Host-access_token"),
        "refresh_token": browser.cookies.get("__Secure-refresh_token", path="/auth/refresh"),
    }
    assert new["access_token"] not in (None, pair["access_token"])
    assert new["refresh_token"] not in (None, pair["refresh_token"])
    assert browser.get("/api/me").status_code == 200

    refused = browser.post("/auth/logout")
    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf_failed"
    out = browser.post("/auth/logout", headers=csrf)
    assert out.status_code == 204
    assert out.headers["cache-control"] == "no-store"
    cleared = out.headers.get_list("set-cookie")
    assert len(cleared) == 3
    assert all("Max-Age=0" in c for c in cleared)
    assert not browser.cookies  # the jar dropped them

    # The logged-out tokens no longer work, even when replayed.
    replay = browser.get("/api/me", headers=bearer(new["access_token"]))
    assert replay.status_code == 401
    assert 'error="invalid_token"' in replay.headers["www-authenticate"]
    again = browser.post("/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401


def test_cookies_passed_by_hand_over_http(client: TestClient, settings: Settings) -> None:
    response = client.post("/auth/login", json={"subject": "alice", "scope": "profile"})
    jar = {c.split("=", 1)[0]: c.split(";", 1)[0] for c in response.headers.get_list("set-cookie")}
    assert all("Secure" in c for c in response.headers.get_list("set-cookie"))
    client.cookies.clear()  # http://testserver: the jar would not send Secure cookies anyway
    access = jar["__Host-access_token"]
    assert client.get("/api/me", headers={"Cookie": access}).status_code == 200
    refresh = client.post("/auth/refresh", headers={
        "Cookie": f"{jar['__Secure-refresh_token']}; {jar['__Host-csrf_token']}",
        "X-CSRF-Token": jar["__Host-csrf_token"].split("=", 1)[1]})  # fmt: skip
    assert refresh.status_code == 200
    renewed = {
        c.split("=", 1)[0]: c.split(";", 1)[0] for c in refresh.headers.get_list("set-cookie")
    }
    assert renewed["__Host-access_token"] != access
    assert "access_token" not in refresh.json()


def test_bearer_flow_login_call_refresh_logout(client: TestClient) -> None:
    pair = login(client)
    client.cookies.clear()
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
    refreshed = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200
    new = refreshed.json()
    client.cookies.clear()
    assert client.get("/api/me", headers=bearer(new["access_token"])).status_code == 200
    # No CSRF proof needed with the Authorization header.
    assert client.post("/auth/logout", headers=bearer(new["access_token"])).status_code == 204
    for access in (pair["access_token"], new["access_token"]):
        assert client.get("/api/me", headers=bearer(access)).status_code == 401
    dead = client.post("/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert dead.status_code == 401
    assert dead.json()["error"] == "invalid_token"


def test_refresh_token_reuse_revokes_the_session(tmp_path: Path) -> None:
    auth = JWTAuth(make_settings(tmp_path, refresh_reuse_grace=0))
    with TestClient(build_app(auth)) as client:
        pair = login(client)
        client.cookies.clear()
        first = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert first.status_code == 200
        reuse = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert reuse.status_code == 401
        client.cookies.clear()
        access = first.json()["access_token"]
        assert client.get("/api/me", headers=bearer(access)).status_code == 401
    auth.manager.close()


def test_refresh_refusals(client: TestClient, browser: TestClient) -> None:
    missing = client.post("/auth/refresh")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == BARE
    assert client.post("/auth/refresh", content=b"{not json",
                       headers={"content-type": "application/json"}).status_code == 400  # fmt: skip
    assert client.post("/auth/refresh", json={"refresh_token": 5}).status_code == 400
    garbage = browser.post("/auth/refresh", json={"refresh_token": "not.a.token"})
    assert garbage.status_code == 401
    pair = login(browser)
    both = browser.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]},
                        headers={"X-CSRF-Token": pair["csrf_token"]})  # fmt: skip
    assert both.status_code == 400
    assert both.json()["error"] == "invalid_request"
    cross_site = browser.post("/auth/refresh", headers={
        "X-CSRF-Token": pair["csrf_token"], "Origin": "https://evil.example"})  # fmt: skip
    assert cross_site.status_code == 403


def test_refresh_bodies_that_are_refused(client: TestClient) -> None:
    json_type = {"content-type": "application/json"}
    for body in (b"x" * 20_000, b"[" * 10_000, b'{"refresh_token": ""}'):
        response = client.post("/auth/refresh", content=body, headers=json_type)
        assert response.status_code == 400, body[:20]
        assert response.json()["error"] == "invalid_request"
    form = {"content-type": "application/x-www-form-urlencoded"}
    twice = client.post("/auth/refresh", content=b"refresh_token=a&refresh_token=b", headers=form)
    assert twice.status_code == 400
    many = client.post("/auth/refresh", content=b"&".join([b"a=1"] * 200), headers=form)
    assert many.status_code == 400


def test_refresh_cookie_with_the_csrf_form_field(browser: TestClient) -> None:
    pair = login(browser)
    refreshed = browser.post("/auth/refresh", data={"csrf_token": pair["csrf_token"]})
    assert refreshed.status_code == 200, refreshed.text
    wrong = browser.post("/auth/refresh", data={"csrf_token": "guess"})
    assert wrong.status_code == 403


def test_refresh_with_a_dead_cookie_clears_the_cookies(browser: TestClient) -> None:
    pair = login(browser)
    csrf = {"X-CSRF-Token": pair["csrf_token"]}
    refresh_cookie = browser.cookies.get("__Secure-refresh_token", path="/auth/refresh")
    assert refresh_cookie is not None
    assert browser.post("/auth/logout", headers=csrf).status_code == 204
    browser.cookies.set("__Secure-refresh_token", refresh_cookie, path="/auth/refresh")
    response = browser.post("/auth/refresh", headers=csrf)
    assert response.status_code == 401
    assert len(response.headers.get_list("set-cookie")) == 3


def test_logout_everywhere_and_sessions(client: TestClient) -> None:
    phone = login(client)
    laptop = login(client)
    client.cookies.clear()
    listed = client.get("/auth/sessions", headers=bearer(laptop["access_token"]))
    assert listed.status_code == 200
    sessions = listed.json()["sessions"]
    assert len(sessions) == 2
    assert [s["current"] for s in sessions] == [False, True]
    assert sessions[0]["user_agent"] == "testclient"
    assert set(sessions[0]) == {"session_id", "created_at", "last_seen", "expires_at",
                                "user_agent", "ip", "current"}  # fmt: skip
    everywhere = client.post("/auth/logout-all", headers=bearer(phone["access_token"]))
    assert everywhere.status_code == 200
    assert everywhere.json() == {"sessions_ended": 2}
    assert len(everywhere.headers.get_list("set-cookie")) == 3
    client.cookies.clear()
    for pair in (phone, laptop):
        assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 401
    after = login(client)
    client.cookies.clear()
    assert client.get("/api/me", headers=bearer(after["access_token"])).status_code == 200


def test_session_limit_refuses_a_new_login(tmp_path: Path) -> None:
    auth = JWTAuth(make_settings(tmp_path, max_sessions_per_subject=1,
                                 session_limit_policy="deny_new"))  # fmt: skip
    with TestClient(build_app(auth)) as client:
        login(client)
        refused = client.post("/auth/login", json={"subject": "alice"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "session_limit_reached"
    auth.manager.close()


def test_logout_needs_a_caller(tmp_path: Path) -> None:
    auth = JWTAuth(make_settings(tmp_path, exempt_paths=(*EXEMPT, "/auth/logout")))
    with TestClient(build_app(auth)) as client:
        response = client.post("/auth/logout")
    assert response.status_code == 401
    auth.manager.close()


def test_store_failure_is_a_503(
    auth: JWTAuth, client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from jwtmiddleware import StoreUnavailable

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("down")

    assert auth.store is not None
    monkeypatch.setattr(auth.store, "start_session", broken)
    with caplog.at_level(logging.CRITICAL, logger="jwtmiddleware"):
        response = client.post("/auth/login", json={"subject": "alice"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


# -- package --------------------------------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    import types

    import starlette_jwtmiddleware as package

    assert package.__all__ == sorted(package.__all__)
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations", "TYPE_CHECKING", "Any"}
    assert public <= set(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_plain_starlette_never_imports_fastapi() -> None:
    code = (
        "import sys, starlette_jwtmiddleware as s\n"
        "async def endpoint(request): ...\n"
        "s.requires('read')(endpoint)\n"
        "print('fastapi' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": _pythonpath()}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "False"


def _pythonpath() -> str:
    root = Path(__file__).resolve().parents[2]
    return os.pathsep.join([str(root), str(root / "adapters")])
