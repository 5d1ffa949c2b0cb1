"""Perform a :class:`FetchNeeded` with the standard library, and OpenID Connect discovery.

``fetch_sync`` uses ``urllib.request`` with an opener that has no redirect handler (a ``3xx`` is
returned as is and the cache refuses it), certificate verification on, one overall deadline for
connecting, waiting and reading, and the size cap enforced while reading. ``fetch_async`` runs
it in a worker thread (``anyio.to_thread``), so an event loop never waits on the network.
"""

from __future__ import annotations

import functools
import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread

from ..core import _json
from ..core._urls import check_url, is_loopback
from ..core._version import __version__ as _version
from ._types import FetchNeeded, Headers, KeyFetchError

__all__ = [
    "Response",
    "adiscover_jwks_uri",
    "discover_jwks_uri",
    "discovery_request",
    "fetch_async",
    "fetch_sync",
    "parse_discovery",
]

#: What a fetch returns: status, lower-cased headers, body.
Response = tuple[int, dict[str, str], bytes]

_CHUNK = 64 * 1024
_USER_AGENT = f"jwtmiddleware/{_version}"


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


class _DeadlineHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, deadline: float, sockets: list[socket.socket], **kw: Any):
        super().__init__(*args, **kw)
        self._deadline, self._sockets = deadline, sockets

    def connect(self) -> None:
        super().connect()
        assert self.sock is not None
        self.sock.settimeout(_remaining(self._deadline))
        self._sockets.append(self.sock)


class _DeadlineHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, deadline: float, sockets: list[socket.socket], **kw: Any):
        super().__init__(*args, **kw)
        self._deadline, self._sockets = deadline, sockets

    def connect(self) -> None:
        super().connect()
        assert self.sock is not None
        self.sock.settimeout(_remaining(self._deadline))
        self._sockets.append(self.sock)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: float, sockets: list[socket.socket]) -> None:
        super().__init__()
        self._conn = functools.partial(_DeadlineHTTPConnection, deadline=deadline, sockets=sockets)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._conn, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: float, sockets: list[socket.socket]) -> None:
        self._ctx = ssl.create_default_context()
        super().__init__(context=self._ctx)
        self._conn = functools.partial(_DeadlineHTTPSConnection, deadline=deadline, sockets=sockets)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._conn, req, context=self._ctx)


def _opener(
    url: str, deadline: float, sockets: list[socket.socket]
) -> urllib.request.OpenerDirector:
    # No HTTPRedirectHandler and no HTTPErrorProcessor: every status comes back as a response.
    opener = urllib.request.OpenerDirector()
    if not is_loopback(urlsplit(url).hostname or ""):
        opener.add_handler(urllib.request.ProxyHandler())  # honour HTTPS_PROXY and NO_PROXY
    opener.add_handler(_HTTPHandler(deadline, sockets))
    opener.add_handler(_HTTPSHandler(deadline, sockets))
    return opener


def fetch_sync(request: FetchNeeded, timeout: float | None = None) -> Response:
    """``GET request.url`` and return ``(status, headers, body)`` for any HTTP status.

    Redirects are not followed. Raises :class:`KeyFetchError` when the server cannot be
    reached, the overall ``timeout`` (default ``request.timeout``) passes, or the body exceeds
    ``request.max_bytes`` (checked against ``Content-Length`` and again while reading).
    """
    limit = request.timeout if timeout is None else timeout
    deadline = time.monotonic() + limit
    sockets: list[socket.socket] = []
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity", **dict(request.headers)}
    # The URL was checked by check_url (https, or loopback http when allowed).
    req = urllib.request.Request(request.url, headers=headers, method="GET")  # noqa: S310
    host = urlsplit(request.url).netloc
    try:
        with _opener(request.url, deadline, sockets).open(req, timeout=limit) as response:
            status = int(response.status)
            got = {k.lower(): v for k, v in response.headers.items()}
            length = got.get("content-length", "")
            if length.strip().isdigit() and int(length) > request.max_bytes:
                raise KeyFetchError(f"{host}: Content-Length {length} over {request.max_bytes}")
            body = bytearray()
            while True:
                for sock in sockets:
                    sock.settimeout(_remaining(deadline))
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                body += chunk
                if len(body) > request.max_bytes:
                    raise KeyFetchError(f"{host}: response over {request.max_bytes} bytes")
    except KeyFetchError:
        raise
    except TimeoutError as exc:
        raise KeyFetchError(f"{host}: no complete answer within {limit:g} s") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        cause: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(cause, TimeoutError):
            raise KeyFetchError(f"{host}: no complete answer within {limit:g} s") from exc
        raise KeyFetchError(f"{host}: {type(cause).__name__}: {cause}"[:300]) from exc
    return status, got, bytes(body)


