"""The decision, written once: sans-IO authentication of one request.

:meth:`Authenticator.decide` takes a request view and the time. It does every pure step itself
(path rules, token extraction, verification, claim checks, CSRF, the mirror's revocation
lookups, the sliding-refresh decision) and returns the :class:`AuthResult` at once when that is
all the request needs. When it needs the outside world (a store asked per request, the request
body for a CSRF form field, a key fetch, a one-time token to consume) it returns instead the
*flow* that finishes the decision: a generator yielding effects and receiving their answers,
like ``httpx.Auth.auth_flow``, which the drivers in :mod:`.drive` run synchronously (WSGI) or
asynchronously (ASGI). Nothing here does I/O or reads a clock; the store is consulted only
after the signature and every claim check passed.

The Bearer fast lane (:meth:`Authenticator.bearer`) enters the same decision after its first
steps: it finds a request's verified token by the raw ``Authorization`` value (one dictionary
lookup on a hit) and joins at :meth:`Authenticator._settle`, the step every verified request
goes through.

::

    decide ─ path rule ─ find + verify (cache) ─ _admit (CSRF) ─ _settle (revocation, refresh)
    bearer ─────────────── verify (cache) ──────────────────────┘
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, cast

from ..core._lru import TokenCache
from ..core.claims import ClaimCheck, parse_scopes, require_scopes, run_checks
from ..core.effects import ReadForm
from ..core.errors import (
    AuthenticationError,
    ConfigurationError,
    StoreStale,
    StoreUnavailable,
    TokenMissing,
)
from ..core.identity import Claims, Credentials, Identity, build_identity
from ..core.verifier import ParsedToken, Verifier
from ..stores._changes import revocation_keys
from .csrf import CSRFGuard
from .one_time import OneTimeTokens
from .paths import EXEMPT, ONE_TIME, OPTIONAL, REQUIRED, PathRules
from .refresh import SlidingRefresh
from .results import (
    ANONYMOUS_RESULT,
    EXEMPT_RESULT,
    AuthResult,
    Decision,
    Flow,
    finish,
    with_claims,
)
from .sources import TokenSources
from .store_checks import StoreChecks

if TYPE_CHECKING:
    from ..core.settings import Settings
    from ..keysets import RemoteKeySetCache
    from ..stores.mirror import Mirror
    from ..telemetry import Telemetry
    from .sources import RequestView

__all__ = [
    "EXEMPT",
    "ONE_TIME",
    "OPTIONAL",
    "REQUIRED",
    "AuthResult",
    "Authenticator",
    "Decision",
    "PathRules",
]

logger = logging.getLogger("jwtmiddleware")

_new_result = tuple.__new__  # a NamedTuple without its Python-level __new__
_CREDENTIALS_MEMORY = 1024


class _RemoteKeysNeeded(Exception):
    """No local key fits: the decision must consult the remote key set."""

    def __init__(self, token: str, source: str, parsed: ParsedToken) -> None:
        super().__init__("remote keys needed")
        self.token, self.source, self.parsed = token, source, parsed


def _claim_checks(settings: Settings) -> tuple[ClaimCheck, ...]:
    # The settings converted import strings to callables when they were built.
    checks = [cast("ClaimCheck", check) for check in settings.claim_checks]
    if settings.required_scopes:
        checks.insert(0, require_scopes(*settings.required_scopes, claim=settings.scope_claim))
    return tuple(checks)


class Authenticator:
    """Authenticates requests for one :class:`Settings`; build it once, use it for every request.

    :param has_store: whether the caller answers store effects; defaults to whether ``STORE``
        is set (the middleware passes true for a store object given to it directly).
    :param jwks_url: the JWKS URL found by OpenID Connect discovery (``JWKS_DISCOVERY``);
        defaults to ``JWKS_URL``.
    :param mirror: the store's revocation mirror (``STORE_MAX_LAG > 0``): revocation checks
        become dictionary lookups instead of store effects.
    :param telemetry: where verifications (cache misses) are timed and counted, and the
        remote key set's fetches reported; ``None``: no metrics, nothing added.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        has_store: bool | None = None,
        jwks_url: str | None = None,
        mirror: Mirror | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.settings = settings
        self._keyset = settings.keyset
        #: The cache of keys fetched from ``JWKS_URL`` (``None`` without one).
        self.remote_keys = self._remote_key_cache(settings, jwks_url)
        self._key_generation = 0
        # Verified tokens are remembered here, as ready results, not in the verifier: by the
        # token (the full path), and by the raw Authorization value (the fast lane). The two
        # kinds of key never meet: a verified token holds no space, a header value always one.
        self.verifier = Verifier(settings, cache_size=0)
        self._cache_size = settings.verified_cache_size
        self._results: TokenCache[AuthResult] = TokenCache(self._cache_size)
        self.sources = TokenSources(settings)
        self.paths = PathRules(settings)
        self.csrf = CSRFGuard(settings)
        self.refresher = SlidingRefresh(settings)
        self._refreshes = self.refresher.enabled
        self._checks = _claim_checks(settings)
        self._scope_claim = settings.scope_claim
        # One Credentials per set of scopes: tokens of one kind share them.
        self._credentials: dict[frozenset[str], Credentials] = {}
        #: Requests let through because the store failed under ``STORE_FAILURE = "open"``.
        self.store_failures_allowed = 0
        self._fail_open = settings.store_failure == "open"
        self._csrf_cookie = settings.csrf_protection and "cookie" in settings.sources
        self._setup_store(settings, has_store, mirror)
        self._setup_fast_lane(settings)
        self._instrument(telemetry)

    @staticmethod
    def _remote_key_cache(settings: Settings, jwks_url: str | None) -> RemoteKeySetCache | None:
        url = jwks_url or settings.jwks_url
        if settings.jwks_discovery and not url:
            raise ConfigurationError("JWKS_DISCOVERY", "the discovered jwks_uri was not passed")
        if not url:
            return None
        from ..keysets import cache_for

        return cache_for(settings, url)

    def _setup_store(
        self, settings: Settings, has_store: bool | None, mirror: Mirror | None
    ) -> None:
        #: Whether a store is consulted (revocation, sessions, one-time tokens).
        self.uses_store = settings.store is not None if has_store is None else has_store
        #: The revocation mirror the store checks read (``None``: they ask the store).
        self.mirror = mirror if self.uses_store else None
        #: Whether the store is asked per request (a store without a mirror).
        self.store_effects = self.uses_store and self.mirror is None
        #: ``check_revoked(keys, now)``: the store checks of a verified request, answered by
        #: the mirror (no effect, no I/O): raises ``TokenRevoked``, or ``StoreStale`` when the
        #: mirror is older than ``STORE_MAX_LAG`` under ``STORE_FAILURE = "closed"`` (under
        #: ``"open"`` the request passes and is counted). ``None`` without a mirror.
        self.check_revoked = (
            None if self.mirror is None else self.mirror.checker(on_stale=self._when_stale)
        )
        self._store_checks = StoreChecks(self._allowed_despite)
        self._one_time = (
            OneTimeTokens(settings, self.sources, self.identity_from_claims,
                          self._store_checks, self.mirror)
            if settings.one_time_paths
            else None
        )  # fmt: skip
        #: Whether :meth:`decide` may return a flow (effects to drive) rather than a result.
        self.uses_effects = (
            self.store_effects
            or self._csrf_cookie
            or self._one_time is not None
            or self.remote_keys is not None
        )

    def _setup_fast_lane(self, settings: Settings) -> None:
        #: Whether :meth:`bearer` may answer before the full path: nothing about the request
        #: but its ``Authorization`` value can change the answer.
        self.fast_path = (
            self.remote_keys is None
            and not self.paths.has_rules
            and not self._refreshes
            and "query" not in settings.sources
            and "header" in settings.sources
            and settings.required
        )
        # Longer than this, a value is no plain Bearer token: never hashed, the full path judges.
        self._max_fast = len(settings.header_scheme) + 1 + settings.max_token_bytes
        self._plain_bearer = self.sources.plain_bearer
        # The cache's raw accessors (see TokenCache.entry): a hit costs no Python call.
        self._entry, self._touch = self._results.entry, self._results.touch

    def _instrument(self, telemetry: Telemetry | None) -> None:
        # The places a token is verified or found, and the fast lane's last step; with
        # metrics, wrapped to time misses and count what the cache and the store answered (no
        # cost without metrics: the methods themselves, or nothing to call at all).
        self._verified: Callable[..., AuthResult] = self._verify_token
        self._find_verified: Callable[[RequestView, float, str], AuthResult | None] = self._find
        self._fast_settle: Callable[[AuthResult, float], Decision] | None = (
            self._settle if self.uses_store else None
        )
        if telemetry is None:
            return
        self._verified = telemetry.timed_verification(self._verify_token)
        self._find_verified = telemetry.counted_verify(self._find)
        self._fast_settle = telemetry.counted_settle(self._settle)
        if self.remote_keys is not None:
            telemetry.watch_keys(self.remote_keys)

    # -- the decision ----------------------------------------------------------------------------

    def decide(self, view: RequestView, now: float) -> Decision:
        """Decide one request: the :class:`AuthResult`, or the flow that finishes the decision
        when it needs effects (drive it with :func:`~jwtmiddleware.integration.run_sync` or
        :func:`~jwtmiddleware.integration.run_async`). A refusal is raised."""
        rule, purpose = self._rule(view)
        if rule is EXEMPT:
            return EXEMPT_RESULT
        if rule is ONE_TIME:
            assert self._one_time is not None
            return self._one_time.flow(view, now, purpose)
        try:
            verified = self._find_verified(view, now, rule)
        except _RemoteKeysNeeded as need:
            return self._with_remote_keys(need, view, now)
        if verified is None:
            return ANONYMOUS_RESULT
        return self._admit(verified, view, now)

    def flow(self, view: RequestView, now: float) -> Flow:
        """:meth:`decide` as one generator, for callers that always drive effects."""
        return (yield from finish(self.decide(view, now)))

    def bearer(self, authorization: str | bytes, now: float) -> Decision | None:
        """The Bearer fast lane: decide a request whose only credential is ``authorization``.

        Valid only when :attr:`fast_path` is true; the caller has checked that the request has
        exactly one ``Authorization`` header (``HEADER_NAME``) and no token cookie. A hit is
        one dictionary lookup by the raw value (an ASGI header's ``bytes`` or a WSGI environ's
        ``str``); a miss verifies the token and remembers it under that value. Then the
        decision continues as for every verified request (:meth:`_settle`). ``None``: the
        value is not a plain ``Bearer <token>``, and the full path decides.
        """
        if len(authorization) > self._max_fast:
            return None  # never hash a huge header
        result: AuthResult | None
        entry = self._entry(authorization)
        if entry is not None and entry[1] <= now < entry[2]:
            try:  # noqa: SIM105 - a context manager per hit costs more
                self._touch(authorization)
            except KeyError:  # evicted meanwhile: still valid for this request
                pass
            result = entry[0]
        else:
            result = self._results.get(authorization, now)  # out of its window: refused
        if result is None:
            text = (
                authorization.decode("latin-1")
                if isinstance(authorization, bytes)
                else authorization
            )
            token = self._plain_bearer(text)
            if token is None:
                return None
            result = self._verified(token, "header", now, authorization)
        settle = self._fast_settle
        return result if settle is None else settle(result, now)

    def _rule(self, view: RequestView) -> tuple[str, str]:
        if view.method == "OPTIONS" and view.get("access-control-request-method") is not None:
            return EXEMPT, ""  # a CORS preflight never carries credentials
        return self.paths.match(view.path)

    def _admit(self, verified: AuthResult, view: RequestView, now: float) -> Decision:
        """CSRF proof for a token that rode in a cookie, then :meth:`_settle`."""
        identity = cast("Identity", verified.identity)
        if self._csrf_cookie and self.csrf.applies(view.method, identity.source):
            try:
                self.csrf.check_origin(view)
                presented = view.get(self.csrf.header)
                if presented is None and self.csrf.wants_form(view):
                    return self._csrf_from_form(verified, now)
                self.csrf.check_token(identity.claims, presented)
            except AuthenticationError as exc:
                with_claims(exc, verified)
                raise
        return self._settle(verified, now)

    def _csrf_from_form(self, verified: AuthResult, now: float) -> Flow:
        presented = yield ReadForm(self.csrf.field)
        try:
            self.csrf.check_token(verified.identity.claims, presented)
        except AuthenticationError as exc:
            with_claims(exc, verified)
            raise
        return (yield from finish(self._settle(verified, now)))

    def _settle(self, verified: AuthResult, now: float) -> Decision:
        """What every verified request goes through last: revocation (the mirror's lookups,
        or the store asked) and the sliding-refresh plan."""
        check = self.check_revoked
        if check is not None:
            try:
                check(verified[4], now)  # type: ignore[arg-type]
            except (AuthenticationError, StoreUnavailable) as exc:
                with_claims(exc, verified)
                raise
        elif self.uses_store:
            return self._asked_store(verified, now)
        return self._planned(verified, now) if self._refreshes else verified

    def _asked_store(self, verified: AuthResult, now: float) -> Flow:
        identity = cast("Identity", verified.identity)
        try:
            yield from self._store_checks.run(identity, now, fail_open=self._fail_open)
        except (AuthenticationError, StoreUnavailable) as exc:
            with_claims(exc, verified)
            raise
        return self._planned(verified, now) if self._refreshes else verified

    def _planned(self, verified: AuthResult, now: float) -> AuthResult:
        plan = self.refresher.plan(cast("Identity", verified.identity), now)
        return verified if plan is None else verified._replace(refresh=plan)

    def _with_remote_keys(self, need: _RemoteKeysNeeded, view: RequestView, now: float) -> Flow:
        from ..keysets import candidates_flow

        cache = self.remote_keys
        assert cache is not None
        parsed = need.parsed
        keys = yield from candidates_flow(cache, parsed.alg, parsed.kid, now)
        if cache.generation != self._key_generation:
            # The trusted keys changed: tokens verified with the old set are forgotten.
            self._key_generation = cache.generation
            self.clear_cache()
        claims, window = self.verifier.finish_claims(parsed, keys, now)
        verified = self._remember(need.source, claims, window, need.token)
        return (yield from finish(self._admit(verified, view, now)))

    # -- finding and verifying the token ---------------------------------------------------------

    def _find(self, view: RequestView, now: float, rule: str) -> AuthResult | None:
        """The verified caller (cached per token while its time claims hold), or ``None``."""
        found = self.sources.extract(view)
        if found is None:
            if rule is OPTIONAL:
                return None
            raise TokenMissing("no credentials")
        token, source = found
        cached = self._results.get(token, now)
        if cached is not None and cached.identity.source == source:
            return cached
        return self._verified(token, source, now)

    def _verify_token(
        self, token: str, source: str, now: float, key: Hashable = None
    ) -> AuthResult:
        """Verify a token that is not in the cache, and remember the result under ``key``
        (the raw header value on the fast lane, else the token)."""
        parsed = self.verifier.parse(token)
        keys = self._keyset.candidates(parsed.alg, parsed.kid)
        if not keys and self.remote_keys is not None:
            raise _RemoteKeysNeeded(token, source, parsed)
        claims, window = self.verifier.finish_claims(parsed, keys, now)
        return self._remember(source, claims, window, token if key is None else key)

    def _remember(
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
        keys = revocation_keys(claims) if self.mirror is not None else None
        result: AuthResult = _new_result(AuthResult, (identity, credentials, False, None, keys))
        if self._cache_size:
            self._results.put(key, result, window)
        return result

    def clear_cache(self) -> None:
        """Forget every verified token (after the trusted keys changed)."""
        self._results.clear()

    def identity_from_claims(self, claims: dict[str, Any], source: str) -> Identity:
        """Build the :class:`Identity` of verified claims."""
        get = claims.get
        return build_identity(
            get("sub"), claims, parse_scopes(claims, self._scope_claim), get("sid"),
            get("jti"), source,
        )  # fmt: skip

    # -- the store's failures --------------------------------------------------------------------

    def _when_stale(self, exc: StoreStale) -> None:
        if not self._fail_open:
            raise exc
        self._allowed_despite(exc)

    def _allowed_despite(self, exc: StoreUnavailable) -> None:
        self.store_failures_allowed += 1
        logger.warning("store unavailable, request allowed (STORE_FAILURE=open): %s", exc)
