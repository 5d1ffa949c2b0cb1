"""Login, refresh and logout answered as Starlette responses, with the session cookies.

The decisions are the core's :class:`~jwtmiddleware.integration.SessionEndpoints` (the same
for every adapter); this module reads what they need of the request (the body of a refresh, at
most ``MAX_REFRESH_BODY + 1`` bytes) and renders their
:class:`~jwtmiddleware.integration.ResponsePlan`: a JSON body, every ``Set-Cookie`` and
``Cache-Control: no-store``, or a refusal rendered like the middleware's (RFC 6750,
``ERROR_HANDLER``), with any cookie deletions added.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from jwtmiddleware import Identity, TokenMissing
from jwtmiddleware.integration import MAX_REFRESH_BODY, ASGIRequestView

from ._middleware import current_identity
from ._refusals import starlette_response

if TYPE_CHECKING:
    from starlette.requests import Request

    from jwtmiddleware.integration import ResponsePlan
    from jwtmiddleware.stores import SessionInfo

    from ._auth import JWTAuth

__all__ = [
    "login_response",
    "logout_everywhere_response",
    "logout_response",
    "refresh_response",
    "render",
    "sessions",
    "sessions_response",
]


def render(auth: JWTAuth, request: Request, plan: ResponsePlan) -> Response:
    """The Starlette response for a session endpoint's ``plan``."""
    if plan.error is not None:
        response = starlette_response(auth.error_response(plan.error, request))
    elif plan.body is None:
        response = Response(status_code=plan.status, headers=dict(plan.headers))
    else:
        response = JSONResponse(plan.body, plan.status, headers=dict(plan.headers))
    for value in plan.set_cookies:
        response.headers.append("set-cookie", value)
    return response


async def _read_body(request: Request) -> bytes:
    """The body, but no more than ``MAX_REFRESH_BODY + 1`` bytes (the core refuses more)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REFRESH_BODY:
            break
    return bytes(body)


async def login_response(
    auth: JWTAuth,
    request: Request,
    subject: str,
    claims: Mapping[str, Any] | None = None,
    body: Mapping[str, Any] | None = None,
    *,
    tokens_in_body: bool = True,
) -> Response:
    """Start a device session for ``subject`` (already authenticated by the app)."""
    plan = await auth.endpoints.alogin(ASGIRequestView(request.scope), subject, claims=claims,
                                       extra=body, tokens_in_body=tokens_in_body)  # fmt: skip
    return render(auth, request, plan)


async def refresh_response(
    auth: JWTAuth,
    request: Request,
    body: Mapping[str, Any] | None = None,
    *,
    tokens_in_body: bool | None = None,
) -> Response:
    """Rotate the refresh token from the refresh cookie or the JSON/form field
    ``refresh_token`` into a new pair; a dead cookie session also gets its cookies cleared."""
    endpoints = auth.endpoints
    view = ASGIRequestView(request.scope)
    data = await _read_body(request) if endpoints.wants_body(view) else b""
    plan = await endpoints.arefresh(view, data, extra=body, tokens_in_body=tokens_in_body)
    return render(auth, request, plan)


async def logout_response(auth: JWTAuth, request: Request) -> Response:
    """End the caller's session (this device) and revoke its token: 204, cookies cleared."""
    plan = await auth.endpoints.alogout(current_identity(request))
    return render(auth, request, plan)


async def logout_everywhere_response(auth: JWTAuth, request: Request) -> Response:
    """Revoke every token and session of the caller's subject: 200
    ``{"sessions_ended": n}``, this device's cookies cleared."""
    plan = await auth.endpoints.alogout_everywhere(current_identity(request))
    return render(auth, request, plan)


async def sessions(auth: JWTAuth, request: Request) -> list[SessionInfo]:
    """The caller's live device sessions, oldest first (none for a token without a subject).

    :raises TokenMissing: for an anonymous caller.
    """
    identity = current_identity(request)
    if not isinstance(identity, Identity):
        raise TokenMissing("no credentials")
    if identity.subject is None:
        return []
    return await auth.manager.asessions(identity.subject)


async def sessions_response(auth: JWTAuth, request: Request) -> Response:
    """200 ``{"sessions": [...]}``: each session's id, times, user agent and IP, and whether
    it is the caller's own (``current``)."""
    plan = await auth.endpoints.asessions(current_identity(request))
    return render(auth, request, plan)
