"""One converter per setting: the value given (Python, a mapping entry or an environment
string) to the type :class:`~jwtmiddleware.core.settings.Settings` holds, shared by direct
construction, ``from_mapping`` and ``from_env``. A value that cannot convert raises
``ConfigurationError`` naming the setting."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import _coerce as c
from ._optional import require_backend
from .errors import ConfigurationError

if TYPE_CHECKING:
    pass

__all__ = ["CONVERTERS"]

_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_METRICS_ALIASES = {"otel": "opentelemetry", "prometheus_client": "prometheus"}


def _secret(setting: str, value: Any) -> str | bytes | None:
    if value is None or isinstance(value, str | bytes):
        return value
    raise ConfigurationError(setting, "must be a string or bytes")


def _store(setting: str, value: Any) -> Any:
    return None if value == "" else value


def _lower_str(setting: str, value: Any) -> str:
    return c.to_str(setting, value).strip().lower()


def _token_type(setting: str, value: Any) -> str | None:
    text = c.to_optional_str(setting, value)
    if text is None or text.strip().lower() in {"", "none", "jwt"}:
        return None
    return text


def _samesite(setting: str, value: Any) -> str:
    text = c.to_str(setting, value).strip().lower()
    if text not in _SAMESITE:
        raise ConfigurationError(setting, "must be Lax, Strict or None")
    return _SAMESITE[text]


def _optional_int(setting: str, value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none"}):
        return None
    return c.to_int(setting, value)


def _log_level(setting: str, value: Any) -> str | None:
    if value is None or value is False:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = logging.getLevelName(value)
    text = c.to_str(setting, value).strip().upper()
    if text in {"", "NONE", "OFF"}:
        return None
    if text not in _LOG_LEVELS:
        raise ConfigurationError(setting, f"must be one of {', '.join(_LOG_LEVELS)} or None")
    return text


def _metrics(setting: str, value: Any) -> str | None:
    if value is None or value is False:
        return None
    text = c.to_str(setting, value).strip().lower()
    if text in {"", "none", "off"}:
        return None
    text = _METRICS_ALIASES.get(text, text)
    if text not in ("prometheus", "opentelemetry"):
        raise ConfigurationError(setting, "must be 'prometheus', 'opentelemetry' or None")
    require_backend(text, setting)
    return text


def _pairs(setting: str, value: Any) -> tuple[tuple[str, str], ...]:
    """``{"/download/*": "download"}``, pairs, or ``"/download/*=download,..."``."""
    if not value:
        return ()
    if isinstance(value, str):
        value = [part.split("=", 1) for part in value.split(",") if part.strip()]
    items = value.items() if isinstance(value, Mapping) else value
    out = []
    for item in items:
        if len(item) != 2 or not all(isinstance(x, str) and x.strip() for x in item):
            raise ConfigurationError(setting, "expected path=purpose pairs")
        out.append((item[0].strip(), item[1].strip()))
    return tuple(out)


CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "secret": _secret,
    "keys": c.to_keys,
    "jwks_url": c.to_optional_str,
    "jwks_discovery": c.to_bool,
    "jwks_cache_ttl": c.to_float,
    "jwks_refetch_cooldown": c.to_float,
    "jwks_max_stale": c.to_float,
    "jwks_max_bytes": c.to_int,
    "jwks_timeout": c.to_float,
    "jwks_allow_http_loopback": c.to_bool,
    "jwks_path": c.to_optional_str,
    "jwks_max_age": c.to_seconds_int,
    "algorithms": c.to_str_tuple,
    "issuer": c.to_optional_str,
    "audience": c.to_str_tuple,
    "leeway": c.to_float,
    "required_claims": c.to_str_tuple,
    "token_type": _token_type,
    "max_token_bytes": c.to_int,
    "verified_cache_size": c.to_int,
    "max_token_lifetime": c.to_optional_float,
    "sources": lambda s, v: tuple(x.lower() for x in c.to_str_tuple(s, v)),
    "header_name": c.to_str,
    "header_scheme": c.to_str,
    "cookie_name": c.to_str,
    "query_parameter": c.to_str,
    "required": c.to_bool,
    "exempt_paths": c.to_str_tuple,
    "optional_paths": c.to_str_tuple,
    "realm": c.to_str,
    "claim_checks": c.to_callables,
    "scope_claim": c.to_str,
    "required_scopes": c.to_str_tuple,
    "error_handler": c.to_callable,
    "access_token_ttl": c.to_float,
    "store": _store,
    "store_failure": _lower_str,
    "store_timeout": c.to_float,
    "store_max_lag": c.to_float,
    "store_min_replicas": c.to_int,
    "store_checks": _lower_str,
    "store_prefix": c.to_str,
    "refresh_token_ttl": c.to_float,
    "refresh_threshold": c.to_optional_float,
    "max_session_age": c.to_float,
    "refresh_reuse_grace": c.to_float,
    "refreshed_token_header": c.to_str,
    "max_sessions_per_subject": _optional_int,
    "session_limit_policy": _lower_str,
    "single_session": c.to_bool,
    "event_hook": c.to_callable,
    "cookie_secure": c.to_bool,
    "cookie_httponly": c.to_bool,
    "cookie_samesite": _samesite,
    "cookie_path": c.to_str,
    "cookie_domain": c.to_optional_str,
    "cookie_name_prefix": c.to_bool,
    "refresh_cookie_name": c.to_str,
    "refresh_cookie_path": c.to_str,
    "csrf_protection": c.to_bool,
    "csrf_cookie_name": c.to_str,
    "csrf_header_name": c.to_str,
    "csrf_field_name": c.to_str,
    "csrf_trusted_origins": c.to_str_tuple,
    "one_time_paths": _pairs,
    "one_time_token_ttl": c.to_float,
    "log_refusals": _log_level,
    "metrics": _metrics,
    "otel_record_subject": c.to_bool,
    "status_path": c.to_optional_str,
}
