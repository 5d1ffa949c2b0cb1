"""Find the refresh token of a refresh request, with CSRF proof when it rode in a cookie.

A browser sends the refresh cookie (``HttpOnly``, path-scoped to ``REFRESH_COOKIE_PATH``) by
itself, also on requests another site starts; so a cookie-carried refresh needs the same proof
as any cookie-authenticated unsafe request: an acceptable ``Origin``/``Sec-Fetch-Site`` and the
session's CSRF value echoed in ``X-CSRF-Token`` (or the ``csrf_token`` form field). The value is
compared with the ``csrf`` claim of the refresh token itself; that claim is read before the
signature is checked, which is safe because the refresh flow then verifies the very same token
and refuses it if it was forged. A refresh token in the body (API clients) needs no proof.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from django.http import QueryDict

from jwtmiddleware.effects import ReadForm
from jwtmiddleware.errors import InvalidRequest, TokenMalformed, TokenMissing, TokenTooLarge
from jwtmiddleware.sources import parse_cookie

from ._http import DjangoRequestView, form_reader

if TYPE_CHECKING:
    from .conf import Runtime

__all__ = ["REFRESH_FIELD", "refresh_token_of"]

#: The JSON member or form field carrying a refresh token in the request body.
REFRESH_FIELD = "refresh_token"
_MAX_BODY = 64 * 1024
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"


def _from_cookie(request: Any, name: str) -> str | None:
    header = request.META.get("HTTP_COOKIE")
    if not header or name not in header:
        return None
    values = parse_cookie(header).get(name, [])
    if len(values) > 1:
        raise InvalidRequest("the refresh cookie is present more than once")
    return (values[0] or None) if values else None


def _from_body(request: Any) -> str | None:
    ctype = (request.META.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    if ctype not in (_JSON, _FORM):
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidRequest("bad Content-Length") from None
    if length <= 0:
        return None
    if length > _MAX_BODY:
        raise InvalidRequest("refresh request body too large")
    if ctype == _FORM:
        data = request.POST if request.method == "POST" else QueryDict(request.body)
        values = data.getlist(REFRESH_FIELD)
        if len(values) > 1:
            raise InvalidRequest("refresh_token given more than once")
        return (values[0] or None) if values else None
    try:
        document = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("the refresh request body is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidRequest("the refresh request body is not a JSON object")
    value = document.get(REFRESH_FIELD)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest("refresh_token must be a string")
    return value or None


def _unverified_claims(token: str, max_bytes: int) -> dict[str, Any]:
    if len(token) > max_bytes:
        raise TokenTooLarge("refresh token over MAX_TOKEN_BYTES")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenMalformed("refresh token is not a compact JWS")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, binascii.Error):
        raise TokenMalformed("refresh token payload is not JSON") from None
    if not isinstance(claims, dict):
        raise TokenMalformed("refresh token payload is not an object")
    return claims


def _check_csrf(runtime: Runtime, request: Any, token: str) -> None:
    guard = runtime.authenticator.csrf
    if not guard.enabled:
        return
    view = DjangoRequestView(request)
    guard.check_origin(view)
    presented = view.get(guard.header)
    if presented is None and guard.wants_form(view):
        presented = form_reader(request)(ReadForm(guard.field))
    claims = _unverified_claims(token, runtime.settings.max_token_bytes)
    guard.check_token(claims, presented)


def refresh_token_of(runtime: Runtime, request: Any) -> tuple[str, str]:
    """``(refresh_token, "cookie" | "body")`` of a refresh request.

    :raises TokenMissing: no refresh token at all (401).
    :raises InvalidRequest: a token in both the cookie and the body, or a malformed body (400).
    :raises CSRFError: a cookie-carried token without CSRF proof (403).
    """
    cookie_name = runtime.manager.flows.cookies.refresh_name
    cookie = _from_cookie(request, cookie_name)
    body = _from_body(request)
    if cookie is not None and body is not None:
        raise InvalidRequest("refresh token in both the cookie and the body")
    if body is not None:
        return body, "body"
    if cookie is None:
        raise TokenMissing("no refresh token")
    _check_csrf(runtime, request, cookie)
    return cookie, "cookie"
