"""Login, refresh and logout views in one call each, returning Django responses with cookies.

Each helper hands the request to the core's
:class:`~jwtmiddleware.integration.SessionEndpoints` (so ``STORE`` must be set), which decides
the answer for every adapter alike, and renders it with ``Cache-Control: no-store`` and
``Pragma: no-cache``. Refusals (a bad refresh token, a session limit, an unreachable store) come
back as the middleware's RFC 6750 responses (``ERROR_HANDLER`` applies), never as exceptions.
The ``a``-prefixed twins are for ``async def`` views. The answers are the same as the other
adapters' (Flask, Quart, Starlette):

- login: 200, the OAuth 2.0 style body (``access_token``, ``token_type``, ``expires_in``,
  ``refresh_token``, ``csrf_token``) and the access, refresh and CSRF cookies (``Secure``,
  ``HttpOnly`` except the CSRF cookie, ``SameSite=Lax``, ``__Host-``/``__Secure-`` names);
  ``tokens_in_body=False`` keeps the tokens in their cookies only (browser clients);
- refresh: the same, but a refresh made with the refresh cookie answers with cookies only (the
  body keeps ``token_type``, ``expires_in`` and ``csrf_token``) unless told
  ``tokens_in_body=True``;
- logout: 204, cookies deleted; logout everywhere: 200 ``{"sessions_ended": n}``, cookies
  deleted; sessions: 200 ``{"sessions": [...]}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpResponse, JsonResponse
from django.http.request import RawPostDataException

from jwtmiddleware.integration import MAX_REFRESH_BODY, NO_STORE

from ._http import DjangoRequestView, add_set_cookies, to_http_response
from .conf import Runtime, get_runtime
from .decorators import identity_of

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jwtmiddleware.integration import ResponsePlan

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


def _render(runtime: Runtime, request: Any, plan: ResponsePlan) -> Any:
    if plan.error is not None:
        view = DjangoRequestView(request)
        response = to_http_response(runtime.responder.response_for(plan.error, view))
    elif plan.body is None:
        response = HttpResponse(status=plan.status)
    else:
        response = JsonResponse(plan.body, status=plan.status)
    for key, value in plan.headers:
        response[key] = value
    add_set_cookies(response, plan.set_cookies)
    return response


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
    :param tokens_in_body: ``False`` keeps the tokens in their ``HttpOnly`` cookies only
        (browser-only apps); the default serves API clients too.
    """
    runtime = get_runtime()
    plan = runtime.endpoints.login(DjangoRequestView(request), subject, claims=claims,
                                   extra=body, tokens_in_body=tokens_in_body)  # fmt: skip
    return _render(runtime, request, plan)


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
    plan = await runtime.endpoints.alogin(DjangoRequestView(request), subject, claims=claims,
                                          extra=body, tokens_in_body=tokens_in_body)  # fmt: skip
    return _render(runtime, request, plan)


def _body(runtime: Runtime, request: Any, view: DjangoRequestView) -> bytes:
    """The refresh request's body, when the core wants it (never over its limit)."""
    if not runtime.endpoints.wants_body(view):
        return b""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    if length > MAX_REFRESH_BODY:
        return b""  # the core refuses it by its Content-Length
    try:
        data: bytes = request.body
    except RawPostDataException:  # the view read a multipart body already
        return b""
    return data


def refresh_response(
    request: Any, body: Mapping[str, Any] | None = None, *, tokens_in_body: bool | None = None
) -> Any:
    """Rotate the refresh token of this request into a new pair of the same session.

    The token comes from the refresh cookie (then CSRF proof is required, as for cookie access
    tokens, whatever the method) or the body's ``refresh_token`` (JSON or form). A refused
    refresh from the cookie also deletes the cookies. Reusing a rotated refresh token revokes
    the whole session. Serve it on ``REFRESH_COOKIE_PATH`` (``/auth/refresh``), listed in
    ``EXEMPT_PATHS`` (the access token may have expired), and mark the view ``csrf_exempt``.

    :param body: extra members for the JSON body.
    :param tokens_in_body: ``None`` (the default): a refresh made with the cookie answers with
        the new cookies only; one made with the token in the body gets the tokens in the body.
    """
    runtime = get_runtime()
    view = DjangoRequestView(request)
    plan = runtime.endpoints.refresh(view, _body(runtime, request, view), extra=body,
                                     tokens_in_body=tokens_in_body)  # fmt: skip
    return _render(runtime, request, plan)


async def arefresh_response(
    request: Any, body: Mapping[str, Any] | None = None, *, tokens_in_body: bool | None = None
) -> Any:
    """Async :func:`refresh_response`."""
    runtime = get_runtime()
    view = DjangoRequestView(request)
    # Django's ASGI handler has spooled the whole body already: reading it does not block.
    plan = await runtime.endpoints.arefresh(view, _body(runtime, request, view), extra=body,
                                            tokens_in_body=tokens_in_body)  # fmt: skip
    return _render(runtime, request, plan)


def logout_response(request: Any) -> Any:
    """End the caller's session (its access and refresh tokens stop working): 204, cookies
    deleted. The path must be authenticated by the middleware (not exempt)."""
    runtime = get_runtime()
    return _render(runtime, request, runtime.endpoints.logout(identity_of(request)))


async def alogout_response(request: Any) -> Any:
    """Async :func:`logout_response`."""
    runtime = get_runtime()
    return _render(runtime, request, await runtime.endpoints.alogout(identity_of(request)))


def logout_everywhere_response(request: Any) -> Any:
    """Revoke every token and session of the caller's subject, on every device: 200
    ``{"sessions_ended": n}``, this device's cookies deleted."""
    runtime = get_runtime()
    plan = runtime.endpoints.logout_everywhere(identity_of(request))
    return _render(runtime, request, plan)


async def alogout_everywhere_response(request: Any) -> Any:
    """Async :func:`logout_everywhere_response`."""
    runtime = get_runtime()
    plan = await runtime.endpoints.alogout_everywhere(identity_of(request))
    return _render(runtime, request, plan)


def sessions_response(request: Any) -> Any:
    """The caller's live device sessions, oldest first: 200 ``{"sessions": [...]}``, each with
    its id, times, user agent and IP, and whether it is the caller's own (``current``)."""
    runtime = get_runtime()
    return _render(runtime, request, runtime.endpoints.sessions(identity_of(request)))


async def asessions_response(request: Any) -> Any:
    """Async :func:`sessions_response`."""
    runtime = get_runtime()
    return _render(runtime, request, await runtime.endpoints.asessions(identity_of(request)))
