"""Mint tokens that the verifier of the same settings accepts (sans-IO, clock injected).

The app's own login view checks the password, then asks the :class:`Issuer` for a token:
``issuer.access_token("alice", now=time.time())``.
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

__all__ = ["IssuedToken", "Issuer", "encode_compact"]

_RESERVED = frozenset({"iss", "aud", "sub", "iat", "exp", "jti", "nbf"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


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
    """Signs access tokens with the active key of a :class:`Settings`."""

    def __init__(self, settings: Settings) -> None:
        key = settings.keyset.signing_key()
        if key is None:
            raise ConfigurationError("KEYS", "no active key with private material to sign with")
        self._key = key
        self._settings = settings
        self._header = {"typ": settings.token_type or "JWT"}

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
        :param ttl: lifetime in seconds (default ``ACCESS_TOKEN_TTL``).
        """
        settings = self._settings
        lifetime = settings.access_token_ttl if ttl is None else ttl
        extra = dict(claims or {})
        clash = _RESERVED.intersection(extra)
        if clash:
            raise ValueError(f"registered claims are set by the issuer: {sorted(clash)}")
        body: dict[str, Any] = {
            "sub": subject,
            "iat": int(now),
            "exp": int(now + lifetime),
            "jti": secrets.token_urlsafe(16),
        }
        if settings.issuer:
            body["iss"] = settings.issuer
        if settings.audience:
            body["aud"] = (
                settings.audience[0] if len(settings.audience) == 1 else list(settings.audience)
            )
        body.update(extra)
        token = encode_compact(self._key, self._header, _json.dumps(body))
        return IssuedToken(token, body, float(body["exp"]))
