"""In-process store for tests, demos and single-process deployments."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import TypeVar

from ._changes import (
    SESSION,
    SUBJECT,
    TOKEN,
    Change,
    RevocationKeys,
    lookup_key,
    session_member,
    subject_member,
    token_member,
)
from ._keys import PurgeThrottle, session_marker_expiry
from ._state import RevocationState
from .base import RevocationQuery, SessionInfo, SessionStart, Store
from .mirror import Mirror

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
    ``purge_interval`` seconds) drops expired entries so memory stays bounded. Its revocations
    are kept as a mirror's are, so the middleware reads them as it reads a mirror: plain
    dictionary lookups, no lock, always fresh (:meth:`mirror`).
    """

    _inline_async = True  # never blocks on I/O: the lock is only held for dict operations

    def __init__(self, *, purge_interval: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._throttle = PurgeThrottle(purge_interval)
        self._revocations = RevocationState()
        # The revocations read as a mirror reads them (always fresh: nothing to follow).
        self._own = self._mirror = Mirror(max_lag=1.0, timeout=0.1, state=self._revocations)
        self._sessions: dict[str, SessionInfo] = {}
        self._by_subject: dict[str, set[str]] = {}
        self._once: dict[str, float] = {}
        self._values: dict[str, tuple[str, float]] = {}

    def __repr__(self) -> str:
        return "MemoryStore()"

    # -- revocation ------------------------------------------------------------------------

    def revoke_token(self, issuer: str, token_id: str, *, expires_at: float, now: float) -> None:
        change = Change(TOKEN, token_member(issuer, token_id), expires_at)
        with self._lock:
            self._maybe_purge(now)
            self._revocations.apply(change, now)

    def revoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        member = subject_member(issuer, subject)
        with self._lock:
            self._maybe_purge(now)
            generation = self._generation(member, now) + 1
            self._revocations.apply(Change(SUBJECT, member, expires_at, before, generation), now)

    def subject_generation(self, issuer: str, subject: str, *, now: float) -> int:
        return self._generation(subject_member(issuer, subject), now)

    def _generation(self, member: str, now: float) -> int:
        mark = self._revocations.subjects.get(lookup_key(member))
        return mark[2] if mark is not None and mark[1] > now else 0

    def is_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        q = query
        keys = RevocationKeys(
            None if q.token_id is None else lookup_key(token_member(q.issuer, q.token_id)),
            None if q.session_id is None else lookup_key(session_member(q.session_id)),
            None if q.subject is None else lookup_key(subject_member(q.issuer, q.subject)),
            q.issued_at,
            q.session_id,
            q.generation,
        )
        return self._own.revoked(keys, now)

    def mirror(
        self, *, max_lag: float, timeout: float = 0.1, clock: Callable[[], float] = time.time
    ) -> Mirror:
        """The store's own revocations, served as a mirror that is always fresh: this store
        lives in the process, so there is nothing to follow and nothing to wait for."""
        return self._own

    def _seen(self, session: SessionInfo) -> SessionInfo:
        """``session`` with the activity the mirror recorded for it (its "last seen")."""
        mirror = self._mirror
        if mirror is None:
            return session
        mirror.forget_activity_if_large()
        at = mirror.activity.get(session.session_id)
        if at is None or at <= session.last_seen:
            return session
        return dataclasses.replace(session, last_seen=at)

    # -- sessions --------------------------------------------------------------------------

    def create_session(self, session: SessionInfo, *, now: float) -> None:
        with self._lock:
            self._maybe_purge(now)
            self._create(session)

    def _create(self, session: SessionInfo) -> None:
        self._drop_session(session.session_id)
        self._sessions[session.session_id] = session
        self._by_subject.setdefault(session.subject, set()).add(session.session_id)

    def start_session(
        self,
        session: SessionInfo,
        *,
        now: float,
        limit: int | None = None,
        evict_oldest: bool = True,
    ) -> SessionStart:
        """Atomic under the store's lock."""
        with self._lock:
            self._maybe_purge(now)
            evicted: list[str] = []
            if limit is not None:
                ids = self._by_subject.get(session.subject, ())
                live = sorted(
                    (s for s in (self._sessions[sid] for sid in ids) if s.expires_at > now),
                    key=lambda s: (s.created_at, s.session_id),
                )
                excess = len(live) - limit + 1
                if excess > 0:
                    if not evict_oldest:
                        return SessionStart(False)
                    for old in live[:excess]:
                        self._revoke_session(old.session_id, now, None)
                        evicted.append(old.session_id)
            self._create(session)
            return SessionStart(True, tuple(evicted))

    def get_session(self, session_id: str, *, now: float) -> SessionInfo | None:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or session.expires_at <= now:
            return None
        return self._seen(session)

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
        live = [self._seen(s) for s in found if s.expires_at > now]
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
        self._revocations.apply(Change(SESSION, session_member(session_id), until), now)
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
        count = self._revocations.sweep(now)
        count += _drop_expired(self._once, lambda exp: exp, now)
        count += _drop_expired(self._values, lambda entry: entry[1], now)
        dead = [sid for sid, s in self._sessions.items() if s.expires_at <= now]
        for sid in dead:
            self._drop_session(sid)
        return count + len(dead)

    def close(self) -> None:
        with self._lock:
            self._revocations.clear()
            for table in (
                self._sessions,
                self._by_subject,
                self._once,
                self._values,
            ):
                table.clear()
