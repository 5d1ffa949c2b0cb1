"""A small FastAPI API protected by jwtmiddleware, with device sessions in SQLite.

Run it (the secret and the store come from ``JWTMIDDLEWARE_*`` variables)::

    JWTMIDDLEWARE_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))') \\
        uvicorn examples.fastapi_app:create_app --factory

then open http://127.0.0.1:8000/docs: "Authorize" takes an access token, and the padlocks
show which operations need one and which scopes.

Endpoints:

- ``POST /auth/login`` ``{"username": "alice", "password": "alice-password"}``: the token pair
  as JSON, plus the access, refresh and CSRF cookies;
- ``GET /api/me``: the caller (needs the ``profile`` scope: alice has it, bob does not);
- ``POST /auth/refresh``: rotate the refresh token: from the cookie (with ``X-CSRF-Token``)
  the new tokens come back as cookies only; from ``{"refresh_token": ...}``, as JSON;
- ``POST /auth/logout``, ``POST /auth/logout-all``, ``GET /auth/sessions``;
- ``GET /health``: no token needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Request, Security
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from jwtmiddleware import Identity, Settings
from starlette_jwtmiddleware import IdentityDep, JWTAuth, requires

__all__ = ["USERS", "create_app", "example_settings"]

#: Defaults for settings not given in the environment.
DEFAULTS = {
    # /docs, /redoc and /openapi.json need no entry: auth.install(app) exempts them.
    "JWTMIDDLEWARE_EXEMPT_PATHS": "/health,/auth/login,/auth/refresh",
    "JWTMIDDLEWARE_STORE": "sqlite:///fastapi-example.db",
    "JWTMIDDLEWARE_ISSUER": "fastapi-example",
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


def authenticate(username: str, password: str) -> User | None:
    """The user if the password matches; as slow for unknown names as for known ones."""
    user = USERS.get(username)
    candidate = _hash(password, (user or _DUMMY).salt)
    if user is None or not hmac.compare_digest(candidate, user.password_hash):
        return None
    return user


#: The caller, who must hold the ``profile`` scope (403 ``insufficient_scope`` otherwise): one
#: declaration both enforces the scope and shows it on the operation's padlock in /docs.
ProfileIdentity = Annotated[Identity, Security(requires(), scopes=["profile"])]


class Credentials(BaseModel):
    """The login form."""

    username: str
    password: str


def example_settings() -> Settings:
    """``JWTMIDDLEWARE_*`` from the environment over :data:`DEFAULTS`."""
    return Settings.from_env({**DEFAULTS, **os.environ})


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application (a factory: ``uvicorn examples.fastapi_app:create_app --factory``)."""
    auth = JWTAuth(settings if settings is not None else example_settings())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await auth.aclose()

    app = FastAPI(title="jwtmiddleware FastAPI example", lifespan=lifespan)
    auth.install(app)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/auth/login")
    async def login(request: Request, credentials: Credentials) -> Response:
        user = authenticate(credentials.username, credentials.password)
        if user is None:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Wrong name or password"},
                status_code=401,
                headers={"cache-control": "no-store"},
            )
        return await auth.login_response(request, user.subject, claims={"scope": user.scope})

    @app.get("/api/me")
    async def me(identity: ProfileIdentity) -> dict[str, Any]:
        return {
            "subject": identity.subject,
            "scopes": sorted(identity.scopes),
            "session_id": identity.session_id,
        }

    @app.post("/auth/refresh")
    async def refresh(request: Request) -> Response:
        return await auth.refresh_response(request)

    @app.post("/auth/logout", status_code=204)
    async def logout(request: Request, identity: IdentityDep) -> Response:
        return await auth.logout_response(request)

    @app.post("/auth/logout-all")
    async def logout_all(request: Request, identity: IdentityDep) -> Response:
        return await auth.logout_everywhere_response(request)

    @app.get("/auth/sessions")
    async def sessions(request: Request, identity: IdentityDep) -> Response:
        return await auth.sessions_response(request)

    return app


if __name__ == "__main__":
    import uvicorn

    os.environ.setdefault("JWTMIDDLEWARE_SECRET", secrets.token_urlsafe(48))  # development only
    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
