"""Helpers for testing applications protected by jwtmiddleware.

``mint_token`` signs a token with the keys of a :class:`Settings`, and :class:`FrozenClock` is a
clock you move by hand; pass it as ``clock=`` to the middleware.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .core import _json
from .core.issuer import encode_compact

if TYPE_CHECKING:
    from .core.settings import Settings

__all__ = ["FrozenClock", "mint_token", "sign_compact"]


class FrozenClock:
    """A clock that only moves when told to: ``clock()``, ``clock.advance(60)``."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        #: The current UNIX time.
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, with a negative value) and return the new time."""
        self.now += seconds
        return self.now


def sign_compact(settings: Settings, header: Mapping[str, Any], payload: bytes) -> str:
    """Sign raw ``payload`` bytes with the settings' active key, exactly as given (for tests)."""
    key = settings.keyset.signing_key()
    if key is None:
        raise ValueError("these settings hold no key that can sign")
    return encode_compact(key, header, payload)


def mint_token(
    settings: Settings,
    claims: Mapping[str, Any] | None = None,
    *,
    subject: str | None = "user-1",
    now: float | None = None,
    ttl: float = 300,
    header: Mapping[str, Any] | None = None,
) -> str:
    """A token the given settings accept: ``typ``, ``iss``, ``aud``, ``iat``, ``exp``, ``jti``.

    ``claims`` override or add claims (a value of ``None`` removes that claim); ``header`` adds
    or overrides header fields. ``now`` defaults to the real time.
    """
    import time

    issued = time.time() if now is None else now
    body: dict[str, Any] = {
        "iat": int(issued),
        "exp": int(issued + ttl),
        "jti": secrets.token_urlsafe(16),
    }
    if subject is not None:
        body["sub"] = subject
    if settings.issuer:
        body["iss"] = settings.issuer
    if settings.audience:
        body["aud"] = settings.audience[0]
    for name, value in (claims or {}).items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    head: dict[str, Any] = {"typ": settings.token_type or "JWT", **(header or {})}
    return sign_compact(settings, head, _json.dumps(body))
