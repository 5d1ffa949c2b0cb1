"""A bounded least-recently-used map of verified tokens whose entries expire with the token."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any, Generic, TypeVar

from .errors import TokenExpired, TokenNotYetValid

__all__ = ["TokenCache", "validity_window"]

V = TypeVar("V")


def validity_window(claims: Mapping[str, Any], leeway: float) -> tuple[float, float]:
    """``(not_before, expires)``: the interval of ``now`` in which the claims' time checks pass."""
    exp = claims.get("exp")
    expires = float(exp) + leeway if exp is not None else math.inf
    not_before = -math.inf
    nbf = claims.get("nbf")
    if nbf is not None:
        not_before = float(nbf) - leeway
    iat = claims.get("iat")
    if iat is not None and float(iat) - leeway > not_before:
        not_before = float(iat) - leeway
    return not_before, expires


def _claims_of(value: Any) -> Mapping[str, Any] | None:
    """The claims a cached value holds (a verified token, or a result with an identity)."""
    claims = getattr(getattr(value, "identity", value), "claims", None)
    return claims if isinstance(claims, Mapping) else None


class TokenCache(Generic[V]):
    """Token (or header) text → value, at most ``size`` entries, each valid only inside its
    window.

    Safe to share between threads: every operation is one or two dictionary calls under the
    GIL, and a race can only cost a cache miss.
    """

    __slots__ = ("_entries", "_size", "entry", "touch")

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[V, float, float]] = OrderedDict()
        #: ``entry(token)``: the raw ``(value, not_before, expires)`` or ``None``, in one C
        #: call; a caller that uses it checks ``not_before <= now < expires`` itself, calls
        #: :attr:`touch`, and otherwise falls back to :meth:`get` (which refuses).
        self.entry = self._entries.get
        #: ``touch(token)``: mark an entry just used (least recently used is evicted first).
        self.touch = self._entries.move_to_end

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: Hashable, now: float) -> V | None:
        """The value, or ``None``; raise if the token's time claims fail at ``now``."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry[1] <= now < entry[2]:
            try:  # noqa: SIM105 - contextlib.suppress would cost a context manager per hit
                self._entries.move_to_end(token)
            except KeyError:  # evicted by another thread meanwhile
                pass
            return entry[0]
        error: TokenExpired | TokenNotYetValid
        if now >= entry[2]:
            self._entries.pop(token, None)
            error = TokenExpired("exp has passed")
        else:
            error = TokenNotYetValid("nbf or iat is in the future")
        error.claims = _claims_of(entry[0])  # verified once: the log line may name sub
        raise error

    def put(self, token: Hashable, value: V, window: tuple[float, float]) -> None:
        """Remember ``value`` for ``token`` while ``now`` is inside ``window``."""
        if not self._size:
            return
        entries = self._entries
        entries[token] = (value, window[0], window[1])
        while len(entries) > self._size:
            try:
                entries.popitem(last=False)
            except KeyError:  # emptied by another thread meanwhile
                break

    def clear(self) -> None:
        """Forget everything (after the trusted keys changed)."""
        self._entries.clear()
