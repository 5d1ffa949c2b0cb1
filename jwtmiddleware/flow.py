"""The decision, written once: sans-IO authentication of one request.

:meth:`Authenticator.flow` is a generator. It does every pure step itself (path rules, token
extraction, verification, claim checks) and *yields an effect* whenever it needs the outside
world, receiving the answer back, like ``httpx.Auth.auth_flow``. The drivers in ``_drive``
answer effects synchronously (WSGI) or asynchronously (ASGI); nothing here does I/O or reads a
clock.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from .claims import ClaimCheck, parse_scopes, require_scopes, run_checks
from .errors import StoreUnavailable, TokenMissing, TokenRevoked
from .identity import ANONYMOUS, AnonymousIdentity, Credentials, Identity
from .sources import TokenSources
from .stores.base import RevocationQuery
from .verifier import Verifier

if TYPE_CHECKING:
    from .settings import Settings
    from .sources import RequestView

__all__ = ["AuthResult", "Authenticator", "CheckRevoked", "Effect", "PathRules", "TouchSession"]

logger = logging.getLogger("jwtmiddleware")

EXEMPT, OPTIONAL, REQUIRED = "exempt", "optional", "required"
_TOUCH_INTERVAL = 60.0
_TOUCH_MEMORY = 10_000


@dataclass(frozen=True, slots=True)
class CheckRevoked:
    """Effect: ask the store whether the token, its session or its subject was revoked."""

    query: RevocationQuery
    now: float


@dataclass(frozen=True, slots=True)
class TouchSession:
    """Effect: record that a session was seen (throttled; failures are ignored)."""

    session_id: str
    now: float


Effect = CheckRevoked | TouchSession


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The outcome of a request that may proceed."""

    #: The caller (``ANONYMOUS`` on exempt or optional paths without a token).
    identity: Identity | AnonymousIdentity
    #: What Starlette's ``request.auth`` should hold.
    credentials: Credentials
    #: Whether the path was exempt (no ``Vary`` is added then).
    exempt: bool = False


_ANONYMOUS_RESULT = AuthResult(ANONYMOUS, Credentials())
_EXEMPT_RESULT = AuthResult(ANONYMOUS, Credentials(), exempt=True)


class PathRules:
    """``EXEMPT_PATHS``/``OPTIONAL_PATHS`` compiled into exact sets and prefix tuples."""

    __slots__ = ("_default", "_exempt", "_exempt_prefixes", "_optional", "_optional_prefixes")

    def __init__(self, settings: Settings) -> None:
        self._exempt, self._exempt_prefixes = self._compile(settings.exempt_paths)
        self._optional, self._optional_prefixes = self._compile(settings.optional_paths)
        self._default = REQUIRED if settings.required else OPTIONAL

    @staticmethod
    def _compile(paths: Sequence[str]) -> tuple[frozenset[str], tuple[str, ...]]:
        exact = frozenset(p for p in paths if not p.endswith("*"))
        prefixes = tuple(p.rstrip("*") for p in paths if p.endswith("*"))
        return exact, prefixes

    def rule(self, path: str) -> str:
        """``exempt``, ``optional`` or ``required`` for a request path."""
        if path in self._exempt:
            return EXEMPT
        if path in self._optional:
            return OPTIONAL
        # A dot-segment could make a prefix rule match a path the router resolves elsewhere;
        # such paths never get the relaxed rule.
        if (self._exempt_prefixes or self._optional_prefixes) and (
            "/." not in path and "\\" not in path
        ):
            if self._exempt_prefixes and path.startswith(self._exempt_prefixes):
                return EXEMPT
            if self._optional_prefixes and path.startswith(self._optional_prefixes):
                return OPTIONAL
        return self._default


class Authenticator:
    """Authenticates requests for one :class:`Settings`; build it once, use it for every request."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.verifier = Verifier(settings)
        self.sources = TokenSources(settings)
        self.paths = PathRules(settings)
        # The settings converted import strings to callables when they were built.
        checks = [cast("ClaimCheck", check) for check in settings.claim_checks]
        if settings.required_scopes:
            checks.insert(0, require_scopes(*settings.required_scopes, claim=settings.scope_claim))
        self._checks = tuple(checks)
        self._scope_claim = settings.scope_claim
        #: Whether :meth:`flow` can yield effects (a store is configured).
        self.uses_store = settings.store is not None
        self._fail_open = settings.store_failure == "open"
        self._touched: dict[str, float] = {}
        #: Requests let through because the store failed under ``STORE_FAILURE = "open"``.
        self.store_failures_allowed = 0

    def decide(self, view: RequestView, now: float) -> tuple[AuthResult, Identity | None]:
        """The pure part: path rules, extraction, verification and claim checks."""
        rule = self.paths.rule(view.path)
        if rule is EXEMPT:
            return _EXEMPT_RESULT, None
        found = self.sources.extract(view)
        if found is None:
            if rule is OPTIONAL:
                return _ANONYMOUS_RESULT, None
            raise TokenMissing("no credentials")
        token, source = found
        claims = self.verifier.verify(token, now).claims
        run_checks(self._checks, claims)
        identity = self.identity_from_claims(claims, source)
        return AuthResult(identity, Credentials(identity.scopes)), identity

    def identity_from_claims(self, claims: dict[str, Any], source: str) -> Identity:
        """Build the :class:`Identity` of verified claims."""
        return Identity(
            subject=claims.get("sub"),
            claims=claims,
            scopes=parse_scopes(claims, self._scope_claim),
            session_id=claims.get("sid"),
            token_id=claims.get("jti"),
            source=source,
        )

    def flow(self, view: RequestView, now: float) -> Generator[Effect, Any, AuthResult]:
        """Authenticate one request, yielding effects for the store when one is configured."""
        result, identity = self.decide(view, now)
        if identity is None or not self.uses_store:
            return result
        claims = identity.claims
        iat = claims.get("iat")
        query = RevocationQuery(
            issuer=claims.get("iss") or "",
            subject=identity.subject,
            token_id=identity.token_id,
            session_id=identity.session_id,
            issued_at=float(iat) if isinstance(iat, int | float) else None,
        )
        try:
            revoked = yield CheckRevoked(query, now)
        except StoreUnavailable as exc:
            if not self._fail_open:
                raise
            self.store_failures_allowed += 1
            logger.warning("store unavailable, request allowed (STORE_FAILURE=open): %s", exc)
            revoked = False
        if revoked:
            raise TokenRevoked("revoked in the store")
        sid = identity.session_id
        if sid is not None and self._touch_due(sid, now):
            try:
                yield TouchSession(sid, now)
            except StoreUnavailable as exc:
                logger.warning("could not record session activity: %s", exc)
        return result

    def _touch_due(self, sid: str, now: float) -> bool:
        last = self._touched.get(sid)
        if last is not None and now - last < _TOUCH_INTERVAL:
            return False
        if len(self._touched) >= _TOUCH_MEMORY:
            self._touched.clear()
        self._touched[sid] = now
        return True
