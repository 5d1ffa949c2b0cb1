"""jwtmiddleware: JWT authentication middleware for ASGI and WSGI.

Verify access tokens from headers or cookies, consult an optional revocation/session store,
and hand the application a verified :class:`Identity`, in any framework.
"""

from __future__ import annotations

from .asgi import JWTMiddleware
from .claims import require_claims, require_scopes
from .errors import (
    AuthenticationError,
    ClaimCheckFailed,
    ConfigurationError,
    CSRFError,
    InsufficientScope,
    InvalidRequest,
    InvalidSignature,
    JWTMiddlewareError,
    StoreUnavailable,
    TokenExpired,
    TokenInvalid,
    TokenMalformed,
    TokenMissing,
    TokenNotYetValid,
    TokenRevoked,
    TokenTooLarge,
)
from .flow import Authenticator
from .identity import ANONYMOUS, AnonymousIdentity, Credentials, Identity
from .responses import ErrorResponse
from .settings import Settings
from .verifier import VerifiedToken, Verifier
from .wsgi import JWTWSGIMiddleware

__version__ = "0.1.0.dev0"

__all__ = [
    "ANONYMOUS",
    "AnonymousIdentity",
    "AuthenticationError",
    "Authenticator",
    "CSRFError",
    "ClaimCheckFailed",
    "ConfigurationError",
    "Credentials",
    "ErrorResponse",
    "Identity",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidSignature",
    "JWTMiddleware",
    "JWTMiddlewareError",
    "JWTWSGIMiddleware",
    "Settings",
    "StoreUnavailable",
    "TokenExpired",
    "TokenInvalid",
    "TokenMalformed",
    "TokenMissing",
    "TokenNotYetValid",
    "TokenRevoked",
    "TokenTooLarge",
    "VerifiedToken",
    "Verifier",
    "__version__",
    "require_claims",
    "require_scopes",
]
