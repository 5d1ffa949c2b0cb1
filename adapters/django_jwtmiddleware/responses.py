"""Login, refresh and logout views in one call each, returning Django responses with cookies.

Each helper drives :class:`~jwtmiddleware.manager.SessionManager` (so ``STORE`` must be set) and
answers with ``Cache-Control: no-store`` and ``Pragma: no-cache``. Refusals (a bad refresh
token, a session limit, an unreachable store) come back as the middleware's RFC 6750 responses,
never as exceptions. The ``a``-prefixed twins are for ``async def`` views. The answers are the
same as the other adapters' (Flask, Quart, Starlette):

- login and refresh: 200, the OAuth 2.0 style body (``access_token``, ``token_type``,
  ``expires_in``, ``refresh_token``, ``csrf_token``) and the access, refresh and CSRF cookies
  (``Secure``, ``HttpOnly`` except the CSRF cookie, ``SameSite=Lax``, ``__Host-``/``__Secure-``
  names); ``tokens_in_body=False`` keeps the tokens in their cookies only (browser clients);
- logout: 204, cookies deleted; logout everywhere: 200 ``{"sessions_ended": n}``, cookies
  deleted; sessions: 200 ``{"sessions": [...]}``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.http import HttpResponse, JsonResponse

from jwtmiddleware.errors import AuthenticationError, StoreUnavailable, TokenInvalid, TokenMissing
from jwtmiddleware.lifecycle import RequestInfo

from ._http import DjangoRequestView, add_set_cookies, to_http_response
from ._refresh import refresh_token_of
from .conf import Runtime, get_runtime
from .decorators import identity_of

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jwtmiddleware.identity import Identity
    from jwtmiddleware.lifecycle import TokenPair
    from jwtmiddleware.stores.base import SessionInfo

__all__ = [
    "NO_STORE",
    "alogin_response",
    "alogout_everywhere_response",
    "alogout_response",
    "arefresh_response",
    "asessions_response",
    "login_response",
    "logout_everywhere_response",
    "logout_response",
    "refresh_response",
    "sessions_response",
]

#: Headers of every response carrying or clearing tokens (RFC 6749 §5.1).
NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def _info(request: Any) -> RequestInfo:
    meta = request.META
    return RequestInfo(
        user_agent=meta.get("HTTP_USER_AGENT") or "", ip=meta.get("REMOTE_ADDR") or ""
    )


def _no_store(response: Any, set_cookies: tuple[str, ...] = ()) -> Any:
    for key, value in NO_STORE:
        response[key] = value
    add_set_cookies(response, set_cookies)
    return response


def _refusal(
    runtime: Runtime, request: Any, error: Exception, set_cookies: tuple[str, ...] = ()
) -> Any:
    response = to_http_response(runtime.responder.response_for(error, DjangoRequestView(request)))
    add_set_cookies(response, set_cookies)
    return response


def _pair(
    runtime: Runtime, pair: TokenPair, body: Mapping[str, Any] | None, tokens_in_body: bool
) -> Any:
    out = pair.body(runtime.clock())
    if not tokens_in_body:
        del out["access_token"], out["refresh_token"]
    out.update(body or {})
    return _no_store(JsonResponse(out), pair.set_cookies)


def login_response(
    request: Any,
    subject: str,
    claims: Mapping[str, Any] | None = None,
    body: Mapping[str, Any] | None = None,
    *,
    tokens_in_body: bool = True,
) -> Any:
    """Start a device session for ``subject`` (after your own password check) and answer with
    its tokens.

    :param claims: application claims for the tokens (``scope``, roles, tenant, ...).
    :param body: extra members for the JSON body.
    :param tokens_in_body: ``False`` keeps the tokens in their ``HttpOnly`` cookies only.
    """
    runtime = get_runtime()
    try:
        pair = runtime.manager.login(subject, claims=claims, info=_info(request))
    except (AuthenticationError, StoreUnavailable) as exc:
        return _refusal(runtime, request, exc)
    return _pair(runtime, pair, body, tokens_in_body)


async def alogin_response(
    request: Any,
    subject: str,
    claims: Mapping[str, Any] | None = None,
    body: Mapping[str, Any] | None = None,
    *,
    tokens_in_body: bool = True,
) -> Any:
    """Async :func:`login_response`."""
    runtime = get_runtime()
    try:
        pair = await runtime.manager.alogin(subject, claims=claims, info=_info(request))
    except (AuthenticationError, StoreUnavailable) as exc:
        return _refusal(runtime, request, exc)
    return _pair(runtime, pair, body, tokens_in_body)


def refresh_response(
    request: Any, body: Mapping[str, Any] | None = None, *, tokens_in_body: bool = True
) -> Any:
    """Rotate the refresh token of this request into a new pair (answered like
    :func:`login_response`).

    The token comes from the refresh cookie (then CSRF proof is required, as for cookie access
    tokens) or the body's ``refresh_token`` (JSON or form). A refused refresh from the cookie
    also deletes the cookies. Reusing a rotated refresh token revokes the whole session. Serve
    it on ``REFRESH_COOKIE_PATH`` (``/auth/refresh``), listed in ``EXEMPT_PATHS`` (the access
    token may have expired), and mark the view ``csrf_exempt``.
    """
    runtime = get_runtime()
    source = ""
    try:
        token, source = refresh_token_of(runtime, request)
        pair = runtime.manager.refresh(token)
    except TokenInvalid as exc:
        return _refusal(runtime, request, exc, _cleared_if(runtime, source))
    except (AuthenticationError, StoreUnavailable) as exc:
        return _refusal(runtime, request, exc)
    return _pair(runtime, pair, body, tokens_in_body)


async def arefresh_response(
    request: Any, body: Mapping[str, Any] | None = None, *, tokens_in_body: bool = True
) -> Any:
    """Async :func:`refresh_response`."""
    runtime = get_runtime()
    source = ""
    try:
        token, source = refresh_token_of(runtime, request)
        pair = await runtime.manager.arefresh(token)
    except TokenInvalid as exc:
        return _refusal(runtime, request, exc, _cleared_if(runtime, source))
    except (AuthenticationError, StoreUnavailable) as exc:
        return _refusal(runtime, request, exc)
    return _pair(runtime, pair, body, tokens_in_body)


def _cleared_if(runtime: Runtime, source: str) -> tuple[str, ...]:
    # A dead refresh cookie is deleted, so the browser stops sending it.
    return runtime.manager.flows.cookies.clear() if source == "cookie" else ()


def _caller(request: Any) -> Identity:
    identity = identity_of(request)
    if not identity.is_authenticated:
        raise TokenMissing("no credentials")
    result: Identity = identity
    return result


def logout_response(request: Any) -> Any:
    """End the caller's session (its access and refresh tokens stop working): 204, cookies
    deleted. The path must be authenticated by the middleware (not exempt)."""
    runtime = get_runtime()
    try:
        cleared = runtime.manager.logout(_caller(request))
    except (AuthenticationError, StoreUnavailable) as exc:
        return _refusal(runtime, request, exc)
    return _no_store(HttpResponse(status=204), cleared)


async def alogout_response(request: Any) -> Any:
    """Async :func:`logout_response`."""
    runtime = get_runtime()
    try:
        cleared = await runtime.manager.alogout(_caller(request))
    except (AuthenticationError, StoreUnavailable) as exc:
        return _refusal(runtime, request, exc)
    return _no_store(HttpResponse(status=204), cleared)


def _subject(request: Any) -> tuple[str, str | None]:
    identity = _caller(request)
    if identity.subject is None:
        raise TokenMissing("the token has no subject")
    return identity.subject, identity.issuer


def logout_everywhere_response(request: Any) -> Any:
    """Revoke every token and session of the caller's subject, on every device: 200
    ``{"sessions_ended": n}``, this device's cookies deleted."""
    runtime = get_runtime()
    try:
        subject, issuer = _subject(request)
        ended = runtime.manager.logout_everywhere(subject, issuer=issuer)
    except (AuthenticationError, StoreUnavailable) as exc:
        return _refusal(runtime, request, exc)
    cleared = runtime.manager.flows.cookies.clear()
    return _no_store(JsonResponse({"sessions_ended": ended}), cleared)


