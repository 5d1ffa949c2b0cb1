"""The demo's HTML pages: plain server-rendered HTML, one stylesheet, one script, no build step.

Every value is escaped with :func:`html.escape`. Pages carry a strict Content-Security-Policy
(scripts and styles only from ``/static/``, no inline script) and are never framed. The script
reads what it needs from ``data-`` attributes on ``<body>``.
"""

from __future__ import annotations

import json
import time
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

from .config import DOWNLOAD_PATH
from .web import identity_of, state_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from ..identity import Identity
    from ..stores.base import SessionInfo
    from .state import DemoState

__all__ = ["SECURITY_HEADERS", "device", "routes", "safe_next"]

#: Headers of every page.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
_NAV = (("/me", "Me"), ("/sessions", "Sessions"), ("/lab", "Token lab"))
_WHY = {
    "expired": "Your session expired. Please log in again.",
    "revoked": "This device was logged out (from another device, or everywhere).",
    "invalid": "Your token was not accepted (was the demo restarted with a new key?).",
    "logged-out": "You are logged out.",
}


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (``//evil``, ``https://...``) is ``/me``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/me"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.isprintable():
        return "/me"
    return value


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _time(ts: float) -> str:
    """A ``<time>`` the script turns into local time and "n s ago"."""
    return f'<time data-ts="{ts:.3f}">{_utc(ts)}</time>'


def _page(state: DemoState, title: str, body: str, *, page: str, user: str | None,
          data: dict[str, str] | None = None) -> HTMLResponse:  # fmt: skip
    settings = state.settings
    attrs = {
        "page": page,
        "csrf-cookie": state.cookies.csrf_name,
        "csrf-header": settings.csrf_header_name,
        **(data or {}),
    }
    data_attrs = " ".join(f'data-{k}="{escape(v)}"' for k, v in attrs.items())
    nav = ""
    if user is not None:
        links = "".join(
            f'<a href="{href}"{" class=active" if href == "/" + page else ""}>{label}</a>'
            for href, label in _NAV
        )
        nav = (
            f'<nav>{links}<span class="who">signed in as <b id="who">{escape(user)}</b></span>'
            '<button type="button" data-action="logout">Log out</button></nav>'
        )
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · jwtmiddleware demo</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/demo.css">
<script src="/static/demo.js" defer></script></head>
<body {data_attrs}><header><span class="brand">jwtmiddleware demo</span>{nav}</header>
<main><h1>{escape(title)}</h1>{body}</main>
<footer>Tokens ride in <code>HttpOnly</code> cookies; unsafe requests echo the CSRF cookie in
<code>{escape(settings.csrf_header_name)}</code>.</footer></body></html>"""
    return HTMLResponse(html, headers=SECURITY_HEADERS)


async def index(request: Request) -> Response:
    """``GET /``: to the Me page (which sends strangers to the login page)."""
    return RedirectResponse("/me", 303, headers={"cache-control": "no-store"})


async def login_page(request: Request) -> Response:
    """``GET /login``: the login form (the script posts JSON to ``/auth/login``)."""
    state = state_of(request)
    why = request.query_params.get("why", "")
    notice = f'<p class="notice" id="why">{escape(_WHY[why])}</p>' if why in _WHY else ""
    users = ", ".join(escape(name) for name in state.config.users.names)
    body = f"""{notice}
<form id="login-form" class="card narrow" autocomplete="on">
<label>User name <input name="username" id="username" autocomplete="username" required
 maxlength="64"></label>
<label>Password <input name="password" id="password" type="password" required maxlength="256"
 autocomplete="current-password"></label>
<button type="submit" id="login">Log in</button>
<p class="error" id="login-error" role="alert" hidden></p>
</form>
<p class="hint">Users: {users} (passwords are printed where the demo was started).</p>
<noscript><p class="error">The demo's pages need JavaScript.</p></noscript>"""
    data = {"next": safe_next(request.query_params.get("next")), "why": why}
    return _page(state, "Log in", body, page="login", user=None, data=data)


_TIME_CLAIMS = frozenset({"exp", "iat", "nbf", "auth_time"})


def _claims_rows(identity: Identity) -> str:
    rows = []
    for name, value in sorted(identity.claims.items()):
        when = ""
        if name in _TIME_CLAIMS and isinstance(value, int | float):
            when = f' <span class="muted">{_time(value)}</span>'
        rows.append(f"<tr><th>{escape(name)}</th><td><code>"
                    f"{escape(json.dumps(value))}</code>{when}</td></tr>")  # fmt: skip
    return "".join(rows)


_BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("HeadlessChrome/", "Headless Chrome"),
             ("Chrome/", "Chrome"), ("Version/", "Safari"), ("curl/", "curl"),
             ("python-httpx/", "httpx"))  # fmt: skip
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))  # fmt: skip


def device(user_agent: str) -> str:
    """A short "Chrome 126 on Linux" label for a user agent (best effort)."""
    label = ""
    for marker, name in _BROWSERS:
        at = user_agent.find(marker)
        if at >= 0:
            version = user_agent[at + len(marker) :].split(".", 1)[0].split(" ", 1)[0]
            label = f"{name} {version}".strip()
            break
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if label and system:
        return f"{label} on {system}"
    return label or system or "unknown device"


