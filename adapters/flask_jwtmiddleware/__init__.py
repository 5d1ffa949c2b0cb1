"""flask_jwtmiddleware: jwtmiddleware in Flask's own idiom.

::

    from flask import Flask
    from flask_jwtmiddleware import JWTAuth, current_identity, jwt_required

    app = Flask(__name__)
    app.config["JWTMIDDLEWARE"] = {"SECRET": "...", "STORE": "sqlite:///sessions.db"}
    auth = JWTAuth(app)

    @app.get("/api/me")
    @jwt_required(scopes=["profile"])
    def me():
        return {"subject": current_identity.subject}

Every refusal, whether from the middleware's path rules or from ``jwt_required``, is raised
inside Flask as a :class:`JWTHTTPException` subclass, so ``@app.errorhandler(401)`` can render
it; the default rendering is the core's RFC 6750 response.
"""

from __future__ import annotations

try:
    import flask  # noqa: F401 - present, or say how to install it
except ImportError as exc:
    raise ModuleNotFoundError(
        "flask_jwtmiddleware needs Flask: pip install 'jwtmiddleware[flask]'", name=exc.name
    ) from exc

from ._extension import AppState, JWTAuth
from ._views import current_identity, current_user, get_current_user, get_identity, jwt_required
from .errors import (
    FreshTokenRequired,
    JWTBadRequest,
    JWTForbidden,
    JWTHTTPException,
    JWTServiceUnavailable,
    JWTUnauthorized,
)

__all__ = [
    "AppState",
    "FreshTokenRequired",
    "JWTAuth",
    "JWTBadRequest",
    "JWTForbidden",
    "JWTHTTPException",
    "JWTServiceUnavailable",
    "JWTUnauthorized",
    "current_identity",
    "current_user",
    "get_current_user",
    "get_identity",
    "jwt_required",
]
