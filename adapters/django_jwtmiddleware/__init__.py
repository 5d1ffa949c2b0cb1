"""django_jwtmiddleware: jwtmiddleware as a Django app.

Add ``"django_jwtmiddleware"`` to ``INSTALLED_APPS`` and
``"django_jwtmiddleware.JWTAuthenticationMiddleware"`` to ``MIDDLEWARE`` (after Django's
``AuthenticationMiddleware``), configure ``settings.JWTMIDDLEWARE``, and read the caller as
``request.identity`` / ``request.user``. ``path("auth/", include("django_jwtmiddleware.urls"))``
serves login (through Django's ``authenticate()``), refresh, logout, logout-all and sessions;
:mod:`django_jwtmiddleware.rest_framework` has Django REST framework's authentication class and
scope permissions. See the README's Django sections.

The names below are imported lazily: Django imports this package while it is still loading
its apps, before models or settings may be touched.
"""

from __future__ import annotations

try:
    import django  # noqa: F401 - present, or say how to install it
except ImportError as exc:
    raise ModuleNotFoundError(
        "django_jwtmiddleware needs Django: pip install 'jwtmiddleware[django]'", name=exc.name
    ) from exc

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .conf import session_manager
    from .decorators import jwt_required
    from .middleware import JWTAuthenticationMiddleware
    from .responses import (
        alogin_response,
        alogout_everywhere_response,
        alogout_response,
        arefresh_response,
        asessions_response,
        login_response,
        logout_everywhere_response,
        logout_response,
        refresh_response,
        sessions_response,
    )
    from .users import AnonymousTokenUser, TokenUser, load_model_user

__all__ = [
    "AnonymousTokenUser",
    "JWTAuthenticationMiddleware",
    "TokenUser",
    "alogin_response",
    "alogout_everywhere_response",
    "alogout_response",
    "arefresh_response",
    "asessions_response",
    "jwt_required",
    "load_model_user",
    "login_response",
    "logout_everywhere_response",
    "logout_response",
    "refresh_response",
    "session_manager",
    "sessions_response",
]

_WHERE = {
    "AnonymousTokenUser": "users",
    "JWTAuthenticationMiddleware": "middleware",
    "TokenUser": "users",
    "alogin_response": "responses",
    "alogout_everywhere_response": "responses",
    "alogout_response": "responses",
    "arefresh_response": "responses",
    "asessions_response": "responses",
    "jwt_required": "decorators",
    "load_model_user": "users",
    "login_response": "responses",
    "logout_everywhere_response": "responses",
    "logout_response": "responses",
    "refresh_response": "responses",
    "session_manager": "conf",
    "sessions_response": "responses",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
