"""Pytest plugin: Redis Cluster, Sentinel and TLS deployments of real processes on loopback.

Loaded from the root conftest next to :mod:`tests.redis_server`, whose policy it shares: every
process binds 127.0.0.1 on a free port, is stopped by pid at teardown, and its directory is
removed; without ``redis-server`` / ``redis-cli`` the tests skip, or fail when ``$CI`` is set.

Fixtures:

- ``redis_cluster``: a 3-master cluster shared by the session (isolate tests with key
  prefixes); a node an earlier test killed is restarted first.
- ``redis_cluster_factory``: ``factory(tls=False, appendonly=False, password=None)`` starts a
  dedicated cluster (to kill a node, or over TLS).
- ``redis_sentinel_factory``: ``factory(appendonly=False, password=None,
  sentinel_password=None, tls=False)`` starts 1 master + 1 replica + 3 sentinels (quorum 2,
  down after 1 s): :meth:`SentinelSet.kill_master`, :meth:`SentinelSet.wait_failover`,
  :meth:`SentinelSet.restart_as_replica`.
- ``redis_tls_files``: a throwaway CA, server and client certificate (session).
- ``redis_tls_server_factory``: ``factory(auth_clients=False)`` starts a TLS-only server.
- ``redis_node_factory``: ``factory(*extra_args, appendonly=False, password=None)`` starts a
  one-off server with any configuration (``"--maxmemory-policy", "allkeys-lru"``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

from tests.redis_nodes import (
    SETTLE_TIMEOUT,
    Node,
    cli_binary,
    dispose,
    new_dir,
    start_node,
    wait_for,
)
from tests.redis_sentinel import SentinelProcess, SentinelSet, redis_sentinel_factory
from tests.redis_server import _binary
from tests.redis_tls import TLSFiles, make_tls_files

__all__ = [
    "LocalCluster",
    "Node",
    "SentinelProcess",
    "SentinelSet",
    "redis_cluster",
    "redis_cluster_factory",
    "redis_node_factory",
    "redis_sentinel_factory",
    "redis_tls_files",
    "redis_tls_server_factory",
]


# -- Cluster ---------------------------------------------------------------------------------


class LocalCluster:
    """Three cluster-enabled masters joined by ``redis-cli --cluster create``.

    ``url`` is the ``redis+cluster://`` (or ``rediss+cluster://``) seed URL the store takes.
    """

    def __init__(
        self, nodes: list[Node], cli: str, *, tls: TLSFiles | None, password: str | None
    ) -> None:
        self.nodes = nodes
        self.cli = cli
        self.tls = tls
        self.password = password

    @property
    def url(self) -> str:
        scheme = "rediss+cluster" if self.tls else "redis+cluster"
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        seeds = ",".join(node.address for node in self.nodes)
        query = ""
        if self.tls:
            query = f"?ssl_ca_certs={quote(str(self.tls.ca))}"
        return f"{scheme}://{auth}{seeds}{query}"

    @property
    def pids(self) -> list[int]:
        return [node.pid for node in self.nodes if node.is_alive()]

    def create(self) -> None:
        """Form the cluster (all 16384 slots over the three masters) and wait until every
        node reports ``cluster_state:ok``."""
        argv = [self.cli, "--cluster", "create", *(n.address for n in self.nodes)]
        argv += ["--cluster-replicas", "0", "--cluster-yes"]
        if self.tls:
            argv += ["--tls", "--cacert", str(self.tls.ca)]
            argv += ["--cert", str(self.tls.client_cert), "--key", str(self.tls.client_key)]
        env = dict(os.environ)
        if self.password:
            env["REDISCLI_AUTH"] = self.password  # not on the command line
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{done.stdout}\n{done.stderr}")
        self.wait_ok()

    def state_ok(self) -> bool:
        for node in self.nodes:
            if not node.is_alive():
                return False
            with node.client() as client:
                info = client.execute_command("CLUSTER", "INFO")
                if "cluster_state:ok" not in info or "cluster_known_nodes:3" not in info:
                    return False
        return True

    def wait_ok(self, timeout: float = SETTLE_TIMEOUT) -> float:
        return wait_for(self.state_ok, timeout, "cluster_state:ok on every node")

    def owner_of(self, key: str) -> Node:
        """The master serving ``key``'s hash slot."""
        with self.nodes[0].client() as client:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, primary, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    port = int(primary[1])
                    return next(node for node in self.nodes if node.port == port)
        raise LookupError(key)

    def kill(self, index: int) -> Node:
        """SIGKILL one master (its slots become unavailable: no replicas here)."""
        node = self.nodes[index]
        node.kill()
        return node

    def stop(self, index: int) -> Node:
        """SIGTERM one master."""
        node = self.nodes[index]
        node.stop()
        return node

    def heal(self) -> None:
        """Restart every dead node (it rejoins from its ``nodes.conf``) and wait for ok."""
        for node in self.nodes:
            if not node.is_alive():
                node.start()
            else:
                node.resume()
        self.wait_ok()

    def close(self) -> None:
        for node in self.nodes:
            dispose(node)


