"""The session API applications call: log in, refresh, log out, list and end device sessions.

:class:`SessionManager` drives the sans-IO flows of :mod:`~jwtmiddleware.lifecycle` against a
store, synchronously or (methods prefixed ``a``) asynchronously. An app's login view checks the
password, then calls :meth:`SessionManager.login`; a failed store write raises
:class:`~jwtmiddleware.errors.StoreUnavailable`, never a silent success.

Login, refresh, logout and disabled accounts are here; tokens minted outside a session
(``issue_token``, ``one_time``) are in ``_manager_tokens``, and listing and ending device
sessions and revoking single tokens in ``_manager_revoke``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError
from ..http.drive import run_async, run_sync
from ..telemetry.events import AuthEvent
from ._manager_revoke import Revocations
from ._manager_tokens import TokenMinting
from .lifecycle import RequestInfo, SessionFlows, TokenPair

if TYPE_CHECKING:
    from ..core.identity import Identity
    from ..core.settings import Settings
    from ..stores.base import Store

__all__ = ["SessionManager"]


class SessionManager(TokenMinting, Revocations):
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

    # -- the store ---------------------------------------------------------------------------------

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
