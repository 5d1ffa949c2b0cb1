"""jwtmiddleware: JWT authentication middleware for ASGI and WSGI.

Verify access tokens from headers or cookies, consult an optional revocation/session store,
and hand the application a verified :class:`Identity`, in any framework.
"""

from __future__ import annotations

from . import _aliases  # noqa: F401 - old module paths (jwtmiddleware.flow, ...) stay importable
from .core._version import __version__
from .core.claims import require_claims, require_scopes
from .core.errors import (
    AccountDisabled,
    AuthenticationError,
    ClaimCheckFailed,
    ConfigurationError,
    CookieTooLarge,
    CSRFError,
    InsufficientScope,
    InvalidRequest,
    InvalidSignature,
    JWTMiddlewareError,
    RefreshTokenReused,
    SessionLimitReached,
    StoreStale,
    StoreUnavailable,
    TokenAlreadyUsed,
    TokenExpired,
    TokenInvalid,
    TokenMalformed,
    TokenMissing,
    TokenNotYetValid,
    TokenRevoked,
    TokenTooLarge,
)
from .core.identity import ANONYMOUS, AnonymousIdentity, Claims, Credentials, Identity
from .core.issuer import IssuedToken, Issuer
from .core.settings import Settings
from .core.verifier import VerifiedToken, Verifier
from .http.asgi import JWTMiddleware
from .http.decision import Authenticator
from .http.responses import ErrorResponse
from .http.wsgi import JWTWSGIMiddleware
from .sessions.lifecycle import RequestInfo, TokenPair
from .sessions.manager import SessionManager
from .telemetry.events import AuthEvent

__all__ = [
    "ANONYMOUS",
    "AccountDisabled",
    "AnonymousIdentity",
    "AuthEvent",
    "AuthenticationError",
    "Authenticator",
    "CSRFError",
    "ClaimCheckFailed",
    "Claims",
    "ConfigurationError",
    "CookieTooLarge",
    "Credentials",
    "ErrorResponse",
    "Identity",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidSignature",
    "IssuedToken",
    "Issuer",
    "JWTMiddleware",
    "JWTMiddlewareError",
    "JWTWSGIMiddleware",
    "RefreshTokenReused",
    "RequestInfo",
    "SessionLimitReached",
    "SessionManager",
    "Settings",
    "StoreStale",
    "StoreUnavailable",
    "TokenAlreadyUsed",
    "TokenExpired",
    "TokenInvalid",
    "TokenMalformed",
    "TokenMissing",
    "TokenNotYetValid",
    "TokenPair",
    "TokenRevoked",
    "TokenTooLarge",
    "VerifiedToken",
    "Verifier",
    "__version__",
    "require_claims",
    "require_scopes",
]
