"""Bottle behind jwtmiddleware: the caller is ``request.identity``.

The Bottle app is wrapped in :class:`~jwtmiddleware.JWTWSGIMiddleware`; a ``before_request``
hook copies the identity the middleware verified (in the WSGI environ) to
``request.identity``. Run it::

    export JWTMIDDLEWARE_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')
    gunicorn 'examples.bottle_app:create_app()'

``POST /auth/login`` ``{"username": "alice", "password": "alice-password"}`` answers the token
pair; ``GET /api/me`` needs the ``profile`` scope (alice has it, bob does not);
``POST /auth/logout`` ends the session; ``GET /health`` needs no token.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

import bottle

from jwtmiddleware import (
    ANONYMOUS,
    InsufficientScope,
    JWTWSGIMiddleware,
    SessionManager,
    Settings,
    StoreUnavailable,
)
from jwtmiddleware.integration import (
    IDENTITY_KEY,
    ErrorResponse,
    ResponsePlan,
    SessionEndpoints,
    WSGIRequestView,
    render_error,
    render_store_unavailable,
)

__all__ = ["create_app", "example_settings"]

DEFAULTS = {
    "JWTMIDDLEWARE_EXEMPT_PATHS": "/health,/auth/login",
    "JWTMIDDLEWARE_STORE": "sqlite:///bottle-example.db",
}
#: Demo accounts: name -> (password, scope). A real app checks a password hash.
USERS = {"alice": ("alice-password", "profile"), "bob": ("bob-password", "orders")}


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


def _response(status: int, headers: Any, body: Any, set_cookies: Any = ()) -> bottle.HTTPResponse:
    response = bottle.HTTPResponse(body if body is not None else "", status=status)
    for name, value in headers:
        if name.lower() != "content-length":
            response.set_header(name, value)
    for value in set_cookies:
        response.add_header("Set-Cookie", value)
    return response


def _refusal(error: ErrorResponse) -> bottle.HTTPResponse:
    return _response(error.status, error.headers, error.body)


def _render(plan: ResponsePlan, realm: str) -> bottle.HTTPResponse:
    """A session endpoint's answer (the core's plan) as a Bottle response."""
    if isinstance(plan.error, StoreUnavailable):
        return _refusal(render_store_unavailable(plan.error))
    if plan.error is not None:
        return _refusal(render_error(plan.error, realm=realm))
    body = None if plan.body is None else json.dumps(plan.body)
    headers = [*plan.headers, *([("Content-Type", "application/json")] if body else [])]
    return _response(plan.status, headers, body, plan.set_cookies)


def create_app(settings: Settings | None = None) -> JWTWSGIMiddleware:
    """The Bottle app wrapped in :class:`~jwtmiddleware.JWTWSGIMiddleware` (a factory)."""
    settings = settings if settings is not None else example_settings()
    app = bottle.Bottle()
    request = bottle.request

    @app.hook("before_request")
    def attach_identity() -> None:
        request.identity = request.environ.get(IDENTITY_KEY, ANONYMOUS)

    @app.get("/health")
    def health() -> Any:
        return {"status": "ok"}

    @app.get("/api/me")
    def me() -> Any:
        if not request.identity.has_scopes("profile"):
            error = InsufficientScope("needs profile", scopes=("profile",))
            return _refusal(render_error(error, realm=settings.realm))
        return {"subject": request.identity.subject, "scopes": sorted(request.identity.scopes)}

    @app.post("/auth/login")
    def login() -> Any:
        try:
            data = json.loads(request.body.read() or b"null")
        except ValueError:
            data = None
        scope = check_password(*_credentials(data))
        if scope is None:
            body = {"error": "invalid_grant", "error_description": "wrong credentials"}
            return _response(401, [("Content-Type", "application/json"),
                                   ("Cache-Control", "no-store")], json.dumps(body))  # fmt: skip
        plan = endpoints.login(WSGIRequestView(request.environ), data["username"],
                               claims={"scope": scope})  # fmt: skip
        return _render(plan, settings.realm)

    @app.post("/auth/logout")
    def logout() -> Any:
        return _render(endpoints.logout(request.identity), settings.realm)

    wrapped = JWTWSGIMiddleware(app, settings=settings)
    endpoints = SessionEndpoints(SessionManager(settings, wrapped.store))
    return wrapped
