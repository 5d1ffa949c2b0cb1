"""An ASGI app that reports, at each lifespan edge, how many Redis connections are open.

``create_app()`` is :mod:`tests.apps.asgi_echo`'s app (settings from ``JWTMIDDLEWARE_*``) inside
a wrapper that, when the middleware passes ``lifespan.startup.complete`` or
``lifespan.shutdown.complete`` up to the server, counts the clients connected to the Redis
server named by ``JWTMW_PROBE_REDIS`` (its own probe connection excluded) and appends
``{"event": ..., "clients": N}`` lines to the file named by ``JWTMW_PROBE_FILE``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import redis

from tests.apps.asgi_echo import create_app as create_echo

Message = MutableMapping[str, Any]

__all__ = ["create_app"]


def _count_clients() -> int:
    probe = redis.Redis.from_url(os.environ["JWTMW_PROBE_REDIS"])
    try:
        own = probe.client_id()
        return sum(1 for client in probe.client_list() if int(client["id"]) != own)
    finally:
        probe.close()


def _record(event: str) -> None:
    with open(os.environ["JWTMW_PROBE_FILE"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"event": event, "clients": _count_clients()}) + "\n")


def create_app() -> Callable[..., Awaitable[None]]:
    inner = create_echo()

    async def app(scope: Any, receive: Any, send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "lifespan":
            await inner(scope, receive, send)
            return

        async def probing_send(message: Message) -> None:
            if message["type"] in ("lifespan.startup.complete", "lifespan.shutdown.complete"):
                _record(message["type"])
            await send(message)

        await inner(scope, receive, probing_send)

    return app
