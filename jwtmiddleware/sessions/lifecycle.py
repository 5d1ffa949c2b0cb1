"""A user's whole session, decided once (sans-IO): login, refresh with rotation, logout.

Each operation is a generator yielding :mod:`~jwtmiddleware.effects` for the store, so
:class:`~jwtmiddleware.manager.SessionManager` can drive it synchronously or asynchronously.

Refresh-token rotation with reuse detection (RFC 9700 §4.14.2): every refresh consumes the
presented refresh token atomically and issues a new pair in the same session. A consumed token
presented again revokes the session and emits ``authn_token_reuse``, except within
``REFRESH_REUSE_GRACE`` seconds, when concurrent refreshes of one token (two tabs, a retry)
receive the same successor instead of a lockout.

Events carry the OWASP logging vocabulary (:mod:`jwtmiddleware.events`); a flow yields them as
:class:`~jwtmiddleware.effects.Notify` effects, so an async ``EVENT_HOOK`` is awaited by the
async driver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

from ..core import _json
from ..core.effects import Effect, Notify, Sleep, StoreCall
from ..core.errors import (
    AccountDisabled,
    ClaimCheckFailed,
    ConfigurationError,
    RefreshTokenReused,
    SessionLimitReached,
    TokenExpired,
    TokenRevoked,
)
from ..core.issuer import REFRESH_TOKEN_TYPE, REGISTERED, SESSION_CLAIMS, Issuer, new_token_id
from ..core.verifier import Verifier
from ..http.cookies import CookiePolicy
from ..http.csrf import CSRFGuard
from ..stores._changes import GENERATION_CLAIM
from ..stores.base import RevocationQuery, SessionInfo
from ..telemetry.events import AuthEvent, EventSink

if TYPE_CHECKING:
    from ..core.identity import Identity
    from ..core.settings import Settings
    from ..telemetry import Telemetry

__all__ = ["AuthEvent", "RequestInfo", "SessionFlows", "TokenPair"]

logger = logging.getLogger("jwtmiddleware")

Flow = Generator[Effect, Any, Any]
_POLL_INTERVAL = 0.01
#: How long a disabled marker lasts (renewed by disabling again): ten years.
_DISABLED_FOR = 10 * 365 * 86400.0
_MAX_UA = 512


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Device metadata recorded with a session."""

    user_agent: str = ""
    ip: str = ""


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a login or refresh hands to the client."""

    access_token: str
    refresh_token: str
    access_expires_at: float
    refresh_expires_at: float
    session_id: str
    #: The value scripts echo in ``X-CSRF-Token`` when tokens ride in cookies.
    csrf_token: str
    #: ``Set-Cookie`` values for the access, refresh and CSRF cookies.
    set_cookies: tuple[str, ...] = ()

    def body(self, now: float) -> dict[str, Any]:
        """An OAuth 2.0 style JSON body (RFC 6749 §5.1) for non-browser clients."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": max(0, int(self.access_expires_at - now)),
            "refresh_token": self.refresh_token,
            "csrf_token": self.csrf_token,
        }


def _app_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k not in REGISTERED and k not in SESSION_CLAIMS}


