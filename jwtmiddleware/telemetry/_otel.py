"""OpenTelemetry: observable counters and a gauge read the local counts when the SDK collects;
the two histograms are recorded directly (misses and store calls). Only ``opentelemetry-api``
is imported: the application installs and configures the SDK."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

from ._base import STORE_BUCKETS, VERIFY_BUCKETS, Telemetry

__all__ = ["OpenTelemetryTelemetry"]

_by_provider: weakref.WeakKeyDictionary[MeterProvider, OpenTelemetryTelemetry] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def _observations(
    values: Callable[[], Mapping[Any, int | float]], *labels: str
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        out = []
        for key, value in values().items():
            parts = key if isinstance(key, tuple) else (key,)
            out.append(Observation(value, dict(zip(labels, parts, strict=True))))
        return out

    return callback


class OpenTelemetryTelemetry(Telemetry):
    """The instruments of one meter provider's ``jwtmiddleware`` meter; :meth:`for_provider`
    shares them."""

    kind = "opentelemetry"

    def __init__(self, provider: MeterProvider) -> None:
        super().__init__()
        from ..core._version import __version__

        meter = provider.get_meter("jwtmiddleware", __version__)
        c = self.counts
        meter.create_observable_counter(
            "jwtmiddleware.decisions", [_observations(c.decisions, "outcome", "reason")],
            unit="{request}", description="Requests decided, by outcome and reason.",
        )  # fmt: skip
        verify = meter.create_histogram(
            "jwtmiddleware.verify.duration", unit="s",
            description="Time to verify a token that was not in the verified-token cache.",
            explicit_bucket_boundaries_advisory=VERIFY_BUCKETS,
        )  # fmt: skip
        meter.create_observable_counter(
            "jwtmiddleware.cache.requests", [_observations(c.cache, "result")],
            unit="{request}", description="Verified tokens answered from the cache or verified.",
        )  # fmt: skip
        self._store = meter.create_histogram(
            "jwtmiddleware.store.duration", unit="s",
            description="Time of a call to the revocation/session store, by store method.",
            explicit_bucket_boundaries_advisory=STORE_BUCKETS,
        )  # fmt: skip
        meter.create_observable_counter(
            "jwtmiddleware.store.errors", [_observations(self.store_errors, "op")],
            unit="{call}", description="Store calls that failed, by store method.",
        )  # fmt: skip
        meter.create_observable_gauge(
            "jwtmiddleware.mirror.lag", [self._lag], unit="s",
            description="Seconds since the revocation mirror last confirmed it is current.",
        )  # fmt: skip
        meter.create_observable_counter(
            "jwtmiddleware.mirror.resyncs", [_observations(self.mirror_resyncs, "reason")],
            unit="{resync}", description="Full reloads of the revocation mirror.",
        )  # fmt: skip
        meter.create_observable_counter(
            "jwtmiddleware.jwks.fetches", [_observations(self.jwks_fetches, "result")],
            unit="{fetch}", description="JWKS fetches, by result.",
        )  # fmt: skip
        meter.create_observable_counter(
            "jwtmiddleware.session.events", [_observations(c.event_counts, "event")],
            unit="{event}", description="Auth events (OWASP names), by name.",
        )  # fmt: skip
        self._record_verify = verify.record
        self._op_attributes: dict[str, dict[str, str]] = {}
        self._current_span = trace.get_current_span

    @classmethod
    def for_provider(cls, provider: MeterProvider) -> OpenTelemetryTelemetry:
        """The instruments of ``provider``, created on the first call."""
        with _lock:
            found = _by_provider.get(provider)
            if found is None:
                found = _by_provider[provider] = cls(provider)
            return found

    def _lag(self, options: CallbackOptions) -> Iterable[Observation]:
        lag = self.mirror_lag()
        return [] if lag is None else [Observation(lag)]

    def observe_verify(self, seconds: float) -> None:
        self._record_verify(seconds)

    def observe_store(self, op: str, seconds: float) -> None:
        attributes = self._op_attributes.get(op)
        if attributes is None:
            attributes = self._op_attributes[op] = {"op": op}
        self._store.record(seconds, attributes)

    def annotate_refusal(
        self, reason: str, claims: Mapping[str, Any] | None, record_subject: bool
    ) -> None:
        span = self._current_span()
        if not span.is_recording():
            return
        span.set_attribute("error.type", reason)
        if record_subject and claims is not None:
            subject = claims.get("sub")
            if isinstance(subject, str):
                span.set_attribute("enduser.id", subject)

    def annotate_subject(self, subject: str | None) -> None:
        if subject is None:
            return
        span = self._current_span()
        if span.is_recording():
            span.set_attribute("enduser.id", subject)
