"""The Redis store on the deployments users scale out to (issue 14), against real servers:
Sentinel failovers that lose no revocation, ``STORE_MIN_REPLICAS``, error replies as
``StoreUnavailable`` (library, CLI, endpoint), start-up checks, and the mirror on a Cluster and
behind Sentinel."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from jwtmiddleware import (
    ConfigurationError,
    JWTWSGIMiddleware,
    Settings,
    StoreStale,
    StoreUnavailable,
)
from jwtmiddleware.core.issuer import Issuer
from jwtmiddleware.sessions.manager import SessionManager
from jwtmiddleware.stores import RevocationQuery, open_store
from jwtmiddleware.stores.redis import RedisStore
from tests.core.keyfactory import SECRET
from tests.redis_nodes import Node
from tests.redis_sentinel import SentinelSet
from tests.redis_topologies import LocalCluster

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ISS = "https://auth.test"
NodeFactory = Callable[..., Node]


def query(jti: str) -> RevocationQuery:
    return RevocationQuery(issuer=ISS, subject=None, token_id=jti, session_id=None, issued_at=None)


def cli_revoke(url: str, *extra_env: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    env.update({"JWTMIDDLEWARE_STORE": url, "JWTMIDDLEWARE_ISSUER": ISS, **dict(extra_env)})
    return subprocess.run(
        [sys.executable, "-m", "jwtmiddleware", "revoke", "--jti=j-cli"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


# -- Sentinel: a failover loses no acknowledged revocation --------------------------------------


def test_sentinel_failover_mid_load_loses_no_revocation(
    redis_sentinel_factory: Callable[..., SentinelSet],
) -> None:
    group = redis_sentinel_factory(appendonly=True)
    store = RedisStore(group.url, timeout=0.5, prefix="fo:", min_replicas=1)
    acknowledged: list[str] = []
    refused = 0
    stop = threading.Event()

    def load() -> None:
        nonlocal refused
        while not stop.is_set():
            jti = secrets.token_hex(8)
            try:
                store.revoke_token(ISS, jti, expires_at=time.time() + 3600, now=time.time())
            except StoreUnavailable:
                refused += 1
                time.sleep(0.05)
            else:
                acknowledged.append(jti)

    writer = threading.Thread(target=load)
    writer.start()
    try:
        while len(acknowledged) < 50:
            time.sleep(0.01)
        old = group.master()
        killed_at = time.monotonic()
        group.kill_master()
        # The store answers again by itself: it finds the promoted master through the
        # sentinels (reads; durable writes need a replica, which the promoted node lacks).
        while True:
            try:
                store.is_revoked(query("probe"), now=time.time())
                break
            except StoreUnavailable:
                assert time.monotonic() - killed_at < 15, "the store did not answer again"
                time.sleep(0.05)
        answered_after = time.monotonic() - killed_at
        time.sleep(0.5)
    finally:
        stop.set()
        writer.join(timeout=30)
    try:
        assert answered_after < 15
        assert refused > 0  # writes without a replica were refused, never a silent success
        missing = [j for j in acknowledged if not store.is_revoked(query(j), now=time.time())]
        assert missing == [], f"{len(missing)} of {len(acknowledged)} revocations lost"
        group.restart_as_replica(old)  # a replica again: durable writes go through
        store.revoke_token(ISS, "after", expires_at=time.time() + 60, now=time.time())
    finally:
        store.close()


# -- STORE_MIN_REPLICAS ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_min_replicas_without_enough_replicas_is_unavailable(
    redis_node_factory: NodeFactory, redis_cluster: LocalCluster
) -> None:
    lonely = redis_node_factory()
    for url in (lonely.url, redis_cluster.url):  # no replicas in either
        store = RedisStore(url, timeout=0.3, prefix=f"mr{secrets.token_hex(2)}:", min_replicas=1)
        try:
            with pytest.raises(StoreUnavailable, match="replicas"):
                store.revoke_token(ISS, "j1", expires_at=time.time() + 60, now=time.time())
            with pytest.raises(StoreUnavailable, match="replicas"):
                await store.arevoke_token(ISS, "j2", expires_at=time.time() + 60, now=time.time())
            with pytest.raises(StoreUnavailable):
                store.revoke_subject(ISS, "u", before=time.time(), expires_at=time.time() + 60,
                                     now=time.time())  # fmt: skip
        finally:
            await store.aclose()
    done = cli_revoke(
        lonely.url, ("JWTMIDDLEWARE_STORE_MIN_REPLICAS", "1"), ("JWTMIDDLEWARE_STORE_TIMEOUT", "1")
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "replicas" in done.stderr + done.stdout


def test_min_replicas_with_a_replica_acknowledges(
    redis_sentinel_factory: Callable[..., SentinelSet],
) -> None:
    group = redis_sentinel_factory()
    with group.master().client() as master:
        master.script_flush()  # the script's first run falls back to its source: WAIT after it
    with RedisStore(group.url, timeout=1.0, prefix="ok:", min_replicas=1) as store:
        store.revoke_token(ISS, "j", expires_at=time.time() + 60, now=time.time())
        replica = group.replicas()[0]
        with replica.client() as client:
            assert client.zcard("ok:{r}:t") == 1  # on the replica when the call returned


# -- every failed write is a StoreUnavailable ----------------------------------------------------


def _full(node: Node) -> None:
    """Fill the server, then set ``maxmemory`` below what it uses: every write is refused."""
    with node.client() as client:
        blob = "x" * 100_000
        for i in range(30):
            client.set(f"fill:{i}", blob)
        used = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory", str(used - 1_000_000))


@pytest.mark.anyio
async def test_an_out_of_memory_reply_is_store_unavailable(redis_node_factory: NodeFactory) -> None:
    node = redis_node_factory("--maxmemory-policy", "noeviction")
    _full(node)
    store = RedisStore(node.url, timeout=1.0, prefix="oom:")
    try:
        with pytest.raises(StoreUnavailable, match=r"OutOfMemoryError"):
            store.consume_once("k", expires_at=time.time() + 60, now=time.time())
        with pytest.raises(StoreUnavailable, match=r"OutOfMemoryError"):
            await store.aconsume_once("k", expires_at=time.time() + 60, now=time.time())
        settings = Settings(secret=SECRET, store=node.url, store_checks="off")
        with pytest.raises(StoreUnavailable):
            SessionManager(settings, store).login("u")
    finally:
        await store.aclose()


def _no_scripts(node: Node) -> str:
    """A user that may not run scripts: every revocation gets an error reply (NOPERM)."""
    with node.client() as client:
        client.execute_command("ACL", "SETUSER", "noscripts", "on", ">pw", "~*", "+@all",
                               "-@scripting")  # fmt: skip
    return f"redis://noscripts:pw@127.0.0.1:{node.port}/0"


def test_an_error_reply_to_a_revocation_is_store_unavailable_for_the_cli(
    redis_node_factory: NodeFactory,
) -> None:
    url = _no_scripts(redis_node_factory())
    with RedisStore(url, timeout=1.0, prefix="np:") as store, pytest.raises(StoreUnavailable):
        store.revoke_token(ISS, "j", expires_at=time.time() + 60, now=time.time())
    done = cli_revoke(url)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "pw" not in done.stderr


def test_the_revoke_endpoint_answers_503_on_an_error_reply(
    redis_node_factory: NodeFactory,
) -> None:
    from jwtmiddleware.sessions.endpoints import SessionEndpoints

    node = redis_node_factory()
    admin = SessionManager(Settings(secret=SECRET, issuer=ISS, store=node.url))
    try:
        pair = admin.login("u")
    finally:
        admin.close()
    settings = Settings(secret=SECRET, issuer=ISS, store=_no_scripts(node), store_checks="off")
    manager = SessionManager(settings)
    try:
        endpoints = SessionEndpoints(manager)
        identity = JWTWSGIMiddleware(lambda e, s: [], settings=settings, store=manager.store)
        verified = identity.authenticator.identity_from_claims(
            Issuer(settings).access_token("u", now=time.time(), claims={"sid": pair.session_id})
            .claims, "header",
        )  # fmt: skip
        plan = endpoints.logout_everywhere(verified)
        assert plan.error is not None
        assert plan.status == 503
    finally:
        manager.close()


# -- start-up checks -------------------------------------------------------------------------------


def app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b""]


def test_startup_checks_warn_or_fail(
    redis_node_factory: NodeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    risky = redis_node_factory("--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")
    with caplog.at_level(logging.WARNING, logger="jwtmiddleware"):
        JWTWSGIMiddleware(app, settings=Settings(secret=SECRET, store=risky.url)).close()
    assert any("allkeys-lru" in r.getMessage() and r.levelno == logging.ERROR
               for r in caplog.records)  # fmt: skip
    with pytest.raises(ConfigurationError) as info:
        JWTWSGIMiddleware(app, settings=Settings(secret=SECRET, store=risky.url,
                                                 store_checks="fail"))  # fmt: skip
    assert info.value.setting == "STORE"
    safe = redis_node_factory("--maxmemory-policy", "noeviction", appendonly=True)
    JWTWSGIMiddleware(app, settings=Settings(secret=SECRET, store=safe.url,
                                             store_checks="fail")).close()  # fmt: skip


def test_a_mistyped_host_is_found_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:1/0"
    with caplog.at_level(logging.ERROR, logger="jwtmiddleware"):
        JWTWSGIMiddleware(app, settings=Settings(secret=SECRET, store=url)).close()
    assert any("STORE" in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text
    with pytest.raises(ConfigurationError):
        JWTWSGIMiddleware(app, settings=Settings(secret=SECRET, store=url, store_checks="fail"))


# -- the mirror on a Cluster and behind Sentinel ----------------------------------------------


def _wait_revoked(mirror: Any, jti: str, within: float) -> float:
    from jwtmiddleware.stores._changes import revocation_keys

    keys = revocation_keys({"iss": ISS, "jti": jti})
    start = time.monotonic()
    while True:
        try:
            if mirror.revoked(keys, time.time()):
                return time.monotonic() - start
        except StoreStale:  # while the store is away, the mirror refuses to answer
            pass
        assert time.monotonic() - start < within, f"{jti} not seen within {within} s"
        time.sleep(0.005)


def test_the_mirror_follows_a_cluster(redis_cluster: LocalCluster) -> None:
    prefix = f"mc{secrets.token_hex(2)}:"
    reader = open_store(redis_cluster.url, prefix=prefix, timeout=0.5)
    writer = open_store(redis_cluster.url.replace("127.0.0.1", "localhost"), prefix=prefix)
    try:
        mirror = reader.mirror(max_lag=0.5, timeout=1.0)
        assert mirror is not None
        assert mirror.wait_ready(10)
        writer.revoke_token(ISS, "on-cluster", expires_at=time.time() + 60, now=time.time())
        assert _wait_revoked(mirror, "on-cluster", 1.0) < 1.0
    finally:
        writer.close()
        reader.close()


def test_the_mirror_resyncs_after_a_sentinel_failover(
    redis_sentinel_factory: Callable[..., SentinelSet],
) -> None:
    group = redis_sentinel_factory(appendonly=True)
    prefix = "ms:"
    reader = open_store(group.url, prefix=prefix, timeout=0.5)
    # The sentinels in another order: another store identity, so the reader learns of the
    # writer's revocations through the log, as another process would.
    scheme, _, rest = group.url.partition("://")
    seeds, _, tail = rest.partition("/")
    reordered = f"{scheme}://{','.join(reversed(seeds.split(',')))}/{tail}"
    writer = RedisStore(reordered, timeout=0.5, prefix=prefix)
    try:
        mirror = reader.mirror(max_lag=0.5, timeout=1.0)
        assert mirror is not None
        assert mirror.wait_ready(10)
        writer.revoke_token(ISS, "before", expires_at=time.time() + 600, now=time.time())
        _wait_revoked(mirror, "before", 1.0)
        old = group.master()
        group.kill_master()
        group.wait_failover(old, timeout=15)
        deadline = time.monotonic() + 15
        while True:
            try:
                writer.revoke_token(ISS, "after", expires_at=time.time() + 600, now=time.time())
                break
            except StoreUnavailable:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        _wait_revoked(mirror, "after", 15)
        assert mirror.revoked(_keys("before"), time.time())
        assert sum(mirror.resyncs.values()) >= 2  # the start, and the reconnect
    finally:
        writer.close()
        reader.close()


def _keys(jti: str) -> Any:
    from jwtmiddleware.stores._changes import revocation_keys

    return revocation_keys({"iss": ISS, "jti": jti})


def test_a_restarted_empty_redis_is_logged_loudly(
    redis_node_factory: NodeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    node = redis_node_factory()  # no persistence
    store = open_store(node.url, prefix="rs:", timeout=0.3)
    try:
        mirror = store.mirror(max_lag=0.5, timeout=1.0)
        assert mirror is not None
        assert mirror.wait_ready(10)
        store.revoke_token(ISS, "kept", expires_at=time.time() + 600, now=time.time())
        with caplog.at_level(logging.ERROR, logger="jwtmiddleware"):
            node.kill()
            node.start()
            with open_store(node.url, prefix="rs:") as other:  # a write makes the new epoch
                other.revoke_token(ISS, "new", expires_at=time.time() + 600, now=time.time())
            deadline = time.monotonic() + 10
            while not any("replaced or lost" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, "the lost data was not reported"
                time.sleep(0.05)
        assert mirror.revoked(_keys("kept"), time.time())  # never silently un-revoked here
    finally:
        store.close()
