"""URLs of the jwtdemo API."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("api/notes", views.Notes, basename="notes")

urlpatterns = [
    path("health", views.health),
    # login, refresh, logout, logout-all, sessions: ready views
    path("auth/", include("django_jwtmiddleware.urls")),
    path("api/me", views.me),
    path("api/profile", views.Profile.as_view()),
    *router.urls,
]
