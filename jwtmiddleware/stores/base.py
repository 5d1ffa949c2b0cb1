"""The store interface: token revocation, device sessions and one-time markers.

Every method takes the current time as ``now`` (a float UNIX timestamp): the caller owns the
clock, so the sans-IO core and the tests can drive a store deterministically. Each sync method
has an async twin with an ``a`` prefix; the base class runs the sync method in a worker thread,
and a store with a native async client (Redis) overrides the twins.
"""

from __future__ import annotations

import abc
import functools
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import anyio.to_thread

if TYPE_CHECKING:
    from ._changes import Change, ChangeLog
    from ._checks import Finding
    from .mirror import Mirror

__all__ = ["RevocationQuery", "SessionInfo", "SessionStart", "Store"]

_T = TypeVar("_T")
_S = TypeVar("_S", bound="Store")


@dataclass(frozen=True, slots=True)
class RevocationQuery:
    """What :meth:`Store.is_revoked` needs to know about one verified token."""

    #: The ``iss`` claim, or ``""`` when the token has none.
    issuer: str
    #: The ``sub`` claim.
    subject: str | None
    #: The ``jti`` claim.
    token_id: str | None
    #: The ``sid`` claim.
    session_id: str | None
    #: The ``iat`` claim.
    issued_at: float | None
    #: The ``sgen`` claim: the subject's logout-everywhere generation when the token was
    #: issued (tokens this library issues carry it); ``None`` for other tokens.
    generation: int | None = None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One device session of a subject, as listed on an account's "your devices" page."""

    session_id: str
    subject: str
    created_at: float
    last_seen: float
    #: Absolute end of the session (UNIX time); the session is dead from this instant on.
    expires_at: float
    user_agent: str = ""
    ip: str = ""


@dataclass(frozen=True, slots=True)
class SessionStart:
    """What :meth:`Store.start_session` did."""

    #: Whether the session was created (``False``: refused by the limit, ``deny_new``).
    created: bool
    #: The sessions ended to make room (``evict_oldest``), oldest first.
    evicted: tuple[str, ...] = ()


class Store(abc.ABC):
    """Revocation list, session registry and one-time markers shared by all workers.

    Implementations must be safe to call from several threads (and, for the shared backends,
    several processes). Backing-service failures raise
    :class:`~jwtmiddleware.errors.StoreUnavailable` so the middleware can fail closed.
    """

    #: True when the sync methods never block on I/O, so the async twins may call them inline
    #: instead of paying for a worker thread (the in-memory store).
    _inline_async: bool = False
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
        from .mirror import publish_local

        publish_local(self.log_identity, changes, now)

    def _stop_mirror(self) -> None:
        mirror = self._mirror
        if mirror is not None:
            mirror.stop()

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

    async def __aenter__(self: _S) -> _S:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- async twins -----------------------------------------------------------------------------

    async def _call(self, func: Callable[[], _T]) -> _T:
        if self._inline_async:
            return func()
        return await anyio.to_thread.run_sync(func)

    async def arevoke_token(
        self, issuer: str, token_id: str, *, expires_at: float, now: float
    ) -> None:
        """Async :meth:`revoke_token`."""
        p = functools.partial
        await self._call(p(self.revoke_token, issuer, token_id, expires_at=expires_at, now=now))

    async def arevoke_subject(
        self, issuer: str, subject: str, *, before: float, expires_at: float, now: float
    ) -> None:
        """Async :meth:`revoke_subject`."""
        await self._call(
            functools.partial(
                self.revoke_subject, issuer, subject, before=before, expires_at=expires_at, now=now
            )
        )

    async def ais_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        """Async :meth:`is_revoked`."""
        return await self._call(functools.partial(self.is_revoked, query, now=now))

    async def asubject_generation(self, issuer: str, subject: str, *, now: float) -> int:
        """Async :meth:`subject_generation`."""
        p = functools.partial
        return await self._call(p(self.subject_generation, issuer, subject, now=now))

    async def astart_session(
        self,
        session: SessionInfo,
        *,
        now: float,
        limit: int | None = None,
        evict_oldest: bool = True,
    ) -> SessionStart:
        """Async :meth:`start_session`."""
        p = functools.partial
        return await self._call(
            p(self.start_session, session, now=now, limit=limit, evict_oldest=evict_oldest)
        )

    async def acreate_session(self, session: SessionInfo, *, now: float) -> None:
        """Async :meth:`create_session`."""
        await self._call(functools.partial(self.create_session, session, now=now))

    async def aget_session(self, session_id: str, *, now: float) -> SessionInfo | None:
        """Async :meth:`get_session`."""
        return await self._call(functools.partial(self.get_session, session_id, now=now))

    async def atouch_session(
        self, session_id: str, *, now: float, min_interval: float = 60.0
    ) -> bool:
        """Async :meth:`touch_session`."""
        p = functools.partial
        return await self._call(
            p(self.touch_session, session_id, now=now, min_interval=min_interval)
        )

    async def alist_sessions(self, subject: str, *, now: float) -> list[SessionInfo]:
        """Async :meth:`list_sessions`."""
        return await self._call(functools.partial(self.list_sessions, subject, now=now))

    async def arevoke_session(
        self, session_id: str, *, now: float, expires_at: float | None = None
    ) -> bool:
        """Async :meth:`revoke_session`."""
        p = functools.partial
        return await self._call(p(self.revoke_session, session_id, now=now, expires_at=expires_at))

    async def arevoke_other_sessions(
        self, subject: str, keep_session_id: str | None, *, now: float
    ) -> int:
        """Async :meth:`revoke_other_sessions`."""
        p = functools.partial
        return await self._call(p(self.revoke_other_sessions, subject, keep_session_id, now=now))

    async def aconsume_once(self, key: str, *, expires_at: float, now: float) -> bool:
        """Async :meth:`consume_once`."""
        p = functools.partial
        return await self._call(p(self.consume_once, key, expires_at=expires_at, now=now))

    async def aput_value(self, key: str, value: str, *, expires_at: float, now: float) -> None:
        """Async :meth:`put_value`."""
        p = functools.partial
        await self._call(p(self.put_value, key, value, expires_at=expires_at, now=now))

    async def aget_value(self, key: str, *, now: float) -> str | None:
        """Async :meth:`get_value`."""
        return await self._call(functools.partial(self.get_value, key, now=now))

    async def apurge(self, *, now: float) -> int:
        """Async :meth:`purge`."""
        return await self._call(functools.partial(self.purge, now=now))

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        await self._call(self.close)
