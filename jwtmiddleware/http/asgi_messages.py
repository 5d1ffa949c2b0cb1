"""ASGI messages the middleware touches: the response start (``Vary``, a sliding refresh),
written once for every ASGI response, and a request body read for a CSRF form field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import TYPE_CHECKING, Any

from .csrf import form_value
from .middleware import merge_vary

if TYPE_CHECKING:
    from ..core.effects import ReadForm
    from .refresh import RefreshPlan

__all__ = ["BufferedBody", "auth_headers_sender", "send_with_auth_headers"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Header = tuple[bytes, bytes]


def auth_headers_sender(send: Send, vary: Header | None, plan: RefreshPlan | None) -> Send:
    """``send``, adding the middleware's headers to ``http.response.start``: ``vary`` merged
    into the application's own ``Vary``, and the renewed token of a sliding-refresh ``plan``.

    A ``functools.partial`` of :func:`send_with_auth_headers`, which returns ``send``'s own
    awaitable: a message costs no extra coroutine (an ASGI ``send`` is any callable returning
    an awaitable), and building the wrapper costs no Python call.
    """
    return partial(send_with_auth_headers, send, vary, plan)


def send_with_auth_headers(
    send: Send, vary: Header | None, plan: RefreshPlan | None, message: Message
) -> Awaitable[None]:
    """Send ``message``, with the middleware's headers when it starts the response. The
    common case (``Vary`` added to a response without one) is written out inline: it runs on
    every response of a protected route."""
    if message["type"] == "http.response.start":
        headers = message.get("headers", ())
        if type(headers) is not list:
            headers = list(headers)
        if vary is not None:
            for key, _ in headers:
                # ASGI header names are lower case; an app's "Vary" is merged too. Any other
                # spelling gets a second Vary line, which HTTP reads as one list.
                if key == b"vary" or key == b"Vary":
                    headers = _merged_vary(headers, vary)
                    break
            else:
                headers = [*headers, vary]
        if plan is not None:
            headers = _refreshed(message["status"], headers, plan)
        message = {**message, "headers": headers}
    return send(message)


def _merged_vary(headers: list[Header], vary: Header) -> list[Header]:
    fields = vary[1].decode("latin-1")
    return [
        (key, merge_vary(value.decode("latin-1"), fields).encode("latin-1"))
        if key == b"vary" or key == b"Vary"
        else (key, value)
        for key, value in headers
    ]


def _refreshed(status: int, headers: list[Header], plan: RefreshPlan) -> list[Header]:
    text = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
    if not plan.applies_to(status, text):
        return headers
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in plan.apply(text)]


class BufferedBody:
    """Reads the request body for a CSRF form field and replays it to the application."""

    __slots__ = ("_buffered", "_receive")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._buffered: list[Message] = []

    async def read_form(self, effect: ReadForm) -> str | None:
        """The form field ``effect`` asks for (``None``: absent, or over its size limit)."""
        body = bytearray()
        while True:
            message = await self._receive()
            self._buffered.append(message)
            if message["type"] != "http.request":
                return None
            body += message.get("body", b"")
            if len(body) > effect.limit:
                return None
            if not message.get("more_body", False):
                break
        return form_value(bytes(body), effect.field)

    async def receive(self) -> Message:
        """The application's ``receive``: what was read first, then the rest."""
        if self._buffered:
            return self._buffered.pop(0)
        return await self._receive()
