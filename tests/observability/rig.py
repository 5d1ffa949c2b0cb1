"""The real middleware with its own metrics: a Prometheus registry or an OpenTelemetry SDK
meter provider per test, read back through the libraries' own readers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware, Settings
from jwtmiddleware.stores.base import Store
from jwtmiddleware.testing import FrozenClock, mint_token
from tests.http.harness import NOW, ASGIClient, Echo, WSGIClient

__all__ = [
    "NOW",
    "SECRET",
    "Events",
    "OTel",
    "Rig",
    "make_settings",
    "mint",
    "prometheus_names",
    "refusal_lines",
]

SECRET = "an HS256 test secret of 32+ bytes, not for production"


def make_settings(**changes: Any) -> Settings:
    changes.setdefault("cookie_name_prefix", False)
    changes.setdefault("issuer", "https://issuer.test")
    return Settings(secret=SECRET, algorithms=["HS256"], **changes)


def mint(config: Settings, claims: dict[str, Any] | None = None, **kw: Any) -> str:
    kw.setdefault("now", NOW)
    return mint_token(config, claims, **kw)


@dataclass
class Events:
    """An ``EVENT_HOOK`` that records every event."""

    seen: list[Any] = field(default_factory=list)

    def __call__(self, event: Any) -> None:
        self.seen.append(event)

    def names(self) -> list[str]:
        return [e.name for e in self.seen]


class _ASGI(ASGIClient):
    def __init__(self, settings: Settings, clock: Callable[[], float], **kw: Any) -> None:
        self.echo = Echo()
        self.app = self._echo_app
        self.middleware = JWTMiddleware(self._recording_app, settings=settings, clock=clock, **kw)


class _WSGI(WSGIClient):
    def __init__(self, settings: Settings, clock: Callable[[], float], **kw: Any) -> None:
        self.echo = Echo()
        self.app = self._echo_app
        self.middleware = JWTWSGIMiddleware(
            self._recording_app, settings=settings, clock=clock, **kw
        )


class OTel:
    """An OpenTelemetry SDK meter provider read by an in-memory reader, and a tracer whose
    spans land in an in-memory exporter."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader])
        self.spans = InMemorySpanExporter()
        tracing = TracerProvider()
        tracing.add_span_processor(SimpleSpanProcessor(self.spans))
        self.tracer = tracing.get_tracer("tests")

    def metrics(self) -> dict[str, dict[frozenset[tuple[str, Any]], Any]]:
        """Every data point collected now: ``{name: {attributes: value or histogram}}``."""
        out: dict[str, dict[frozenset[tuple[str, Any]], Any]] = {}
        data = self.reader.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                assert scope.scope.name == "jwtmiddleware"
                for metric in scope.metrics:
                    points = out.setdefault(metric.name, {})
                    for point in metric.data.data_points:
                        key = frozenset((point.attributes or {}).items())
                        points[key] = getattr(point, "value", point)
        return out

    def value(self, name: str, **attributes: str) -> Any:
        return self.metrics().get(name, {}).get(frozenset(attributes.items()), 0)


def prometheus_names(registry: CollectorRegistry) -> set[str]:
    """The metric family names ``generate_latest`` exposes (``# TYPE`` lines)."""
    text = generate_latest(registry).decode()
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("authentication refused:")]


class Rig:
    """One middleware (``asgi`` or ``wsgi``) reporting to its own metrics.

    :param backend: ``"prometheus"`` (a fresh ``CollectorRegistry``) or ``"opentelemetry"``
        (a fresh SDK meter provider).
    """

    def __init__(
        self,
        kind: str,
        settings: Settings,
        *,
        backend: str = "prometheus",
        store: Store | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.kind = kind
        self.settings = settings
        self.clock = clock if clock is not None else FrozenClock(NOW)
        self.registry = CollectorRegistry()
        self.otel = OTel()
        metrics: Any = self.registry if backend == "prometheus" else self.otel.provider
        client = _ASGI if kind == "asgi" else _WSGI
        self.client = client(settings, self.clock, store=store, metrics=metrics)
        self.middleware: Any = self.client.middleware

    def sample(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value

    def decisions(self) -> dict[tuple[str, str], float]:
        """Non-zero ``jwtmiddleware_decisions_total`` samples by ``(outcome, reason)``."""
        out = {}
        for metric in self.registry.collect():
            if metric.name != "jwtmiddleware_decisions":
                continue
            for sample in metric.samples:
                if sample.value:
                    out[(sample.labels["outcome"], sample.labels["reason"])] = sample.value
        return out
