"""The outer ASGI layer: refusals of the core middleware are handed to Quart, not answered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_jwtmiddleware._common import ERROR_KEY, PENDING, PENDING_KEY, Pending

if TYPE_CHECKING:
    from jwtmiddleware import JWTMiddleware
    from jwtmiddleware.integration import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RefusalRoutingMiddleware", "mark_entered"]

_NORMAL_CLOSURE, _POLICY_VIOLATION = 1000, 1008


def mark_entered(app: ASGIApp) -> ASGIApp:
    """``app`` noting in the request's slot that the middleware let the request through."""

    async def entered(scope: Scope, receive: Receive, send: Send) -> None:
        pending = scope.get(PENDING_KEY)
        if isinstance(pending, Pending):
            pending.entered = True
        await app(scope, receive, send)

    return entered


class _Recorder:
    """Keeps what the middleware read of the request (a CSRF form body) to replay to Quart."""

    __slots__ = ("_pending", "_receive", "_seen", "replaying")

    def __init__(self, receive: Receive, pending: Pending) -> None:
        self._receive = receive
        self._pending = pending
        self._seen: list[Message] = []
        self.replaying = False

    async def receive(self) -> Message:
        if self.replaying:
            if self._seen:
                return self._seen.pop(0)
            return await self._receive()
        message = await self._receive()
        if not self._pending.entered:
            self._seen.append(message)
        return message


def _websocket_send(send: Send, pending: Pending) -> Send:
    """Quart closes a handshake it refused with 1000 when the server cannot send the HTTP
    response; an authentication refusal closes with 1008 (policy violation), as in the core."""
    accepted = False

    async def websocket_send(message: Message) -> None:
        nonlocal accepted
        kind = message["type"]
        if kind == "websocket.accept":
            accepted = True
        elif (
            kind == "websocket.close"
            and not accepted
            and pending.refused
            and message.get("code", _NORMAL_CLOSURE) == _NORMAL_CLOSURE
        ):
            message = {**message, "code": _POLICY_VIOLATION}
        await send(message)

    return websocket_send


class RefusalRoutingMiddleware:
    """Run the core middleware; when it refuses, call Quart with the refusal in the scope.

    The core middleware (built with ``RefusalRouter`` as its ``ERROR_HANDLER``) records a
    refusal in the request's slot before answering; that answer is dropped here and the request
    goes to Quart with ``scope["jwtmiddleware.error"]`` set, where ``before_request`` and
    ``before_websocket`` hooks raise it as an ``HTTPException``. ``lifespan`` goes through the
    core middleware, which loads the revocation mirror before Quart's ``before_serving`` and
    stops it (closing the store it opened) after ``after_serving``.

    :param middleware: the core middleware wrapping ``mark_entered(app)``.
    :param app: Quart's own ``asgi_app``.
    """

    def __init__(self, middleware: JWTMiddleware, app: ASGIApp) -> None:
        #: The core middleware (its settings, authenticator and store).
        self.middleware = middleware
        #: The Quart application's original ``asgi_app``.
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await (self.middleware if kind == "lifespan" else self.app)(scope, receive, send)
            return
        pending = Pending()
        scope = dict(scope)
        scope[PENDING_KEY] = pending
        body = _Recorder(receive, pending)
        if kind == "websocket":
            send = _websocket_send(send, pending)

        async def send_unless_refused(message: Message) -> None:
            if pending.error is None:  # else: the middleware's own refusal, Quart answers
                await send(message)

        token = PENDING.set(pending)
        try:
            await self.middleware(scope, body.receive, send_unless_refused)
        finally:
            PENDING.reset(token)
        if pending.error is not None:
            scope[ERROR_KEY] = pending.error
            pending.refused = True
            body.replaying = True
            await self.app(scope, body.receive, send)
