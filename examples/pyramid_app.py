"""Pyramid behind jwtmiddleware: the caller is ``request.identity``.

The WSGI app Pyramid makes is wrapped in :class:`~jwtmiddleware.JWTWSGIMiddleware`;
``config.add_request_method`` makes the identity the middleware verified (in the WSGI environ)
available as ``request.identity``. Run it::

    export JWTMIDDLEWARE_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')
    gunicorn 'examples.pyramid_app:create_app()'

``POST /auth/login`` ``{"username": "alice", "password": "alice-password"}`` answers the token
pair; ``GET /api/me`` needs the ``profile`` scope (alice has it, bob does not);
``POST /auth/logout`` ends the session; ``GET /health`` needs no token.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

from pyramid.config import Configurator
from pyramid.response import Response

from jwtmiddleware import (
    ANONYMOUS,
    AnonymousIdentity,
    Identity,
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

__all__ = ["create_app", "example_settings", "identity"]

DEFAULTS = {
    "JWTMIDDLEWARE_EXEMPT_PATHS": "/health,/auth/login",
    "JWTMIDDLEWARE_STORE": "sqlite:///pyramid-example.db",
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


def identity(request: Any) -> Identity | AnonymousIdentity:
    """``request.identity``: what the middleware verified (``ANONYMOUS`` on exempt paths)."""
    found: Identity | AnonymousIdentity = request.environ.get(IDENTITY_KEY, ANONYMOUS)
    return found


def _response(status: int, headers: Any, body: Any, set_cookies: Any = ()) -> Response:
    response = Response(status=status)
    response.headerlist = [(k, v) for k, v in headers if k.lower() != "content-length"]
    response.headerlist.extend(("Set-Cookie", value) for value in set_cookies)
    if body is not None:
        response.body = body.encode() if isinstance(body, str) else body
    return response


def _refusal(error: ErrorResponse) -> Response:
    return _response(error.status, error.headers, error.body)


def _render(plan: ResponsePlan, realm: str) -> Response:
    """A session endpoint's answer (the core's plan) as a Pyramid response."""
    if isinstance(plan.error, StoreUnavailable):
        return _refusal(render_store_unavailable(plan.error))
    if plan.error is not None:
        return _refusal(render_error(plan.error, realm=realm))
    body = None if plan.body is None else json.dumps(plan.body)
    headers = [*plan.headers, *([("Content-Type", "application/json")] if body else [])]
    return _response(plan.status, headers, body, plan.set_cookies)


def create_app(settings: Settings | None = None) -> JWTWSGIMiddleware:
    """The Pyramid app wrapped in :class:`~jwtmiddleware.JWTWSGIMiddleware` (a factory)."""
    settings = settings if settings is not None else example_settings()
    endpoints: list[SessionEndpoints] = []  # set once the middleware has opened the store

    def health(request: Any) -> Any:
        return {"status": "ok"}

    def me(request: Any) -> Any:
        if not request.identity.has_scopes("profile"):
            error = InsufficientScope("needs profile", scopes=("profile",))
            return _refusal(render_error(error, realm=settings.realm))
        return {"subject": request.identity.subject, "scopes": sorted(request.identity.scopes)}

    def login(request: Any) -> Any:
        try:
            data = request.json_body
        except ValueError:
            data = None
        scope = check_password(*_credentials(data))
        if scope is None:
            request.response.status = 401
            request.response.headers["Cache-Control"] = "no-store"
            return {"error": "invalid_grant", "error_description": "wrong credentials"}
        plan = endpoints[0].login(WSGIRequestView(request.environ), data["username"],
                                  claims={"scope": scope})  # fmt: skip
        return _render(plan, settings.realm)

    def logout(request: Any) -> Any:
        return _render(endpoints[0].logout(request.identity), settings.realm)

    with Configurator() as config:
        config.add_request_method(identity, "identity", reify=True)
        for name, path, view, method in (
            ("health", "/health", health, "GET"),
            ("me", "/api/me", me, "GET"),
            ("login", "/auth/login", login, "POST"),
            ("logout", "/auth/logout", logout, "POST"),
        ):
            config.add_route(name, path)
            config.add_view(view, route_name=name, request_method=method, renderer="json")
        app = JWTWSGIMiddleware(config.make_wsgi_app(), settings=settings)
    endpoints.append(SessionEndpoints(SessionManager(settings, app.store)))
    return app
