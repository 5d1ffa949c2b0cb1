"""Revocation and session stores, chosen by URL with :func:`open_store`, and the
:class:`Mirror` of their revocations each process keeps (``STORE_MAX_LAG``).

``memory://`` (one process), ``sqlite:///path.db`` (the embedded default: one host, several
worker processes) and ``redis://`` / ``rediss://`` / ``unix://`` (several hosts).
``redis+cluster://`` and ``redis+sentinel://`` (and their ``rediss+`` TLS twins) are parsed and
validated, but the store does not serve them yet. Importing this package never imports
``redis``: :class:`RedisStore` is loaded on first use.
"""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError, StoreUnavailable
from ._url import parse_store_url
from .base import RevocationQuery, SessionInfo, Store
from .memory import MemoryStore
from .mirror import Mirror
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = [
    "MemoryStore",
    "Mirror",
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


def _open_sqlite(path: str) -> SQLiteStore:
    """A SQLite store, or a ``ConfigurationError`` naming ``STORE`` and the file: at start-up a
    missing directory or a file that is no database is a setting to fix, not an outage."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConfigurationError(
            "STORE",
            f"the directory of the SQLite file {path!r} does not exist ({directory}); "
            "create it or point STORE at another file",
        )
    try:
        return SQLiteStore(path)
    except StoreUnavailable as exc:
        cause = exc.__cause__
        if isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause):
            raise ConfigurationError(
                "STORE",
                f"cannot open the SQLite file {path!r} ({cause}): check that it is a "
                "file this process may read and write, in a writable directory",
            ) from cause
        raise  # busy or locked: a passing outage, named as one
    except sqlite3.DatabaseError as exc:
        raise ConfigurationError(
            "STORE",
            f"{path!r} is not a usable SQLite database ({exc}); move it away, or point "
            "STORE at another file",
        ) from exc


def open_store(
    url: str, *, timeout: float = 0.1, prefix: str = "jwtmw:", min_replicas: int = 0
) -> Store:
    """Build the store named by ``url`` (the ``STORE`` setting). Redis connects lazily; SQLite
    creates its file and schema now, so a bad path fails at start-up.

    :param timeout: Redis connect and read timeout in seconds (SQLite waits for its write lock
        with its own ``busy_timeout``).
    :param prefix: namespace of every Redis key.
    :param min_replicas: Redis replicas every revocation must reach (``STORE_MIN_REPLICAS``).
    :raises ConfigurationError: for an unknown scheme or a malformed URL (the message never
        contains the URL's password), and for a SQLite file that cannot be opened or is no
        database (the message names the file).
    """
    parsed = parse_store_url(url)
    if min_replicas and parsed.kind not in ("redis", "redis-cluster", "redis-sentinel"):
        raise ConfigurationError("STORE_MIN_REPLICAS", "applies to Redis stores only")
    if parsed.kind == "memory":
        return MemoryStore()
    if parsed.kind == "sqlite":
        return _open_sqlite(parsed.target)
    if not timeout > 0:
        raise ConfigurationError("STORE_TIMEOUT", f"must be positive, got {timeout!r}")
    try:
        from .redis import RedisStore
    except ImportError:
        raise ConfigurationError(
            "STORE", "a redis:// store needs the redis client: pip install 'jwtmiddleware[redis]'"
        ) from None
    try:
        return RedisStore(url, timeout=timeout, prefix=prefix, min_replicas=min_replicas)
    except ValueError:
        # redis-py's messages may quote the URL, password included: do not chain them.
        raise ConfigurationError("STORE", "the Redis URL is malformed") from None
