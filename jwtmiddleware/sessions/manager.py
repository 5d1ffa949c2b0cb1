"""The session API applications call: log in, refresh, log out, list and end device sessions.

:class:`SessionManager` drives the sans-IO flows of :mod:`~jwtmiddleware.lifecycle` against a
store, synchronously or (methods prefixed ``a``) asynchronously. An app's login view checks the
password, then calls :meth:`SessionManager.login`; a failed store write raises
:class:`~jwtmiddleware.errors.StoreUnavailable`, never a silent success.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError
from ..http.drive import run_async, run_sync
from ..stores._changes import GENERATION_CLAIM
from ..telemetry.events import AuthEvent
from .lifecycle import RequestInfo, SessionFlows, TokenPair

if TYPE_CHECKING:
    from ..core.identity import Identity
    from ..core.issuer import IssuedToken
    from ..core.settings import Settings
    from ..stores.base import SessionInfo, Store

__all__ = ["SessionManager"]


class SessionManager:
    """Sessions, rotation and revocation over one store.

    :param settings: the settings tokens are issued and verified with.
    :param store: the store; defaults to the one named by ``STORE``.
    :param clock: returns the current UNIX time.
    :param metrics: where store calls and events are recorded: a Prometheus
        ``CollectorRegistry`` or an OpenTelemetry ``MeterProvider`` (default: ``METRICS``).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        clock: Callable[[], float] = time.time,
        metrics: Any = None,
    ) -> None:
        from ..http.middleware import resolve_store
        from ..telemetry import telemetry_for

        resolved = resolve_store(settings, store)
        if resolved is None:
            raise ConfigurationError("STORE", "sessions and revocation need a store (set STORE)")
        self.store: Store = resolved
        self.settings = settings
        #: The metrics this manager records to (``None``: off).
        self.telemetry = telemetry_for(settings, metrics)
        self.flows = SessionFlows(settings, telemetry=self.telemetry)
        #: The clock (UNIX time) every operation reads ``now`` from.
        self.clock = clock
        self._clock = clock  # the name before ``clock`` was public

    # -- login, refresh, logout ------------------------------------------------------------------

    def login(
        self,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        info: RequestInfo | None = None,
    ) -> TokenPair:
        """Start a device session for an authenticated user and mint its first token pair.

        :param claims: application claims for the tokens (``scope``, roles, tenant, ...).
        :param info: the device's user agent and IP, shown in the sessions list.
        :raises SessionLimitReached: under ``SESSION_LIMIT_POLICY = "deny_new"``.
        """
        flow = self.flows.login(subject, now=self.clock(), claims=claims, info=info)
        pair: TokenPair = run_sync(flow, self.store, telemetry=self.telemetry)
        return pair

    async def alogin(
        self,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        info: RequestInfo | None = None,
    ) -> TokenPair:
        """Async :meth:`login`."""
        flow = self.flows.login(subject, now=self.clock(), claims=claims, info=info)
        pair: TokenPair = await run_async(flow, self.store, telemetry=self.telemetry)
        return pair

    def refresh(
        self, refresh_token: str, *, from_cookie: bool = False, csrf: str | None = None
    ) -> TokenPair:
        """Rotate a refresh token into a new pair (reuse of a rotated token revokes the session).

        :param from_cookie: the token came from the refresh cookie: then ``csrf`` must equal
            its ``csrf`` claim (under ``CSRF_PROTECTION``), checked after verification and
            before the token is consumed. Adapters also check ``Origin``/``Sec-Fetch-Site``
            (:class:`~jwtmiddleware.endpoints.SessionEndpoints` does both).
        :param csrf: the value the request echoed in ``X-CSRF-Token`` or the form field.
        :raises TokenInvalid: for a bad, expired, revoked or reused refresh token.
        :raises CSRFError: a cookie refresh token without matching CSRF proof.
        """
        flow = self.flows.refresh(refresh_token, now=self.clock(), from_cookie=from_cookie,
                                  csrf=csrf)  # fmt: skip
        pair: TokenPair = run_sync(flow, self.store, telemetry=self.telemetry)
        return pair

    async def arefresh(
        self, refresh_token: str, *, from_cookie: bool = False, csrf: str | None = None
    ) -> TokenPair:
        """Async :meth:`refresh`."""
        flow = self.flows.refresh(refresh_token, now=self.clock(), from_cookie=from_cookie,
                                  csrf=csrf)  # fmt: skip
        pair: TokenPair = await run_async(flow, self.store, telemetry=self.telemetry)
        return pair

    def logout(self, identity: Identity) -> tuple[str, ...]:
        """End the caller's session; returns ``Set-Cookie`` values that delete the cookies."""
        flow = self.flows.logout(identity, now=self.clock())
        cleared: tuple[str, ...] = run_sync(flow, self.store, telemetry=self.telemetry)
        return cleared

    async def alogout(self, identity: Identity) -> tuple[str, ...]:
        """Async :meth:`logout`."""
        flow = self.flows.logout(identity, now=self.clock())
        cleared: tuple[str, ...] = await run_async(flow, self.store, telemetry=self.telemetry)
        return cleared

    def logout_everywhere(self, subject: str, *, issuer: str | None = None) -> int:
        """Revoke every token and session of ``subject``; returns the sessions ended."""
        flow = self.flows.logout_everywhere(subject, now=self.clock(), issuer=issuer)
        ended: int = run_sync(flow, self.store, telemetry=self.telemetry)
        return ended

    async def alogout_everywhere(self, subject: str, *, issuer: str | None = None) -> int:
        """Async :meth:`logout_everywhere`."""
        flow = self.flows.logout_everywhere(subject, now=self.clock(), issuer=issuer)
        ended: int = await run_async(flow, self.store, telemetry=self.telemetry)
        return ended

    def login_failed(self, subject: str | None = None, *, info: RequestInfo | None = None) -> None:
        """Report a login the app refused (wrong credentials): the ``authn_login_fail`` event.

        :param subject: the user name that was tried, if the app wants it recorded.
        :param info: the device's user agent and IP.
        """
        self.flows.emit(_login_failed(subject, info))

    async def alogin_failed(
        self, subject: str | None = None, *, info: RequestInfo | None = None
    ) -> None:
        """Async :meth:`login_failed` (an async ``EVENT_HOOK`` is awaited)."""
        await self.flows.events.aemit(_login_failed(subject, info))

    def one_time(
        self, subject: str, purpose: str, resource: str, *, ttl: float | None = None
    ) -> IssuedToken:
        """A single-use token for ``purpose`` on the request path ``resource`` (download
        links); a later :meth:`logout_everywhere` of the subject refuses it."""
        now = self.clock()
        generation = self.store.subject_generation(self._issuer_name, subject, now=now)
        issued = self.flows.issuer.one_time(subject, purpose, resource, now=now, ttl=ttl,
                                            generation=generation)  # fmt: skip
        self._created(subject, {"purpose": purpose}, "one_time")
        return issued

    def _created(self, subject: str, detail: Mapping[str, Any], action: str) -> None:
        self.flows.emit(AuthEvent("authn_token_created", subject, None, detail, action=action))

    async def aone_time(
        self, subject: str, purpose: str, resource: str, *, ttl: float | None = None
    ) -> IssuedToken:
        """Async :meth:`one_time`."""
        now = self.clock()
        generation = await self.store.asubject_generation(self._issuer_name, subject, now=now)
        issued = self.flows.issuer.one_time(subject, purpose, resource, now=now, ttl=ttl,
                                            generation=generation)  # fmt: skip
        self._created(subject, {"purpose": purpose}, "one_time")
        return issued

    def issue_token(
        self,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> IssuedToken:
        """Mint an access token outside a device session (API tokens, service calls, tests)
        that carries the subject's logout-everywhere generation (``sgen``), so a later
        :meth:`logout_everywhere` or :meth:`disable_subject` refuses it, and one issued after
        that call is accepted, whatever the clock says.

        :param claims: application claims (``scope``, ...).
        :param ttl: lifetime in seconds (default ``ACCESS_TOKEN_TTL``).
        """
        now = self.clock()
        generation = self.store.subject_generation(self._issuer_name, subject, now=now)
        return self._mint(subject, now, claims, ttl, generation)

    async def aissue_token(
        self,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> IssuedToken:
        """Async :meth:`issue_token`."""
        now = self.clock()
        generation = await self.store.asubject_generation(self._issuer_name, subject, now=now)
        return self._mint(subject, now, claims, ttl, generation)

    def _mint(
        self,
        subject: str,
        now: float,
        claims: Mapping[str, Any] | None,
        ttl: float | None,
        generation: int,
    ) -> IssuedToken:
        body = {**(claims or {}), GENERATION_CLAIM: generation}
        issued = self.flows.issuer.access_token(subject, now=now, claims=body, ttl=ttl)
        self._created(subject, {}, "issue_token")
        return issued

    @property
    def _issuer_name(self) -> str:
        return self.settings.issuer or ""

    # -- disabled accounts ---------------------------------------------------------------------

    def disable_subject(self, subject: str, *, issuer: str | None = None) -> int:
        """The account is disabled, or its password changed: revoke every token and session
        of ``subject`` (in every worker within ``STORE_MAX_LAG``) and refuse its logins and
        refreshes until :meth:`enable_subject`. Returns how many sessions ended."""
        ended: int = run_sync(self.flows.disable(subject, now=self.clock(), issuer=issuer),
                              self.store)  # fmt: skip
        return ended

    async def adisable_subject(self, subject: str, *, issuer: str | None = None) -> int:
        """Async :meth:`disable_subject`."""
        flow = self.flows.disable(subject, now=self.clock(), issuer=issuer)
        ended: int = await run_async(flow, self.store)
        return ended

    def enable_subject(self, subject: str) -> None:
        """Let a subject disabled by :meth:`disable_subject` log in again. Its old tokens stay
        revoked; after a password change, re-enabling at once is the usual call."""
        run_sync(self.flows.enable(subject, now=self.clock()), self.store)

    async def aenable_subject(self, subject: str) -> None:
        """Async :meth:`enable_subject`."""
        await run_async(self.flows.enable(subject, now=self.clock()), self.store)

    # -- device sessions and single revocations ---------------------------------------------------

    def sessions(self, subject: str) -> list[SessionInfo]:
        """The subject's live device sessions, oldest first."""
        return self.store.list_sessions(subject, now=self.clock())

    async def asessions(self, subject: str) -> list[SessionInfo]:
        """Async :meth:`sessions`."""
        return await self.store.alist_sessions(subject, now=self.clock())

    def revoke_session(self, session_id: str) -> bool:
        """Log out one device; true if the session was live."""
        now = self.clock()
        live = self.store.revoke_session(session_id, now=now, expires_at=now + self.flows.keep)
        self.flows.emit(_session_revoked(None, session_id, {}))
        return live

    async def arevoke_session(self, session_id: str) -> bool:
        """Async :meth:`revoke_session`."""
        now = self.clock()
        live = await self.store.arevoke_session(
            session_id, now=now, expires_at=now + self.flows.keep
        )
        await self.flows.events.aemit(_session_revoked(None, session_id, {}))
        return live

    def revoke_other_sessions(self, subject: str, keep_session_id: str | None) -> int:
        """Log out every other device of ``subject``; returns how many."""
        ended = self.store.revoke_other_sessions(subject, keep_session_id, now=self.clock())
        self.flows.emit(_session_revoked(subject, None, {"sessions": ended}))
        return ended

    async def arevoke_other_sessions(self, subject: str, keep_session_id: str | None) -> int:
        """Async :meth:`revoke_other_sessions`."""
        ended = await self.store.arevoke_other_sessions(subject, keep_session_id, now=self.clock())
        await self.flows.events.aemit(_session_revoked(subject, None, {"sessions": ended}))
        return ended

    def _until(self, expires_at: float | None, now: float) -> float:
        return now + self.flows.keep if expires_at is None else expires_at + self.settings.leeway

    def revoke_token(
        self, token_id: str, *, issuer: str = "", expires_at: float | None = None
    ) -> None:
        """Revoke one token by ``jti`` (and ``iss``), kept until it would have expired."""
        now = self.clock()
        self.store.revoke_token(issuer, token_id, expires_at=self._until(expires_at, now), now=now)
        self.flows.emit(_token_revoked(token_id))

    async def arevoke_token(
        self, token_id: str, *, issuer: str = "", expires_at: float | None = None
    ) -> None:
        """Async :meth:`revoke_token`."""
        now = self.clock()
        await self.store.arevoke_token(
            issuer, token_id, expires_at=self._until(expires_at, now), now=now
        )
        await self.flows.events.aemit(_token_revoked(token_id))

    def revoke_identity(self, identity: Identity) -> None:
        """Revoke the token the current request was authenticated with."""
        if identity.token_id is None:
            raise ValueError("this token has no jti and cannot be revoked on its own")
        self.revoke_token(identity.token_id, issuer=identity.issuer or "",
                          expires_at=identity.expires_at)  # fmt: skip

    async def arevoke_identity(self, identity: Identity) -> None:
        """Async :meth:`revoke_identity`."""
        if identity.token_id is None:
            raise ValueError("this token has no jti and cannot be revoked on its own")
        await self.arevoke_token(identity.token_id, issuer=identity.issuer or "",
                                 expires_at=identity.expires_at)  # fmt: skip

    def purge(self) -> int:
        """Delete expired entries (SQLite, memory); returns how many."""
        return self.store.purge(now=self.clock())

    async def apurge(self) -> int:
        """Async :meth:`purge`."""
        return await self.store.apurge(now=self.clock())

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        await self.store.aclose()


def _login_failed(subject: str | None, info: RequestInfo | None) -> AuthEvent:
    detail = {} if info is None else {"ip": info.ip, "user_agent": info.user_agent}
    return AuthEvent("authn_login_fail", subject, None, detail, action="login_failed")


def _session_revoked(subject: str | None, sid: str | None, detail: dict[str, Any]) -> AuthEvent:
    action = "revoke_session" if sid is not None else "revoke_other_sessions"
    return AuthEvent(
        "session_revoked", subject, sid, {"reason": "revoked", **detail}, action=action
    )


def _token_revoked(token_id: str) -> AuthEvent:
    detail = {"jti": token_id}
    return AuthEvent("authn_token_revoked", None, None, detail, action="revoke_token")
