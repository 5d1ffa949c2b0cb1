"""The Redis store's clients and how it runs its operations on them.

:class:`RedisBase` is the base the store's parts share (:class:`~.redis.RedisStore` and its
session methods, :mod:`._redis_sessions`): it builds the deployment's clients
(:class:`~._redis_clients.RedisClients`: the sync client, and one ``redis.asyncio`` client per
event loop), drives the operations of :mod:`._redis_ops` on them (:mod:`._redis_drive`) and
closes them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TypeVar

import anyio.to_thread
import redis.exceptions as rx

from ._redis_clients import AsyncClient, RedisClients, SyncClient, aclose_client
from ._redis_drive import arun_op, needs_one_node, run_op, unavailable
from ._redis_lua import Op
from ._redis_ops import RedisOps
from .base import Store

__all__ = ["RedisBase"]

_T = TypeVar("_T")


class RedisBase(Store):
    """The clients and drivers of :class:`~.redis.RedisStore` (whose docstring describes the
    constructor's parameters)."""

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
