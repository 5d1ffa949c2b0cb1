"""Embedded store on one SQLite file, shared by the worker processes of one host."""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING

from ..core.errors import StoreUnavailable
from . import _sql
from ._changes import (
    SUBJECT,
    TOKEN,
    Change,
    ChangeLog,
    subject_member,
    token_member,
)
from ._sqlite_file import append_changes
from ._sqlite_sessions import SQLiteSessions
from .base import RevocationQuery

if TYPE_CHECKING:
    from ._checks import Finding

__all__ = ["SQLiteStore"]


class SQLiteStore(SQLiteSessions):
    """A store in one SQLite database file, safe for several threads and processes.

    The file runs in WAL mode (readers never block the writer) with ``synchronous=NORMAL``
    and a ``busy_timeout`` so that concurrent writers queue instead of failing. Expired rows
    are ignored on read and purged on writes at most once per ``purge_interval`` seconds.

    :param path: database file; created with its schema if missing.
    :param busy_timeout: seconds a writer waits for the lock before :class:`StoreUnavailable`.
    :param purge_interval: minimum seconds (monotonic) between opportunistic purges.
    """

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

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
                append_changes(conn, [change])
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
                append_changes(conn, [change])
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
                if reader is not None:  # inherited across fork(): see SQLiteFile._abandoned
                    self._abandoned.append(reader)
                reader = self._reader = self._connect(busy_timeout=0.0)
                self._reader_pid = os.getpid()
            (revoked,) = reader.execute(_sql.IS_REVOKED, _revocation_params(query, now)).fetchone()
        except sqlite3.OperationalError:
            return None
        return bool(revoked)

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
