"""The Redis store's device sessions, sync and async: each runs one operation of
:class:`~._redis_ops.RedisOps`; ending sessions also revokes their ids, which then reach this
process's mirrors at once."""

from __future__ import annotations

from ._records import SessionInfo, SessionStart
from ._redis_base import RedisBase

__all__ = ["RedisSessions"]


class RedisSessions(RedisBase):
    """The session methods of :class:`~.redis.RedisStore`."""

    def create_session(self, session: SessionInfo, *, now: float) -> None:
        self._run(self._ops.create_session(session, now))

    async def acreate_session(self, session: SessionInfo, *, now: float) -> None:
        await self._arun(self._ops.create_session(session, now))

    def start_session(
        self,
        session: SessionInfo,
        *,
        now: float,
        limit: int | None = None,
        evict_oldest: bool = True,
    ) -> SessionStart:
        """One script on the subject's hash slot decides and creates (atomic across every
        process); the evicted sessions' ids are revoked right after."""
        started, changes = self._run(self._ops.start_session(session, now, limit, evict_oldest))
        self._published(changes, now)
        return started

    async def astart_session(
        self,
        session: SessionInfo,
        *,
        now: float,
        limit: int | None = None,
        evict_oldest: bool = True,
    ) -> SessionStart:
        op = self._ops.start_session(session, now, limit, evict_oldest)
        started, changes = await self._arun(op, one_node=True)
        self._published(changes, now)
        return started

    def get_session(self, session_id: str, *, now: float) -> SessionInfo | None:
        return self._run(self._ops.get_session(session_id, now))

    async def aget_session(self, session_id: str, *, now: float) -> SessionInfo | None:
        return await self._arun(self._ops.get_session(session_id, now))

    def touch_session(self, session_id: str, *, now: float, min_interval: float = 60.0) -> bool:
        return self._run(self._ops.touch_session(session_id, now, min_interval))

    async def atouch_session(
        self, session_id: str, *, now: float, min_interval: float = 60.0
    ) -> bool:
        return await self._arun(self._ops.touch_session(session_id, now, min_interval))

    def list_sessions(self, subject: str, *, now: float) -> list[SessionInfo]:
        return self._run(self._ops.list_sessions(subject, now))

    async def alist_sessions(self, subject: str, *, now: float) -> list[SessionInfo]:
        return await self._arun(self._ops.list_sessions(subject, now))

    def revoke_session(
        self, session_id: str, *, now: float, expires_at: float | None = None
    ) -> bool:
        live, changes = self._run(self._ops.revoke_session(session_id, now, expires_at))
        self._published(changes, now)
        return live == 1

    async def arevoke_session(
        self, session_id: str, *, now: float, expires_at: float | None = None
    ) -> bool:
        op = self._ops.revoke_session(session_id, now, expires_at)
        live, changes = await self._arun(op, one_node=True)
        self._published(changes, now)
        return live == 1

    def revoke_other_sessions(
        self, subject: str, keep_session_id: str | None, *, now: float
    ) -> int:
        live, changes = self._run(self._ops.revoke_other_sessions(subject, keep_session_id, now))
        self._published(changes, now)
        return live

    async def arevoke_other_sessions(
        self, subject: str, keep_session_id: str | None, *, now: float
    ) -> int:
        op = self._ops.revoke_other_sessions(subject, keep_session_id, now)
        live, changes = await self._arun(op, one_node=True)
        self._published(changes, now)
        return live
