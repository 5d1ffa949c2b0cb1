"""The follower: one daemon thread per process and mirror that keeps the mirror current.

Each cycle it takes the time, reads where the store's log ends, applies what it has not seen,
and then confirms the mirror as current *as of the time taken before the read*; then it waits
for the log to move (Redis ``XREAD BLOCK``, SQLite ``PRAGMA data_version`` polling) at most
``STORE_MAX_LAG / 4``, so an idle store is confirmed four times per lag. Anything that breaks
the chain of the log forces a full resync before the mirror is trusted again: a new epoch (the
data was replaced or lost), a sequence that went backwards or diverged (a failover that lost
writes), a gap (a trimmed log), or a failure to reach the store (after a reconnect nothing
proves that no change was missed). The follower also writes session activity behind.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from typing import TYPE_CHECKING

from ._changes import ChangeLog, LogGap, LogPosition

if TYPE_CHECKING:
    from .mirror import Mirror

__all__ = ["Follower"]

logger = logging.getLogger("jwtmiddleware")

_monotonic = time.monotonic
#: Changes read per round trip while catching up.
_READ_BATCH = 1000
#: Seconds between expiry sweeps.
_SWEEP_INTERVAL = 5.0
#: A session's activity is written at most once per this many seconds.
_TOUCH_INTERVAL = 60.0
_TOUCH_MEMORY = 100_000
#: The longest a start-up waits for the first load when asked to wait "until done".
_MAX_FIRST_WAIT = 60.0


class _Resync(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Follower:
    """Keeps one :class:`~.mirror.Mirror` current from its store's change log."""

    def __init__(self, mirror: Mirror) -> None:
        self.mirror = mirror
        #: Seconds between confirmations of an idle store.
        self.interval = max(mirror.max_lag / 4, 0.001)
        self._stop = threading.Event()
        self._first = threading.Event()  # set once the first load succeeded or failed
        self._first_deadline = math.inf
        self._log: ChangeLog | None = None
        self._touched: dict[str, float] = {}
        self._next_sweep = 0.0
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="jwtmiddleware-mirror", daemon=True)
        self._ident_pid = 0

    def start(self) -> None:
        self._ident_pid = os.getpid()
        self._first_deadline = _monotonic() + self.mirror.timeout
        self._thread.start()

    def serving(self) -> bool:
        """Whether the thread runs in this process and was not asked to stop."""
        return (
            self._ident_pid == os.getpid() and self._thread.is_alive() and not self._stop.is_set()
        )

    def wait_first(self, timeout: float | None = None) -> None:
        """Wait for the first load to finish (or fail), at most ``timeout`` seconds; without
        one, at most until ``STORE_TIMEOUT`` after the follower started: requests arriving
        while it loads share that one window, so none waits longer."""
        if self._first.is_set():
            return
        left = self._first_deadline - _monotonic() if timeout is None else timeout
        if left > 0:
            self._first.wait(min(left, _MAX_FIRST_WAIT))

    def stop(self, timeout: float) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- the loop --------------------------------------------------------------------------------

    def _run(self) -> None:
        mirror = self.mirror
        reason: str | None = None if mirror.position is not None else "start"
        try:
            while not self._stop.is_set():
                try:
                    log = self._open()
                    if reason is not None:
                        self._resync(log, reason)
                        reason = None
                    position = self._catch_up(log)
                    self._recovered()
                    self._first.set()
                    self._housekeeping()
                    log.wait(position, self.interval)
                except _Resync as resync:
                    reason = resync.reason
                except LogGap:
                    reason = "gap"
                except Exception as exc:  # noqa: BLE001 - the follower must survive anything
                    self._failed(exc)
                    reason = "reconnect"
                    self._first.set()
                    self._stop.wait(min(self.interval, 0.25))
        finally:
            self._close()

    def _open(self) -> ChangeLog:
        if self._log is None:
            factory = self.mirror.log_factory
            assert factory is not None
            self._log = factory()
        return self._log

    def _close(self) -> None:
        log, self._log = self._log, None
        if log is not None:
            try:
                log.close()
            except Exception:
                logger.debug("closing the change log failed", exc_info=True)

    def _resync(self, log: ChangeLog, reason: str) -> None:
        mirror = self.mirror
        now = mirror.clock()
        position, batches = log.snapshot(now)
        known = mirror.position
        if known is not None and known.epoch != position.epoch:
            logger.error(
                "the store's data was replaced or lost (epoch %s -> %s): revocations it held "
                "may be gone for other processes; those this process knew are kept",
                known.epoch, position.epoch,
            )  # fmt: skip
        loaded = 0
        for batch in batches:
            mirror.apply(batch, now)
            loaded += len(batch)
        mirror.position = position
        mirror.resyncs[reason] += 1
        if reason == "start":
            logger.debug("revocation mirror loaded %d entries at seq %d", loaded, position.seq)
        else:
            logger.warning("revocation mirror resynced (%s): %d entries at seq %d",
                           reason, loaded, position.seq)  # fmt: skip

    def _catch_up(self, log: ChangeLog) -> LogPosition:
        mirror = self.mirror
        current = mirror.position
        assert current is not None
        at = _monotonic()
        end = log.position()
        if end.epoch != current.epoch:
            logger.warning(
                "the store's data was replaced or lost (epoch %s -> %s); revocations this "
                "process knew are kept, and the mirror reloads",
                current.epoch,
                end.epoch,
            )
            raise _Resync("epoch")
        if end.seq < current.seq:
            raise _Resync("regression")
        if end.seq == current.seq and end.cursor != current.cursor:
            raise _Resync("diverged")
        now = mirror.clock()
        while current.seq < end.seq:
            batch = log.read(current, _READ_BATCH)
            if not batch:
                raise LogGap("the log ends before its recorded position")
            for position, _ in batch:
                if position.seq != current.seq + 1 or position.epoch != current.epoch:
                    raise LogGap(f"expected seq {current.seq + 1}, read {position.seq}")
                current = position
            mirror.apply((change for _, change in batch), now)
            mirror.position = current
        mirror.confirm(at, current)
        return current

    def _housekeeping(self) -> None:
        mirror = self.mirror
        activity = mirror.take_activity() if mirror.activity else None
        if activity and mirror.touch is not None:
            self._write_activity(activity)
        mono = _monotonic()
        if mono >= self._next_sweep:
            self._next_sweep = mono + _SWEEP_INTERVAL
            mirror.sweep(mirror.clock())

    def _write_activity(self, activity: dict[str, float]) -> None:
        touch = self.mirror.touch
        assert touch is not None
        touched = self._touched
        if len(touched) > _TOUCH_MEMORY:
            touched.clear()
        for sid, at in activity.items():
            last = touched.get(sid)
            if last is not None and at - last < _TOUCH_INTERVAL:
                continue
            touched[sid] = at
            try:
                touch(sid, at)
            except Exception as exc:  # noqa: BLE001 - "last seen" is best effort
                self.mirror.errors["touch_session"] += 1
                logger.debug("could not record session activity: %s", exc)

    def _failed(self, exc: Exception) -> None:
        self.mirror.errors["follow"] += 1
        self.mirror.last_error = f"{type(exc).__name__}: {exc}"
        if not self._failing:
            self._failing = True
            logger.warning("revocation mirror cannot reach the store: %s", self.mirror.last_error)
        self._close()  # reconnect from scratch: nothing proves no change was missed

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            logger.warning("revocation mirror reached the store again")
