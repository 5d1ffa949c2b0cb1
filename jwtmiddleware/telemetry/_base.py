"""The instrument set every middleware and session manager reports to (one per registry or
meter provider), and the wrappers that put its counting on the request path."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Generator, Mapping
from types import GeneratorType
from typing import TYPE_CHECKING, Any

from ..core.reasons import ALLOWED
from ._counts import Counts
from .events import EVENTS

if TYPE_CHECKING:
    from ..core.effects import Effect
    from ..http.decision import AuthResult
    from ..http.sources import RequestView
    from ..keysets import RemoteKeySetCache
    from ..stores.mirror import Mirror

__all__ = ["Telemetry", "annotating"]

_perf = time.perf_counter
#: Buckets of ``verify_duration`` (seconds): a cache miss costs microseconds.
VERIFY_BUCKETS = (5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2)
#: Buckets of ``store_duration`` (seconds).
STORE_BUCKETS = (1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0)

#: The fast lane's last step: a result, or the flow (generator) that finishes it.
Settle = Callable[["AuthResult", float], Any]


def _refusals_counted(
    flow: Generator[Effect, Any, Any], refused: Callable[[], object]
) -> Generator[Effect, Any, Any]:
    try:
        return (yield from flow)
    except Exception:
        refused()
        raise


class Telemetry:
    """One set of instruments, shared by every middleware and session manager reporting to
    the same Prometheus registry or OpenTelemetry meter provider (so two middlewares in one
    process never register a metric twice).

    Build it with :func:`jwtmiddleware.telemetry.telemetry_for`; subclasses export the same
    counts to Prometheus or OpenTelemetry. The request path only touches local counts
    (:mod:`._counts`); histograms are recorded on cache misses and store calls.
    """

    #: ``"prometheus"`` or ``"opentelemetry"``.
    kind = ""

    def __init__(self) -> None:
        #: The local counts the exporters read.
        self.counts = Counts(EVENTS)
        self._mirrors: weakref.WeakSet[Mirror] = weakref.WeakSet()
        self._key_caches: weakref.WeakSet[RemoteKeySetCache] = weakref.WeakSet()

    # -- what the backends record directly ---------------------------------------------------

    def observe_verify(self, seconds: float) -> None:
        """Record one token verification (a cache miss) that took ``seconds``."""

    def observe_store(self, op: str, seconds: float) -> None:
        """Record one store call ``op`` (the store method) that took ``seconds``."""

    def annotate_refusal(
        self, reason: str, claims: Mapping[str, Any] | None, record_subject: bool
    ) -> None:
        """Describe a refusal on the current trace span (OpenTelemetry only)."""

    def annotate_subject(self, subject: str | None) -> None:
        """Put the caller's subject on the current trace span (OpenTelemetry only)."""

    # -- what is read at collection time -----------------------------------------------------

    def watch_mirror(self, mirror: Mirror) -> None:
        """Report ``mirror``'s lag, resyncs and follower errors (held weakly)."""
        self._mirrors.add(mirror)

    def watch_keys(self, cache: RemoteKeySetCache) -> None:
        """Report ``cache``'s JWKS fetches (held weakly)."""
        self._key_caches.add(cache)

    def mirror_lag(self) -> float | None:
        """Seconds since the stalest followed mirror was confirmed current (``inf`` if it never
        was); ``None`` when no mirror is followed."""
        worst: float | None = None
        for mirror in list(self._mirrors):
            status = mirror.status()
            if status["mode"] != "mirror":
                lag = 0.0
            elif not status["following"]:
                continue  # not started yet, or stopped with its app
            else:
                lag = float("inf") if status["lag"] is None else float(status["lag"])
            worst = lag if worst is None else max(worst, lag)
        return worst

    def mirror_resyncs(self) -> dict[str, int]:
        """Resyncs of every watched mirror, by reason."""
        out: dict[str, int] = {}
        for mirror in list(self._mirrors):
            for reason, count in list(mirror.resyncs.items()):
                out[reason] = out.get(reason, 0) + count
        return out

    def store_errors(self) -> dict[str, int]:
        """Failed store calls by op: the drivers' and the mirrors' followers'."""
        out = self.counts.store_error_counts()
        for mirror in list(self._mirrors):
            for op, count in list(mirror.errors.items()):
                out[op] = out.get(op, 0) + count
        return out

    def jwks_fetches(self) -> dict[str, int]:
        """JWKS fetches of every watched remote key set, by result."""
        out = {"ok": 0, "not_modified": 0, "error": 0}
        for cache in list(self._key_caches):
            for result, count in list(cache.fetch_results.items()):
                out[result] = out.get(result, 0) + count
        return out

    # -- the request path --------------------------------------------------------------------

    def counted_settle(self, settle: Settle) -> Settle:
        """The fast lane's last step (revocation: the mirror's lookups or the store asked),
        counting the verified requests that reach it and those it refuses."""
        reached = self.counts.fast_reached.add
        refused_after = self.counts.fast_refused_after.add

        def counted(verified: AuthResult, now: float) -> Any:
            reached()
            try:
                decided = settle(verified, now)
            except Exception:
                refused_after()
                raise
            if type(decided) is GeneratorType:
                return _refusals_counted(decided, refused_after)
            return decided

        return counted

    def timed_verification(self, verify: Callable[..., AuthResult]) -> Callable[..., AuthResult]:
        """``Authenticator._verified`` timed into ``verify_duration`` and counted as a miss."""
        misses, observe = self.counts.misses.add, self.observe_verify
        fast_ok, full_ok = self.counts.fast_verified.add, self.counts.full_misses_ok.add

        def verified(token: str, source: str, now: float, header: Any = None) -> AuthResult:
            misses()
            start = _perf()
            try:
                result = verify(token, source, now, header)
            finally:
                observe(_perf() - start)
            if header is None:
                full_ok()
            else:
                fast_ok()
            return result

        return verified

    def counted_verify(
        self, verify: Callable[[RequestView, float, str], AuthResult | None]
    ) -> Callable[[RequestView, float, str], AuthResult | None]:
        """``Authenticator._verify`` (the full path), counting the requests with a verified
        caller (hits and misses alike)."""
        verified = self.counts.full_verified.add

        def counted(view: RequestView, now: float, rule: str) -> AuthResult | None:
            result = verify(view, now, rule)
            if result is not None:
                verified()
            return result

        return counted

    def decided(self, result: AuthResult) -> None:
        """Count a full-path decision that lets the request through."""
        if result.exempt:
            reason = "exempt"
        elif not result.identity.is_authenticated:
            reason = "anonymous"
        else:
            reason = ALLOWED
        self.counts.passed[reason].add()

    def refused(self, reason: str) -> None:
        """Count a refusal (``reason`` from :data:`~jwtmiddleware.reasons.REASONS`)."""
        self.counts.refused[reason].add()

    def store_call(self, op: str, seconds: float, ok: bool) -> None:
        """Record a store call made by a driver."""
        self.observe_store(op, seconds)
        if not ok:
            self.counts.store_error(op)

    # -- reading everything at once (tests, the benchmark) -----------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Every count as plain data."""
        return {
            "decisions": {f"{o}/{r}": n for (o, r), n in self.counts.decisions().items() if n},
            "cache": self.counts.cache(),
            "store_errors": self.store_errors(),
            "mirror_lag": self.mirror_lag(),
            "mirror_resyncs": self.mirror_resyncs(),
            "jwks_fetches": self.jwks_fetches(),
            "events": {k: v for k, v in self.counts.event_counts().items() if v},
        }


def annotating(app: Any, telemetry: Telemetry) -> Any:
    """``app`` called after the caller's subject was put on the current trace span (the
    identity is in the ASGI scope or WSGI environ the middleware passes)."""

    def annotated(first: Any, *args: Any) -> Any:
        identity = first.get("jwtmiddleware.identity")
        if identity is not None and identity.is_authenticated:
            telemetry.annotate_subject(identity.subject)
        return app(first, *args)

    return annotated
