"""quart_jwtmiddleware with Quart's own test client: settings, path rules, per-view rules,
error routing through ``app.errorhandler``, the session flow with cookies and bearer tokens, and
websocket handshakes with and without a token (with the ``websocket.http.response`` extension,
as the test client and hypercorn offer it, and without it, driven as raw ASGI).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest
from quart import Quart, request, websocket
from quart.testing.connections import WebsocketResponseError
from quart.typing import TestClientProtocol as QuartClient

import quart_jwtmiddleware
from jwtmiddleware import AuthenticationError, ConfigurationError
from jwtmiddleware.testing import FrozenClock, mint_token
from quart_jwtmiddleware import JWTAuth, JWTHTTPException, current_identity, jwt_required
from tests.adapters.conftest import close_after_test
from tests.adapters.test_flask import (
    ACCESS,
    CSRF,
    CSRF_COOKIE,
    ISSUER,
    REFRESH,
    FailingStore,
    Jar,
    bearer,
    check_login_cookies,
    check_package,
    jwt_config,
    not_banned,
)

pytestmark = pytest.mark.anyio


def create_app(config: Mapping[str, Any] | None, **auth_options: Any) -> Quart:
    app = Quart(__name__)
    if config is not None:
        app.config["JWTMIDDLEWARE"] = config
    auth = JWTAuth(**auth_options)
    auth.init_app(app)
    close_after_test(app)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.post("/auth/login")
    async def login() -> Any:
        data = await request.get_json()
        return await auth.login_response(
            data["username"],
            claims={"scope": data.get("scope", "profile chat")},
            tokens_in_body=data.get("tokens_in_body", True),
        )

    @app.post("/auth/refresh")
    async def refresh() -> Any:
        return await auth.refresh_response()

    @app.post("/auth/logout")
    async def logout() -> Any:
        return await auth.logout_response()

    @app.post("/auth/logout-all")
    async def logout_all() -> Any:
        return await auth.logout_everywhere_response()

    @app.get("/auth/sessions")
    async def sessions() -> Any:
        return await auth.sessions_response()

    @app.get("/api/me")
    @jwt_required(scopes=["profile"])
    async def me() -> dict[str, Any]:
        return {"subject": current_identity.subject, "scopes": sorted(current_identity.scopes)}

    @app.get("/api/sync")
    @jwt_required("profile")
    def sync_view() -> dict[str, Any]:  # Quart runs it in a thread
        return {"subject": current_identity.subject}

    @app.get("/api/plain")
    async def plain() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    @app.post("/api/notes")
    @jwt_required()
    async def notes() -> dict[str, Any]:
        return {"subject": current_identity.subject, "form": (await request.form).to_dict()}

    @app.get("/api/fresh")
    @jwt_required(fresh=300)
    async def fresh() -> dict[str, Any]:
        return {"fresh": True}

    @app.get("/public")
    async def public() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    @app.get("/public/strict")
    @jwt_required()
    async def public_strict() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send(f"hello {current_identity.subject}")

    @app.websocket("/ws/chat")
    @jwt_required("chat")
    async def ws_chat() -> None:
        await websocket.send(f"chat {current_identity.subject}")

    @app.websocket("/public/ws")
    async def public_ws() -> None:
        await websocket.send(f"anonymous={not current_identity.is_authenticated}")

    @app.websocket("/public/ws/strict")
    @jwt_required()
    async def public_ws_strict() -> None:
        await websocket.send(f"hello {current_identity.subject}")

    return app


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(float(int(time.time())))


@pytest.fixture
def app(tmp_path: Path, clock: FrozenClock) -> Iterator[Quart]:
    app = create_app(jwt_config(tmp_path), clock=clock)
    yield app
    app.extensions["jwtmiddleware"].state_for(app).require_manager().close()


@pytest.fixture
def client(app: Quart) -> QuartClient:
    return app.test_client(use_cookies=False)


def token_for(app: Quart, clock: FrozenClock, **claims: Any) -> str:
    settings = app.extensions["jwtmiddleware"].state_for(app).settings
    return mint_token(settings, claims, subject="alice", now=clock.now)


async def js(response: Any) -> Any:
    data = await response.get_json()
    assert data is not None
    return data


async def login(client: QuartClient, username: str = "alice", **data: Any) -> Any:
    response = await client.post(
        "/auth/login", json={"username": username, **data}, headers={"User-Agent": "pytest-quart"}
    )
    assert response.status_code == 200, await response.get_data()
    return response


async def ws_refusal(client: QuartClient, path: str, **options: Any) -> Any:
    """The HTTP response refusing a websocket handshake (the test client offers the
    ``websocket.http.response`` extension)."""
    with pytest.raises(WebsocketResponseError) as info:
        async with client.websocket(path, **options) as socket:
            await socket.receive()
    return info.value.response


async def raw_websocket(app: Quart, path: str, headers: Mapping[str, str] = {}) -> list[Any]:
    """Drive a websocket handshake as raw ASGI, without ``websocket.http.response``."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "subprotocols": [],
        "extensions": {},
    }
    inbox: list[Any] = [{"type": "websocket.connect"}]
    sent: list[Any] = []

    async def receive() -> Any:
        if inbox:
            return inbox.pop(0)
        await asyncio.Event().wait()  # nothing more from this client

    async def send(message: Any) -> None:
        sent.append(message)

    with anyio.fail_after(5):
        await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


