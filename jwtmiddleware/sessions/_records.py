"""The records a session flow hands out: a login's device metadata and the token pair."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RequestInfo", "TokenPair"]


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Device metadata recorded with a session."""

    user_agent: str = ""
    ip: str = ""


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a login or refresh hands to the client."""

    access_token: str
    refresh_token: str
    access_expires_at: float
    refresh_expires_at: float
    session_id: str
    #: The value scripts echo in ``X-CSRF-Token`` when tokens ride in cookies.
    csrf_token: str
    #: ``Set-Cookie`` values for the access, refresh and CSRF cookies.
    set_cookies: tuple[str, ...] = ()

    def body(self, now: float) -> dict[str, Any]:
        """An OAuth 2.0 style JSON body (RFC 6749 §5.1) for non-browser clients."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": max(0, int(self.access_expires_at - now)),
            "refresh_token": self.refresh_token,
            "csrf_token": self.csrf_token,
        }
