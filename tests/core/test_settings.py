"""Settings: construction, mapping/env loading, validation naming the bad setting."""

from __future__ import annotations

import pytest

from jwtmiddleware import ConfigurationError, Settings
from tests.core.keyfactory import SECRET


def check_one(claims: object) -> None:
    """A claim check importable by string."""


def test_defaults_are_the_safe_choice() -> None:
    s = Settings(secret=SECRET)
    assert s.algorithms == ("HS256",)
    assert s.token_type == "at+jwt"
    assert s.leeway == 30
    assert s.required is True
    assert s.required_claims == ("exp",)
    assert s.max_token_bytes == 8192
    assert "query" not in s.sources
    assert s.store is None
    assert s.store_failure == "closed"


def test_repr_never_shows_secrets() -> None:
    s = Settings(secret=SECRET)
    assert SECRET not in repr(s)
    assert "secret" not in repr(s)


def test_from_mapping_reads_upper_case_and_import_strings() -> None:
    s = Settings.from_mapping(
        {
            "SECRET": SECRET,
            "ALGORITHMS": ["HS256"],
            "AUDIENCE": "api://x",
            "LEEWAY": "10",
            "CLAIM_CHECKS": ["tests.core.test_settings:check_one"],
            "EXEMPT_PATHS": "/health, /static/*",
            "REQUIRED": "false",
        }
    )
    assert s.audience == ("api://x",)
    assert s.leeway == 10.0
    assert s.claim_checks == (check_one,)
    assert s.exempt_paths == ("/health", "/static/*")
    assert s.required is False


def test_from_env_uses_prefix_and_comma_lists() -> None:
    env = {
        "JWTMIDDLEWARE_SECRET": SECRET,
        "JWTMIDDLEWARE_SOURCES": "cookie,header",
        "JWTMIDDLEWARE_TOKEN_TYPE": "",
        "OTHER": "ignored",
    }
    s = Settings.from_env(env)
    assert s.sources == ("cookie", "header")
    assert s.token_type is None


