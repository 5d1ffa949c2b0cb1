"""The records the store interface passes around: a revocation query, a device session and
the outcome of starting one (re-exported by :mod:`.base` and :mod:`jwtmiddleware.stores`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RevocationQuery", "SessionInfo", "SessionStart"]


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