async def alogout_everywhere_response(request: Any) -> Any:
    """Async :func:`logout_everywhere_response`."""
    runtime = get_runtime()
    try:
        subject, issuer = _subject(request)
        ended = await runtime.manager.alogout_everywhere(subject, issuer=issuer)
    except (AuthenticationError, StoreUnavailable) as exc:
        return _refusal(runtime, request, exc)
    cleared = runtime.manager.flows.cookies.clear()
    return _no_store(JsonResponse({"sessions_ended": ended}), cleared)


def _sessions_json(listed: list[SessionInfo], current: str | None) -> Any:
    items = []
    for session in listed:
        item = dataclasses.asdict(session)
        del item["subject"]
        item["current"] = session.session_id == current
        items.append(item)
    return _no_store(JsonResponse({"sessions": items}))


def sessions_response(request: Any) -> Any:
    """The caller's live device sessions, oldest first: 200 ``{"sessions": [...]}``, each with
    its id, times, user agent and IP, and whether it is the caller's own (``current``)."""
    runtime = get_runtime()
    try:
        subject, _ = _subject(request)
        listed = runtime.manager.sessions(subject)
    except (AuthenticationError, StoreUnavailable) as exc:
        return _refusal(runtime, request, exc)
    return _sessions_json(listed, request.identity.session_id)


async def asessions_response(request: Any) -> Any:
    """Async :func:`sessions_response`."""
    runtime = get_runtime()
    try:
        subject, _ = _subject(request)
        listed = await runtime.manager.asessions(subject)
    except (AuthenticationError, StoreUnavailable) as exc:
        return _refusal(runtime, request, exc)
    return _sessions_json(listed, request.identity.session_id)