async def fetch_async(request: FetchNeeded, timeout: float | None = None) -> Response:
    """:func:`fetch_sync` in a worker thread, for event loops (asyncio or trio, via anyio)."""
    return await anyio.to_thread.run_sync(fetch_sync, request, timeout)


# -- OpenID Connect discovery --------------------------------------------------------------


def discovery_request(
    issuer: str,
    *,
    timeout: float = 5.0,
    max_bytes: int = 512 * 1024,
    allow_http_loopback: bool = False,
) -> FetchNeeded:
    """The request for ``<issuer>/.well-known/openid-configuration`` (OIDC Discovery §4)."""
    check_url(issuer, allow_http_loopback=allow_http_loopback, setting="ISSUER")
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    headers = (("Accept", "application/json"),)
    return FetchNeeded(url, "discovery", headers, timeout, max_bytes)


def parse_discovery(
    issuer: str, status: int, headers: Headers, body: bytes, *, allow_http_loopback: bool = False
) -> str:
    """The ``jwks_uri`` of an OpenID configuration response, checked; else :class:`KeyFetchError`.

    The document's ``issuer`` must equal ``issuer`` exactly (OIDC Discovery §4.3), and
    ``jwks_uri`` must pass the same URL rules as a configured ``JWKS_URL``.
    """
    del headers  # the configuration's caching is the JWKS cache's business
    if status != 200:
        extra = ": redirects are not followed" if 300 <= status < 400 else ""
        raise KeyFetchError(f"OpenID configuration: HTTP {status}{extra}")
    try:
        document = _json.loads_strict(body)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise KeyFetchError("OpenID configuration is not valid JSON") from exc
    if not isinstance(document, dict):
        raise KeyFetchError("OpenID configuration is not a JSON object")
    if document.get("issuer") != issuer:
        raise KeyFetchError("OpenID configuration names another issuer")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise KeyFetchError("OpenID configuration has no jwks_uri")
    try:
        return check_url(jwks_uri, allow_http_loopback=allow_http_loopback)
    except ValueError as exc:
        raise KeyFetchError(f"OpenID configuration jwks_uri refused: {exc}") from exc


def discover_jwks_uri(
    issuer: str,
    *,
    timeout: float = 5.0,
    max_bytes: int = 512 * 1024,
    allow_http_loopback: bool = False,
) -> str:
    """Fetch ``<issuer>/.well-known/openid-configuration`` and return its checked ``jwks_uri``."""
    request = discovery_request(
        issuer, timeout=timeout, max_bytes=max_bytes, allow_http_loopback=allow_http_loopback
    )
    status, headers, body = fetch_sync(request)
    return parse_discovery(issuer, status, headers, body, allow_http_loopback=allow_http_loopback)


async def adiscover_jwks_uri(
    issuer: str,
    *,
    timeout: float = 5.0,
    max_bytes: int = 512 * 1024,
    allow_http_loopback: bool = False,
) -> str:
    """The async twin of :func:`discover_jwks_uri` (the fetch runs in a worker thread)."""
    request = discovery_request(
        issuer, timeout=timeout, max_bytes=max_bytes, allow_http_loopback=allow_http_loopback
    )
    status, headers, body = await fetch_async(request)
    return parse_discovery(issuer, status, headers, body, allow_http_loopback=allow_http_loopback)
