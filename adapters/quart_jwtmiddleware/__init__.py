"""quart_jwtmiddleware: jwtmiddleware in Quart's own idiom, for HTTP and websocket routes.

::

    from quart import Quart, websocket
    from quart_jwtmiddleware import JWTAuth, current_identity, jwt_required

    app = Quart(__name__)
    app.config["JWTMIDDLEWARE"] = {"SECRET": "...", "STORE": "sqlite:///sessions.db"}
    auth = JWTAuth(app)

    @app.get("/api/me")
    @jwt_required(scopes=["profile"])
    async def me():
        return {"subject": current_identity.subject}

    @app.websocket("/ws")
    @jwt_required()
    async def ws():
        await websocket.send(f"hello {current_identity.subject}")

Every refusal, whether from the middleware's path rules or from ``jwt_required``, is raised
inside Quart as a ``JWTHTTPException`` subclass (the same classes as
:mod:`flask_jwtmiddleware`; Quart is built on Flask), so ``@app.errorhandler(401)`` can
render it; the default rendering is the core's RFC 6750 response.
"""

from __future__ import annotations

try:
    import quart  # noqa: F401 - present, or say how to install it
except ImportError as exc:
    raise ModuleNotFoundError(
        "quart_jwtmiddleware needs Quart: pip install 'jwtmiddleware[quart]'", name=exc.name
    ) from exc

from flask_jwtmiddleware.errors import (
    FreshTokenRequired,
    JWTBadRequest,
    JWTForbidden,
    JWTHTTPException,
    JWTServiceUnavailable,
    JWTUnauthorized,
)

from ._extension import AppState, JWTAuth
from ._views import current_identity, current_user, get_current_user, get_identity, jwt_required

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
