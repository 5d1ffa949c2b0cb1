"""The synchronous half of the store interface: what every backend implements.

Revocation, device sessions, one-time markers and values, and housekeeping, each method taking
the current time as ``now``. :class:`~.base.Store` adds the async twins
(:mod:`._store_async`) and the mirror hooks on top of these.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import TypeVar

from ._records import RevocationQuery, SessionInfo, SessionStart

__all__ = ["StoreMethods"]

_S = TypeVar("_S", bound="StoreMethods")


class StoreMethods(abc.ABC):
    """The abstract sync methods of :class:`~.base.Store` (see there)."""

    # -- revocation ------------------------------------------------------------------------

    @abc.abstractmethod
    def revoke_token(self, issuer: str, token_id: str, *, expires_at: float, now: float) -> None:
        """Revoke one token by ``(iss, jti)``, remembered until ``expires_at`` (its ``exp``)."""

    @abc.abstractmethod
    def revoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        """Revoke every token of ``(issuer, subject)`` issued before ``before`` ("log out
        everywhere"). The watermark only ever moves forward; it is kept until ``expires_at``
        (``now`` plus the longest token lifetime)."""

    @abc.abstractmethod
    def is_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        """Tell, in one round trip, whether the token's jti, its session or its subject
        watermark revokes it. A watermark revokes a token that carries a ``generation`` lower
        than the subject's, and a token without one issued before ``before``."""

    def subject_generation(self, issuer: str, subject: str, *, now: float) -> int:
        """How many times ``(issuer, subject)`` was logged out everywhere (while the watermark
        lives): tokens issued now carry it, and the next :meth:`revoke_subject` refuses every
        token carrying less. Stores without generations answer 0 (their tokens are then
        judged by ``iat`` alone)."""
        return 0

    # -- sessions --------------------------------------------------------------------------

    @abc.abstractmethod
    def create_session(self, session: SessionInfo, *, now: float) -> None:
        """Record a new device session (replacing a record with the same id)."""

    def start_session(
        self,
        session: SessionInfo,
        *,
        now: float,
        limit: int | None = None,
        evict_oldest: bool = True,
    ) -> SessionStart:
        """Create a session within a limit of live sessions per subject, in one atomic step:
        at most ``limit`` live sessions remain, whatever runs concurrently. When the subject
        already has ``limit`` or more, ``evict_oldest`` revokes the oldest to make room (their
        ids are revoked like :meth:`revoke_session`), else nothing is created.

        The base implementation is not atomic (list, revoke, create); the stores of this
        package override it with one transaction, one lock or one script.
        """
        evicted: list[str] = []
        if limit is not None:
            live = self.list_sessions(session.subject, now=now)
            excess = len(live) - limit + 1
            if excess > 0:
                if not evict_oldest:
                    return SessionStart(False)
                for old in live[:excess]:
                    self.revoke_session(old.session_id, now=now)
                    evicted.append(old.session_id)
        self.create_session(session, now=now)
        return SessionStart(True, tuple(evicted))

    @abc.abstractmethod
    def get_session(self, session_id: str, *, now: float) -> SessionInfo | None:
        """Return the live session, or ``None`` when it is missing, expired or revoked."""

    @abc.abstractmethod
    def touch_session(self, session_id: str, *, now: float, min_interval: float = 60.0) -> bool:
        """Set ``last_seen = now`` unless it was set less than ``min_interval`` ago, atomically,
        so that busy clients cost one write a minute. Return True when it wrote."""

    @abc.abstractmethod
    def list_sessions(self, subject: str, *, now: float) -> list[SessionInfo]:
        """Return the subject's live sessions, oldest first."""

    @abc.abstractmethod
    def revoke_session(
        self, session_id: str, *, now: float, expires_at: float | None = None
    ) -> bool:
        """Delete a session and remember its id as revoked until the session would have ended
        (else until ``expires_at``, else for a day). Return True if a live session existed."""

    @abc.abstractmethod
    def revoke_other_sessions(
        self, subject: str, keep_session_id: str | None, *, now: float
    ) -> int:
        """Revoke every live session of ``subject`` except ``keep_session_id`` (None: all).
        Return how many were revoked."""

    # -- one-time markers and values ---------------------------------------------------------

    @abc.abstractmethod
    def consume_once(self, key: str, *, expires_at: float, now: float) -> bool:
        """Mark ``key`` used; exactly one caller gets True while the marker lives, across
        threads and processes (one-time tokens, refresh-token reuse detection)."""

    @abc.abstractmethod
    def put_value(self, key: str, value: str, *, expires_at: float, now: float) -> None:
        """Store a small string until ``expires_at`` (e.g. a refresh token's successor)."""

    @abc.abstractmethod
    def get_value(self, key: str, *, now: float) -> str | None:
        """Return the string stored under ``key``, or ``None`` if missing or expired."""

    # -- housekeeping --------------------------------------------------------------------------

    @abc.abstractmethod
    def purge(self, *, now: float) -> int:
        """Delete expired entries and return how many went (0 where the backend expires keys
        itself)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
