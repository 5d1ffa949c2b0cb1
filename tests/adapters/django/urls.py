"""URLs of the adapter tests."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("health", views.health),
    path("api/me", views.me),
    path("api/ame", views.ame),
    path("api/vary", views.vary),
    path("api/echo", views.echo),
    path("api/vote", views.vote),
    path("api/sessions", views.sessions),
    path("api/asessions", views.asessions),
    path("optional", views.me),
    path("optional/ame", views.ame),
    path("optional/scoped", views.scoped),
    path("optional/ascoped", views.ascoped),
    path("optional/required", views.required),
    path("optional/maybe", views.maybe),
    path("optional/form", views.form),
    path("optional/echo", views.echo),
    path("auth/login", views.login),
    path("auth/refresh", views.refresh),
    path("auth/logout", views.logout),
    path("auth/logout-all", views.logout_all),
    path("aauth/login", views.alogin),
    path("aauth/refresh", views.arefresh),
    path("aauth/logout", views.alogout),
    path("aauth/logout-all", views.alogout_all),
]
