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
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, cast

from ..core.errors import StoreUnavailable, TokenRevoked
from ..core.settings import Settings
from .csrf import form_value
from .drive import run_async
from .middleware import IDENTITY_KEY, MiddlewareCore, as_auth_error, logger, merge_vary, with_vary
from .sources import ASGIRequestView
from .status import status_response
from .websocket import POLICY_VIOLATION, TRY_AGAIN_LATER, guard_websocket, strip_token_protocols

if TYPE_CHECKING:
    from ..core.effects import ReadForm
    from ..core.identity import Identity
    from ..stores.base import RevocationQuery, Store
    from .decision import AuthResult
    from .refresh import RefreshPlan
    from .sources import RequestView

__all__ = ["ASGIApp", "JWTMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_POLICY_VIOLATION = 1008
_WebSocketCheck = Callable[[float], Awaitable["tuple[int, str] | None"]]


def _revocation_query(identity: Identity) -> RevocationQuery:
    from ..stores._changes import GENERATION_CLAIM
    from ..stores.base import RevocationQuery

    claims = identity.claims
    iat, gen = claims.get("iat"), claims.get(GENERATION_CLAIM)
    return RevocationQuery(
        issuer=identity.issuer or "", subject=identity.subject, token_id=identity.token_id,
        session_id=identity.session_id,
        issued_at=float(iat) if isinstance(iat, int | float) else None,
        generation=gen if isinstance(gen, int) else None,
    )  # fmt: skip


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


def _with_vary(message: Message, vary: tuple[bytes, bytes]) -> Message:
    """A copy of a response start ``message`` with ``vary`` merged into its ``Vary`` header."""
    headers = message.get("headers", ())
    if type(headers) is not list:
        headers = list(headers)
    for key, _ in headers:
        # ASGI header names are lower case; an app's "Vary" is merged too. Any other spelling
        # gets a second Vary line, which HTTP reads as one list.
        if key == b"vary" or key == b"Vary":
            return _merged_vary(message, headers, vary)
    return {**message, "headers": [*headers, vary]}


def _merged_vary(message: Message, headers: list[Any], vary: tuple[bytes, bytes]) -> Message:
    """``message`` with ``vary``'s fields merged into the app's own ``Vary`` header."""
    out = []
    for key, value in headers:
        if key == b"vary" or key == b"Vary":
            value = merge_vary(value.decode("latin-1"), vary[1].decode("latin-1"))
            value = value.encode("latin-1")
        out.append((key, value))
    return {**message, "headers": out}


def _vary_sender(send: Send, vary: tuple[bytes, bytes]) -> Send:
    # Not a coroutine function: it returns ``send``'s own awaitable, so a message costs no
    # extra coroutine (an ASGI ``send`` is any callable returning an awaitable).
    def send_with_vary(message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            message = _with_vary(message, vary)
        return send(message)

    return send_with_vary


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
        self._store_effects = self.authenticator.store_effects
        self._ws_protocol = (
            self.settings.header_scheme.lower()
            if "websocket_protocol" in self.settings.sources
            else None
        )
        # lifespan passes through untouched unless there is something to start or close.
        self._handles_lifespan = self.mirror is not None or self._owns_store
        self._header_name = self.settings.header_name.lower().encode("latin-1")
        self._max_fast = len(self.settings.header_scheme) + 1 + self.settings.max_token_bytes
        self._cookie_key = (self.settings.access_cookie_name + "=").encode("latin-1")
        self._cached_header = self.authenticator.cached_header
        self._header_entry = self.authenticator.header_results.entry
        self._touch = self.authenticator.header_results.touch

    def _bearer(self, authorization: bytes, now: float) -> AuthResult | None:
        """A header the shortcut has not seen: :meth:`Authenticator.bearer` verifies it."""
        return self.authenticator.bearer(
            authorization.decode("latin-1"), None, now, raw=authorization
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type == "http":
            own = self._own_paths  # JWKS_PATH and STATUS_PATH, answered here; None: neither
            if own is not None and scope["path"] in own:
                if scope["path"] == self._jwks_path:
                    await self._serve_jwks(scope, send)
                else:
                    await self._serve_status(scope, send)
                return
            if self._fast and scope.get("method") != "OPTIONS":
                # The shortcut: one pass over the raw headers, then the result remembered
                # for this exact header value. Two Authorization headers or a token cookie
                # take the full path, which refuses or decides them.
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
                    and len(authorization) <= self._max_fast  # never hash a huge header
                    and (cookie is None or self._cookie_key not in cookie)
                ):
                    fast: AuthResult | None
                    try:
                        now = self._clock()
                        entry = self._header_entry(authorization)
                        if entry is not None and entry[1] <= now < entry[2]:
                            try:  # noqa: SIM105 - a context manager per hit costs more
                                self._touch(authorization)
                            except KeyError:  # evicted meanwhile: still valid for this request
                                pass
                            fast = entry[0]
                        else:  # absent, or outside its window: get() refuses, bearer() verifies
                            fast = self._cached_header(authorization, now)
                            if fast is None:
                                fast = self._bearer(authorization, now)
                        if fast is not None:
                            if self._check_revoked is not None:  # the mirror: no I/O
                                self._check_revoked(fast[4], now)  # type: ignore[arg-type]
                            elif self._store_effects:
                                identity = cast("Identity", fast[0])
                                checks = self._store_checks(identity, now)
                                await run_async(checks, self.store, telemetry=self.telemetry)
                    except Exception as exc:  # noqa: BLE001 - every refusal is rendered
                        try:
                            verified = fast  # bound once the token was verified
                        except NameError:  # refused before that
                            verified = None
                        error = self._verified_error(exc, verified)
                        await self._refuse(scope, send, error, ASGIRequestView(scope))
                        return
                    if fast is not None:
                        scope = dict(scope)
                        scope[IDENTITY_KEY] = scope["user"] = fast[0]
                        scope["auth"] = fast[1]
                        if self._vary_header is None:
                            await self._downstream(scope, receive, send)
                            return
                        vary_field: tuple[bytes, bytes] = self._vary_header

                        def send_with_vary(message: Message) -> Awaitable[None]:
                            # Returns send's own awaitable: no extra coroutine per message.
                            # The common case (no Vary of the app's own) is written out here.
                            if message["type"] == "http.response.start":
                                headers = message.get("headers", ())
                                if type(headers) is not list:
                                    headers = list(headers)
                                for key, _ in headers:
                                    if key == b"vary" or key == b"Vary":
                                        message = _merged_vary(message, headers, vary_field)
                                        break
                                else:
                                    message = {**message, "headers": [*headers, vary_field]}
                            return send(message)

                        await self._downstream(scope, receive, send_with_vary)
                        return
        elif scope_type == "lifespan" and self._handles_lifespan:
            await self._lifespan(scope, receive, send)
            return
        elif scope_type != "websocket":
            await self.app(scope, receive, send)
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
                    result = await run_async(flow, self.store, body.read_form, first=first,
                                             telemetry=self.telemetry)  # fmt: skip
            else:
                result = authenticator.decide(view, self._clock())
        except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
            await self._refuse(scope, send, as_auth_error(exc), view)
            return
        if self.telemetry is not None:
            self.telemetry.decided(result)
        scope = dict(scope)
        scope[IDENTITY_KEY] = result.identity
        scope["user"] = result.identity
        scope["auth"] = result.credentials
        if scope_type == "websocket":
            await self._websocket(scope, receive, send, result)
            return
        vary = self._vary_header
        if result.exempt or scope_type != "http" or (vary is None and result.refresh is None):
            await self._downstream(scope, receive, send)
            return
        plan = result.refresh
        if plan is not None:
            send = self._send_with_refresh(send, plan)
        else:
            assert vary is not None
            send = _vary_sender(send, vary)
        await self._downstream(scope, receive, send)

    async def _websocket(
        self, scope: Scope, receive: Receive, send: Send, result: AuthResult
    ) -> None:
        """Run an authenticated websocket under :func:`guard_websocket`: closed with 1008 as
        soon as its token expires or is revoked."""
        marker = self._ws_protocol
        offered_token = marker is not None and strip_token_protocols(scope, marker)
        identity = result.identity
        if result.exempt or not identity.is_authenticated:
            await self.app(scope, receive, send)
            return
        check = self._websocket_check(cast("Identity", identity), result)
        exp = cast("Identity", identity).expires_at
        valid_until = math.inf if exp is None else exp + self.settings.leeway
        await guard_websocket(
            self.app, scope, receive, send, check=check, clock=self._clock,
            valid_until=valid_until, accept_protocol=marker if offered_token else None,
        )  # fmt: skip

    def _websocket_check(self, identity: Identity, result: AuthResult) -> _WebSocketCheck:
        """What a websocket's every client message is checked against: the token's expiry,
        and its revocations (the mirror's lookup, else the store)."""
        expires = identity.expires_at
        valid_until = math.inf if expires is None else expires + self.settings.leeway
        check_revoked, keys = self.authenticator.check_revoked, result.keys
        store = self.store if self.authenticator.store_effects else None
        query = _revocation_query(identity) if store is not None else None
        fail_open = self.settings.store_failure == "open"

        async def check(now: float) -> tuple[int, str] | None:
            if now >= valid_until:
                return POLICY_VIOLATION, "token expired"
            try:
                if check_revoked is not None and keys is not None:
                    check_revoked(keys, now)
                elif query is not None and await store.ais_revoked(query, now=now):  # type: ignore[union-attr]
                    return POLICY_VIOLATION, "token revoked"
            except TokenRevoked:
                return POLICY_VIOLATION, "token revoked"
            except StoreUnavailable:
                if not fail_open:
                    return TRY_AGAIN_LATER, "authentication temporarily unavailable"
            return None

        return check

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

    async def _serve_status(self, scope: Scope, send: Send) -> None:
        ready, status = self.ready()
        code, headers, body = status_response(ready, status, scope.get("method", "GET"))
        await send({"type": "http.response.start", "status": code,
                    "headers": [(k.encode(), v.encode()) for k, v in headers]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    async def _serve_jwks(self, scope: Scope, send: Send) -> None:
        assert self.jwks is not None
        view = ASGIRequestView(scope)
        status, headers, body = self.jwks.respond(view.method, view.get("if-none-match"))
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
