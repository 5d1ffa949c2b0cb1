"""JSON parsing for token segments.

``loads_strict`` is used for JOSE headers: it refuses duplicate member names (RFC 7515 §4),
``NaN``/``Infinity`` and anything that is not UTF-8. ``loads`` parses claims, with ``orjson``
when it is installed (the ``fast`` extra). Whenever ``orjson`` refuses a document, the standard
library parses it again, so both give the same accept/reject decisions (a parity test checks
this on the attack suite's payloads); ``orjson`` only makes the common case faster.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["FAST", "dumps", "loads", "loads_stdlib", "loads_strict"]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member name")
    return out


_decoder = json.JSONDecoder(parse_constant=_no_constants)
_strict_decoder = json.JSONDecoder(parse_constant=_no_constants, object_pairs_hook=_no_duplicates)


def loads_stdlib(data: bytes) -> Any:
    """Parse UTF-8 JSON bytes with the standard library."""
    return _decoder.decode(data.decode("utf-8"))


try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the installed extras
    _orjson = None  # type: ignore[assignment]

#: Whether the fast parser is in use.
FAST = _orjson is not None


def loads(data: bytes) -> Any:
    """Parse UTF-8 JSON bytes (``orjson`` first when available, else the standard library)."""
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass  # the standard library decides, and says why
    return loads_stdlib(data)


def loads_strict(data: bytes) -> Any:
    """Parse UTF-8 JSON bytes, refusing duplicate member names."""
    return _strict_decoder.decode(data.decode("utf-8"))


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
