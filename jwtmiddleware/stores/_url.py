"""Parsing and redacting store URLs (``STORE`` setting).

The Redis forms (one node, Cluster, Sentinel, and their options) are parsed by
:mod:`._redis_url`, whose docstring lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.errors import ConfigurationError
from ._redis_url import RedisConfig, parse_redis_url

__all__ = ["VALID_SCHEMES", "RedisConfig", "StoreURL", "parse_store_url", "redact_url"]

VALID_SCHEMES = (
    "memory://",
    "sqlite:///",
    "redis://",
    "rediss://",
    "unix://",
    "redis+cluster://",
    "rediss+cluster://",
    "redis+sentinel://",
    "rediss+sentinel://",
)
_REDIS_SCHEMES = frozenset(s.partition(":")[0] for s in VALID_SCHEMES[2:])

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SECRET_VALUES = re.compile(
    r"(?i)([?&](?:password|pass|pwd|secret|token|sentinel_password)=)[^&#]*"
)


@dataclass(frozen=True, slots=True)
class StoreURL:
    """A validated store URL.

    ``kind`` is ``"memory"``, ``"sqlite"``, ``"redis"`` (one node), ``"redis-cluster"`` or
    ``"redis-sentinel"``; ``target`` is the SQLite file path or the Redis URL itself (scheme
    lower-cased); ``redis`` holds the parsed Redis settings. The ``repr`` is redacted.
    """

    kind: str
    target: str = field(repr=False)
    redis: RedisConfig | None = None

    def __repr__(self) -> str:
        target = redact_url(self.target) if self.redis else self.target
        return f"StoreURL(kind={self.kind!r}, target={target!r}, redis={self.redis!r})"


def redact_url(url: str) -> str:
    """Return ``url`` with its user information and any secret-looking query parameter
    replaced by ``***``. Works on the raw text so that even a malformed URL (an unescaped
    ``@``, ``/`` or ``?`` in the password) cannot leak through a repr: everything up to the
    last ``@`` counts as user information."""
    head, sep, rest = url.partition("://")
    if not sep:
        return "<store URL without scheme>"
    at = rest.rfind("@")
    if at >= 0:
        rest = "***" + rest[at:]
    return head + "://" + _SECRET_VALUES.sub(r"\1***", rest)


def _bad(message: str) -> ConfigurationError:
    schemes = ", ".join(VALID_SCHEMES)
    return ConfigurationError("STORE", f"{message}; valid URLs start with one of: {schemes}")


def parse_store_url(url: str) -> StoreURL:
    """Validate a store URL without touching the network or the file system.

    SQLite follows SQLAlchemy: ``sqlite:///relative.db`` and ``sqlite:////absolute.db``.
    In-memory SQLite is refused because every worker process must see the same revocations.
    """
    if not isinstance(url, str) or not url.strip():
        raise _bad("the store URL is empty")
    match = _SCHEME.match(url)
    if match is None:
        raise _bad("the store URL has no scheme")
    scheme = match.group(1).lower()
    rest = url[match.end() :]
    if scheme == "memory":
        if rest.strip("/"):
            raise _bad("memory:// takes no host or path")
        return StoreURL("memory", "")
    if scheme == "sqlite":
        return StoreURL("sqlite", _sqlite_path(rest))
    if scheme in _REDIS_SCHEMES:
        config = parse_redis_url(url, scheme, ", ".join(VALID_SCHEMES))
        return StoreURL(config.kind, config.url, config)  # redis-py wants a lower-case scheme
    raise _bad(f"unknown store scheme {scheme!r}")


def _sqlite_path(rest: str) -> str:
    if not rest.startswith("/"):
        raise _bad("sqlite URLs have no host: use sqlite:///relative.db or sqlite:////abs/path.db")
    path = rest[1:]
    if "?" in path or "#" in path:
        raise _bad("sqlite URLs take no query string or fragment")
    if not path or path == ":memory:" or path.startswith("file:"):
        raise _bad(
            "in-memory SQLite is not shared between worker processes: give a file path,"
            " or use memory:// for a single process"
        )
    return path
