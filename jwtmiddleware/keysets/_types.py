"""The data a remote key cache exchanges with whoever performs its fetches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..core.errors import JWTMiddlewareError

__all__ = ["FetchNeeded", "Headers", "KeyFetchError", "header_value"]

#: Response headers: a mapping or ``(name, value)`` pairs; names are compared case-insensitively.
Headers = Mapping[str, str] | Iterable[tuple[str, str]]


class KeyFetchError(JWTMiddlewareError):
    """A JWKS (or OpenID configuration) could not be fetched or was refused."""

    def __init__(self, reason: str) -> None:
        #: What went wrong, for logs (never contains response bodies).
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class FetchNeeded:
    """A ``GET`` the I/O layer should perform for a cache, then report back to it."""

    #: The URL (already checked: ``https``, or loopback ``http`` when explicitly allowed).
    url: str
    #: ``initial``, ``expired``, ``refresh``, ``unknown-kid`` or ``discovery``.
    reason: str
    #: Request headers (``Accept``, ``If-None-Match``).
    headers: tuple[tuple[str, str], ...]
    #: Overall time limit of the fetch, in seconds.
    timeout: float
    #: Largest response body accepted, in bytes.
    max_bytes: int


def header_value(headers: Headers, name: str) -> str | None:
    """The value of header ``name`` (repeated headers joined with ``", "``), or ``None``."""
    name = name.lower()
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values = [value for key, value in pairs if key.lower() == name]
    return ", ".join(values) if values else None
