"""The demo's forms, answered without JavaScript: log in, log out, end sessions, log out
everywhere (after a confirmation page).

Every form is ``method="post"`` with an ``action``, sends
``application/x-www-form-urlencoded`` and is answered with ``303 See Other`` (cookies set or
cleared on the way). So a password never lands in a URL, the browser history or an access log,
and reloading the page a form led to never posts again.

The login form is exempt from the middleware (there is no token yet) and checks its own proof:
no cross-site ``Origin``/``Sec-Fetch-Site``, and a double-submit value (an ``HttpOnly``,
``SameSite=Strict`` cookie set with the form and echoed in a hidden field), so another site
cannot log a visitor in to an account of its choosing. The other forms ride on the token
cookie; the middleware checks their CSRF proof, the hidden ``csrf_token`` field equal to the
token's ``csrf`` claim.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import anyio.to_thread
from starlette.responses import RedirectResponse
from starlette.routing import Route

from ..core._text import count
from ..core.errors import CSRFError
from ..integration import IDENTITY_KEY, ASGIRequestView
from .api import end_own_session, login_claims
from .pages import WHY, csrf_field, render_page, safe_next
from .users import MAX_NAME, MAX_PASSWORD
from .web import MAX_BODY, DemoError, identity_of, plan_response, read_body, state_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from .state import DemoState

__all__ = ["LOGIN_CSRF", "read_form", "render_login", "routes"]

#: The login form's own CSRF field and cookie (double submit): it posts before any token exists.
LOGIN_CSRF = "login_csrf"
_LOGIN_CSRF_TTL = 3600
_FORM = "application/x-www-form-urlencoded"
_MAX_FIELDS = 16


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an urlencoded form body; 415 for another media type, 413 when over
    ``MAX_BODY``, 400 for a field given twice or a body that is not UTF-8."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != _FORM:
        raise DemoError(415, "unsupported_media_type", f"Send the form as {_FORM}")
    body = await read_body(request, MAX_BODY)
    if len(body) > MAX_BODY:
        raise DemoError(413, "too_large", f"The body is over {MAX_BODY} bytes")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=_MAX_FIELDS)  # fmt: skip
    except (UnicodeDecodeError, ValueError) as exc:
        raise DemoError(400, "invalid_request", "The form could not be read") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise DemoError(400, "invalid_request", f"'{name}' is given twice")
        fields[name] = value
    return fields


def _see_other(location: str, cookies: Iterable[str] = ()) -> Response:
    response = RedirectResponse(location, 303, headers={"cache-control": "no-store"})
    for value in cookies:
        response.raw_headers.append((b"set-cookie", value.encode("latin-1")))
    return response


# -- log in ----------------------------------------------------------------------------------


def _login_cookie(state: DemoState) -> str:
    return state.settings.cookie_name_for(LOGIN_CSRF, "/")


def _login_csrf(state: DemoState, request: Request) -> str:
    """The browser's login CSRF value if it has a sane one (two tabs share it), else a new one."""
    value = request.cookies.get(_login_cookie(state), "")
    if 20 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum():
        return value
    return secrets.token_urlsafe(24)


def _login_csrf_cookie(state: DemoState, value: str, max_age: int) -> str:
    secure = "; Secure" if state.settings.cookie_secure else ""
    return (f"{_login_cookie(state)}={value}; Max-Age={max_age}; Path=/; HttpOnly; "
            f"SameSite=Strict{secure}")  # fmt: skip


def render_login(
    state: DemoState,
    request: Request,
    *,
    next_path: str,
    notice: str = "",
    why: str = "",
    error: str = "",
    username: str = "",
    status: int = 200,
) -> Response:
    """The login page; its form posts ``username``, ``password``, ``next`` and the login CSRF
    value to ``POST /login`` (the script posts JSON to ``/auth/login`` instead)."""
    token = _login_csrf(state, request)
    notice = notice or WHY.get(why, "")
    shown = f'<p class="notice" id="why">{escape(notice)}</p>' if notice else ""
    users = ", ".join(escape(name) for name in state.config.users.names)
    hidden = "" if error else " hidden"
    body = f"""{shown}
<form id="login-form" class="card narrow" method="post" action="/login" autocomplete="on">
<input type="hidden" name="next" value="{escape(next_path)}">
<input type="hidden" name="{LOGIN_CSRF}" value="{escape(token)}">
<label>User name <input name="username" id="username" autocomplete="username" required
 maxlength="{MAX_NAME}" value="{escape(username)}"></label>
<label>Password <input name="password" id="password" type="password" required
 maxlength="{MAX_PASSWORD}" autocomplete="current-password"></label>
<button type="submit" id="login">Log in</button>
<p class="error" id="login-error" role="alert"{hidden}>{escape(error)}</p>
</form>
<p class="hint">Users: {users} (passwords are printed where the demo was started).</p>
<noscript><p class="hint">Without JavaScript the pages still work; the live countdown, the
automatic refresh and the token lab need it.</p></noscript>"""
    data = {"next": next_path, "why": why}
    response = render_page(state, "Log in", body, page="login", user=None, data=data,
                           status=status)  # fmt: skip
    cookie = _login_csrf_cookie(state, token, _LOGIN_CSRF_TTL)
    response.raw_headers.append((b"set-cookie", cookie.encode("latin-1")))
    return response


