"""One real middleware (ASGI or WSGI) and a :class:`SessionManager` over one store and one clock.

A :class:`Rig` sends requests with bodies, cookies and headers through the middleware
in-process, and runs many at once (ASGI: ``asyncio.gather`` in the one event loop the store's
async client lives in; WSGI: threads). The application behind it is the same for both kinds and
chosen by the request path:

- ``/status/<code>``: answers ``<code>``;
- ``/stream``: three body chunks;
- ``/cors``: sets ``Access-Control-Expose-Headers`` and ``Cache-Control: public, max-age=600``;
- ``/cors-lookalike``: exposes ``X-Refreshed-Token-Version`` (a name containing ours);
- ``/app-cookie``: sets the access cookie itself (like an app's own login response);
- ``/logout``: calls ``SessionManager.logout`` and sends its cookie deletions;
- anything else: 200 with the identity and the request body it received, as JSON.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from anyio.from_thread import BlockingPortal

from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware, Settings
from jwtmiddleware.sessions.manager import SessionManager
from jwtmiddleware.stores import open_store
from jwtmiddleware.stores.base import Store
from jwtmiddleware.testing import FrozenClock
from tests.core.keyfactory import SECRET
from tests.http.harness import ASGIClient, Result, WSGIClient

__all__ = [
    "ISSUER",
    "NOW",
    "Events",
    "Req",
    "Rig",
    "claims_of",
    "cookie_map",
    "header_of",
    "session_settings",
]

ISSUER = "https://auth.test"
NOW = 1_700_000_000.0
APP_MARK = "x-app-reached"
IDENTITY_KEY = "jwtmiddleware.identity"


def session_settings(**overrides: Any) -> Settings:
    """Settings for session tests: HS256, an issuer and audience, no leeway (exact clocks)."""
    base: dict[str, Any] = {
        "secret": SECRET,
        "issuer": ISSUER,
        "audience": ("api",),
        "leeway": 0,
        "store": "memory://",
    }
    base.update(overrides)
    return Settings(**base)


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, unverified (the tests verify separately where it matters)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def header_of(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))))


def cookie_map(set_cookie: str) -> tuple[str, str, dict[str, str]]:
    """``(name, value, {attribute (lower case): value})`` of one ``Set-Cookie`` value."""
    first, *attrs = (part.strip() for part in set_cookie.split(";"))
    name, _, value = first.partition("=")
    parsed = {}
    for attr in attrs:
        key, _, val = attr.partition("=")
        parsed[key.lower()] = val
    return name, value, parsed


@dataclass
class Events:
    """An ``EVENT_HOOK`` that records every event."""

    seen: list[Any] = field(default_factory=list)

    def __call__(self, event: Any) -> None:
        self.seen.append(event)

    def names(self) -> list[str]:
        return [e.name for e in self.seen]

    def actions(self) -> list[str]:
        return [e.action for e in self.seen]


@dataclass
class Req:
    """One request; ``token`` rides in the ``Authorization`` header or the access cookie."""

    method: str = "GET"
    path: str = "/api"
    token: str | None = None
    via: str = "header"
    headers: Sequence[tuple[str, str]] = ()
    query: str = ""
    #: Request body chunks (ASGI sends each as one message; WSGI gets them joined).
    body: Sequence[bytes] = ()
    #: The scheme the server saw (ASGI ``scope["scheme"]``, WSGI ``wsgi.url_scheme``).
    scheme: str = "http"
    #: The ``Host`` header.
    host: str = "testserver"


# -- the application, decided once and served twice ------------------------------------------------


def _identity_json(identity: Any) -> dict[str, Any]:
    if identity is None or not identity.is_authenticated:
        return {"anonymous": True}
    return {
        "subject": identity.subject,
        "sid": identity.session_id,
        "jti": identity.token_id,
        "source": identity.source,
        "claims": dict(identity.claims),
    }


def _respond(
    settings: Settings, path: str, identity: Any, body: bytes
) -> tuple[int, list[tuple[str, str]], list[bytes]]:
    headers = [("Content-Type", "application/json"), (APP_MARK, "1")]
    if path.startswith("/status/"):
        return int(path.rsplit("/", 1)[1]), headers, [b'{"status": "as asked"}']
    if path == "/stream":
        return 200, headers, [b'{"part": 1}\n', b'{"part": 2}\n', b'{"part": 3}\n']
    if path == "/cors":
        headers += [
            ("Access-Control-Expose-Headers", "X-Request-Id"),
            ("Cache-Control", "public, max-age=600"),
        ]
    if path == "/cors-lookalike":
        headers.append(("Access-Control-Expose-Headers", "X-Refreshed-Token-Version"))
    if path == "/app-cookie":
        headers.append(("Set-Cookie", f"{settings.access_cookie_name}=from-the-app; Path=/"))
    payload = {**_identity_json(identity), "body": body.decode("latin-1")}
    return 200, headers, [json.dumps(payload).encode()]


class Rig:
    """The middleware of ``kind`` in front of the test application, plus a manager."""

    def __init__(
        self,
        kind: str,
        portal: BlockingPortal | None,
        settings: Settings,
        store: Store,
        clock: FrozenClock,
    ) -> None:
        self.kind = kind
        self.settings = settings
        self.store = store
        self.clock = clock
        self._portal = portal
        self.manager = SessionManager(settings, store, clock=clock)
        self.middleware: JWTMiddleware | JWTWSGIMiddleware
        if kind == "asgi":
            self.middleware = JWTMiddleware(self._asgi_app, settings=settings, store=store,
                                            clock=clock)  # fmt: skip
        else:
            self.middleware = JWTWSGIMiddleware(self._wsgi_app, settings=settings, store=store,
                                                clock=clock)  # fmt: skip

    # -- the two faces of the application ----------------------------------------------------

    async def _asgi_app(self, scope: Any, receive: Any, send: Any) -> None:
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        identity = scope.get(IDENTITY_KEY)
        if scope["path"] == "/logout":
            cleared = await self.manager.alogout(identity)
            headers = [(b"set-cookie", c.encode("latin-1")) for c in cleared]
            headers.append((APP_MARK.encode(), b"1"))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        status, head, chunks = _respond(self.settings, scope["path"], identity, bytes(body))
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in head]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        for index, chunk in enumerate(chunks):
            more = index < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

    def _wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        identity: Any = environ.get(IDENTITY_KEY)
        if environ["PATH_INFO"] == "/logout":
            cleared = self.manager.logout(identity)
            start_response("200 OK", [*(("Set-Cookie", c) for c in cleared), (APP_MARK, "1")])
            return [b"{}"]
        status, head, chunks = _respond(self.settings, environ["PATH_INFO"], identity, body)

        def stream() -> Iterator[bytes]:
            # PEP 3333 lets an app call start_response as late as its first chunk: do so.
            start_response(f"{status} Whatever", head)
            yield from chunks

        return stream()

    # -- requests -------------------------------------------------------------------------------

    def _headers(self, req: Req) -> list[tuple[str, str]]:
        headers = list(req.headers)
        if req.token is not None:
            if req.via == "header":
                headers.append(("Authorization", f"Bearer {req.token}"))
            else:
                headers.append(("Cookie", f"{self.settings.access_cookie_name}={req.token}"))
        if req.body:
            headers.append(("Content-Length", str(sum(len(c) for c in req.body))))
        return headers

    async def _asgi_call(self, req: Req) -> Result:
        assert isinstance(self.middleware, JWTMiddleware)
        scope = ASGIClient.scope("http", req.method, req.path, self._headers(req), req.query)
        scope["scheme"] = req.scheme
        scope["headers"] = [(b"host", req.host.encode("latin-1")), *scope["headers"][1:]]
        chunks = list(req.body) or [b""]
        incoming = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if incoming:
                return incoming.pop(0)
            await asyncio.sleep(0)
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            sent.append(dict(message))

        await self.middleware(scope, receive, send)
        start, *rest = sent
        assert start["type"] == "http.response.start", start
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        return Result(
            status=start["status"],
            headers=headers,
            body=b"".join(m.get("body", b"") for m in rest),
            reached=any(k.lower() == APP_MARK for k, _ in headers),
        )

    def _wsgi_call(self, req: Req) -> Result:
        assert isinstance(self.middleware, JWTWSGIMiddleware)
        environ = WSGIClient.environ(req.method, req.path, self._headers(req), req.query)
        environ["wsgi.url_scheme"] = req.scheme
        environ["HTTP_HOST"] = req.host
        environ["wsgi.input"] = io.BytesIO(b"".join(req.body))
        environ["wsgi.multithread"] = True
        captured: list[tuple[str, list[tuple[str, str]]]] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            captured.append((status, list(headers)))
            return lambda data: None

        iterable = self.middleware(environ, start_response)
        try:
            body = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        status, headers = captured[-1]
        return Result(
            status=int(status.split()[0]),
            headers=headers,
            body=body,
            reached=any(k.lower() == APP_MARK for k, _ in headers),
        )

    def send(self, req: Req) -> Result:
        """One request through the middleware."""
        if self._portal is not None:
            return self._portal.call(self._asgi_call, req)
        return self._wsgi_call(req)

    def request(self, method: str = "GET", path: str = "/api", **kwargs: Any) -> Result:
        return self.send(Req(method, path, **kwargs))

    def get(self, token: str | None, path: str = "/api", **kwargs: Any) -> Result:
        """GET ``path`` with ``token`` (header unless ``via="cookie"``)."""
        return self.send(Req("GET", path, token=token, **kwargs))

    def many(self, reqs: Sequence[Req]) -> list[Result]:
        """Send every request at once: ``asyncio.gather`` in one loop (ASGI) or threads (WSGI)."""
        if self._portal is not None:

            async def gather() -> list[Result]:
                return list(await asyncio.gather(*(self._asgi_call(r) for r in reqs)))

            return self._portal.call(gather)
        with ThreadPoolExecutor(max_workers=len(reqs)) as pool:
            return list(pool.map(self._wsgi_call, reqs))

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an async callable in the middleware's event loop (ASGI only)."""
        assert self._portal is not None
        return self._portal.call(lambda: func(*args, **kwargs))

    def close(self) -> None:
        if self._portal is not None:
            self._portal.call(self.store.aclose)
        self.store.close()


def open_test_store(url: str) -> Store:
    """A store on ``url`` under a key prefix of its own (Redis is shared by the whole run)."""
    return open_store(url, prefix=f"s{secrets.token_hex(4)}:", timeout=2.0)


def response_cookies(result: Result) -> dict[str, tuple[str, dict[str, str]]]:
    """``{name: (value, attributes)}`` of every ``Set-Cookie`` in a response."""
    out = {}
    for value in result.header_all("set-cookie"):
        name, val, attrs = cookie_map(value)
        out[name] = (val, attrs)
    return out


def as_mapping(headers: Mapping[str, str] | Sequence[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k.lower(): v for k, v in items}
