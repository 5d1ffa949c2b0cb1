"""Reading the Redis store's change log, for one mirror's follower thread.

The reader has a client of its own, because it blocks: :meth:`RedisChangeLog.wait` is ``XREAD
BLOCK`` on the log stream, which returns as soon as a change is appended (so a revocation made
anywhere reaches this process in about one round trip) or after the follower's interval. Its
socket timeout covers that wait plus the store's timeout, so a server that hangs is noticed by
the follower as a failure, while requests see the mirror turn stale after ``STORE_MAX_LAG``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._changes import SESSION, SUBJECT, TOKEN, Change, ChangeLog, LogGap, LogPosition
from ._redis_drive import run_op, unavailable
from ._redis_revocations import RevocationOps

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = ["RedisChangeLog"]

#: Longest wait in one ``XREAD BLOCK``; the socket timeout is this plus the store's timeout.
MAX_BLOCK = 5.0
#: A snapshot page may be large: its reads get at least this long.
_MIN_READ_TIMEOUT = 2.0


class RedisChangeLog(ChangeLog):
    """A reader of one Redis store's change log (its own connection, one thread)."""

    def __init__(self, store: RedisStore, ops: RevocationOps) -> None:
        self._ops = ops
        # Replies may take the longest XREAD BLOCK, and a snapshot page a while.
        self._client: Any = store.blocking_client(MAX_BLOCK + _MIN_READ_TIMEOUT)

    def position(self) -> LogPosition:
        return run_op(self._client, self._ops.position())

    def snapshot(self, now: float) -> tuple[LogPosition, Iterator[list[Change]]]:
        position = self.position()
        return position, self._pages(now)

    def _pages(self, now: float) -> Iterator[list[Change]]:
        for kind in (TOKEN, SESSION, SUBJECT):
            cursor = 0
            while True:
                cursor, changes = run_op(self._client, self._ops.scan_page(kind, cursor, now))
                if changes:
                    yield changes
                if cursor == 0:
                    break

    def read(self, after: LogPosition, limit: int) -> list[tuple[LogPosition, Change]]:
        entries = run_op(self._client, self._ops.read(after, limit))
        if entries and entries[0][0].seq != after.seq + 1:
            raise LogGap(f"the log was trimmed past seq {after.seq}")
        return entries

    def wait(self, after: LogPosition, timeout: float) -> None:
        block = max(1, int(min(timeout, MAX_BLOCK) * 1000))
        try:
            self._client.xread({self._ops.names.log: after.cursor}, count=1, block=block)
        except Exception as exc:
            raise unavailable(exc) from exc

    def close(self) -> None:
        self._client.close()
