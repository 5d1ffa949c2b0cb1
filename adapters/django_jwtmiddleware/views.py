"""Ready views for ``path("auth/", include("django_jwtmiddleware.urls"))``.

``POST login`` takes ``{"<USERNAME_FIELD>": ..., "password": ...}`` as JSON, checks it with
Django's own ``authenticate()`` (your ``AUTHENTICATION_BACKENDS``), and starts a device session
for the user (``sub`` is the user's ``USER_ID_FIELD``, default ``pk``; claims from the
``TOKEN_CLAIMS`` option). ``POST refresh``, ``POST logout``, ``POST logout-all`` and
``GET sessions`` are the adapter's response helpers (:mod:`django_jwtmiddleware.responses`),
so the answers are the same as every other adapter's.

The views work with ``JWTAuthenticationMiddleware`` (they read ``request.identity``) and
without it, next to Django REST framework's ``JWTAuthentication`` (they verify the token
themselves, with the same rules). They are exempt from Django's ``CsrfViewMiddleware``:
jwtmiddleware checks CSRF proof itself whenever a token comes from a cookie, and the login view
reads only JSON, which no cross-site form can send without a CORS preflight. List the login and
refresh paths in ``EXEMPT_PATHS`` (an expired access cookie must not block them); a system
check warns when they are not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from jwtmiddleware.errors import AuthenticationError, StoreUnavailable

from ._http import DjangoRequestView, to_http_response
from ._verify import identity_or_verify
from .conf import get_runtime
from .responses import (
    login_response,
    logout_everywhere_response,
    logout_response,
    refresh_response,
    sessions_response,
)

__all__ = ["login", "logout", "logout_all", "refresh", "sessions"]


View = Callable[[Any], Any]


def _post(view: View) -> View:
    """POST only (405 otherwise), exempt from Django's CSRF check (see the module docstring)."""
    wrapped: View = csrf_exempt(require_POST(view))
    return wrapped


def _get(view: View) -> View:
    """GET (and HEAD) only."""
    wrapped: View = require_GET(view)
    return wrapped


def _error(status: int, error: str, description: str) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _username_field() -> str:
    from django.apps import apps

    if apps.is_installed("django.contrib.auth"):
        from django.contrib.auth import get_user_model

        field: str = get_user_model().USERNAME_FIELD
        return field
    return "username"


def _credentials(request: Any) -> dict[str, str] | None:
    if request.content_type != "application/json":
        return None
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None
    field = _username_field()
    if not isinstance(body, dict):
        return None
    username, password = body.get(field), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        return None
    return {field: username, "password": password}


@_post
def login(request: Any) -> Any:
    """Check the JSON credentials with ``authenticate()``; 200 with the token pair and cookies,
    401 ``invalid_grant`` for wrong ones, 400 ``invalid_request`` for a malformed body."""
    from django.contrib.auth import authenticate

    credentials = _credentials(request)
    if credentials is None:
        field = _username_field()
        return _error(400, "invalid_request", f'send a JSON object {{"{field}": ..., '
                      '"password": ...}')  # fmt: skip
    user = authenticate(request, **credentials)
    if user is None or not getattr(user, "is_active", True):
        return _error(401, "invalid_grant", "wrong credentials")
    runtime = get_runtime()
    subject = getattr(user, runtime.options.user_id_field, None)
    if subject is None or str(subject) == "":
        return _error(401, "invalid_grant", "the user has no identifier")
    claims = runtime.options.token_claims(user, request) if runtime.options.token_claims else None
    return login_response(request, str(subject), claims)


@_post
def refresh(request: Any) -> Any:
    """Rotate the refresh token (cookie with CSRF proof, or ``refresh_token`` in the body)."""
    return refresh_response(request)


def _authenticated(view: View) -> View:
    """Give ``view`` a ``request.identity``: the middleware's, or verified here."""

    def wrapper(request: Any) -> Any:
        try:
            request.identity = identity_or_verify(request)
        except (AuthenticationError, StoreUnavailable) as error:
            runtime = get_runtime()
            return to_http_response(
                runtime.responder.response_for(error, DjangoRequestView(request))
            )
        return view(request)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@_post
@_authenticated
def logout(request: Any) -> Any:
    """End the caller's session: 204, cookies deleted."""
    return logout_response(request)


@_post
@_authenticated
def logout_all(request: Any) -> Any:
    """End every session of the caller's subject: 200 ``{"sessions_ended": n}``."""
    return logout_everywhere_response(request)


@_get
@_authenticated
def sessions(request: Any) -> Any:
    """The caller's live device sessions: 200 ``{"sessions": [...]}``."""
    return sessions_response(request)
