"""The async half of the store interface: an ``a``-prefixed twin of every sync method.

Each twin runs its sync method in a worker thread (or inline, for a store whose sync methods
never block on I/O); a store with a native async client (Redis) overrides the twins.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

import anyio.to_thread

from ._records import RevocationQuery, SessionInfo, SessionStart
from ._store_methods import StoreMethods

__all__ = ["AsyncTwins"]

_T = TypeVar("_T")
_S = TypeVar("_S", bound="AsyncTwins")


class AsyncTwins(StoreMethods):
    """The async twins of :class:`~.base.Store`'s methods, and ``async with``."""

    #: True when the sync methods never block on I/O, so the async twins may call them inline
    #: instead of paying for a worker thread (the in-memory store).
    _inline_async: bool = False

    async def __aenter__(self: _S) -> _S:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _call(self, func: Callable[[], _T]) -> _T:
        if self._inline_async:
            return func()
        return await anyio.to_thread.run_sync(func)

    async def arevoke_token(
        self, issuer: str, token_id: str, *, expires_at: float, now: float
    ) -> None:
        """Async :meth:`revoke_token`."""
        p = functools.partial
        await self._call(p(self.revoke_token, issuer, token_id, expires_at=expires_at, now=now))

    async def arevoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        """Async :meth:`revoke_subject`."""
        await self._call(
            functools.partial(
                self.revoke_subject, issuer, subject, before=before, expires_at=expires_at, now=now
            )
        )

    async def ais_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        """Async :meth:`is_revoked`."""
        return await self._call(functools.partial(self.is_revoked, query, now=now))

    async def asubject_generation(self, issuer: str, subject: str, *, now: float) -> int:
        """Async :meth:`subject_generation`."""
        p = functools.partial
        return await self._call(p(self.subject_generation, issuer, subject, now=now))

    async def astart_session(
        self,
        session: SessionInfo,
        *,
        now: float,
        limit: int | None = None,
        evict_oldest: bool = True,
    ) -> SessionStart:
        """Async :meth:`start_session`."""
        p = functools.partial
        return await self._call(
            p(self.start_session, session, now=now, limit=limit, evict_oldest=evict_oldest)
        )

    async def acreate_session(self, session: SessionInfo, *, now: float) -> None:
        """Async :meth:`create_session`."""
        await self._call(functools.partial(self.create_session, session, now=now))

    async def aget_session(self, session_id: str, *, now: float) -> SessionInfo | None:
        """Async :meth:`get_session`."""
        return await self._call(functools.partial(self.get_session, session_id, now=now))

    async def atouch_session(
        self, session_id: str, *, now: float, min_interval: float = 60.0
    ) -> bool:
        """Async :meth:`touch_session`."""
        p = functools.partial
        return await self._call(
            p(self.touch_session, session_id, now=now, min_interval=min_interval)
        )

    async def alist_sessions(self, subject: str, *, now: float) -> list[SessionInfo]:
        """Async :meth:`list_sessions`."""
        return await self._call(functools.partial(self.list_sessions, subject, now=now))

    async def arevoke_session(
        self, session_id: str, *, now: float, expires_at: float | None = None
    ) -> bool:
        """Async :meth:`revoke_session`."""
        p = functools.partial
        return await self._call(p(self.revoke_session, session_id, now=now, expires_at=expires_at))

    async def arevoke_other_sessions(
        self, subject: str, keep_session_id: str | None, *, now: float
    ) -> int:
        """Async :meth:`revoke_other_sessions`."""
        p = functools.partial
        return await self._call(p(self.revoke_other_sessions, subject, keep_session_id, now=now))

    async def aconsume_once(self, key: str, *, expires_at: float, now: float) -> bool:
        """Async :meth:`consume_once`."""
        p = functools.partial
        return await self._call(p(self.consume_once, key, expires_at=expires_at, now=now))

    async def aput_value(self, key: str, value: str, *, expires_at: float, now: float) -> None:
        """Async :meth:`put_value`."""
        p = functools.partial
        await self._call(p(self.put_value, key, value, expires_at=expires_at, now=now))

    async def aget_value(self, key: str, *, now: float) -> str | None:
        """Async :meth:`get_value`."""
        return await self._call(functools.partial(self.get_value, key, now=now))

    async def apurge(self, *, now: float) -> int:
        """Async :meth:`purge`."""
        return await self._call(functools.partial(self.purge, now=now))

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        await self._call(self.close)
