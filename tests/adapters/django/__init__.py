"""Tests of django_jwtmiddleware, with Django's own test clients (no pytest-django)."""
