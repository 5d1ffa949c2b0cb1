"""Settings for the adapter: from the environment, a ``Settings`` object or an UPPER_CASE mapping.

Settings are validated when :class:`~starlette_jwtmiddleware.JWTAuth` is built, so a mistake
stops the application at start-up. The core's :class:`~jwtmiddleware.ConfigurationError` is
re-raised with a hint saying where the bad value came from and how a Starlette or FastAPI app
sets it (an environment variable, a mapping key, or a ``Settings`` argument).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from jwtmiddleware import ConfigurationError, Settings
from jwtmiddleware.integration import ENV_PREFIX

__all__ = ["SettingsSource", "load_settings"]

#: What :class:`~starlette_jwtmiddleware.JWTAuth` accepts as ``settings``.
SettingsSource = Settings | Mapping[str, Any] | None

_PREFIX = "starlette_jwtmiddleware"


def load_settings(source: SettingsSource, environ: Mapping[str, str] | None = None) -> Settings:
    """Build and validate :class:`~jwtmiddleware.Settings` from ``source``.

    :param source: ``None`` (read ``JWTMIDDLEWARE_*`` environment variables), a
        :class:`~jwtmiddleware.Settings`, or an UPPER_CASE mapping (``{"SECRET": ...}``).
    :param environ: the environment to read when ``source`` is ``None`` (default ``os.environ``).
    :raises ConfigurationError: naming the setting, with a hint on where to fix it.
    """
    if isinstance(source, Settings):
        return source
    try:
        if source is None:
            return Settings.from_env(os.environ if environ is None else environ)
        if isinstance(source, Mapping):
            return Settings.from_mapping(source)
    except ConfigurationError as exc:
        raise _flavoured(exc, source) from exc
    raise ConfigurationError(
        "SETTINGS",
        f"{_PREFIX}.JWTAuth(settings=...) takes a jwtmiddleware.Settings, an UPPER_CASE "
        f"mapping or None (environment variables), not {type(source).__name__}",
    )


def _flavoured(exc: ConfigurationError, source: Mapping[str, Any] | None) -> ConfigurationError:
    setting = exc.setting
    if source is None:
        where = (
            f"{_PREFIX} read its settings from the environment: fix the variable "
            f"{ENV_PREFIX}{setting}, or pass JWTAuth(settings=Settings(...))"
        )
    else:
        where = f"fix the key {setting!r} of the mapping given to JWTAuth(settings=...)"
    return ConfigurationError(setting, f"{exc.message} ({where})")
