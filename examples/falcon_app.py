"""Falcon behind jwtmiddleware, WSGI and ASGI: the caller is ``req.context.identity``.

Run it (the secret and the store come from ``JWTMIDDLEWARE_*`` variables)::

    export JWTMIDDLEWARE_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')
    gunicorn 'examples.falcon_app:create_wsgi_app()'                # WSGI
    uvicorn examples.falcon_app:create_asgi_app --factory           # ASGI

``POST /auth/login`` ``{"username": "alice", "password": "alice-password"}`` answers the token
pair; ``GET /api/me`` needs the ``profile`` scope (alice has it, bob does not);
``POST /auth/logout`` ends the session; ``GET /health`` needs no token.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

import falcon
import falcon.asgi

from jwtmiddleware import (
    ANONYMOUS,
    InsufficientScope,
    JWTMiddleware,
    JWTWSGIMiddleware,
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
    WSGIRequestView,
    render_error,
    render_store_unavailable,
)

__all__ = ["create_asgi_app", "create_wsgi_app", "example_settings"]

DEFAULTS = {
    "JWTMIDDLEWARE_EXEMPT_PATHS": "/health,/auth/login",
    "JWTMIDDLEWARE_STORE": "sqlite:///falcon-example.db",
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


def _send(resp: Any, status: int, headers: Any, body: bytes | str | None) -> None:
    resp.status = status
    for name, value in headers:
        if name.lower() == "set-cookie":
            resp.append_header("Set-Cookie", value)
        elif name.lower() != "content-length":
            resp.set_header(name, value)
    if body is not None:
        resp.data = body.encode() if isinstance(body, str) else body


def _refuse(resp: Any, error: ErrorResponse) -> None:
    _send(resp, error.status, error.headers, error.body)


def _render(resp: Any, plan: ResponsePlan, realm: str) -> None:
    """A session endpoint's answer (the core's plan) as the Falcon response."""
    if isinstance(plan.error, StoreUnavailable):
        _refuse(resp, render_store_unavailable(plan.error))
    elif plan.error is not None:
        _refuse(resp, render_error(plan.error, realm=realm))
    else:
        body = None if plan.body is None else json.dumps(plan.body)
        headers = [*plan.headers, *(("Set-Cookie", c) for c in plan.set_cookies)]
        if body is not None:
            headers.append(("Content-Type", "application/json"))
        _send(resp, plan.status, headers, body)


def _wrong_credentials(resp: Any) -> None:
    resp.status = 401
    resp.media = {"error": "invalid_grant", "error_description": "wrong credentials"}
    resp.set_header("Cache-Control", "no-store")


def _user(data: Any) -> tuple[str, str] | None:
    """``(username, scope)`` for a JSON login body with the right password."""
    if not isinstance(data, dict):
        return None
    scope = check_password(data.get("username"), data.get("password"))
    return None if scope is None else (data["username"], scope)


class Identity:
    """Falcon middleware: ``req.context.identity`` is what jwtmiddleware verified."""

    def process_request(self, req: Any, resp: Any) -> None:
        req.context.identity = req.env.get(IDENTITY_KEY, ANONYMOUS)


class AsyncIdentity:
    """The same for ``falcon.asgi.App``: the identity is in the ASGI scope."""

    async def process_request(self, req: Any, resp: Any) -> None:
        req.context.identity = req.scope.get(IDENTITY_KEY, ANONYMOUS)


class Health:
    def on_get(self, req: Any, resp: Any) -> None:
        resp.media = {"status": "ok"}


class Me:
    def __init__(self, settings: Settings) -> None:
        self.realm = settings.realm

    def on_get(self, req: Any, resp: Any) -> None:
        identity = req.context.identity  # the middleware refused anonymous callers already
        if not identity.has_scopes("profile"):
            error = InsufficientScope("needs profile", scopes=("profile",))
            _refuse(resp, render_error(error, realm=self.realm))
            return
        resp.media = {"subject": identity.subject, "scopes": sorted(identity.scopes)}


class Login:
    def __init__(self, endpoints: SessionEndpoints, realm: str) -> None:
        self.endpoints, self.realm = endpoints, realm

    def on_post(self, req: Any, resp: Any) -> None:
        user = _user(req.get_media(default_when_empty=None))
        if user is None:
            return _wrong_credentials(resp)
        plan = self.endpoints.login(WSGIRequestView(req.env), user[0], claims={"scope": user[1]})
        _render(resp, plan, self.realm)


class Logout:
    def __init__(self, endpoints: SessionEndpoints, realm: str) -> None:
        self.endpoints, self.realm = endpoints, realm

    def on_post(self, req: Any, resp: Any) -> None:
        _render(resp, self.endpoints.logout(req.context.identity), self.realm)


class AsyncHealth:
    async def on_get(self, req: Any, resp: Any) -> None:
        resp.media = {"status": "ok"}


class AsyncMe(Me):
    async def on_get(self, req: Any, resp: Any) -> None:  # type: ignore[override]
        super().on_get(req, resp)


class AsyncLogin(Login):
    async def on_post(self, req: Any, resp: Any) -> None:  # type: ignore[override]
        user = _user(await req.get_media(default_when_empty=None))
        if user is None:
            return _wrong_credentials(resp)
        plan = await self.endpoints.alogin(ASGIRequestView(req.scope), user[0],
                                           claims={"scope": user[1]})  # fmt: skip
        _render(resp, plan, self.realm)


class AsyncLogout(Logout):
    async def on_post(self, req: Any, resp: Any) -> None:  # type: ignore[override]
        _render(resp, await self.endpoints.alogout(req.context.identity), self.realm)


def create_wsgi_app(settings: Settings | None = None) -> JWTWSGIMiddleware:
    """The WSGI app: ``falcon.App`` wrapped in :class:`~jwtmiddleware.JWTWSGIMiddleware`."""
    settings = settings if settings is not None else example_settings()
    api = falcon.App(middleware=[Identity()])
    app = JWTWSGIMiddleware(api, settings=settings)
    endpoints = SessionEndpoints(SessionManager(settings, app.store))
    api.add_route("/health", Health())
    api.add_route("/api/me", Me(settings))
    api.add_route("/auth/login", Login(endpoints, settings.realm))
    api.add_route("/auth/logout", Logout(endpoints, settings.realm))
    return app


def create_asgi_app(settings: Settings | None = None) -> JWTMiddleware:
    """The ASGI app: ``falcon.asgi.App`` wrapped in :class:`~jwtmiddleware.JWTMiddleware`."""
    settings = settings if settings is not None else example_settings()
    api = falcon.asgi.App(middleware=[AsyncIdentity()])
    app = JWTMiddleware(api, settings=settings)
    endpoints = SessionEndpoints(SessionManager(settings, app.store))
    api.add_route("/health", AsyncHealth())
    api.add_route("/api/me", AsyncMe(settings))
    api.add_route("/auth/login", AsyncLogin(endpoints, settings.realm))
    api.add_route("/auth/logout", AsyncLogout(endpoints, settings.realm))
    return app
