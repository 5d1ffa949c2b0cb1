"""``JWTMiddleware``: the pure ASGI middleware.

It authenticates ``http`` and ``websocket`` scopes, passes every other scope type (``lifespan``)
straight through, puts the :class:`~jwtmiddleware.identity.Identity` into a copy of the scope
(``scope["jwtmiddleware.identity"]``, and ``scope["user"]``/``scope["auth"]`` for Starlette),
and changes responses only in its ``send`` wrapper: ``Vary`` and, when a token is renewed, the
sliding-refresh headers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from ..core.settings import Settings
from .asgi_messages import BufferedBody, auth_headers_sender, send_with_auth_headers
from .drive import run_async
from .middleware import IDENTITY_KEY, MiddlewareCore, as_auth_error, logger
from .results import AuthResult
from .sources import ASGIRequestView
from .status import status_response
from .websocket import guard_websocket, strip_token_protocols, token_check

if TYPE_CHECKING:
    from ..core.identity import Identity
    from ..stores.base import Store
    from .sources import RequestView

__all__ = ["ASGIApp", "JWTMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_POLICY_VIOLATION = 1008


class JWTMiddleware(MiddlewareCore):
    """Authenticate every HTTP and websocket request of an ASGI app.

    :param app: the ASGI application to protect.
    :param settings: the configuration; read from ``JWTMIDDLEWARE_*`` variables when omitted.
    :param store: a store object overriding the ``STORE`` URL.
    :param clock: returns the current UNIX time (tests pass a frozen clock).
    :param metrics: where to record metrics: a ``prometheus_client.CollectorRegistry`` or an
        OpenTelemetry ``MeterProvider`` (default: ``METRICS``; middleware sharing one share
        its instruments).
    """

    app: ASGIApp
    _downstream: ASGIApp

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings | None = None,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        metrics: Any = None,
    ) -> None:
        self.app = app
        self._setup(settings, store, clock, metrics)
        self._vary_header = (b"vary", self._vary.encode("latin-1")) if self._vary else None
        self._fast = self.authenticator.fast_path
        self._bearer = self.authenticator.bearer
        # Whether the fast lane may return a flow (the store asked per request).
        self._fast_flows = self.authenticator.store_effects
        self._ws_protocol = (
            self.settings.header_scheme.lower()
            if "websocket_protocol" in self.settings.sources
            else None
        )
        # lifespan passes through untouched unless there is something to start or close.
        self._handles_lifespan = self.mirror is not None or self._owns_store
        self._header_name = self.settings.header_name.lower().encode("latin-1")
        self._cookie_key = (self.settings.access_cookie_name + "=").encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._not_http(scope, receive, send)
            return
        own = self._own_paths  # JWKS_PATH and STATUS_PATH, answered here; None: neither
        if own is not None and scope["path"] in own:
            await self._serve_own(scope, send)
            return
        if self._fast and scope.get("method") != "OPTIONS":
            # The Bearer fast lane: one pass over the raw headers; a request with exactly one
            # Authorization header and no token cookie is decided from that value alone.
            name = self._header_name
            authorization = cookie = None
            twice = False
            for key, value in scope.get("headers", ()):
                if key == name:
                    twice = authorization is not None
                    authorization = value
                elif key == b"cookie":
                    cookie = value if cookie is None else cookie + b"; " + value
            if (
                authorization is not None
                and not twice
                and (cookie is None or self._cookie_key not in cookie)
            ):
                try:
                    # Any: a result, or a flow driven just below into one.
                    decided: Any = self._bearer(authorization, self._clock())
                    if (
                        self._fast_flows
                        and decided is not None
                        and not isinstance(decided, AuthResult)
                    ):
                        decided = await run_async(decided, self.store, telemetry=self.telemetry)
                except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
                    await self._refuse(scope, send, as_auth_error(exc), ASGIRequestView(scope))
                    return
                if decided is not None:
                    scope = dict(scope)
                    scope[IDENTITY_KEY] = scope["user"] = decided[0]
                    scope["auth"] = decided[1]
                    vary = self._vary_header
                    if vary is not None:  # auth_headers_sender(), without the call
                        send = partial(send_with_auth_headers, send, vary, None)
                    await self._downstream(scope, receive, send)
                    return
        await self._decide(scope, receive, send)

    async def _not_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A websocket is decided like a request; ``lifespan`` starts and stops the mirror."""
        scope_type = scope["type"]
        if scope_type == "websocket":
            await self._decide(scope, receive, send)
        elif scope_type == "lifespan" and self._handles_lifespan:
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _decide(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The full path: the authenticator's decision, its effects driven here."""
        view = ASGIRequestView(scope)
        try:
            decided = self.authenticator.decide(view, self._clock())
            if not isinstance(decided, AuthResult):
                body = BufferedBody(receive)
                receive = body.receive
                decided = await run_async(decided, self.store, body.read_form,
                                          telemetry=self.telemetry)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
            await self._refuse(scope, send, as_auth_error(exc), view)
            return
        if self.telemetry is not None:
            self.telemetry.decided(decided)
        scope = dict(scope)
        scope[IDENTITY_KEY] = scope["user"] = decided.identity
        scope["auth"] = decided.credentials
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send, decided)
            return
        vary, plan = self._vary_header, decided.refresh
        if not decided.exempt and (vary is not None or plan is not None):
            send = auth_headers_sender(send, vary, plan)
        await self._downstream(scope, receive, send)

    async def _websocket(
        self, scope: Scope, receive: Receive, send: Send, result: AuthResult
    ) -> None:
        """Run an authenticated websocket under :func:`guard_websocket`: closed with 1008 as
        soon as its token expires or is revoked."""
        marker = self._ws_protocol
        offered_token = marker is not None and strip_token_protocols(scope, marker)
        if result.exempt or not result.identity.is_authenticated:
            await self.app(scope, receive, send)
            return
        identity = cast("Identity", result.identity)
        exp = identity.expires_at
        valid_until = math.inf if exp is None else exp + self.settings.leeway
        check = token_check(
            identity, valid_until=valid_until, check_revoked=self.authenticator.check_revoked,
            keys=result.keys, store=self.store if self.authenticator.store_effects else None,
            fail_open=self.settings.store_failure == "open",
        )  # fmt: skip
        await guard_websocket(
            self.app, scope, receive, send, check=check, clock=self._clock,
            valid_until=valid_until, accept_protocol=marker if offered_token else None,
        )  # fmt: skip

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass ``lifespan`` to the app, starting the mirror before the app's start-up and
        stopping it (and closing a store the middleware opened) after its shutdown."""

        async def receive_lifespan() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.astart()
            return message

        async def send_lifespan(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.aclose()
            await send(message)

        await self.app(scope, receive_lifespan, send_lifespan)

    async def astart(self, timeout: float | None = None) -> bool:
        """Async :meth:`start`: load the mirror in a worker thread without blocking the loop."""
        if self.mirror is None:
            return True
        import anyio.to_thread

        fresh = await anyio.to_thread.run_sync(self.start, timeout)
        if not fresh:
            logger.warning(
                "the revocation mirror could not load at start-up (%s); requests are %s until "
                "it does", self.mirror.last_error or "timed out",
                "let through" if self.settings.store_failure == "open" else "answered 503",
            )  # fmt: skip
        return fresh

    async def _serve_own(self, scope: Scope, send: Send) -> None:
        """``JWKS_PATH`` or ``STATUS_PATH``, answered by the middleware itself."""
        method = scope.get("method", "GET")
        answer: tuple[int, Sequence[tuple[str, str]], bytes]
        if scope["path"] == self._jwks_path:
            assert self.jwks is not None
            answer = self.jwks.respond(method, ASGIRequestView(scope).get("if-none-match"))
        else:
            answer = status_response(*self.ready(), method)
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    async def _refuse(self, scope: Scope, send: Send, error: Exception, view: RequestView) -> None:
        """Report and render a refusal (and its ``authz_fail`` event)."""
        response = self._responder.response_for(error, view)
        if self._events is not None:
            event = self._authz_event(error, view)
            if event is not None:
                await self._events.aemit(event)
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