def _start_cluster(
    *, tls: TLSFiles | None = None, appendonly: bool = False, password: str | None = None
) -> LocalCluster:
    binary, cli = _binary(), cli_binary()
    nodes: list[Node] = []
    cluster = LocalCluster(nodes, cli, tls=tls, password=password)
    try:
        for _ in range(3):
            node = Node(
                binary,
                new_dir("cluster"),
                appendonly=appendonly,
                tls=tls,
                password=password,
                cluster=True,
            )
            nodes.append(node)
            start_node(node)
        cluster.create()
    except BaseException:
        cluster.close()
        raise
    return cluster


@pytest.fixture(scope="session")
def _session_redis_cluster() -> Iterator[LocalCluster]:
    cluster = _start_cluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def redis_cluster(_session_redis_cluster: LocalCluster) -> LocalCluster:
    """The shared cluster, healed first if an earlier test killed a node."""
    if not all(node.is_alive() for node in _session_redis_cluster.nodes):
        _session_redis_cluster.heal()
    return _session_redis_cluster


@pytest.fixture
def redis_cluster_factory(
    redis_tls_files: TLSFiles,
) -> Iterator[Callable[..., LocalCluster]]:
    """Start dedicated clusters: ``factory(tls=True, appendonly=True, password="pw")``."""
    started: list[LocalCluster] = []

    def factory(
        *, tls: bool = False, appendonly: bool = False, password: str | None = None
    ) -> LocalCluster:
        files = redis_tls_files if tls else None
        cluster = _start_cluster(tls=files, appendonly=appendonly, password=password)
        started.append(cluster)
        return cluster

    yield factory
    for cluster in started:
        cluster.close()


# -- TLS single node -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_tls_files() -> Iterator[TLSFiles]:
    directory = new_dir("tls")
    try:
        yield make_tls_files(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def redis_tls_server_factory(redis_tls_files: TLSFiles) -> Iterator[Callable[..., Node]]:
    """Start TLS-only servers (``--port 0 --tls-port P``); ``auth_clients=True`` demands a
    client certificate."""
    started: list[Node] = []

    def factory(*, auth_clients: bool = False, password: str | None = None) -> Node:
        node = Node(
            _binary(),
            new_dir("tls"),
            tls=redis_tls_files,
            auth_clients=auth_clients,
            password=password,
        )
        started.append(node)
        start_node(node)
        return node

    yield factory
    for node in started:
        dispose(node)


@pytest.fixture
def redis_node_factory() -> Iterator[Callable[..., Node]]:
    """Start one-off servers with any configuration:
    ``factory("--maxmemory-policy", "allkeys-lru", appendonly=True, password="pw")``."""
    started: list[Node] = []

    def factory(*extra_args: str, appendonly: bool = False, password: str | None = None) -> Node:
        node = Node(
            _binary(),
            new_dir("node"),
            appendonly=appendonly,
            password=password,
            extra_args=extra_args,
        )
        started.append(node)
        start_node(node)
        return node

    yield factory
    for node in started:
        dispose(node)
