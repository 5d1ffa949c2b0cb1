"""The management API applications call: revoke a token, log out everywhere, list devices.

:class:`SessionManager` binds a store to the settings (to know how long revocations must be
kept) and to a clock. Every method has an async twin with an ``a`` prefix for ASGI apps. A
failed write raises :class:`~jwtmiddleware.errors.StoreUnavailable`; it never silently passes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .identity import Identity
    from .settings import Settings
    from .stores.base import SessionInfo, Store

__all__ = ["SessionManager"]

_FALLBACK_LIFETIME = 366 * 86400.0  # when MAX_TOKEN_LIFETIME is disabled


class SessionManager:
    """Revocation and device-session management over one store.

    :param settings: the settings the tokens are verified with.
    :param store: the store; defaults to the one named by ``STORE``.
    :param clock: returns the current UNIX time.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from ._http import resolve_store

        resolved = resolve_store(settings, store)
        if resolved is None:
            raise ConfigurationError("STORE", "revocation needs a store (set STORE)")
        self.store: Store = resolved
        self.settings = settings
        self._clock = clock
        self._keep = (settings.max_token_lifetime or _FALLBACK_LIFETIME) + settings.leeway

    # -- what to keep, and for how long ------------------------------------------------------

    def _token_expiry(self, exp: float | None, now: float) -> float:
        return now + self._keep if exp is None else exp + self.settings.leeway

    @staticmethod
    def _watermark(now: float) -> float:
        # Tokens carry whole-second iat; a watermark at the start of this second keeps a login
        # made right after "log out everywhere" valid. Tokens of the revoked sessions issued
        # earlier in the same second are still refused through their session id.
        return float(math.floor(now))

    # -- sync API ------------------------------------------------------------------------------

    def revoke_token(
        self, token_id: str, *, issuer: str = "", expires_at: float | None = None
    ) -> None:
        """Revoke one token by ``jti`` (and ``iss``); kept until it would have expired."""
        now = self._clock()
        self.store.revoke_token(
            issuer, token_id, expires_at=self._token_expiry(expires_at, now), now=now
        )

    def revoke_identity(self, identity: Identity) -> None:
        """Revoke the token the current request was authenticated with."""
        if identity.token_id is None:
            raise ValueError("this token has no jti and cannot be revoked on its own")
        self.revoke_token(
            identity.token_id, issuer=identity.issuer or "", expires_at=identity.expires_at
        )

    def logout_everywhere(self, subject: str, *, issuer: str | None = None) -> int:
        """Revoke every token and session of ``subject``; returns the sessions ended."""
        now = self._clock()
        iss = self.settings.issuer if issuer is None else issuer
        self.store.revoke_subject(
            iss or "", subject, before=self._watermark(now), expires_at=now + self._keep, now=now
        )
        return self.store.revoke_other_sessions(subject, None, now=now)

    def sessions(self, subject: str) -> list[SessionInfo]:
        """The subject's live device sessions, oldest first."""
        return self.store.list_sessions(subject, now=self._clock())

    def revoke_session(self, session_id: str) -> bool:
        """Log out one device; true if the session was live."""
        now = self._clock()
        return self.store.revoke_session(session_id, now=now, expires_at=now + self._keep)

    def revoke_other_sessions(self, subject: str, keep_session_id: str | None) -> int:
        """Log out every other device of ``subject``; returns how many."""
        return self.store.revoke_other_sessions(subject, keep_session_id, now=self._clock())

    def purge(self) -> int:
        """Delete expired entries (SQLite, memory); returns how many."""
        return self.store.purge(now=self._clock())

    # -- async twins ---------------------------------------------------------------------------

    async def arevoke_token(
        self, token_id: str, *, issuer: str = "", expires_at: float | None = None
    ) -> None:
        """Async :meth:`revoke_token`."""
        now = self._clock()
        await self.store.arevoke_token(
            issuer, token_id, expires_at=self._token_expiry(expires_at, now), now=now
        )

    async def arevoke_identity(self, identity: Identity) -> None:
        """Async :meth:`revoke_identity`."""
        if identity.token_id is None:
            raise ValueError("this token has no jti and cannot be revoked on its own")
        await self.arevoke_token(
            identity.token_id, issuer=identity.issuer or "", expires_at=identity.expires_at
        )

    async def alogout_everywhere(self, subject: str, *, issuer: str | None = None) -> int:
        """Async :meth:`logout_everywhere`."""
        now = self._clock()
        iss = self.settings.issuer if issuer is None else issuer
        await self.store.arevoke_subject(
            iss or "", subject, before=self._watermark(now), expires_at=now + self._keep, now=now
        )
        return await self.store.arevoke_other_sessions(subject, None, now=now)

    async def asessions(self, subject: str) -> list[SessionInfo]:
        """Async :meth:`sessions`."""
        return await self.store.alist_sessions(subject, now=self._clock())

    async def arevoke_session(self, session_id: str) -> bool:
        """Async :meth:`revoke_session`."""
        now = self._clock()
        return await self.store.arevoke_session(session_id, now=now, expires_at=now + self._keep)

    async def arevoke_other_sessions(self, subject: str, keep_session_id: str | None) -> int:
        """Async :meth:`revoke_other_sessions`."""
        return await self.store.arevoke_other_sessions(subject, keep_session_id, now=self._clock())

    async def apurge(self) -> int:
        """Async :meth:`purge`."""
        return await self.store.apurge(now=self._clock())
