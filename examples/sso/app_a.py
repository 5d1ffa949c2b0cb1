"""App A (ASGI, Starlette): trusts tokens from the auth service through its JWKS URL.

Run: ``uvicorn app_a:create_app --factory --port 8001`` with the ``SSO_*`` variables set.
"""

from __future__ import annotations

from typing import Any

from remote_auth import RemoteVerifier, protect_asgi
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["create_app"]


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def me(request: Request) -> JSONResponse:
    claims = request.scope["claims"]
    return JSONResponse({"app": "A", "subject": claims["sub"], "claims": claims})


def create_app() -> Any:
    """App A behind the remote-key check (``/health`` stays open)."""
    app = Starlette(routes=[Route("/health", health), Route("/me", me)])
    return protect_asgi(app, RemoteVerifier.from_env(), exempt=["/health"])
