"""redis-py clients for one Redis deployment: one node, Redis Cluster or Sentinel, sync and asyncio.

The store asks for ``RedisClients.from_url(parsed, timeout=...)`` and gets the same client
settings for every deployment: connect and read timeouts of ``timeout`` seconds, one immediate
retry of a broken connection (no back-off), no health-check pings, decoded replies, and the TLS
options of the URL. Clients connect lazily. Cluster clients route each command by its key and
follow ``MOVED``; Sentinel clients ask the sentinels for the master before each new connection,
so after a failover they answer again by themselves.
"""

from __future__ import annotations

import threading
from typing import Any, Union, cast

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.cluster
import redis.exceptions as rx
import redis.sentinel
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..core.errors import ConfigurationError
from ._redis_config import RedisConfig
from ._url import StoreURL, parse_store_url

__all__ = ["AsyncClient", "RedisClients", "SyncClient", "aclose_client", "close_client"]

#: What :attr:`RedisClients.sync` and :meth:`RedisClients.blocking_reader` return.
SyncClient = Union[redis.Redis, redis.cluster.RedisCluster]  # noqa: UP007 - a runtime alias
#: What :meth:`RedisClients.make_async` returns.
AsyncClient = Union[redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster]  # noqa: UP007


class RedisClients:
    """Builds the clients of one Redis deployment (``config.kind``).

    :param config: the parsed ``STORE`` URL.
    :param timeout: seconds for connecting and for each reply (``STORE_TIMEOUT``).
    """

    def __init__(self, config: RedisConfig, *, timeout: float) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        self.config = config
        self.timeout = timeout
        self._lock = threading.RLock()  # sync -> _build_sync -> _sentinel_manager
        self._sync: SyncClient | None = None
        self._sentinel: redis.sentinel.Sentinel | None = None

    @classmethod
    def from_url(cls, url: str | StoreURL | RedisConfig, *, timeout: float) -> RedisClients:
        """Clients for a Redis store URL (text, as parsed by ``parse_store_url``, or its
        :class:`RedisConfig`).

        :raises ConfigurationError: for a malformed URL or one that names no Redis store.
        """
        if isinstance(url, RedisConfig):
            return cls(url, timeout=timeout)
        parsed = parse_store_url(url) if isinstance(url, str) else url
        if parsed.redis is None:
            raise ConfigurationError("STORE", f"a {parsed.kind} URL names no Redis store")
        return cls(parsed.redis, timeout=timeout)

    @property
    def kind(self) -> str:
        """``"redis"``, ``"redis-cluster"`` or ``"redis-sentinel"``."""
        return self.config.kind

    def describe(self) -> str:
        """The deployment in words, for logs and errors: never a password."""
        return self.config.describe()

    def __repr__(self) -> str:
        return f"RedisClients({self.describe()!r}, timeout={self.timeout!r})"

    @property
    def sync(self) -> SyncClient:
        """The shared sync client, built on first use.

        A cluster client reads the slot map while it is built; if no seed node answers this
        raises ``redis.exceptions.ConnectionError`` and the next access tries again.
        """
        client = self._sync
        if client is None:
            with self._lock:
                if self._sync is None:
                    self._sync = self._build_sync(self.timeout)
                client = self._sync
        return client

    def blocking_reader(self, block: float) -> SyncClient:
        """A separate sync client for blocking reads (``XREAD BLOCK block*1000``): its replies
        may take ``block + timeout`` seconds. On a cluster it routes by key, like
        :attr:`sync`. The caller closes it with :func:`close_client`."""
        if not block >= 0:
            raise ValueError(f"block must be non-negative, got {block!r}")
        return self._build_sync(block + self.timeout)

    def make_async(self) -> AsyncClient:
        """A new asyncio client. redis.asyncio connections belong to the event loop that
        opened them: keep one per loop, and close it with :func:`aclose_client`."""
        config, options = self.config, self._options(self.timeout)
        options["retry"] = redis.asyncio.retry.Retry(NoBackoff(), 1, (rx.ConnectionError,))
        if config.kind == "redis-cluster":
            seeds = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in config.nodes]
            options["retry"] = redis.asyncio.retry.Retry(NoBackoff(), 1)
            return redis.asyncio.cluster.RedisCluster(startup_nodes=seeds, **options)
        if config.kind == "redis-sentinel":
            sentinel = redis.asyncio.sentinel.Sentinel(
                list(config.nodes), sentinel_kwargs=self._sentinel_options()
            )
            client = sentinel.master_for(
                _service(config), redis_class=redis.asyncio.Redis, **options
            )
            return cast(redis.asyncio.Redis, client)
        return redis.asyncio.Redis(**_single_node(config), **options)

    def close(self) -> None:
        """Close the shared sync client and the sentinel connections (clients made by
        :meth:`make_async` and :meth:`blocking_reader` are closed by their owners)."""
        with self._lock:
            client, self._sync = self._sync, None
            sentinel, self._sentinel = self._sentinel, None
        if client is not None:
            client.close()
        if sentinel is not None:
            for each in sentinel.sentinels:
                each.close()

    # -- construction ------------------------------------------------------------------------

    def _options(self, read_timeout: float) -> dict[str, Any]:
        config = self.config
        options: dict[str, Any] = {
            "socket_connect_timeout": self.timeout,
            "socket_timeout": read_timeout,
            "health_check_interval": 0,
            "decode_responses": True,
            "username": config.username,
            "password": config.password,
        }
        if config.kind != "redis-cluster":
            options["db"] = config.db
        options.update(config.ssl_options())
        return options

    def _sentinel_options(self) -> dict[str, Any]:
        config = self.config
        return {
            "socket_connect_timeout": self.timeout,
            "socket_timeout": self.timeout,
            "username": config.sentinel_username,
            "password": config.sentinel_password,
            **config.ssl_options(),
        }

    def _build_sync(self, read_timeout: float) -> SyncClient:
        config, options = self.config, self._options(read_timeout)
        options["retry"] = Retry(NoBackoff(), 1, (rx.ConnectionError,))
        if config.kind == "redis-cluster":
            seeds = [
                redis.cluster.ClusterNode(host, port)  # type: ignore[no-untyped-call]
                for host, port in config.nodes
            ]
            options["retry"] = Retry(NoBackoff(), 1)
            try:
                return redis.cluster.RedisCluster(startup_nodes=seeds, **options)
            except rx.RedisClusterException as exc:  # not a ConnectionError: make it one
                raise rx.ConnectionError(f"no seed node of {self.describe()} answered") from exc
        if config.kind == "redis-sentinel":
            return cast(
                redis.Redis, self._sentinel_manager().master_for(_service(config), **options)
            )
        return redis.Redis(**_single_node(config), **options)

    def _sentinel_manager(self) -> redis.sentinel.Sentinel:
        """One manager (and one set of sentinel connections) for every sync client."""
        with self._lock:
            if self._sentinel is None:
                self._sentinel = redis.sentinel.Sentinel(
                    list(self.config.nodes), sentinel_kwargs=self._sentinel_options()
                )
            return self._sentinel


def _service(config: RedisConfig) -> str:
    assert config.service_name is not None  # the parser guarantees it for Sentinel URLs
    return config.service_name


def _single_node(config: RedisConfig) -> dict[str, Any]:
    if config.path is not None:
        return {"unix_socket_path": config.path}
    ((host, port),) = config.nodes
    return {"host": host, "port": port}


def close_client(client: SyncClient) -> None:
    """Close a sync client from :class:`RedisClients`."""
    client.close()


async def aclose_client(client: AsyncClient) -> None:
    """Close an asyncio client from :meth:`RedisClients.make_async`, with the connections
    to the sentinels it asked for the master."""
    await client.aclose()
    manager = getattr(getattr(client, "connection_pool", None), "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        await sentinel.aclose()
