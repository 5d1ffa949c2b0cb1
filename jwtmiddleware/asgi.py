"""``JWTMiddleware``: the pure ASGI middleware.

It authenticates ``http`` and ``websocket`` scopes, passes every other scope type (``lifespan``)
straight through, puts the :class:`~jwtmiddleware.identity.Identity` into a copy of the scope
(``scope["jwtmiddleware.identity"]``, and ``scope["user"]``/``scope["auth"]`` for Starlette),
and changes responses only in its ``send`` wrapper: ``Vary`` and, when a token is renewed, the
sliding-refresh headers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from ._drive import run_async
from ._http import IDENTITY_KEY, MiddlewareCore, as_auth_error, merge_vary, with_vary
from .csrf import form_value
from .settings import Settings
from .sources import ASGIRequestView

if TYPE_CHECKING:
    from .effects import ReadForm
    from .flow import AuthResult
    from .refresh import RefreshPlan
    from .responses import ErrorResponse
    from .stores.base import Store

__all__ = ["ASGIApp", "JWTMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_POLICY_VIOLATION = 1008


class _BufferedBody:
    """Reads the request body for a CSRF form field and replays it to the application."""

    __slots__ = ("_buffered", "_receive")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._buffered: list[Message] = []

    async def read_form(self, effect: ReadForm) -> str | None:
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
        if self._buffered:
            return self._buffered.pop(0)
        return await self._receive()


class JWTMiddleware(MiddlewareCore):
    """Authenticate every HTTP and websocket request of an ASGI app.

    :param app: the ASGI application to protect.
    :param settings: the configuration; read from ``JWTMIDDLEWARE_*`` variables when omitted.
    :param store: a store object overriding the ``STORE`` URL.
    :param clock: returns the current UNIX time (tests pass a frozen clock).
    """

    app: ASGIApp

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings | None = None,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self._setup(settings, store, clock)
        self._vary_header = (b"vary", self._vary.encode("latin-1")) if self._vary else None
        self._fast = self.authenticator.fast_path
        self._header_name = self.settings.header_name.lower().encode("latin-1")
        self._max_fast = len(self.settings.header_scheme) + 1 + self.settings.max_token_bytes

    def _cached(self, scope: Scope) -> AuthResult | None:
        """A cached header-token result found with one pass over the raw headers."""
        if scope.get("method") == "OPTIONS":
            return None
        authorization = cookie = None
        for key, value in scope.get("headers", ()):
            if key == self._header_name:
                if authorization is not None:
                    return None  # two headers: the full path answers 400
                authorization = value
            elif key == b"cookie":
                cookie = value if cookie is None else cookie + b"; " + value
        if authorization is None or len(authorization) > self._max_fast:
            return None
        return self.authenticator.cached_bearer(
            authorization.decode("latin-1"),
            None if cookie is None else cookie.decode("latin-1"),
            self._clock(),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        if scope_type == "http" and scope["path"] == self._jwks_path:
            await self._serve_jwks(scope, send)
            return
        cached = self._cached(scope) if self._fast and scope_type == "http" else None
        if cached is not None:
            scope = dict(scope)
            scope[IDENTITY_KEY] = scope["user"] = cached.identity
            scope["auth"] = cached.credentials
            wrapped = self._send_with_vary(send) if self._vary_header is not None else send
            await self.app(scope, receive, wrapped)
            return
        view = ASGIRequestView(scope)
        authenticator = self.authenticator
        try:
            if authenticator.needs_flow(view):
                flow = authenticator.flow(view, self._clock())
                try:
                    first = flow.send(None)
                except StopIteration as done:  # decided without the outside world
                    result = done.value
                else:
                    body = _BufferedBody(receive)
                    receive = body.receive
                    result = await run_async(flow, self.store, body.read_form, first=first)
            else:
                result = authenticator.decide(view, self._clock())
        except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
            response = self._responder.response_for(as_auth_error(exc), view)
            await self._refuse(scope, send, response)
            return
        scope = dict(scope)
        scope[IDENTITY_KEY] = result.identity
        scope["user"] = result.identity
        scope["auth"] = result.credentials
        vary = self._vary_header
        if result.exempt or scope_type != "http" or (vary is None and result.refresh is None):
            await self.app(scope, receive, send)
            return
        plan = result.refresh
        send_wrapper = self._send_with_refresh(send, plan) if plan else self._send_with_vary(send)
        await self.app(scope, receive, send_wrapper)

    def _send_with_vary(self, send: Send) -> Send:
        vary, value = self._vary_header, self._vary or ""

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                headers = list(message.get("headers", ()))
                for index, (key, current) in enumerate(headers):
                    if key.lower() == b"vary":
                        merged = merge_vary(current.decode("latin-1"), value)
                        headers[index] = (key, merged.encode("latin-1"))
                        break
                else:
                    headers.append(vary)
                message["headers"] = headers
            await send(message)

        return send_with_vary

    def _send_with_refresh(self, send: Send, plan: RefreshPlan) -> Send:
        vary = self._vary

        async def send_with_refresh(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", ())
                ]
                if vary:
                    headers = with_vary(headers, vary)
                if plan.applies_to(message["status"], headers):
                    headers = plan.apply(headers)
                message["headers"] = [(k.encode("latin-1"), v.encode("latin-1"))
                                      for k, v in headers]  # fmt: skip
            await send(message)

        return send_with_refresh

    async def _serve_jwks(self, scope: Scope, send: Send) -> None:
        assert self.jwks is not None
        view = ASGIRequestView(scope)
        status, headers, body = self.jwks.respond(view.method, view.get("if-none-match"))
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _refuse(scope: Scope, send: Send, response: ErrorResponse) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": response.status,
                        "headers": headers})  # fmt: skip
            await send({"type": "http.response.body", "body": response.body})
        elif "websocket.http.response" in (scope.get("extensions") or {}):
            await send({"type": "websocket.http.response.start", "status": response.status,
                        "headers": headers})  # fmt: skip
            await send({"type": "websocket.http.response.body", "body": response.body})
        else:
            await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
