"""The demo's HTML pages: plain server-rendered HTML, one stylesheet, one script, no build step.

Every value is escaped with :func:`html.escape`. Pages carry a strict Content-Security-Policy
(scripts and styles only from ``/static/``, no inline script) and are never framed. The script
reads what it needs from ``data-`` attributes on ``<body>``.

Every form is ``method="post"`` with an ``action`` (:mod:`~jwtmiddleware.demo.forms` answers
them with redirects), so the pages work without JavaScript and never put a secret in a URL;
the script, when it runs, sends the same actions with ``fetch`` instead.
"""

from __future__ import annotations

import json
import time
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

from .config import DOWNLOAD_PATH
from .web import identity_of, state_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from ..core.identity import Identity
    from ..stores.base import SessionInfo
    from .state import DemoState

__all__ = [
    "SECURITY_HEADERS",
    "WHY",
    "csrf_field",
    "device",
    "render_page",
    "routes",
    "safe_next",
]

#: Headers of every page.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # Not no-referrer: under it browsers send "Origin: null" with a form post, which the CSRF
    # check must refuse. same-origin still tells other sites nothing.
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
_NAV = (("/me", "Me"), ("/sessions", "Sessions"), ("/lab", "Token lab"))
#: The notices the login page shows for its ``why`` parameter.
WHY = {
    "expired": "Your session expired. Please log in again.",
    "revoked": "This device was logged out (from another device, or everywhere).",
    "invalid": "Your token was not accepted (was the demo restarted with a new key?).",
    "logged-out": "You are logged out.",
    "logged-out-all": "You were logged out on every device.",
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


def csrf_field(state: DemoState, identity: Identity | None) -> str:
    """A hidden field echoing the token's ``csrf`` claim: the middleware's CSRF proof for a
    form posted with the token cookie (no script needed to copy the cookie into a header)."""
    value = identity.claims.get("csrf") if identity is not None else None
    name = escape(state.settings.csrf_field_name)
    return f'<input type="hidden" name="{name}" value="{escape(str(value or ""))}">'


def render_page(state: DemoState, title: str, body: str, *, page: str, user: Identity | None,
         data: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
    """A whole page: header (navigation and a log-out form for ``user``), ``body``, footer."""
    settings = state.settings
    attrs = {
        "page": page,
        "csrf-cookie": state.cookies.csrf_name,
        "csrf-header": settings.csrf_header_name,
        "now": f"{state.clock():.3f}",
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
            f'<nav>{links}<span class="who">signed in as <b id="who">'
            f"{escape(user.subject or '')}</b></span>"
            f'<form method="post" action="/logout" class="inline">{csrf_field(state, user)}'
            '<button type="submit" data-action="logout">Log out</button></form></nav>'
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
<code>{escape(settings.csrf_header_name)}</code> (forms, in a hidden field).</footer>
</body></html>"""
    return HTMLResponse(html, status, headers=SECURITY_HEADERS)


async def index(request: Request) -> Response:
    """``GET /``: to the Me page (which sends strangers to the login page)."""
    return RedirectResponse("/me", 303, headers={"cache-control": "no-store"})


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
    return render_page(state, "Me", body, page="me", user=identity, data=data)


def _session_row(session: SessionInfo, current: str | None, proof: str) -> str:
    mine = session.session_id == current
    badge = ' <span class="badge">this device</span>' if mine else ""
    ua = session.user_agent or "-"
    sid = escape(session.session_id)
    return (
        f'<tr data-sid="{sid}"{" class=current" if mine else ""}>'
        f'<td><b>{escape(device(ua))}</b>{badge}<br><small class="muted ua">{escape(ua)}</small>'
        "</td>"
        f'<td data-label="IP">{escape(session.ip or "-")}</td>'
        f'<td data-label="Logged in">{_time(session.created_at)}</td>'
        f'<td data-label="Last seen">{_time(session.last_seen)}</td>'
        f'<td><form method="post" action="/sessions/{quote(session.session_id, safe="")}/logout">'
        f'{proof}<button type="submit" data-action="revoke-session" data-sid="{sid}" '
        f'data-current="{"1" if mine else ""}">Log out this one</button></form></td></tr>'
    )


async def sessions_page(request: Request) -> Response:
    """``GET /sessions``: every device session of the user, with logout buttons."""
    state, identity = state_of(request), identity_of(request)
    live = await state.manager.asessions(identity.subject or "")
    proof = csrf_field(state, identity)
    rows = "".join(_session_row(s, identity.session_id, proof) for s in live)
    noun = "session" if len(live) == 1 else "sessions"
    body = f"""<section class="card"><p><span id="session-count">{len(live)}</span>
live {noun}. Last seen is updated at most once a minute.</p>
<div class="scroll"><table id="sessions" class="sessions"><thead><tr><th>Device (user agent)</th>
<th>IP</th><th>Logged in</th><th>Last seen</th><th></th></tr></thead><tbody>{rows}</tbody>
</table></div>
<div class="actions"><form method="post" action="/sessions/logout-others">{proof}
<button type="submit" data-action="logout-others" id="logout-others">Log out all others</button>
</form> <a class="button danger" href="/sessions/logout-all" id="logout-all">Log out
everywhere…</a></div>
<p class="error" id="action-error" role="alert" hidden></p></section>"""
    return render_page(state, "Sessions", body, page="sessions", user=identity)


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
<ol id="link-log" class="events"></ol></section>
<noscript><p class="hint">The token lab runs in JavaScript.</p></noscript>"""
    return render_page(state, "Token lab", body, page="lab", user=identity)


def routes() -> list[Route]:
    """The pages' routes."""
    return [
        Route("/", index),
        Route("/me", me_page),
        Route("/sessions", sessions_page),
        Route("/lab", lab_page),
    ]