# -- package and settings ----------------------------------------------------------------------


def test_package_surface() -> None:
    check_package(quart_jwtmiddleware)


async def test_settings_come_from_app_config(
    app: Quart, client: QuartClient, clock: FrozenClock
) -> None:
    async with app.app_context():
        settings = app.extensions["jwtmiddleware"].settings
    assert settings.issuer == ISSUER
    assert settings.claim_checks == (not_banned,)
    ok = await client.get("/api/plain", headers=bearer(token_for(app, clock)))
    assert ok.status_code == 200
    banned = await client.get("/api/plain", headers=bearer(token_for(app, clock, banned=True)))
    assert banned.status_code == 401
    assert 'error="invalid_token"' in banned.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ({"STOER": "memory://"}, "STOER", "did you mean 'STORE'"),
        ({"CLAIM_CHECKS": ["tests.adapters.nowhere:check"]}, "CLAIM_CHECKS", "cannot import"),
    ],
)
def test_a_bad_setting_names_its_config_key(
    tmp_path: Path, extra: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        create_app(jwt_config(tmp_path, **extra))
    assert str(info.value).startswith(f'app.config["JWTMIDDLEWARE"]["{key}"]: ')
    assert words in str(info.value)
    assert info.value.setting == key


def test_missing_config_is_explained() -> None:
    with pytest.raises(ConfigurationError, match=r'app\.config\["JWTMIDDLEWARE"\] is not set'):
        create_app(None)


# -- HTTP: path rules, jwt_required, error routing ----------------------------------------------


async def test_protected_optional_and_exempt_paths(
    app: Quart, client: QuartClient, clock: FrozenClock
) -> None:
    missing = await client.get("/api/plain")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert missing.headers["Cache-Control"] == "no-store"
    assert await js(missing) == {
        "error": "unauthorized",
        "error_description": "Authentication required",
    }
    assert (await client.get("/health", headers=bearer("junk"))).status_code == 200
    assert await js(await client.get("/public")) == {"subject": None}
    assert (await client.get("/public", headers=bearer("a.b.c"))).status_code == 401
    assert (await client.get("/public/strict")).status_code == 401
    token = token_for(app, clock)
    assert await js(await client.get("/public/strict", headers=bearer(token))) == {
        "subject": "alice"
    }


async def test_scopes_and_sync_views(app: Quart, client: QuartClient, clock: FrozenClock) -> None:
    good = token_for(app, clock, scope="profile")
    ok = await client.get("/api/me", headers=bearer(good))
    assert ok.status_code == 200
    assert ok.headers["Vary"] == "Authorization, Cookie"
    assert await js(await client.get("/api/sync", headers=bearer(good))) == {"subject": "alice"}
    for path in ("/api/me", "/api/sync"):
        refused = await client.get(path, headers=bearer(token_for(app, clock, scope="email")))
        assert refused.status_code == 403
        assert refused.headers["WWW-Authenticate"].endswith(
            'error="insufficient_scope", '
            'error_description="The access token does not grant the required scope", '
            'scope="profile"'
        )


async def test_fresh(tmp_path: Path, clock: FrozenClock) -> None:
    app = create_app(jwt_config(tmp_path, ACCESS_TOKEN_TTL=3600), clock=clock)
    client = app.test_client(use_cookies=False)
    token = (await js(await login(client)))["access_token"]
    assert (await client.get("/api/fresh", headers=bearer(token))).status_code == 200
    clock.advance(301)
    stale = await client.get("/api/fresh", headers=bearer(token))
    assert stale.status_code == 401
    assert stale.headers["WWW-Authenticate"].endswith(
        'error="insufficient_user_authentication", '
        'error_description="More recent authentication is required", max_age="300"'
    )


async def test_errorhandlers_see_every_refusal(tmp_path: Path, clock: FrozenClock) -> None:
    app = create_app(jwt_config(tmp_path), clock=clock)
    seen: list[str] = []

    @app.errorhandler(401)
    async def unauthorized(error: JWTHTTPException) -> Any:
        seen.append(type(error.auth_error).__name__)
        return {"custom": True}, 401, {"WWW-Authenticate": 'Bearer realm="custom"'}

    @app.errorhandler(403)
    async def forbidden(error: JWTHTTPException) -> Any:
        refusal = error.auth_error
        assert isinstance(refusal, AuthenticationError)
        return {"forbidden": refusal.error}, 403

    client = app.test_client(use_cookies=False)
    missing = await client.get("/api/plain")
    assert missing.status_code == 401
    assert await js(missing) == {"custom": True}
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="custom"'
    assert (await client.get("/api/plain", headers=bearer("a.b.c"))).status_code == 401
    assert (await client.get("/public/strict")).status_code == 401
    scope = await client.get("/api/me", headers=bearer(token_for(app, clock)))
    assert await js(scope) == {"forbidden": "insufficient_scope"}
    # Websocket handshakes go through the same handlers.
    refusal = await ws_refusal(client, "/ws")
    assert refusal.status_code == 401
    assert refusal.headers["WWW-Authenticate"] == 'Bearer realm="custom"'
    assert seen == ["TokenMissing", "TokenMalformed", "TokenMissing", "TokenMissing"]


async def test_store_outage_is_a_503_through_quart(tmp_path: Path, clock: FrozenClock) -> None:
    config = jwt_config(tmp_path)
    del config["STORE"]
    app = create_app(config, clock=clock, store=FailingStore())
    client = app.test_client(use_cookies=False)
    response = await client.get("/api/plain", headers=bearer(token_for(app, clock)))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert (await js(response))["error"] == "temporarily_unavailable"


async def test_csrf_form_field_and_the_body_reaches_the_view(client: QuartClient) -> None:
    jar = Jar()
    jar.update((await login(client)).headers.getlist("Set-Cookie"))
    response = await client.post(
        "/api/notes",
        form={"csrf_token": jar.value(CSRF_COOKIE), "text": "hello"},
        headers={"Cookie": jar.header("/api/notes")},
    )
    assert response.status_code == 200
    assert (await js(response))["form"] == {"csrf_token": jar.value(CSRF_COOKIE), "text": "hello"}


async def test_a_refused_form_body_is_replayed_to_the_error_handler(
    tmp_path: Path, clock: FrozenClock
) -> None:
    app = create_app(jwt_config(tmp_path), clock=clock)

    @app.errorhandler(403)
    async def forbidden(error: JWTHTTPException) -> Any:
        return {"form": (await request.form).to_dict()}, 403

    client = app.test_client(use_cookies=False)
    jar = Jar()
    jar.update((await login(client)).headers.getlist("Set-Cookie"))
    response = await client.post(
        "/api/notes",
        form={"csrf_token": "wrong", "text": "hello"},
        headers={"Cookie": jar.header("/api/notes")},
    )
    assert response.status_code == 403
    assert await js(response) == {"form": {"csrf_token": "wrong", "text": "hello"}}


# -- sessions ----------------------------------------------------------------------------------


async def test_cookie_flow(client: QuartClient) -> None:
    jar = Jar()
    response = await login(client)
    assert response.headers["Cache-Control"] == "no-store"
    check_login_cookies(jar.update(response.headers.getlist("Set-Cookie")), max_age_access=900)
    old_access, old_refresh = jar.value(ACCESS), jar.value(REFRESH)
    me = await client.get("/api/me", headers={"Cookie": jar.header("/api/me")})
    assert me.status_code == 200
    unsafe = await client.post("/api/notes", headers={"Cookie": jar.header("/api/notes")})
    assert unsafe.status_code == 403
    assert (await js(unsafe))["error"] == "csrf_failed"
    proof = {CSRF: jar.value(CSRF_COOKIE)}
    headers = {"Cookie": jar.header("/api/notes"), **proof}
    assert (await client.post("/api/notes", headers=headers)).status_code == 200
    no_proof = await client.post("/auth/refresh", headers={"Cookie": jar.header("/auth/refresh")})
    assert no_proof.status_code == 403
    refreshed = await client.post(
        "/auth/refresh", headers={"Cookie": jar.header("/auth/refresh"), **proof}
    )
    assert refreshed.status_code == 200
    assert set(await js(refreshed)) == {"token_type", "expires_in", "csrf_token"}
    check_login_cookies(jar.update(refreshed.headers.getlist("Set-Cookie")), max_age_access=900)
    assert jar.value(REFRESH) != old_refresh
    out = await client.post("/auth/logout", headers={"Cookie": jar.header("/auth/logout"), **proof})
    assert out.status_code == 204
    assert out.headers["Cache-Control"] == "no-store"
    cleared = jar.update(out.headers.getlist("Set-Cookie"))
    assert all(c.attributes["max-age"] == "0" for c in cleared)
    assert jar.cookies == {}
    reuse = await client.get("/api/me", headers={"Cookie": f"{ACCESS}={old_access}"})
    assert reuse.status_code == 401
    assert 'error="invalid_token"' in reuse.headers["WWW-Authenticate"]


async def test_bearer_flow_sessions_and_logout_everywhere(client: QuartClient) -> None:
    pair = await js(await login(client))
    assert (await client.get("/api/me", headers=bearer(pair["access_token"]))).status_code == 200
    renewed = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200
    new = await js(renewed)
    assert (await client.get("/api/me", headers=bearer(new["access_token"]))).status_code == 200
    out = await client.post("/auth/logout", headers=bearer(new["access_token"]))
    assert out.status_code == 204
    assert (await client.get("/api/me", headers=bearer(new["access_token"]))).status_code == 401
    again = await client.post("/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401

    first = (await js(await login(client)))["access_token"]
    second = (await js(await login(client)))["access_token"]
    listed = (await js(await client.get("/auth/sessions", headers=bearer(first))))["sessions"]
    assert [s["user_agent"] for s in listed] == ["pytest-quart", "pytest-quart"]
    current = [s["session_id"] for s in listed if s["current"]]
    assert current == [jwt.decode(first, options={"verify_signature": False})["sid"]]
    ended = await client.post("/auth/logout-all", headers=bearer(second))
    assert await js(ended) == {"sessions_ended": 2}
    for token in (first, second):
        assert (await client.get("/api/me", headers=bearer(token))).status_code == 401


async def test_refresh_with_a_form_field_and_a_refused_cookie_refresh(
    client: QuartClient,
) -> None:
    pair = await js(await login(client))
    renewed = await client.post("/auth/refresh", form={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200
    jar = Jar()
    jar.update((await login(client)).headers.getlist("Set-Cookie"))
    stale = {"Cookie": jar.header("/auth/refresh"), CSRF: jar.value(CSRF_COOKIE)}
    assert (await client.post("/auth/refresh", headers=stale)).status_code == 200
    reused = await client.post("/auth/refresh", headers=stale)
    assert reused.status_code == 401
    assert len(reused.headers.getlist("Set-Cookie")) == 3


async def test_refresh_request_errors(client: QuartClient) -> None:
    missing = await client.post("/auth/refresh")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert (await client.post("/auth/refresh", json={"refresh_token": ""})).status_code == 400
    garbage = await client.post("/auth/refresh", json={"refresh_token": "x.y.z"})
    assert garbage.status_code == 401


# -- websockets --------------------------------------------------------------------------------


async def test_websocket_with_a_token(app: Quart, client: QuartClient, clock: FrozenClock) -> None:
    token = token_for(app, clock, scope="chat")
    async with client.websocket("/ws", headers=bearer(token)) as socket:
        assert await socket.receive() == "hello alice"
    async with client.websocket("/ws/chat", headers=bearer(token)) as socket:
        assert await socket.receive() == "chat alice"
    async with client.websocket("/public/ws/strict", headers=bearer(token)) as socket:
        assert await socket.receive() == "hello alice"


async def test_websocket_with_a_cookie_token(client: QuartClient) -> None:
    jar = Jar()
    jar.update((await login(client)).headers.getlist("Set-Cookie"))
    async with client.websocket("/ws/chat", headers={"Cookie": jar.header("/ws/chat")}) as socket:
        assert await socket.receive() == "chat alice"


async def test_websocket_without_a_token_is_refused_with_http(
    app: Quart, client: QuartClient, clock: FrozenClock
) -> None:
    refusal = await ws_refusal(client, "/ws")
    assert refusal.status_code == 401
    assert refusal.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert await refusal.get_json() == {
        "error": "unauthorized",
        "error_description": "Authentication required",
    }
    bad = await ws_refusal(client, "/ws", headers=bearer("a.b.c"))
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    scope = await ws_refusal(client, "/ws/chat", headers=bearer(token_for(app, clock)))
    assert scope.status_code == 403
    assert scope.headers["WWW-Authenticate"].endswith('scope="chat"')
    assert (await ws_refusal(client, "/public/ws/strict")).status_code == 401
    async with client.websocket("/public/ws") as socket:
        assert await socket.receive() == "anonymous=True"


async def test_websocket_refused_without_the_http_extension_closes_1008(
    app: Quart, clock: FrozenClock
) -> None:
    token = token_for(app, clock)
    for path, headers in [
        ("/ws", {}),  # refused by the middleware's path rules
        ("/ws", bearer("a.b.c")),  # refused by the verifier
        ("/ws/chat", bearer(token)),  # refused by jwt_required
        ("/public/ws/strict", {}),
    ]:
        sent = await raw_websocket(app, path, headers)
        assert [m["type"] for m in sent] == ["websocket.close"], (path, sent)
        assert sent[0]["code"] == 1008
    accepted = await raw_websocket(app, "/ws", bearer(token))
    assert [m["type"] for m in accepted] == [
        "websocket.accept",
        "websocket.send",
        "websocket.close",
    ]
    assert accepted[-1]["code"] == 1000


async def test_lifespan_passes_through(app: Quart) -> None:
    async with app.test_app() as test_app:
        client = test_app.test_client()
        assert (await client.get("/health")).status_code == 200


async def test_store_outage_refuses_a_websocket(tmp_path: Path, clock: FrozenClock) -> None:
    config = jwt_config(tmp_path)
    del config["STORE"]
    app = create_app(config, clock=clock, store=FailingStore())
    refusal = await ws_refusal(app.test_client(), "/ws", headers=bearer(token_for(app, clock)))
    assert refusal.status_code == 503
    assert refusal.headers["Retry-After"] == "1"


async def test_lifespan_loads_the_mirror_before_serving_and_stops_it_after(
    tmp_path: Path,
) -> None:
    """Under an ASGI server the revocation mirror is loaded before Quart's ``before_serving``
    hooks run (no first request waits for it) and stopped after ``after_serving``."""
    app = create_app(jwt_config(tmp_path))
    middleware = app.extensions["jwtmiddleware"].state_for(app).middleware
    mirror = middleware.mirror
    assert mirror is not None
    seen: dict[str, Any] = {}

    @app.before_serving
    async def started() -> None:
        seen["fresh at before_serving"] = middleware.status()["mirror"]["fresh"]

    @app.after_serving
    async def stopping() -> None:
        seen["following at after_serving"] = middleware.status()["mirror"]["following"]

    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []
    startup_done = anyio.Event()

    async def receive() -> dict[str, Any]:
        if len(messages) == 1:
            await startup_done.wait()
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "lifespan.startup.complete":
            seen["following after startup"] = middleware.status()["mirror"]["following"]
            startup_done.set()

    with anyio.fail_after(30):
        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen == {
        "fresh at before_serving": True,
        "following after startup": True,
        "following at after_serving": True,
    }
    assert mirror.stopped
    assert not middleware.status()["mirror"]["following"]
