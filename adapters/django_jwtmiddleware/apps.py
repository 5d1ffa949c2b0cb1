"""The Django app: validates ``settings.JWTMIDDLEWARE`` at start-up and registers the checks."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["JWTMiddlewareConfig"]


class JWTMiddlewareConfig(AppConfig):  # type: ignore[misc]  # Django has no type information
    """``INSTALLED_APPS`` entry ``"django_jwtmiddleware"``: management commands, system
    checks, and settings validated when Django starts (``ImproperlyConfigured`` naming the key)."""

    name = "django_jwtmiddleware"
    verbose_name = "JWT middleware"
    default = True

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .conf import validate

        validate()
