"""jwtmiddleware: JWT authentication middleware for ASGI and WSGI.

Verify access tokens from headers or cookies, consult an optional revocation/session store,
and hand the application a verified :class:`Identity`, in any framework.
"""

from __future__ import annotations

from .asgi import JWTMiddleware
from .claims import require_claims, require_scopes
from .errors import (
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
from .flow import Authenticator
from .identity import ANONYMOUS, AnonymousIdentity, Claims, Credentials, Identity
from .issuer import IssuedToken, Issuer
from .lifecycle import AuthEvent, RequestInfo, TokenPair
from .manager import SessionManager
from .responses import ErrorResponse
from .settings import Settings
from .verifier import VerifiedToken, Verifier
from .wsgi import JWTWSGIMiddleware

__version__ = "0.1.0.dev0"

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
