"""URLs of the Django REST framework tests: the ready session views under ``auth/`` and DRF
views under an optional path (so DRF, not the middleware, answers anonymous callers)."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import drf_views, views

router = SimpleRouter(trailing_slash=False)
router.register("optional/notes", drf_views.Notes, basename="notes")

urlpatterns = [
    path("health", views.health),
    path("auth/", include("django_jwtmiddleware.urls")),
    path("optional/profile", drf_views.Profile.as_view()),
    path("optional/anyone", drf_views.Anyone.as_view()),
    path("optional/either", drf_views.Either.as_view()),
    path("optional/misused", drf_views.Misused.as_view()),
    path("api/profile", drf_views.Profile.as_view()),
    *router.urls,
]
