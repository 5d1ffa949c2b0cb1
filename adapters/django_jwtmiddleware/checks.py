"""System checks (``manage.py check``): the middleware is installed (or DRF's
``JWTAuthentication`` is), after Django's own ``AuthenticationMiddleware``; the ready login and
refresh views are reachable without an access token."""

from __future__ import annotations

from typing import Any

from django.core import checks

__all__ = ["check_middleware", "check_session_urls"]

MIDDLEWARE_PATHS = (
    "django_jwtmiddleware.JWTAuthenticationMiddleware",
    "django_jwtmiddleware.middleware.JWTAuthenticationMiddleware",
)
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
DRF_AUTHENTICATION = "django_jwtmiddleware.rest_framework.JWTAuthentication"


def _drf_authenticates() -> bool:
    from django.conf import settings

    config = getattr(settings, "REST_FRAMEWORK", None) or {}
    classes = config.get("DEFAULT_AUTHENTICATION_CLASSES", ()) if isinstance(config, dict) else ()
    return any(getattr(c, "__module__", "") + "." + getattr(c, "__name__", "") == DRF_AUTHENTICATION
               or c == DRF_AUTHENTICATION for c in classes)  # fmt: skip


def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``W001`` when the middleware is missing, ``E001`` when it comes before
    ``AuthenticationMiddleware``, which would then replace the token's ``request.user``."""
    from django.conf import settings

    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    ours = [i for i, path in enumerate(middleware) if path in MIDDLEWARE_PATHS]
    if not ours:
        if _drf_authenticates():  # DRF-only: JWTAuthentication verifies tokens itself
            return []
        return [
            checks.Warning(
                "django_jwtmiddleware is installed but its middleware is not in MIDDLEWARE, "
                "so no request is authenticated.",
                hint="Add 'django_jwtmiddleware.JWTAuthenticationMiddleware' to MIDDLEWARE.",
                id="django_jwtmiddleware.W001",
            )
        ]
    if AUTH_MIDDLEWARE in middleware and middleware.index(AUTH_MIDDLEWARE) > ours[0]:
        return [
            checks.Error(
                "JWTAuthenticationMiddleware comes before AuthenticationMiddleware, which then "
                "replaces request.user with the session user on every request.",
                hint="Put 'django_jwtmiddleware.JWTAuthenticationMiddleware' after "
                f"'{AUTH_MIDDLEWARE}' in MIDDLEWARE.",
                id="django_jwtmiddleware.E001",
            )
        ]
    return []


def check_session_urls(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``W002`` when ``django_jwtmiddleware.urls`` is included but its login or refresh path
    needs an access token: an expired access cookie would then block the way to a new one."""
    from django.urls import NoReverseMatch, reverse

    from jwtmiddleware.integration import REQUIRED, PathRules

    from .conf import read_settings

    found = []
    for name in ("login", "refresh"):
        try:
            found.append(reverse(f"jwtmiddleware:{name}"))
        except NoReverseMatch:
            continue
    if not found:
        return []
    rules = PathRules(read_settings())
    blocked = [path for path in found if rules.rule(path) == REQUIRED]
    if not blocked:
        return []
    return [
        checks.Warning(
            f"{', '.join(blocked)} need an access token, so a client whose token expired cannot "
            "log in or refresh.",
            hint=f"Add {', '.join(map(repr, blocked))} to settings.JWTMIDDLEWARE['EXEMPT_PATHS'].",
            id="django_jwtmiddleware.W002",
        )
    ]


checks.register(check_middleware, checks.Tags.security)
checks.register(check_session_urls, checks.Tags.urls)
