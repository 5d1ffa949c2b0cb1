"""Driving the sans-IO Redis operations with redis-py clients, sync and asyncio.

A batch of one command is sent as is, a larger batch as one non-transactional pipeline: one
round trip per batch either way. A script is sent by SHA and, after ``NOSCRIPT`` (a restart, a
``SCRIPT FLUSH``, a failover), by source. Every failure, including an error reply from the
server (``OOM`` under ``noeviction``, ``READONLY`` after a failover), becomes
:class:`~jwtmiddleware.errors.StoreUnavailable`, chained to redis-py's exception.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar, cast

import redis.exceptions as rx

from ..errors import StoreUnavailable
from ._redis_lua import Cmd, Lua, Op

__all__ = ["arun_op", "run_op", "unavailable"]

_T = TypeVar("_T")

_UNAVAILABLE: tuple[type[BaseException], ...] = (rx.RedisError, asyncio.TimeoutError, OSError)


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


def run_op(client: Any, op: Op[_T]) -> _T:
    """Drive ``op`` with a sync client (``Redis``, ``RedisCluster`` or a Sentinel master)."""
    try:
        batch = next(op)
        while True:
            batch = op.send(_send(client, batch))
    except StopIteration as stop:
        return cast(_T, stop.value)


def _send(client: Any, batch: list[Cmd]) -> list[Any]:
    try:
        if len(batch) == 1:
            return [_one(client, batch[0])]
        with client.pipeline(transaction=False) as pipe:
            for cmd in batch:
                pipe.execute_command(*_wire(cmd))
            results = pipe.execute(raise_on_error=False)
        return [
            _one(client, cmd) if isinstance(res, rx.NoScriptError) else _reply(res)
            for cmd, res in zip(batch, results, strict=True)
        ]
    except _UNAVAILABLE as exc:
        raise unavailable(exc) from exc


def _one(client: Any, cmd: Cmd) -> Any:
    try:
        return client.execute_command(*_wire(cmd))
    except rx.NoScriptError:  # first use since a restart or SCRIPT FLUSH
        return client.execute_command(*_wire(cmd, load=True))


async def arun_op(client: Any, op: Op[_T]) -> _T:
    """Drive ``op`` with an asyncio client."""
    try:
        batch = next(op)
        while True:
            batch = op.send(await _asend(client, batch))
    except StopIteration as stop:
        return cast(_T, stop.value)


async def _asend(client: Any, batch: list[Cmd]) -> list[Any]:
    try:
        if len(batch) == 1:
            return [await _aone(client, batch[0])]
        async with client.pipeline(transaction=False) as pipe:
            for cmd in batch:
                pipe.execute_command(*_wire(cmd))
            results = await pipe.execute(raise_on_error=False)
        return [
            await _aone(client, cmd) if isinstance(res, rx.NoScriptError) else _reply(res)
            for cmd, res in zip(batch, results, strict=True)
        ]
    except _UNAVAILABLE as exc:
        raise unavailable(exc) from exc


async def _aone(client: Any, cmd: Cmd) -> Any:
    try:
        return await client.execute_command(*_wire(cmd))
    except rx.NoScriptError:
        return await client.execute_command(*_wire(cmd, load=True))
