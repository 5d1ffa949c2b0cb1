"""The decision, written once: sans-IO authentication of one request.

:meth:`Authenticator.flow` is a generator. It does every pure step itself (path rules, token
extraction, verification, claim checks, CSRF, the sliding-refresh decision) and *yields an
effect* whenever it needs the outside world (the store, or the request body for a CSRF form
field), receiving the answer back, like ``httpx.Auth.auth_flow``. The drivers in ``_drive``
answer effects synchronously (WSGI) or asynchronously (ASGI); nothing here does I/O or reads a
clock. The store is consulted only after the signature and every claim check passed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Hashable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from ..core._lru import TokenCache
from ..core.claims import ClaimCheck, parse_scopes, require_scopes, run_checks
from ..core.effects import Effect, FetchKeys, ReadForm, Sleep, StoreCall
from ..core.errors import (
    AuthenticationError,
    ClaimCheckFailed,
    ConfigurationError,
    InvalidSignature,
    StoreStale,
    StoreUnavailable,
    TokenAlreadyUsed,
    TokenMissing,
    TokenRevoked,
)
from ..core.identity import (
    ANONYMOUS,
    AnonymousIdentity,
    Claims,
    Credentials,
    Identity,
    build_identity,
)
from ..core.issuer import ONE_TIME_TOKEN_TYPE
from ..core.verifier import ParsedToken, Verifier
from ..stores._changes import GENERATION_CLAIM, RevocationKeys, revocation_keys
from ..stores.base import RevocationQuery
from .csrf import SAFE_METHODS, CSRFGuard
from .refresh import RefreshPlan, SlidingRefresh
from .sources import TokenSources

if TYPE_CHECKING:
    from ..core.keys import VerificationKey
    from ..core.settings import Settings
    from ..keysets import RemoteKeySetCache
    from ..stores.mirror import Mirror
    from ..telemetry import Telemetry
    from .sources import RequestView

__all__ = ["AuthResult", "Authenticator", "PathRules"]

logger = logging.getLogger("jwtmiddleware")

EXEMPT, OPTIONAL, REQUIRED, ONE_TIME = "exempt", "optional", "required", "one-time"
_TOUCH_INTERVAL = 60.0
_POLL_INTERVAL = 0.02
_MAX_FETCHES = 2


class _RemoteKeysNeeded(Exception):
    """No local key fits: the flow must consult the remote key set."""

    def __init__(self, token: str, source: str, parsed: ParsedToken) -> None:
        super().__init__("remote keys needed")
        self.token, self.source, self.parsed = token, source, parsed


_TOUCH_MEMORY = 10_000


class AuthResult(NamedTuple):
    """The outcome of a request that may proceed."""

    #: The caller (``ANONYMOUS`` on exempt or optional paths without a token).
    identity: Identity | AnonymousIdentity
    #: What Starlette's ``request.auth`` should hold.
    credentials: Credentials
    #: Whether the path was exempt (no ``Vary`` is added then).
    exempt: bool = False
    #: A sliding refresh to apply to the response, if the token is about to expire.
    refresh: RefreshPlan | None = None
    #: What the revocation mirror looks up for this token (computed once, cached with it).
    keys: RevocationKeys | None = None


_new_result = tuple.__new__  # a NamedTuple without its Python-level __new__
_ANONYMOUS_RESULT = AuthResult(ANONYMOUS, Credentials())
_EXEMPT_RESULT = AuthResult(ANONYMOUS, Credentials(), exempt=True)
_CREDENTIALS_MEMORY = 1024


def _refuse_stale(exc: StoreStale) -> None:
    raise exc


def _with_claims(error: AuthenticationError | StoreUnavailable, result: AuthResult) -> None:
    """Let ``error`` know the verified caller's claims (for the refusal's log line)."""
    if error.claims is None:
        error.claims = result.identity.claims


def _compile(paths: Sequence[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    exact = frozenset(p for p in paths if not p.endswith("*"))
    prefixes = tuple(p.rstrip("*") for p in paths if p.endswith("*"))
    return exact, prefixes


class PathRules:
    """``EXEMPT_PATHS``, ``OPTIONAL_PATHS`` and ``ONE_TIME_PATHS`` compiled once."""

    __slots__ = ("_default", "_rules", "has_rules")

    def __init__(self, settings: Settings) -> None:
        rules: list[tuple[str, str, frozenset[str], tuple[str, ...]]] = []
        for pair in settings.one_time_paths:
            rules.append((ONE_TIME, pair[1], *_compile([pair[0]])))
        rules.append((EXEMPT, "", *_compile(settings.exempt_paths)))
        rules.append((OPTIONAL, "", *_compile(settings.optional_paths)))
        self._rules = tuple(r for r in rules if r[2] or r[3])
        self._default = REQUIRED if settings.required else OPTIONAL
        #: Whether any path has a rule other than the default.
        self.has_rules = bool(self._rules)

    def rule(self, path: str) -> str:
        """``exempt``, ``optional``, ``required`` or ``one-time`` for a request path."""
        return self.match(path)[0]

    def match(self, path: str) -> tuple[str, str]:
        """The rule and, for one-time paths, the purpose."""
        # A dot-segment could make a prefix rule match a path the router resolves elsewhere;
        # such paths never get a prefix rule.
        plain = "/." not in path and "\\" not in path
        for rule, purpose, exact, prefixes in self._rules:
            if path in exact or (plain and prefixes and path.startswith(prefixes)):
                return rule, purpose
        return self._default, ""


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
        url = jwks_url or settings.jwks_url
        #: The cache of keys fetched from ``JWKS_URL`` (``None`` without one).
        self.remote_keys: RemoteKeySetCache | None = None
        if url:
            from ..keysets import RemoteKeySetCache

            self.remote_keys = RemoteKeySetCache(
                url,
                algorithms=settings.algorithms,
                cache_ttl=settings.jwks_cache_ttl,
                refetch_cooldown=settings.jwks_refetch_cooldown,
                max_stale=settings.jwks_max_stale,
                max_bytes=settings.jwks_max_bytes,
                allow_http_loopback=settings.jwks_allow_http_loopback,
                timeout=settings.jwks_timeout,
            )
        if settings.jwks_discovery and self.remote_keys is None:
            raise ConfigurationError("JWKS_DISCOVERY", "the discovered jwks_uri was not passed")
        self._key_generation = 0
        # Verified tokens are remembered here, as ready results, not in the verifier.
        self.verifier = Verifier(settings, cache_size=0)
        self._cache_size = settings.verified_cache_size
        self._results: TokenCache[AuthResult] = TokenCache(self._cache_size)
        # Results by the raw Authorization value, for the shortcut (bearer()).
        self._header_results: TokenCache[AuthResult] = TokenCache(self._cache_size)
        #: ``cached_header(raw, now)``: the result :meth:`bearer` remembered for this exact
        #: ``Authorization`` value (an ASGI header's ``bytes`` or a WSGI environ's ``str``),
        #: if its time claims hold at ``now`` (an expired entry raises its refusal). The
        #: cheapest answer there is: one dictionary lookup. The caller checks what
        #: :meth:`bearer` checks outside the header (one such header, no token cookie).
        self.cached_header = self._header_results.get
        #: The cache behind :attr:`cached_header`, for callers that look entries up inline.
        self.header_results = self._header_results
        self._leeway = settings.leeway
        self.sources = TokenSources(settings)
        self.paths = PathRules(settings)
        self.csrf = CSRFGuard(settings)
        self.refresher = SlidingRefresh(settings)
        # The settings converted import strings to callables when they were built.
        checks = [cast("ClaimCheck", check) for check in settings.claim_checks]
        if settings.required_scopes:
            checks.insert(0, require_scopes(*settings.required_scopes, claim=settings.scope_claim))
        self._checks = tuple(checks)
        self._scope_claim = settings.scope_claim
        # The one-time verifier's settings must validate whatever the access-token settings
        # are: no sliding refresh, and an access TTL within its MAX_TOKEN_LIFETIME.
        self._one_time = (
            Verifier(settings.replace(token_type=ONE_TIME_TOKEN_TYPE, required_claims=("exp",
                     "jti", "purpose", "res"), max_token_lifetime=3600.0, refresh_threshold=None,
                     access_token_ttl=min(settings.access_token_ttl, 3600.0)))
            if settings.one_time_paths
            else None
        )  # fmt: skip
        #: Whether a store is consulted (revocation, sessions, one-time tokens).
        self.uses_store = settings.store is not None if has_store is None else has_store
        #: The revocation mirror the store checks read (``None``: they ask the store).
        self.mirror = mirror if self.uses_store else None
        #: Whether the store checks of a request are effects (no mirror).
        self.store_effects = self.uses_store and self.mirror is None
        #: ``check_revoked(keys, now)``: the store checks of a verified request, answered by
        #: the mirror (no effect, no I/O): raises ``TokenRevoked``, or ``StoreStale`` when the
        #: mirror is older than ``STORE_MAX_LAG`` under ``STORE_FAILURE = "closed"`` (under
        #: ``"open"`` the request passes and is counted). ``None`` without a mirror.
        self.check_revoked = (
            None if self.mirror is None else self.mirror.checker(on_stale=self._when_stale)
        )
        # One-time tokens: STORE_FAILURE=open does not apply, a stale mirror refuses.
        self._strict_check = None if self.mirror is None else self.mirror.checker(_refuse_stale)
        self._csrf_cookie = settings.csrf_protection and "cookie" in settings.sources
        #: Whether :meth:`flow` can yield effects at all; when false, :meth:`decide` suffices.
        self.uses_effects = self.store_effects or self._csrf_cookie or bool(settings.one_time_paths)
        self._fail_open = settings.store_failure == "open"
        self._prefix = settings.header_scheme.lower() + " "
        self._prefix_len = len(self._prefix)
        self._max_fast = self._prefix_len + settings.max_token_bytes
        self._cookie_key = settings.access_cookie_name + "="
        #: Whether :meth:`bearer` may answer before the full path.
        self.fast_path = (
            self.remote_keys is None
            and not self.paths.has_rules
            and not self.refresher.enabled
            and "query" not in settings.sources
            and "header" in settings.sources
            and settings.required
        )
        self._touched: dict[str, float] = {}
        # One Credentials per set of scopes: tokens of one kind share them.
        self._credentials: dict[frozenset[str], Credentials] = {}
        #: Requests let through because the store failed under ``STORE_FAILURE = "open"``.
        self.store_failures_allowed = 0
        # The two places a token is verified or found; with metrics, wrapped to time misses and
        # count what the cache answered (no cost without metrics: the methods themselves).
        self._verified: Callable[..., AuthResult] = self._verify_token
        self._verify: Callable[[RequestView, float, str], AuthResult | None] = self._find
        if telemetry is not None:
            self._verified = telemetry.timed_verification(self._verify_token)
            self._verify = telemetry.counted_verify(self._find)
            if self.remote_keys is not None:
                telemetry.watch_keys(self.remote_keys)

    # -- pure steps ----------------------------------------------------------------------------

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
        self, token: str, source: str, now: float, header: Hashable = None
    ) -> AuthResult:
        """Verify a token that is not in the cache, and remember the result (by the raw
        ``header`` value when given, else by the token)."""
        parsed = self.verifier.parse(token)
        keys = self._keyset.candidates(parsed.alg, parsed.kid)
        if not keys and self.remote_keys is not None:
            raise _RemoteKeysNeeded(token, source, parsed)
        claims, window = self.verifier.finish_claims(parsed, keys, now)
        result = self._remember(source, claims)
        if self._cache_size:
            if header is None:
                self._results.put(token, result, window)
            else:
                self._header_results.put(header, result, window)
        return result

    def _remember(self, source: str, claims: Claims) -> AuthResult:
        """The result for verified claims: custom checks, identity, credentials."""
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
        return result

    def clear_cache(self) -> None:
        """Forget every verified token (after the trusted keys changed)."""
        self._results.clear()
        self._header_results.clear()

    def identity_from_claims(self, claims: dict[str, Any], source: str) -> Identity:
        """Build the :class:`Identity` of verified claims."""
        get = claims.get
        return build_identity(
            get("sub"),
            claims,
            parse_scopes(claims, self._scope_claim),
            get("sid"),
            get("jti"),
            source,
        )

    def _result(self, base: AuthResult, now: float) -> AuthResult:
        if self.refresher.enabled:
            plan = self.refresher.plan(cast("Identity", base.identity), now)
            if plan is not None:
                return base._replace(refresh=plan)
        return base

    def _rule(self, view: RequestView) -> tuple[str, str]:
        if view.method == "OPTIONS" and view.get("access-control-request-method") is not None:
            return EXEMPT, ""  # a CORS preflight never carries credentials
        return self.paths.match(view.path)

    def bearer(
        self, authorization: str | None, cookie: str | None, now: float, *, raw: Hashable = None
    ) -> AuthResult | None:
        """Authenticate a request whose only credential is a plain ``Bearer`` header.

        The shortcut the middleware try before building a request view; only valid when
        :attr:`fast_path` is true (no remote keys, path rules, query source or sliding
        refresh); with a store, the caller runs :meth:`store_checks` on the result. It answers
        only when the request holds exactly that one credential: the cached result, or the
        token verified and remembered, or the refusal raised. Anything else (another scheme, a
        token cookie too, stray whitespace) returns ``None`` and takes the full path, which
        gives every answer the shortcut does not.

        :param authorization: the ``Authorization`` header (``HEADER_NAME``), if present once.
        :param cookie: the ``Cookie`` header, if any.
        :param now: the current UNIX time.
        :param raw: the header as the server gave it, when :attr:`cached_header` had no
            entry for it: the token is verified and remembered under ``raw``.
        """
        if authorization is None or len(authorization) > self._max_fast:
            return None  # absent, or too long to be a token: the full path decides
        if authorization[: self._prefix_len].lower() != self._prefix:
            return None
        if cookie is not None and self._cookie_key in cookie:
            return None
        token = authorization[self._prefix_len :]
        if not token or " " in token or "," in token or "\t" in token:
            return None
        if raw is not None:
            return self._verified(token, "header", now, raw)
        result = self._results.get(token, now)
        if result is not None and result.identity.source == "header":
            return result
        return self._verified(token, "header", now)

    def needs_flow(self, view: RequestView) -> bool:
        """Whether this request may need effects (a store without a mirror, a one-time token,
        remote keys, or a CSRF form field to read); when false, :meth:`decide` gives the same
        answer without a generator."""
        return (
            self.store_effects
            or self._one_time is not None
            or self.remote_keys is not None
            or (self._csrf_cookie and view.method not in SAFE_METHODS)
        )

    def decide(self, view: RequestView, now: float) -> AuthResult:
        """Authenticate without effects (valid only when :meth:`needs_flow` is false)."""
        rule, _ = self._rule(view)
        if rule is EXEMPT:
            return _EXEMPT_RESULT
        try:
            verified = self._verify(view, now, rule)
        except _RemoteKeysNeeded as need:  # only flow() can fetch keys
            raise InvalidSignature(
                "no key for this kid and algorithm", code="unknown_key"
            ) from need
        if verified is None:
            return _ANONYMOUS_RESULT
        if self.check_revoked is not None:
            try:
                self.check_revoked(verified[4], now)  # type: ignore[arg-type]
            except (TokenRevoked, StoreUnavailable) as exc:
                _with_claims(exc, verified)
                raise
        return self._result(verified, now)

    def _when_stale(self, exc: StoreStale) -> None:
        if not self._fail_open:
            raise exc
        self._allowed_despite(exc)

    def _allowed_despite(self, exc: StoreUnavailable) -> None:
        self.store_failures_allowed += 1
        logger.warning("store unavailable, request allowed (STORE_FAILURE=open): %s", exc)

    # -- the flow ------------------------------------------------------------------------------

    def flow(self, view: RequestView, now: float) -> Generator[Effect, Any, AuthResult]:
        """Authenticate one request, yielding effects for the store and the request body."""
        rule, purpose = self._rule(view)
        if rule is EXEMPT:
            return _EXEMPT_RESULT
        if rule is ONE_TIME:
            return (yield from self._one_time_flow(view, now, purpose))
        try:
            verified = self._verify(view, now, rule)
        except _RemoteKeysNeeded as need:
            parsed = need.parsed
            keys = yield from self._remote_candidates(parsed.alg, parsed.kid, now)
            claims, window = self.verifier.finish_claims(parsed, keys, now)
            verified = self._remember(need.source, claims)
            if self._cache_size:
                self._results.put(need.token, verified, window)
        if verified is None:
            return _ANONYMOUS_RESULT
        identity = cast("Identity", verified.identity)
        try:
            if self.csrf.applies(view.method, identity.source):
                self.csrf.check_origin(view)
                presented = view.get(self.csrf.header)
                if presented is None and self.csrf.wants_form(view):
                    presented = yield ReadForm(self.csrf.field)
                self.csrf.check_token(identity.claims, presented)
            if self.check_revoked is not None:
                self.check_revoked(verified[4], now)  # type: ignore[arg-type]
            elif self.uses_store:
                yield from self._store_checks(identity, now, fail_open=self._fail_open)
        except (AuthenticationError, StoreUnavailable) as exc:
            _with_claims(exc, verified)
            raise
        return self._result(verified, now)

    def store_checks(self, identity: Identity, now: float) -> Generator[Effect, Any, None]:
        """The store's part of a request (revocation, session activity) for a caller already
        verified, as a flow of effects; what :meth:`flow` runs last, for the shortcut."""
        return self._store_checks(identity, now, fail_open=self._fail_open)

    def _store_checks(
        self, identity: Identity, now: float, *, fail_open: bool
    ) -> Generator[Effect, Any, None]:
        claims = identity.claims
        iat = claims.get("iat")
        query = RevocationQuery(
            issuer=claims.get("iss") or "",
            subject=identity.subject,
            token_id=identity.token_id,
            session_id=identity.session_id,
            issued_at=float(iat) if isinstance(iat, int | float) else None,
            generation=gen if isinstance(gen := claims.get(GENERATION_CLAIM), int) else None,
        )
        try:
            revoked = yield StoreCall("is_revoked", (query,), {"now": now})
        except StoreUnavailable as exc:
            if not fail_open:
                raise
            self._allowed_despite(exc)
            return
        if revoked:
            error = TokenRevoked("revoked in the store")
            error.claims = claims
            raise error
        sid = identity.session_id
        if sid is not None and self._touch_due(sid, now):
            try:
                yield StoreCall("touch_session", (sid,), {"now": now})
            except StoreUnavailable as exc:
                logger.warning("could not record session activity: %s", exc)

    def _one_time_flow(
        self, view: RequestView, now: float, purpose: str
    ) -> Generator[Effect, Any, AuthResult]:
        assert self._one_time is not None
        token = self.sources.extract_one_time(view, self.settings.query_parameter)
        if token is None:
            raise TokenMissing("no one-time token")
        claims = self._one_time.verify(token, now).claims
        if claims.get("purpose") != purpose or claims.get("res") != view.path:
            raise ClaimCheckFailed("one-time token for another purpose or resource")
        identity = self.identity_from_claims(claims, "one-time")
        # STORE_FAILURE=open does not apply: a one-time token that cannot be checked and
        # marked used is refused.
        if self._strict_check is not None:
            self._strict_check(revocation_keys(claims), now)  # stale: StoreStale, refused
        else:
            yield from self._store_checks(identity, now, fail_open=False)
        key = f"ott:{claims.get('iss') or ''}:{claims['jti']}"
        expires = float(claims["exp"]) + self.settings.leeway
        if not (yield StoreCall("consume_once", (key,), {"expires_at": expires, "now": now})):
            raise TokenAlreadyUsed("one-time token already used", code="one_time_used")
        return AuthResult(identity, Credentials(identity.scopes))

    def _remote_candidates(
        self, alg: str, kid: str | None, now: float
    ) -> Generator[Effect, Any, tuple[VerificationKey, ...]]:
        """Keys from ``JWKS_URL``, fetching when the cache asks for it (at most a few times
        per request; concurrent requests wait briefly for a fetch already in flight)."""
        from ..keysets import KeyFetchError

        cache = self.remote_keys
        assert cache is not None
        candidates, fetch = cache.lookup(alg, kid, now)
        fetches, polls = 0, int(cache.timeout / _POLL_INTERVAL) + 1
        while fetch is not None or (not candidates and cache.in_flight(now) and polls > 0):
            if fetch is not None:
                fetches += 1
                try:
                    status, headers, body = yield FetchKeys(fetch)
                except KeyFetchError as exc:
                    cache.on_failure(now, exc.reason)
                else:
                    cache.on_response(status, headers, body, now)
                if cache.generation != self._key_generation:
                    # The trusted keys changed: tokens verified with the old set are forgotten.
                    self._key_generation = cache.generation
                    self.clear_cache()
            else:
                polls -= 1
                yield Sleep(_POLL_INTERVAL)
            candidates, fetch = cache.lookup(alg, kid, now)
            if fetches >= _MAX_FETCHES:
                break
        return candidates

    def _touch_due(self, sid: str, now: float) -> bool:
        last = self._touched.get(sid)
        if last is not None and now - last < _TOUCH_INTERVAL:
            return False
        if len(self._touched) >= _TOUCH_MEMORY:
            self._touched.clear()
        self._touched[sid] = now
        return True
