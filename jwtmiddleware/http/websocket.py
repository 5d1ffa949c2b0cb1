"""Websockets that end when their token does.

A websocket is authenticated once, at the handshake, and may then stay open for hours. The
ASGI middleware runs an authenticated connection through :func:`guard_websocket`: before each
message from the client reaches the application, the token is checked again (its ``exp``, and
the store's revocations of the token, its session and its subject: a lookup in the mirror), and
when the token's validity ends while the connection is idle, a timer closes it. Either way the
connection is closed with code 1008 (policy violation) and a short reason, and the application
receives ``websocket.disconnect`` instead of the message.

Browsers cannot set an ``Authorization`` header on a websocket. With the ``SOURCES`` entry
``"websocket_protocol"`` a client offers the token as a subprotocol pair:
``new WebSocket(url, ["bearer", token])`` (the header scheme, then the token). The middleware
takes the pair out of ``scope["subprotocols"]`` before the application sees it, and when the
application accepts without choosing a subprotocol, answers with ``bearer`` (browsers refuse a
handshake that selects none of the offered subprotocols); the token is never echoed.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import anyio

from ..core.errors import StoreUnavailable, TokenRevoked
from .store_checks import revocation_query

if TYPE_CHECKING:
    from ..core.identity import Identity
    from ..stores._changes import RevocationKeys
    from ..stores.base import Store

__all__ = [
    "POLICY_VIOLATION",
    "TRY_AGAIN_LATER",
    "guard_websocket",
    "strip_token_protocols",
    "token_check",
]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: ``check(now)``: ``None`` while the token holds, else ``(close code, reason)``.
Check = Callable[[float], Awaitable[tuple[int, str] | None]]

#: Close code for a token that expired or was revoked (RFC 6455 "policy violation").
POLICY_VIOLATION = 1008
#: Close code while the store cannot confirm the token (RFC 6455 "try again later").
TRY_AGAIN_LATER = 1013


def strip_token_protocols(scope: MutableMapping[str, Any], marker: str) -> bool:
    """Remove the ``marker, token`` pair from ``scope["subprotocols"]`` (in place); return
    whether it was there."""
    offered = list(scope.get("subprotocols") or ())
    lowered = [p.lower() for p in offered]
    if marker not in lowered:
        return False
    at = lowered.index(marker)
    del offered[at : at + 2]
    scope["subprotocols"] = offered
    return True


def token_check(
    identity: Identity,
    *,
    valid_until: float,
    check_revoked: Callable[[RevocationKeys, float], None] | None,
    keys: RevocationKeys | None,
    store: Store | None,
    fail_open: bool,
) -> Check:
    """What a websocket's every client message is checked against: the token's expiry
    (``valid_until``, leeway included), and its revocations: the mirror's lookup
    (``check_revoked`` on ``keys``), else the ``store`` asked (``None``: no store)."""
    query = revocation_query(identity)

    async def check(now: float) -> tuple[int, str] | None:
        if now >= valid_until:
            return POLICY_VIOLATION, "token expired"
        try:
            if check_revoked is not None and keys is not None:
                check_revoked(keys, now)
            elif (
                store is not None and query is not None and await store.ais_revoked(query, now=now)
            ):
                return POLICY_VIOLATION, "token revoked"
        except TokenRevoked:
            return POLICY_VIOLATION, "token revoked"
        except StoreUnavailable:
            if not fail_open:
                return TRY_AGAIN_LATER, "authentication temporarily unavailable"
        return None

    return check


async def guard_websocket(
    app: Callable[[Any, Receive, Send], Awaitable[None]],
    scope: MutableMapping[str, Any],
    receive: Receive,
    send: Send,
    *,
    check: Check,
    clock: Callable[[], float],
    valid_until: float,
    accept_protocol: str | None = None,
) -> None:
    """Run ``app`` on a websocket whose token stays valid until ``valid_until`` (UNIX time)
    and passes ``check`` before each client message.

    :param accept_protocol: the subprotocol to answer with when the application accepts
        without one (the client offered its token through ``Sec-WebSocket-Protocol``).
    """
    closed = False

    async def close(code: int, reason: str) -> None:
        nonlocal closed
        if not closed:
            closed = True
            await send({"type": "websocket.close", "code": code, "reason": reason})

    async def guarded_receive() -> Message:
        if closed:
            return {"type": "websocket.disconnect", "code": POLICY_VIOLATION}
        message = await receive()
        if message["type"] == "websocket.receive":
            verdict = await check(clock())
            if verdict is not None:
                await close(*verdict)
                return {"type": "websocket.disconnect", "code": verdict[0]}
        return message

    async def guarded_send(message: Message) -> None:
        if closed:
            return  # we closed the connection: what the application still sends goes nowhere
        if (
            accept_protocol is not None
            and message["type"] == "websocket.accept"
            and not message.get("subprotocol")
        ):
            message = {**message, "subprotocol": accept_protocol}
        await send(message)

    async def expire() -> None:
        left = valid_until - clock()
        if math.isfinite(left):
            await anyio.sleep(max(0.0, left))
            await close(POLICY_VIOLATION, "token expired")

    async with anyio.create_task_group() as group:
        group.start_soon(expire)
        try:
            await app(scope, guarded_receive, guarded_send)
        finally:
            group.cancel_scope.cancel()
