"""A scriptable JWKS server on a free loopback port, counting the requests it gets.

``with serve() as server:`` runs an ``http.server`` in a thread; ``server.route(path, reply)``
says how to answer; ``server.hits[path]`` counts requests. Replies: :class:`Reply` (status,
headers, body), or ``slow``/``trickle``/``huge`` helpers for misbehaving servers. Stopping the
server releases every handler that is still sleeping, so nothing outlives the test.
"""

from __future__ import annotations

import collections
import contextlib
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["JWKSServer", "Reply", "huge", "jwks_reply", "serve", "slow", "trickle"]


@dataclass
class Reply:
    """One canned answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (released early when the server stops).
    delay: float = 0.0
    #: Send the body in pieces of this size, waiting ``gap`` seconds between them.
    piece: int = 0
    gap: float = 0.0
    #: Repeat ``body`` this many times (a large body without holding it in memory twice).
    repeat: int = 1
    #: Send ``Content-Length`` (else the body ends when the connection closes).
    length: bool = True


def jwks_reply(document: dict[str, Any], *, max_age: int | None = None, **kw: Any) -> Reply:
    """A ``200`` carrying ``document`` as JSON, optionally with ``Cache-Control: max-age``."""
    headers = {"Content-Type": "application/jwk-set+json"}
    if max_age is not None:
        headers["Cache-Control"] = f"public, max-age={max_age}"
    return Reply(200, json.dumps(document).encode(), headers, **kw)


def slow(seconds: float) -> Reply:
    """Answer only after ``seconds``."""
    return Reply(200, b'{"keys": []}', delay=seconds)


def trickle(gap: float) -> Reply:
    """Send a body one byte every ``gap`` seconds."""
    return Reply(200, b'{"keys": []}' + b" " * 200, piece=1, gap=gap)


def huge(size: int, *, length: bool) -> Reply:
    """A ``size``-byte body of spaces, with or without ``Content-Length``."""
    return Reply(200, b" " * 65536, repeat=size // 65536, length=length)


class JWKSServer:
    """The running server: its URL, its routes and its request counts."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        #: Bytes the server managed to write, per path.
        self.sent: collections.Counter[str] = collections.Counter()
        self.stopping = threading.Event()
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def route(self, path: str, reply: Reply) -> None:
        self.routes[path] = reply


def _handler(server: JWKSServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path
            server.hits[path] += 1
            reply = server.routes.get(path, Reply(404, b"no such route"))
            if reply.delay and server.stopping.wait(reply.delay):
                return
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                total = len(reply.body) * reply.repeat
                if reply.length:
                    self.send_header("Content-Length", str(total))
                self.send_header("Connection", "close")
                self.end_headers()
                self._body(path, reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should
            self.close_connection = True

        def _body(self, path: str, reply: Reply) -> None:
            for _ in range(reply.repeat):
                if reply.piece:
                    for i in range(0, len(reply.body), reply.piece):
                        self.wfile.write(reply.body[i : i + reply.piece])
                        self.wfile.flush()
                        server.sent[path] += reply.piece
                        if server.stopping.wait(reply.gap):
                            return
                else:
                    self.wfile.write(reply.body)
                    server.sent[path] += len(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def serve(*, tls: ssl.SSLContext | None = None) -> Iterator[JWKSServer]:
    """Run a :class:`JWKSServer` on ``127.0.0.1`` for the ``with`` block (TLS with ``tls``)."""
    server = JWKSServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    server.httpd = httpd
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
