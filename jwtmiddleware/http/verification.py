"""Finding a request's token, verifying it, and remembering the verified caller.

Verified tokens are remembered as ready :class:`AuthResult` values (identity, credentials and
the mirror's lookup keys) in one :class:`~jwtmiddleware.core._lru.TokenCache`, while their time
claims hold: by the token on the full path, and by the raw ``Authorization`` value on the
Bearer fast lane. The two kinds of key never meet: a verified token holds no space, a header
value always one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, cast

from ..core._lru import TokenCache
from ..core.claims import ClaimCheck, parse_scopes, require_scopes, run_checks
from ..core.errors import AuthenticationError, TokenMissing
from ..core.identity import Claims, Credentials, Identity, build_identity
from ..core.verifier import ParsedToken, Verifier
from ..stores._changes import revocation_keys
from .paths import OPTIONAL
from .results import AuthResult

if TYPE_CHECKING:
    from ..core.keys import VerificationKey
    from ..core.settings import Settings
    from ..telemetry import Telemetry
    from .sources import TokenSources
    from .views import RequestView

__all__ = ["RemoteKeysNeeded", "TokenVerification"]

_new_result = tuple.__new__  # a NamedTuple without its Python-level __new__
_CREDENTIALS_MEMORY = 1024


class RemoteKeysNeeded(Exception):
    """No local key fits: the decision must consult the remote key set."""

    def __init__(self, token: str, source: str, parsed: ParsedToken) -> None:
        super().__init__("remote keys needed")
        self.token, self.source, self.parsed = token, source, parsed


def claim_checks(settings: Settings) -> tuple[ClaimCheck, ...]:
    """``REQUIRED_SCOPES`` first, then ``CLAIM_CHECKS`` (callables since the settings were
    built)."""
    checks = [cast("ClaimCheck", check) for check in settings.claim_checks]
    if settings.required_scopes:
        checks.insert(0, require_scopes(*settings.required_scopes, claim=settings.scope_claim))
    return tuple(checks)


class TokenVerification:
    """Finds, verifies and remembers tokens for one :class:`Settings`.

    :param remote_keys: whether keys may come from a remote key set: a token no local key fits
        raises :class:`RemoteKeysNeeded` instead of being refused.
    :param mirrored: whether results carry the revocation mirror's lookup keys.
    """

    def __init__(
        self, settings: Settings, sources: TokenSources, *, remote_keys: bool, mirrored: bool
    ) -> None:
        self.verifier = Verifier(settings, cache_size=0)
        self._keyset = settings.keyset
        self._sources = sources
        self._remote_keys = remote_keys
        self._mirrored = mirrored
        self._cache_size = settings.verified_cache_size
        #: The verified results.
        self.results: TokenCache[AuthResult] = TokenCache(self._cache_size)
        self._checks = claim_checks(settings)
        self._scope_claim = settings.scope_claim
        # One Credentials per set of scopes: tokens of one kind share them.
        self._credentials: dict[frozenset[str], Credentials] = {}
        self._key_generation = 0
        #: ``verified(token, source, now, key=None)``: :meth:`verify`, or with metrics the same
        #: timed and counted as a cache miss (see :meth:`instrument`).
        self.verified: Callable[..., AuthResult] = self.verify

    def find(self, view: RequestView, now: float, rule: str) -> AuthResult | None:
        """The verified caller (cached per token while its time claims hold), or ``None`` on an
        ``optional`` path without a token."""
        found = self._sources.extract(view)
        if found is None:
            if rule is OPTIONAL:
                return None
            raise TokenMissing("no credentials")
        token, source = found
        cached = self.results.get(token, now)
        if cached is not None and cached.identity.source == source:
            return cached
        return self.verified(token, source, now)

    def instrument(self, telemetry: Telemetry) -> None:
        """Time verifications (cache misses) and count them into ``telemetry``."""
        self.verified = telemetry.timed_verification(self.verify)

    def verify(self, token: str, source: str, now: float, key: Hashable = None) -> AuthResult:
        """Verify a token that is not in the cache, and remember the result under ``key``
        (the raw header value on the fast lane, else the token)."""
        parsed = self.verifier.parse(token)
        keys = self._keyset.candidates(parsed.alg, parsed.kid)
        if not keys and self._remote_keys:
            raise RemoteKeysNeeded(token, source, parsed)
        claims, window = self.verifier.finish_claims(parsed, keys, now)
        return self.remember(source, claims, window, token if key is None else key)

    def with_fetched_keys(
        self, need: RemoteKeysNeeded, keys: tuple[VerificationKey, ...], now: float, generation: int
    ) -> AuthResult:
        """Finish verifying ``need``'s token with ``keys`` from the remote key set, whose
        ``generation`` tells whether the trusted keys changed since the last time: then every
        token verified with the old set is forgotten first."""
        if generation != self._key_generation:
            self._key_generation = generation
            self.results.clear()
        claims, window = self.verifier.finish_claims(need.parsed, keys, now)
        return self.remember(need.source, claims, window, need.token)

    def remember(
        self, source: str, claims: Claims, window: tuple[float, float], key: Hashable
    ) -> AuthResult:
        """The result for verified claims (custom checks, identity, credentials), cached."""
        try:
            if self._checks:
                run_checks(self._checks, claims)
            identity = self.identity_from_claims(claims, source)
        except AuthenticationError as exc:  # the signature held: the log line may name sub
            exc.claims = claims
            raise
        scopes = identity.scopes
        credentials = self._credentials.get(scopes)
        if credentials is None:
            if len(self._credentials) >= _CREDENTIALS_MEMORY:
                self._credentials.clear()
            credentials = self._credentials[scopes] = Credentials(scopes)
        keys = revocation_keys(claims) if self._mirrored else None
        result: AuthResult = _new_result(AuthResult, (identity, credentials, False, None, keys))
        if self._cache_size:
            self.results.put(key, result, window)
        return result

    def identity_from_claims(self, claims: dict[str, Any], source: str) -> Identity:
        """Build the :class:`Identity` of verified claims."""
        get = claims.get
        return build_identity(
            get("sub"), claims, parse_scopes(claims, self._scope_claim), get("sid"),
            get("jti"), source,
        )  # fmt: skip
