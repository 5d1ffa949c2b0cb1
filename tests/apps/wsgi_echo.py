"""A WSGI app that echoes the verified caller, behind :class:`~jwtmiddleware.JWTWSGIMiddleware`.

Routes: ``/health`` (make it exempt: ``JWTMIDDLEWARE_EXEMPT_PATHS=/health``) and ``/api/me``
answering ``{"subject": ..., "claims": {...}, "pid": <worker pid>}``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from jwtmiddleware import JWTWSGIMiddleware, Settings

__all__ = ["create_app", "echo"]

IDENTITY_KEY = "jwtmiddleware.identity"

StartResponse = Callable[..., Callable[[bytes], object]]


def _json(start_response: StartResponse, status: str, payload: Any) -> list[bytes]:
    body = json.dumps(payload).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]


def echo(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The unprotected app: ``/health`` and ``/api/me``."""
    path = environ.get("PATH_INFO", "")
    if path == "/health":
        return _json(start_response, "200 OK", {"status": "ok"})
    if path == "/api/me":
        identity = environ[IDENTITY_KEY]
        payload = {"subject": identity.subject, "claims": dict(identity.claims), "pid": os.getpid()}
        return _json(start_response, "200 OK", payload)
    return _json(start_response, "404 Not Found", {"error": "not_found"})


def create_app(settings: Settings | None = None) -> JWTWSGIMiddleware:
    """:func:`echo` behind ``JWTWSGIMiddleware``; settings default to ``Settings.from_env()``."""
    settings = settings if settings is not None else Settings.from_env()
    return JWTWSGIMiddleware(echo, settings=settings)


def create_started_app() -> JWTWSGIMiddleware:
    """:func:`create_app` with its revocation mirror started at once (so that under gunicorn
    ``--preload`` the master has a running follower when it forks the workers)."""
    app = create_app()
    app.start()
    return app
