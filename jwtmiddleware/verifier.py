"""Verify a compact JWS access token with an injected clock (sans-IO).

PyJWT's algorithm objects check the signature; everything around them is done here, strictly
and in an order chosen so that cheap checks run first and nothing attacker-controlled is
decoded before the length cap: size, shape and base64url alphabet, header (``alg`` from the
allow-list and bound to the key, ``typ``, ``crit``, ``b64``, nested ``cty``, ``kid``),
signature, and only then the claims, with time claims compared to the ``now`` passed in.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _json
from ._lru import TokenCache, validity_window
from .errors import (
    ClaimCheckFailed,
    InvalidSignature,
    TokenExpired,
    TokenMalformed,
    TokenNotYetValid,
    TokenTooLarge,
)
from .identity import Claims

if TYPE_CHECKING:
    from .keys import VerificationKey
    from .settings import Settings

__all__ = ["ParsedToken", "VerifiedToken", "Verifier"]

_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64_VALUE = {ch: i for i, ch in enumerate(_B64_ALPHABET)}
_MAX_ID = 255  # sub, jti, sid, kid
_MAX_NUMERIC = 2**53  # larger NumericDates are not real times
_UNUSED_BITS_MASK = {2: 0x0F, 3: 0x03}
_HEADER_MEMORY = 256
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_PADDING = {0: b"", 2: b"==", 3: b"="}


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature and registered claims were checked."""

    #: The raw compact token.
    token: str
    #: The JOSE header.
    header: dict[str, Any]
    #: The claims (read-only: shared by every request presenting the same token).
    claims: Claims


def b64decode(segment: str) -> bytes:
    """Strict, canonical base64url without padding (the alphabet was checked by the caller)."""
    rem = len(segment) % 4
    if rem == 1:
        raise TokenMalformed("impossible base64url length")
    mask = _UNUSED_BITS_MASK.get(rem)
    if mask is not None and _B64_VALUE[segment[-1]] & mask:
        raise TokenMalformed("non-canonical base64url")
    try:
        # The alphabet is already known to be base64url: translate and decode in C.
        data = segment.encode("ascii").translate(_TO_STANDARD) + _PADDING[rem]
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError) as exc:
        raise TokenMalformed("bad base64url") from exc


