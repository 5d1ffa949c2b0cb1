"""Sanic in ASGI mode behind jwtmiddleware: the caller is ``request.ctx.identity``.

Sanic runs as an ASGI application under an ASGI server (here uvicorn), wrapped in
:class:`~jwtmiddleware.JWTMiddleware`; a request middleware copies the identity from the ASGI
scope to ``request.ctx``. Run it::

    export JWTMIDDLEWARE_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')
    uvicorn examples.sanic_app:create_app --factory

``POST /auth/login`` ``{"username": "alice", "password": "alice-password"}`` answers the token
pair; ``GET /api/me`` needs the ``profile`` scope (alice has it, bob does not);
``POST /auth/logout`` ends the session; ``GET /health`` needs no token.
"""

from __future__ import annotations

import hmac
import itertools
import json
import os
from typing import Any

from sanic import Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from jwtmiddleware import (
    ANONYMOUS,
    InsufficientScope,
    JWTMiddleware,
    SessionManager,
    Settings,
    StoreUnavailable,
)
from jwtmiddleware.integration import (
    IDENTITY_KEY,
    ASGIRequestView,
    ErrorResponse,
    ResponsePlan,
    SessionEndpoints,
    render_error,
    render_store_unavailable,
)

__all__ = ["create_app", "example_settings"]

DEFAULTS = {
    "JWTMIDDLEWARE_EXEMPT_PATHS": "/health,/auth/login",
    "JWTMIDDLEWARE_STORE": "sqlite:///sanic-example.db",
}
#: Demo accounts: name -> (password, scope). A real app checks a password hash.
USERS = {"alice": ("alice-password", "profile"), "bob": ("bob-password", "orders")}
_names = itertools.count()


def example_settings() -> Settings:
    """``JWTMIDDLEWARE_*`` from the environment over :data:`DEFAULTS`."""
    return Settings.from_env({**DEFAULTS, **os.environ})


def check_password(username: object, password: object) -> str | None:
    """The user's scope when the password matches, else ``None``."""
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    expected, scope = USERS.get(username, ("", ""))
    ok = hmac.compare_digest(password.encode(), expected.encode())
    return scope if ok and expected else None


def _credentials(data: object) -> tuple[object, object]:
    """``(username, password)`` of a JSON login body."""
    if not isinstance(data, dict):
        return None, None
    return data.get("username"), data.get("password")


def _response(status: int, headers: Any, body: Any, set_cookies: Any = ()) -> HTTPResponse:
    response = HTTPResponse(body if body is not None else b"", status=status)
    for name, value in headers:
        if name.lower() not in ("content-length", "content-type"):
            response.headers[name] = value
        elif name.lower() == "content-type":
            response.content_type = value
    for value in set_cookies:
        response.headers.add("Set-Cookie", value)
    return response


def _refusal(error: ErrorResponse) -> HTTPResponse:
    return _response(error.status, error.headers, error.body)


def _render(plan: ResponsePlan, realm: str) -> HTTPResponse:
    """A session endpoint's answer (the core's plan) as a Sanic response."""
    if isinstance(plan.error, StoreUnavailable):
        return _refusal(render_store_unavailable(plan.error))
    if plan.error is not None:
        return _refusal(render_error(plan.error, realm=realm))
    body = None if plan.body is None else json.dumps(plan.body)
    headers = [*plan.headers, *([("Content-Type", "application/json")] if body else [])]
    return _response(plan.status, headers, body, plan.set_cookies)


def create_app(settings: Settings | None = None) -> JWTMiddleware:
    """The Sanic app wrapped in :class:`~jwtmiddleware.JWTMiddleware` (a factory)."""
    settings = settings if settings is not None else example_settings()
    app = Sanic(f"jwtmiddleware_example_{next(_names)}")

    @app.on_request
    async def attach_identity(request: Any) -> None:
        request.ctx.identity = request.scope.get(IDENTITY_KEY, ANONYMOUS)

    @app.get("/health")
    async def health(request: Any) -> HTTPResponse:
        return json_response({"status": "ok"})

    @app.get("/api/me")
    async def me(request: Any) -> HTTPResponse:
        identity = request.ctx.identity
        if not identity.has_scopes("profile"):
            error = InsufficientScope("needs profile", scopes=("profile",))
            return _refusal(render_error(error, realm=settings.realm))
        return json_response({"subject": identity.subject, "scopes": sorted(identity.scopes)})

    @app.post("/auth/login")
    async def login(request: Any) -> HTTPResponse:
        try:
            data = json.loads(request.body)
        except ValueError:
            data = None
        scope = check_password(*_credentials(data))
        if scope is None:
            body = {"error": "invalid_grant", "error_description": "wrong credentials"}
            return json_response(body, status=401, headers={"Cache-Control": "no-store"})
        plan = await endpoints.alogin(ASGIRequestView(request.scope), data["username"],
                                      claims={"scope": scope})  # fmt: skip
        return _render(plan, settings.realm)

    @app.post("/auth/logout")
    async def logout(request: Any) -> HTTPResponse:
        return _render(await endpoints.alogout(request.ctx.identity), settings.realm)

    wrapped = JWTMiddleware(app, settings=settings)
    endpoints = SessionEndpoints(SessionManager(settings, wrapped.store))
    return wrapped