class SessionFlows:
    """The login, refresh and logout decisions for one :class:`Settings`."""

    def __init__(self, settings: Settings, *, telemetry: Telemetry | None = None) -> None:
        self.settings = settings
        self._issuer = Issuer(settings) if settings.keyset.signing_key() else None
        self.cookies = CookiePolicy(settings)
        self._refresh_verifier = Verifier(
            settings.replace(
                token_type=REFRESH_TOKEN_TYPE,
                max_token_lifetime=max(settings.refresh_token_ttl, settings.access_token_ttl),
                required_claims=("exp", "sub", "jti", "sid"),
            )
        )
        self._hook = cast("Callable[[AuthEvent], Any] | None", settings.event_hook)
        #: Logs, counts and hands events to ``EVENT_HOOK``.
        self.events = EventSink(self._hook, telemetry)
        lifetime = max(settings.max_token_lifetime or 0, settings.refresh_token_ttl)
        #: How long revocations must be kept: the longest any token can live, plus leeway.
        self.keep = max(lifetime, settings.max_session_age) + settings.leeway

    @property
    def issuer(self) -> Issuer:
        """The issuer; verify-only settings (public keys only) cannot mint tokens."""
        if self._issuer is None:
            raise ConfigurationError("KEYS", "minting tokens needs a key with private material")
        return self._issuer

    def emit(self, event: AuthEvent) -> None:
        """Log the event and pass it to ``EVENT_HOOK`` now, from sync code; a failing hook
        never breaks a flow."""
        self.events.emit(event)

    def notify(self, event: AuthEvent) -> Generator[Effect, Any, None]:
        """Log and count the event, and yield it to the driver for ``EVENT_HOOK`` (awaited by
        the async driver when the hook is async)."""
        self.events.record(event)
        if self._hook is not None:
            yield Notify(self._hook, event)

    # -- minting -----------------------------------------------------------------------------

    def pair(
        self, subject: str, *, now: float, session_id: str, auth_time: float, csrf: str,
        claims: Mapping[str, Any], generation: int | None = None,
    ) -> TokenPair:  # fmt: skip
        """Mint an access and a refresh token for one session, with their cookies.

        :param generation: the subject's logout-everywhere generation (``sgen``): a later
            logout everywhere refuses these tokens whatever their ``iat``.
        """
        session: dict[str, Any] = {"sid": session_id, "auth_time": int(auth_time), "csrf": csrf}
        if generation is not None:
            session[GENERATION_CLAIM] = generation
        body = {**_app_claims(claims), **session}
        access = self.issuer.access_token(subject, now=now, claims=body)
        refresh = self.issuer.refresh_token(subject, now=now, claims=body)
        cookies = (
            self.cookies.access(access.token, access.expires_at - now),
            self.cookies.refresh(refresh.token, refresh.expires_at - now),
            self.cookies.csrf(csrf, refresh.expires_at - now),
        )
        return TokenPair(access.token, refresh.token, access.expires_at, refresh.expires_at,
                         session_id, csrf, cookies)  # fmt: skip

    @staticmethod
    def _successor_json(pair: TokenPair, now: float) -> str:
        return _json.dumps({"at": now, "pair": asdict(pair)}).decode("utf-8")

    @staticmethod
    def _successor_from_json(text: str) -> tuple[float, TokenPair]:
        data = _json.loads(text.encode("utf-8"))
        pair = data["pair"]
        pair["set_cookies"] = tuple(pair["set_cookies"])
        return float(data["at"]), TokenPair(**pair)

    # -- flows -------------------------------------------------------------------------------

    def login(
        self,
        subject: str,
        *,
        now: float,
        claims: Mapping[str, Any] | None = None,
        info: RequestInfo | None = None,
    ) -> Flow:
        """Create a device session (enforcing session limits) and mint its first token pair."""
        settings = self.settings
        info = info or RequestInfo()
        sid = new_token_id()
        yield from self._refuse_disabled(subject, now)
        generation = yield StoreCall("subject_generation", (settings.issuer or "", subject),
                                     {"now": now})  # fmt: skip
        # Mint first: a token that cannot be issued (CookieTooLarge, no signing key) must not
        # leave a session behind or evict other devices.
        pair = self.pair(subject, now=now, session_id=sid, auth_time=now, csrf=new_token_id(),
                         claims=claims or {}, generation=generation)  # fmt: skip
        session = SessionInfo(sid, subject, created_at=now, last_seen=now,
                              expires_at=now + settings.max_session_age,
                              user_agent=info.user_agent[:_MAX_UA], ip=info.ip[:64])  # fmt: skip
        # The limit is one atomic step in the store: logins racing cannot exceed it.
        limit: int | None = settings.max_sessions_per_subject
        evict = settings.session_limit_policy == "evict_oldest"
        if settings.single_session:
            limit, evict = 1, True
        started = yield StoreCall("start_session", (session,),
                                  {"now": now, "limit": limit, "evict_oldest": evict})  # fmt: skip
        if not started.created:
            raise SessionLimitReached(f"{limit} live sessions already")
        for evicted in started.evicted:
            event = AuthEvent("session_revoked", subject, evicted, {"reason": "evicted"},
                              action="session_evicted")  # fmt: skip
            yield from self.notify(event)
        yield from self.notify(AuthEvent("authn_login_success", subject, sid, action="login"))
        yield from self.notify(AuthEvent("session_created", subject, sid, action="login"))
        return pair

    def refresh(
        self, refresh_token: str, *, now: float, from_cookie: bool = False, csrf: str | None = None
    ) -> Flow:
        """Rotate a refresh token: consume it and mint the next pair of the same session.

        The token is verified first; nothing is read from it before. A token from the refresh
        cookie (which browsers attach by themselves, also to requests other sites start) then
        needs CSRF proof under ``CSRF_PROTECTION``, as cookie access tokens do: ``csrf`` (the
        value echoed in ``X-CSRF-Token`` or the ``csrf_token`` form field) must equal the
        token's ``csrf`` claim, compared in constant time before anything is consumed; a token
        without that claim is refused. The ``Origin``/``Sec-Fetch-Site`` half of the proof
        needs the request: :meth:`SessionEndpoints.refresh
        <jwtmiddleware.endpoints.SessionEndpoints.refresh>` checks it.

        :param from_cookie: whether the token came from the refresh cookie.
        :param csrf: the CSRF value the request presented (``None``: none).
        :raises TokenInvalid: a bad, expired, revoked or reused refresh token.
        :raises CSRFError: a cookie token without matching CSRF proof (403).
        """
        claims = self._refresh_verifier.verify(refresh_token, now).claims
        if from_cookie and self.settings.csrf_protection:
            CSRFGuard.check_token(claims, csrf)
        subject, sid, jti = claims["sub"], claims["sid"], claims["jti"]
        auth_time = claims.get("auth_time")
        if not isinstance(auth_time, int | float):
            raise ClaimCheckFailed("refresh token has no auth_time")
        if now >= auth_time + self.settings.max_session_age:
            reason = {"reason": "max_session_age"}
            yield from self.notify(
                AuthEvent("session_expired", subject, sid, reason, action="refresh")
            )
            raise TokenExpired("the session reached MAX_SESSION_AGE")
        issuer = claims.get("iss") or ""
        generation = claims.get(GENERATION_CLAIM)
        generation = generation if isinstance(generation, int) else None
        yield from self._refuse_disabled(subject, now)
        query = RevocationQuery(issuer, subject, jti, sid, float(claims.get("iat", 0)), generation)
        if (yield StoreCall("is_revoked", (query,), {"now": now})):
            raise TokenRevoked("refresh token or session revoked", code="revoked")
        if (yield StoreCall("get_session", (sid,), {"now": now})) is None:
            raise TokenRevoked("the session has ended", code="revoked_session")
        used_key = f"rt-used:{issuer}:{jti}"
        successor_key = f"rt-next:{issuer}:{jti}"
        expires = float(claims["exp"]) + self.settings.leeway
        won = yield StoreCall("consume_once", (used_key,), {"expires_at": expires, "now": now})
        grace = self.settings.refresh_reuse_grace
        if won:
            csrf = claims.get("csrf")
            pair = self.pair(subject, now=now, session_id=sid, auth_time=auth_time,
                             csrf=csrf if isinstance(csrf, str) else new_token_id(),
                             claims=claims, generation=generation)  # fmt: skip
            if grace > 0:
                yield StoreCall("put_value", (successor_key, self._successor_json(pair, now)),
                                {"expires_at": now + grace, "now": now})  # fmt: skip
            yield StoreCall("touch_session", (sid,), {"now": now})
            yield from self.notify(AuthEvent("session_renewed", subject, sid, action="refresh"))
            return pair
        if grace > 0:
            successor = yield from self._successor(successor_key, now, grace)
            if successor is not None:
                # A replay within the grace window gets the live pair (two tabs, a retry),
                # and is reported all the same: it may be a thief racing the user.
                yield from self.notify(AuthEvent("authn_token_reuse", subject, sid,
                                                 {"jti": jti, "within_grace": True},
                                                 action="refresh_token_reused"))  # fmt: skip
                return successor
        yield StoreCall("revoke_session", (sid,), {"now": now, "expires_at": now + self.keep})
        yield from self.notify(AuthEvent("authn_token_reuse", subject, sid,
                                         {"jti": jti, "within_grace": False},
                                         action="refresh_token_reused"))  # fmt: skip
        raise RefreshTokenReused(
            "refresh token reuse detected; the session was revoked", code="refresh_reuse"
        )

    def _successor(self, key: str, now: float, grace: float) -> Generator[Effect, Any, Any]:
        """The pair a concurrent refresh of the same token published, if it did so within the
        grace window; waits for it at most twice ``STORE_TIMEOUT`` (the winner's two store
        calls), then gives up: the replay is treated as reuse."""
        polls = max(1, int(2 * self.settings.store_timeout / _POLL_INTERVAL) + 1)
        for _ in range(polls):
            stored = yield StoreCall("get_value", (key,), {"now": now})
            if stored is not None:
                # The window is judged by our clock, not by the backend's expiry (Redis
                # expires keys by its own clock, which a frozen or skewed clock does not move).
                rotated_at, successor = self._successor_from_json(stored)
                return successor if now - rotated_at < grace else None
            yield Sleep(_POLL_INTERVAL)
        return None

    # -- disabled accounts ---------------------------------------------------------------------

    @staticmethod
    def _disabled_key(subject: str) -> str:
        return f"disabled:{subject}"

    def _refuse_disabled(self, subject: str, now: float) -> Flow:
        if (yield StoreCall("get_value", (self._disabled_key(subject),), {"now": now})):
            raise AccountDisabled(f"subject {subject!r} is disabled")

    def disable(self, subject: str, *, now: float, issuer: str | None = None) -> Flow:
        """Disable an account: refuse its logins and refreshes until :meth:`enable`, and
        revoke every token and session it has (like :meth:`logout_everywhere`)."""
        yield StoreCall("put_value", (self._disabled_key(subject), "1"),
                        {"expires_at": now + _DISABLED_FOR, "now": now})  # fmt: skip
        ended = yield from self.logout_everywhere(subject, now=now, issuer=issuer)
        yield from self.notify(AuthEvent("user_updated", subject, None,
                                         {"change": "disabled", "sessions": ended},
                                         action="account_disabled"))  # fmt: skip
        return ended

    def enable(self, subject: str, *, now: float) -> Flow:
        """Allow an account disabled by :meth:`disable` to log in again (its old tokens stay
        revoked)."""
        yield StoreCall("put_value", (self._disabled_key(subject), ""),
                        {"expires_at": now + 1, "now": now})  # fmt: skip
        yield from self.notify(AuthEvent("user_updated", subject, None, {"change": "enabled"},
                                         action="account_enabled"))  # fmt: skip

    def logout(self, identity: Identity, *, now: float) -> Flow:
        """End the caller's session and revoke the token it used; returns cookie deletions."""
        if identity.session_id is not None:
            yield StoreCall("revoke_session", (identity.session_id,),
                            {"now": now, "expires_at": now + self.keep})  # fmt: skip
        if identity.token_id is not None:
            exp = identity.expires_at
            until = now + self.keep if exp is None else exp + self.settings.leeway
            yield StoreCall("revoke_token", (identity.issuer or "", identity.token_id),
                            {"expires_at": until, "now": now})  # fmt: skip
        reason = {"reason": "logout"}
        sid = identity.session_id
        yield from self.notify(
            AuthEvent("session_expired", identity.subject, sid, reason, action="logout")
        )
        return self.cookies.clear()

    def logout_everywhere(self, subject: str, *, now: float, issuer: str | None = None) -> Flow:
        """Revoke every token and session of ``subject``; returns how many sessions ended.

        Tokens this library issued carry the subject's generation (``sgen``), which this
        call raises: each one issued before it is refused, each one issued after accepted,
        in any order within one clock tick. Tokens without ``sgen`` (from other issuers) are
        judged by ``iat``: refused up to ``LEEWAY`` seconds after now, since ``iat`` may lie
        that far ahead (a token issued just before the call with a clock ahead).
        """
        iss = self.settings.issuer if issuer is None else issuer
        before = now + self.settings.leeway
        yield StoreCall("revoke_subject", (iss or "", subject),
                        {"before": before, "expires_at": now + self.keep, "now": now})  # fmt: skip
        ended = yield StoreCall("revoke_other_sessions", (subject, None), {"now": now})
        detail = {"reason": "logout_everywhere", "sessions": ended}
        event = AuthEvent("session_revoked", subject, None, detail, action="logout_everywhere")
        yield from self.notify(event)
        return ended
