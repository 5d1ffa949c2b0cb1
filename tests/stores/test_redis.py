"""RedisStore against real redis-server processes: failures, persistence, wire behaviour."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from jwtmiddleware.core.errors import StoreUnavailable
from jwtmiddleware.stores import RevocationQuery, SessionInfo, open_store
from jwtmiddleware.stores.redis import RedisStore
from tests.redis_server import RedisServer

pytestmark = pytest.mark.redis

ISS = "https://issuer.example"
TIMEOUT = 0.1
# The store must answer within timeout + 100 ms; allow scheduling slack on a loaded CI box
# while still proving that it does not hang on redis-py's default 5 s or a retry storm.
BOUND = 1.0
QUERY = RevocationQuery(issuer=ISS, subject="alice", token_id="j1", session_id="s1", issued_at=1.0)

Factory = Callable[..., RedisServer]


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def elapsed_unavailable(call: Callable[[], Any]) -> float:
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        call()
    took = time.monotonic() - start
    assert isinstance(info.value.__cause__, Exception)  # chained with `from exc`
    return took


# -- failure: fail fast, recover by itself --------------------------------------------------


def test_killed_server_raises_fast_and_recovers_after_restart(
    redis_server_factory: Factory,
) -> None:
    server = redis_server_factory()
    store = RedisStore(server.url, timeout=TIMEOUT)
    try:
        now = time.time()
        store.revoke_token(ISS, "j1", expires_at=now + 60, now=now)
        assert store.is_revoked(QUERY, now=now) is True  # a pooled connection now exists
        server.kill()
        assert elapsed_unavailable(lambda: store.is_revoked(QUERY, now=now)) < BOUND
        assert (
            elapsed_unavailable(lambda: store.consume_once("k", expires_at=now + 9, now=now))
            < BOUND
        )
        server.restart()  # no persistence: the data is gone, the store must reconnect
        assert store.is_revoked(QUERY, now=now) is False
        assert store.consume_once("k", expires_at=now + 9, now=now) is True
    finally:
        store.close()


def test_paused_server_times_out_and_recovers_after_resume(redis_server_factory: Factory) -> None:
    server = redis_server_factory()
    store = RedisStore(server.url, timeout=TIMEOUT)
    try:
        now = time.time()
        store.revoke_token(ISS, "j1", expires_at=now + 60, now=now)
        server.pause()
        try:
            took = elapsed_unavailable(lambda: store.is_revoked(QUERY, now=now))
            assert TIMEOUT * 0.9 <= took < BOUND  # it did wait for the read timeout, once
            assert elapsed_unavailable(lambda: store.list_sessions("alice", now=now)) < BOUND
        finally:
            server.resume()
        assert store.is_revoked(QUERY, now=now) is True
    finally:
        store.close()


@pytest.mark.anyio
async def test_async_killed_and_paused_server(redis_server_factory: Factory) -> None:
    server = redis_server_factory()
    store = RedisStore(server.url, timeout=TIMEOUT)
    now = time.time()
    try:
        await store.arevoke_token(ISS, "j1", expires_at=now + 60, now=now)
        assert await store.ais_revoked(QUERY, now=now) is True

        server.pause()
        start = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.ais_revoked(QUERY, now=now)
        assert time.monotonic() - start < BOUND
        server.resume()
        assert await store.ais_revoked(QUERY, now=now) is True

        server.kill()
        start = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.aconsume_once("k", expires_at=now + 9, now=now)
        assert time.monotonic() - start < BOUND
        server.restart()
        assert await store.ais_revoked(QUERY, now=now) is False
    finally:
        await store.aclose()


def test_never_started_server_is_unavailable(redis_server_factory: Factory) -> None:
    server = redis_server_factory()
    url = server.url
    server.stop()
    store = open_store(url, timeout=TIMEOUT)
    try:
        assert elapsed_unavailable(lambda: store.get_value("k", now=time.time())) < BOUND
    finally:
        store.close()


def test_wrong_password_is_unavailable_without_leaking_it(redis_server_factory: Factory) -> None:
    server = redis_server_factory()
    admin = redis.Redis.from_url(server.url)
    try:
        admin.config_set("requirepass", "right-pass")
    finally:
        admin.close()
    store = open_store(f"redis://:wrong-pass-123@127.0.0.1:{server.port}/0", timeout=TIMEOUT)
    try:
        with pytest.raises(StoreUnavailable) as info:
            store.is_revoked(QUERY, now=time.time())
        assert "wrong-pass-123" not in str(info.value)
        assert "wrong-pass-123" not in repr(store)
    finally:
        store.close()


# -- persistence -------------------------------------------------------------------------------


def test_revocations_survive_sigkill_with_appendonly(redis_server_factory: Factory) -> None:
    server = redis_server_factory(appendonly=True)
    now = time.time()
    store = RedisStore(server.url, timeout=1.0)
    try:
        store.revoke_token(ISS, "j1", expires_at=now + 600, now=now)
        store.revoke_subject(ISS, "bob", before=now, expires_at=now + 600, now=now)
        store.create_session(
            SessionInfo("s1", "carol", now, now, now + 600, "ua", "198.51.100.1"), now=now
        )
        assert store.revoke_session("s1", now=now) is True
        assert store.consume_once("otp", expires_at=now + 600, now=now) is True
    finally:
        store.close()

    old_pid = server.pid
    server.kill()
    server.restart()
    assert server.pid != old_pid

    store = RedisStore(server.url, timeout=1.0)
    try:
        assert store.is_revoked(QUERY, now=now) is True
        bob = RevocationQuery(ISS, "bob", None, None, now - 1)
        assert store.is_revoked(bob, now=now) is True
        carol = RevocationQuery(ISS, "carol", None, "s1", now)
        assert store.is_revoked(carol, now=now) is True
        assert store.consume_once("otp", expires_at=now + 600, now=now) is False
    finally:
        store.close()


# -- wire behaviour ------------------------------------------------------------------------------


def _command_counts(raw: redis.Redis) -> dict[str, int]:
    stats = raw.info("commandstats")
    return {name: int(value["calls"]) for name, value in stats.items() if name != "cmdstat_info"}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.anyio
async def test_is_revoked_is_one_script_call(redis_url: str, raw: redis.Redis, mode: str) -> None:
    store = RedisStore(redis_url, timeout=1.0, prefix="rt:")
    now = time.time()
    try:
        store.revoke_subject(ISS, "alice", before=now, expires_at=now + 60, now=now)
        await store.ais_revoked(QUERY, now=now)  # warm up both clients' connections
        store.is_revoked(QUERY, now=now)
        before = _command_counts(raw)
        if mode == "async":
            assert await store.ais_revoked(QUERY, now=now) is True
        else:
            assert store.is_revoked(QUERY, now=now) is True
        after = _command_counts(raw)
    finally:
        await store.aclose()
    changed = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    # One round trip: the script reads the three revocation sets in one hash slot.
    assert changed.pop("cmdstat_evalsha") == 1
    assert set(changed) <= {"cmdstat_zscore", "cmdstat_hget"}


def test_keys_are_prefixed_short_and_scoped_by_issuer(redis_url: str, raw: redis.Redis) -> None:
    store = RedisStore(redis_url, prefix="myapp:")
    long_issuer = "https://" + "i" * 500 + ".example"
    try:
        now = time.time()
        store.revoke_token(ISS, "j", expires_at=now + 5, now=now)
        store.revoke_token(long_issuer, "j" * 1000, expires_at=now + 5, now=now)
        store.revoke_subject(long_issuer, "u", before=now, expires_at=now + 5, now=now)
        keys = set(raw.scan_iter("myapp:*"))
        assert keys == {"myapp:{r}:" + k for k in ("t", "w", "we", "wg", "log", "seq", "epoch")}
        members = raw.zrange("myapp:{r}:t", 0, -1)
        assert len(members) == 2  # the issuer is part of the revocation's name
        assert all(len(m) == 32 for m in members)  # bounded, and never the raw identifier
        entries = raw.xrange("myapp:{r}:log")
        assert len(entries) == 3
        assert not any("j" * 20 in v or "i" * 20 in v for _, f in entries for v in f.values())
    finally:
        store.close()


def test_scripts_are_reloaded_after_script_flush(redis_url: str, raw: redis.Redis) -> None:
    store = RedisStore(redis_url, timeout=1.0, prefix="sf:")
    now = time.time()
    try:
        store.create_session(SessionInfo("s1", "u", now, now, now + 600), now=now)
        raw.script_flush()
        assert store.touch_session("s1", now=now + 120) is True  # NOSCRIPT -> EVAL
        raw.script_flush()
        assert store.revoke_other_sessions("u", None, now=now + 120) == 1  # in a pipeline
    finally:
        store.close()


def test_list_sessions_prunes_the_index(redis_url: str, raw: redis.Redis) -> None:
    store = RedisStore(redis_url, timeout=1.0, prefix="ix:")
    now = time.time()
    try:
        for i in range(3):
            store.create_session(SessionInfo(f"s{i}", "u", now, now, now + 600 + i), now=now)
        index = store.keys.subject_sessions("u")
        raw.delete(store.keys.session("u", "s0"))  # a record gone (expired) ...
        assert raw.zcard(index) == 3
        assert [s.session_id for s in store.list_sessions("u", now=now)] == ["s1", "s2"]
        assert raw.zcard(index) == 2  # ... is pruned from the index by listing
        store.revoke_session("s1", now=now)
        assert raw.zrange(index, 0, -1) == ["s2"]  # ending a session removes its entry
        store.list_sessions("u", now=now + 602.5)  # s2 expired by the caller's clock
        assert raw.zrange(index, 0, -1) == []
    finally:
        store.close()


def test_unix_socket_url(redis_server_factory: Factory) -> None:
    server = redis_server_factory()
    store = open_store(f"unix://{server.unixsocket}?db=0", prefix="ux:")
    try:
        now = time.time()
        assert store.consume_once("k", expires_at=now + 5, now=now) is True
        assert store.consume_once("k", expires_at=now + 5, now=now) is False
    finally:
        store.close()


def test_client_configuration_is_explicit(redis_url: str) -> None:
    store = RedisStore(redis_url, timeout=0.25)
    try:
        kwargs = store.clients.sync.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] == 0.25
        assert kwargs["socket_connect_timeout"] == 0.25
        assert kwargs["health_check_interval"] == 0
        assert kwargs["retry"].get_retries() == 1
    finally:
        store.close()


@pytest.mark.anyio
async def test_async_clients_are_per_event_loop_and_closed(redis_url: str) -> None:
    store = RedisStore(redis_url, timeout=1.0, prefix="lp:")
    now = time.time()
    await store.aput_value("k", "v", expires_at=now + 5, now=now)
    assert len(store._aclients) == 1
    await store.aclose()
    assert store._aclients == {}


@pytest.mark.parametrize("deployment", ["single", "cluster"])
def test_a_snapshot_of_many_pages_loads_every_live_revocation(
    deployment: str, request: pytest.FixtureRequest
) -> None:
    """The mirror's snapshot reads the revoked set a page at a time (a script joins each page
    into one reply): every live member arrives once, none that expired, across page ends."""
    from jwtmiddleware.stores._changes import TOKEN, revocation_keys, token_member
    from jwtmiddleware.stores._redis_clients import RedisClients

    url = (
        request.getfixturevalue("redis_cluster").url
        if deployment == "cluster"
        else request.getfixturevalue("redis_url")
    )
    prefix = f"snap{time.monotonic_ns()}:"
    now = time.time()
    live = {token_member(ISS, f"id-{i}"): now + 3600 + i for i in range(12_345)}
    dead = {token_member(ISS, f"old-{i}"): now - 10 for i in range(500)}
    clients = RedisClients.from_url(url, timeout=5.0)
    store = RedisStore(url, prefix=prefix, timeout=5.0)
    try:
        for part in (dict(list(live.items())[i : i + 5000]) for i in range(0, len(live), 5000)):
            clients.sync.zadd(f"{prefix}{{r}}:t", part)
        clients.sync.zadd(f"{prefix}{{r}}:t", dead)
        log = store.open_change_log()
        assert log is not None
        try:
            _, pages = log.snapshot(now)
            changes = [change for page in pages for change in page]
        finally:
            log.close()
        assert all(change.kind == TOKEN for change in changes)
        assert {c.member: c.expires_at for c in changes} == pytest.approx(live)
        assert len(changes) == len(live)

        mirror = store.mirror(max_lag=1.0, timeout=5.0)
        try:
            assert mirror.wait_ready(30)
            assert all(mirror.revoked(revocation_keys({"iss": ISS, "jti": f"id-{i}"}), now)
                       for i in range(0, 12_345, 97))  # fmt: skip
            assert not mirror.revoked(revocation_keys({"iss": ISS, "jti": "old-1"}), now)
        finally:
            mirror.stop()
    finally:
        clients.sync.delete(f"{prefix}{{r}}:t")
        clients.close()
        store.close()
