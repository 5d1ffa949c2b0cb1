"""The SQLite store's device sessions: one table, ``jwtmw_sessions``; ending a session also
marks its id revoked and logs the change, in the same transaction."""

from __future__ import annotations

import sqlite3

from . import _sql
from ._changes import SESSION, Change, session_member
from ._keys import session_marker_expiry
from ._records import SessionInfo, SessionStart
from ._sqlite_file import SQLiteFile, append_changes

__all__ = ["SQLiteSessions"]


class SQLiteSessions(SQLiteFile):
    """The session methods of :class:`~.sqlite.SQLiteStore`."""

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
        append_changes(conn, changes)
        return live, changes


def _session_row(s: SessionInfo) -> tuple[object, ...]:
    return (s.session_id, s.subject, s.created_at, s.last_seen, s.expires_at, s.user_agent, s.ip)
