"""``settings.JWTMIDDLEWARE`` / ``JWTMIDDLEWARE_DJANGO``: validated at start-up with
Django-flavoured errors, re-read on ``setting_changed``; the system checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from django_jwtmiddleware import JWTAuthenticationMiddleware
from django_jwtmiddleware.checks import check_middleware
from django_jwtmiddleware.conf import get_runtime, session_manager

from .conftest import Configure, bearer, mint

MIDDLEWARE = "django_jwtmiddleware.JWTAuthenticationMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"


def _ready() -> None:
    apps.get_app_config("django_jwtmiddleware").ready()


def test_app_ready_accepts_the_test_settings() -> None:
    _ready()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SECRET": "short"}, r'settings\.JWTMIDDLEWARE\["SECRET"\]: '),
        ({"LEEWAY": "soon"}, r'settings\.JWTMIDDLEWARE\["LEEWAY"\]: expected a number'),
        (
            {"EXEMPT_PATH": ["/x"]},
            r"""\["EXEMPT_PATH"\]: unknown setting; did you mean 'EXEMPT_PATHS'""",
        ),
        ({"CLAIM_CHECKS": ["nowhere.at_all:check"]}, r'\["CLAIM_CHECKS"\]: cannot import'),
        ({"STORE": "ftp://x"}, r'settings\.JWTMIDDLEWARE\["STORE"\]'),
    ],
)
def test_bad_core_settings_fail_at_start_up(
    jwt_config: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    with override_settings(JWTMIDDLEWARE={**jwt_config, **changes}):
        with pytest.raises(ImproperlyConfigured, match=message):
            _ready()
        with pytest.raises(ImproperlyConfigured, match=message):
            JWTAuthenticationMiddleware(lambda request: None)


def test_secret_never_appears_in_the_error(jwt_config: dict[str, Any]) -> None:
    with (
        override_settings(JWTMIDDLEWARE={**jwt_config, "SECRET": "hunter2-hunter2"}),
        pytest.raises(ImproperlyConfigured) as caught,
    ):
        _ready()
    assert "hunter2" not in str(caught.value)


def test_missing_setting_says_what_to_add() -> None:
    with (
        override_settings(JWTMIDDLEWARE=None),
        pytest.raises(ImproperlyConfigured, match=r"settings\.JWTMIDDLEWARE is missing"),
    ):
        _ready()


def test_setting_must_be_a_dict() -> None:
    with (
        override_settings(JWTMIDDLEWARE=["SECRET"]),
        pytest.raises(ImproperlyConfigured, match="must be a dict"),
    ):
        _ready()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"USER_LOADR": "x"},
            r"""JWTMIDDLEWARE_DJANGO\["USER_LOADR"\]: unknown option; did you mean 'USER_LOADER'""",
        ),
        (
            {"USER_LOADER": "nowhere.at_all.load"},
            r'JWTMIDDLEWARE_DJANGO\["USER_LOADER"\]: cannot import',
        ),
        ({"USER_LOADER": 42}, r'\["USER_LOADER"\]: 42 is not callable'),
        ({"USER_ID_FIELD": ""}, r'\["USER_ID_FIELD"\]: must be a model field name'),
        ({"CLOCK": "time:nonexistent"}, r'\["CLOCK"\]: cannot import'),
    ],
)
def test_bad_adapter_options_fail_at_start_up(options: dict[str, Any], message: str) -> None:
    with (
        override_settings(JWTMIDDLEWARE_DJANGO=options),
        pytest.raises(ImproperlyConfigured, match=message),
    ):
        _ready()


def test_adapter_options_accept_import_strings() -> None:
    with override_settings(
        JWTMIDDLEWARE_DJANGO={
            "USER_LOADER": "django_jwtmiddleware.users.load_model_user",
            "CLOCK": "time:time",
            "USER_ID_FIELD": "username",
        }
    ):
        options = get_runtime().options
    from django_jwtmiddleware.users import load_model_user

    assert options.user_loader is load_model_user
    assert options.user_id_field == "username"


def test_lifetimes_may_be_timedeltas(client: Client, configure: Configure) -> None:
    from datetime import timedelta

    configure({"ACCESS_TOKEN_TTL": timedelta(minutes=5), "REFRESH_TOKEN_TTL": timedelta(days=1)})
    settings = get_runtime().settings
    assert (settings.access_token_ttl, settings.refresh_token_ttl) == (300, 86400)
    login = client.post("/auth/login", {"subject": "alice"}, content_type="application/json")
    assert login.status_code == 200, login.content
    assert 298 <= login.json()["expires_in"] <= 300
    configure({"LEEWAY": timedelta(hours=2)})
    with pytest.raises(ImproperlyConfigured, match=r'\["LEEWAY"\]'):
        _ready()


def test_override_settings_is_read_on_the_next_request(
    client: Client, jwt_config: dict[str, Any]
) -> None:
    token = mint()
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    with override_settings(JWTMIDDLEWARE={**jwt_config, "REALM": "other", "AUDIENCE": ["x"]}):
        response = client.get("/api/me", headers=bearer(token))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="other"')
        with override_settings(JWTMIDDLEWARE={**jwt_config, "EXEMPT_PATHS": ["/api/me"]}):
            assert client.get("/api/me").status_code == 200
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    assert client.get("/api/me").status_code == 401


def test_the_runtime_is_rebuilt_only_when_our_settings_change(configure: Configure) -> None:
    first = get_runtime()
    assert get_runtime() is first
    configure(USE_I18N=False)
    assert get_runtime() is first
    configure(jwt={"LEEWAY": 5})
    assert get_runtime() is not first
    assert get_runtime().settings.leeway == 5


def test_session_manager_needs_a_store(configure: Configure) -> None:
    configure(jwt={"STORE": None})
    with pytest.raises(ImproperlyConfigured, match=r'JWTMIDDLEWARE\["STORE"\]: logins'):
        session_manager()


def test_system_check_passes_with_the_recommended_order() -> None:
    assert check_middleware() == []


def test_system_check_refuses_the_middleware_before_authentication_middleware() -> None:
    with override_settings(MIDDLEWARE=[MIDDLEWARE, AUTH]):
        (error,) = check_middleware()
    assert error.id == "django_jwtmiddleware.E001"
    assert "after" in error.hint


def test_system_check_warns_when_the_middleware_is_missing() -> None:
    with override_settings(MIDDLEWARE=[AUTH], REST_FRAMEWORK={}):
        (warning,) = check_middleware()
    assert warning.id == "django_jwtmiddleware.W001"
    # Django REST framework's JWTAuthentication alone verifies tokens itself: no warning.
    drf = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["django_jwtmiddleware.rest_framework.JWTAuthentication"]
    }
    with override_settings(MIDDLEWARE=[AUTH], REST_FRAMEWORK=drf):
        assert check_middleware() == []


def test_system_check_is_registered() -> None:
    from django.core import checks

    with override_settings(MIDDLEWARE=[MIDDLEWARE, AUTH]):
        found = checks.run_checks(tags=[checks.Tags.security])
    assert "django_jwtmiddleware.E001" in {m.id for m in found}
