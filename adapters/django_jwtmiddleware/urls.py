"""``path("auth/", include("django_jwtmiddleware.urls"))``: login, refresh, logout,
logout-all and sessions (see :mod:`django_jwtmiddleware.views`).

The URL names are in the ``jwtmiddleware`` namespace: ``reverse("jwtmiddleware:login")``.
With the default ``REFRESH_COOKIE_PATH`` (``/auth/refresh``), include them under ``auth/``.
"""

from __future__ import annotations

from django.urls import path

from . import views

__all__ = ["app_name", "urlpatterns"]

app_name = "jwtmiddleware"

urlpatterns = [
    path("login", views.login, name="login"),
    path("refresh", views.refresh, name="refresh"),
    path("logout", views.logout, name="logout"),
    path("logout-all", views.logout_all, name="logout_all"),
    path("sessions", views.sessions, name="sessions"),
]
