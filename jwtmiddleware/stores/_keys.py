"""Helpers shared by the stores: expiry arithmetic, Redis key layout, session encoding.

Kept apart from the I/O code so that the sync and async Redis paths (and the other backends)
compute TTLs and names in exactly one place.
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from collections.abc import Mapping

from .base import SessionInfo

__all__ = [
    "SESSION_MARKER_FALLBACK",
    "SESSION_FIELDS",
    "PurgeThrottle",
    "RedisKeys",
    "fmt_time",
    "session_from_fields",
    "session_marker_expiry",
    "session_to_fields",
    "ttl_seconds",
]

#: How long a "session revoked" marker lives when neither the session record nor the caller
#: knows when the session ends.
SESSION_MARKER_FALLBACK = 86400.0

#: Field names of a session record in a Redis hash, in :class:`SessionInfo` order.
SESSION_FIELDS = ("subject", "created_at", "last_seen", "expires_at", "user_agent", "ip")


def ttl_seconds(expires_at: float, now: float) -> int:
    """Return the Redis TTL for an entry that must live until ``expires_at``: whole seconds,
    rounded up, at least 1 (Redis rejects 0 and we never want to drop a revocation early)."""
    return max(1, math.ceil(expires_at - now))


def session_marker_expiry(
    record_expires_at: float | None, given: float | None, now: float
) -> float:
    """Return until when a "session revoked" marker must be kept: the session's own end, else
    the caller's ``expires_at``, else one day from ``now``."""
    if record_expires_at is not None:
        return record_expires_at
    if given is not None:
        return given
    return now + SESSION_MARKER_FALLBACK


def fmt_time(value: float) -> str:
    """Encode a timestamp for Redis so that it round-trips exactly through ``float()``."""
    return repr(float(value))


def session_to_fields(session: SessionInfo) -> dict[str, str]:
    """Encode a session as the string fields of a Redis hash."""
    return {
        "subject": session.subject,
        "created_at": fmt_time(session.created_at),
        "last_seen": fmt_time(session.last_seen),
        "expires_at": fmt_time(session.expires_at),
        "user_agent": session.user_agent,
        "ip": session.ip,
    }


def session_from_fields(session_id: str, fields: Mapping[str, str]) -> SessionInfo | None:
    """Decode a Redis hash written by :func:`session_to_fields`; ``None`` if it is missing
    or incomplete (a record that expired between two commands)."""
    try:
        return SessionInfo(
            session_id=session_id,
            subject=fields["subject"],
            created_at=float(fields["created_at"]),
            last_seen=float(fields["last_seen"]),
            expires_at=float(fields["expires_at"]),
            user_agent=fields.get("user_agent", ""),
            ip=fields.get("ip", ""),
        )
    except (KeyError, ValueError):
        return None


def _digest(*parts: str) -> str:
    # Length-prefix every part so ("ab", "c") and ("a", "bc") never collide, then hash: keys
    # stay short and bounded whatever the issuer URL or jti length, and carry no raw token data.
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode("ascii")


class RedisKeys:
    """Names every Redis key under one ``prefix``.

    A subject's session records and its session index share one hash tag (``{u:<digest>}``),
    so the scripts that create, limit and end its sessions touch one hash slot on a Redis
    Cluster; a session id points to its subject through a key of its own (``p:``). One-time
    markers (``o:``) and small values (``v:``) are single keys. Revocations and their change log
    live under one hash tag of their own (:mod:`._redis_revocations`). Digests keep names short
    and bounded and hold no raw identifier.
    """

    __slots__ = ("prefix",)

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def subject_tag(self, subject: str) -> str:
        """The prefix of every key of one subject's sessions (one hash slot)."""
        return f"{self.prefix}{{u:{_digest(subject)}}}:"

    def session(self, subject: str, session_id: str) -> str:
        """A session record (hash)."""
        return f"{self.subject_tag(subject)}s:{_digest(session_id)}"

    def subject_sessions(self, subject: str) -> str:
        """A subject's session index (sorted set of session ids, scored by expiry)."""
        return f"{self.subject_tag(subject)}idx"

    def pointer(self, session_id: str) -> str:
        """Which subject a session id belongs to, and until when (``"<end>\\n<subject>"``)."""
        return f"{self.prefix}p:{_digest(session_id)}"

    def once(self, key: str) -> str:
        return f"{self.prefix}o:{_digest(key)}"

    def value(self, key: str) -> str:
        return f"{self.prefix}v:{_digest(key)}"


class PurgeThrottle:
    """Decides when a store may purge opportunistically: at most once per ``interval`` seconds
    of the store's own monotonic clock (never the caller's ``now``, which may be frozen in tests
    or skewed between workers). Two threads racing here may both purge; that is harmless."""

    __slots__ = ("_interval", "_last")

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last = float("-inf")

    def due(self) -> bool:
        """Return True (and restart the interval) when a purge is due."""
        mono = time.monotonic()
        if mono - self._last < self._interval:
            return False
        self._last = mono
        return True
