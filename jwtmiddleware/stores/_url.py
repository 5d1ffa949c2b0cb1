"""Parsing and redacting store URLs (``STORE`` setting)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from ..errors import ConfigurationError

__all__ = ["VALID_SCHEMES", "StoreURL", "parse_store_url", "redact_url"]

VALID_SCHEMES = ("memory://", "sqlite:///", "redis://", "rediss://", "unix://")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SECRET_PARAMS = frozenset({"password", "pass", "pwd", "secret", "token"})


@dataclass(frozen=True, slots=True)
class StoreURL:
    """A validated store URL: ``kind`` is ``"memory"``, ``"sqlite"`` or ``"redis"``; ``target``
    is the SQLite file path or the Redis URL itself."""

    kind: str
    target: str


def redact_url(url: str) -> str:
    """Return ``url`` with its userinfo and any secret-looking query parameter replaced by
    ``***``. Works on the raw text so that even a malformed URL (an unescaped ``@`` or ``/``
    in the password) cannot leak through a repr."""
    head, sep, rest = url.partition("://")
    if not sep:
        return "<store URL without scheme>"
    path_part, qmark, query = rest.partition("?")
    at = path_part.rfind("@")
    if at >= 0:
        path_part = "***" + path_part[at:]
    if qmark:
        query = "&".join(
            f"{key}=***" if key.lower() in _SECRET_PARAMS else f"{key}={value}"
            for key, value in parse_qsl(query, keep_blank_values=True)
        )
    return f"{head}://{path_part}{qmark}{query}"


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
    if scheme in ("redis", "rediss", "unix"):
        _check_redis(url, scheme)
        return StoreURL("redis", f"{scheme}://{rest}")  # redis-py wants a lower-case scheme
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


def _check_redis(url: str, scheme: str) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        raise _bad(f"the {scheme}:// URL is malformed (host or port)") from None
    if scheme == "unix":
        if not parts.path:
            raise _bad("unix:// URLs need a socket path, e.g. unix:///run/redis.sock")
        return
    if not parts.hostname:
        raise _bad(f"{scheme}:// URLs need a host, e.g. {scheme}://127.0.0.1:6379/0")
    if port == 0:
        raise _bad(f"the {scheme}:// URL has port 0")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise _bad(f"the {scheme}:// URL path must be a database number, e.g. /0")
