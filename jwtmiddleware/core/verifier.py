"""Verify a compact JWS access token with an injected clock (sans-IO).

PyJWT's algorithm objects check the signature; everything around them is done here, strictly
and in an order chosen so that cheap checks run first and nothing attacker-controlled is
decoded before the length cap: size, shape and base64url alphabet, header (``alg`` from the
allow-list and bound to the key, ``typ``, ``crit``, ``b64``, nested ``cty``, ``kid``),
signature, and only then the claims, with time claims compared to the ``now`` passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from . import _json
from ._lru import TokenCache
from ._segments import (
    MAX_NUMERIC,
    b64decode,
    check_header,
    decode_segment,
    json_object,
    media_type,
    numeric,
    shape_problem,
)
from .errors import (
    ClaimCheckFailed,
    InvalidSignature,
    TokenExpired,
    TokenInvalid,
    TokenMalformed,
    TokenNotYetValid,
    TokenTooLarge,
)
from .identity import Claims

if TYPE_CHECKING:
    from .keys import VerificationKey
    from .settings import Settings

__all__ = ["ParsedToken", "VerifiedToken", "Verifier", "b64decode"]

_MAX_ID = 255  # sub, jti, sid, kid
_HEADER_MEMORY = 256
_INF = math.inf
_loads = _json.loads
_PLUS, _SLASH, _EQUALS = b"+/="  # int needles: "in" is a plain memchr then


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature and registered claims were checked."""

    #: The raw compact token.
    token: str
    #: The JOSE header.
    header: dict[str, Any]
    #: The claims (read-only: shared by every request presenting the same token).
    claims: Claims


class ParsedToken(NamedTuple):
    """A token whose shape and header passed, before its signature is checked."""

    #: The compact token as presented.
    token: str
    #: The JOSE header.
    header: dict[str, Any]
    #: The header's ``alg`` (one of ``ALGORITHMS``).
    alg: str
    #: The header's ``kid``, if any.
    kid: str | None
    #: ``<header>.<payload>``: what the signature covers.
    signing_input: bytes
    #: The decoded signature.
    signature: bytes
    #: The payload segment, base64url-decoded (its JSON is parsed after the signature).
    payload: bytes


