"""System checks (``manage.py check``): the middleware is installed, after Django's own
``AuthenticationMiddleware``."""

from __future__ import annotations

from typing import Any

from django.core import checks

__all__ = ["check_middleware"]

MIDDLEWARE_PATHS = (
    "django_jwtmiddleware.JWTAuthenticationMiddleware",
    "django_jwtmiddleware.middleware.JWTAuthenticationMiddleware",
)
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``W001`` when the middleware is missing, ``E001`` when it comes before
    ``AuthenticationMiddleware``, which would then replace the token's ``request.user``."""
    from django.conf import settings

    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    ours = [i for i, path in enumerate(middleware) if path in MIDDLEWARE_PATHS]
    if not ours:
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


checks.register(check_middleware, checks.Tags.security)
