"""The revocation mirror: a store's revocation state held in every worker process.

A request asks the mirror, not the store: revoked tokens, revoked sessions and subject
watermarks are dictionary lookups (:meth:`Mirror.revoked`), with no socket, no lock and no
effect. The mirror is kept current by a follower thread (:mod:`._follow`) that loads a snapshot,
then follows the store's change log, and it knows how fresh it is: the follower confirms at
least every ``STORE_MAX_LAG / 4`` that it has applied everything the store holds, recording the
time taken *before* that read, and a mirror not confirmed within ``STORE_MAX_LAG`` refuses to
answer (:class:`~jwtmiddleware.errors.StoreStale`: the middleware's ``STORE_FAILURE`` policy).

Writes made in this process apply to every mirror of the same store at once
(:func:`publish_local`); writes made elsewhere arrive through the log. Applying is idempotent and
only ever adds or extends revocations, so a resync merges the snapshot into what the mirror
already holds: a store that lost data (a restart without persistence, a failover that lost
writes) never silently un-revokes a token this process knew about.

The request path's check itself is built in :mod:`._mirror_check`, and this process's registry
of mirrors (by store, and for ``fork()``) lives in :mod:`._mirror_registry`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

from ..core.errors import StoreStale, TokenRevoked
from ._changes import Change, ChangeLog, LogPosition, RevocationKeys
from ._mirror_check import revocation_checker
from ._mirror_registry import publish_local, register_mirror
from ._state import RevocationState

if TYPE_CHECKING:
    from ._follow import Follower

__all__ = ["Mirror", "publish_local"]

_monotonic = time.monotonic
#: Most session ids whose activity waits to be written behind.
_ACTIVITY_MEMORY = 100_000


class Mirror:
    """A process-local, self-refreshing copy of a store's revocations.

    Build it through :meth:`Store.mirror <jwtmiddleware.stores.Store.mirror>`. Without a
    ``log_factory`` it is the live state of an in-process store and always fresh.

    :param max_lag: ``STORE_MAX_LAG``: the longest a request may rely on a view of the store
        not confirmed current.
    :param timeout: ``STORE_TIMEOUT``: how long a request waits for a mirror that is loading.
    :param log_factory: opens a reader of the store's change log (called in the follower).
    :param touch: writes one session's activity to the store (``touch_session``).
    :param identity: names the store, so this process's writes reach the mirror at once.
    :param clock: the UNIX time for expiry (the middleware's clock).
    :param state: the state to serve (an in-process store's own).
    """

    def __init__(
        self,
        *,
        max_lag: float,
        timeout: float,
        log_factory: Callable[[], ChangeLog] | None = None,
        touch: Callable[[str, float], object] | None = None,
        identity: Hashable = None,
        clock: Callable[[], float] = time.time,
        state: RevocationState | None = None,
    ) -> None:
        #: The revocations held (read by requests without a lock).
        self.state = state if state is not None else RevocationState()
        #: ``STORE_MAX_LAG``, in seconds.
        self.max_lag = max_lag
        #: ``STORE_TIMEOUT``, in seconds.
        self.timeout = timeout
        #: The UNIX clock expiry is judged by.
        self.clock = clock
        #: Monotonic time until which the mirror may answer (``inf``: an in-process store).
        self.fresh_until = -math.inf if log_factory is not None else math.inf
        #: Monotonic time of the last confirmation.
        self.confirmed_at: float | None = None
        #: Where the mirror stands in the store's log.
        self.position: LogPosition | None = None
        #: Resyncs by reason (``start``, ``epoch``, ``gap``, ``reconnect``, ...).
        self.resyncs: Counter[str] = Counter()
        #: The follower's failed store calls, by op (``follow``: reading the log or snapshot;
        #: ``touch_session``: writing activity behind), for ``store_errors`` metrics.
        self.errors: Counter[str] = Counter()
        #: The last failure of the follower (``None`` once it confirmed again).
        self.last_error: str | None = None
        #: Session id → UNIX time last seen, waiting to be written behind by the follower.
        self.activity: dict[str, float] = {}
        self.log_factory = log_factory
        self.touch = touch
        self.identity = identity
        self._follower: Follower | None = None
        self._write_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._abandoned: list[object] = []  # inherited across fork(): kept, never closed
        self._stopped = False
        self._strict = self.checker(_refuse)
        register_mirror(self, identity)

    def __repr__(self) -> str:
        return f"<Mirror {self.identity!r} max_lag={self.max_lag}>"

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called (the app is shutting down) and not restarted."""
        return self._stopped

    @property
    def followed(self) -> bool:
        """Whether a follower keeps this mirror current (false for an in-process store)."""
        return self.log_factory is not None

    # -- the request path ----------------------------------------------------------------------

    def checker(
        self, on_stale: Callable[[StoreStale], None]
    ) -> Callable[[RevocationKeys, float], None]:
        """The request path's check, as one closure: ``check(keys, now)`` raises
        :class:`~jwtmiddleware.errors.TokenRevoked` when the token, its session or its subject
        was revoked, and records the session's activity for the follower to write behind.

        :param on_stale: called with :class:`~jwtmiddleware.errors.StoreStale` when the mirror
            is older than ``STORE_MAX_LAG`` (and did not become fresh within
            ``STORE_TIMEOUT`` while starting): raise to refuse the request, return to let it
            through unchecked (``STORE_FAILURE = "open"``).
        """
        return revocation_checker(self, on_stale)

    def revoked(self, keys: RevocationKeys, now: float) -> bool:
        """Whether the token these keys describe is revoked (see :meth:`checker`).

        :raises StoreStale: the mirror is older than ``STORE_MAX_LAG``.
        """
        try:
            self._strict(keys, now)
        except TokenRevoked:
            return True
        return False

    def _when_stale(self) -> None:
        follower = self._follower
        if follower is None or not follower.serving():
            if self._stopped:
                raise StoreStale("the revocation mirror was stopped (the app is shutting down)")
            follower = self.start()
        follower.wait_first()
        if _monotonic() < self.fresh_until:
            return
        confirmed = self.confirmed_at
        age = "never confirmed" if confirmed is None else f"{_monotonic() - confirmed:.2f} s old"
        raise StoreStale(f"revocation mirror {age} (STORE_MAX_LAG = {self.max_lag} s)")

    # -- writing -------------------------------------------------------------------------------

    def apply(self, changes: Iterable[Change], now: float) -> None:
        """Merge changes (this process's writes, or the follower's reads)."""
        with self._write_lock:
            apply = self.state.apply
            for change in changes:
                apply(change, now)

    def sweep(self, now: float) -> int:
        """Drop expired entries; return how many went."""
        with self._write_lock:
            return self.state.sweep(now)

    def confirm(self, at: float, position: LogPosition) -> None:
        """Record that everything the store held at monotonic time ``at`` is applied."""
        self.position = position
        self.confirmed_at = at
        self.fresh_until = at + self.max_lag
        self.last_error = None

    def take_activity(self) -> dict[str, float]:
        """The session activity recorded since the last call (for writing behind). The dict
        stays the same object (the request path holds it); an entry recorded between the copy
        and the clear is lost, which costs one "last seen" update at most."""
        taken = self.activity.copy()
        self.activity.clear()
        return taken

    def forget_activity_if_large(self) -> None:
        """Bound the activity memory when nobody writes it behind (an in-process store)."""
        if len(self.activity) > _ACTIVITY_MEMORY:
            self.activity.clear()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Follower:
        """Start following the store's log in this process (idempotent); return the follower."""
        from ._follow import Follower

        with self._start_lock:
            follower = self._follower
            if follower is not None and follower.serving():
                return follower
            if self.log_factory is None:
                raise RuntimeError("an in-process store's mirror has nothing to follow")
            self._stopped = False
            follower = self._follower = Follower(self)
            follower.start()
            return follower

    def wait_ready(self, timeout: float) -> bool:
        """Start if needed and wait until the first load finished (or failed) or ``timeout``
        passed; return whether the mirror is fresh."""
        if not self.followed:
            return True
        self.start().wait_first(timeout)
        return _monotonic() < self.fresh_until

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the follower (it closes its connection); the mirror turns stale."""
        with self._start_lock:
            follower, self._follower = self._follower, None
            self._stopped = True
        if follower is not None:
            follower.stop(timeout)
        if self.followed:
            self.fresh_until = -math.inf

    def status(self) -> dict[str, Any]:
        """Freshness, size and log position, for health checks and ``STATUS_PATH``."""
        now = _monotonic()
        follower = self._follower
        position = self.position
        return {
            "mode": "mirror" if self.followed else "in-process",
            "fresh": now < self.fresh_until,
            "lag": None if self.confirmed_at is None else round(now - self.confirmed_at, 6),
            "max_lag": self.max_lag,
            "entries": self.state.counts(),
            "position": None if position is None else position._asdict(),
            "resyncs": sum(self.resyncs.values()),
            "resync_reasons": dict(self.resyncs),
            "errors": dict(self.errors),
            "last_error": self.last_error,
            "following": follower is not None and follower.serving(),
        }

    def _after_fork(self) -> None:
        self._write_lock = threading.Lock()
        self._start_lock = threading.Lock()
        if self._follower is not None:
            self._abandoned.append(self._follower)
            self._follower = None
        if self.followed:
            self.fresh_until = -math.inf
        self.activity.clear()


def _refuse(exc: StoreStale) -> None:
    raise exc