_new_parsed = tuple.__new__  # a NamedTuple without its Python-level __new__


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
        self._typ = media_type(settings.token_type) if settings.token_type else None
        size = settings.verified_cache_size if cache_size is None else cache_size
        self._cache_size = size
        self._cache: TokenCache[VerifiedToken] = TokenCache(size)
        # Validated headers by their base64url text: tokens of one issuer share a handful.
        self._headers: dict[bytes, tuple[dict[str, Any], str, str | None]] = {}

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
        return self.finish(parsed, self._keyset.candidates(parsed[2], parsed[3]), now)

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
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            raise TokenMalformed(shape_problem(token)) from None
        parts = raw.split(b".")
        # Three non-empty segments of the base64url alphabet: "+", "/" and "=" are looked for
        # here (memchr), every other stray byte is refused by the strict decoding below, which
        # covers all three segments before the signature is checked.
        if len(parts) != 3 or b"" in parts or _PLUS in raw or _SLASH in raw or _EQUALS in raw:
            raise TokenMalformed(shape_problem(token))
        h64, p64, s64 = parts
        known = self._headers.get(h64)
        if known is None:
            known = self._parse_header(h64)
        header, alg, kid = known
        signing_input = raw[: len(h64) + len(p64) + 1]
        return _new_parsed(
            ParsedToken,
            (token, header, alg, kid, signing_input, decode_segment(s64), decode_segment(p64)),
        )

    def _parse_header(self, h64: bytes) -> tuple[dict[str, Any], str, str | None]:
        header = json_object(decode_segment(h64), "header", strict=True)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidSignature("algorithm not allowed")
        check_header(header, self._typ)
        kid = header.get("kid")
        # A member that is present must be well-formed: "kid": null is not "no kid".
        if "kid" in header and (not isinstance(kid, str) or not 0 < len(kid) <= _MAX_ID):
            raise InvalidSignature("kid is not a short string", code="malformed")
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
        claims, window = self.finish_claims(parsed, keys, now)
        verified = VerifiedToken(parsed.token, parsed.header, claims)
        if self._cache_size:
            self._cache.put(parsed.token, verified, window)
        return verified

    def finish_claims(
        self, parsed: ParsedToken, keys: Sequence[VerificationKey], now: float
    ) -> tuple[Claims, tuple[float, float]]:
        """Like :meth:`finish`, without the cache: the verified claims and their validity
        window (see :meth:`check_claims`)."""
        if not keys:
            raise InvalidSignature("no key for this kid and algorithm", code="unknown_key")
        signing_input, signature = parsed[4], parsed[5]
        for key in keys:
            if key.verify(signing_input, signature):
                break
        else:
            raise InvalidSignature("signature does not verify")
        try:  # json_object(), written out: this runs once per new token
            value = _loads(parsed[6])
        except (ValueError, RecursionError, UnicodeDecodeError, TypeError) as exc:
            raise TokenMalformed("payload is not valid JSON") from exc
        if type(value) is not dict:
            raise TokenMalformed("payload is not a JSON object")
        claims = Claims(value)
        try:
            return claims, self.check_claims(claims, now)
        except TokenInvalid as exc:  # the signature held: the log line may name iss and sub
            exc.claims = claims
            raise

    def check_claims(self, claims: dict[str, Any], now: float) -> tuple[float, float]:
        """Check the registered claims of an already signature-verified payload.

        :returns: ``(not_before, expires)``: the interval of ``now`` in which the time checks
            pass (``exp``, ``nbf`` and ``iat`` with the leeway); a cache may reuse the
            verdict inside it.
        """
        for name in self._required:
            if name not in claims:
                raise ClaimCheckFailed(f"missing required claim {name}")
        get = claims.get
        leeway = self._leeway
        # exp, nbf and iat: the common case (a number in range) is tested inline; anything
        # else goes to _numeric, which refuses it with the reason.
        exp, nbf, iat = get("exp"), get("nbf"), get("iat")
        expires = _INF
        if exp is not None or "exp" in claims:
            if not ((type(exp) is int or type(exp) is float) and 0 <= exp <= MAX_NUMERIC):
                exp = numeric(claims, "exp")
            expires = exp + leeway
            if now >= expires:
                raise TokenExpired("exp has passed")
        not_before = -_INF
        if nbf is not None or "nbf" in claims:
            if not ((type(nbf) is int or type(nbf) is float) and 0 <= nbf <= MAX_NUMERIC):
                nbf = numeric(claims, "nbf")
            not_before = nbf - leeway
            if now < not_before:
                raise TokenNotYetValid("nbf is in the future")
        if iat is not None or "iat" in claims:
            if not ((type(iat) is int or type(iat) is float) and 0 <= iat <= MAX_NUMERIC):
                iat = numeric(claims, "iat")
            if iat - leeway > not_before:
                not_before = iat - leeway
            if now < iat - leeway:
                raise TokenNotYetValid("iat is in the future")
        if self._max_lifetime is not None:
            if exp is None:
                raise ClaimCheckFailed("exp is required when MAX_TOKEN_LIFETIME is set")
            start = iat if iat is not None else now
            if exp - start > self._max_lifetime:
                raise ClaimCheckFailed("token lifetime exceeds MAX_TOKEN_LIFETIME")
        iss = get("iss")
        if self._issuer is not None and iss != self._issuer:
            raise ClaimCheckFailed("wrong issuer", code="wrong_issuer")
        aud = get("aud")
        if not (type(aud) is str and aud in self._audience) and ("aud" in claims or self._audience):
            self._check_audience(aud)
        for name in ("sub", "jti", "sid"):
            value = get(name)
            if value is None and name not in claims:
                continue
            if not (isinstance(value, str) and 0 < len(value) <= _MAX_ID and value.isprintable()):
                raise ClaimCheckFailed(
                    f"{name} must be a printable string of 1 to {_MAX_ID} characters"
                )
        if iss is not None and not isinstance(iss, str):
            raise ClaimCheckFailed("iss is not a string")
        return not_before, expires

    def _check_audience(self, aud: Any) -> None:
        if not self._audience:
            raise ClaimCheckFailed(
                "token has an audience but AUDIENCE is not configured", code="wrong_audience"
            )
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
        raise ClaimCheckFailed("wrong audience", code="wrong_audience")
