"""Litestar behind jwtmiddleware: the caller is ``request.user``, its scopes
``request.auth.scopes``.

The middleware puts the verified identity in the ASGI scope's ``user`` and ``auth`` entries,
which is where Litestar's ``request.user`` and ``request.auth`` read them, so nothing else is
needed: wrap the app. Run it::

    export JWTMIDDLEWARE_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')
    uvicorn examples.litestar_app:create_app --factory

``POST /auth/login`` ``{"username": "alice", "password": "alice-password"}`` answers the token
pair; ``GET /api/me`` needs the ``profile`` scope (alice has it, bob does not);
``POST /auth/logout`` ends the session; ``GET /health`` needs no token.
"""

from __future__ import annotations

import hmac
import json
import os
from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.response.base import ASGIResponse

from jwtmiddleware import (
    InsufficientScope,
    JWTMiddleware,
    SessionManager,
    Settings,
    StoreUnavailable,
)
from jwtmiddleware.integration import (
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
    "JWTMIDDLEWARE_STORE": "sqlite:///litestar-example.db",
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


class RawResponse(Response[bytes]):
    """The exact status, headers (several ``Set-Cookie``) and body the core decided."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        super().__init__(body, status_code=status)
        self.raw_headers = headers

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        return ASGIResponse(body=self.content, headers=self.raw_headers,
                            status_code=self.status_code)  # fmt: skip


def _response(status: int, headers: Any, body: Any, set_cookies: Any = ()) -> RawResponse:
    pairs = [(k, v) for k, v in headers if k.lower() != "content-length"]
    pairs += [("set-cookie", value) for value in set_cookies]
    if isinstance(body, dict):
        body, pairs = json.dumps(body), [*pairs, ("content-type", "application/json")]
    return RawResponse(status, pairs, body.encode() if isinstance(body, str) else body or b"")


def _refusal(error: ErrorResponse) -> RawResponse:
    return _response(error.status, error.headers, error.body)


def _render(plan: ResponsePlan, realm: str) -> RawResponse:
    """A session endpoint's answer (the core's plan) as a Litestar response."""
    if isinstance(plan.error, StoreUnavailable):
        return _refusal(render_store_unavailable(plan.error))
    if plan.error is not None:
        return _refusal(render_error(plan.error, realm=realm))
    return _response(plan.status, plan.headers, plan.body, plan.set_cookies)


def create_app(settings: Settings | None = None) -> JWTMiddleware:
    """The Litestar app wrapped in :class:`~jwtmiddleware.JWTMiddleware` (a factory)."""
    settings = settings if settings is not None else example_settings()

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/api/me")
    async def me(request: Request[Any, Any, Any]) -> Any:
        if "profile" not in request.auth.scopes:  # request.auth: the token's scopes
            error = InsufficientScope("needs profile", scopes=("profile",))
            return _refusal(render_error(error, realm=settings.realm))
        return {"subject": request.user.subject, "scopes": sorted(request.auth.scopes)}

    @post("/auth/login")
    async def login(request: Request[Any, Any, Any]) -> Response[Any]:
        data = await request.json()
        scope = check_password(*_credentials(data))
        if scope is None:
            return Response({"error": "invalid_grant", "error_description": "wrong credentials"},
                            status_code=401, headers={"Cache-Control": "no-store"})  # fmt: skip
        plan = await endpoints.alogin(ASGIRequestView(request.scope), data["username"],
                                      claims={"scope": scope})  # fmt: skip
        return _render(plan, settings.realm)

    @post("/auth/logout")
    async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
        return _render(await endpoints.alogout(request.user), settings.realm)

    app = JWTMiddleware(Litestar([health, me, login, logout]), settings=settings)
    endpoints = SessionEndpoints(SessionManager(settings, app.store))
    return app
