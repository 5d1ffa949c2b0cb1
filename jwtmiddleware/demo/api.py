"""The demo's API for scripts and for its own pages: log in, refresh, log out, device sessions.

Login, refresh, logout, logout everywhere and the sessions list are the core's
:class:`~jwtmiddleware.endpoints.SessionEndpoints`, the same answers every framework adapter
gives, rendered by :func:`~jwtmiddleware.demo.web.plan_response`; the demo adds its password
check, "log out all others" and "log out this one".

``/auth/login`` and ``/auth/refresh`` are exempt from the middleware (the caller has no valid
access token yet), so they check their own proof: login refuses requests that say they come
from another site and accepts only JSON (which a cross-site form cannot send; the login page's
own form posts to ``/login``, see :mod:`~jwtmiddleware.demo.forms`); a refresh
token taken from the cookie needs the same proof plus the ``X-CSRF-Token`` it was issued
with, and is answered with cookies only (page scripts never see a token). Everything else is
authenticated by :class:`~jwtmiddleware.JWTMiddleware`, which also checks CSRF proof for
unsafe requests carrying the access-token cookie.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio.to_thread
from starlette.routing import Route

from ..integration import IDENTITY_KEY, MAX_REFRESH_BODY, ASGIRequestView
from .users import MAX_NAME, MAX_PASSWORD
from .web import (
    DemoError,
    identity_of,
    json_response,
    plan_response,
    read_body,
    read_json,
    state_of,
    string_field,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from ..core.identity import Identity
    from .state import DemoState

__all__ = ["LOGIN_SCOPE", "end_own_session", "login_claims", "routes"]

#: Application claims of the demo's tokens.
LOGIN_SCOPE = "profile sessions"


def login_claims(username: str) -> dict[str, str]:
    """The application claims of a login's tokens (the JSON and the form login alike)."""
    return {"scope": LOGIN_SCOPE, "name": username}


async def login(request: Request) -> Response:
    """``POST /auth/login`` ``{"username": ..., "password": ...}``: a token pair, in the body
    for scripts and in cookies for browsers; 401 ``invalid_grant`` for a wrong password."""
    state, view = state_of(request), ASGIRequestView(request.scope)
    state.csrf.check_origin(view)
    data = await read_json(request)
    username = string_field(data, "username", limit=MAX_NAME)
    password = string_field(data, "password", limit=MAX_PASSWORD)
    # scrypt takes tens of milliseconds: keep it off the event loop.
    if not await anyio.to_thread.run_sync(state.config.users.check, username, password):
        await state.endpoints.alogin_failed(view, username)
        raise DemoError(401, "invalid_grant", "Wrong user name or password")
    plan = await state.endpoints.alogin(view, username, claims=login_claims(username))
    return plan_response(state, plan)


async def refresh(request: Request) -> Response:
    """``POST /auth/refresh``: rotate the refresh token (the cookie, or ``refresh_token`` in a
    JSON or form body) into a new pair. A refused cookie with a dead token is deleted."""
    state, view = state_of(request), ASGIRequestView(request.scope)
    body = await read_body(request, MAX_REFRESH_BODY) if state.endpoints.wants_body(view) else b""
    return plan_response(state, await state.endpoints.arefresh(view, body))


async def logout(request: Request) -> Response:
    """``POST /auth/logout``: end this device's session: 204, the cookies deleted."""
    state = state_of(request)
    return plan_response(state, await state.endpoints.alogout(request.scope.get(IDENTITY_KEY)))


async def logout_all(request: Request) -> Response:
    """``POST /auth/logout-all``: revoke every token and session of the caller."""
    state, caller = state_of(request), request.scope.get(IDENTITY_KEY)
    return plan_response(state, await state.endpoints.alogout_everywhere(caller))


async def logout_others(request: Request) -> Response:
    """``POST /auth/logout-others``: end every session of the caller but this one."""
    state, identity = state_of(request), identity_of(request)
    if identity.session_id is None:
        raise DemoError(400, "no_session", "This token belongs to no session")
    subject = identity.subject or ""
    ended = await state.manager.arevoke_other_sessions(subject, identity.session_id)
    return json_response({"sessions_ended": ended})


async def sessions(request: Request) -> Response:
    """``GET /auth/sessions``: the caller's live device sessions, oldest first."""
    state = state_of(request)
    return plan_response(state, await state.endpoints.asessions(request.scope.get(IDENTITY_KEY)))


async def end_own_session(state: DemoState, identity: Identity, sid: str) -> tuple[str, ...]:
    """End one of the caller's own sessions; the cookies to clear when it was this device's
    (empty otherwise). 404 for a session that is not the caller's."""
    live = await state.manager.asessions(identity.subject or "")
    if not any(s.session_id == sid for s in live):
        # Someone else's session looks exactly like one that does not exist.
        raise DemoError(404, "not_found", "No such session")
    if sid == identity.session_id:
        return tuple(await state.manager.alogout(identity))
    await state.manager.arevoke_session(sid)
    return ()


async def delete_session(request: Request) -> Response:
    """``DELETE /auth/sessions/{sid}``: log out one of the caller's own devices."""
    state, identity = state_of(request), identity_of(request)
    sid = request.path_params["sid"]
    cleared = await end_own_session(state, identity, sid)
    current = sid == identity.session_id
    return json_response({"revoked": sid, "current": current}, cookies=cleared)


async def me(request: Request) -> Response:
    """``GET /api/me``: the verified identity, its claims and the token's remaining life."""
    state, identity = state_of(request), identity_of(request)
    now = state.clock()
    exp = identity.expires_at
    return json_response(
        {
            "subject": identity.subject,
            "scopes": sorted(identity.scopes),
            "session_id": identity.session_id,
            "token_id": identity.token_id,
            "source": identity.source,
            "claims": dict(identity.claims),
            "expires_at": exp,
            "expires_in": None if exp is None else max(0.0, round(exp - now, 3)),
            "server_time": now,
        }
    )


async def health(request: Request) -> Response:
    """``GET /health``: liveness, no token needed."""
    return json_response({"status": "ok"})


def routes() -> list[Route]:
    """The API's routes."""
    return [
        Route("/health", health),
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/refresh", refresh, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/auth/logout-all", logout_all, methods=["POST"]),
        Route("/auth/logout-others", logout_others, methods=["POST"]),
        Route("/auth/sessions", sessions),
        Route("/auth/sessions/{sid}", delete_session, methods=["DELETE"]),
        Route("/api/me", me),
    ]
