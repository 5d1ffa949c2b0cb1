"""Django for the adapter tests, without pytest-django.

Django is configured once per test session from :mod:`tests.adapters.django.settings`; each test
then runs with ``settings.JWTMIDDLEWARE`` pointing at a fresh SQLite store in its ``tmp_path``
(through ``override_settings``, which the adapter re-reads on ``setting_changed``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings
from django.test import AsyncClient, Client
from django.test.utils import (
    override_settings,
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)

from jwtmiddleware.testing import mint_token

from . import settings as test_settings

# This directory is the package tests.adapters.django (tests/adapters/__init__.py must exist);
# were it put on sys.path as a rootdir, it would shadow the real Django.
assert Path(django.__file__ or "").resolve().parent != Path(__file__).resolve().parent, (
    "tests/adapters/django shadows Django: tests/adapters/__init__.py is missing"
)

if not settings.configured:
    settings.configure(
        **{name: getattr(test_settings, name) for name in dir(test_settings) if name.isupper()}
    )
    django.setup()

Configure = Callable[..., None]


@pytest.fixture(scope="session", autouse=True)
def _django_test_environment() -> Iterator[None]:
    setup_test_environment()
    yield
    teardown_test_environment()


@pytest.fixture(scope="session")
def django_db() -> Iterator[None]:
    """The test database (in-memory SQLite, migrated), for tests that need user rows."""
    old = setup_databases(verbosity=0, interactive=False)
    yield
    teardown_databases(old, verbosity=0)


@pytest.fixture(autouse=True)
def jwt_config(tmp_path: Any) -> Iterator[dict[str, Any]]:
    """``settings.JWTMIDDLEWARE`` of this test: the base settings with a SQLite store. The first
    request waits up to ``STORE_TIMEOUT`` for the revocation mirror to load: a roomy one keeps a
    loaded test machine from turning that into a 503."""
    config = {**test_settings.BASE_JWT, "STORE": f"sqlite:///{tmp_path / 'jwt.db'}",
              "STORE_TIMEOUT": 2.0}  # fmt: skip
    with override_settings(JWTMIDDLEWARE=config):
        yield config


@pytest.fixture
def configure(jwt_config: dict[str, Any]) -> Iterator[Configure]:
    """``configure(JWTMIDDLEWARE changes, django={...}, **other Django settings)`` for one test."""
    with contextlib.ExitStack() as stack:

        def apply(jwt: dict[str, Any] | None = None, **django_settings: Any) -> None:
            if jwt is not None:
                django_settings["JWTMIDDLEWARE"] = {**jwt_config, **jwt}
            stack.enter_context(override_settings(**django_settings))

        yield apply


def current_settings() -> Any:
    """The core settings the adapter runs with right now."""
    from django_jwtmiddleware.conf import get_runtime

    return get_runtime().settings


def mint(subject: str | None = "alice", scope: str | None = None, **claims: Any) -> str:
    """A token the adapter's current settings accept."""
    extra = dict(claims)
    if scope is not None:
        extra["scope"] = scope
    return mint_token(current_settings(), extra, subject=subject)


def bearer(token: str) -> dict[str, str]:
    """``headers=`` for Django's test clients."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def csrf_client() -> Client:
    """A client for which Django's CsrfViewMiddleware is enforced (the default client skips it)."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def aclient() -> AsyncClient:
    return AsyncClient()
