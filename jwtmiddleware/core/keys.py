"""Load, validate and prepare key material once, at start-up.

Every key is bound to exactly one algorithm. The token header may only pick among the
configured algorithms, and a key verifies only under its own algorithm, so neither an ``alg``
swap (``HS256`` signed with an RSA public key) nor ``none`` can get through. PyJWT's algorithm
objects do the cryptography; keys are prepared here so the request path only calls ``verify``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._key_loading import load_keyset
from ._key_types import KEY_STATUSES, SUPPORTED_ALGORITHMS, KeySet, VerificationKey, family

if TYPE_CHECKING:
    from .settings import Settings

__all__ = [
    "KEY_STATUSES",
    "SUPPORTED_ALGORITHMS",
    "KeySet",
    "VerificationKey",
    "build_keyset",
    "family",
    "load_keyset",
]


def build_keyset(settings: Settings) -> KeySet:
    """Validate ``SECRET``/``KEYS`` against ``ALGORITHMS`` and prepare every key."""
    remote = settings.jwks_url is not None or settings.jwks_discovery
    return load_keyset(
        settings.keys, settings.algorithms, secret=settings.secret, allow_empty=remote
    )