async def login_page(request: Request) -> Response:
    """``GET /login``: the login form (``why`` says why the visitor was sent here)."""
    state, query = state_of(request), request.query_params
    why, ended = query.get("why", ""), query.get("ended", "")
    notice = ""
    if why == "logged-out-all" and ended.isdigit() and len(ended) < 7:
        notice = f"You were logged out on every device ({count(int(ended), 'session')} ended)."
    return render_login(state, request, next_path=safe_next(query.get("next")), why=why,
                        notice=notice)  # fmt: skip


async def login_submit(request: Request) -> Response:
    """``POST /login`` (form): check the proof and the password, set the cookies, ``303`` to
    ``next``. A refusal shows the form again (never echoing the password)."""
    state, view = state_of(request), ASGIRequestView(request.scope)
    try:
        state.csrf.check_origin(view)
    except CSRFError:
        return render_login(state, request, next_path="/me", status=403,
                            error="This form was sent from another site: log in here.")  # fmt: skip
    form = await read_form(request)
    next_path, username = safe_next(form.get("next")), form.get("username", "")[:MAX_NAME]
    again = {"next_path": next_path, "username": username}
    expected = request.cookies.get(_login_cookie(state), "")
    presented = form.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        return render_login(state, request, status=403, **again,
                            error="The login form had expired. Please log in again.")  # fmt: skip
    password = form.get("password", "")
    if not 0 < len(username) <= MAX_NAME or not 0 < len(password) <= MAX_PASSWORD:
        return render_login(state, request, status=400, **again,
                            error="Enter a user name and a password.")  # fmt: skip
    # scrypt takes tens of milliseconds: keep it off the event loop.
    if not await anyio.to_thread.run_sync(state.config.users.check, username, password):
        await state.endpoints.alogin_failed(view, username)
        return render_login(state, request, status=401, **again,
                            error="Wrong user name or password")  # fmt: skip
    plan = await state.endpoints.alogin(view, username, claims=login_claims(username),
                                        tokens_in_body=False)  # fmt: skip
    if plan.error is not None:  # a session limit (deny_new), or the store is down
        error = getattr(plan.error, "description", "The session store is unavailable")
        return render_login(state, request, status=plan.error.status, **again, error=error)
    done = _login_csrf_cookie(state, "", 0)  # one login per form
    return _see_other(next_path, [*plan.set_cookies, done])


# -- log out, end sessions ---------------------------------------------------------------------


async def logout_submit(request: Request) -> Response:
    """``POST /logout`` (form): end this device's session, ``303`` to the login page."""
    state = state_of(request)
    plan = await state.endpoints.alogout(request.scope.get(IDENTITY_KEY))
    if plan.error is not None:
        return plan_response(state, plan)
    return _see_other("/login?why=logged-out", plan.set_cookies)


async def logout_others_submit(request: Request) -> Response:
    """``POST /sessions/logout-others`` (form): end every other session, back to the list."""
    state, identity = state_of(request), identity_of(request)
    if identity.session_id is None:
        raise DemoError(400, "no_session", "This token belongs to no session")
    await state.manager.arevoke_other_sessions(identity.subject or "", identity.session_id)
    return _see_other("/sessions")


async def end_session_submit(request: Request) -> Response:
    """``POST /sessions/{sid}/logout`` (form): end one of the caller's sessions; ending this
    device's own goes to the login page."""
    state, identity = state_of(request), identity_of(request)
    cleared = await end_own_session(state, identity, request.path_params["sid"])
    if request.path_params["sid"] == identity.session_id:
        return _see_other("/login?why=logged-out", cleared)
    return _see_other("/sessions")


async def confirm_logout_all(request: Request) -> Response:
    """``GET /sessions/logout-all``: what "log out everywhere" ends, and a form to confirm."""
    state, identity = state_of(request), identity_of(request)
    subject = escape(identity.subject or "")
    live = await state.manager.asessions(identity.subject or "")
    body = f"""<section class="card narrow"><p id="confirm-text">This ends
{count(len(live), "live session")} of <b>{subject}</b> on every device, this one included, and
every token issued to {subject} so far stops working.</p>
<form method="post" action="/sessions/logout-all" class="actions">{csrf_field(state, identity)}
<input type="hidden" name="confirm" value="yes">
<button type="submit" class="danger" id="confirm-logout-all">Yes, log out everywhere</button>
<a class="button secondary" href="/sessions" id="cancel">Cancel</a></form></section>"""
    return render_page(state, "Log out everywhere?", body, page="confirm", user=identity)


async def logout_all_submit(request: Request) -> Response:
    """``POST /sessions/logout-all`` (form with ``confirm=yes``): revoke every token and
    session of the caller, ``303`` to the login page; without ``confirm``, to the question."""
    state = state_of(request)
    if (await read_form(request)).get("confirm") != "yes":
        return _see_other("/sessions/logout-all")
    plan = await state.endpoints.alogout_everywhere(request.scope.get(IDENTITY_KEY))
    if plan.error is not None or plan.body is None:
        return plan_response(state, plan)
    ended = int(plan.body["sessions_ended"])
    return _see_other(f"/login?why=logged-out-all&ended={ended}", plan.set_cookies)


def routes() -> list[Route]:
    """The forms' routes (and the login page, which belongs with its form)."""
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout_submit, methods=["POST"]),
        Route("/sessions/logout-others", logout_others_submit, methods=["POST"]),
        Route("/sessions/logout-all", confirm_logout_all, methods=["GET"]),
        Route("/sessions/logout-all", logout_all_submit, methods=["POST"]),
        Route("/sessions/{sid}/logout", end_session_submit, methods=["POST"]),
    ]
