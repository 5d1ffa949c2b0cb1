"""Websockets that end when their token does, under real servers (uvicorn and hypercorn) and
real apps (raw ASGI, Starlette, FastAPI, Quart): a token revoked in another process, or one
that expires while the connection is idle, closes the connection with 1008 before the app sees
another message; the token may ride in ``Sec-WebSocket-Protocol`` and is never echoed."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from jwtmiddleware import Settings
from jwtmiddleware.core.issuer import Issuer
from jwtmiddleware.sessions.manager import SessionManager
from tests.core.keyfactory import SECRET
from tests.servers import free_port, hypercorn_argv, run_server, server_env, uvicorn_argv

pytestmark = pytest.mark.slow

ISSUER = "https://auth.test"
LAG = 0.3
APPS = ["raw_app", "starlette_app", "fastapi_app", "quart_app"]


def settings(store: str) -> Settings:
    return Settings(secret=SECRET, issuer=ISSUER, store=store, leeway=0)


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def server_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('ws') / 'store.db'}"


@pytest.fixture(scope="module", params=APPS)
def server(request: pytest.FixtureRequest, server_kind: str, store_url: str) -> Iterator[Any]:
    env = server_env({
        "JWTMIDDLEWARE_SECRET": SECRET,
        "JWTMIDDLEWARE_ISSUER": ISSUER,
        "JWTMIDDLEWARE_STORE": store_url,
        "JWTMIDDLEWARE_STORE_MAX_LAG": str(LAG),
        "JWTMIDDLEWARE_LEEWAY": "0",
        "JWTMIDDLEWARE_SOURCES": "header,websocket_protocol",
        "JWTMIDDLEWARE_EXEMPT_PATHS": "/health",
    })  # fmt: skip
    port = free_port()
    factory = f"tests.apps.ws_apps:{request.param}"
    argv = (uvicorn_argv(factory, port) if server_kind == "uvicorn"
            else hypercorn_argv(f"{factory}()", port))  # fmt: skip
    with run_server(argv, port, env=env) as running:
        yield running


def open_ws(server: Any, token: str, *, via: str = "protocol") -> ClientConnection:
    url = f"ws://127.0.0.1:{server.port}/ws"
    if via == "protocol":
        return connect(url, subprotocols=["bearer", token], open_timeout=10)  # type: ignore[list-item]
    return connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)


def hello(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=5)))


def _echo_until_closed(ws: ClientConnection, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        ws.send("ping")
        assert ws.recv(timeout=within) == "ping"  # echoed: still open
        time.sleep(0.05)
    raise AssertionError(f"still open after {within} s")


def closed_with(ws: ClientConnection, *, within: float) -> tuple[int | None, str]:
    """Send messages until the server closes; the close code and reason."""
    with pytest.raises(ConnectionClosed) as closed:
        _echo_until_closed(ws, within)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_a_revoked_token_closes_the_connection(server: Any, store_url: str) -> None:
    manager = SessionManager(settings(store_url))
    try:
        token = manager.issue_token(f"ws-{secrets.token_hex(3)}")
        with open_ws(server, token.token) as ws:
            greeting = hello(ws)
            assert greeting["subprotocols"] == []  # the token never reaches the app
            assert ws.subprotocol == "bearer"  # accepted without echoing the token
            ws.send("first")
            assert ws.recv(timeout=5) == "first"
            manager.revoke_token(token.claims["jti"], issuer=ISSUER,
                                 expires_at=token.expires_at)  # fmt: skip
            code, reason = closed_with(ws, within=LAG + 5)
        assert (code, reason) == (1008, "token revoked")
    finally:
        manager.close()


def test_logging_out_everywhere_closes_every_connection(server: Any, store_url: str) -> None:
    manager = SessionManager(settings(store_url))
    try:
        subject = f"ws-{secrets.token_hex(3)}"
        pair = manager.login(subject)
        with open_ws(server, pair.access_token, via="header") as ws:
            assert hello(ws)["subject"] == subject
            manager.logout_everywhere(subject)
            assert closed_with(ws, within=LAG + 5) == (1008, "token revoked")
    finally:
        manager.close()


def test_an_expiring_token_closes_an_idle_connection(server: Any, store_url: str) -> None:
    token = Issuer(settings(store_url)).access_token("idle", now=time.time(), ttl=2)
    with open_ws(server, token.token) as ws:
        hello(ws)
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)  # the client says nothing: the server closes at exp
        took = time.monotonic() - started
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "token expired")
    assert took < 4


def test_no_token_no_connection(server: Any) -> None:
    with pytest.raises(Exception) as refused:  # noqa: PT011 - websockets' handshake errors vary
        connect(f"ws://127.0.0.1:{server.port}/ws", open_timeout=10)
    assert (
        "401" in str(refused.value) or "1008" in str(refused.value) or "403" in str(refused.value)
    )


# -- in process: the subprotocol source's edge cases -------------------------------------------


def _handshake(offered: list[str]) -> list[dict[str, Any]]:
    import anyio

    from jwtmiddleware import JWTMiddleware

    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})

    middleware = JWTMiddleware(
        app, settings=Settings(secret=SECRET, sources=["websocket_protocol"])
    )

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "scheme": "ws", "query_string": b"",
             "headers": [(b"sec-websocket-protocol", ", ".join(offered).encode())],
             "subprotocols": offered}  # fmt: skip
    anyio.run(middleware, scope, receive, send)
    return sent


def test_the_subprotocol_token_is_taken_out_and_answered_with_bearer() -> None:
    from jwtmiddleware.testing import mint_token

    token = mint_token(Settings(secret=SECRET))
    assert _handshake(["chat", "bearer", token]) == [
        {"type": "websocket.accept", "subprotocol": "bearer"}
    ]


@pytest.mark.parametrize("offered", [["bearer"], ["bearer", "x.y.z", "bearer", "a.b.c"]])
def test_a_malformed_subprotocol_offer_is_refused(offered: list[str]) -> None:
    (close,) = _handshake(offered)
    assert close == {"type": "websocket.close", "code": 1008}


def test_websocket_protocol_is_a_known_source() -> None:
    assert Settings(secret=SECRET, sources=["header", "websocket_protocol"]).sources == (
        "header",
        "websocket_protocol",
    )
