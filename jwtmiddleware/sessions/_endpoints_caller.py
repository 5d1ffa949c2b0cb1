"""The session endpoints that act for the authenticated caller, the caller endpoints of
:class:`~jwtmiddleware.sessions.endpoints.SessionEndpoints`: logout, logout everywhere and the
sessions list. The caller is the identity the middleware authenticated (by access token); no
token is a 401.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from ..core.effects import Effect
from ..core.errors import AuthenticationError, StoreUnavailable, TokenMissing
from ..core.identity import AnonymousIdentity, Identity
from ..http.drive import run_async, run_sync
from .plans import ResponsePlan, session_list_body

if TYPE_CHECKING:
    from ..http.cookies import CookiePolicy
    from .lifecycle import SessionFlows
    from .manager import SessionManager

__all__ = ["Caller", "CallerEndpoints", "Flow"]

Flow = Generator[Effect, Any, ResponsePlan]
Caller = Identity | AnonymousIdentity | None


def _caller(identity: Caller, *, subject: bool) -> Identity:
    if not isinstance(identity, Identity) or (subject and identity.subject is None):
        raise TokenMissing("this endpoint needs a token" + (" with a subject" if subject else ""))
    return identity


class CallerEndpoints:
    """Logout, logout everywhere and the sessions list, as response plans."""

    # Set by SessionEndpoints.__init__.
    manager: SessionManager
    _flows: SessionFlows
    _cookies: CookiePolicy

    # -- logout -----------------------------------------------------------------------------------

    def _logout(self, identity: Caller) -> Flow:
        try:
            caller = _caller(identity, subject=False)
            cleared = yield from self._flows.logout(caller, now=self.manager.clock())
        except (AuthenticationError, StoreUnavailable) as exc:
            return ResponsePlan.refusal(exc)
        return ResponsePlan(204, None, set_cookies=cleared)

    def logout(self, identity: Caller) -> ResponsePlan:
        """End the caller's session and revoke its token: 204, cookies deleted (401 without a
        token)."""
        return run_sync(
            self._logout(identity), self.manager.store, telemetry=self.manager.telemetry
        )

    async def alogout(self, identity: Caller) -> ResponsePlan:
        """Async :meth:`logout`."""
        return await run_async(
            self._logout(identity), self.manager.store, telemetry=self.manager.telemetry
        )

    def _logout_everywhere(self, identity: Caller) -> Flow:
        try:
            caller = _caller(identity, subject=True)
            assert caller.subject is not None
            ended = yield from self._flows.logout_everywhere(
                caller.subject, now=self.manager.clock(), issuer=caller.issuer
            )
        except (AuthenticationError, StoreUnavailable) as exc:
            return ResponsePlan.refusal(exc)
        return ResponsePlan(200, {"sessions_ended": ended}, set_cookies=self._cookies.clear())

    def logout_everywhere(self, identity: Caller) -> ResponsePlan:
        """Revoke every token and session of the caller's subject: 200
        ``{"sessions_ended": n}``, this device's cookies deleted."""
        return run_sync(
            self._logout_everywhere(identity), self.manager.store, telemetry=self.manager.telemetry
        )

    async def alogout_everywhere(self, identity: Caller) -> ResponsePlan:
        """Async :meth:`logout_everywhere`."""
        return await run_async(
            self._logout_everywhere(identity), self.manager.store, telemetry=self.manager.telemetry
        )

    # -- sessions ---------------------------------------------------------------------------------

    def sessions(self, identity: Caller) -> ResponsePlan:
        """200 :func:`session_list_body` of the caller's live sessions, oldest first."""
        try:
            caller = _caller(identity, subject=True)
            listed = self.manager.sessions(caller.subject or "")
        except (AuthenticationError, StoreUnavailable) as exc:
            return ResponsePlan.refusal(exc)
        return ResponsePlan(200, session_list_body(listed, caller.session_id))

    async def asessions(self, identity: Caller) -> ResponsePlan:
        """Async :meth:`sessions`."""
        try:
            caller = _caller(identity, subject=True)
            listed = await self.manager.asessions(caller.subject or "")
        except (AuthenticationError, StoreUnavailable) as exc:
            return ResponsePlan.refusal(exc)
        return ResponsePlan(200, session_list_body(listed, caller.session_id))