async def me_page(request: Request) -> Response:
    """``GET /me``: the verified identity, a ticking lifetime and sliding refreshes."""
    state, identity = state_of(request), identity_of(request)
    settings = state.settings
    exp = identity.expires_at or 0.0
    threshold = settings.refresh_threshold
    sliding = (f"on: a token with under {threshold:g} s left is re-issued on the next request"
               if threshold else "off")  # fmt: skip
    body = f"""<section class="card">
<p class="big">Hello, <b id="subject">{escape(identity.subject or "")}</b>.</p>
<dl class="grid">
<dt>Access token expires in</dt><dd><span id="countdown" class="countdown"
>{max(0, int(exp - state.clock()))} s</span> <span class="muted">(at <span id="exp"
>{_utc(exp)}</span>)</span></dd>
<dt>Token id (jti)</dt><dd><code id="jti">{escape(identity.token_id or "")}</code></dd>
<dt>Session id (sid)</dt><dd><code id="sid">{escape(identity.session_id or "")}</code></dd>
<dt>Scopes</dt><dd id="scopes">{escape(" ".join(sorted(identity.scopes)))}</dd>
<dt>Token came from</dt><dd id="source">{escape(identity.source)}</dd>
<dt>Sliding refresh</dt><dd>{escape(sliding)}</dd>
<dt>Refreshes seen</dt><dd><span id="refresh-count" data-refreshes="0">0</span></dd>
</dl>
<p id="refresh-status" class="flash" hidden></p>
</section>
<section class="card"><h2>Claims</h2><table id="claims" class="claims">
{_claims_rows(identity)}</table></section>
<section class="card"><h2>Activity</h2><ol id="events" class="events"></ol></section>"""
    data = {"poll": f"{state.poll_interval:g}", "exp": f"{exp:.0f}",
            "now": f"{state.clock():.3f}", "jti": identity.token_id or ""}  # fmt: skip
    return _page(state, "Me", body, page="me", user=identity.subject, data=data)


def _session_row(session: SessionInfo, current: str | None) -> str:
    mine = session.session_id == current
    badge = ' <span class="badge">this device</span>' if mine else ""
    ua = session.user_agent or "-"
    return (
        f'<tr data-sid="{escape(session.session_id)}"{" class=current" if mine else ""}>'
        f'<td><b>{escape(device(ua))}</b>{badge}<br><small class="muted ua">{escape(ua)}</small>'
        "</td>"
        f"<td>{escape(session.ip or '-')}</td><td>{_time(session.created_at)}</td>"
        f"<td>{_time(session.last_seen)}</td>"
        f'<td><button type="button" data-action="revoke-session" '
        f'data-sid="{escape(session.session_id)}" data-current="{"1" if mine else ""}">'
        "Log out this one</button></td></tr>"
    )


async def sessions_page(request: Request) -> Response:
    """``GET /sessions``: every device session of the user, with logout buttons."""
    state, identity = state_of(request), identity_of(request)
    live = await state.manager.asessions(identity.subject or "")
    rows = "".join(_session_row(s, identity.session_id) for s in live)
    body = f"""<section class="card"><p><span id="session-count">{len(live)}</span>
live session(s). Last seen is updated at most once a minute.</p>
<table id="sessions" class="sessions"><thead><tr><th>Device (user agent)</th><th>IP</th>
<th>Logged in</th><th>Last seen</th><th></th></tr></thead><tbody>{rows}</tbody></table>
<p class="actions"><button type="button" data-action="logout-others" id="logout-others">
Log out all others</button> <button type="button" class="danger" data-action="logout-all"
id="logout-all">Log out everywhere</button></p>
<p class="error" id="action-error" role="alert" hidden></p></section>"""
    return _page(state, "Sessions", body, page="sessions", user=identity.subject)


async def lab_page(request: Request) -> Response:
    """``GET /lab``: inspect tokens; mint and use a one-time download link."""
    state, identity = state_of(request), identity_of(request)
    ttl = state.settings.one_time_token_ttl
    body = f"""<section class="card"><h2>Inspect a token</h2>
<p>Paste a token, or take a sample. The lab runs the middleware's verifier and the store's
revocation check, and shows what a client would be told and what the logs would say.</p>
<div id="samples" class="samples"></div>
<textarea id="token" rows="5" spellcheck="false" maxlength="16384"
 placeholder="eyJhbGciOi..."></textarea>
<p><button type="button" id="inspect" data-action="inspect">Inspect</button></p>
<div id="verdict" class="verdict" hidden></div>
<div class="columns"><div><h3>Header</h3><pre id="header"></pre></div>
<div><h3>Claims</h3><pre id="payload"></pre></div></div></section>
<section class="card"><h2>One-time download link</h2>
<p>A link to <code>{DOWNLOAD_PATH}</code> carrying a single-use token (valid {ttl:g} s).
The first use downloads the file; the store remembers the token, so the second fails.</p>
<p><button type="button" id="mint-link" data-action="mint-link">Mint a link</button></p>
<p id="link-box" hidden><a id="link" target="_blank" rel="noopener noreferrer"></a></p>
<p><button type="button" id="use-link" data-action="use-link" disabled>Use the link</button></p>
<ol id="link-log" class="events"></ol></section>"""
    return _page(state, "Token lab", body, page="lab", user=identity.subject)


def routes() -> list[Route]:
    """The pages' routes."""
    return [
        Route("/", index),
        Route("/login", login_page),
        Route("/me", me_page),
        Route("/sessions", sessions_page),
        Route("/lab", lab_page),
    ]
