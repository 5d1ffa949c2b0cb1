"""The store interface: token revocation, device sessions and one-time markers.

Every method takes the current time as ``now`` (a float UNIX timestamp): the caller owns the
clock, so the sans-IO core and the tests can drive a store deterministically. Each sync method
has an async twin with an ``a`` prefix; the base class runs the sync method in a worker thread,
and a store with a native async client (Redis) overrides the twins.

:class:`Store` is assembled in layers: the records it passes around (:mod:`._records`), its
abstract sync methods (:mod:`._store_methods`), their async twins (:mod:`._store_async`), and
here the hooks that give every store with a change log a per-process :class:`~.mirror.Mirror`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING

from ._records import RevocationQuery, SessionInfo, SessionStart
from ._store_async import AsyncTwins

if TYPE_CHECKING:
    from ._changes import Change, ChangeLog
    from ._checks import Finding
    from .mirror import Mirror

__all__ = ["RevocationQuery", "SessionInfo", "SessionStart", "Store"]


class Store(AsyncTwins):
    """Revocation list, session registry and one-time markers shared by all workers.

    Implementations must be safe to call from several threads (and, for the shared backends,
    several processes). Backing-service failures raise
    :class:`~jwtmiddleware.errors.StoreUnavailable` so the middleware can fail closed.
    """

    _mirror: Mirror | None = None
    _mirror_lock = threading.Lock()

    # -- the change log and the mirror ----------------------------------------------------------

    def open_change_log(self) -> ChangeLog:
        """A new reader of this store's change log, for one mirror's follower.

        Stores that keep no change log raise :class:`NotImplementedError`; their callers ask the
        store on every request instead of mirroring it.
        """
        raise NotImplementedError(f"{type(self).__name__} keeps no change log")

    @property
    def log_identity(self) -> Hashable:
        """Names the data this store object reads and writes: two store objects with the same
        identity (the same SQLite file, the same Redis keys) share their local writes."""
        return ("store", id(self))

    def mirror(
        self,
        *,
        max_lag: float,
        timeout: float = 0.1,
        clock: Callable[[], float] = time.time,
    ) -> Mirror | None:
        """This process's mirror of the store's revocations, created on the first call and
        shared by every later caller; ``None`` when the store keeps no change log.

        The mirror starts following the store lazily (on the first request that needs it) or
        when :meth:`Mirror.start <jwtmiddleware.stores.mirror.Mirror.start>` is called, e.g. at
        ASGI lifespan start-up.

        :param max_lag: ``STORE_MAX_LAG``: how stale the mirror may be before it refuses to
            answer; a later caller may lower it, never raise it.
        :param timeout: ``STORE_TIMEOUT``: how long a request waits for a mirror still loading.
        :param clock: UNIX time, for expiry (the middleware's clock).
        """
        with Store._mirror_lock:
            mirror = self._mirror
            if mirror is None:
                mirror = self._mirror = self._new_mirror(max_lag, timeout, clock)
            elif max_lag < mirror.max_lag:
                mirror.max_lag = max_lag
            return mirror

    def _new_mirror(
        self, max_lag: float, timeout: float, clock: Callable[[], float]
    ) -> Mirror | None:
        if type(self).open_change_log is Store.open_change_log:
            return None  # no change log to follow
        from .mirror import Mirror

        def touch(session_id: str, at: float) -> object:
            return self.touch_session(session_id, now=at)

        return Mirror(max_lag=max_lag, timeout=timeout, log_factory=self.open_change_log,
                      touch=touch, identity=self.log_identity, clock=clock)  # fmt: skip

    def check(self) -> list[Finding]:
        """Start-up checks: does the store answer, can it lose revocations? Only reports
        (see ``STORE_CHECKS``); the base store has nothing to check."""
        return []

    def status(self) -> dict[str, object]:
        """This store object and its mirror's state in this process, for health checks:
        ``{"store": repr, "mirror": None or Mirror.status()}``."""
        mirror = self._mirror
        return {"store": repr(self), "mirror": None if mirror is None else mirror.status()}

    def _published(self, changes: Iterable[Change], now: float) -> None:
        """Apply changes this store just wrote to every mirror of it in this process."""
        from ._mirror_registry import publish_local

        publish_local(self.log_identity, changes, now)

    def _stop_mirror(self) -> None:
        mirror = self._mirror
        if mirror is not None:
            mirror.stop()
