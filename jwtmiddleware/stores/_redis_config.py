"""The parsed form of a Redis store URL: what redis-py's clients need, and nothing secret in
its ``repr``. Built by :func:`._redis_url.parse_redis_url`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["RedisConfig", "RedisKind"]

#: One node, Redis Cluster, or a master found through Sentinel.
RedisKind = Literal["redis", "redis-cluster", "redis-sentinel"]


@dataclass(frozen=True, slots=True)
class RedisConfig:
    """A validated Redis store URL, split into what redis-py's clients take.

    Secrets (``password``, ``sentinel_password``) and the raw ``url`` stay out of ``repr``;
    :meth:`describe` names the deployment without them.
    """

    #: ``"redis"`` (one node), ``"redis-cluster"`` or ``"redis-sentinel"``.
    kind: RedisKind
    #: ``(host, port)`` of the node, the cluster's seed nodes or the sentinels.
    nodes: tuple[tuple[str, int], ...]
    #: Whether the connections use TLS (``rediss``).
    tls: bool = False
    #: Unix socket path (``unix://`` only).
    path: str | None = None
    #: Database number (always 0 on a cluster).
    db: int = 0
    #: The Sentinel service (master group) name.
    service_name: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    #: ``"required"``, ``"optional"`` or ``"none"``.
    ssl_cert_reqs: str = "required"
    ssl_check_hostname: bool = True
    #: The URL as given (scheme lower-cased), password included.
    url: str = field(default="", repr=False)

    def ssl_options(self) -> dict[str, object]:
        """redis-py's keyword arguments for TLS (empty without TLS)."""
        if not self.tls:
            return {}
        return {
            "ssl": True,
            "ssl_ca_certs": self.ssl_ca_certs,
            "ssl_certfile": self.ssl_certfile,
            "ssl_keyfile": self.ssl_keyfile,
            "ssl_cert_reqs": self.ssl_cert_reqs,
            "ssl_check_hostname": self.ssl_check_hostname,
        }

    def describe(self) -> str:
        """The deployment in words, without credentials, for logs and errors."""
        where = ", ".join(_address(host, port) for host, port in self.nodes)
        tls = " over TLS" if self.tls else ""
        if self.kind == "redis-cluster":
            return f"Redis Cluster (seeds {where}){tls}"
        if self.kind == "redis-sentinel":
            service = f"Redis Sentinel service {self.service_name!r}"
            return f"{service} (sentinels {where}){tls}, db {self.db}"
        target = f"unix:{self.path}" if self.path else where
        return f"Redis at {target}{tls}, db {self.db}"


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
