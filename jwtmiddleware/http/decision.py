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

The Bearer fast lane (:mod:`.fast_lane`, ``Authenticator.bearer``) enters the same decision
after its first steps: it finds a request's verified token by the raw ``Authorization`` value
(one dictionary lookup on a hit) and joins at :meth:`Authenticator._settle`, the step every
verified request goes through.

::

    decide ─ path rule ─ find + verify (cache) ─ _admit (CSRF) ─ _settle (revocation, refresh)
    bearer ─────────────── verify (cache) ──────────────────────┘
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from ..core.effects import ReadForm
from ..core.errors import (
    AuthenticationError,
    ConfigurationError,
    StoreUnavailable,
)
from ..core.identity import Identity
from .csrf import CSRFGuard
from .fast_lane import BearerLane, fast_lane_applies
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
from .verification import RemoteKeysNeeded, TokenVerification

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
        #: The cache of keys fetched from ``JWKS_URL`` (``None`` without one).
        self.remote_keys = self._remote_key_cache(settings, jwks_url)
        self.sources = TokenSources(settings)
        self.paths = PathRules(settings)
        self.csrf = CSRFGuard(settings)
        self.refresher = SlidingRefresh(settings)
        self._refreshes = self.refresher.enabled
        uses_store = settings.store is not None if has_store is None else has_store
        self._tokens = TokenVerification(
            settings, self.sources, remote_keys=self.remote_keys is not None,
            mirrored=uses_store and mirror is not None,
        )  # fmt: skip
        #: The verifier (signature and claims) behind every decision.
        self.verifier = self._tokens.verifier
        self._results = self._tokens.results
        #: ``identity_from_claims(claims, source)``: the :class:`Identity` of verified claims.
        self.identity_from_claims = self._tokens.identity_from_claims
        self._store_checks = StoreChecks(fail_open=settings.store_failure == "open")
        self._csrf_cookie = settings.csrf_protection and "cookie" in settings.sources
        self._setup_store(uses_store, mirror)
        #: Whether :attr:`bearer` may answer before the full path: nothing about the request
        #: but its ``Authorization`` value can change the answer.
        self.fast_path = (
            self.remote_keys is None
            and not self._refreshes
            and fast_lane_applies(settings, self.paths)
        )
        self._instrument(telemetry)
        #: ``bearer(authorization, now)``: the Bearer fast lane (see :class:`BearerLane`).
        self.bearer = BearerLane(
            settings, self._results, self.sources, self._tokens.verified, self._fast_settle
        ).decide

    @staticmethod
    def _remote_key_cache(settings: Settings, jwks_url: str | None) -> RemoteKeySetCache | None:
        url = jwks_url or settings.jwks_url
        if settings.jwks_discovery and not url:
            raise ConfigurationError("JWKS_DISCOVERY", "the discovered jwks_uri was not passed")
        if not url:
            return None
        from ..keysets import cache_for

        return cache_for(settings, url)

    def _setup_store(self, uses_store: bool, mirror: Mirror | None) -> None:
        #: Whether a store is consulted (revocation, sessions, one-time tokens).
        self.uses_store = uses_store
        #: The revocation mirror the store checks read (``None``: they ask the store).
        self.mirror = mirror if self.uses_store else None
        #: Whether the store is asked per request (a store without a mirror).
        self.store_effects = self.uses_store and self.mirror is None
        #: ``check_revoked(keys, now)``: the store checks of a verified request, answered by
        #: the mirror (no effect, no I/O): raises ``TokenRevoked``, or ``StoreStale`` when the
        #: mirror is older than ``STORE_MAX_LAG`` under ``STORE_FAILURE = "closed"`` (under
        #: ``"open"`` the request passes and is counted). ``None`` without a mirror.
        self.check_revoked = (
            None if self.mirror is None else self.mirror.checker(self._store_checks.when_stale)
        )
        self._one_time = (
            OneTimeTokens(self.settings, self.sources, self.identity_from_claims,
                          self._store_checks, self.mirror)
            if self.settings.one_time_paths
            else None
        )  # fmt: skip
        #: Whether :meth:`decide` may return a flow (effects to drive) rather than a result.
        self.uses_effects = (
            self.store_effects
            or self._csrf_cookie
            or self._one_time is not None
            or self.remote_keys is not None
        )

    def _instrument(self, telemetry: Telemetry | None) -> None:
        # The places a token is verified or found, and the fast lane's last step; with
        # metrics, wrapped to time misses and count what the cache and the store answered (no
        # cost without metrics: the methods themselves, or nothing to call at all).
        self._find_verified: Callable[[RequestView, float, str], AuthResult | None] = (
            self._tokens.find
        )
        self._fast_settle: Callable[[AuthResult, float], Decision] | None = (
            self._settle if self.uses_store else None
        )
        if telemetry is None:
            return
        self._tokens.instrument(telemetry)
        self._find_verified = telemetry.counted_verify(self._tokens.find)
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
        except RemoteKeysNeeded as need:
            return self._with_remote_keys(need, view, now)
        if verified is None:
            return ANONYMOUS_RESULT
        return self._admit(verified, view, now)

    def flow(self, view: RequestView, now: float) -> Flow:
        """:meth:`decide` as one generator, for callers that always drive effects."""
        return (yield from finish(self.decide(view, now)))

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
            yield from self._store_checks.run(identity, now)
        except (AuthenticationError, StoreUnavailable) as exc:
            with_claims(exc, verified)
            raise
        return self._planned(verified, now) if self._refreshes else verified

    def _planned(self, verified: AuthResult, now: float) -> AuthResult:
        plan = self.refresher.plan(cast("Identity", verified.identity), now)
        return verified if plan is None else verified._replace(refresh=plan)

    def _with_remote_keys(self, need: RemoteKeysNeeded, view: RequestView, now: float) -> Flow:
        from ..keysets import candidates_flow

        cache = self.remote_keys
        assert cache is not None
        keys = yield from candidates_flow(cache, need.parsed.alg, need.parsed.kid, now)
        verified = self._tokens.with_fetched_keys(need, keys, now, cache.generation)
        return (yield from finish(self._admit(verified, view, now)))

    @property
    def store_failures_allowed(self) -> int:
        """Requests let through because the store failed under ``STORE_FAILURE = "open"``."""
        return self._store_checks.allowed

    def clear_cache(self) -> None:
        """Forget every verified token (after the trusted keys changed)."""
        self._results.clear()
