"""Redis commands as data: what the sans-IO operations yield and the drivers send."""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Cmd", "Lua", "Op"]

_T = TypeVar("_T")
#: One Redis command: ``("MGET", k1, k2)``, or ``(Lua, numkeys, *keys, *args)`` for a script.
Cmd = tuple[Any, ...]
#: An operation: yields command batches, receives their replies, returns the result.
Op = Generator[list[Cmd], list[Any], _T]


@dataclass(frozen=True, slots=True)
class Lua:
    """A Lua script, sent by SHA (EVALSHA) and by source after NOSCRIPT."""

    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> Lua:
        sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        return cls(source, sha)

    def call(self, keys: Sequence[str], *args: object) -> Cmd:
        return (self, len(keys), *keys, *args)
