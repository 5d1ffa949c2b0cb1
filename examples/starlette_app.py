"""A small Starlette API protected by jwtmiddleware, with device sessions in SQLite.

Run it (the secret and the store come from ``JWTMIDDLEWARE_*`` variables)::

    JWTMIDDLEWARE_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))') \\
        uvicorn examples.starlette_app:create_app --factory

Endpoints:

- ``POST /auth/login`` ``{"username": "alice", "password": "alice-password"}``: the token pair
  as JSON, plus the access, refresh and CSRF cookies;
- ``GET /api/me``: the caller (needs the ``profile`` scope: alice has it, bob does not);
- ``POST /auth/refresh``: rotate the refresh token: from the cookie (with ``X-CSRF-Token``)
  the new tokens come back as cookies only; from ``{"refresh_token": ...}``, as JSON;
- ``POST /auth/logout``, ``POST /auth/logout-all``, ``GET /auth/sessions``;
- ``GET /health``: no token needed.

Browsers send the cookies; requests that change state with cookie tokens must echo the CSRF
cookie's value in ``X-CSRF-Token``. API clients send ``Authorization: Bearer <access_token>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jwtmiddleware import Settings
from starlette_jwtmiddleware import JWTAuth, current_identity, requires

__all__ = ["USERS", "create_app", "example_settings"]

#: Defaults for settings not given in the environment.
DEFAULTS = {
    "JWTMIDDLEWARE_EXEMPT_PATHS": "/health,/auth/login,/auth/refresh",
    "JWTMIDDLEWARE_STORE": "sqlite:///starlette-example.db",
    "JWTMIDDLEWARE_ISSUER": "starlette-example",
}


@dataclass(frozen=True)
class User:
    """A demo account: a salted scrypt hash, never the password."""

    subject: str
    scope: str
    salt: bytes
    password_hash: bytes


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2**14, r=8, p=1)


def _user(subject: str, password: str, scope: str) -> User:
    salt = secrets.token_bytes(16)
    return User(subject, scope, salt, _hash(password, salt))


#: The demo user table (a real app keeps only the hashes, in its database).
USERS = {
    "alice": _user("alice", "alice-password", "profile"),
    "bob": _user("bob", "bob-password", "orders"),
}
_DUMMY = _user("-", secrets.token_urlsafe(), "")


def authenticate(username: Any, password: Any) -> User | None:
    """The user if the password matches; as slow for unknown names as for known ones."""
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    user = USERS.get(username)
    candidate = _hash(password, (user or _DUMMY).salt)
    if user is None or not hmac.compare_digest(candidate, user.password_hash):
        return None
    return user


def example_settings() -> Settings:
    """``JWTMIDDLEWARE_*`` from the environment over :data:`DEFAULTS`."""
    return Settings.from_env({**DEFAULTS, **os.environ})


def create_app(settings: Settings | None = None) -> Starlette:
    """The application (a factory: ``uvicorn examples.starlette_app:create_app --factory``)."""
    auth = JWTAuth(settings if settings is not None else example_settings())

    async def login(request: Request) -> Response:
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        user = authenticate(body.get("username"), body.get("password"))
        if user is None:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Wrong name or password"},
                status_code=401,
                headers={"cache-control": "no-store"},
            )
        return await auth.login_response(request, user.subject, claims={"scope": user.scope})

    @requires("profile")
    async def me(request: Request) -> Response:
        identity = current_identity(request)
        return JSONResponse(
            {
                "subject": identity.subject,
                "scopes": sorted(identity.scopes),
                "session_id": identity.session_id,
            }
        )

    async def refresh(request: Request) -> Response:
        return await auth.refresh_response(request)

    async def logout(request: Request) -> Response:
        return await auth.logout_response(request)

    async def logout_all(request: Request) -> Response:
        return await auth.logout_everywhere_response(request)

    async def sessions(request: Request) -> Response:
        return await auth.sessions_response(request)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await auth.aclose()

    routes = [
        Route("/health", health),
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/refresh", refresh, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/auth/logout-all", logout_all, methods=["POST"]),
        Route("/auth/sessions", sessions),
        Route("/api/me", me),
    ]
    return Starlette(routes=routes, middleware=[auth.middleware()], lifespan=lifespan)


if __name__ == "__main__":
    import uvicorn

    os.environ.setdefault("JWTMIDDLEWARE_SECRET", secrets.token_urlsafe(48))  # development only
    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
