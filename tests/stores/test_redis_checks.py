"""Start-up sanity checks against real servers started with the risky configurations."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from jwtmiddleware.stores._redis_checks import Finding, check_clients, check_redis
from jwtmiddleware.stores._redis_clients import RedisClients
from tests.redis_nodes import Node
from tests.redis_server import _free_port
from tests.redis_topologies import LocalCluster, SentinelSet

pytestmark = pytest.mark.redis

NodeFactory = Callable[..., Node]
SAFE = ("--appendonly", "yes", "--maxmemory-policy", "noeviction")
SECRET = "check-s3cret-pw"


@pytest.fixture
def made() -> Iterator[list[RedisClients]]:
    built: list[RedisClients] = []
    yield built
    for clients in built:
        clients.close()


def check(made: list[RedisClients], url: str) -> list[Finding]:
    clients = RedisClients.from_url(url, timeout=0.5)
    made.append(clients)
    findings = check_clients(clients)
    for finding in findings:
        assert finding.setting == "STORE"
        assert SECRET not in str(finding)
        assert SECRET not in repr(finding)
    return findings


def levels(findings: list[Finding]) -> list[str]:
    return [finding.level for finding in findings]


def test_a_safe_server_has_no_findings(
    redis_node_factory: NodeFactory, made: list[RedisClients]
) -> None:
    node = redis_node_factory(*SAFE, password=SECRET)
    assert check(made, node.url) == []


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_allkeys_eviction_is_an_error(
    redis_node_factory: NodeFactory, made: list[RedisClients], policy: str
) -> None:
    node = redis_node_factory("--maxmemory", "2mb", "--maxmemory-policy", policy, appendonly=True)
    [finding] = check(made, node.url)
    assert finding.level == "error"
    assert f"maxmemory-policy {policy}" in finding.message
    assert "noeviction" in finding.message
    assert "dormant" not in finding.message
    assert f"127.0.0.1:{node.port}" in finding.message


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-ttl"])
def test_volatile_eviction_is_a_warning(
    redis_node_factory: NodeFactory, made: list[RedisClients], policy: str
) -> None:
    node = redis_node_factory("--maxmemory-policy", policy, appendonly=True)
    [finding] = check(made, node.url)
    assert finding.level == "warning"
    assert "any evicting policy can drop revocations" in finding.message
    assert "dormant while maxmemory is 0" in finding.message


def test_no_persistence_is_an_error_and_snapshots_only_a_warning(
    redis_node_factory: NodeFactory, made: list[RedisClients]
) -> None:
    bare = redis_node_factory()  # appendonly no, save ""
    [finding] = check(made, bare.url)
    assert finding.level == "error"
    assert "no persistence" in finding.message
    assert "appendonly yes" in finding.message
    snapshots = redis_node_factory("--save", "3600 1")
    [finding] = check(made, snapshots.url)
    assert finding.level == "warning"
    assert "save 3600 1" in finding.message
    both = redis_node_factory("--maxmemory-policy", "volatile-lru")
    assert levels(check(made, both.url)) == ["error", "warning"]  # worst first


def test_config_refused_by_acl_is_tolerated(
    redis_node_factory: NodeFactory, made: list[RedisClients]
) -> None:
    node = redis_node_factory("--maxmemory-policy", "allkeys-lru")
    with node.client() as admin:
        admin.execute_command(
            "ACL", "SETUSER", "limited", "on", f">{SECRET}", "~*", "+@all", "-config"
        )
    [finding] = check(made, f"redis://limited:{SECRET}@127.0.0.1:{node.port}/0")
    assert finding.level == "info"
    assert "CONFIG GET refused" in finding.message
    assert "noeviction" in finding.message


def test_a_renamed_config_command_is_tolerated(
    redis_node_factory: NodeFactory, made: list[RedisClients]
) -> None:
    node = redis_node_factory("--rename-command", "CONFIG", "")
    assert levels(check(made, node.url)) == ["info"]


def test_unreachable_store_is_an_error_without_the_password(made: list[RedisClients]) -> None:
    port = _free_port()
    for url in (
        f"redis://:{SECRET}@127.0.0.1:{port}/0",
        f"redis+cluster://:{SECRET}@127.0.0.1:{port}",
        f"redis+sentinel://:{SECRET}@127.0.0.1:{port}/mymaster?sentinel_password={SECRET}",
    ):
        [finding] = check(made, url)
        assert finding.level == "error"
        assert "does not answer" in finding.message
        assert f"127.0.0.1:{port}" in finding.message


def test_wrong_password_is_an_error_without_the_password(
    redis_node_factory: NodeFactory, made: list[RedisClients]
) -> None:
    node = redis_node_factory(*SAFE, password="the-right-one")
    [finding] = check(made, f"redis://:{SECRET}@127.0.0.1:{node.port}/0")
    assert finding.level == "error"
    assert "does not answer" in finding.message
    assert "Authentication" in finding.message


def test_a_raw_client_can_be_checked(redis_node_factory: NodeFactory) -> None:
    node = redis_node_factory(*SAFE)
    with node.client() as client:
        assert check_redis(client) == []
    node.kill()
    with node.client() as client:
        [finding] = check_redis(client, label="my store")
    assert finding.message.startswith("my store does not answer")


def test_every_cluster_master_is_checked(
    redis_cluster: LocalCluster, made: list[RedisClients]
) -> None:
    findings = check(made, redis_cluster.url)
    # The test cluster runs without persistence: one error per master, each named.
    assert levels(findings) == ["error"] * 3
    for node in redis_cluster.nodes:
        assert sum(f"cluster master 127.0.0.1:{node.port}" in f.message for f in findings) == 1
    target = redis_cluster.nodes[1]
    with target.client() as direct:
        direct.config_set("maxmemory-policy", "allkeys-lru")
    try:
        findings = check(made, redis_cluster.url)
    finally:
        with target.client() as direct:
            direct.config_set("maxmemory-policy", "noeviction")
    evicting = [f for f in findings if "allkeys-lru" in f.message]
    assert [f.level for f in evicting] == ["error"]
    assert f"127.0.0.1:{target.port}" in evicting[0].message


def test_sentinel_master_is_checked(
    redis_sentinel_factory: Callable[..., SentinelSet], made: list[RedisClients]
) -> None:
    group = redis_sentinel_factory(appendonly=True)
    assert check(made, group.url) == []
    with group.master().client() as direct:
        direct.config_set("maxmemory-policy", "allkeys-random")
    [finding] = check(made, group.url)
    assert finding.level == "error"
    assert "Sentinel service 'mymaster'" in finding.message
