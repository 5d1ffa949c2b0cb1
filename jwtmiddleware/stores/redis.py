"""Redis store: shared by every worker on every host, with a native asyncio client.

The operations live in :mod:`._redis_ops` as generators of command batches; this module only
drives them, with the sync client (:meth:`RedisStore._run`) or ``redis.asyncio``
(:meth:`RedisStore._arun`). A batch of one command is sent as is, a larger batch as one
non-transactional pipeline: one round trip per batch either way.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, TypeVar

import anyio.to_thread
import redis
import redis.asyncio
import redis.asyncio.retry
import redis.exceptions as rx
from redis.backoff import NoBackoff
from redis.retry import Retry

from ._changes import (
    SUBJECT,
    TOKEN,
    Change,
    ChangeLog,
    subject_member,
    token_member,
)
from ._redis_drive import arun_op, run_op
from ._redis_lua import Op
from ._redis_ops import RedisOps
from ._url import redact_url
from .base import RevocationQuery, SessionInfo, Store

__all__ = ["RedisStore"]

_T = TypeVar("_T")


class RedisStore(Store):
    """A store in Redis, for deployments with several hosts.

    Timeouts are explicit and short (``timeout`` for connect and for every reply), a failed
    connection is retried at most once without backoff, and every failure surfaces as
    :class:`StoreUnavailable` so the middleware fails closed within about ``timeout``. Every key
    lives under ``prefix`` and expires with the data it guards. Plain Redis only (the
    multi-key scripts are not Redis Cluster slot-safe).

    :param url: ``redis://``, ``rediss://`` or ``unix://`` URL, as for ``redis.Redis.from_url``.
    :param timeout: seconds for connecting and for each reply.
    :param prefix: namespace of every key.
    """

    def __init__(self, url: str, *, timeout: float = 0.1, prefix: str = "jwtmw:") -> None:
        self._url = url
        self.timeout = timeout
        self.prefix = prefix
        self._ops = RedisOps(prefix)
        #: Names of this store's keys (for inspection and tests).
        self.keys = self._ops.keys
        try:
            self._client = redis.Redis.from_url(
                url, retry=Retry(NoBackoff(), 1, (rx.ConnectionError,)), **self._options()
            )
        except ValueError:
            # urllib's and redis-py's messages quote URL parts, the password included.
            raise ValueError(f"malformed Redis URL: {redact_url(url)}") from None
        # redis.asyncio connections belong to the loop that opened them: one client per loop.
        self._aclients: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}
        self._alock = threading.Lock()
        self._closing: set[asyncio.Task[None]] = set()

    def _options(self) -> dict[str, Any]:
        return {
            "socket_connect_timeout": self.timeout,
            "socket_timeout": self.timeout,
            "health_check_interval": 0,
            "decode_responses": True,
        }

    def blocking_client(self, socket_timeout: float) -> redis.Redis:
        """A new sync client for commands that wait on the server (``XREAD BLOCK``)."""
        options = {**self._options(), "socket_timeout": socket_timeout}
        return redis.Redis.from_url(self._url, **options)

    def __repr__(self) -> str:
        return f"RedisStore({redact_url(self._url)!r}, prefix={self.prefix!r})"

    # -- drivers -----------------------------------------------------------------------------

    def _run(self, op: Op[_T]) -> _T:
        return run_op(self._client, op)

    async def _arun(self, op: Op[_T]) -> _T:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): redis.asyncio cannot run here
            return await anyio.to_thread.run_sync(self._run, op)
        return await arun_op(self._aclient(loop), op)

    def _aclient(self, loop: asyncio.AbstractEventLoop) -> redis.asyncio.Redis:
        with self._alock:
            client = self._aclients.get(loop)
            if client is None:
                # Forget loops that ended without aclose(): their connections cannot be closed
                # any more, but the loop objects need not be kept alive forever.
                for dead in [lp for lp in self._aclients if lp.is_closed()]:
                    del self._aclients[dead]
                retry = redis.asyncio.retry.Retry(NoBackoff(), 1, (rx.ConnectionError,))
                client = redis.asyncio.Redis.from_url(self._url, retry=retry, **self._options())
                self._aclients[loop] = client
            return client

    # -- public API: each method drives one operation ----------------------------------------

    # Revocations are written with their change-log entry by one script, then applied to this
    # process's mirrors at once.

    def revoke_token(self, issuer: str, token_id: str, *, expires_at: float, now: float) -> None:
        change = Change(TOKEN, token_member(issuer, token_id), expires_at)
        self._run(self._ops.revoke(change, now))
        self._published([change], now)

    async def arevoke_token(
        self, issuer: str, token_id: str, *, expires_at: float, now: float
    ) -> None:
        change = Change(TOKEN, token_member(issuer, token_id), expires_at)
        await self._arun(self._ops.revoke(change, now))
        self._published([change], now)

    def revoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        change = Change(SUBJECT, subject_member(issuer, subject), expires_at, before)
        self._run(self._ops.revoke(change, now))
        self._published([change], now)

    async def arevoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        change = Change(SUBJECT, subject_member(issuer, subject), expires_at, before)
        await self._arun(self._ops.revoke(change, now))
        self._published([change], now)

    def is_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        return self._run(self._ops.is_revoked(query, now))

    async def ais_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        return await self._arun(self._ops.is_revoked(query, now))

    def create_session(self, session: SessionInfo, *, now: float) -> None:
        self._run(self._ops.create_session(session, now))

    async def acreate_session(self, session: SessionInfo, *, now: float) -> None:
        await self._arun(self._ops.create_session(session, now))

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
        live, changes = await self._arun(self._ops.revoke_session(session_id, now, expires_at))
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
        live, changes = await self._arun(op)
        self._published(changes, now)
        return live

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
        """Return 0: every key carries a TTL, so Redis expires entries itself."""
        return 0

    async def apurge(self, *, now: float) -> int:
        return 0

    # -- the change log --------------------------------------------------------------------------

    @property
    def log_identity(self) -> tuple[str, str, str]:
        """The server URL and the key prefix."""
        return ("redis", self._url, self.prefix)

    def open_change_log(self) -> ChangeLog:
        """A reader of the change log on a connection of its own (it blocks in ``XREAD``)."""
        from ._redis_log import RedisChangeLog

        return RedisChangeLog(self, self._ops.revocations)

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
                loop.run_until_complete(client.aclose())
                continue
            try:
                current = asyncio.get_running_loop()
            except RuntimeError:
                current = None
            if current is loop:  # close() called from async code: finish in the background
                task = loop.create_task(client.aclose())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            else:
                asyncio.run_coroutine_threadsafe(client.aclose(), loop)
        self._client.close()

    async def aclose(self) -> None:
        """Close this event loop's async client (awaiting it), then everything else."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._alock:
            client = self._aclients.pop(loop, None) if loop is not None else None
        if client is not None:
            await client.aclose()
        self.close()
