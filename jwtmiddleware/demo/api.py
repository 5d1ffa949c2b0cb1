"""The demo's API for scripts and for its own pages: log in, refresh, log out, device sessions.

``/auth/login`` and ``/auth/refresh`` are exempt from the middleware (the caller has no valid
access token yet), so they check their own proof: both refuse requests that say they come
from another site, login accepts only JSON (which a cross-site form cannot send), and a
refresh token taken from the cookie must come with the ``X-CSRF-Token`` it was issued with.
Everything else is authenticated by :class:`~jwtmiddleware.JWTMiddleware`, which also checks
CSRF proof for unsafe requests carrying the access-token cookie.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.routing import Route

from ..errors import TokenExpired, TokenInvalid, TokenRevoked
from ..lifecycle import RequestInfo
from ..sources import ASGIRequestView
from .users import MAX_NAME, MAX_PASSWORD
from .web import DemoError, identity_of, json_response, read_json, state_of, string_field

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from ..lifecycle import TokenPair
    from ..stores.base import SessionInfo
    from .state import DemoState

__all__ = ["routes"]

#: Application claims of the demo's tokens.
LOGIN_SCOPE = "profile sessions"
_MAX_TOKEN_FIELD = 16 * 1024


def _check_origin(state: DemoState, request: Request) -> None:
    state.csrf.check_origin(ASGIRequestView(request.scope))


def _token_body(state: DemoState, pair: TokenPair) -> dict[str, Any]:
    now = state.clock()
    return {
        **pair.body(now),
        "session_id": pair.session_id,
        "expires_at": int(pair.access_expires_at),
    }


async def login(request: Request) -> Response:
    """``POST /auth/login`` ``{"username": ..., "password": ...}``: a token pair, in the body
    for scripts and in cookies for browsers."""
    state = state_of(request)
    _check_origin(state, request)
    data = await read_json(request)
    username = string_field(data, "username", limit=MAX_NAME)
    password = string_field(data, "password", limit=MAX_PASSWORD)
    # scrypt takes tens of milliseconds: keep it off the event loop.
    if not await anyio.to_thread.run_sync(state.config.users.check, username, password):
        raise DemoError(401, "invalid_credentials", "Wrong user name or password")
    info = RequestInfo(
        user_agent=request.headers.get("user-agent", ""),
        ip=request.client.host if request.client else "",
    )
    claims = {"scope": LOGIN_SCOPE, "name": username}
    pair = await state.manager.alogin(username, claims=claims, info=info)
    return json_response(_token_body(state, pair), cookies=pair.set_cookies)


async def _refresh_token_of(state: DemoState, request: Request) -> tuple[str, bool]:
    """The presented refresh token and whether it came from the cookie."""
    cookie = request.cookies.get(state.cookies.refresh_name)
    has_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    if has_body:
        data = await read_json(request)
        if "refresh_token" in data:
            if cookie:
                raise DemoError(400, "invalid_request", "Send the refresh token in the body or "
                                "the cookie, not both")  # fmt: skip
            return string_field(data, "refresh_token", limit=_MAX_TOKEN_FIELD), False
    if not cookie:
        raise DemoError(401, "invalid_grant", "No refresh token")
    return cookie, True


async def refresh(request: Request) -> Response:
    """``POST /auth/refresh``: rotate the refresh token (cookie, or ``refresh_token`` in a JSON
    body) into a new pair. A failure clears the cookies."""
    state = state_of(request)
    token, from_cookie = await _refresh_token_of(state, request)
    try:
        if from_cookie:
            _check_origin(state, request)
            claims = state.refresh_verifier.verify(token, state.clock()).claims
            state.csrf.check_token(claims, request.headers.get(state.csrf.header))
        pair = await state.manager.arefresh(token)
    except TokenInvalid as exc:
        # "why" tells the pages which notice the login page shows.
        why = ("revoked" if isinstance(exc, TokenRevoked)
               else "expired" if isinstance(exc, TokenExpired) else "invalid")  # fmt: skip
        body = {"error": "invalid_grant", "error_description": exc.description, "why": why}
        return json_response(body, 401, cookies=state.cookies.clear() if from_cookie else ())
    return json_response(_token_body(state, pair), cookies=pair.set_cookies)


async def logout(request: Request) -> Response:
    """``POST /auth/logout``: end this device's session and delete the cookies."""
    state, identity = state_of(request), identity_of(request)
    cleared = await state.manager.alogout(identity)
    return json_response({"logged_out": True}, cookies=cleared)


async def logout_all(request: Request) -> Response:
    """``POST /auth/logout-all``: revoke every token and session of the caller."""
    state, identity = state_of(request), identity_of(request)
    ended = await state.manager.alogout_everywhere(identity.subject or "")
    return json_response({"sessions_ended": ended}, cookies=state.cookies.clear())


async def logout_others(request: Request) -> Response:
    """``POST /auth/logout-others``: end every session of the caller but this one."""
    state, identity = state_of(request), identity_of(request)
    if identity.session_id is None:
        raise DemoError(400, "no_session", "This token belongs to no session")
    subject = identity.subject or ""
    ended = await state.manager.arevoke_other_sessions(subject, identity.session_id)
    return json_response({"sessions_ended": ended})


def session_json(session: SessionInfo, current: str | None) -> dict[str, Any]:
    """One device session as the API and the Sessions page show it."""
    return {
        "session_id": session.session_id,
        "user_agent": session.user_agent,
        "ip": session.ip,
        "created_at": session.created_at,
        "last_seen": session.last_seen,
        "expires_at": session.expires_at,
        "current": session.session_id == current,
    }


async def sessions(request: Request) -> Response:
    """``GET /auth/sessions``: the caller's live device sessions, oldest first."""
    state, identity = state_of(request), identity_of(request)
    live = await state.manager.asessions(identity.subject or "")
    return json_response({"sessions": [session_json(s, identity.session_id) for s in live]})


async def delete_session(request: Request) -> Response:
    """``DELETE /auth/sessions/{sid}``: log out one of the caller's own devices."""
    state, identity = state_of(request), identity_of(request)
    sid = request.path_params["sid"]
    live = await state.manager.asessions(identity.subject or "")
    if not any(s.session_id == sid for s in live):
        # Someone else's session looks exactly like one that does not exist.
        raise DemoError(404, "not_found", "No such session")
    if sid == identity.session_id:
        cleared = await state.manager.alogout(identity)
        return json_response({"revoked": sid, "current": True}, cookies=cleared)
    await state.manager.arevoke_session(sid)
    return json_response({"revoked": sid, "current": False})


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
