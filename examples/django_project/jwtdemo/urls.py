"""URLs of the jwtdemo API."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("health", views.health),
    path("auth/login", views.login),
    path("auth/refresh", views.refresh),
    path("auth/logout", views.logout),
    path("auth/logout-all", views.logout_all),
    path("auth/sessions", views.sessions),
    path("api/me", views.me),
]