def test_unknown_key_names_the_closest_valid_one() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_mapping({"SECRET": SECRET, "ALGORITHM": ["HS256"]})
    assert info.value.setting == "ALGORITHM"
    assert "'ALGORITHMS'" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"secret": "short"}, "SECRET"),
        ({"secret": ""}, "SECRET"),
        ({"secret": "x" * 47, "algorithms": ["HS384"]}, "SECRET"),
        ({"secret": "x" * 63, "algorithms": ["HS512"]}, "SECRET"),
        ({"secret": SECRET, "algorithms": ["none"]}, "ALGORITHMS"),
        ({"secret": SECRET, "algorithms": ["HS256", "NONE"]}, "ALGORITHMS"),
        ({"secret": SECRET, "algorithms": []}, "ALGORITHMS"),
        ({"secret": SECRET, "algorithms": ["HS256", "RS256"]}, "ALGORITHMS"),
        ({"secret": SECRET, "algorithms": ["XS999"]}, "ALGORITHMS"),
        ({"secret": SECRET, "algorithms": ["HS256", "HS512"]}, "SECRET"),
        ({}, "SECRET"),
        ({"secret": SECRET, "leeway": 301}, "LEEWAY"),
        ({"secret": SECRET, "leeway": -1}, "LEEWAY"),
        ({"secret": SECRET, "sources": ["header", "body"]}, "SOURCES"),
        ({"secret": SECRET, "sources": []}, "SOURCES"),
        ({"secret": SECRET, "sources": ["header", "header"]}, "SOURCES"),
        ({"secret": SECRET, "cookie_name": "a b"}, "COOKIE_NAME"),
        ({"secret": SECRET, "realm": 'a"b'}, "REALM"),
        ({"secret": SECRET, "exempt_paths": ["health"]}, "EXEMPT_PATHS"),
        ({"secret": SECRET, "optional_paths": ["x"]}, "OPTIONAL_PATHS"),
        ({"secret": SECRET, "store_failure": "maybe"}, "STORE_FAILURE"),
        ({"secret": SECRET, "max_token_bytes": 10}, "MAX_TOKEN_BYTES"),
        ({"secret": SECRET, "max_token_lifetime": 0}, "MAX_TOKEN_LIFETIME"),
        ({"secret": SECRET, "leeway": "soon"}, "LEEWAY"),
        ({"secret": SECRET, "required": "perhaps"}, "REQUIRED"),
        ({"secret": SECRET, "claim_checks": ["no.such.module:check"]}, "CLAIM_CHECKS"),
        ({"secret": SECRET, "error_handler": 42}, "ERROR_HANDLER"),
        ({"secret": 12345}, "SECRET"),
    ],
)
def test_bad_settings_raise_naming_the_setting(kwargs: dict[str, object], setting: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings(**kwargs)  # type: ignore[arg-type]
    assert info.value.setting == setting
    assert str(info.value).startswith(f"{setting}: ")


def test_hmac_secret_that_is_a_pem_key_is_refused() -> None:
    from tests.core.keyfactory import public_pem, rsa_key

    with pytest.raises(ConfigurationError) as info:
        Settings(secret=public_pem(rsa_key()))
    assert info.value.setting == "SECRET"


def test_replace_validates_again() -> None:
    s = Settings(secret=SECRET)
    assert s.replace(leeway=5).leeway == 5
    with pytest.raises(ConfigurationError):
        s.replace(leeway=1000)


def test_durations_may_be_timedeltas() -> None:
    from datetime import timedelta

    s = Settings.from_mapping({
        "SECRET": SECRET,
        "ACCESS_TOKEN_TTL": timedelta(minutes=15),
        "REFRESH_TOKEN_TTL": timedelta(days=7),
        "REFRESH_THRESHOLD": timedelta(minutes=5),
        "MAX_SESSION_AGE": timedelta(days=30),
        "LEEWAY": timedelta(seconds=10),
        "MAX_TOKEN_LIFETIME": timedelta(hours=2),
        "ONE_TIME_TOKEN_TTL": timedelta(seconds=90),
        "JWKS_MAX_AGE": timedelta(minutes=10),
    })  # fmt: skip
    assert (s.access_token_ttl, s.refresh_token_ttl, s.refresh_threshold) == (900, 604800, 300)
    assert (s.max_session_age, s.leeway, s.max_token_lifetime) == (2592000, 10, 7200)
    assert (s.one_time_token_ttl, s.jwks_max_age) == (90, 600)
    assert Settings(secret=SECRET, access_token_ttl=timedelta(seconds=60)).access_token_ttl == 60
    # Validation still applies to the seconds they stand for.
    with pytest.raises(ConfigurationError) as info:
        Settings(secret=SECRET, leeway=timedelta(hours=1))
    assert info.value.setting == "LEEWAY"
    with pytest.raises(ConfigurationError) as info:
        Settings(secret=SECRET, jwks_max_age=timedelta(seconds=1.5))
    assert info.value.setting == "JWKS_MAX_AGE"


@pytest.mark.parametrize(
    ("origin", "says"),
    [
        ("app.example", "has no scheme"),
        ("localhost:3000", "has no scheme"),
        ("//app.example", "has no scheme"),
        ("https://app.example/login", "is not an origin"),
        ("https://*.example.com", "is not an origin"),
        ("https://app.example:99999", "is not an origin"),
        ("https://user@app.example", "is not an origin"),
        ("https://", "is not an origin"),
        ("ftp://app.example", "is not an http or https origin"),
    ],
)
def test_csrf_trusted_origins_are_full_origins(origin: str, says: str) -> None:
    """Each entry is compared whole (scheme, host, port), so one without a scheme is refused
    at start-up instead of never matching (issue 15)."""
    with pytest.raises(ConfigurationError) as info:
        Settings(secret=SECRET, csrf_trusted_origins=[origin])
    assert info.value.setting == "CSRF_TRUSTED_ORIGINS"
    assert says in str(info.value)
    assert "https://app.example" in str(info.value)  # shows the expected form


def test_csrf_trusted_origins_from_the_environment() -> None:
    origins = "https://app.example,http://localhost:3000"
    env = {"JWTMIDDLEWARE_SECRET": SECRET, "JWTMIDDLEWARE_CSRF_TRUSTED_ORIGINS": origins}
    settings = Settings.from_env(env)
    assert settings.csrf_trusted_origins == ("https://app.example", "http://localhost:3000")
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({**env, "JWTMIDDLEWARE_CSRF_TRUSTED_ORIGINS": "app.example"})
    assert str(info.value).startswith("CSRF_TRUSTED_ORIGINS: 'app.example' has no scheme")


def test_the_store_url_never_shows_in_repr() -> None:
    """A Redis URL may hold a password: Settings' repr leaves STORE out."""
    settings = Settings(secret=SECRET, store="redis://:hunter2-password@127.0.0.1:6379/0")
    assert "hunter2-password" not in repr(settings)
    assert "hunter2-password" not in str(settings)
