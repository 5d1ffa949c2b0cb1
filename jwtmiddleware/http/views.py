"""What the core may read of a request: :class:`RequestView`, over an ASGI scope or a WSGI
environ. Headers are looked up lazily, so a request pays only for the lookups the settings need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ASGIRequestView", "RequestView", "WSGIRequestView"]


class RequestView:
    """What the core may read of a request; I/O layers subclass it."""

    __slots__ = ("client", "method", "path", "query_string", "scheme")

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str,
        client: str | None,
        *,
        scheme: str = "http",
    ) -> None:
        #: HTTP method in upper case (``GET`` for websocket handshakes).
        self.method = method
        #: Request path, percent-decoded, without the query string.
        self.path = path
        #: Raw query string.
        self.query_string = query_string
        #: Client address, if known.
        self.client = client
        #: The request's URL scheme as the server saw it (``http`` or ``https``; websocket
        #: handshakes report ``ws``/``wss``). The CSRF Origin check compares it with the
        #: ``Origin`` header's scheme, so a server behind a TLS-terminating proxy must report
        #: the scheme the browser used (uvicorn ``--proxy-headers``, gunicorn
        #: ``forwarded_allow_ips``, werkzeug ``ProxyFix``, Django ``SECURE_PROXY_SSL_HEADER``).
        self.scheme = scheme

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name`` (lower case), in order."""
        raise NotImplementedError

    def get(self, name: str) -> str | None:
        """The first value of header ``name`` (lower case), or ``None``."""
        values = self.get_all(name)
        return values[0] if values else None

    def get_all_capped(self, name: str, cap: int) -> list[str]:
        """Like :meth:`get_all`, but a value longer than ``cap`` may come back cut to ``cap + 1``
        characters: enough to see it is too long, without decoding or copying all of it."""
        return self.get_all(name)


_NAMES: dict[str, bytes] = {}


def _encoded(name: str) -> bytes:
    key = _NAMES.get(name)
    if key is None:
        key = _NAMES[name] = name.encode("latin-1")
    return key


class ASGIRequestView(RequestView):
    """A view over an ASGI ``http`` or ``websocket`` scope; decodes only what is read."""

    __slots__ = ("_headers", "_scope")

    def __init__(self, scope: Mapping[str, Any]) -> None:
        # Not RequestView.__init__: the query string and client are read lazily.
        self.method = scope.get("method", "GET")
        self.path = scope.get("path", "/")
        self._scope = scope
        self._headers: Sequence[tuple[bytes, bytes]] = scope.get("headers", ())

    @property
    def query_string(self) -> str:  # type: ignore[override]
        return bytes(self._scope.get("query_string", b"")).decode("latin-1")

    @property
    def client(self) -> str | None:  # type: ignore[override]
        client = self._scope.get("client")
        return str(client[0]) if client else None

    @property
    def scheme(self) -> str:  # type: ignore[override]
        default = "ws" if self._scope.get("type") == "websocket" else "http"
        return str(self._scope.get("scheme") or default)

    def get_all(self, name: str) -> list[str]:
        key = _NAMES.get(name) or _encoded(name)
        out = []
        for k, v in self._headers:  # a plain loop: cheaper than a comprehension here
            if k == key:
                out.append(v.decode("latin-1"))
        return out

    def get_all_capped(self, name: str, cap: int) -> list[str]:
        key = _NAMES.get(name) or _encoded(name)
        out = []
        for k, v in self._headers:
            if k == key:
                out.append(v[: cap + 1].decode("latin-1"))
        return out


_ENVIRON_KEYS: dict[str, str] = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class WSGIRequestView(RequestView):
    """A view over a PEP 3333 ``environ``; servers join repeated headers with commas."""

    __slots__ = ("_environ",)

    def __init__(self, environ: Mapping[str, Any]) -> None:
        path = environ.get("PATH_INFO", "") or "/"
        if not path.isascii():
            # PEP 3333 carries the path's bytes as latin-1; ASGI gives them UTF-8 decoded.
            path = path.encode("latin-1", "replace").decode("utf-8", "replace")
        super().__init__(
            environ.get("REQUEST_METHOD", "GET"),
            path,
            environ.get("QUERY_STRING", ""),
            environ.get("REMOTE_ADDR"),
            scheme=environ.get("wsgi.url_scheme") or "http",
        )
        self._environ = environ

    @property
    def environ(self) -> Mapping[str, Any]:
        """The ``environ`` this view reads (for error handlers that need more of the request)."""
        return self._environ

    def get_all(self, name: str) -> list[str]:
        key = _ENVIRON_KEYS.get(name)
        if key is None:
            key = _ENVIRON_KEYS[name] = "HTTP_" + name.upper().replace("-", "_")
        value = self._environ.get(key)
        return [] if value is None else [value]
