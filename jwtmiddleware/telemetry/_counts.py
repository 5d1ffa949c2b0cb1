"""Local counts: what the request path increments, read by the exporters at collection time.

A request must not pay for a metrics library: a Prometheus child's ``inc()`` takes a lock and
costs about a microsecond, an OpenTelemetry ``Counter.add`` several. So the request path only
calls :attr:`Tally.add`, the ``__next__`` of an :class:`itertools.count` (one C call, atomic
under the GIL, no lock, no allocation), and Prometheus' collector or OpenTelemetry's
observable counters read the totals when they are scraped or collected.

The shortcut counts one thing per request it lets through: ``fast_reached`` (a verified token
reached the revocation check). Cache hits and allowed decisions are derived when read::

    allowed (shortcut) = fast_reached - fast_refused_after
    hits    (shortcut) = fast_reached - fast_verified

``fast_verified`` counts the tokens the shortcut had to verify (misses that passed), and
``fast_refused_after`` the shortcut's requests refused by the revocation check itself; the
full path counts ``full_verified`` (a verified caller) and ``full_misses_ok`` the same way.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable

from ..core.reasons import ALLOWED, OUTCOMES, REFUSED

__all__ = ["Counts", "Tally"]


class Tally:
    """A counter for the request path: :attr:`add` is one C call; :attr:`value` reads it."""

    __slots__ = ("_count", "add")

    def __init__(self) -> None:
        self._count = itertools.count()
        #: Count one (``itertools.count.__next__``: atomic under the GIL, no lock).
        self.add = self._count.__next__

    @property
    def value(self) -> int:
        """How many times :attr:`add` was called."""
        # "count(N)": the repr is the only read-only view of an itertools.count.
        return int(repr(self._count)[6:-1])


class Counts:
    """Every local count of one telemetry set (shared by the middleware reporting to it)."""

    def __init__(self, events: Iterable[str] = ()) -> None:
        #: Shortcut requests whose verified token reached the revocation check.
        self.fast_reached = Tally()
        #: Of those, refused by the check (revoked, or the store could not answer).
        self.fast_refused_after = Tally()
        #: Tokens the shortcut verified successfully (its cache misses that passed).
        self.fast_verified = Tally()
        #: Full-path requests with a verified caller (hit or miss).
        self.full_verified = Tally()
        #: Tokens the full path verified successfully.
        self.full_misses_ok = Tally()
        #: Verifications attempted (cache misses, whatever their outcome).
        self.misses = Tally()
        #: Full-path decisions that let the request through, by reason.
        self.passed = {reason: Tally() for reason in OUTCOMES[ALLOWED]}
        #: Refusals by reason (every path).
        self.refused = {reason: Tally() for reason in OUTCOMES[REFUSED]}
        #: Store calls that failed, by store method.
        self.store_errors: dict[str, Tally] = {}
        #: Auth events emitted, by name.
        self.events = {name: Tally() for name in events}
        self._lock = threading.Lock()

    def store_error(self, op: str) -> None:
        """Count a failed store call (``op``: the store method)."""
        tally = self.store_errors.get(op)
        if tally is None:
            with self._lock:
                tally = self.store_errors.setdefault(op, Tally())
        tally.add()

    def event(self, name: str) -> None:
        """Count an event (names outside the vocabulary are not counted: bounded labels)."""
        tally = self.events.get(name)
        if tally is not None:
            tally.add()

    # -- reading -----------------------------------------------------------------------------

    def decisions(self) -> dict[tuple[str, str], int]:
        """``(outcome, reason) -> count`` for every reason of the vocabulary."""
        reached = self.fast_reached.value
        allowed_fast = max(0, reached - self.fast_refused_after.value)
        out: dict[tuple[str, str], int] = {}
        for reason, tally in self.passed.items():
            value = tally.value
            if reason == "allowed":
                value += allowed_fast
            out[(ALLOWED, reason)] = value
        for reason, tally in self.refused.items():
            out[(REFUSED, reason)] = tally.value
        return out

    def cache(self) -> dict[str, int]:
        """``{"hit": n, "miss": n}``: requests answered from the verified-token cache, and
        tokens verified."""
        fast_hits = self.fast_reached.value - self.fast_verified.value
        full_hits = self.full_verified.value - self.full_misses_ok.value
        return {"hit": max(0, fast_hits) + max(0, full_hits), "miss": self.misses.value}

    def store_error_counts(self) -> dict[str, int]:
        """Failed store calls by store method."""
        return {op: tally.value for op, tally in list(self.store_errors.items())}

    def event_counts(self) -> dict[str, int]:
        """Events by name."""
        return {name: tally.value for name, tally in self.events.items()}
