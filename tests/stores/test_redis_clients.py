"""RedisClients against real deployments: one node, Cluster, Sentinel (with failovers), TLS."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
import redis
import redis.exceptions as rx

from jwtmiddleware.core.errors import ConfigurationError
from jwtmiddleware.stores._redis_clients import (
    AsyncClient,
    RedisClients,
    SyncClient,
    aclose_client,
    close_client,
)
from tests.redis_nodes import Node, wait_for
from tests.redis_server import RedisServer, _free_port
from tests.redis_topologies import LocalCluster, SentinelSet

pytestmark = pytest.mark.redis

TIMEOUT = 0.2
#: An outage must surface within the timeout plus one retry, with slack for a busy machine.
BOUND = 1.5


@pytest.fixture
def made() -> Iterator[list[RedisClients]]:
    """Collects the RedisClients a test builds, closed at teardown."""
    built: list[RedisClients] = []
    yield built
    for clients in built:
        clients.close()


def clients_for(made: list[RedisClients], url: str, timeout: float = TIMEOUT) -> RedisClients:
    clients = RedisClients.from_url(url, timeout=timeout)
    made.append(clients)
    return clients


def roundtrip(client: SyncClient, prefix: str, count: int = 20) -> None:
    """Keys over many hash slots, so that every cluster master takes part."""
    for number in range(count):
        client.set(f"{prefix}:{number}", number, ex=60)
    assert [client.get(f"{prefix}:{number}") for number in range(count)] == [
        str(number) for number in range(count)
    ]


async def aroundtrip(client: AsyncClient, prefix: str, count: int = 20) -> None:
    for number in range(count):
        await client.set(f"{prefix}:{number}", number, ex=60)
    assert [await client.get(f"{prefix}:{number}") for number in range(count)] == [
        str(number) for number in range(count)
    ]


def fails_fast(call: Callable[[], object]) -> float:
    start = time.monotonic()
    with pytest.raises((rx.ConnectionError, rx.TimeoutError, rx.ClusterDownError)):
        call()
    return time.monotonic() - start


# -- one node --------------------------------------------------------------------------------


def test_single_node_sync(redis_server: RedisServer, made: list[RedisClients]) -> None:
    clients = clients_for(made, redis_server.url)
    assert clients.kind == "redis"
    assert isinstance(clients.sync, redis.Redis)
    assert clients.sync is clients.sync  # one shared client
    roundtrip(clients.sync, "clients:single")
    unix = clients_for(made, f"unix://{redis_server.unixsocket}?db=0")
    assert unix.sync.get("clients:single:3") == "3"
    assert "unix:" in unix.describe()


@pytest.mark.anyio
async def test_single_node_async(redis_server: RedisServer, made: list[RedisClients]) -> None:
    client = clients_for(made, redis_server.url).make_async()
    try:
        await aroundtrip(client, "clients:asingle")
    finally:
        await aclose_client(client)


def test_timeouts_are_short_and_the_blocking_reader_waits_longer(
    redis_server_factory: Callable[..., RedisServer], made: list[RedisClients]
) -> None:
    server = redis_server_factory()
    clients = clients_for(made, server.url)
    reader = clients.blocking_reader(0.6)
    try:
        start = time.monotonic()
        assert reader.xread({"clients:stream": "0-0"}, block=600) == []
        assert 0.55 < time.monotonic() - start < 0.6 + BOUND
        # The shared client gives up after its own read timeout.
        assert fails_fast(lambda: clients.sync.xread({"clients:stream": "0-0"}, block=600)) < 0.6
        server.pause()
        assert fails_fast(lambda: clients.sync.get("x")) < BOUND
    finally:
        server.resume()
        close_client(reader)
    assert clients.sync.ping() is True  # answers again by itself


def test_construction_errors(made: list[RedisClients]) -> None:
    with pytest.raises(ConfigurationError):
        RedisClients.from_url("memory://", timeout=1)
    with pytest.raises(ConfigurationError):
        RedisClients.from_url("redis+cluster://h:0", timeout=1)
    with pytest.raises(ValueError, match="positive"):
        RedisClients.from_url("redis://h:1/0", timeout=0)
    with pytest.raises(ValueError, match="non-negative"):
        clients_for(made, "redis://h:1/0").blocking_reader(-1)


def test_describe_and_repr_hold_no_password(made: list[RedisClients]) -> None:
    for url in (
        "redis://:pw-one-node@127.0.0.1:1/0",
        "rediss+cluster://u:pw-cluster@127.0.0.1:1,127.0.0.1:2",
        "redis+sentinel://:pw-data@127.0.0.1:1/svc?sentinel_password=pw-sentinel",
    ):
        clients = clients_for(made, url)
        for text in (clients.describe(), repr(clients), repr(clients.config)):
            assert "pw-" not in text
        assert "127.0.0.1:1" in repr(clients)


# -- Cluster ---------------------------------------------------------------------------------


def test_cluster_sync_and_blocking_reader(
    redis_cluster: LocalCluster, made: list[RedisClients]
) -> None:
    clients = clients_for(made, redis_cluster.url)
    assert clients.kind == "redis-cluster"
    assert isinstance(clients.sync, redis.cluster.RedisCluster)
    roundtrip(clients.sync, "clients:cluster", 60)
    # XREAD BLOCK on a separate client, routed to the stream's own master.
    streams = [f"clients:log{number}" for number in range(6)]
    assert {redis_cluster.owner_of(s).port for s in streams} != {redis_cluster.nodes[0].port}
    reader = clients.blocking_reader(0.5)
    try:
        for stream in streams:
            clients.sync.xadd(stream, {"n": stream}, maxlen=10)
            [(name, entries)] = reader.xread({stream: "0-0"}, block=500)
            assert name == stream
            assert entries[-1][1] == {"n": stream}
        start = time.monotonic()
        assert reader.xread({streams[0]: "$"}, block=400) == []
        assert time.monotonic() - start > 0.35
    finally:
        close_client(reader)


@pytest.mark.anyio
async def test_cluster_async(redis_cluster: LocalCluster, made: list[RedisClients]) -> None:
    client = clients_for(made, redis_cluster.url).make_async()
    assert isinstance(client, redis.asyncio.cluster.RedisCluster)
    try:
        await aroundtrip(client, "clients:acluster", 60)
    finally:
        await aclose_client(client)


def test_cluster_without_a_reachable_seed(made: list[RedisClients]) -> None:
    secret = "never-shown-pw"
    clients = clients_for(made, f"redis+cluster://:{secret}@127.0.0.1:{_free_port()}")
    for _ in range(2):  # a failed build is not cached: the next use tries again
        start = time.monotonic()
        with pytest.raises(rx.ConnectionError) as info:
            clients.sync  # noqa: B018
        assert time.monotonic() - start < BOUND
        assert secret not in str(info.value)


@pytest.mark.anyio
async def test_cluster_node_outage_and_recovery(
    redis_cluster_factory: Callable[..., LocalCluster], made: list[RedisClients]
) -> None:
    cluster = redis_cluster_factory()
    clients = clients_for(made, cluster.url)
    aclient = clients.make_async()
    try:
        roundtrip(clients.sync, "outage", 30)
        await aroundtrip(aclient, "aoutage", 30)
        victim = cluster.owner_of("outage:dead")
        cluster.kill(cluster.nodes.index(victim))
        assert fails_fast(lambda: clients.sync.get("outage:dead")) < BOUND
        start = time.monotonic()
        with pytest.raises((rx.ConnectionError, rx.ClusterDownError)):
            await aclient.get("outage:dead")
        assert time.monotonic() - start < BOUND
        cluster.heal()
        wait_for(lambda: clients.sync.set("outage:dead", "back") is True, 10, "sync recovery")
        assert clients.sync.get("outage:dead") == "back"
        deadline = time.monotonic() + 10
        while True:  # the asyncio client rediscovers the slots by itself, too
            try:
                assert await aclient.get("outage:dead") == "back"
                break
            except (rx.ConnectionError, rx.ClusterDownError):
                assert time.monotonic() < deadline
        roundtrip(clients.sync, "outage", 30)
    finally:
        await aclose_client(aclient)


@pytest.mark.anyio
async def test_cluster_over_tls_with_a_password(
    redis_cluster_factory: Callable[..., LocalCluster], made: list[RedisClients]
) -> None:
    cluster = redis_cluster_factory(tls=True, password="tls-cluster-pw")
    clients = clients_for(made, cluster.url)
    assert clients.config.tls
    roundtrip(clients.sync, "clients:tls", 30)
    client = clients.make_async()
    try:
        await aroundtrip(client, "clients:atls", 30)
    finally:
        await aclose_client(client)
    plain = clients_for(made, cluster.url.replace("rediss+", "redis+").partition("?")[0])
    with pytest.raises(rx.ConnectionError):
        plain.sync  # noqa: B018


# -- Sentinel --------------------------------------------------------------------------------


async def answers_again(
    clients: RedisClients, aclient: AsyncClient, key: str, value: str, timeout: float
) -> float:
    """Poll the sync and the asyncio client until both read ``value``; the time taken."""
    start = time.monotonic()
    sync_ok = async_ok = False
    while not (sync_ok and async_ok):
        assert time.monotonic() - start < timeout, (sync_ok, async_ok)
        try:
            sync_ok = sync_ok or clients.sync.get(key) == value
            async_ok = async_ok or await aclient.get(key) == value
        except (rx.ConnectionError, rx.TimeoutError, rx.ReadOnlyError):
            time.sleep(0.05)
    return time.monotonic() - start


@pytest.mark.anyio
async def test_sentinel_clients_follow_a_sigkill_failover(
    redis_sentinel_factory: Callable[..., SentinelSet], made: list[RedisClients]
) -> None:
    group = redis_sentinel_factory(password="data-pw", sentinel_password="sentinel-pw")
    wrong = group.url.replace("sentinel_password=sentinel-pw", "sentinel_password=wrong-pw")
    with pytest.raises(rx.ConnectionError) as info:  # no sentinel would answer
        clients_for(made, wrong).sync.ping()
    assert "-pw" not in str(info.value)
    clients = clients_for(made, group.url)
    assert clients.kind == "redis-sentinel"
    aclient = clients.make_async()
    try:
        clients.sync.set("before", "kill")
        assert clients.sync.wait(1, 2000) == 1
        assert await aclient.get("before") == "kill"
        old = group.kill_master()
        assert fails_fast(lambda: clients.sync.get("before")) < BOUND
        took = await answers_again(clients, aclient, "before", "kill", timeout=15)
        assert group.master() is not old
        assert took < 15
        await aclient.set("after", "failover")
        assert clients.sync.get("after") == "failover"
        group.restart_as_replica(old)
        roundtrip(clients.sync, "sentinel", 10)
    finally:
        await aclose_client(aclient)


@pytest.mark.anyio
async def test_sentinel_clients_follow_a_manual_failover(
    redis_sentinel_factory: Callable[..., SentinelSet], made: list[RedisClients]
) -> None:
    """The old master stays up and is turned into a replica: connections to it get READONLY
    and must move to the new master."""
    group = redis_sentinel_factory()
    clients = clients_for(made, group.url)
    aclient = clients.make_async()
    try:
        clients.sync.set("k", "1")
        await aclient.set("k", "1")
        old = group.master()
        with group.sentinels[0].client() as sentinel:
            sentinel.execute_command("SENTINEL", "FAILOVER", group.service)
        new = group.wait_failover(old)
        # The sentinels would demote the old master at their next INFO poll (up to 10 s);
        # do what they will do, now.
        with old.client() as demoted:
            demoted.replicaof("127.0.0.1", new.port)
        assert old.role() == "slave"

        def writes() -> bool:
            return bool(clients.sync.set("k", "sync"))

        wait_for(writes, 15, "a sync write after the failover")
        with new.client() as direct:
            assert direct.get("k") == "sync"
        start = time.monotonic()
        while True:
            try:
                assert await aclient.set("k", "async") is True
                break
            except (rx.ConnectionError, rx.ReadOnlyError):
                assert time.monotonic() - start < 15
        with new.client() as direct:
            assert direct.get("k") == "async"
    finally:
        await aclose_client(aclient)


@pytest.mark.anyio
async def test_sentinel_over_tls(
    redis_sentinel_factory: Callable[..., SentinelSet], made: list[RedisClients]
) -> None:
    """``rediss+sentinel://``: TLS to the sentinels and to the master they name."""
    group = redis_sentinel_factory(tls=True, password="tls-data-pw")
    assert group.url.startswith("rediss+sentinel://")
    clients = clients_for(made, group.url)
    roundtrip(clients.sync, "clients:stls")
    aclient = clients.make_async()
    try:
        await aroundtrip(aclient, "clients:astls")
    finally:
        await aclose_client(aclient)
    reader = clients.blocking_reader(0.3)  # shares the sentinel connections of .sync
    try:
        clients.sync.xadd("clients:slog", {"n": "1"})
        [(_, entries)] = reader.xread({"clients:slog": "0-0"}, block=300)
        assert entries[0][1] == {"n": "1"}
        assert reader.xread({"clients:slog": "$"}, block=300) == []
    finally:
        close_client(reader)
    plain = clients_for(made, group.url.replace("rediss+", "redis+").partition("?")[0])
    with pytest.raises(rx.ConnectionError):
        plain.sync.ping()


