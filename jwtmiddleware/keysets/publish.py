"""Publish the public half of the signing keys as a JWKS document (ASGI and WSGI).

Other services then verify tokens through the URL (``/.well-known/jwks.json`` by default)
without sharing a secret. The document, its ``ETag`` and every header are computed once, at
construction; a request only compares strings. Plain functions, no framework::

    app = jwks_asgi_app(settings)                       # a standalone ASGI app
    app = jwks_asgi_app(settings, app=starlette_app)    # or in front of your app
    app = jwks_wsgi_app(settings, app=flask_app.wsgi_app)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..core import _json
from ..core._jwk import PRIVATE_MEMBERS
from ..core.errors import ConfigurationError
from ..core.keys import KeySet

if TYPE_CHECKING:
    from ..core.settings import Settings

__all__ = ["DEFAULT_PATH", "JWKSDocument", "jwks_asgi_app", "jwks_wsgi_app"]

#: Where the JWKS is served unless told otherwise.
DEFAULT_PATH = "/.well-known/jwks.json"

_Headers = tuple[tuple[str, str], ...]
_TEXT = (("content-type", "text/plain; charset=utf-8"),)
_NOT_FOUND = (404, (*_TEXT, ("content-length", "9")), b"Not Found")
_STATUS_LINES = {200: "200 OK", 304: "304 Not Modified", 404: "404 Not Found"}
_STATUS_LINES[405] = "405 Method Not Allowed"


class JWKSDocument:
    """A JWKS with its bytes, ``ETag`` and response headers, answering ``GET``/``HEAD``.

    :param source: :class:`Settings`, a :class:`KeySet` (its :meth:`~KeySet.public_jwks`) or a
        JWKS mapping. Private key parameters are refused, never published.
    :param max_age: ``Cache-Control: public, max-age=<max_age>`` in seconds.
    :param content_type: ``application/jwk-set+json`` (RFC 7517) or ``application/json``.
    """

    def __init__(
        self,
        source: Settings | KeySet | Mapping[str, Any],
        *,
        max_age: int = 300,
        content_type: str = "application/jwk-set+json",
    ) -> None:
        jwks = _jwks_of(source)
        if not isinstance(max_age, int) or not 0 <= max_age <= 7 * 86400:
            raise ConfigurationError("JWKS_MAX_AGE", "must be whole seconds from 0 to 604800")
        #: The document's bytes (compact JSON).
        self.body = _json.dumps(jwks)
        #: A strong validator: a hash of :attr:`body`.
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'
        cache = ("cache-control", f"public, max-age={max_age}")
        self._not_modified: _Headers = (("etag", self.etag), cache)
        #: Headers of a ``200`` answer.
        self.headers: _Headers = (
            ("content-type", content_type),
            ("content-length", str(len(self.body))),
            *self._not_modified,
            ("x-content-type-options", "nosniff"),
            ("access-control-allow-origin", "*"),  # public keys; browsers may verify too
        )
        self._not_allowed: _Headers = (*_TEXT, ("allow", "GET, HEAD"), ("content-length", "18"))

    def respond(self, method: str, if_none_match: str | None) -> tuple[int, _Headers, bytes]:
        """Status, headers and body for a request to the JWKS path."""
        if method not in ("GET", "HEAD"):
            return 405, self._not_allowed, b"Method Not Allowed"
        if if_none_match is not None and self._matches(if_none_match):
            return 304, self._not_modified, b""
        return 200, self.headers, b"" if method == "HEAD" else self.body

    def _matches(self, if_none_match: str) -> bool:
        # RFC 9110 §13.1.2: weak comparison; "*" matches any current representation.
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return any(tag == "*" or tag.removeprefix("W/") == self.etag for tag in tags)


def _jwks_of(source: Settings | KeySet | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(source, KeySet):
        return source.public_jwks()
    if isinstance(source, Mapping):
        keys = source.get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, Mapping) for k in keys):
            raise ConfigurationError("KEYS", "a JWKS to publish needs a 'keys' list of objects")
        for jwk in keys:
            if PRIVATE_MEMBERS.intersection(jwk):
                raise ConfigurationError("KEYS", "refusing to publish private key material")
        return {"keys": [dict(k) for k in keys]}
    return source.keyset.public_jwks()


# -- ASGI ---------------------------------------------------------------------------------------

ASGIApp = Callable[[dict[str, Any], Callable[..., Any], Callable[..., Any]], Any]


def jwks_asgi_app(
    source: Settings | KeySet | Mapping[str, Any],
    *,
    path: str = DEFAULT_PATH,
    max_age: int = 300,
    app: ASGIApp | None = None,
) -> ASGIApp:
    """An ASGI app serving the JWKS at ``path``; other paths go to ``app`` (or get 404)."""
    document = JWKSDocument(source, max_age=max_age)
    _check_path(path)

    async def jwks_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http" and scope["path"] == path:
            inm = _asgi_header(scope, b"if-none-match")
            status, headers, body = document.respond(scope["method"], inm)
            await _asgi_send(send, status, headers, body)
        elif app is not None:
            await app(scope, receive, send)
        elif kind == "http":
            await _asgi_send(send, *_NOT_FOUND)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    return jwks_app


def _asgi_header(scope: dict[str, Any], name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == name]
    return ", ".join(values) if values else None


async def _asgi_send(send: Any, status: int, headers: _Headers, body: bytes) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


# -- WSGI ---------------------------------------------------------------------------------------

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def jwks_wsgi_app(
    source: Settings | KeySet | Mapping[str, Any],
    *,
    path: str = DEFAULT_PATH,
    max_age: int = 300,
    app: WSGIApp | None = None,
) -> WSGIApp:
    """A WSGI app serving the JWKS at ``path``; other paths go to ``app`` (or get 404)."""
    document = JWKSDocument(source, max_age=max_age)
    _check_path(path)

    def jwks_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") == path:
            method = environ.get("REQUEST_METHOD", "GET")
            status, headers, body = document.respond(method, environ.get("HTTP_IF_NONE_MATCH"))
        elif app is not None:
            return app(environ, start_response)
        else:
            status, headers, body = _NOT_FOUND
        start_response(_STATUS_LINES[status], list(headers))
        return [body]

    return jwks_app


def _check_path(path: str) -> None:
    if not path.startswith("/") or not path.isprintable() or " " in path:
        raise ConfigurationError("JWKS_PATH", "must be an absolute path such as /jwks.json")
