"""Embedded store on one SQLite file, shared by the worker processes of one host."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..core.errors import StoreUnavailable
from . import _sql
from ._changes import (
    SESSION,
    SUBJECT,
    TOKEN,
    Change,
    ChangeLog,
    session_member,
    subject_member,
    token_member,
)
from ._keys import PurgeThrottle, session_marker_expiry
from .base import RevocationQuery, SessionInfo, SessionStart, Store

if TYPE_CHECKING:
    from ._checks import Finding

__all__ = ["SQLiteStore"]

#: Idle connections kept for reuse; more may be open while more threads are busy.
_MAX_IDLE = 16


class SQLiteStore(Store):
    """A store in one SQLite database file, safe for several threads and processes.

    The file runs in WAL mode (readers never block the writer) with ``synchronous=NORMAL``
    and a ``busy_timeout`` so that concurrent writers queue instead of failing. Expired rows
    are ignored on read and purged on writes at most once per ``purge_interval`` seconds.

    :param path: database file; created with its schema if missing.
    :param busy_timeout: seconds a writer waits for the lock before :class:`StoreUnavailable`.
    :param purge_interval: minimum seconds (monotonic) between opportunistic purges.
    """

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

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

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

    # -- revocation ------------------------------------------------------------------------

    # Each revocation is written with its change-log row in one transaction, then applied to
    # this process's mirrors at once.

    def revoke_token(self, issuer: str, token_id: str, *, expires_at: float, now: float) -> None:
        change = Change(TOKEN, token_member(issuer, token_id), expires_at)
        self._revoke(_sql.REVOKE_JTI, (issuer, token_id, expires_at, now), change, now)

    def revoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        member = subject_member(issuer, subject)
        with self._connection() as conn:
            with self._transaction(conn):
                params = (issuer, subject, before, expires_at, now)
                ((generation,),) = conn.execute(_sql.REVOKE_SUBJECT, params).fetchall()
                change = Change(SUBJECT, member, expires_at, before, int(generation))
                _append(conn, [change])
            self._maybe_purge(conn, now)
        self._published([change], now)

    def subject_generation(self, issuer: str, subject: str, *, now: float) -> int:
        with self._connection() as conn:
            row = conn.execute(_sql.SUBJECT_GENERATION, (issuer, subject, now)).fetchone()
        return 0 if row is None else int(row[0])

    def _revoke(self, sql: str, params: tuple[object, ...], change: Change, now: float) -> None:
        with self._connection() as conn:
            with self._transaction(conn):
                conn.execute(sql, params)
                _append(conn, [change])
            self._maybe_purge(conn, now)
        self._published([change], now)

    def check(self) -> list[Finding]:
        """That this process can write the file (a rolled-back write; WAL also needs the
        directory): otherwise the first revocation would fail."""
        from ._checks import Finding

        try:
            with self._connection() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("UPDATE jwtmw_meta SET value = value WHERE name = 'epoch'")
                finally:
                    conn.execute("ROLLBACK")
        except (StoreUnavailable, sqlite3.Error) as exc:
            return [Finding("error", "STORE", f"cannot write the SQLite file {self.path!r}: "
                                              f"{exc}; revocations would fail")]  # fmt: skip
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.access(directory, os.W_OK):
            message = (f"the directory of {self.path!r} is not writable: SQLite's WAL files "
                       "cannot be created there")  # fmt: skip
            return [Finding("error", "STORE", message)]
        return []

    # -- the change log --------------------------------------------------------------------------

    @property
    def log_identity(self) -> tuple[str, str]:
        """The database file's real path."""
        return ("sqlite", os.path.realpath(self.path))

    def open_change_log(self) -> ChangeLog:
        """A reader of this database's change log (its own connection)."""
        from ._sqlite_log import SQLiteChangeLog

        return SQLiteChangeLog(self.path)

    def is_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        with self._connection() as conn:
            (revoked,) = conn.execute(_sql.IS_REVOKED, _revocation_params(query, now)).fetchone()
        return bool(revoked)

    async def ais_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        """Async :meth:`is_revoked`, answered inline on the event loop when SQLite can at once.

        It runs on every request, and the base class's worker-thread hop costs ~200 µs where
        the query takes ~20 µs. The inline read uses a connection of its own whose busy timeout
        is 0, so it never blocks the loop: if another thread is using that connection, or
        SQLite raises ``OperationalError`` (busy/locked, rarely in WAL mode, or anything else),
        the call takes the thread path, which waits up to the busy timeout and maps failures to
        :class:`StoreUnavailable` exactly as before.
        """
        if self._reader_lock.acquire(blocking=False):
            try:
                revoked = self._read_inline(query, now)
            finally:
                self._reader_lock.release()
            if revoked is not None:
                return revoked
        return await super().ais_revoked(query, now=now)

    def _read_inline(self, query: RevocationQuery, now: float) -> bool | None:
        """Answer on the reader connection, or return None for the thread path to answer.
        The caller holds ``_reader_lock``."""
        if self._closed:
            return None  # the thread path raises StoreUnavailable
        try:
            reader = self._reader
            if reader is None or self._reader_pid != os.getpid():
                if reader is not None:  # inherited across fork(): see _abandoned in __init__
                    self._abandoned.append(reader)
                reader = self._reader = self._connect(busy_timeout=0.0)
                self._reader_pid = os.getpid()
            (revoked,) = reader.execute(_sql.IS_REVOKED, _revocation_params(query, now)).fetchone()
        except sqlite3.OperationalError:
            return None
        return bool(revoked)

    # -- sessions --------------------------------------------------------------------------

    def create_session(self, session: SessionInfo, *, now: float) -> None:
        self._write(_sql.INSERT_SESSION, _session_row(session), now)

    def start_session(
        self,
        session: SessionInfo,
        *,
        now: float,
        limit: int | None = None,
        evict_oldest: bool = True,
    ) -> SessionStart:
        """One ``BEGIN IMMEDIATE`` transaction: the limit holds across threads and processes."""
        changes: list[Change] = []
        with self._connection() as conn:
            with self._transaction(conn):
                evicted: list[str] = []
                if limit is not None:
                    live = conn.execute(_sql.LIVE_SESSIONS, (session.subject, now)).fetchall()
                    excess = len(live) - limit + 1
                    if excess > 0:
                        if not evict_oldest:
                            return SessionStart(False)
                        evicted = [sid for sid, _ in live[:excess]]
                        _, changes = self._revoke_sessions(conn, evicted, now, None)
                conn.execute(_sql.INSERT_SESSION, _session_row(session))
            self._maybe_purge(conn, now)
        self._published(changes, now)
        return SessionStart(True, tuple(evicted))

    def get_session(self, session_id: str, *, now: float) -> SessionInfo | None:
        with self._connection() as conn:
            row = conn.execute(
                _sql.SELECT_SESSIONS + "WHERE session_id = ? AND expires_at > ?",
                (session_id, now),
            ).fetchone()
        return None if row is None else SessionInfo(*row)

    def touch_session(self, session_id: str, *, now: float, min_interval: float = 60.0) -> bool:
        # The WHERE clause is the throttle: concurrent touches race on one UPDATE, one wins.
        return (
            self._write(
                "UPDATE jwtmw_sessions SET last_seen = ?1"
                " WHERE session_id = ?2 AND last_seen < ?3 AND expires_at > ?1",
                (now, session_id, now - min_interval),
                now,
            )
            == 1
        )

    def list_sessions(self, subject: str, *, now: float) -> list[SessionInfo]:
        with self._connection() as conn:
            rows = conn.execute(
                _sql.SELECT_SESSIONS
                + "WHERE subject = ? AND expires_at > ? ORDER BY created_at, session_id",
                (subject, now),
            ).fetchall()
        return [SessionInfo(*row) for row in rows]

    def revoke_session(
        self, session_id: str, *, now: float, expires_at: float | None = None
    ) -> bool:
        with self._connection() as conn:
            with self._transaction(conn):
                live, changes = self._revoke_sessions(conn, [session_id], now, expires_at)
            self._maybe_purge(conn, now)
        self._published(changes, now)
        return live == 1

    def revoke_other_sessions(
        self, subject: str, keep_session_id: str | None, *, now: float
    ) -> int:
        with self._connection() as conn:
            with self._transaction(conn):
                ids = [
                    sid
                    for (sid,) in conn.execute(
                        "SELECT session_id FROM jwtmw_sessions"
                        " WHERE subject = ? AND session_id IS NOT ?",
                        (subject, keep_session_id),
                    )
                ]
                live, changes = self._revoke_sessions(conn, ids, now, None)
            self._maybe_purge(conn, now)
        self._published(changes, now)
        return live

    @staticmethod
    def _revoke_sessions(
        conn: sqlite3.Connection, ids: list[str], now: float, expires_at: float | None
    ) -> tuple[int, list[Change]]:
        live = 0
        changes = []
        for sid in ids:
            row = conn.execute(
                "DELETE FROM jwtmw_sessions WHERE session_id = ? RETURNING expires_at", (sid,)
            ).fetchone()
            record_end: float | None = None if row is None else row[0]
            until = session_marker_expiry(record_end, expires_at, now)
            conn.execute(_sql.MARK_SESSION, (sid, until, now))
            changes.append(Change(SESSION, session_member(sid), until))
            live += record_end is not None and record_end > now
        _append(conn, changes)
        return live, changes

    # -- one-time markers and values ---------------------------------------------------------

    def consume_once(self, key: str, *, expires_at: float, now: float) -> bool:
        return self._write(_sql.CONSUME_ONCE, (key, expires_at, now), now) == 1

    def put_value(self, key: str, value: str, *, expires_at: float, now: float) -> None:
        self._write(
            "INSERT OR REPLACE INTO jwtmw_values (key, value, expires_at) VALUES (?, ?, ?)",
            (key, value, expires_at),
            now,
        )

    def get_value(self, key: str, *, now: float) -> str | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT value FROM jwtmw_values WHERE key = ? AND expires_at > ?", (key, now)
            ).fetchone()
        return None if row is None else str(row[0])

    # -- housekeeping --------------------------------------------------------------------------

    def purge(self, *, now: float) -> int:
        with self._connection() as conn:
            return self._purge(conn, now)

    @staticmethod
    def _purge(conn: sqlite3.Connection, now: float) -> int:
        with SQLiteStore._transaction(conn):
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


def _session_row(s: SessionInfo) -> tuple[object, ...]:
    return (s.session_id, s.subject, s.created_at, s.last_seen, s.expires_at, s.user_agent, s.ip)


def _append(conn: sqlite3.Connection, changes: list[Change]) -> None:
    """Number and log ``changes`` inside the caller's transaction."""
    for change in changes:
        ((seq,),) = conn.execute(_sql.NEXT_SEQ).fetchall()
        conn.execute(_sql.APPEND_CHANGE, (seq, *change))


def _revocation_params(query: RevocationQuery, now: float) -> dict[str, object]:
    return {
        "iss": query.issuer,
        "jti": query.token_id,
        "sid": query.session_id,
        "sub": query.subject,
        "iat": query.issued_at,
        "gen": query.generation,
        "now": now,
    }
