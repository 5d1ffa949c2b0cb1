"""The change log's vocabulary: what a revocation is, as the stores write it and mirrors read it.

Every revocation a store holds is one :class:`Change`: a revoked token ``(iss, jti)``, a revoked
session id, or a subject watermark ("log out everywhere"). Each is named by a *member*, a
32-character hex digest of its parts (length-prefixed, so ``("ab", "c")`` and ``("a", "bc")``
never collide), so that log entries and snapshots carry no raw identifiers and stay bounded in
size whatever an issuer URL or a ``jti`` looks like. A mirror keys its dictionaries by the
member's first 64 bits as an ``int`` (:func:`lookup_key`): a collision could only refuse a token
(never accept one), with odds of about 1 in 10**13 per request at a million revocations.

Applying changes is idempotent and commutative (expiry times and watermarks only ever grow), so
a mirror may see a change twice (from its own write, then from the log) or replay a log over a
snapshot that already holds part of it.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

__all__ = [
    "GENERATION_CLAIM",
    "SESSION",
    "SUBJECT",
    "TOKEN",
    "Change",
    "ChangeLog",
    "LogGap",
    "LogPosition",
    "RevocationKeys",
    "lookup_key",
    "member",
    "revocation_keys",
    "session_member",
    "subject_member",
    "token_member",
]

#: A revoked ``(iss, jti)``.
TOKEN = "t"  # noqa: S105 - a kind tag, not a secret
#: A revoked session id (``sid``).
SESSION = "x"
#: A subject watermark: tokens of ``(iss, sub)`` issued before ``before`` are revoked.
SUBJECT = "w"
#: The claim carrying the subject's logout-everywhere generation in tokens this library issues.
GENERATION_CLAIM = "sgen"


class Change(NamedTuple):
    """One revocation, as written to the change log and applied to a mirror."""

    #: :data:`TOKEN`, :data:`SESSION` or :data:`SUBJECT`.
    kind: str
    #: The digest naming what is revoked (:func:`token_member` and friends).
    member: str
    #: Until when the revocation is kept (UNIX time): the token's or session's end.
    expires_at: float
    #: For :data:`SUBJECT`: tokens without a generation issued before this time are revoked.
    before: float = 0.0
    #: For :data:`SUBJECT`: tokens carrying a lower generation (``sgen``) are revoked.
    generation: int = 0


class LogPosition(NamedTuple):
    """Where a reader stands in a store's change log."""

    #: Identifies the store's data; a different epoch means the data was replaced or lost.
    epoch: str
    #: Number of changes written since the epoch began (contiguous: a gap is detectable).
    seq: int
    #: The backend's own cursor for the last change read (a Redis stream id).
    cursor: str


class LogGap(Exception):
    """The log cannot be replayed from a position (trimmed, replaced, or diverged)."""


def member(*parts: str) -> str:
    """The 32-hex-digit digest of ``parts``."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def token_member(issuer: str, token_id: str) -> str:
    """The member naming a revoked token."""
    return member(TOKEN, issuer, token_id)


def session_member(session_id: str) -> str:
    """The member naming a revoked session."""
    return member(SESSION, session_id)


def subject_member(issuer: str, subject: str) -> str:
    """The member naming a subject's watermark."""
    return member(SUBJECT, issuer, subject)


def lookup_key(member_hex: str) -> int:
    """The mirror's dictionary key for a member: its first 64 bits."""
    return int(member_hex[:16], 16)


class RevocationKeys(NamedTuple):
    """What a mirror looks up for one verified token, computed once per token (it is cached with
    the verified result, so a request does no hashing)."""

    #: :func:`lookup_key` of the token's member, or ``None`` without a ``jti``.
    token: int | None
    #: :func:`lookup_key` of the session's member, or ``None`` without a ``sid``.
    session: int | None
    #: :func:`lookup_key` of the subject's member, or ``None`` without a ``sub``.
    subject: int | None
    #: The ``iat`` claim, compared with a subject watermark (tokens without ``sgen``).
    issued_at: float | None
    #: The ``sid`` claim (session activity is recorded by it).
    session_id: str | None
    #: The ``sgen`` claim, compared with the subject's generation.
    generation: int | None = None


def revocation_keys(claims: Mapping[str, Any]) -> RevocationKeys:
    """The :class:`RevocationKeys` of verified claims."""
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        issuer = ""
    jti, sid, sub, iat = claims.get("jti"), claims.get("sid"), claims.get("sub"), claims.get("iat")
    gen = claims.get(GENERATION_CLAIM)
    return RevocationKeys(
        lookup_key(token_member(issuer, jti)) if isinstance(jti, str) else None,
        lookup_key(session_member(sid)) if isinstance(sid, str) else None,
        lookup_key(subject_member(issuer, sub)) if isinstance(sub, str) else None,
        float(iat) if isinstance(iat, int | float) and not isinstance(iat, bool) else None,
        sid if isinstance(sid, str) else None,
        gen if isinstance(gen, int) and not isinstance(gen, bool) else None,
    )


class ChangeLog(abc.ABC):
    """A reader of one store's change log, owned by one mirror and used by its follower thread
    only (so implementations may keep a connection of their own without locking).

    Every method may raise :class:`~jwtmiddleware.errors.StoreUnavailable`.
    """

    @abc.abstractmethod
    def position(self) -> LogPosition:
        """Where the log ends now."""

    @abc.abstractmethod
    def snapshot(self, now: float) -> tuple[LogPosition, Iterator[list[Change]]]:
        """The log position, read first, then every live revocation in batches. The batches
        may include changes written after the position: replaying the log from it is
        idempotent."""

    @abc.abstractmethod
    def read(self, after: LogPosition, limit: int) -> list[tuple[LogPosition, Change]]:
        """Up to ``limit`` changes after ``after``, oldest first, each with its position.

        :raises LogGap: the log no longer holds what follows ``after`` (it was trimmed, or the
            data was replaced); the caller resyncs from a snapshot.
        """

    @abc.abstractmethod
    def wait(self, after: LogPosition, timeout: float) -> None:
        """Return once a change after ``after`` may exist, or after ``timeout`` seconds."""

    def close(self) -> None:  # noqa: B027 - optional hook: most logs hold nothing to release
        """Release the reader's connection."""
