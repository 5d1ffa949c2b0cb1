"""Revocation and session stores, chosen by URL with :func:`open_store`.

``memory://`` (one process), ``sqlite:///path.db`` (the embedded default: one host, several
worker processes) and ``redis://`` / ``rediss://`` / ``unix://`` (several hosts).
``redis+cluster://`` and ``redis+sentinel://`` (and their ``rediss+`` TLS twins) are parsed and
validated, but the store does not serve them yet. Importing this package never imports
``redis``: :class:`RedisStore` is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ._url import parse_store_url
from .base import RevocationQuery, SessionInfo, Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = [
    "MemoryStore",
    "RedisStore",
    "RevocationQuery",
    "SQLiteStore",
    "SessionInfo",
    "Store",
    "open_store",
]


def __getattr__(name: str) -> Any:
    if name == "RedisStore":
        from .redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(url: str, *, timeout: float = 0.1, prefix: str = "jwtmw:") -> Store:
    """Build the store named by ``url`` (the ``STORE`` setting). Redis connects lazily; SQLite
    creates its file and schema now, so a bad path fails at start-up.

    :param timeout: Redis connect and read timeout in seconds (SQLite waits for its write lock
        with its own ``busy_timeout``).
    :param prefix: namespace of every Redis key.
    :raises ConfigurationError: for an unknown scheme or a malformed URL; the message never
        contains the URL's password.
    """
    parsed = parse_store_url(url)
    if parsed.kind == "memory":
        return MemoryStore()
    if parsed.kind == "sqlite":
        return SQLiteStore(parsed.target)
    if not timeout > 0:
        raise ConfigurationError("STORE_TIMEOUT", f"must be positive, got {timeout!r}")
    if parsed.kind != "redis":
        raise ConfigurationError(
            "STORE",
            f"{parsed.kind} URLs are recognised, but this version's Redis store serves only one"
            " node (redis://, rediss://, unix://)",
        )
    try:
        from .redis import RedisStore
    except ImportError:
        raise ConfigurationError(
            "STORE", "a redis:// store needs the redis client: pip install 'jwtmiddleware[redis]'"
        ) from None
    try:
        return RedisStore(parsed.target, timeout=timeout, prefix=prefix)
    except ValueError:
        # redis-py's messages may quote the URL, password included: do not chain them.
        raise ConfigurationError("STORE", "the Redis URL is malformed") from None
