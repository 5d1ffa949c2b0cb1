"""Metrics and trace annotations: Prometheus (``METRICS = "prometheus"``) or OpenTelemetry
(``METRICS = "opentelemetry"``), recorded the same way.

Instruments (Prometheus names; OpenTelemetry uses ``jwtmiddleware.decisions``,
``jwtmiddleware.verify.duration``, ... on the meter ``jwtmiddleware``):

- ``jwtmiddleware_decisions_total{outcome,reason}``: every decision; ``reason`` from
  :data:`jwtmiddleware.reasons.REASONS`.
- ``jwtmiddleware_verify_duration_seconds``: token verifications (cache misses only).
- ``jwtmiddleware_cache_requests_total{result}``: ``hit`` or ``miss``.
- ``jwtmiddleware_store_duration_seconds{op}``, ``jwtmiddleware_store_errors_total{op}``:
  store calls by store method (and the mirror follower's failures: ``op="follow"``).
- ``jwtmiddleware_mirror_lag_seconds``, ``jwtmiddleware_mirror_resyncs_total{reason}``.
- ``jwtmiddleware_jwks_fetches_total{result}``: ``ok``, ``not_modified`` or ``error``.
- ``jwtmiddleware_session_events_total{event}``: the auth events of :mod:`jwtmiddleware.events`.

No label holds a user id, a path or any other unbounded value. The request path increments
local counts only (see :mod:`._counts`); the exporters read them at collection time.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from ..core._optional import require_backend
from ..core.errors import ConfigurationError
from ._base import Telemetry, annotating
from ._log import RefusalLog, already_reported, jti_hash, mark_reported, scrub

if TYPE_CHECKING:
    from ..core.settings import Settings

__all__ = [
    "RefusalLog",
    "Telemetry",
    "already_reported",
    "annotating",
    "jti_hash",
    "mark_reported",
    "require_backend",
    "scrub",
    "telemetry_for",
]


def _is_instance(value: Any, module: str, name: str) -> bool:
    if importlib.util.find_spec(module.split(".")[0]) is None:
        return False
    found = getattr(importlib.import_module(module), name)
    return isinstance(value, found)


def telemetry_for(settings: Settings, metrics: Any = None) -> Telemetry | None:
    """The shared instrument set for ``METRICS`` or for ``metrics``, else ``None`` (off).

    :param metrics: a ``prometheus_client.CollectorRegistry``, an OpenTelemetry
        ``MeterProvider``, or a :class:`Telemetry` already built; ``None`` follows
        ``METRICS`` (the default registry, or the global meter provider).
    """
    if isinstance(metrics, Telemetry):
        return metrics
    if metrics is None:
        kind = settings.metrics
        if kind is None:
            return None
        require_backend(kind)
        if kind == "prometheus":
            from prometheus_client import REGISTRY

            from ._prometheus import PrometheusTelemetry

            return PrometheusTelemetry.for_registry(REGISTRY)
        from opentelemetry.metrics import get_meter_provider

        from ._otel import OpenTelemetryTelemetry

        return OpenTelemetryTelemetry.for_provider(get_meter_provider())
    if _is_instance(metrics, "prometheus_client", "CollectorRegistry"):
        from ._prometheus import PrometheusTelemetry

        return PrometheusTelemetry.for_registry(metrics)
    if _is_instance(metrics, "opentelemetry.metrics", "MeterProvider"):
        from ._otel import OpenTelemetryTelemetry

        return OpenTelemetryTelemetry.for_provider(metrics)
    raise ConfigurationError(
        "METRICS",
        f"metrics= takes a prometheus_client CollectorRegistry, an OpenTelemetry MeterProvider "
        f"or None, not {type(metrics).__name__}",
    )
