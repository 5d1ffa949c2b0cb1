"""A small Flask API protected by flask_jwtmiddleware, with device sessions in SQLite.

Run it (settings come from ``app.config["JWTMIDDLEWARE"]``: the defaults below, overridden by
``JWTMIDDLEWARE_*`` variables)::

    JWTMIDDLEWARE_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))') \\
        gunicorn 'examples.flask_app:create_app()'

Endpoints:

- ``POST /auth/login`` ``{"username": "alice", "password": "alice-password"}``: the token pair
  as JSON, plus the access, refresh and CSRF cookies;
- ``GET /api/me``: the caller (needs the ``profile`` scope: alice has it, bob does not);
- ``POST /auth/refresh``: rotate the refresh token: from the cookie (with ``X-CSRF-Token``)
  the new tokens come back as cookies only; from ``{"refresh_token": ...}``, as JSON;
- ``POST /auth/logout``, ``POST /auth/logout-all``, ``GET /auth/sessions``;
- ``GET /health``: no token needed.

Browsers send the cookies (``Secure``: over plain http during development set
``JWTMIDDLEWARE_COOKIE_SECURE=false``); requests that change state with cookie tokens must echo
the CSRF cookie's value in ``X-CSRF-Token``. API clients send ``Authorization: Bearer ...``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, request
from werkzeug.security import check_password_hash, generate_password_hash

from flask_jwtmiddleware import JWTAuth, current_identity, jwt_required

__all__ = ["DEFAULTS", "USERS", "authenticate", "create_app", "jwt_config"]

#: Settings used unless a ``JWTMIDDLEWARE_<KEY>`` variable says otherwise.
DEFAULTS: dict[str, Any] = {
    "EXEMPT_PATHS": ["/health", "/auth/login", "/auth/refresh"],
    "STORE": "sqlite:///flask-example.db",
    "ISSUER": "flask-example",
}
_PREFIX = "JWTMIDDLEWARE_"


@dataclass(frozen=True)
class User:
    """A demo account: a salted password hash, never the password."""

    subject: str
    scope: str
    password_hash: str


#: The demo user table (a real app keeps only the hashes, in its database).
USERS = {
    "alice": User("alice", "profile", generate_password_hash("alice-password")),
    "bob": User("bob", "orders", generate_password_hash("bob-password")),
}
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe())


def authenticate(username: Any, password: Any) -> User | None:
    """The user if the password matches; as slow for unknown names as for known ones."""
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    user = USERS.get(username)
    if not check_password_hash(user.password_hash if user else _DUMMY_HASH, password):
        return None
    return user


def jwt_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """:data:`DEFAULTS` with ``JWTMIDDLEWARE_*`` variables over them (strings are converted
    the way ``Settings.from_env`` converts them)."""
    environ = os.environ if environ is None else environ
    overrides = {k[len(_PREFIX) :]: v for k, v in environ.items() if k.startswith(_PREFIX)}
    return {**DEFAULTS, **overrides}


def _error(status: int, error: str, description: str) -> tuple[dict[str, str], int, dict[str, str]]:
    return {"error": error, "error_description": description}, status, {"Cache-Control": "no-store"}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The application (a factory: ``gunicorn 'examples.flask_app:create_app()'``).

    :param config: the ``JWTMIDDLEWARE`` mapping; :func:`jwt_config` by default.
    """
    app = Flask(__name__)
    app.config["JWTMIDDLEWARE"] = jwt_config() if config is None else dict(config)
    auth = JWTAuth(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/auth/login")
    def login() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error(400, "invalid_request", "send a JSON object")
        user = authenticate(body.get("username"), body.get("password"))
        if user is None:
            return _error(401, "invalid_grant", "wrong username or password")
        return auth.login_response(user.subject, claims={"scope": user.scope})

    @app.get("/api/me")
    @jwt_required(scopes=["profile"])
    def me() -> dict[str, Any]:
        return {
            "subject": current_identity.subject,
            "scopes": sorted(current_identity.scopes),
            "session_id": current_identity.session_id,
        }

    @app.post("/auth/refresh")
    def refresh() -> Any:
        return auth.refresh_response()

    @app.post("/auth/logout")
    def logout() -> Any:
        return auth.logout_response()

    @app.post("/auth/logout-all")
    def logout_all() -> Any:
        return auth.logout_everywhere_response()

    @app.get("/auth/sessions")
    def sessions() -> Any:
        return auth.sessions_response()

    return app


if __name__ == "__main__":
    os.environ.setdefault("JWTMIDDLEWARE_SECRET", secrets.token_urlsafe(48))  # development only
    create_app().run(host="127.0.0.1", port=8000)
