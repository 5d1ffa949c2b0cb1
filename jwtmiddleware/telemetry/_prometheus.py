"""Prometheus: one collector per registry reads the local counts at scrape time; the two
histograms are ``prometheus_client`` histograms recorded directly (misses and store calls)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ._base import STORE_BUCKETS, VERIFY_BUCKETS, Telemetry

__all__ = ["PrometheusTelemetry"]

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, PrometheusTelemetry] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


class PrometheusTelemetry(Telemetry):
    """The instruments of one ``CollectorRegistry``; :meth:`for_registry` shares them."""

    kind = "prometheus"

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        verify = Histogram(
            "jwtmiddleware_verify_duration_seconds",
            "Time to verify a token that was not in the verified-token cache.",
            buckets=VERIFY_BUCKETS,
            registry=registry,
        )
        self._store = Histogram(
            "jwtmiddleware_store_duration_seconds",
            "Time of a call to the revocation/session store, by store method.",
            ["op"],
            buckets=STORE_BUCKETS,
            registry=registry,
        )
        self._observe_verify = verify.observe
        self._store_children: dict[str, Callable[[float], None]] = {}
        registry.register(_Collector(self))

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> PrometheusTelemetry:
        """The instruments registered in ``registry``, created on the first call."""
        with _lock:
            found = _by_registry.get(registry)
            if found is None:
                found = _by_registry[registry] = cls(registry)
            return found

    def observe_verify(self, seconds: float) -> None:
        self._observe_verify(seconds)

    def observe_store(self, op: str, seconds: float) -> None:
        observe = self._store_children.get(op)
        if observe is None:
            observe = self._store_children[op] = self._store.labels(op).observe
        observe(seconds)


def _counter(name: str, doc: str, labels: list[str], values: dict[Any, int]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in values.items():
        family.add_metric(list(key) if isinstance(key, tuple) else [key], value)
    return family


class _Collector(Collector):
    """Every counted metric of one :class:`PrometheusTelemetry`, read at scrape time."""

    def __init__(self, telemetry: PrometheusTelemetry) -> None:
        self._telemetry = telemetry

    def describe(self) -> Iterator[Metric]:
        return self._families(empty=True)

    def collect(self) -> Iterator[Metric]:
        return self._families(empty=False)

    def _families(self, *, empty: bool) -> Iterator[Metric]:
        t = self._telemetry
        c = t.counts

        def read(values: Callable[[], dict[Any, int]]) -> dict[Any, int]:
            return {} if empty else values()

        yield _counter("jwtmiddleware_decisions", "Requests decided, by outcome and reason.",
                       ["outcome", "reason"], read(c.decisions))  # fmt: skip
        yield _counter("jwtmiddleware_cache_requests",
                       "Verified tokens answered from the cache (hit) or verified (miss).",
                       ["result"], read(c.cache))  # fmt: skip
        yield _counter("jwtmiddleware_store_errors", "Store calls that failed, by store method.",
                       ["op"], read(t.store_errors))  # fmt: skip
        lag = GaugeMetricFamily(
            "jwtmiddleware_mirror_lag_seconds",
            "Seconds since the revocation mirror last confirmed it holds every revocation.",
        )
        value = None if empty else t.mirror_lag()
        if value is not None:
            lag.add_metric([], value)
        yield lag
        yield _counter("jwtmiddleware_mirror_resyncs", "Full reloads of the revocation mirror.",
                       ["reason"], read(t.mirror_resyncs))  # fmt: skip
        yield _counter("jwtmiddleware_jwks_fetches", "JWKS fetches, by result.", ["result"],
                       read(t.jwks_fetches))  # fmt: skip
        yield _counter("jwtmiddleware_session_events", "Auth events (OWASP names), by name.",
                       ["event"], read(c.event_counts))  # fmt: skip