def _object(segment: str, what: str, *, strict: bool) -> dict[str, Any]:
    try:
        data = b64decode(segment)
        value = _json.loads_strict(data) if strict else _json.loads(data)
    except TokenMalformed:
        raise
    except (ValueError, RecursionError, UnicodeDecodeError, TypeError) as exc:
        raise TokenMalformed(f"{what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise TokenMalformed(f"{what} is not a JSON object")
    return value


def _numeric(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        if name in claims:
            raise ClaimCheckFailed(f"{name} is null")
        return None
    if type(value) is not int and type(value) is not float:
        raise ClaimCheckFailed(f"{name} is not a JSON number")
    if not 0 <= value <= _MAX_NUMERIC:  # also false for NaN; inf and huge ints are out of range
        raise ClaimCheckFailed(f"{name} is out of range")
    return float(value)


def _short_string(claims: dict[str, Any], name: str) -> None:
    value = claims.get(name)
    if value is None and name not in claims:
        return
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_ID or not value.isprintable():
        raise ClaimCheckFailed(f"{name} must be a printable string of 1 to {_MAX_ID} characters")


def _media_type(value: str) -> str:
    value = value.lower()
    return value[12:] if value.startswith("application/") else value


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """A token whose shape and header passed, before its signature is checked."""

    token: str
    header: dict[str, Any]
    alg: str
    kid: str | None
    signing_input: bytes
    signature: bytes
    payload64: str


class Verifier:
    """Verifies tokens against one :class:`Settings`; everything is prepared in ``__init__``.

    Successfully verified tokens are remembered (``VERIFIED_CACHE_SIZE`` entries, least recently
    used evicted first), keyed by their exact text: a repeat costs a dictionary lookup and the
    time checks, which always run against ``now``. Only verified tokens enter the cache, so a
    flood of forged tokens cannot grow it.
    """

    def __init__(self, settings: Settings, *, cache_size: int | None = None) -> None:
        self._keyset = settings.keyset
        self._algorithms = frozenset(settings.algorithms)
        self._max_bytes = settings.max_token_bytes
        self._leeway = settings.leeway
        self._max_lifetime = settings.max_token_lifetime
        self._issuer = settings.issuer
        self._audience = frozenset(settings.audience)
        self._required = settings.required_claims
        self._typ = _media_type(settings.token_type) if settings.token_type else None
        size = settings.verified_cache_size if cache_size is None else cache_size
        self._cache_size = size
        self._cache: TokenCache[VerifiedToken] = TokenCache(size)
        # Validated headers by their base64url text: tokens of one issuer share a handful.
        self._headers: dict[str, tuple[dict[str, Any], str, str | None]] = {}

    def verify(self, token: str, now: float) -> VerifiedToken:
        """Return the verified token or raise a :class:`~jwtmiddleware.errors.TokenInvalid`.

        :param token: the compact JWS as found in the request.
        :param now: the current UNIX time (injected so tests and callers own the clock).
        """
        if self._cache_size:
            cached = self.cached(token, now)
            if cached is not None:
                return cached
        parsed = self.parse(token)
        return self.finish(parsed, self._keyset.candidates(parsed.alg, parsed.kid), now)

    def cached(self, token: str, now: float) -> VerifiedToken | None:
        """The verified token if it is in the cache and its time claims still hold at ``now``."""
        return self._cache.get(token, now)

    def clear_cache(self) -> None:
        """Forget every verified token (after the trusted keys changed)."""
        self._cache.clear()

    def parse(self, token: str) -> ParsedToken:
        """Check size, shape and header; return what the signature check needs."""
        if len(token) > self._max_bytes:
            raise TokenTooLarge(f"token is over {self._max_bytes} bytes")
        match = _COMPACT.fullmatch(token)
        if match is None:
            raise TokenMalformed(self._shape_problem(token))
        h64, p64, s64 = match.groups()
        known = self._headers.get(h64)
        if known is None:
            known = self._parse_header(h64)
        header, alg, kid = known
        signing_input = token[: len(h64) + len(p64) + 1].encode("ascii")
        return ParsedToken(token, header, alg, kid, signing_input, b64decode(s64), p64)

    def _parse_header(self, h64: str) -> tuple[dict[str, Any], str, str | None]:
        header = _object(h64, "header", strict=True)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidSignature("algorithm not allowed")
        self._check_header(header)
        kid = header.get("kid")
        # A member that is present must be well-formed: "kid": null is not "no kid".
        if "kid" in header and (not isinstance(kid, str) or not 0 < len(kid) <= _MAX_ID):
            raise InvalidSignature("kid is not a short string")
        known = (header, alg, kid)
        if len(self._headers) >= _HEADER_MEMORY:
            self._headers.clear()
        self._headers[h64] = known
        return known

    def finish(
        self, parsed: ParsedToken, keys: Sequence[VerificationKey], now: float
    ) -> VerifiedToken:
        """Check the signature with ``keys`` (the candidates for its alg and kid), then the
        claims; remember the token when everything passed."""
        if not keys:
            raise InvalidSignature("no key for this kid and algorithm")
        for key in keys:
            if key.verify(parsed.signing_input, parsed.signature):
                break
        else:
            raise InvalidSignature("signature does not verify")
        claims = Claims(_object(parsed.payload64, "payload", strict=False))
        self.check_claims(claims, now)
        verified = VerifiedToken(parsed.token, parsed.header, claims)
        if self._cache_size:
            self._cache.put(parsed.token, verified, validity_window(claims, self._leeway))
        return verified

    @staticmethod
    def _shape_problem(token: str) -> str:
        dots = token.count(".")
        if dots == 4:
            return "encrypted tokens (JWE) are not accepted"
        if token.lstrip().startswith("{"):
            return "JSON serialization is not accepted"
        if dots != 2:
            return "a compact JWS has exactly three segments"
        return "segments must be unpadded base64url"

    def _check_header(self, header: dict[str, Any]) -> None:
        if "crit" in header:
            raise TokenMalformed("crit extensions are not supported")
        if "b64" in header:
            raise TokenMalformed("unencoded payloads (b64) are not accepted")
        cty = header.get("cty")
        if "cty" in header and (not isinstance(cty, str) or _media_type(cty) == "jwt"):
            raise TokenMalformed("nested tokens (cty: JWT) are not accepted")
        typ = header.get("typ")
        if "typ" in header and not isinstance(typ, str):
            raise TokenMalformed("typ is not a string")
        if self._typ is not None:
            if typ is None or _media_type(typ) != self._typ:
                raise ClaimCheckFailed("wrong token type")
        elif typ is not None and _media_type(typ) != "jwt":
            raise ClaimCheckFailed("wrong token type")

    def check_claims(self, claims: dict[str, Any], now: float) -> None:
        """Check the registered claims of an already signature-verified payload."""
        for name in self._required:
            if name not in claims:
                raise ClaimCheckFailed(f"missing required claim {name}")
        leeway = self._leeway
        exp = _numeric(claims, "exp")
        if exp is not None and now >= exp + leeway:
            raise TokenExpired("exp has passed")
        nbf = _numeric(claims, "nbf")
        if nbf is not None and nbf > now + leeway:
            raise TokenNotYetValid("nbf is in the future")
        iat = _numeric(claims, "iat")
        if iat is not None and iat > now + leeway:
            raise TokenNotYetValid("iat is in the future")
        if self._max_lifetime is not None:
            if exp is None:
                raise ClaimCheckFailed("exp is required when MAX_TOKEN_LIFETIME is set")
            start = iat if iat is not None else now
            if exp - start > self._max_lifetime:
                raise ClaimCheckFailed("token lifetime exceeds MAX_TOKEN_LIFETIME")
        if self._issuer is not None and claims.get("iss") != self._issuer:
            raise ClaimCheckFailed("wrong issuer")
        if "aud" in claims or self._audience:
            self._check_audience(claims.get("aud"))
        for name in ("sub", "jti", "sid"):
            _short_string(claims, name)
        iss = claims.get("iss")
        if iss is not None and not isinstance(iss, str):
            raise ClaimCheckFailed("iss is not a string")

    def _check_audience(self, aud: Any) -> None:
        if not self._audience:
            raise ClaimCheckFailed("token has an audience but AUDIENCE is not configured")
        if isinstance(aud, str):
            if aud in self._audience:
                return
        elif (
            isinstance(aud, list)
            and aud
            and all(isinstance(a, str) for a in aud)
            and not self._audience.isdisjoint(aud)
        ):
            return
        raise ClaimCheckFailed("wrong audience")
