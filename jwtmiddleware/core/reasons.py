"""The decision reasons: one bounded vocabulary for log lines, metric labels and events.

Every request the middleware decides gets exactly one reason. Requests that proceed are
``allowed`` (a verified token), ``exempt`` (an exempt path or a CORS preflight) or
``anonymous`` (an optional path without a token); every refusal names its class. The set is
closed, so it is safe as a metric label: an error that names a reason outside it (a custom
``reason_code``) is reported under the nearest reason of its class.
"""

from __future__ import annotations

from types import MappingProxyType

from .errors import AuthenticationError, StoreUnavailable

__all__ = ["ALLOWED", "OUTCOMES", "REASONS", "REFUSED", "REFUSAL_REASONS", "reason_of"]

#: The ``outcome`` of a request that proceeds.
ALLOWED = "allowed"
#: The ``outcome`` of a refused request.
REFUSED = "refused"
#: Reasons by outcome, in the order documented.
OUTCOMES = MappingProxyType(
    {
        ALLOWED: ("allowed", "exempt", "anonymous"),
        REFUSED: (
            "missing",
            "invalid_request",
            "malformed",
            "bad_signature",
            "unknown_key",
            "expired",
            "not_yet_valid",
            "wrong_issuer",
            "wrong_audience",
            "wrong_type",
            "claim_check",
            "insufficient_scope",
            "csrf",
            "revoked_token",
            "revoked_session",
            "revoked_subject",
            "revoked",
            "one_time_used",
            "refresh_reuse",
            "account_disabled",
            "session_limit",
            "store_unavailable",
            "store_stale",
            "invalid_token",
            "internal_error",
        ),
    }
)
#: Every refusal reason.
REFUSAL_REASONS = OUTCOMES[REFUSED]

#: Every reason and what it means (the README's table is checked against it).
REASONS = MappingProxyType(
    {
        "allowed": "a verified token; the request proceeds",
        "exempt": "an `EXEMPT_PATHS` path or a CORS preflight: not authenticated",
        "anonymous": "an `OPTIONAL_PATHS` path (or `REQUIRED = False`) without a token",
        "missing": "no credentials on a path that needs them (401)",
        "invalid_request": "duplicate or ambiguous credentials, a malformed `Authorization` "
        "header or refresh request (400)",
        "malformed": "not a compact JWS, bad base64url or JSON, over `MAX_TOKEN_BYTES`, "
        "`crit`/`b64`/nested tokens",
        "bad_signature": "the signature does not verify, or its algorithm is not allowed",
        "unknown_key": "no trusted key for the token's `kid` and algorithm",
        "expired": "`exp` has passed (or the session reached `MAX_SESSION_AGE`)",
        "not_yet_valid": "`nbf` or `iat` lies in the future",
        "wrong_issuer": "`iss` is not `ISSUER`",
        "wrong_audience": "`aud` names none of `AUDIENCE` (or `AUDIENCE` is not set)",
        "wrong_type": "the `typ` header is not `TOKEN_TYPE`",
        "claim_check": "a required claim is missing or malformed, the lifetime is over "
        "`MAX_TOKEN_LIFETIME`, or a `CLAIM_CHECKS` check refused",
        "insufficient_scope": "a valid token without a required scope (403)",
        "csrf": "a cookie token on an unsafe method without CSRF proof (403)",
        "revoked_token": "the token's `jti` was revoked (the mirror)",
        "revoked_session": "the token's session was revoked or logged out (the mirror)",
        "revoked_subject": "the subject was logged out everywhere (the mirror)",
        "revoked": "revoked, as the store said when asked per request (`STORE_MAX_LAG = 0`); "
        "the store answers only yes or no",
        "one_time_used": "a one-time token presented again",
        "refresh_reuse": "a rotated refresh token presented again: the session is revoked",
        "account_disabled": "a login or refresh of a disabled account "
        "(`SessionManager.disable_subject`)",
        "session_limit": "a login refused by `MAX_SESSIONS_PER_SUBJECT` (`deny_new`)",
        "store_unavailable": 'the store did not answer (503 under `STORE_FAILURE = "closed"`)',
        "store_stale": "the revocation mirror is older than `STORE_MAX_LAG` (503)",
        "invalid_token": "any other refusal of the token",
        "internal_error": "an unexpected exception while authenticating (refused, never a 500)",
    }
)


def reason_of(error: BaseException) -> str:
    """The reason reported for ``error``: its ``reason_code`` when that is in
    :data:`REASONS`, else the nearest one its classes name (always one of the set)."""
    code = getattr(error, "reason_code", None)
    if code in REASONS:
        return str(code)
    for cls in type(error).__mro__:
        code = cls.__dict__.get("reason_code")
        if code in REASONS:
            return str(code)
    if isinstance(error, StoreUnavailable):
        return "store_unavailable"
    if isinstance(error, AuthenticationError):
        return "invalid_token"
    return "internal_error"
