"""An ASGI app that echoes the verified caller, behind :class:`~jwtmiddleware.JWTMiddleware`.

Routes: ``/health`` (make it exempt: ``JWTMIDDLEWARE_EXEMPT_PATHS=/health``), ``/api/me``
answering ``{"subject": ..., "claims": {...}, "pid": <worker pid>}``, and the websocket ``/ws``,
which accepts, sends the subject as text and closes. Lifespan is handled so every server
starts it cleanly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from jwtmiddleware import JWTMiddleware, Settings

__all__ = ["create_app", "echo"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

IDENTITY_KEY = "jwtmiddleware.identity"


async def _json(send: Send, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _websocket(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if scope["path"] != "/ws":
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": scope[IDENTITY_KEY].subject or ""})
    await send({"type": "websocket.close", "code": 1000})


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """The unprotected app: lifespan, ``/health``, ``/api/me`` and the ``/ws`` websocket."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "websocket":
        await _websocket(scope, receive, send)
    elif scope["path"] == "/health":
        await _json(send, 200, {"status": "ok"})
    elif scope["path"] == "/api/me":
        identity = scope[IDENTITY_KEY]
        payload = {"subject": identity.subject, "claims": dict(identity.claims), "pid": os.getpid()}
        await _json(send, 200, payload)
    else:
        await _json(send, 404, {"error": "not_found"})


def create_app(settings: Settings | None = None) -> JWTMiddleware:
    """:func:`echo` behind ``JWTMiddleware``; settings default to ``Settings.from_env()``."""
    return JWTMiddleware(echo, settings=settings if settings is not None else Settings.from_env())
