"""Django settings of the adapter tests (``settings.configure`` in ``conftest.py``)."""

from __future__ import annotations

import secrets

#: The HMAC secret every test token is signed with.
JWT_SECRET = secrets.token_urlsafe(48)

#: The jwtmiddleware settings the tests start from (``jwt_settings`` adds a SQLite store).
BASE_JWT: dict[str, object] = {
    "SECRET": JWT_SECRET,
    "ISSUER": "https://issuer.test",
    "AUDIENCE": ["api"],
    "EXEMPT_PATHS": ["/health", "/auth/login", "/auth/refresh", "/aauth/login", "/aauth/refresh"],
    "OPTIONAL_PATHS": ["/optional", "/optional/*"],
    "STORE": "memory://",
}

SECRET_KEY = "django-insecure-only-for-the-jwtmiddleware-tests"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django_jwtmiddleware",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_jwtmiddleware.JWTAuthenticationMiddleware",
]
ROOT_URLCONF = "tests.adapters.django.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
JWTMIDDLEWARE = dict(BASE_JWT)

# Django REST framework (tests/adapters/django/test_rest_framework.py).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["django_jwtmiddleware.rest_framework.JWTAuthentication"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
