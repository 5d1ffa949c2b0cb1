"""The API framework adapters build on: everything an adapter needs, in one documented place.

The Flask, Quart, Django and Starlette adapters import only this module, the top-level
:mod:`jwtmiddleware` names and the public core modules; so can an adapter for another
framework. What an adapter does, in order:

1. **Read the request** through a :class:`RequestView` (:class:`ASGIRequestView`,
   :class:`WSGIRequestView`, or a subclass over the framework's request), and find the verified
   caller under :data:`IDENTITY_KEY` in the ASGI scope or WSGI environ.
2. **Drive the core's decisions** with :func:`run_sync` or :func:`run_async` (the only place
   sync and async differ), answering :class:`ReadForm` with the framework's form parser.
3. **Answer refusals** with :class:`Responder` (RFC 6750 rendering and ``ERROR_HANDLER``), after
   :func:`as_auth_error` turned anything unexpected into a refusal (never a 500).
4. **Serve the session endpoints** with :class:`SessionEndpoints`: login, refresh, logout,
   logout everywhere and the sessions list each come back as a :class:`ResponsePlan` (status,
   headers, ``Set-Cookie`` values and JSON body, or the refusal) that the adapter renders.
   The refresh rules (cookie or body token, CSRF proof, cleared cookies, what the body carries)
   are decided there, once, for every adapter; see :mod:`jwtmiddleware.endpoints` and
   :mod:`jwtmiddleware.plans`.
5. **Build on the decision** where the framework needs it: :class:`PathRules` (``EXEMPT``,
   ``OPTIONAL``, ``REQUIRED``, ``ONE_TIME``), :class:`TokenSources`, :class:`AuthResult`,
   :class:`RefreshPlan`, :func:`run_checks` and the ASGI/WSGI type aliases.
6. **Configure** with :func:`resolve_store` (the ``STORE`` object or URL), :func:`store_mirror`
   (the store's revocation mirror under ``STORE_MAX_LAG``, to pass to the ``Authenticator``),
   :func:`parse_store_url` (validate a URL without opening the store) and :func:`to_callable` /
   :func:`to_callables` (callables or import strings, as settings take them).

A minimal refresh view, in any framework::

    endpoints = SessionEndpoints(SessionManager(settings))

    def refresh(request):
        view = WSGIRequestView(request.environ)
        body = read_at_most(request, MAX_REFRESH_BODY + 1) if endpoints.wants_body(view) else b""
        plan = endpoints.refresh(view, body)
        if plan.error is not None:
            return render_refusal(plan.error, set_cookies=plan.set_cookies)
        return json_response(plan.status, plan.body, plan.headers, plan.set_cookies)

The names re-exported here from private modules (``_http``, ``_drive``, ``_coerce``,
``stores._url``) are public through this module: their signatures follow the deprecation
policy of the rest of the public API.
"""

from __future__ import annotations

from .core._coerce import import_string, to_callable, to_callables
from .core.claims import ClaimCheck, run_checks
from .core.effects import ReadForm
from .core.settings import ENV_PREFIX
from .http.asgi import ASGIApp, Message, Receive, Scope, Send
from .http.csrf import CSRFGuard
from .http.decision import EXEMPT, ONE_TIME, OPTIONAL, REQUIRED, AuthResult, PathRules
from .http.drive import run_async, run_sync
from .http.middleware import IDENTITY_KEY, Responder, as_auth_error, resolve_store, store_mirror
from .http.refresh import RefreshPlan
from .http.responses import ErrorResponse, render_error, render_store_unavailable
from .http.sources import (
    ASGIRequestView,
    RequestView,
    TokenSources,
    WSGIRequestView,
    parse_cookie,
)
from .http.wsgi import StartResponse, WSGIApp
from .sessions.endpoints import SessionEndpoints
from .sessions.plans import (
    MAX_REFRESH_BODY,
    NO_STORE,
    REFRESH_FIELD,
    ResponsePlan,
    pick_refresh_token,
    refresh_token_in_body,
    request_info,
    session_list_body,
    token_body,
)
from .stores._url import parse_store_url

__all__ = [
    "ASGIApp",
    "ASGIRequestView",
    "AuthResult",
    "CSRFGuard",
    "ClaimCheck",
    "ENV_PREFIX",
    "EXEMPT",
    "ErrorResponse",
    "IDENTITY_KEY",
    "MAX_REFRESH_BODY",
    "Message",
    "NO_STORE",
    "ONE_TIME",
    "OPTIONAL",
    "PathRules",
    "REFRESH_FIELD",
    "REQUIRED",
    "ReadForm",
    "Receive",
    "RefreshPlan",
    "RequestView",
    "Responder",
    "ResponsePlan",
    "Scope",
    "Send",
    "SessionEndpoints",
    "StartResponse",
    "TokenSources",
    "WSGIApp",
    "WSGIRequestView",
    "as_auth_error",
    "import_string",
    "parse_cookie",
    "parse_store_url",
    "pick_refresh_token",
    "refresh_token_in_body",
    "render_error",
    "render_store_unavailable",
    "request_info",
    "resolve_store",
    "run_async",
    "run_checks",
    "run_sync",
    "session_list_body",
    "store_mirror",
    "to_callable",
    "to_callables",
    "token_body",
]
