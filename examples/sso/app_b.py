"""App B (WSGI, no framework): trusts tokens from the auth service through its JWKS URL.

Run: ``gunicorn 'app_b:create_app()' -b 127.0.0.1:8002`` with the ``SSO_*`` variables set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from remote_auth import RemoteVerifier, protect_wsgi

__all__ = ["create_app"]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/health":
        body = {"ok": True}
    elif environ.get("PATH_INFO") == "/me":
        claims = environ["claims"]
        body = {"app": "B", "subject": claims["sub"], "claims": claims}
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])  # fmt: skip
    return [data]


def create_app() -> Any:
    """App B behind the remote-key check (``/health`` stays open)."""
    return protect_wsgi(app, RemoteVerifier.from_env(), exempt=["/health"])
