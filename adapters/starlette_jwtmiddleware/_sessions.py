"""Login, refresh and logout answered as Starlette responses, with the session cookies.

Each helper drives the core :class:`~jwtmiddleware.manager.SessionManager` asynchronously and
returns a complete response: the token pair as an OAuth 2.0 style JSON body for API clients
and, for browsers, every ``Set-Cookie`` of the pair (access, refresh and CSRF cookies), always
with ``Cache-Control: no-store``. Refusals are the same RFC 6750 responses the middleware
sends; a store that cannot answer gives 503 with ``Retry-After``.

The refresh endpoint must be exempt from the middleware (an expired access cookie would
otherwise be refused before it is reached); a refresh token from the refresh cookie needs the
CSRF proof of an unsafe cookie request: ``X-CSRF-Token`` (or the ``csrf_token`` form field)
equal to the token's ``csrf`` claim, and no cross-site ``Origin``/``Sec-Fetch-Site``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import jwt
from starlette.responses import JSONResponse, Response

from jwtmiddleware import (
    AuthenticationError,
    ClaimCheckFailed,
    Identity,
    InvalidRequest,
    StoreUnavailable,
    TokenInvalid,
    TokenMissing,
)
from jwtmiddleware.lifecycle import RequestInfo
from jwtmiddleware.sources import ASGIRequestView, parse_cookie

from ._middleware import current_identity
from ._requires import starlette_response

if TYPE_CHECKING:
    from starlette.requests import Request

    from jwtmiddleware.lifecycle import TokenPair
    from jwtmiddleware.stores.base import SessionInfo

    from ._auth import JWTAuth

__all__ = [
    "login_response",
    "logout_everywhere_response",
    "logout_response",
    "refresh_response",
    "sessions",
    "sessions_response",
]

_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
_FORM = "application/x-www-form-urlencoded"
_BODY_SLACK = 4096
_MAX_FIELDS = 100


def _with_cookies(response: Response, set_cookies: tuple[str, ...]) -> Response:
    for value in set_cookies:
        response.headers.append("set-cookie", value)
    return response


def _refusal(auth: JWTAuth, request: Request, error: AuthenticationError | StoreUnavailable,
             set_cookies: tuple[str, ...] = ()) -> Response:  # fmt: skip
    return _with_cookies(starlette_response(auth.error_response(error, request)), set_cookies)


def _pair_response(pair: TokenPair, now: float) -> Response:
    return _with_cookies(JSONResponse(pair.body(now), headers=_NO_STORE), pair.set_cookies)


async def login_response(
    auth: JWTAuth, request: Request, subject: str, claims: Mapping[str, Any] | None = None
) -> Response:
    """Start a device session for ``subject`` (already authenticated by the app)."""
    client = request.client
    info = RequestInfo(user_agent=request.headers.get("user-agent", ""),
                       ip=client.host if client else "")  # fmt: skip
    try:
        pair = await auth.manager.alogin(subject, claims=claims, info=info)
    except (AuthenticationError, StoreUnavailable) as error:
        return _refusal(auth, request, error)
    return _pair_response(pair, auth.clock())


async def _read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InvalidRequest("request body too large")
    return bytes(body)


def _field(body: bytes, content_type: str, name: str) -> str | None:
    """A string field of a JSON object or form body (``None`` when absent)."""
    if not body:
        return None
    if content_type == _FORM:
        try:
            values = parse_qs(body.decode("latin-1"), max_num_fields=_MAX_FIELDS).get(name)
        except ValueError as exc:  # more than _MAX_FIELDS fields
            raise InvalidRequest("too many form fields") from exc
        if values is not None and len(values) != 1:
            raise InvalidRequest(f"{name} given twice")
        return values[0] if values else None
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest("body is not JSON") from exc
    value = data.get(name) if isinstance(data, dict) else None
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidRequest(f"{name} must be a non-empty string")
    return value


def _csrf_claim(token: str) -> str | None:
    """The refresh token's ``csrf`` claim, read before verification only to compare it with
    the echoed value; :meth:`SessionManager.arefresh` verifies the token right after."""
    try:
        claims: Any = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    value = claims.get("csrf") if isinstance(claims, dict) else None
    return value if isinstance(value, str) else None


def _check_csrf(auth: JWTAuth, request: Request, token: str, presented: str | None) -> None:
    """The CSRF rules of cookie access tokens, for a refresh token from the refresh cookie."""
    guard = auth.csrf_guard
    guard.check_origin(ASGIRequestView(request.scope))
    expected = _csrf_claim(token)
    if expected is None:
        return  # not a token we issued: verification refuses it
    guard.check_token({"csrf": expected}, presented)


async def refresh_response(auth: JWTAuth, request: Request) -> Response:
    """Rotate the refresh token from the refresh cookie or the JSON/form field
    ``refresh_token`` into a new pair; a dead session also gets its cookies cleared."""
    manager = auth.manager
    settings = auth.settings
    cookies = manager.flows.cookies
    from_cookie = False
    try:
        jar = parse_cookie(", ".join(ASGIRequestView(request.scope).get_all("cookie")))
        in_cookie = jar.get(cookies.refresh_name, [])
        if len(in_cookie) > 1:
            raise InvalidRequest("two refresh cookies")
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        body = await _read_body(request, settings.max_token_bytes + _BODY_SLACK)
        in_body = _field(body, ctype, "refresh_token")
        if in_cookie and in_cookie[0] and in_body is not None:
            raise InvalidRequest("refresh token in both the cookie and the body")
        token = in_body if in_body is not None else (in_cookie[0] if in_cookie else None)
        if not token:
            raise TokenMissing("no refresh token")
        from_cookie = in_body is None
        if from_cookie and settings.csrf_protection:
            presented = request.headers.get(settings.csrf_header_name)
            if presented is None and ctype == _FORM:
                presented = _field(body, ctype, settings.csrf_field_name)
            _check_csrf(auth, request, token, presented)
        pair = await manager.arefresh(token)
    except TokenInvalid as error:
        return _refusal(auth, request, error, cookies.clear() if from_cookie else ())
    except (AuthenticationError, StoreUnavailable) as error:
        return _refusal(auth, request, error)
    return _pair_response(pair, auth.clock())


def _caller(request: Request) -> Identity:
    identity = current_identity(request)
    if not isinstance(identity, Identity):
        raise TokenMissing("no credentials")
    return identity


async def logout_response(auth: JWTAuth, request: Request) -> Response:
    """End the caller's session (this device) and revoke its token: 204, cookies cleared."""
    try:
        cleared = await auth.manager.alogout(_caller(request))
    except (AuthenticationError, StoreUnavailable) as error:
        return _refusal(auth, request, error)
    return _with_cookies(Response(status_code=204, headers=_NO_STORE), cleared)


