"""Settings of the jwtdemo example.

jwtmiddleware's settings are :data:`JWT_DEFAULTS` below, with any ``JWTMIDDLEWARE_<KEY>``
environment variable over them (``JWTMIDDLEWARE_SECRET`` is required: 32 or more random bytes;
``JWTMIDDLEWARE_STORE`` moves the SQLite store). ``DJANGO_SECRET_KEY`` and ``DJANGO_DEBUG=1``
are read too.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# Django's own key (this API signs nothing with it, but Django requires one).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-jwtdemo-only-for-local-use")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django_jwtmiddleware",  # settings checked at start-up; jwt_revoke/jwt_sessions/jwt_purge
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # After AuthenticationMiddleware when you use it (this project has no sessions or users).
    "django_jwtmiddleware.JWTAuthenticationMiddleware",
]

# The ready login view (django_jwtmiddleware.urls) checks passwords with Django's
# authenticate(), which asks these backends (a real project: ModelBackend and its users).
AUTHENTICATION_BACKENDS = ["jwtdemo.users.DemoBackend"]

ROOT_URLCONF = "jwtdemo.urls"
WSGI_APPLICATION = "jwtdemo.wsgi.application"
ASGI_APPLICATION = "jwtdemo.asgi.application"
DATABASES: dict[str, Any] = {}  # the demo users live in jwtdemo/users.py
USE_TZ = True

#: jwtmiddleware settings used unless a JWTMIDDLEWARE_<KEY> variable says otherwise.
JWT_DEFAULTS: dict[str, Any] = {
    "ISSUER": "django-example",
    # The embedded store: revocation, device sessions, refresh-token rotation.
    "STORE": f"sqlite:///{BASE_DIR / 'sessions.db'}",
    # Login and refresh work without an access token (it may have expired).
    "EXEMPT_PATHS": ["/health", "/auth/login", "/auth/refresh"],
    "ACCESS_TOKEN_TTL": timedelta(minutes=15),
}
_PREFIX = "JWTMIDDLEWARE_"

JWTMIDDLEWARE = {
    **JWT_DEFAULTS,
    **{k[len(_PREFIX) :]: v for k, v in os.environ.items() if k.startswith(_PREFIX)},
}
if "SECRET" not in JWTMIDDLEWARE and "KEYS" not in JWTMIDDLEWARE:
    raise ImproperlyConfigured(
        "set JWTMIDDLEWARE_SECRET, for example: export JWTMIDDLEWARE_SECRET="
        "$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
    )

#: The adapter's own options: "sub" is the username; a login's tokens carry the user's scopes.
JWTMIDDLEWARE_DJANGO = {
    "USER_ID_FIELD": "username",
    "TOKEN_CLAIMS": "jwtdemo.users.token_claims",
}

# Django REST framework: request.user / request.auth from the token the middleware verified.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["django_jwtmiddleware.rest_framework.JWTAuthentication"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # This project has no django.contrib.auth (and so no AnonymousUser model).
    "UNAUTHENTICATED_USER": "django_jwtmiddleware.users.AnonymousTokenUser",
}
