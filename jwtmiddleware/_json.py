"""JSON parsing for token segments.

``loads_strict`` is used for JOSE headers: it refuses duplicate member names (RFC 7515 §4),
``NaN``/``Infinity`` and anything that is not UTF-8. ``loads`` parses claims.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "loads", "loads_strict"]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member name")
    return out


_decoder = json.JSONDecoder(parse_constant=_no_constants)
_strict_decoder = json.JSONDecoder(parse_constant=_no_constants, object_pairs_hook=_no_duplicates)


def loads(data: bytes) -> Any:
    """Parse UTF-8 JSON bytes."""
    return _decoder.decode(data.decode("utf-8"))


def loads_strict(data: bytes) -> Any:
    """Parse UTF-8 JSON bytes, refusing duplicate member names."""
    return _strict_decoder.decode(data.decode("utf-8"))


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