async def logout_everywhere_response(auth: JWTAuth, request: Request) -> Response:
    """Revoke every token and session of the caller's subject: 200
    ``{"sessions_ended": n}``, this device's cookies cleared."""
    try:
        identity = _caller(request)
        if identity.subject is None:
            raise ClaimCheckFailed("token has no sub")
        ended = await auth.manager.alogout_everywhere(identity.subject, issuer=identity.issuer)
    except (AuthenticationError, StoreUnavailable) as error:
        return _refusal(auth, request, error)
    body = {"sessions_ended": ended}
    return _with_cookies(JSONResponse(body, headers=_NO_STORE), auth.manager.flows.cookies.clear())


async def sessions(auth: JWTAuth, request: Request) -> list[SessionInfo]:
    """The caller's live device sessions, oldest first.

    :raises TokenMissing: for an anonymous caller.
    """
    identity = _caller(request)
    if identity.subject is None:
        return []
    return await auth.manager.asessions(identity.subject)


async def sessions_response(auth: JWTAuth, request: Request) -> Response:
    """200 ``{"sessions": [...]}``: each session's id, times, user agent and IP, and whether
    it is the caller's own (``current``)."""
    try:
        current = _caller(request).session_id
        listed = await sessions(auth, request)
    except (AuthenticationError, StoreUnavailable) as error:
        return _refusal(auth, request, error)
    items = [{**dataclasses.asdict(s), "current": s.session_id == current} for s in listed]
    for item in items:
        item.pop("subject", None)
    return JSONResponse({"sessions": items}, headers=_NO_STORE)
