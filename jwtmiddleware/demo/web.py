"""What every demo endpoint shares: its state, JSON answers, bounded bodies, errors.

Every refusal is a JSON body ``{"error": ..., "error_description": ...}`` with a 4xx status
(the middleware's shape): the demo's own raised as :class:`DemoError` and rendered by
:func:`error_handlers`, the core's rendered by :func:`refusal` as the middleware renders them.
:func:`plan_response` turns the shared session endpoints' plans into Starlette responses.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..core.errors import (
    AuthenticationError,
    StoreUnavailable,
    TokenExpired,
    TokenInvalid,
    TokenMissing,
    TokenRevoked,
)
from ..core.identity import Identity
from ..http.responses import render_error, render_store_unavailable
from ..integration import IDENTITY_KEY

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..integration import ResponsePlan
    from .state import DemoState

__all__ = [
    "MAX_BODY",
    "DemoError",
    "error_handlers",
    "identity_of",
    "json_response",
    "plan_response",
    "read_body",
    "read_json",
    "refusal",
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
    return _with_cookies(response, cookies)


def _with_cookies(response: Response, cookies: Iterable[str]) -> Response:
    for value in cookies:
        response.raw_headers.append((b"set-cookie", value.encode("latin-1")))
    return response


def _error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _why(error: TokenInvalid) -> str:
    """Which notice the login page shows after a refused refresh (the pages' script reads it)."""
    if isinstance(error, TokenRevoked):
        return "revoked"
    return "expired" if isinstance(error, TokenExpired) else "invalid"


def refusal(
    error: AuthenticationError | StoreUnavailable, realm: str, cookies: Iterable[str] = ()
) -> Response:
    """A refusal rendered as the middleware renders it (RFC 6750: ``WWW-Authenticate`` and the
    JSON body; 503 with ``Retry-After``), plus ``why`` for a dead token and ``cookies``."""
    if isinstance(error, StoreUnavailable):
        rendered = render_store_unavailable(error)
    else:
        rendered = render_error(error, realm=realm)
    body = json.loads(rendered.body)
    if isinstance(error, TokenInvalid):
        body["why"] = _why(error)
    headers = {k: v for k, v in rendered.headers if k not in ("content-type", "content-length")}
    return json_response(body, rendered.status, cookies=cookies, headers=headers)


def plan_response(state: DemoState, plan: ResponsePlan) -> Response:
    """The Starlette response for a :class:`~jwtmiddleware.endpoints.SessionEndpoints` plan:
    its JSON body (or none), its headers and every ``Set-Cookie``, or its refusal."""
    if plan.error is not None:
        return refusal(plan.error, state.settings.realm, plan.set_cookies)
    headers = {name.lower(): value for name, value in plan.headers}
    if plan.body is None:
        return _with_cookies(Response(None, plan.status, headers), plan.set_cookies)
    return json_response(plan.body, plan.status, cookies=plan.set_cookies, headers=headers)


def state_of(request: Request) -> DemoState:
    """The demo's shared objects, kept on the Starlette app."""
    return cast("DemoState", request.app.state.demo)


def identity_of(request: Request) -> Identity:
    """The verified caller the middleware put in the scope; 401 (as the shared endpoints
    answer) without one or when its token names no subject."""
    identity = request.scope.get(IDENTITY_KEY)
    if not isinstance(identity, Identity) or identity.subject is None:
        raise TokenMissing("this endpoint needs a token with a subject")
    return identity


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, but no more than ``limit + 1`` bytes: enough to tell it is too large."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            break
    return bytes(body)


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object; 415 for another media type, 413 when over
    :data:`MAX_BODY`, 400 when it is not a JSON object."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        raise DemoError(415, "unsupported_media_type", "Send a JSON body (application/json)")
    body = await read_body(request, MAX_BODY)
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


async def _core_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthenticationError | StoreUnavailable)
    return refusal(exc, state_of(request).settings.realm)


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
        AuthenticationError: _core_error,
        StoreUnavailable: _core_error,
        HTTPException: _http_error,
    }
