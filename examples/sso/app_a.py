"""App A (ASGI, Starlette): trusts tokens from the auth service through its JWKS URL.

Plain middleware configuration: ``JWTMIDDLEWARE_JWKS_URL``, ``JWTMIDDLEWARE_ISSUER``,
``JWTMIDDLEWARE_AUDIENCE``, ``JWTMIDDLEWARE_ALGORITHMS=ES256``,
``JWTMIDDLEWARE_EXEMPT_PATHS=/health`` (see README.md).

Run: ``uvicorn app_a:create_app --factory --port 8001``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwtmiddleware import JWTMiddleware, Settings

__all__ = ["create_app"]


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def me(request: Request) -> JSONResponse:
    identity = request.scope["jwtmiddleware.identity"]
    return JSONResponse({"app": "A", "subject": identity.subject, "claims": identity.claims})


def create_app() -> Any:
    """App A behind ``JWTMiddleware`` configured from ``JWTMIDDLEWARE_*`` variables."""
    return Starlette(
        routes=[Route("/health", health), Route("/me", me)],
        middleware=[Middleware(JWTMiddleware, settings=Settings.from_env())],
    )