# -- TLS, one node ---------------------------------------------------------------------------


def tls_url(node: Node, *, client_cert: bool = True, ca: bool = True) -> str:
    assert node.tls is not None
    options = []
    if ca:
        options.append(f"ssl_ca_certs={quote(str(node.tls.ca))}")
    if client_cert:
        options.append(f"ssl_certfile={quote(str(node.tls.client_cert))}")
        options.append(f"ssl_keyfile={quote(str(node.tls.client_key))}")
    return f"rediss://127.0.0.1:{node.port}/0?" + "&".join(options)


@pytest.mark.anyio
async def test_tls_single_node(
    redis_tls_server_factory: Callable[..., Node], made: list[RedisClients]
) -> None:
    node = redis_tls_server_factory(auth_clients=True)
    clients = clients_for(made, tls_url(node))
    roundtrip(clients.sync, "clients:tls1")
    aclient = clients.make_async()
    try:
        await aroundtrip(aclient, "clients:atls1")
    finally:
        await aclose_client(aclient)
    for url in (tls_url(node, client_cert=False), tls_url(node, ca=False)):
        with pytest.raises(rx.ConnectionError):
            clients_for(made, url).sync.ping()
    unverified = clients_for(made, tls_url(node, ca=False) + "&ssl_cert_reqs=none")
    assert unverified.sync.ping() is True
