"""Call the real ASGI and WSGI middleware in-process, one request at a time."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def echo_asgi(scope: Any, receive: Any, send: Any) -> None:
    identity = scope["jwtmiddleware.identity"]
    body = json.dumps({"subject": identity.subject}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def echo_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    identity = environ["jwtmiddleware.identity"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"subject": identity.subject}).encode()]


async def call_asgi(app: JWTMiddleware, token: str | None) -> Answer:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api",
        "raw_path": b"/api",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    heads = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return Answer(start["status"], heads, b"".join(m.get("body", b"") for m in sent[1:]))


def call_wsgi(app: JWTWSGIMiddleware, token: str | None) -> Answer:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, headers))
        return lambda data: None

    body = b"".join(app(environ, start_response))
    status, headers = started[0]
    return Answer(int(status.split()[0]), {k.lower(): v for k, v in headers}, body)


def call(app: JWTMiddleware | JWTWSGIMiddleware, token: str | None) -> Answer:
    """One GET /api through either middleware (ASGI runs in a fresh event loop)."""
    if isinstance(app, JWTMiddleware):
        return asyncio.run(call_asgi(app, token))
    return call_wsgi(app, token)
