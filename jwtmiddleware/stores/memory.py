"""In-process store for tests, demos and single-process deployments."""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping
from typing import TypeVar

from ._keys import PurgeThrottle, session_marker_expiry
from .base import RevocationQuery, SessionInfo, Store

__all__ = ["MemoryStore"]

_K = TypeVar("_K")
_V = TypeVar("_V")


def _drop_expired(table: dict[_K, _V], expiry: Callable[[_V], float], now: float) -> int:
    dead = [key for key, entry in table.items() if expiry(entry) <= now]
    for key in dead:
        del table[key]
    return len(dead)


def _live(table: MutableMapping[_K, float], key: _K, now: float) -> bool:
    expires_at = table.get(key)
    return expires_at is not None and expires_at > now


class MemoryStore(Store):
    """A store kept in dictionaries behind one lock.

    Nothing is shared between processes, so use it only with a single worker. Expiry is
    checked on every read; :meth:`purge` (also run on writes at most once per
    ``purge_interval`` seconds) drops expired entries so memory stays bounded.
    """

    _inline_async = True  # never blocks on I/O: the lock is only held for dict operations

    def __init__(self, *, purge_interval: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._throttle = PurgeThrottle(purge_interval)
        self._tokens: dict[tuple[str, str], float] = {}
        self._watermarks: dict[tuple[str, str], tuple[float, float]] = {}
        self._revoked_sessions: dict[str, float] = {}
        self._sessions: dict[str, SessionInfo] = {}
        self._by_subject: dict[str, set[str]] = {}
        self._once: dict[str, float] = {}
        self._values: dict[str, tuple[str, float]] = {}

    def __repr__(self) -> str:
        return "MemoryStore()"

    # -- revocation ------------------------------------------------------------------------

    def revoke_token(self, issuer: str, token_id: str, *, expires_at: float, now: float) -> None:
        key = (issuer, token_id)
        with self._lock:
            self._maybe_purge(now)
            old = self._tokens.get(key, now)
            self._tokens[key] = max(old, expires_at) if old > now else expires_at

    def revoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        key = (issuer, subject)
        with self._lock:
            self._maybe_purge(now)
            old = self._watermarks.get(key)
            if old is not None and old[1] > now:
                before, expires_at = max(old[0], before), max(old[1], expires_at)
            self._watermarks[key] = (before, expires_at)

    def is_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        with self._lock:
            if query.token_id is not None and _live(
                self._tokens, (query.issuer, query.token_id), now
            ):
                return True
            if query.session_id is not None and _live(
                self._revoked_sessions, query.session_id, now
            ):
                return True
            if query.subject is None:
                return False
            mark = self._watermarks.get((query.issuer, query.subject))
        if mark is None or mark[1] <= now:
            return False
        return query.issued_at is None or query.issued_at < mark[0]

    # -- sessions --------------------------------------------------------------------------

    def create_session(self, session: SessionInfo, *, now: float) -> None:
        with self._lock:
            self._maybe_purge(now)
            self._drop_session(session.session_id)
            self._sessions[session.session_id] = session
            self._by_subject.setdefault(session.subject, set()).add(session.session_id)

    def get_session(self, session_id: str, *, now: float) -> SessionInfo | None:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or session.expires_at <= now:
            return None
        return session

    def touch_session(self, session_id: str, *, now: float, min_interval: float = 60.0) -> bool:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.expires_at <= now:
                return False
            if not session.last_seen < now - min_interval:
                return False
            self._sessions[session_id] = SessionInfo(
                session_id=session.session_id,
                subject=session.subject,
                created_at=session.created_at,
                last_seen=now,
                expires_at=session.expires_at,
                user_agent=session.user_agent,
                ip=session.ip,
            )
            return True

    def list_sessions(self, subject: str, *, now: float) -> list[SessionInfo]:
        with self._lock:
            ids = self._by_subject.get(subject, ())
            found = [self._sessions[sid] for sid in ids]
        live = [s for s in found if s.expires_at > now]
        live.sort(key=lambda s: (s.created_at, s.session_id))
        return live

    def revoke_session(
        self, session_id: str, *, now: float, expires_at: float | None = None
    ) -> bool:
        with self._lock:
            self._maybe_purge(now)
            return self._revoke_session(session_id, now, expires_at)

    def revoke_other_sessions(
        self, subject: str, keep_session_id: str | None, *, now: float
    ) -> int:
        with self._lock:
            self._maybe_purge(now)
            victims = [sid for sid in self._by_subject.get(subject, ()) if sid != keep_session_id]
            return sum(self._revoke_session(sid, now, None) for sid in victims)

    def _revoke_session(self, session_id: str, now: float, expires_at: float | None) -> bool:
        session = self._drop_session(session_id)
        record_end = session.expires_at if session is not None else None
        until = session_marker_expiry(record_end, expires_at, now)
        old = self._revoked_sessions.get(session_id, now)
        self._revoked_sessions[session_id] = max(old, until) if old > now else until
        return session is not None and session.expires_at > now

    def _drop_session(self, session_id: str) -> SessionInfo | None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            ids = self._by_subject.get(session.subject)
            if ids is not None:
                ids.discard(session_id)
                if not ids:
                    del self._by_subject[session.subject]
        return session

    # -- one-time markers and values ---------------------------------------------------------

    def consume_once(self, key: str, *, expires_at: float, now: float) -> bool:
        with self._lock:
            self._maybe_purge(now)
            if _live(self._once, key, now):
                return False
            self._once[key] = expires_at
            return True

    def put_value(self, key: str, value: str, *, expires_at: float, now: float) -> None:
        with self._lock:
            self._maybe_purge(now)
            self._values[key] = (value, expires_at)

    def get_value(self, key: str, *, now: float) -> str | None:
        with self._lock:
            entry = self._values.get(key)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    # -- housekeeping --------------------------------------------------------------------------

    def purge(self, *, now: float) -> int:
        with self._lock:
            return self._purge(now)

    def _maybe_purge(self, now: float) -> None:
        if self._throttle.due():
            self._purge(now)

    def _purge(self, now: float) -> int:
        count = _drop_expired(self._tokens, lambda exp: exp, now)
        count += _drop_expired(self._revoked_sessions, lambda exp: exp, now)
        count += _drop_expired(self._once, lambda exp: exp, now)
        count += _drop_expired(self._watermarks, lambda mark: mark[1], now)
        count += _drop_expired(self._values, lambda entry: entry[1], now)
        dead = [sid for sid, s in self._sessions.items() if s.expires_at <= now]
        for sid in dead:
            self._drop_session(sid)
        return count + len(dead)

    def close(self) -> None:
        with self._lock:
            for table in (
                self._tokens,
                self._watermarks,
                self._revoked_sessions,
                self._sessions,
                self._by_subject,
                self._once,
                self._values,
            ):
                table.clear()
