"""Driving the sans-IO Redis operations with redis-py clients, sync and asyncio.

A batch of one command is sent as is, a larger batch as one non-transactional pipeline: one
round trip per batch either way, on one connection (a ``WAIT`` after a write must follow it on
the same connection). On a Redis Cluster, a batch's commands are sent one by one (each routed
by its key: scripts cannot run in cluster pipelines), except a write followed by ``WAIT``,
which goes as one pipeline to the node owning the write's key. A script is sent by SHA and,
after ``NOSCRIPT`` (a restart, a ``SCRIPT FLUSH``, a failover), by source. Every failure,
including an error reply from the server (``OOM`` under ``noeviction``, ``READONLY`` after a
failover), becomes :class:`~jwtmiddleware.errors.StoreUnavailable`, chained to redis-py's
exception.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar, cast

import redis.exceptions as rx

from ..core.errors import StoreUnavailable
from ._redis_lua import Cmd, Lua, Op

__all__ = ["arun_op", "needs_one_node", "run_op", "unavailable"]

_T = TypeVar("_T")

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    rx.RedisError,
    rx.RedisClusterException,  # not a RedisError: "no node answered", slot map trouble
    asyncio.TimeoutError,
    OSError,
)


def unavailable(exc: BaseException) -> StoreUnavailable:
    """The store failure for a redis-py exception (the text never holds the URL)."""
    return StoreUnavailable(f"redis: {type(exc).__name__}: {exc}")


def _wire(cmd: Cmd, *, load: bool = False) -> Cmd:
    head = cmd[0]
    if isinstance(head, Lua):
        return ("EVAL", head.source, *cmd[1:]) if load else ("EVALSHA", head.sha, *cmd[1:])
    return cmd


def _reply(result: Any) -> Any:
    if isinstance(result, BaseException):
        raise result
    return result


def needs_one_node(kind: str, min_replicas: int) -> bool:
    """Whether writes wait for replicas on a cluster (the sync driver reaches the node)."""
    return kind == "redis-cluster" and min_replicas > 0


def _is_cluster(client: Any) -> bool:
    return hasattr(client, "get_node_from_key")


def _first_key(cmd: Cmd) -> str:
    if isinstance(cmd[0], Lua):
        return str(cmd[2])
    return str(cmd[1])


def run_op(client: Any, op: Op[_T]) -> _T:
    """Drive ``op`` with a sync client (``Redis``, ``RedisCluster`` or a Sentinel master)."""
    send = _send_cluster if _is_cluster(client) else _send
    try:
        batch = next(op)
        while True:
            batch = op.send(send(client, batch))
    except StopIteration as stop:
        return cast(_T, stop.value)


def _send_cluster(client: Any, batch: list[Cmd]) -> list[Any]:
    if len(batch) > 1 and batch[-1][0] == "WAIT":
        try:
            node = client.get_node_from_key(_first_key(batch[0]))
            return _send(client.get_redis_connection(node), batch)
        except _UNAVAILABLE as exc:
            raise unavailable(exc) from exc
    try:
        return [_one(client, cmd) for cmd in batch]
    except _UNAVAILABLE as exc:
        raise unavailable(exc) from exc


def _send(client: Any, batch: list[Cmd]) -> list[Any]:
    try:
        if len(batch) == 1:
            return [_one(client, batch[0])]
        results = _pipelined(client, batch, load=False)
        if any(isinstance(res, rx.NoScriptError) for res in results):
            # A script unknown to the server did not run: send the batch again with the
            # scripts' source, so what follows it (a WAIT) still comes after the write.
            results = _pipelined(client, batch, load=True)
        return [_reply(res) for res in results]
    except _UNAVAILABLE as exc:
        raise unavailable(exc) from exc


def _pipelined(client: Any, batch: list[Cmd], *, load: bool) -> list[Any]:
    with client.pipeline(transaction=False) as pipe:
        for cmd in batch:
            pipe.execute_command(*_wire(cmd, load=load))
        return list(pipe.execute(raise_on_error=False))


async def _apipelined(client: Any, batch: list[Cmd], *, load: bool) -> list[Any]:
    async with client.pipeline(transaction=False) as pipe:
        for cmd in batch:
            pipe.execute_command(*_wire(cmd, load=load))
        return list(await pipe.execute(raise_on_error=False))


def _one(client: Any, cmd: Cmd) -> Any:
    try:
        return client.execute_command(*_wire(cmd))
    except rx.NoScriptError:  # first use since a restart or SCRIPT FLUSH
        return client.execute_command(*_wire(cmd, load=True))


async def arun_op(client: Any, op: Op[_T]) -> _T:
    """Drive ``op`` with an asyncio client (a cluster's: one command at a time)."""
    send = _asend_cluster if _is_cluster(client) else _asend
    try:
        batch = next(op)
        while True:
            batch = op.send(await send(client, batch))
    except StopIteration as stop:
        return cast(_T, stop.value)


async def _asend_cluster(client: Any, batch: list[Cmd]) -> list[Any]:
    try:
        return [await _aone(client, cmd) for cmd in batch]
    except _UNAVAILABLE as exc:
        raise unavailable(exc) from exc


async def _asend(client: Any, batch: list[Cmd]) -> list[Any]:
    try:
        if len(batch) == 1:
            return [await _aone(client, batch[0])]
        results = await _apipelined(client, batch, load=False)
        if any(isinstance(res, rx.NoScriptError) for res in results):
            results = await _apipelined(client, batch, load=True)
        return [_reply(res) for res in results]
    except _UNAVAILABLE as exc:
        raise unavailable(exc) from exc


async def _aone(client: Any, cmd: Cmd) -> Any:
    try:
        return await client.execute_command(*_wire(cmd))
    except rx.NoScriptError:
        return await client.execute_command(*_wire(cmd, load=True))
