"""A framework-free harness that sends the same request through the ASGI and the WSGI middleware.

No test client and no server: the ASGI side builds the scope by hand (a raw header list, so a
header sent twice really arrives twice) and collects the messages passed to ``send``; the WSGI
side builds a PEP 3333 ``environ`` the way real servers do (repeated headers joined with
``", "``, ``Cookie`` with ``"; "``) and collects what reaches ``start_response``. Both wrap the
same echo application, which records whether it was reached.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from jwtmiddleware import (
    AuthenticationError,
    JWTMiddleware,
    JWTWSGIMiddleware,
    Settings,
    TokenInvalid,
)
from jwtmiddleware.testing import FrozenClock

__all__ = [
    "INVALID_TOKEN_DESCRIPTIONS",
    "KINDS",
    "NOW",
    "ASGIClient",
    "Client",
    "Echo",
    "Header",
    "Result",
    "WSGIClient",
    "b64",
    "build_client",
    "expect_invalid_request",
    "expect_invalid_token",
    "expect_no_credentials",
    "expect_ok",
    "expect_refusal",
    "kind",
    "make_client",
    "raw_token",
    "sign_raw",
]

KINDS = ("asgi", "wsgi")
#: The time of the default frozen clock; mint tokens with ``now=NOW``.
NOW = 1_700_000_000.0
IDENTITY_KEY = "jwtmiddleware.identity"

#: A request header: name and value (``bytes`` values are sent as they are, ``str`` as latin-1).
Header = tuple[str, str | bytes]


@dataclass
class Result:
    """One response as the client saw it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: Whether the echo application behind the middleware was called.
    reached: bool
    #: Seconds spent inside the middleware call only (no scope building, no event loop start).
    elapsed: float = 0.0

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """The single value of header ``name`` (case-insensitive); fails if it is repeated."""
        values = self.header_all(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]


@dataclass
class Echo:
    """What the echo application saw (the scope or environ of its last call)."""

    calls: int = 0
    last: dict[str, Any] | None = None


