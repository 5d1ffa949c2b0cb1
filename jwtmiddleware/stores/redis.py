"""Redis store: shared by every worker on every host; one node, Redis Cluster or Sentinel.

The operations live in :mod:`._redis_ops` as generators of command batches; this module only
drives them (:mod:`._redis_drive`) with the clients :class:`~._redis_clients.RedisClients`
builds for the deployment the URL names: the sync client, and one ``redis.asyncio`` client per
event loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, TypeVar

import anyio.to_thread
import redis.exceptions as rx

from ._changes import SUBJECT, TOKEN, Change, ChangeLog, subject_member, token_member
from ._redis_clients import AsyncClient, RedisClients, SyncClient, aclose_client
from ._redis_drive import arun_op, needs_one_node, run_op, unavailable
from ._redis_lua import Op
from ._redis_ops import RedisOps
from .base import RevocationQuery, SessionInfo, SessionStart, Store

if TYPE_CHECKING:
    from ._checks import Finding

__all__ = ["RedisStore"]

_T = TypeVar("_T")


class RedisStore(Store):
    """A store in Redis, for deployments with several hosts.

    Timeouts are explicit and short (``timeout`` for connecting and for every reply), a failed
    connection is retried at most once without back-off, and every failure (an error reply
    included) surfaces as :class:`StoreUnavailable`, so the middleware fails closed within
    about ``timeout``. Every key lives under ``prefix``. Every script touches one hash slot,
    so the same store runs on a Redis Cluster; behind Sentinel it follows failovers.

    :param url: ``redis://``, ``rediss://``, ``unix://``, ``redis+cluster://``,
        ``redis+sentinel://`` (or ``rediss+``) URL; see the README's *Scaling out*.
    :param timeout: seconds for connecting and for each reply.
    :param prefix: namespace of every key.
    :param min_replicas: ``STORE_MIN_REPLICAS``: revocations wait (``WAIT``) until that many
        replicas have them, else the write raises :class:`StoreUnavailable`.
    """

    def __init__(
        self, url: str, *, timeout: float = 0.1, prefix: str = "jwtmw:", min_replicas: int = 0
    ) -> None:
        self._clients = RedisClients.from_url(url, timeout=timeout)
        self.timeout = timeout
        self.prefix = prefix
        self.min_replicas = min_replicas
        # WAIT answers within its own timeout: half the socket's read timeout leaves the
        # other half for the write before it and the reply.
        self._ops = RedisOps(prefix, min_replicas=min_replicas,
                             wait_ms=max(1, int(timeout * 1000 / 2)))  # fmt: skip
        #: Names of this store's keys (for inspection and tests).
        self.keys = self._ops.keys
        # redis.asyncio connections belong to the loop that opened them: one client per loop.
        self._aclients: dict[asyncio.AbstractEventLoop, AsyncClient] = {}
        self._alock = threading.Lock()
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def kind(self) -> str:
        """``"redis"``, ``"redis-cluster"`` or ``"redis-sentinel"``."""
        return self._clients.kind

    @property
    def clients(self) -> RedisClients:
        """The deployment's client builder (for start-up checks and the change log)."""
        return self._clients

    def blocking_client(self, block: float) -> SyncClient:
        """A new sync client for commands that wait on the server up to ``block`` seconds
        (``XREAD BLOCK``); the caller closes it."""
        return self._clients.blocking_reader(block)

    def __repr__(self) -> str:
        return f"RedisStore({self._clients.describe()!r}, prefix={self.prefix!r})"

    # -- drivers -----------------------------------------------------------------------------

    def _sync(self) -> SyncClient:
        try:
            return self._clients.sync
        except (rx.RedisError, OSError) as exc:  # a cluster reads its slot map when built
            raise unavailable(exc) from exc

    def _run(self, op: Op[_T]) -> _T:
        return run_op(self._sync(), op)

    async def _arun(self, op: Op[_T], *, one_node: bool = False) -> _T:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): redis.asyncio cannot run here
            return await anyio.to_thread.run_sync(self._run, op)
        if one_node and needs_one_node(self._clients.kind, self.min_replicas):
            # WAIT on a cluster goes to the node that took the write, on the same connection:
            # the sync driver reaches that node's own client; revocations are rare.
            return await anyio.to_thread.run_sync(self._run, op)
        return await arun_op(self._aclient(loop), op)

    def _aclient(self, loop: asyncio.AbstractEventLoop) -> AsyncClient:
        with self._alock:
            client = self._aclients.get(loop)
            if client is None:
                # Forget loops that ended without aclose(): their connections cannot be closed
                # any more, but the loop objects need not be kept alive forever.
                for dead in [lp for lp in self._aclients if lp.is_closed()]:
                    del self._aclients[dead]
                client = self._aclients[loop] = self._clients.make_async()
            return client

    # -- revocation: written with its change-log entry by one script, then applied to this
    # -- process's mirrors at once

    def _revoke(self, change: Change, now: float) -> None:
        written = self._run(self._ops.revoke(change, now))
        self._published([written], now)

    async def _arevoke(self, change: Change, now: float) -> None:
        written = await self._arun(self._ops.revoke(change, now), one_node=True)
        self._published([written], now)

    def revoke_token(self, issuer: str, token_id: str, *, expires_at: float, now: float) -> None:
        self._revoke(Change(TOKEN, token_member(issuer, token_id), expires_at), now)

    async def arevoke_token(
        self, issuer: str, token_id: str, *, expires_at: float, now: float
    ) -> None:
        await self._arevoke(Change(TOKEN, token_member(issuer, token_id), expires_at), now)

    def revoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        self._revoke(Change(SUBJECT, subject_member(issuer, subject), expires_at, before), now)

    async def arevoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        change = Change(SUBJECT, subject_member(issuer, subject), expires_at, before)
        await self._arevoke(change, now)

    def subject_generation(self, issuer: str, subject: str, *, now: float) -> int:
        return self._run(self._ops.subject_generation(issuer, subject, now))

    async def asubject_generation(self, issuer: str, subject: str, *, now: float) -> int:
        return await self._arun(self._ops.subject_generation(issuer, subject, now))

    def is_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        return self._run(self._ops.is_revoked(query, now))

    async def ais_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        return await self._arun(self._ops.is_revoked(query, now))

    # -- sessions ----------------------------------------------------------------------------------

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

    # -- one-time markers and values ---------------------------------------------------------

    def consume_once(self, key: str, *, expires_at: float, now: float) -> bool:
        return self._run(self._ops.consume_once(key, expires_at, now))

    async def aconsume_once(self, key: str, *, expires_at: float, now: float) -> bool:
        return await self._arun(self._ops.consume_once(key, expires_at, now))

    def put_value(self, key: str, value: str, *, expires_at: float, now: float) -> None:
        self._run(self._ops.put_value(key, value, expires_at, now))

    async def aput_value(self, key: str, value: str, *, expires_at: float, now: float) -> None:
        await self._arun(self._ops.put_value(key, value, expires_at, now))

    def get_value(self, key: str, *, now: float) -> str | None:
        return self._run(self._ops.get_value(key))

    async def aget_value(self, key: str, *, now: float) -> str | None:
        return await self._arun(self._ops.get_value(key))

    def purge(self, *, now: float) -> int:
        """Return 0: Redis expires entries itself (TTLs; revocations on each write)."""
        return 0

    async def apurge(self, *, now: float) -> int:
        return 0

    # -- the change log and start-up checks --------------------------------------------------

    @property
    def log_identity(self) -> tuple[str, str, str]:
        """The deployment (password-free) and the key prefix."""
        return ("redis", self._clients.describe(), self.prefix)

    def open_change_log(self) -> ChangeLog:
        """A reader of the change log on a connection of its own (it blocks in ``XREAD``)."""
        from ._redis_log import RedisChangeLog

        return RedisChangeLog(self, self._ops.revocations)

    def check(self) -> list[Finding]:
        """That Redis answers, and does not lose revocations to an evicting
        ``maxmemory-policy`` or missing persistence, on every master."""
        from ._redis_checks import check_clients

        return check_clients(self._clients)

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync client and every async client whose event loop can still run it.

        Connections of ``redis.asyncio`` belong to their loop: call :meth:`aclose` in each loop
        that used the store before that loop ends; a client whose loop already closed cannot be
        shut down cleanly and is dropped.
        """
        self._stop_mirror()
        with self._alock:
            clients, self._aclients = self._aclients, {}
        for loop, client in clients.items():
            if loop.is_closed():
                continue
            if not loop.is_running():
                loop.run_until_complete(aclose_client(client))
                continue
            try:
                current = asyncio.get_running_loop()
            except RuntimeError:
                current = None
            if current is loop:  # close() called from async code: finish in the background
                task = loop.create_task(aclose_client(client))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            else:
                asyncio.run_coroutine_threadsafe(aclose_client(client), loop)
        self._clients.close()

    async def aclose(self) -> None:
        """Close this event loop's async client (awaiting it), then everything else."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._alock:
            client = self._aclients.pop(loop, None) if loop is not None else None
        if client is not None:
            await aclose_client(client)
        self.close()
