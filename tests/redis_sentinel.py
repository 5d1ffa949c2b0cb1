"""Sentinel deployments for tests: 1 master + 1 replica + 3 sentinels on loopback.

Used through the ``redis_sentinel_factory`` fixture (registered by :mod:`tests.redis_topologies`).
The sentinels watch ``mymaster`` with quorum 2, call the master down after 1 s and retry a
failover after 5 s, so a SIGKILLed master is replaced within a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from tests.redis_nodes import (
    NO_RETRY,
    SETTLE_TIMEOUT,
    Node,
    dispose,
    new_dir,
    ssl_options,
    start_node,
    wait_for,
)
from tests.redis_server import RedisServer, _binary, _free_port
from tests.redis_tls import TLSFiles

__all__ = ["SERVICE", "SentinelProcess", "SentinelSet", "redis_sentinel_factory"]

#: The service name the sentinels monitor.
SERVICE = "mymaster"


class SentinelProcess(RedisServer):
    """One ``redis-server sentinel.conf --sentinel`` process (the config file is its own: the
    sentinel rewrites it with what it learns)."""

    def __init__(
        self,
        binary: str,
        directory: Path,
        *,
        master_port: int,
        password: str | None = None,
        sentinel_password: str | None = None,
        tls: TLSFiles | None = None,
    ) -> None:
        super().__init__(binary, directory)
        self.tls = tls
        self.master_port = master_port
        self.password = password
        self.sentinel_password = sentinel_password
        self.config = directory / "sentinel.conf"
        self._written_for: int | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reassign_ports(self) -> None:
        self.port = _free_port()

    def _config_text(self) -> str:
        port = f"port 0\ntls-port {self.port}" if self.tls else f"port {self.port}"
        lines = [
            port,
            "bind 127.0.0.1",
            "daemonize no",
            f'dir "{self.dir}"',
            f'logfile "{self.dir / "redis.log"}"',
            "sentinel resolve-hostnames no",
            "sentinel announce-ip 127.0.0.1",
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master_port} 2",
            f"sentinel down-after-milliseconds {SERVICE} 1000",
            f"sentinel failover-timeout {SERVICE} 5000",
            f"sentinel parallel-syncs {SERVICE} 1",
        ]
        if self.tls:  # tls-replication: the sentinel speaks TLS to the nodes it monitors
            lines += [
                f'tls-cert-file "{self.tls.server_cert}"',
                f'tls-key-file "{self.tls.server_key}"',
                f'tls-ca-cert-file "{self.tls.ca}"',
                "tls-auth-clients no",
                "tls-replication yes",
            ]
        if self.password:
            lines.append(f'sentinel auth-pass {SERVICE} "{self.password}"')
        if self.sentinel_password:
            lines.append(f'requirepass "{self.sentinel_password}"')
            lines.append(f'sentinel sentinel-pass "{self.sentinel_password}"')
        return "\n".join(lines) + "\n"

    def args(self) -> list[str]:
        if self._written_for != self.port:  # a restart keeps what the sentinel wrote
            self.config.write_text(self._config_text())
            self._written_for = self.port
        return [self.binary, str(self.config), "--sentinel"]

    def ping(self) -> bool:
        try:
            with self.client(socket_timeout=0.5) as client:
                return bool(client.ping())
        except redis.AuthenticationError:
            return True
        except (redis.RedisError, OSError):
            return False

    def client(self, socket_timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.sentinel_password,
            decode_responses=True,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=NO_RETRY,
            **ssl_options(self.tls),
        )

    def master_address(self) -> tuple[str, int] | None:
        with self.client() as client:
            found = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        return None if found is None else (str(found[0]), int(found[1]))

    def settled(self, replicas: int, sentinels: int) -> bool:
        """This sentinel sees ``replicas`` healthy replicas and ``sentinels`` other sentinels,
        and a failover could be authorised."""
        with self.client() as client:
            client.execute_command("SENTINEL", "CKQUORUM", SERVICE)  # raises unless usable
            seen = client.sentinel_slaves(SERVICE)
            healthy = [r for r in seen if not (r["is_sdown"] or r["is_disconnected"])]
            return len(healthy) >= replicas and len(client.sentinel_sentinels(SERVICE)) >= sentinels


class SentinelSet:
    """The data nodes and sentinels of one monitored service, and the moves a test makes."""

    def __init__(self, nodes: list[Node], sentinels: list[SentinelProcess]) -> None:
        self.nodes = nodes
        self.sentinels = sentinels
        self.service = SERVICE

    @property
    def url(self) -> str:
        """``redis+sentinel://[:pw@]s1,s2,s3/mymaster[?sentinel_password=...]`` (``rediss+``
        with ``ssl_ca_certs`` over TLS)."""
        password, sentinel_password = self.nodes[0].password, self.sentinels[0].sentinel_password
        auth = f":{quote(password, safe='')}@" if password else ""
        seeds = ",".join(sentinel.address for sentinel in self.sentinels)
        options = [f"sentinel_password={quote(sentinel_password)}"] if sentinel_password else []
        tls = self.nodes[0].tls
        if tls:
            options.append(f"ssl_ca_certs={quote(str(tls.ca))}")
        query = "?" + "&".join(options) if options else ""
        return f"{'rediss' if tls else 'redis'}+sentinel://{auth}{seeds}/{SERVICE}{query}"

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in (*self.nodes, *self.sentinels) if proc.is_alive()]

    def agreed_master(self) -> tuple[str, int] | None:
        """The master every live sentinel names, or ``None`` while they disagree."""
        answers = {s.master_address() for s in self.sentinels if s.is_alive()}
        return answers.pop() if len(answers) == 1 else None

    def master_address(self) -> tuple[str, int]:
        """What the live sentinels agree the master is (waits out a failover in progress)."""
        wait_for(lambda: self.agreed_master() is not None, SETTLE_TIMEOUT, "sentinels to agree")
        address = self.agreed_master()
        if address is None:  # pragma: no cover - they changed their minds again
            raise RuntimeError("the sentinels disagree on the master")
        return address

    def node_at(self, port: int) -> Node:
        return next(node for node in self.nodes if node.port == port)

    def master(self) -> Node:
        return self.node_at(self.master_address()[1])

    def replicas(self) -> list[Node]:
        master = self.master()
        return [node for node in self.nodes if node is not master]

    def wait_ready(self, timeout: float = SETTLE_TIMEOUT) -> float:
        """Until every sentinel sees every live replica and the other sentinels."""
        live = [node for node in self.nodes if node.is_alive()]

        def ready() -> bool:
            sentinels = [s for s in self.sentinels if s.is_alive()]
            return all(s.settled(len(live) - 1, len(sentinels) - 1) for s in sentinels)

        return wait_for(ready, timeout, "the sentinels to see the replica and each other")

    def kill_master(self) -> Node:
        """SIGKILL the current master; returns the dead node."""
        node = self.master()
        node.kill()
        return node

    def wait_failover(self, old: Node, timeout: float = 15.0) -> Node:
        """Until the sentinels name another master and that node answers as a master."""

        def promoted() -> bool:
            address = self.agreed_master()
            if address is None or address[1] == old.port:
                return False
            return self.node_at(address[1]).role() == "master"

        wait_for(promoted, timeout, f"a failover away from port {old.port}")
        return self.master()

    def restart_as_replica(self, node: Node, timeout: float = SETTLE_TIMEOUT) -> None:
        """Start a dead node again as a replica of the current master, and wait until it
        has synchronised."""
        node.replicaof = self.master_address()
        node.start()

        def synced() -> bool:
            with node.client() as client:
                return client.info("replication").get("master_link_status") == "up"

        wait_for(synced, timeout, f"port {node.port} to sync with the master")

    def close(self) -> None:
        for proc in (*self.sentinels, *self.nodes):
            dispose(proc)


def start_sentinel_set(
    *,
    appendonly: bool = False,
    password: str | None = None,
    sentinel_password: str | None = None,
    tls: TLSFiles | None = None,
) -> SentinelSet:
    """Start master, replica and three sentinels (all TLS-only with ``tls``); return once
    the sentinels have settled."""
    binary = _binary()
    nodes: list[Node] = []
    sentinels: list[SentinelProcess] = []
    group = SentinelSet(nodes, sentinels)
    try:
        master = Node(binary, new_dir("master"), appendonly=appendonly, password=password, tls=tls)
        nodes.append(master)
        start_node(master)
        replica = Node(
            binary, new_dir("replica"), appendonly=appendonly, password=password, tls=tls
        )
        nodes.append(replica)
        replica.replicaof = ("127.0.0.1", master.port)
        start_node(replica)
        for _ in range(3):
            sentinel = SentinelProcess(
                binary,
                new_dir("sentinel"),
                master_port=master.port,
                password=password,
                sentinel_password=sentinel_password,
                tls=tls,
            )
            sentinels.append(sentinel)
            start_node(sentinel)
        group.wait_ready()
    except BaseException:
        group.close()
        raise
    return group


@pytest.fixture
def redis_sentinel_factory(redis_tls_files: TLSFiles) -> Iterator[Callable[..., SentinelSet]]:
    """Start dedicated Sentinel sets: ``factory(appendonly=True, password="pw",
    sentinel_password="spw", tls=True)``; all stopped by pid at teardown."""
    started: list[SentinelSet] = []

    def factory(
        *,
        appendonly: bool = False,
        password: str | None = None,
        sentinel_password: str | None = None,
        tls: bool = False,
    ) -> SentinelSet:
        group = start_sentinel_set(
            appendonly=appendonly,
            password=password,
            sentinel_password=sentinel_password,
            tls=redis_tls_files if tls else None,
        )
        started.append(group)
        return group

    yield factory
    for group in started:
        group.close()
