"""The Redis Cluster, Sentinel and TLS fixtures themselves (tests/redis_topologies.py)."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from jwtmiddleware.integration import parse_store_url
from tests.redis_nodes import NO_RETRY, Node
from tests.redis_topologies import LocalCluster, SentinelSet

pytestmark = pytest.mark.redis


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A reaped child is gone; an unreaped one would be a zombie, which counts as stopped.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def cluster_client(cluster: LocalCluster, **options: object) -> RedisCluster:
    seeds = [ClusterNode("127.0.0.1", node.port) for node in cluster.nodes]
    return RedisCluster(startup_nodes=seeds, decode_responses=True, **options)  # type: ignore[arg-type]


def test_cluster_key_written_on_its_node_is_read_through_redis_cluster(
    redis_cluster: LocalCluster,
) -> None:
    owners = set()
    client = cluster_client(redis_cluster)
    try:
        for number in range(30):
            key = f"fixture:{number}"
            owner = redis_cluster.owner_of(key)
            owners.add(owner.port)
            with owner.client() as direct:
                direct.set(key, f"v{number}", ex=60)
            assert client.get(key) == f"v{number}"
    finally:
        client.close()
    assert owners == {node.port for node in redis_cluster.nodes}  # all three masters serve
    config = parse_store_url(redis_cluster.url).redis
    assert config is not None
    assert config.kind == "redis-cluster"
    assert [port for _, port in config.nodes] == [node.port for node in redis_cluster.nodes]
    assert len(set(redis_cluster.pids)) == 3


def test_cluster_node_kill_and_heal(redis_cluster_factory: Callable[..., LocalCluster]) -> None:
    cluster = redis_cluster_factory()
    victim = cluster.owner_of("fixture:victim")
    index = cluster.nodes.index(victim)
    pid = victim.pid
    cluster.kill(index)
    assert not is_running(pid)
    assert len(cluster.pids) == 2
    with pytest.raises(redis.ConnectionError), victim.client(socket_connect_timeout=0.5) as c:
        c.ping()
    cluster.heal()
    client = cluster_client(cluster)
    try:
        client.set("fixture:victim", "back")
        assert client.get("fixture:victim") == "back"
    finally:
        client.close()
    pids, dirs = cluster.pids, [node.dir for node in cluster.nodes]
    cluster.close()
    assert not any(is_running(pid) for pid in pids)
    assert not any(directory.exists() for directory in dirs)


def test_sentinel_failover_after_sigkill_within_15_s(
    redis_sentinel_factory: Callable[..., SentinelSet],
) -> None:
    group = redis_sentinel_factory(appendonly=True)
    config = parse_store_url(group.url).redis
    assert config is not None
    assert (config.kind, config.service_name) == ("redis-sentinel", "mymaster")
    old = group.master()
    assert old.role() == "master"
    with old.client() as client:
        client.set("written-before", "1")
        assert client.wait(1, 2000) == 1  # the replica has it
    pid = old.pid
    killed_at = time.monotonic()
    assert group.kill_master() is old
    assert not is_running(pid)
    new = group.wait_failover(old, timeout=15)
    assert time.monotonic() - killed_at < 15
    assert new is not old
    assert new.role() == "master"
    with new.client() as client:
        assert client.get("written-before") == "1"
    group.restart_as_replica(old)
    assert old.role() == "slave"
    group.wait_ready()
    pids = group.pids
    assert len(pids) == 5
    group.close()
    assert not any(is_running(pid) for pid in pids)


def test_sentinel_set_with_passwords(redis_sentinel_factory: Callable[..., SentinelSet]) -> None:
    group = redis_sentinel_factory(password="node-pw", sentinel_password="sentinel-pw")
    assert group.url.startswith("redis+sentinel://:node-pw@")
    assert group.url.endswith("/mymaster?sentinel_password=sentinel-pw")
    with pytest.raises(redis.AuthenticationError), group.master().client(password=None) as c:
        c.ping()
    sentinel = group.sentinels[0]
    with (
        pytest.raises(redis.AuthenticationError),
        redis.Redis(port=sentinel.port, socket_timeout=1, retry=NO_RETRY) as anonymous,
    ):
        anonymous.ping()
    assert group.master().role() == "master"


def test_tls_server_refuses_plain_tcp_and_demands_a_client_certificate(
    redis_tls_server_factory: Callable[..., Node],
) -> None:
    node = redis_tls_server_factory(auth_clients=True)
    assert node.url.startswith("rediss://")
    with node.client() as client:  # CA + client certificate
        assert client.ping() is True
    with socket.create_connection(("127.0.0.1", node.port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            answer = sock.recv(64)
        assert not answer.startswith(b"+PONG")
    with (
        pytest.raises(redis.ConnectionError),
        node.client(ssl_certfile=None, ssl_keyfile=None) as anonymous,
    ):
        anonymous.ping()


def test_tls_cluster(redis_cluster_factory: Callable[..., LocalCluster]) -> None:
    cluster = redis_cluster_factory(tls=True, password="cluster-pw")
    assert cluster.url.startswith("rediss+cluster://:cluster-pw@127.0.0.1:")
    assert cluster.tls is not None
    client = cluster_client(
        cluster, ssl=True, ssl_ca_certs=str(cluster.tls.ca), password="cluster-pw"
    )
    try:
        for number in range(10):
            client.set(f"tls:{number}", number)
        assert [client.get(f"tls:{number}") for number in range(10)] == [str(n) for n in range(10)]
    finally:
        client.close()
