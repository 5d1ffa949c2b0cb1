"""Validating :class:`~jwtmiddleware.settings.Settings`: the cross-setting checks, run after
every value was converted (:mod:`._converters`). Every failure is a ``ConfigurationError``
naming the setting.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from ._converters import CONVERTERS
from ._urls import check_url, parse_origin
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["CONVERTERS", "validate"]

logger = logging.getLogger("jwtmiddleware")

_SOURCES = ("cookie", "header", "query", "websocket_protocol")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 token (header and cookie names)
_MAX_LEEWAY = 300.0
_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}


def _fail(setting: str, message: str) -> None:
    raise ConfigurationError(setting, message)


def validate(s: Settings) -> None:
    """Cross-check normalised settings; raise ``ConfigurationError`` naming the first bad one."""
    _validate_verification(s)
    _validate_remote_keys(s)
    _validate_http(s)
    _validate_sessions(s)
    _validate_cookies(s)


def _validate_verification(s: Settings) -> None:
    if not s.algorithms:
        _fail("ALGORITHMS", "must list at least one algorithm")
    if any(alg.lower() == "none" for alg in s.algorithms):
        _fail("ALGORITHMS", "'none' is never accepted")
    if not 0 <= s.leeway <= _MAX_LEEWAY:
        _fail("LEEWAY", f"must be between 0 and {_MAX_LEEWAY:g} seconds")
    if not 512 <= s.max_token_bytes <= 1 << 20:
        _fail("MAX_TOKEN_BYTES", "must be between 512 and 1048576")
    if not 0 <= s.verified_cache_size <= 10_000_000:
        _fail("VERIFIED_CACHE_SIZE", "must be between 0 (off) and 10000000")
    if s.max_token_lifetime is not None and s.max_token_lifetime <= 0:
        _fail("MAX_TOKEN_LIFETIME", "must be positive (or None)")
    if not 0 < s.access_token_ttl <= (s.max_token_lifetime or float("inf")):
        _fail("ACCESS_TOKEN_TTL", "must be positive and not above MAX_TOKEN_LIFETIME")


def _validate_remote_keys(s: Settings) -> None:
    if s.jwks_discovery and not s.issuer:
        _fail("JWKS_DISCOVERY", "needs ISSUER (discovery reads ISSUER/.well-known/...)")
    if s.jwks_discovery and s.jwks_url:
        _fail("JWKS_DISCOVERY", "give either JWKS_URL or JWKS_DISCOVERY, not both")
    if (s.jwks_url or s.jwks_discovery) and any(a.startswith("HS") for a in s.algorithms):
        _fail("ALGORITHMS", "keys fetched from a JWKS URL are public: list asymmetric algorithms")
    if s.jwks_path is not None and not s.jwks_path.startswith("/"):
        _fail("JWKS_PATH", "must be a path starting with '/' (or None)")
    if not 0 <= s.jwks_max_age <= 86400:
        _fail("JWKS_MAX_AGE", "must be between 0 and 86400 seconds")
    if s.jwks_url:
        check_url(s.jwks_url, allow_http_loopback=s.jwks_allow_http_loopback, setting="JWKS_URL")


def _validate_http(s: Settings) -> None:
    if s.status_path is not None:
        if not s.status_path.startswith("/") or not s.status_path.isprintable():
            _fail("STATUS_PATH", "must be a path starting with '/' (or None)")
        if s.status_path == s.jwks_path:
            _fail("STATUS_PATH", "must differ from JWKS_PATH")
    if not s.sources:
        _fail("SOURCES", "must list at least one of header, cookie, query")
    for source in s.sources:
        if source not in _SOURCES:
            _fail("SOURCES", f"unknown source {source!r}; use {', '.join(_SOURCES)}")
    if len(set(s.sources)) != len(s.sources):
        _fail("SOURCES", "lists a source twice")
    for name in (
        "header_name",
        "header_scheme",
        "cookie_name",
        "query_parameter",
        "refreshed_token_header",
        "refresh_cookie_name",
        "csrf_cookie_name",
        "csrf_header_name",
        "csrf_field_name",
    ):
        if not _TOKEN.match(getattr(s, name)):
            _fail(name.upper(), "must be a non-empty HTTP token")
    if '"' in s.realm or "\\" in s.realm or not s.realm.isprintable():
        _fail("REALM", "must be printable, without quotes or backslashes")
    for name in ("exempt_paths", "optional_paths"):
        for path in getattr(s, name):
            if not path.startswith("/"):
                _fail(name.upper(), f"path {path!r} must start with '/'")
    if s.store_failure not in ("closed", "open"):
        _fail("STORE_FAILURE", "must be 'closed' or 'open'")
    if not 0 < s.store_timeout <= 30:
        _fail("STORE_TIMEOUT", "must be between 0 and 30 seconds")
    if not 0 <= s.store_min_replicas <= 100:
        _fail("STORE_MIN_REPLICAS", "must be between 0 and 100")
    if s.store_checks not in ("warn", "fail", "off"):
        _fail("STORE_CHECKS", "must be 'warn', 'fail' or 'off'")
    if not (s.store_max_lag == 0 or 0.01 <= s.store_max_lag <= 3600):
        _fail("STORE_MAX_LAG", "must be 0 (no mirror) or between 0.01 and 3600 seconds")
    for pair in s.one_time_paths:
        if not pair[0].startswith("/"):
            _fail("ONE_TIME_PATHS", f"path {pair[0]!r} must start with '/'")
    if s.one_time_paths and s.store is None:
        _fail("ONE_TIME_PATHS", "one-time tokens are consumed in the store: set STORE")
    if not 0 < s.one_time_token_ttl <= 3600:
        _fail("ONE_TIME_TOKEN_TTL", "must be between 0 and 3600 seconds")


def _validate_sessions(s: Settings) -> None:
    if s.refresh_token_ttl <= 0:
        _fail("REFRESH_TOKEN_TTL", "must be positive")
    if s.max_session_age < s.access_token_ttl:
        _fail("MAX_SESSION_AGE", "must be at least ACCESS_TOKEN_TTL")
    if s.refresh_threshold is not None and not 0 < s.refresh_threshold < s.access_token_ttl:
        _fail("REFRESH_THRESHOLD", "must be positive and below ACCESS_TOKEN_TTL (or None)")
    if not 0 <= s.refresh_reuse_grace <= 300:
        _fail("REFRESH_REUSE_GRACE", "must be between 0 and 300 seconds")
    if s.max_sessions_per_subject is not None and s.max_sessions_per_subject < 1:
        _fail("MAX_SESSIONS_PER_SUBJECT", "must be at least 1 (or None)")
    if s.session_limit_policy not in ("evict_oldest", "deny_new"):
        _fail("SESSION_LIMIT_POLICY", "must be 'evict_oldest' or 'deny_new'")


def _check_origin(origin: str) -> None:
    """A ``CSRF_TRUSTED_ORIGINS`` entry is a full origin: compared whole, scheme included."""
    example = "write it as a full origin: scheme, host and optional port, like https://app.example"
    if "://" not in origin:
        _fail("CSRF_TRUSTED_ORIGINS", f"{origin!r} has no scheme; {example}")
    parsed = parse_origin(origin)
    if parsed is None or any(ch.isspace() or ch == "*" for ch in origin):
        _fail("CSRF_TRUSTED_ORIGINS", f"{origin!r} is not an origin; {example}")
    elif parsed[0] not in ("http", "https"):
        _fail("CSRF_TRUSTED_ORIGINS", f"{origin!r} is not an http or https origin; {example}")


def _validate_cookies(s: Settings) -> None:
    for name in ("cookie_path", "refresh_cookie_path"):
        value = getattr(s, name)
        if not value.startswith("/") or not value.isprintable() or ";" in value:
            _fail(name.upper(), "must be a path starting with '/'")
    if s.cookie_domain is not None and not re.fullmatch(r"[A-Za-z0-9.-]+", s.cookie_domain):
        _fail("COOKIE_DOMAIN", "must be a host name")
    if s.cookie_samesite == "None" and not s.cookie_secure:
        _fail("COOKIE_SAMESITE", "SameSite=None requires COOKIE_SECURE (browsers drop it)")
    for origin in s.csrf_trusted_origins:
        _check_origin(origin)
    if not s.cookie_secure and "cookie" in s.sources:
        logger.warning(
            "COOKIE_SECURE is off: token cookies will travel over plain HTTP. "
            "Use this only for local development on localhost."
        )
