"""``JWTMiddleware``: the pure ASGI middleware.

It authenticates ``http`` and ``websocket`` scopes, passes every other scope type (``lifespan``)
straight through, puts the :class:`~jwtmiddleware.identity.Identity` into a copy of the scope
(``scope["jwtmiddleware.identity"]``, and ``scope["user"]``/``scope["auth"]`` for Starlette),
and changes responses only in its ``send`` wrapper.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from ._drive import run_async
from ._http import IDENTITY_KEY, Responder, as_auth_error, merge_vary, resolve_store
from .flow import Authenticator
from .settings import Settings
from .sources import ASGIRequestView

if TYPE_CHECKING:
    from .responses import ErrorResponse
    from .stores.base import Store

__all__ = ["ASGIApp", "JWTMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_POLICY_VIOLATION = 1008


class JWTMiddleware:
    """Authenticate every HTTP and websocket request of an ASGI app.

    :param app: the ASGI application to protect.
    :param settings: the configuration; read from ``JWTMIDDLEWARE_*`` variables when omitted.
    :param store: a store object overriding the ``STORE`` URL.
    :param clock: returns the current UNIX time (tests pass a frozen clock).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings | None = None,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.settings = settings if settings is not None else Settings.from_env()
        self.authenticator = Authenticator(self.settings)
        self.store = resolve_store(self.settings, store)
        self._clock = clock
        self._responder = Responder(self.settings, self.authenticator.sources)
        vary = self._responder.vary
        self._vary_header = (b"vary", vary.encode("latin-1")) if vary else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        view = ASGIRequestView(scope)
        authenticator = self.authenticator
        try:
            if authenticator.uses_store:
                result = await run_async(authenticator.flow(view, self._clock()), self.store)
            else:
                result = authenticator.decide(view, self._clock())[0]
        except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
            response = self._responder.response_for(as_auth_error(exc), view)
            await self._refuse(scope, send, response)
            return
        scope = dict(scope)
        scope[IDENTITY_KEY] = result.identity
        scope["user"] = result.identity
        scope["auth"] = result.credentials
        vary = self._vary_header
        vary_value = self._responder.vary or ""
        if result.exempt or vary is None or scope_type != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                headers = list(message.get("headers", ()))
                for index, (key, value) in enumerate(headers):
                    if key.lower() == b"vary":
                        merged = merge_vary(value.decode("latin-1"), vary_value)
                        headers[index] = (key, merged.encode("latin-1"))
                        break
                else:
                    headers.append(vary)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_vary)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, response: ErrorResponse) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        if scope["type"] == "http":
            await send(
                {"type": "http.response.start", "status": response.status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": response.body})
        elif "websocket.http.response" in (scope.get("extensions") or {}):
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": response.status,
                    "headers": headers,
                }
            )
            await send({"type": "websocket.http.response.body", "body": response.body})
        else:
            await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
