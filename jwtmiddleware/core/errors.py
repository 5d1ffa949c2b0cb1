"""The exceptions jwtmiddleware raises, in one shallow tree.

::

    JWTMiddlewareError
    ├── ConfigurationError          a setting is wrong (raised at start-up)
    ├── StoreUnavailable            the revocation/session store cannot answer (503)
    │   └── StoreStale              the local mirror of the store is older than STORE_MAX_LAG
    ├── CookieTooLarge              an issued token does not fit in a cookie
    └── AuthenticationError         the request cannot be authenticated
        ├── TokenMissing            no credentials at all (401, no error code)
        ├── InvalidRequest          malformed request, duplicate credentials (400)
        ├── InsufficientScope       valid token, missing scope (403)
        ├── CSRFError               cookie token without CSRF proof (403)
        ├── SessionLimitReached     login refused by MAX_SESSIONS_PER_SUBJECT (403)
        └── TokenInvalid            the token cannot be trusted (401 invalid_token)
            ├── TokenMalformed      not a well-formed compact JWS
            ├── TokenTooLarge       over ``MAX_TOKEN_BYTES``
            ├── InvalidSignature    signature, algorithm or key mismatch
            ├── TokenExpired        ``exp`` passed
            ├── TokenNotYetValid    ``nbf``/``iat`` in the future
            ├── TokenRevoked        revoked in the store
            │   ├── TokenAlreadyUsed    a one-time token presented again
            │   ├── RefreshTokenReused  a rotated refresh token presented again
            │   └── AccountDisabled     the subject is disabled
            └── ClaimCheckFailed    a claim did not satisfy a check

Every authentication error carries the HTTP status and the RFC 6750 error code that the
middleware answers with, and a fixed ``description`` that is safe to send to the client: it
never contains the token or text from a lower-level exception. The ``reason`` attribute holds
detail for logs and for ``python -m jwtmiddleware inspect``; it is never sent in a response.

Every refusal also has a ``reason_code``: one name from the bounded set in
:data:`jwtmiddleware.reasons.REASONS` (``expired``, ``wrong_issuer``, ``revoked_session``, ...),
the same in the log line, the metric label and the event. A class fixes its default; a raise
site may name a more precise one (``ClaimCheckFailed("wrong issuer", code="wrong_issuer")``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AccountDisabled",
    "AuthenticationError",
    "CSRFError",
    "ClaimCheckFailed",
    "ConfigurationError",
    "CookieTooLarge",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidSignature",
    "JWTMiddlewareError",
    "RefreshTokenReused",
    "SessionLimitReached",
    "StoreStale",
    "StoreUnavailable",
    "TokenAlreadyUsed",
    "TokenExpired",
    "TokenInvalid",
    "TokenMalformed",
    "TokenMissing",
    "TokenNotYetValid",
    "TokenRevoked",
    "TokenTooLarge",
]


class JWTMiddlewareError(Exception):
    """Base class of every exception raised by jwtmiddleware."""


class ConfigurationError(JWTMiddlewareError, ValueError):
    """A setting is missing, malformed or unsafe; raised when settings are built."""

    def __init__(self, setting: str, message: str) -> None:
        #: The UPPER_CASE name of the offending setting, e.g. ``"SECRET"``.
        self.setting = setting
        #: What is wrong with it and how to fix it.
        self.message = message
        super().__init__(f"{setting}: {message}")


class StoreUnavailable(JWTMiddlewareError):
    """The revocation/session store could not answer in time (answered with 503)."""

    #: HTTP status used when the middleware fails closed.
    status = 503
    #: Seconds suggested to clients in ``Retry-After``.
    retry_after = 1
    #: The decision reason in logs, metrics and events (see :mod:`jwtmiddleware.reasons`).
    reason_code: str = "store_unavailable"
    #: The verified token's claims when the store was asked about it (for the log line's
    #: ``iss``/``sub``/``jti`` hash; never sent to clients).
    claims: Mapping[str, Any] | None = None

    def __init__(self, message: str = "The session store is unavailable") -> None:
        #: Detail for logs; never sent to clients.
        self.message = message
        super().__init__(message)


class StoreStale(StoreUnavailable):
    """This process's mirror of the store could not confirm it is current within
    ``STORE_MAX_LAG`` (the store hangs, is unreachable, or the mirror is still loading)."""

    reason_code = "store_stale"


class CookieTooLarge(JWTMiddlewareError):
    """A token with its cookie attributes exceeds what browsers store (4096 bytes)."""

    def __init__(self, name: str, size: int) -> None:
        #: The cookie's name.
        self.name = name
        #: The ``Set-Cookie`` value's length in bytes.
        self.size = size
        super().__init__(
            f"cookie {name!r} would be {size} bytes; browsers drop cookies over 4096 bytes. "
            "Put fewer claims in the token or send it in the Authorization header."
        )


class AuthenticationError(JWTMiddlewareError):
    """The request could not be authenticated.

    Subclasses fix the class attributes below; the middleware renders them as an RFC 6750
    response (``WWW-Authenticate`` header plus a JSON body).
    """

    #: HTTP status code of the error response.
    status: int = 401
    #: RFC 6750 ``error`` code, or ``None`` when no credentials were sent at all.
    error: str | None = "invalid_token"
    #: Fixed, client-safe text for ``error_description``.
    description: str = "The access token is invalid"
    #: The decision reason in logs, metrics and events: one name of the bounded set in
    #: :data:`jwtmiddleware.reasons.REASONS`.
    reason_code: str = "invalid_token"
    #: The token's claims when the refusal came after its signature was verified (for the
    #: log line's ``iss``/``sub``/``jti`` hash; never sent to clients).
    claims: Mapping[str, Any] | None = None

    def __init__(
        self, reason: str | None = None, *, scopes: tuple[str, ...] = (), code: str | None = None
    ) -> None:
        #: Detail for logs and diagnostics (never sent to clients, never contains the token).
        self.reason = reason or self.description
        #: Scopes that would have been needed (for ``insufficient_scope``).
        self.scopes = scopes
        if code is not None:
            self.reason_code = code
        super().__init__(self.reason)


class TokenMissing(AuthenticationError):
    """No credentials were presented on a route that requires them."""

    error = None
    description = "Authentication required"
    reason_code = "missing"


class InvalidRequest(AuthenticationError):
    """The request is malformed: duplicate credentials, wrong scheme, disabled source."""

    status = 400
    error = "invalid_request"
    description = "The request carries malformed or duplicate credentials"
    reason_code = "invalid_request"


class InsufficientScope(AuthenticationError):
    """The token is valid but lacks a scope the route needs."""

    status = 403
    error = "insufficient_scope"
    description = "The access token does not grant the required scope"
    reason_code = "insufficient_scope"


class CSRFError(AuthenticationError):
    """A cookie-carried token was used for an unsafe method without valid CSRF proof."""

    status = 403
    error = "csrf_failed"
    description = "The request is missing valid CSRF proof"
    reason_code = "csrf"


class SessionLimitReached(AuthenticationError):
    """A login was refused because the subject has ``MAX_SESSIONS_PER_SUBJECT`` sessions."""

    status = 403
    error = "session_limit_reached"
    description = "Too many active sessions; log out on another device first"
    reason_code = "session_limit"


class TokenInvalid(AuthenticationError):
    """The token cannot be trusted."""


class TokenMalformed(TokenInvalid):
    """The token is not a well-formed compact JWS."""

    description = "The access token is malformed"
    reason_code = "malformed"


class TokenTooLarge(TokenMalformed):
    """The token is longer than ``MAX_TOKEN_BYTES``."""

    description = "The access token is too large"


class InvalidSignature(TokenInvalid):
    """The signature does not verify, or the algorithm or key is not acceptable."""

    description = "The access token signature is invalid"
    reason_code = "bad_signature"


class TokenExpired(TokenInvalid):
    """The token's ``exp`` has passed (beyond the leeway)."""

    description = "The access token expired"
    reason_code = "expired"


class TokenNotYetValid(TokenInvalid):
    """The token's ``nbf`` or ``iat`` lies in the future (beyond the leeway)."""

    description = "The access token is not yet valid"
    reason_code = "not_yet_valid"


class TokenRevoked(TokenInvalid):
    """The token, its session or its subject was revoked in the store."""

    description = "The access token has been revoked"
    reason_code = "revoked"


class TokenAlreadyUsed(TokenRevoked):
    """A one-time token was presented a second time."""

    description = "The link was already used"
    reason_code = "one_time_used"


class RefreshTokenReused(TokenRevoked):
    """A rotated refresh token was presented again: its session was ended (reuse detection)."""

    description = "The refresh token was already used; the session was ended"
    reason_code = "refresh_reuse"


class AccountDisabled(TokenRevoked):
    """The subject is disabled (``SessionManager.disable_subject``): no login, no refresh."""

    description = "The account is disabled"
    reason_code = "account_disabled"


class ClaimCheckFailed(TokenInvalid):
    """A claim is missing or does not satisfy a configured check."""

    description = "The access token claims were rejected"
    reason_code = "claim_check"
