"""Optional dependencies: the package each optional feature needs and the extra installing it."""

from __future__ import annotations

import importlib

from .errors import ConfigurationError

__all__ = ["require_backend"]

#: The pip extra that installs each backend.
_EXTRAS = {
    "prometheus": ("prometheus_client", "jwtmiddleware[prometheus]"),
    "opentelemetry": ("opentelemetry", "jwtmiddleware[otel]"),
}


def require_backend(kind: str, setting: str = "METRICS") -> None:
    """Raise ``ConfigurationError`` naming ``setting`` when ``kind``'s package is missing."""
    module, extra = _EXTRAS[kind]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ConfigurationError(
            setting, f"{kind} metrics need {module}: pip install '{extra}'"
        ) from exc
