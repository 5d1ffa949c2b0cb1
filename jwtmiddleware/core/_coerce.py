"""Turn UPPER_CASE mapping and environment values into typed setting values.

Framework settings and environment variables arrive as strings, lists or native values; each
setting declares one converter here so ``Settings.from_mapping`` and ``Settings.from_env`` share
one set of rules and one set of error messages.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "import_string",
    "to_bool",
    "to_callable",
    "to_callables",
    "to_float",
    "to_int",
    "to_keys",
    "to_optional_float",
    "to_optional_str",
    "to_seconds_int",
    "to_str",
    "to_str_tuple",
]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def import_string(setting: str, path: str) -> Any:
    """Import ``"package.module:attr"`` or ``"package.module.attr"`` and return the attribute."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ConfigurationError(setting, f"{path!r} is not an import string like 'pkg.mod:name'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(setting, f"cannot import {path!r}: {exc}") from exc
    return obj


def to_bool(setting: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigurationError(setting, f"expected true or false, got {value!r}")


def to_int(setting: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigurationError(setting, f"expected an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(setting, f"expected an integer, got {value!r}") from exc


def to_float(setting: str, value: Any) -> float:
    """Seconds: a number, a numeric string, or a :class:`~datetime.timedelta` (Django and
    Flask settings often spell lifetimes as ``timedelta(minutes=15)``)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool):
        raise ConfigurationError(setting, f"expected a number of seconds, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(setting, f"expected a number of seconds, got {value!r}") from exc


def to_seconds_int(setting: str, value: Any) -> int:
    """Whole seconds: an integer or a :class:`~datetime.timedelta` of whole seconds."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds != int(seconds):
            raise ConfigurationError(setting, f"expected whole seconds, got {value!r}")
        return int(seconds)
    return to_int(setting, value)


def to_optional_float(setting: str, value: Any) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in {"", "none"}):
        return None
    return to_float(setting, value)


def to_str(setting: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(setting, f"expected a string, got {type(value).__name__}")
    return value


def to_optional_str(setting: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    return to_str(setting, value)


def to_str_tuple(setting: str, value: Any) -> tuple[str, ...]:
    """A list of strings; a single string is split on commas (environment variables)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, Sequence | set | frozenset) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigurationError(setting, f"expected a list of strings, got {value!r}")


def to_callable(setting: str, value: Any) -> Callable[..., Any] | None:
    """A callable, or an import string naming one."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = import_string(setting, value)
    if not callable(value):
        raise ConfigurationError(setting, f"{value!r} is not callable")
    return value  # type: ignore[no-any-return]


def to_callables(setting: str, value: Any) -> tuple[Callable[..., Any], ...]:
    """A list of callables or import strings (a string is split on commas)."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if callable(items):
        items = [items]
    if not isinstance(items, Sequence):
        raise ConfigurationError(setting, f"expected a list of callables, got {value!r}")
    out = []
    for item in items:
        if isinstance(item, str):
            item = item.strip()
            if not item:
                continue
        fn = to_callable(setting, item)
        if fn is not None:
            out.append(fn)
    return tuple(out)


def to_keys(setting: str, value: Any) -> tuple[Any, ...]:
    """Key material: a JWKS/JWK JSON string, a list of PEM texts, JWK dicts or file paths."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", "[")):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ConfigurationError(setting, "is not valid JSON") from exc
        elif "-----BEGIN" in text:  # PEM text, perhaps after its "kid:"/"alg:" lines
            return (text,)
        else:
            return tuple(part.strip() for part in text.split(",") if part.strip())
    if isinstance(value, dict):
        return (value,)
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return tuple(value)
    raise ConfigurationError(setting, f"expected keys as a list, JWK or JWKS, got {value!r}")
