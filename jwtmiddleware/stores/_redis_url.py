"""Parsing Redis store URLs: one node, Redis Cluster and Sentinel, each with a TLS twin.

::

    redis://[user:pass@]host[:port][/db][?options]          one node (also rediss://)
    unix://[user:pass@]/path/redis.sock[?db=N&options]       one node over a Unix socket
    redis+cluster://[user:pass@]host:port[,host:port...][?options]        (rediss+cluster://)
    redis+sentinel://[user:pass@]host:port[,host:port...]/SERVICE[/db][?options]
                                                                          (rediss+sentinel://)

The user name and password are the data nodes' (percent-encode ``@ : / ? #`` in them). A
port left out is 6379 (26379 for sentinels). Cluster seeds are only where the client starts:
it learns the other nodes. Options (anything else is a ``ConfigurationError``):

- ``ssl_ca_certs``: CA bundle (PEM file) to verify the servers with (default: the system's);
- ``ssl_certfile``, ``ssl_keyfile``: a client certificate, for ``tls-auth-clients yes``;
- ``ssl_cert_reqs``: ``required`` (default), ``optional`` or ``none`` (no verification);
- ``ssl_check_hostname``: ``true`` (default unless ``ssl_cert_reqs=none``) or ``false``;
- ``sentinel_username``, ``sentinel_password``: the sentinels' own credentials (their
  ``requirepass`` or ACL user) when they differ from the data nodes'; Sentinel URLs only;
- ``db``, ``username``, ``password``: one-node URLs only, as redis-py reads them.

The ``ssl_*`` options need a TLS scheme; with ``rediss+sentinel://`` the sentinels and the data
nodes both speak TLS. Timeouts come from ``STORE_TIMEOUT``, never from the URL. Error messages
never contain the password: they quote only option names that hold no secret.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from ..core.errors import ConfigurationError
from ._redis_config import RedisConfig, RedisKind

__all__ = ["RedisConfig", "RedisKind", "parse_redis_url"]

_TLS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname")
_SENTINEL = ("sentinel_username", "sentinel_password")
_SINGLE = ("db", "username", "password")
_CERT_REQS = ("required", "optional", "none")
_BOOLS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False}
_BOOLS |= {"off": False, "0": False}
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")
_SERVICE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_OPTION_NAME = re.compile(r"^[a-z_]{1,40}$")


class _Where(NamedTuple):
    nodes: tuple[tuple[str, int], ...]
    path: str | None
    service: str | None
    db: int


class _Errors:
    """Builds ``ConfigurationError("STORE", ...)`` that never quote a secret."""

    def __init__(self, valid: str) -> None:
        self.valid = valid
        self.secrets: list[str] = []

    def __call__(self, message: str) -> ConfigurationError:
        return ConfigurationError("STORE", f"{message}; valid URLs start with one of: {self.valid}")

    def name(self, option: str) -> str:
        """``option`` quoted if it is a plain, secret-free name, else a neutral stand-in."""
        clean = _OPTION_NAME.match(option) and not any(s and s in option for s in self.secrets)
        return repr(option) if clean else "(an unreadable option name)"


def parse_redis_url(url: str, scheme: str, valid: str) -> RedisConfig:
    """Validate one of the Redis URL forms above (``scheme`` is the lower-cased scheme of
    ``url``; ``valid`` lists the valid scheme prefixes for error messages)."""
    bad = _Errors(valid)
    rest = url.partition("://")[2]
    normalized = f"{scheme}://{rest}"
    at = rest.rfind("@")  # like urllib: the last "@" ends the user information
    userinfo, hostpart = (rest[:at], rest[at + 1 :]) if at >= 0 else (None, rest)
    username, password = _userinfo(userinfo)
    bad.secrets.append(password or "")
    if "#" in hostpart:
        raise bad(f"{scheme}:// URLs take no fragment ('#'): percent-encode it as %23")
    hostpart, _, query = hostpart.partition("?")
    options = _options(query, bad)
    bad.secrets += [options.get("password", ""), options.get("sentinel_password", "")]
    kind: RedisKind = "redis"
    if scheme.endswith(("+cluster", "+sentinel")):
        kind = "redis-cluster" if scheme.endswith("+cluster") else "redis-sentinel"
        where = _multi(kind, hostpart, bad)
    else:
        where = _single(normalized, scheme, bad)
    tls = scheme.startswith("rediss")
    allowed = {
        *(_TLS if tls else ()),
        *(_SENTINEL if kind == "redis-sentinel" else ()),
        *(_SINGLE if kind == "redis" else ()),
    }
    for name in options:
        if name not in allowed:
            raise bad(_refusal(name, bad, scheme))
    cert_reqs, check_hostname = _tls_checks(options, bad)
    return RedisConfig(
        kind=kind,
        nodes=where.nodes,
        tls=tls,
        path=where.path,
        db=_int(options["db"], "db", bad) if "db" in options else where.db,
        service_name=where.service,
        username=options.get("username", username) or None,
        password=options.get("password", password) or None,
        sentinel_username=options.get("sentinel_username") or None,
        sentinel_password=options.get("sentinel_password") or None,
        ssl_ca_certs=options.get("ssl_ca_certs"),
        ssl_certfile=options.get("ssl_certfile"),
        ssl_keyfile=options.get("ssl_keyfile"),
        ssl_cert_reqs=cert_reqs,
        ssl_check_hostname=check_hostname,
        url=normalized,
    )


def _tls_checks(options: dict[str, str], bad: _Errors) -> tuple[str, bool]:
    for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
        if name in options and not options[name]:
            raise bad(f"the {name} option is empty")
    if "ssl_keyfile" in options and "ssl_certfile" not in options:
        raise bad("ssl_keyfile needs ssl_certfile")
    cert_reqs = options.get("ssl_cert_reqs", "required").lower()
    if cert_reqs not in _CERT_REQS:
        raise bad(f"ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}")
    check = _bool(options.get("ssl_check_hostname"), cert_reqs != "none", "ssl_check_hostname", bad)
    if check and cert_reqs == "none":
        raise bad("ssl_check_hostname=true needs certificate verification (ssl_cert_reqs)")
    return cert_reqs, check


def _refusal(name: str, bad: _Errors, scheme: str) -> str:
    shown = bad.name(name)
    if name in _TLS:
        if scheme == "unix":
            return f"the {shown} option needs TLS, which unix:// URLs do not use"
        return f"the {shown} option needs a TLS URL ({scheme.replace('redis', 'rediss', 1)}://)"
    if name in _SENTINEL:
        return f"the {shown} option is for redis+sentinel:// URLs only"
    if name in _SINGLE:
        return f"{scheme}:// URLs take {shown} in the URL itself, not as an option"
    if name in ("socket_timeout", "socket_connect_timeout", "timeout"):
        return f"{scheme}:// URLs take no {shown} option: set STORE_TIMEOUT instead"
    known = [*_TLS, *_SENTINEL, *_SINGLE]
    return f"unknown option {shown} in the {scheme}:// URL (known: {', '.join(known)})"


def _userinfo(userinfo: str | None) -> tuple[str | None, str | None]:
    if userinfo is None:
        return None, None
    user, colon, password = userinfo.partition(":")
    return unquote(user) or None, (unquote(password) or None) if colon else None


def _options(query: str, bad: _Errors) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in options:
            raise bad(f"the {bad.name(name)} option is given twice")
        options[name] = value
    return options


def _int(text: str, what: str, bad: _Errors) -> int:
    if not text.isdigit() or len(text) > 5:
        raise bad(f"the {what} must be a small non-negative number")
    return int(text)


def _bool(text: str | None, default: bool, what: str, bad: _Errors) -> bool:
    if text is None:
        return default
    if text.lower() not in _BOOLS:
        raise bad(f"{what} must be true or false")
    return _BOOLS[text.lower()]


def _node(text: str, default_port: int) -> tuple[str, int] | None:
    """``host[:port]`` or ``[v6][:port]``; ``None`` if malformed."""
    if text.startswith("["):
        host, sep, tail = text[1:].partition("]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
        if not sep or (tail and not tail.startswith(":")):
            return None
        port_text = tail[1:] if tail else ""
    else:
        host, _, port_text = text.partition(":")
        if not _HOST.match(host):
            return None
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def _multi(kind: RedisKind, hostpart: str, bad: _Errors) -> _Where:
    hosts, _, path = hostpart.partition("/")
    default_port = 6379 if kind == "redis-cluster" else 26379
    entries = hosts.split(",")
    nodes: list[tuple[str, int]] = []
    for number, entry in enumerate(entries, 1):
        node = _node(entry, default_port)
        if node is None:
            where = f"node {number} of {len(entries)}" if len(entries) > 1 else "the node"
            raise bad(f"{where} in the {kind} URL is not host:port")
        if node not in nodes:
            nodes.append(node)
    segments = [unquote(s) for s in path.split("/")] if path else []
    service, db = None, 0
    if kind == "redis-cluster":
        if segments not in ([], [""], ["0"]):
            raise bad("Redis Cluster URLs take no path: a cluster has only database 0")
    else:
        if not segments or not _SERVICE.match(segments[0]):
            raise bad(
                "redis+sentinel:// URLs need the service name after the sentinels (letters,"
                " digits, '.', '_', '-'), e.g. redis+sentinel://h1:26379,h2:26379/mymaster"
            )
        service = segments[0]
        if len(segments) > 2 or (len(segments) == 2 and segments[1] and not segments[1].isdigit()):
            raise bad("after the service name, a Sentinel URL takes only a database number")
        if len(segments) == 2 and segments[1]:
            db = _int(segments[1], "database number", bad)
    return _Where(tuple(nodes), None, service, db)


def _single(url: str, scheme: str, bad: _Errors) -> _Where:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        raise bad(f"the {scheme}:// URL is malformed (host or port)") from None
    if scheme == "unix":
        if not parts.path:
            raise bad("unix:// URLs need a socket path, e.g. unix:///run/redis.sock")
        return _Where((), unquote(parts.path), None, 0)
    if not parts.hostname:
        raise bad(f"{scheme}:// URLs need a host, e.g. {scheme}://127.0.0.1:6379/0")
    if port == 0:
        raise bad(f"the {scheme}:// URL has port 0")
    db_text = parts.path.strip("/")
    if db_text and not db_text.isdigit():
        raise bad(f"the {scheme}:// URL path must be a database number, e.g. /0")
    db = _int(db_text, "database number", bad) if db_text else 0
    return _Where(((parts.hostname, port or 6379),), None, None, db)
