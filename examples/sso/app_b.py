"""App B (WSGI, no framework): trusts tokens from the auth service through its JWKS URL.

The same ``JWTMIDDLEWARE_*`` configuration as app A (see README.md).

Run: ``gunicorn 'app_b:create_app()' -b 127.0.0.1:8002``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from jwtmiddleware import JWTWSGIMiddleware, Settings

__all__ = ["create_app"]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/health":
        body: dict[str, Any] = {"ok": True}
    elif environ.get("PATH_INFO") == "/me":
        identity = environ["jwtmiddleware.identity"]
        body = {"app": "B", "subject": identity.subject, "claims": identity.claims}
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])  # fmt: skip
    return [data]


def create_app() -> Any:
    """App B behind ``JWTWSGIMiddleware`` configured from ``JWTMIDDLEWARE_*`` variables."""
    return JWTWSGIMiddleware(app, settings=Settings.from_env())
