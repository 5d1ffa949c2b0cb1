"""What every demo endpoint shares: its state, JSON answers, bounded JSON bodies, errors.

Every refusal is a JSON body ``{"error": ..., "error_description": ...}`` with a 4xx status
(the middleware's shape), raised as :class:`DemoError` and rendered by :func:`error_handlers`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..errors import AuthenticationError, StoreUnavailable
from ..identity import Identity

if TYPE_CHECKING:
    from starlette.requests import Request

    from .state import DemoState

__all__ = [
    "MAX_BODY",
    "DemoError",
    "error_handlers",
    "identity_of",
    "json_response",
    "read_json",
    "state_of",
    "string_field",
]

#: Largest request body the JSON endpoints read.
MAX_BODY = 32 * 1024
_NO_STORE = {"cache-control": "no-store"}


class DemoError(Exception):
    """A 4xx answer with a JSON body."""

    def __init__(self, status: int, error: str, description: str) -> None:
        #: HTTP status.
        self.status = status
        #: Short machine-readable code.
        self.error = error
        #: What went wrong, for people.
        self.description = description
        super().__init__(description)


def json_response(
    data: Any, status: int = 200, *, cookies: Iterable[str] = (), headers: Mapping[str, str] = {}
) -> Response:
    """A JSON answer that is never cached, with ``Set-Cookie`` lines added as given.

    Rendered as ASCII, so text decoded from a pasted token (lone surrogates included) can
    never fail to encode.
    """
    body = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    response = Response(body, status, {**_NO_STORE, **headers}, "application/json")
    for value in cookies:
        response.raw_headers.append((b"set-cookie", value.encode("latin-1")))
    return response


def _error(status: int, error: str, description: str, cookies: Iterable[str] = ()) -> Response:
    body = {"error": error, "error_description": description}
    return json_response(body, status, cookies=cookies)


def state_of(request: Request) -> DemoState:
    """The demo's shared objects, kept on the Starlette app."""
    return cast("DemoState", request.app.state.demo)


def identity_of(request: Request) -> Identity:
    """The verified caller the middleware put in the scope."""
    identity = request.scope.get("jwtmiddleware.identity")
    if not isinstance(identity, Identity) or identity.subject is None:
        raise DemoError(401, "unauthorized", "Authentication required")
    return identity


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object; 415 for another media type, 413 when over
    :data:`MAX_BODY`, 400 when it is not a JSON object."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        raise DemoError(415, "unsupported_media_type", "Send a JSON body (application/json)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise DemoError(413, "too_large", f"The body is over {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise DemoError(400, "invalid_json", "The body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise DemoError(400, "invalid_request", "The body must be a JSON object")
    return data


def string_field(data: Mapping[str, Any], name: str, *, limit: int) -> str:
    """A required string member of a JSON body, 1 to ``limit`` characters."""
    value = data.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise DemoError(400, "invalid_request", f"'{name}' must be a string of 1 to {limit} "
                        "characters")  # fmt: skip
    return value


async def _demo_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DemoError)
    return _error(exc.status, exc.error, exc.description)


async def _auth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthenticationError)
    return _error(exc.status, exc.error or "unauthorized", exc.description)


async def _store_error(request: Request, exc: Exception) -> Response:
    response = _error(503, "temporarily_unavailable", "The session store is unavailable")
    response.headers["retry-after"] = "1"
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    response = _error(exc.status_code, codes.get(exc.status_code, "bad_request"), exc.detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def error_handlers() -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    """Starlette ``exception_handlers`` rendering every expected failure as 4xx/503 JSON."""
    return {
        DemoError: _demo_error,
        AuthenticationError: _auth_error,
        StoreUnavailable: _store_error,
        HTTPException: _http_error,
    }
