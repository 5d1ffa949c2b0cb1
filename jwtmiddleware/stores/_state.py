"""Revocation state held in process: three dictionaries and an expiry index.

:class:`RevocationState` is what a mirror holds (and what the memory store holds itself): every
live revocation keyed by :func:`~._changes.lookup_key`. Reads are plain dictionary lookups with
no lock (each is atomic under the GIL), done by :meth:`Mirror.checker
<jwtmiddleware.stores.mirror.Mirror.checker>`; one writer at a time applies changes (the mirror's
follower thread, or a store method under the store's lock, or this process's own writes).
Entries leave when they expire: :meth:`RevocationState.sweep` drops them bucket by bucket, so a
sweep costs what expired, not what is held.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from ._changes import SESSION, SUBJECT, TOKEN, Change, lookup_key

__all__ = ["RevocationState"]

#: Width of an expiry bucket, in seconds.
_BUCKET = 64.0
_KINDS = (TOKEN, SESSION, SUBJECT)


class RevocationState:
    """Revoked tokens, revoked sessions and subject watermarks, keyed by 64-bit digests."""

    __slots__ = ("_buckets", "_heap", "sessions", "subjects", "tokens")

    def __init__(self) -> None:
        #: Token key → until when it is revoked.
        self.tokens: dict[int, float] = {}
        #: Session key → until when it is revoked.
        self.sessions: dict[int, float] = {}
        #: Subject key → ``(before, expires_at, generation)``.
        self.subjects: dict[int, tuple[float, float, int]] = {}
        # (bucket, kind) → keys expiring in that bucket; the heap orders the buckets.
        self._buckets: dict[tuple[int, str], list[int]] = {}
        self._heap: list[int] = []

    def clear(self) -> None:
        """Forget everything."""
        self.tokens.clear()
        self.sessions.clear()
        self.subjects.clear()
        self._buckets.clear()
        self._heap.clear()

    def __len__(self) -> int:
        return len(self.tokens) + len(self.sessions) + len(self.subjects)

    def counts(self) -> dict[str, int]:
        """How many entries of each kind are held."""
        return {"tokens": len(self.tokens), "sessions": len(self.sessions),
                "subjects": len(self.subjects)}  # fmt: skip

    # -- writing ----------------------------------------------------------------------------

    def apply(self, change: Change, now: float) -> None:
        """Merge one change (idempotent: expiry times and watermarks only grow). A change that
        has already expired at ``now`` is ignored."""
        expires_at = change.expires_at
        if expires_at <= now:
            return
        key = lookup_key(change.member)
        kind = change.kind
        if kind == SUBJECT:
            old = self.subjects.get(key)
            value = (change.before, expires_at, change.generation)
            if old is not None and old[1] > now:
                if old[0] >= value[0] and old[1] >= value[1] and old[2] >= value[2]:
                    return
                value = (max(old[0], value[0]), max(old[1], value[1]), max(old[2], value[2]))
            self.subjects[key] = value
            self._index(kind, key, value[1])
            return
        table = self.tokens if kind == TOKEN else self.sessions if kind == SESSION else None
        if table is None:
            return  # a kind this version does not know: a newer writer's; nothing to enforce
        old_exp = table.get(key)
        if old_exp is not None and old_exp >= expires_at:
            return
        table[key] = expires_at
        self._index(kind, key, expires_at)

    def apply_all(self, changes: Iterable[Change], now: float) -> int:
        """Apply many changes; return how many were given."""
        count = 0
        for change in changes:
            self.apply(change, now)
            count += 1
        return count

    def _index(self, kind: str, key: int, expires_at: float) -> None:
        bucket = int(expires_at // _BUCKET)
        entries = self._buckets.get((bucket, kind))
        if entries is None:
            entries = self._buckets[(bucket, kind)] = []
            heapq.heappush(self._heap, bucket)
        entries.append(key)

    def sweep(self, now: float) -> int:
        """Drop every entry expired at ``now``; return how many went."""
        dropped = 0
        limit = int(now // _BUCKET)
        heap, buckets = self._heap, self._buckets
        while heap and heap[0] < limit:
            bucket = heapq.heappop(heap)
            for kind in _KINDS:
                for key in buckets.pop((bucket, kind), ()):
                    dropped += self._drop_if_expired(kind, key, now)
        # The current bucket: drop what expired, keep the rest indexed.
        for kind in _KINDS:
            keys = buckets.get((limit, kind))
            if keys:
                kept = []
                for key in keys:
                    if self._drop_if_expired(kind, key, now):
                        dropped += 1
                    elif self._expiry(kind, key) is not None:
                        kept.append(key)
                keys[:] = kept
        return dropped

    def _expiry(self, kind: str, key: int) -> float | None:
        if kind == SUBJECT:
            mark = self.subjects.get(key)
            return None if mark is None else mark[1]
        return (self.tokens if kind == TOKEN else self.sessions).get(key)

    def _drop_if_expired(self, kind: str, key: int, now: float) -> int:
        if kind == SUBJECT:
            mark = self.subjects.get(key)
            if mark is not None and mark[1] <= now:
                del self.subjects[key]
                return 1
            return 0
        table = self.tokens if kind == TOKEN else self.sessions
        exp = table.get(key)
        if exp is not None and exp <= now:
            del table[key]
            return 1
        return 0
