"""The demo application: a protected ``/api/me``, an exempt ``/health`` and a token endpoint."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..asgi import JWTMiddleware
from ..issuer import Issuer
from ..settings import ENV_PREFIX, Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse

__all__ = ["DemoConfig", "build_app", "demo_settings"]

#: Paths the demo serves without a token.
PUBLIC_PATHS = ("/", "/health", "/auth/token")
_MAX_SUBJECT = 64


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs with."""

    settings: Settings
    #: ``True`` when the key was generated at start-up (nothing in the environment).
    generated_key: bool


def demo_settings(environ: dict[str, str] | None = None) -> DemoConfig:
    """Settings from ``JWTMIDDLEWARE_*`` when any are set, else a fresh development key."""
    environ = dict(os.environ if environ is None else environ)
    configured = any(name.startswith(ENV_PREFIX) for name in environ)
    base = Settings.from_env(environ) if configured else None
    if base is None:
        base = Settings(secret=secrets.token_urlsafe(48), issuer="jwtmiddleware-demo")
    exempt = tuple(dict.fromkeys((*base.exempt_paths, *PUBLIC_PATHS)))
    return DemoConfig(base.replace(exempt_paths=exempt), generated_key=not configured)


def build_app(config: DemoConfig) -> Starlette:
    """The demo Starlette app wrapped in :class:`JWTMiddleware`."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    issuer = Issuer(config.settings)

    async def index(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "name": "jwtmiddleware demo",
                "endpoints": {
                    "POST /auth/token": 'mint a token: {"subject": "alice", "scope": "read"}',
                    "GET /api/me": "the verified identity (needs Authorization: Bearer ...)",
                    "GET /health": "liveness, no token needed",
                },
            }
        )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def token(request: Request) -> JSONResponse:
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        subject = body.get("subject") if isinstance(body, dict) else None
        scope = body.get("scope", "") if isinstance(body, dict) else ""
        if not isinstance(subject, str) or not 0 < len(subject) <= _MAX_SUBJECT:
            return JSONResponse(
                {"error": "invalid_request", "error_description": "give a 'subject' string"},
                status_code=400,
            )
        if not isinstance(scope, str):
            return JSONResponse(
                {"error": "invalid_request", "error_description": "'scope' must be a string"},
                status_code=400,
            )
        claims = {"scope": scope} if scope else {}
        issued = issuer.access_token(subject, now=time.time(), claims=claims)
        return JSONResponse(
            {
                "access_token": issued.token,
                "token_type": "Bearer",
                "expires_in": int(issued.expires_at - time.time()),
            },
            headers={"Cache-Control": "no-store"},
        )

    async def me(request: Request) -> JSONResponse:
        identity = request.scope["jwtmiddleware.identity"]
        return JSONResponse(
            {
                "subject": identity.subject,
                "scopes": sorted(identity.scopes),
                "claims": dict(identity.claims),
            }
        )

    routes = [
        Route("/", index),
        Route("/health", health),
        Route("/auth/token", token, methods=["POST"]),
        Route("/api/me", me),
    ]
    return Starlette(
        routes=routes, middleware=[Middleware(JWTMiddleware, settings=config.settings)]
    )
