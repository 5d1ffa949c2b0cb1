"""The SQLite store's database file: opening it, its connections, transactions and purges.

:class:`SQLiteFile` is the base the store's parts share (:class:`~.sqlite.SQLiteStore` and its
session methods, :mod:`._sqlite_sessions`): it builds the file's schema, hands each thread a
pooled connection of its own, wraps writes in ``BEGIN IMMEDIATE`` transactions, logs changes in
them (:func:`append_changes`) and purges expired rows now and then.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator

from ..core.errors import StoreUnavailable
from . import _sql
from ._changes import Change
from ._keys import PurgeThrottle
from .base import Store

__all__ = ["SQLiteFile", "append_changes"]

#: Idle connections kept for reuse; more may be open while more threads are busy.
_MAX_IDLE = 16


class SQLiteFile(Store):
    """The database file and its connections (the constructor of
    :class:`~.sqlite.SQLiteStore`, whose docstring describes its parameters)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        purge_interval: float = 60.0,
    ) -> None:
        self.path = os.fspath(path)
        if not self.path or self.path == ":memory:" or self.path.startswith("file:"):
            raise ValueError("SQLiteStore needs a file path that every worker process can open")
        self._busy_timeout = busy_timeout
        self._throttle = PurgeThrottle(purge_interval)
        # Connection strategy: a small pool of connections opened with check_same_thread=False.
        # A connection is handed to exactly one thread at a time, so no sqlite3 object is ever
        # used concurrently, yet readers on different threads proceed in parallel (WAL) instead
        # of queueing behind one lock. Unlike threading.local, a pool keeps no connection per
        # dead worker thread (anyio recycles its threads) and close() can reach every one.
        self._pool: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        # Inherited across fork(): never used nor closed in the child (closing could checkpoint
        # or unlink the parent's WAL), just kept referenced so the GC does not close them.
        self._abandoned: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False
        # The event loop's own connection for ais_revoked (see there); opened on first use.
        self._reader: sqlite3.Connection | None = None
        self._reader_pid = 0
        self._reader_lock = threading.Lock()
        try:
            with self._connection() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_sql.SCHEMA)  # idempotent, in one IMMEDIATE transaction
                self._migrate(conn)
        except StoreUnavailable as exc:  # name the file: "unable to open database file" alone
            cause = exc.__cause__ or exc  # does not say which one
            raise StoreUnavailable(f"sqlite: cannot open {self.path!r}: {cause}") from cause

    @classmethod
    def _migrate(cls, conn: sqlite3.Connection) -> None:
        """Add the columns newer versions use to a file an older one created."""
        for table, column, definition in _sql.MIGRATIONS:
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                with cls._transaction(conn):
                    present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                    if column not in present:  # another process may have just added it
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    # -- connections ---------------------------------------------------------------------------

    def _connect(self, busy_timeout: float) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=busy_timeout,
            isolation_level=None,  # autocommit; writes open explicit BEGIN IMMEDIATE blocks
            check_same_thread=False,  # see the pool comment in __init__
        )
        try:
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            if self._closed:
                raise StoreUnavailable("sqlite: the store is closed")
            if self._pid != os.getpid():
                self._abandoned.extend(self._pool)
                self._pool, self._pid = [], os.getpid()
            conn = self._pool.pop() if self._pool else None
        try:
            if conn is None:
                conn = self._connect(self._busy_timeout)
            yield conn
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"sqlite: {exc}") from exc
        finally:
            if conn is not None:
                self._release(conn)

    def _release(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:  # an error escaped mid-transaction: do not pool it dirty
            conn.close()
            return
        with self._pool_lock:
            if not self._closed and self._pid == os.getpid() and len(self._pool) < _MAX_IDLE:
                self._pool.append(conn)
                return
        conn.close()

    @staticmethod
    @contextlib.contextmanager
    def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front, so the busy timeout covers the whole
        # transaction instead of failing on a read-to-write lock upgrade.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (e.g. SQLITE_FULL)
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _write(self, sql: str, params: tuple[object, ...], now: float) -> int:
        with self._connection() as conn:
            rowcount = conn.execute(sql, params).rowcount
            self._maybe_purge(conn, now)
            return rowcount

    def _maybe_purge(self, conn: sqlite3.Connection, now: float) -> None:
        if self._throttle.due():
            # Housekeeping must not turn a write that succeeded into an error: a purge that
            # cannot get the lock now is simply retried after the next interval.
            with contextlib.suppress(sqlite3.OperationalError):
                self._purge(conn, now)

    # -- housekeeping --------------------------------------------------------------------------

    def purge(self, *, now: float) -> int:
        with self._connection() as conn:
            return self._purge(conn, now)

    @staticmethod
    def _purge(conn: sqlite3.Connection, now: float) -> int:
        with SQLiteFile._transaction(conn):
            conn.execute(_sql.TRIM_CHANGES, (_sql.CHANGES_KEPT,))
            return sum(
                conn.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (now,)).rowcount  # noqa: S608
                for table in _sql.EXPIRING_TABLES
            )

    def close(self) -> None:
        self._stop_mirror()
        with self._pool_lock:
            self._closed = True
            pool, self._pool = self._pool, []
            if self._pid != os.getpid():  # inherited across fork(): the parent's to close
                self._abandoned.extend(pool)
                pool = []
        with self._reader_lock:  # waits for an inline read in progress (microseconds)
            reader, self._reader = self._reader, None
        if reader is not None and self._reader_pid == os.getpid():
            pool.append(reader)
        for conn in pool:
            conn.close()


def append_changes(conn: sqlite3.Connection, changes: list[Change]) -> None:
    """Number and log ``changes`` inside the caller's transaction."""
    for change in changes:
        ((seq,),) = conn.execute(_sql.NEXT_SEQ).fetchall()
        conn.execute(_sql.APPEND_CHANGE, (seq, *change))
