"""Device sessions and single revocations, the revocation methods of
:class:`~jwtmiddleware.sessions.manager.SessionManager`: list a subject's sessions, end one or
all others, revoke one token; each reports its event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..telemetry.events import AuthEvent

if TYPE_CHECKING:
    from ..core.identity import Identity
    from ..core.settings import Settings
    from ..stores.base import SessionInfo, Store
    from .lifecycle import SessionFlows

__all__ = ["Revocations"]


class Revocations:
    """List and end device sessions; revoke single tokens."""

    # Set by SessionManager.__init__.
    store: Store
    settings: Settings
    flows: SessionFlows
    clock: Callable[[], float]

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


def _session_revoked(subject: str | None, sid: str | None, detail: dict[str, Any]) -> AuthEvent:
    action = "revoke_session" if sid is not None else "revoke_other_sessions"
    return AuthEvent(
        "session_revoked", subject, sid, {"reason": "revoked", **detail}, action=action
    )


def _token_revoked(token_id: str) -> AuthEvent:
    detail = {"jti": token_id}
    return AuthEvent("authn_token_revoked", None, None, detail, action="revoke_token")
