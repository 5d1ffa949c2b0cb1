"""Mint tokens that the verifier of the same settings accepts (sans-IO, clock injected).

Three kinds, told apart by their ``typ`` header so one can never pass for another:

- access tokens (``at+jwt``, RFC 9068): short-lived, sent on every request;
- refresh tokens (``refresh+jwt``): long-lived, accepted only by the refresh flow;
- one-time tokens (``ott+jwt``): seconds-long, single-use, bound to a purpose and a resource
  (download links).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _json
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .keys import VerificationKey
    from .settings import Settings

__all__ = [
    "ONE_TIME_TOKEN_TYPE",
    "REFRESH_TOKEN_TYPE",
    "SESSION_CLAIMS",
    "IssuedToken",
    "Issuer",
    "encode_compact",
    "new_token_id",
]

#: ``typ`` of refresh tokens.
REFRESH_TOKEN_TYPE = "refresh+jwt"  # noqa: S105 - a media type
#: ``typ`` of one-time tokens.
ONE_TIME_TOKEN_TYPE = "ott+jwt"  # noqa: S105 - a media type
#: Claims the issuer sets itself; application claims may not override them.
REGISTERED = frozenset({"iss", "aud", "sub", "iat", "exp", "jti", "nbf"})
#: Claims tying a token to its login session, carried over on refresh.
#: Claims the session layer sets: the device session, when the user authenticated, the CSRF
#: value, and the subject's logout-everywhere generation (``sgen``).
SESSION_CLAIMS = frozenset({"sid", "auth_time", "csrf", "sgen"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_token_id() -> str:
    """128 random bits, URL-safe: for ``jti``, ``sid`` and CSRF values. Never starts with
    ``-``, so an id can be passed to a command line as it is (``revoke --session <sid>``)."""
    while True:
        value = secrets.token_urlsafe(16)
        if value[0] != "-":
            return value


def encode_compact(key: VerificationKey, header: Mapping[str, Any], payload: bytes) -> str:
    """Sign ``payload`` bytes exactly as given under ``header`` (``alg``/``kid`` from the key)."""
    head: dict[str, Any] = {"alg": key.algorithm}
    if key.kid is not None:
        head["kid"] = key.kid
    head.update(header)
    signing_input = f"{_b64(_json.dumps(head))}.{_b64(payload)}"
    return f"{signing_input}.{_b64(key.sign(signing_input.encode('ascii')))}"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly minted token and what it says."""

    #: The compact JWS.
    token: str
    #: Its claims.
    claims: Mapping[str, Any]
    #: ``exp`` as a UNIX time.
    expires_at: float


class Issuer:
    """Signs tokens with the active key of a :class:`Settings`."""

    def __init__(self, settings: Settings) -> None:
        key = settings.keyset.signing_key()
        if key is None:
            raise ConfigurationError("KEYS", "no active key with private material to sign with")
        self._key = key
        self._settings = settings
        self._access_header = {"typ": settings.token_type or "JWT"}

    def _mint(
        self,
        typ: str,
        subject: str,
        now: float,
        expires_at: float,
        claims: Mapping[str, Any] | None,
    ) -> IssuedToken:
        extra = dict(claims or {})
        clash = REGISTERED.intersection(extra)
        if clash:
            raise ValueError(f"registered claims are set by the issuer: {sorted(clash)}")
        settings = self._settings
        body: dict[str, Any] = {"sub": subject, "iat": int(now), "exp": int(expires_at),
                                "jti": new_token_id()}  # fmt: skip
        if settings.issuer:
            body["iss"] = settings.issuer
        if settings.audience:
            aud = settings.audience
            body["aud"] = aud[0] if len(aud) == 1 else list(aud)
        body.update(extra)
        header = self._access_header if typ == "access" else {"typ": typ}
        token = encode_compact(self._key, header, _json.dumps(body))
        return IssuedToken(token, body, float(body["exp"]))

    def access_token(
        self,
        subject: str,
        *,
        now: float,
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> IssuedToken:
        """Mint an access token for ``subject``.

        :param now: the current UNIX time.
        :param claims: application claims (``scope``, ``sid``, ...); registered claims are set
            by the issuer and cannot be overridden here.
        :param ttl: lifetime in seconds (default ``ACCESS_TOKEN_TTL``). With an ``auth_time``
            claim the expiry never passes ``auth_time + MAX_SESSION_AGE``.
        """
        lifetime = self._settings.access_token_ttl if ttl is None else ttl
        return self._mint("access", subject, now, self._capped(now + lifetime, claims), claims)

    def refresh_token(
        self,
        subject: str,
        *,
        now: float,
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> IssuedToken:
        """Mint a refresh token (``typ: refresh+jwt``), capped like :meth:`access_token`."""
        lifetime = self._settings.refresh_token_ttl if ttl is None else ttl
        expires = self._capped(now + lifetime, claims)
        return self._mint(REFRESH_TOKEN_TYPE, subject, now, expires, claims)

    def one_time(
        self,
        subject: str,
        purpose: str,
        resource: str,
        *,
        now: float,
        ttl: float | None = None,
        generation: int | None = None,
    ) -> IssuedToken:
        """Mint a single-use token for one ``purpose`` on one ``resource`` (a request path).

        The middleware accepts it only on ``ONE_TIME_PATHS`` configured for that purpose, only
        for exactly that path, and only once (consumed atomically in the store).

        :param generation: the subject's logout-everywhere generation (``sgen``; see
            :meth:`SessionManager.issue_token <jwtmiddleware.manager.SessionManager.issue_token>`).
        """
        if not resource.startswith("/"):
            raise ValueError("resource must be the request path, starting with '/'")
        lifetime = self._settings.one_time_token_ttl if ttl is None else ttl
        claims: dict[str, Any] = {"purpose": purpose, "res": resource}
        if generation is not None:
            claims["sgen"] = generation
        return self._mint(ONE_TIME_TOKEN_TYPE, subject, now, now + lifetime, claims)

    def _capped(self, expires_at: float, claims: Mapping[str, Any] | None) -> float:
        auth_time = (claims or {}).get("auth_time")
        if isinstance(auth_time, int | float):
            return min(expires_at, auth_time + self._settings.max_session_age)
        return expires_at