def _identity_body(identity: Any) -> bytes:
    if identity is None or not identity.is_authenticated:
        return json.dumps({"anonymous": True}).encode()
    return json.dumps({"subject": identity.subject, "scopes": sorted(identity.scopes)}).encode()


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def _as_str(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


class Client:
    """Sends requests through one middleware instance; see :func:`build_client`."""

    kind: str
    echo: Echo
    middleware: Any

    def request(
        self,
        method: str = "GET",
        path: str = "/api",
        headers: Sequence[Header] = (),
        query: str = "",
    ) -> Result:
        raise NotImplementedError

    def get(self, path: str = "/api", headers: Sequence[Header] = (), query: str = "") -> Result:
        return self.request("GET", path, headers, query)

    def bearer(self, token: str, path: str = "/api") -> Result:
        """GET ``path`` with ``Authorization: Bearer <token>``."""
        return self.get(path, [("Authorization", f"Bearer {token}")])


class ASGIClient(Client):
    kind = "asgi"

    def __init__(self, settings: Settings, clock: Callable[[], float], app: Any = None) -> None:
        self.echo = Echo()
        self.app = app if app is not None else self._echo_app
        self.middleware = JWTMiddleware(self._recording_app, settings=settings, clock=clock)

    async def _recording_app(self, scope: Any, receive: Any, send: Any) -> None:
        self.echo.calls += 1
        self.echo.last = scope
        await self.app(scope, receive, send)

    @staticmethod
    async def _echo_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            assert (await receive())["type"] == "websocket.connect"
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": _identity_body(scope.get(IDENTITY_KEY))})
            await send({"type": "websocket.close", "code": 1000})
            return
        body = _identity_body(scope.get(IDENTITY_KEY))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def scope(
        scope_type: str,
        method: str,
        path: str,
        headers: Sequence[Header],
        query: str,
        extensions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An ASGI ``http``/``websocket`` scope as uvicorn would build it."""
        raw = [(b"host", b"testserver")]
        raw += [(name.lower().encode("latin-1"), _as_bytes(value)) for name, value in headers]
        scope: dict[str, Any] = {
            "type": scope_type,
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "http" if scope_type == "http" else "ws",
            "path": path,
            "raw_path": path.encode("utf-8"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "extensions": extensions or {},
            "state": {},
        }
        if scope_type == "http":
            scope["method"] = method
        return scope

    def call(self, scope: dict[str, Any], incoming: Iterable[dict[str, Any]]) -> Any:
        """Run the middleware on ``scope``; return ``(messages sent, seconds in the call)``."""
        queue = list(incoming)
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if queue:
                return queue.pop(0)
            gone = "http.disconnect" if scope["type"] == "http" else "websocket.disconnect"
            return {"type": gone}

        async def send(message: Any) -> None:
            sent.append(dict(message))

        async def main() -> float:
            start = time.perf_counter()
            await self.middleware(scope, receive, send)
            return time.perf_counter() - start

        elapsed = anyio.run(main)
        return sent, elapsed

    def request(
        self,
        method: str = "GET",
        path: str = "/api",
        headers: Sequence[Header] = (),
        query: str = "",
    ) -> Result:
        scope = self.scope("http", method, path, headers, query)
        calls = self.echo.calls
        sent, elapsed = self.call(scope, [{"type": "http.request", "body": b""}])
        assert sent, "nothing was sent"
        start, *rest = sent
        assert start["type"] == "http.response.start", start
        assert all(m["type"] == "http.response.body" for m in rest), rest
        return Result(
            status=start["status"],
            headers=[
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])
            ],
            body=b"".join(m.get("body", b"") for m in rest),
            reached=self.echo.calls > calls,
            elapsed=elapsed,
        )

    def websocket(
        self, path: str = "/ws", headers: Sequence[Header] = (), *, http_response: bool = False
    ) -> tuple[list[dict[str, Any]], bool]:
        """Open a websocket; return the messages the middleware (or app) sent and ``reached``.

        :param http_response: advertise the ``websocket.http.response`` extension, which lets
            the middleware deny the handshake with a real HTTP response.
        """
        extensions: dict[str, Any] = {"websocket.http.response": {}} if http_response else {}
        scope = self.scope("websocket", "GET", path, headers, "", extensions)
        calls = self.echo.calls
        sent, _ = self.call(scope, [{"type": "websocket.connect"}])
        return sent, self.echo.calls > calls


class WSGIClient(Client):
    kind = "wsgi"

    def __init__(self, settings: Settings, clock: Callable[[], float], app: Any = None) -> None:
        self.echo = Echo()
        self.app = app if app is not None else self._echo_app
        self.middleware = JWTWSGIMiddleware(self._recording_app, settings=settings, clock=clock)

    def _recording_app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.echo.calls += 1
        self.echo.last = environ
        result: Iterable[bytes] = self.app(environ, start_response)
        return result

    @staticmethod
    def _echo_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [_identity_body(environ.get(IDENTITY_KEY))]

    @staticmethod
    def environ(method: str, path: str, headers: Sequence[Header], query: str) -> dict[str, Any]:
        """A PEP 3333 environ as a real server builds it (repeated headers joined)."""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            text = _as_str(value)
            if key in environ:
                joiner = "; " if key == "HTTP_COOKIE" else ", "
                environ[key] = environ[key] + joiner + text
            else:
                environ[key] = text
        return environ

    def request(
        self,
        method: str = "GET",
        path: str = "/api",
        headers: Sequence[Header] = (),
        query: str = "",
    ) -> Result:
        environ = self.environ(method, path, headers, query)
        captured: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []

        def start_response(
            status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            assert exc_info is None or not captured
            captured.append((status, list(response_headers)))
            return written.append

        calls = self.echo.calls
        start = time.perf_counter()
        iterable = self.middleware(environ, start_response)
        elapsed = time.perf_counter() - start
        try:
            chunks = [*written, *iterable]
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        assert len(captured) == 1, captured
        status_line, response_headers = captured[0]
        code, _, reason = status_line.partition(" ")
        assert reason, f"status line without a reason phrase: {status_line!r}"
        return Result(
            status=int(code),
            headers=response_headers,
            body=b"".join(chunks),
            reached=self.echo.calls > calls,
            elapsed=elapsed,
        )


def build_client(
    kind: str,
    settings: Settings,
    *,
    clock: Callable[[], float] | None = None,
    app: Any = None,
) -> ASGIClient | WSGIClient:
    """A client for ``kind`` (``"asgi"`` or ``"wsgi"``) wrapping ``app`` (default: the echo app).

    :param clock: the middleware's clock; defaults to a :class:`FrozenClock` at :data:`NOW`.
    """
    clock = clock if clock is not None else FrozenClock(NOW)
    if kind == "asgi":
        return ASGIClient(settings, clock, app)
    if kind == "wsgi":
        return WSGIClient(settings, clock, app)
    raise ValueError(f"unknown kind {kind!r}")


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """``"asgi"`` or ``"wsgi"``: every test using it runs against both middlewares."""
    return str(request.param)


@pytest.fixture
def make_client(kind: str) -> Callable[..., ASGIClient | WSGIClient]:
    """``make_client(settings, *, clock=None, app=None)`` for the current ``kind``."""

    def factory(
        settings: Settings, *, clock: Callable[[], float] | None = None, app: Any = None
    ) -> ASGIClient | WSGIClient:
        return build_client(kind, settings, clock=clock, app=app)

    return factory


# -- crafting tokens ------------------------------------------------------------------------------


def b64(data: bytes | str) -> str:
    """Unpadded base64url, as JWS uses it."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def raw_token(header: bytes, payload: bytes, signature: bytes | str = b"") -> str:
    """``b64(header).b64(payload).signature`` from raw bytes (``str`` signatures are used as is)."""
    sig = signature if isinstance(signature, str) else b64(signature)
    return f"{b64(header)}.{b64(payload)}.{sig}"


def sign_raw(settings: Settings, header: bytes, payload: bytes) -> str:
    """Sign raw header and payload bytes with the settings' own key (a header JSON can then hold
    duplicate members, invalid UTF-8, or be no object at all)."""
    key = settings.keyset.signing_key()
    assert key is not None
    signing_input = f"{b64(header)}.{b64(payload)}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode('ascii')))}"


# -- expectations ---------------------------------------------------------------------------------


def _descriptions(cls: type[AuthenticationError]) -> set[str]:
    out = {cls.description}
    for sub in cls.__subclasses__():
        out |= _descriptions(sub)
    return out


#: Every fixed ``error_description`` an ``invalid_token`` refusal may carry.
INVALID_TOKEN_DESCRIPTIONS = frozenset(_descriptions(TokenInvalid))


def expect_refusal(
    result: Result,
    status: int,
    error: str | None,
    *,
    realm: str = "api",
    secret: str | None = None,
) -> str | None:
    """Assert an RFC 6750 refusal; return its ``error_description`` (``None`` without error).

    :param secret: a string (the token) that must not appear anywhere in the response.
    """
    assert result.status == status, (result.status, result.body[:300])
    assert not result.reached, "the application was reached by a refused request"
    www = result.header("www-authenticate")
    body = result.json()
    assert set(body) == {"error", "error_description"}, body
    description = body["error_description"]
    if error is None:
        assert www == f'Bearer realm="{realm}"'
        assert body["error"] == "unauthorized"
    else:
        assert www is not None
        assert www.startswith(
            f'Bearer realm="{realm}", error="{error}", error_description="{description}"'
        ), www
        assert body["error"] == error
    assert result.header("cache-control") == "no-store"
    assert result.header("content-type") == "application/json"
    assert result.header("content-length") == str(len(result.body))
    if secret:
        everything = result.body.decode("latin-1") + repr(result.headers)
        assert secret not in everything
        for part in secret.split("."):
            if len(part) > 8:
                assert part not in everything
    return description if error is not None else None


def expect_invalid_token(result: Result, *, secret: str | None = None) -> None:
    """401 ``invalid_token`` with one of the fixed descriptions; the app was not reached."""
    description = expect_refusal(result, 401, "invalid_token", secret=secret)
    assert description in INVALID_TOKEN_DESCRIPTIONS, description


def expect_no_credentials(result: Result) -> None:
    """401 with a bare ``WWW-Authenticate: Bearer realm="api"`` (RFC 6750 §3.1: no error code)."""
    expect_refusal(result, 401, None)


def expect_invalid_request(result: Result, *, secret: str | None = None) -> None:
    """400 ``invalid_request``."""
    expect_refusal(result, 400, "invalid_request", secret=secret)


def expect_ok(result: Result, subject: str | None = "user-1") -> Any:
    """200 from the echo application, authenticated as ``subject``; returns the JSON body."""
    assert result.status == 200, (result.status, result.body[:300])
    assert result.reached
    body = result.json()
    if subject is None:
        assert body == {"anonymous": True}
    else:
        assert body["subject"] == subject, body
    return body
