"""One contract for every store: memory / sqlite / redis, each through the sync methods and
through their async twins.

The caller owns the clock, so expiry is checked by passing a later ``now`` (memory, SQLite); Redis
expires keys by its own clock, so there the test reads the TTL the store set.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from jwtmiddleware.stores import MemoryStore, RevocationQuery, SessionInfo, SQLiteStore, Store
from jwtmiddleware.stores._redis_clients import RedisClients
from jwtmiddleware.stores.redis import RedisStore
from tests.redis_sentinel import SentinelSet, start_sentinel_set

pytestmark = pytest.mark.anyio

ISS = "https://issuer.example"
DAY = 86400.0


class Api:
    """Calls the store's sync method (mode "sync") or its async twin (mode "async") under one
    name, so every contract test runs both paths: ``await api.is_revoked(q, now=...)``."""

    def __init__(self, store: Store, backend: str, mode: str, raw: Any) -> None:
        self.store = store
        self.backend = backend
        self.mode = mode
        #: A plain redis client on the same server (redis backend only), to read TTLs.
        self.raw = raw

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if self.mode == "async":
            method: Callable[..., Awaitable[Any]] = getattr(self.store, "a" + name)
            return method
        sync = getattr(self.store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return sync(*args, **kwargs)

        return call

    @property
    def expires_by_now(self) -> bool:
        """True where a later ``now`` makes entries vanish (not Redis, which uses its clock)."""
        return self.backend not in REDIS_BACKENDS

    def ttl(self, key: str) -> int:
        assert self.raw is not None
        return int(self.raw.ttl(key))

    @property
    def keys(self) -> Any:
        assert isinstance(self.store, RedisStore)
        return self.store.keys


REDIS_BACKENDS = ("redis", "redis-cluster", "redis-sentinel")


@pytest.fixture(
    params=["memory", "sqlite", *(pytest.param(b, marks=pytest.mark.redis) for b in REDIS_BACKENDS)]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def contract_sentinel() -> Iterator[SentinelSet]:
    """One master, one replica and three sentinels for this module's tests."""
    group = start_sentinel_set()
    try:
        yield group
    finally:
        group.close()


def redis_url_for(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "redis-cluster":
        return str(request.getfixturevalue("redis_cluster").url)
    if backend == "redis-sentinel":
        return str(request.getfixturevalue("contract_sentinel").url)
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def raw_redis(backend: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A plain client on the same deployment (to read what the store wrote)."""
    if backend not in REDIS_BACKENDS:
        yield None
        return
    clients = RedisClients.from_url(redis_url_for(backend, request), timeout=2.0)
    yield clients.sync
    clients.close()


def make_store(backend: str, request: pytest.FixtureRequest, **kwargs: Any) -> Store:
    if backend == "memory":
        return MemoryStore(**kwargs)
    if backend == "sqlite":
        tmp_path = request.getfixturevalue("tmp_path")
        return SQLiteStore(tmp_path / "store.db", **kwargs)
    url = redis_url_for(backend, request)
    # A unique prefix isolates tests sharing the session's server; a roomy timeout keeps the
    # contract (not the failure behaviour, tested elsewhere) free of scheduling flakes.
    return RedisStore(url, timeout=2.0, prefix=f"t{uuid.uuid4().hex[:8]}:", **kwargs)


@pytest.fixture
async def api(
    backend: str, mode: str, raw_redis: Any, request: pytest.FixtureRequest
) -> AsyncIterator[Api]:
    store = make_store(backend, request)
    yield Api(store, backend, mode, raw_redis)
    if mode == "async":
        await store.aclose()
    else:
        store.close()


def q(
    *,
    iss: str = ISS,
    sub: str | None = None,
    jti: str | None = None,
    sid: str | None = None,
    iat: float | None = None,
) -> RevocationQuery:
    return RevocationQuery(issuer=iss, subject=sub, token_id=jti, session_id=sid, issued_at=iat)


def session(
    sid: str, subject: str, now: float, *, created: float = 0.0, life: float = DAY
) -> SessionInfo:
    return SessionInfo(
        session_id=sid,
        subject=subject,
        created_at=now + created,
        last_seen=now + created,
        expires_at=now + created + life,
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        ip="203.0.113.7",
    )


# -- revocation by jti -----------------------------------------------------------------------


async def test_nothing_is_revoked_in_an_empty_store(api: Api) -> None:
    now = time.time()
    assert await api.is_revoked(q(), now=now) is False
    assert await api.is_revoked(q(sub="alice", jti="j1", sid="s1", iat=now), now=now) is False


async def test_revoke_token_by_issuer_and_jti_until_expiry(api: Api) -> None:
    now = time.time()
    await api.revoke_token(ISS, "jti-1", expires_at=now + 100, now=now)
    assert await api.is_revoked(q(jti="jti-1"), now=now) is True
    assert await api.is_revoked(q(jti="jti-1", sub="alice", iat=now), now=now + 1) is True
    assert await api.is_revoked(q(jti="jti-2"), now=now) is False
    assert await api.is_revoked(q(jti="jti-1", iss="https://other.example"), now=now) is False
    assert await api.is_revoked(q(jti="jti-1", iss=""), now=now) is False
    # Every store, Redis included, expires revocations by the caller's clock.
    assert await api.is_revoked(q(jti="jti-1"), now=now + 99.5) is True
    assert await api.is_revoked(q(jti="jti-1"), now=now + 100) is False


async def test_revoking_again_never_shortens(api: Api) -> None:
    now = time.time()
    await api.revoke_token(ISS, "j", expires_at=now + 1000, now=now)
    await api.revoke_token(ISS, "j", expires_at=now + 10, now=now)
    assert await api.is_revoked(q(jti="j"), now=now + 500) is True
    assert await api.is_revoked(q(jti="j"), now=now + 999) is True


async def test_revocation_key_ignores_token_bytes_and_separators(api: Api) -> None:
    now = time.time()
    # ("a:b", "c") and ("a", "b:c") must be different entries whatever the key encoding.
    await api.revoke_token("a:b", "c", expires_at=now + 60, now=now)
    assert await api.is_revoked(q(iss="a", jti="b:c"), now=now) is False
    assert await api.is_revoked(q(iss="a:b", jti="c"), now=now) is True


# -- subject watermark ---------------------------------------------------------------------------


async def test_subject_watermark_revokes_tokens_issued_before(api: Api) -> None:
    now = time.time()
    await api.revoke_subject(ISS, "alice", before=now, expires_at=now + 3600, now=now)
    assert await api.is_revoked(q(sub="alice", iat=now - 1), now=now) is True
    assert await api.is_revoked(q(sub="alice", iat=now - 0.001), now=now) is True
    assert await api.is_revoked(q(sub="alice", iat=now), now=now) is False
    assert await api.is_revoked(q(sub="alice", iat=now + 5), now=now) is False
    assert await api.is_revoked(q(sub="alice", iat=None), now=now) is True  # no iat: unsafe
    assert await api.is_revoked(q(sub="bob", iat=now - 1), now=now) is False
    assert await api.is_revoked(q(sub="alice", iat=now - 1, iss="other"), now=now) is False
    assert await api.is_revoked(q(sub=None, iat=now - 1), now=now) is False


async def test_subject_watermark_is_never_lowered(api: Api) -> None:
    now = time.time()
    await api.revoke_subject(ISS, "alice", before=now + 10, expires_at=now + 3600, now=now)
    await api.revoke_subject(ISS, "alice", before=now, expires_at=now + 60, now=now)
    assert await api.is_revoked(q(sub="alice", iat=now + 5), now=now) is True
    await api.revoke_subject(ISS, "alice", before=now + 20, expires_at=now + 3600, now=now)
    assert await api.is_revoked(q(sub="alice", iat=now + 15), now=now) is True
    assert await api.is_revoked(q(sub="alice", iat=now + 20), now=now) is False
    assert await api.is_revoked(q(sub="alice", iat=now), now=now + 3599) is True
    assert await api.is_revoked(q(sub="alice", iat=now), now=now + 3600) is False


# -- sessions ----------------------------------------------------------------------------


async def test_session_create_get_list(api: Api) -> None:
    now = time.time()
    newest = session("s3", "alice", now, created=-10)
    await api.create_session(newest, now=now)
    await api.create_session(session("s1", "alice", now, created=-300), now=now)
    await api.create_session(session("s2", "alice", now, created=-200), now=now)
    await api.create_session(session("b1", "bob", now), now=now)
    await api.create_session(session("dead", "alice", now, created=-100, life=50), now=now)

    assert await api.get_session("s3", now=now) == newest  # floats round-trip exactly
    assert await api.get_session("nope", now=now) is None
    assert await api.get_session("dead", now=now) is None
    listed = await api.list_sessions("alice", now=now)
    assert [s.session_id for s in listed] == ["s1", "s2", "s3"]
    assert [s.session_id for s in await api.list_sessions("bob", now=now)] == ["b1"]
    assert await api.list_sessions("carol", now=now) == []
    if api.expires_by_now:
        assert await api.get_session("s3", now=newest.expires_at) is None
        later = await api.list_sessions("alice", now=now - 300 + DAY)
        assert [s.session_id for s in later] == ["s2", "s3"]
    else:
        assert DAY - 11 <= api.ttl(api.keys.session("alice", "s3")) <= DAY - 10


async def test_sessions_created_in_the_same_instant_list_in_session_id_order(api: Api) -> None:
    now = time.time()
    for sid in ("s-b", "s-c", "s-a"):
        await api.create_session(session(sid, "alice", now), now=now)
    listed = await api.list_sessions("alice", now=now)
    assert [s.session_id for s in listed] == ["s-a", "s-b", "s-c"]  # stable: same every time
    assert await api.list_sessions("alice", now=now) == listed


async def test_touch_session_is_throttled(api: Api) -> None:
    now = time.time()
    await api.create_session(session("s1", "alice", now), now=now)
    assert await api.touch_session("s1", now=now + 30) is False
    assert await api.touch_session("s1", now=now + 61) is True
    got = await api.get_session("s1", now=now + 61)
    assert got is not None
    assert got.last_seen == now + 61
    assert got.created_at == now
    assert await api.touch_session("s1", now=now + 62) is False
    assert await api.touch_session("s1", now=now + 200, min_interval=300) is False
    assert await api.touch_session("s1", now=now + 62, min_interval=0) is True
    assert await api.touch_session("missing", now=now + 1000) is False
    assert await api.touch_session("s1", now=now + DAY + 1) is False  # expired


async def test_concurrent_touches_write_once(api: Api) -> None:
    now = time.time()
    await api.create_session(session("s1", "alice", now), now=now)
    results = await asyncio.gather(*(api.touch_session("s1", now=now + 120) for _ in range(20)))
    assert sum(results) == 1


async def test_revoke_session(api: Api) -> None:
    now = time.time()
    s1 = session("s1", "alice", now, life=3600)
    await api.create_session(s1, now=now)
    await api.create_session(session("s2", "alice", now, created=1), now=now)
    assert await api.is_revoked(q(sub="alice", sid="s1", iat=now), now=now) is False

    assert await api.revoke_session("s1", now=now) is True
    assert await api.get_session("s1", now=now) is None
    assert [s.session_id for s in await api.list_sessions("alice", now=now)] == ["s2"]
    assert await api.is_revoked(q(sub="alice", sid="s1", iat=now), now=now) is True
    assert await api.is_revoked(q(sub="alice", sid="s2", iat=now), now=now) is False
    assert await api.touch_session("s1", now=now + 100) is False
    # Already gone: False, and the marker keeps its end (a day would apply without expires_at).
    assert await api.revoke_session("s1", now=now, expires_at=now + 60) is False
    assert await api.is_revoked(q(sid="s1"), now=now + 3599) is True
    assert await api.is_revoked(q(sid="s1"), now=now + 3600) is False


async def test_revoke_unknown_session_still_leaves_a_marker(api: Api) -> None:
    now = time.time()
    assert await api.revoke_session("ghost", now=now, expires_at=now + 600) is False
    assert await api.revoke_session("ghost2", now=now) is False
    assert await api.is_revoked(q(sid="ghost"), now=now) is True
    assert await api.is_revoked(q(sid="ghost2"), now=now) is True
    assert await api.is_revoked(q(sid="ghost"), now=now + 600) is False
    assert await api.is_revoked(q(sid="ghost2"), now=now + DAY - 1) is True
    assert await api.is_revoked(q(sid="ghost2"), now=now + DAY) is False


async def test_revoke_other_sessions(api: Api) -> None:
    now = time.time()
    for i in range(4):
        await api.create_session(session(f"a{i}", "alice", now, created=i), now=now)
    await api.create_session(session("b0", "bob", now), now=now)
    await api.create_session(session("old", "alice", now, created=-DAY, life=10), now=now)

    assert await api.revoke_other_sessions("alice", "a2", now=now) == 3
    assert [s.session_id for s in await api.list_sessions("alice", now=now)] == ["a2"]
    for sid in ("a0", "a1", "a3"):
        assert await api.is_revoked(q(sub="alice", sid=sid, iat=now), now=now) is True
    assert await api.is_revoked(q(sub="alice", sid="a2", iat=now), now=now) is False
    assert await api.is_revoked(q(sub="bob", sid="b0", iat=now), now=now) is False

    assert await api.revoke_other_sessions("alice", None, now=now) == 1
    assert await api.list_sessions("alice", now=now) == []
    assert await api.revoke_other_sessions("alice", None, now=now) == 0
    assert [s.session_id for s in await api.list_sessions("bob", now=now)] == ["b0"]


# -- one-time markers and values -------------------------------------------------------------


async def test_consume_once(api: Api) -> None:
    now = time.time()
    assert await api.consume_once("otp-1", expires_at=now + 30, now=now) is True
    assert await api.consume_once("otp-1", expires_at=now + 30, now=now + 1) is False
    assert await api.consume_once("otp-2", expires_at=now + 30, now=now) is True
    if api.expires_by_now:
        assert await api.consume_once("otp-1", expires_at=now + 60, now=now + 29) is False
        assert await api.consume_once("otp-1", expires_at=now + 60, now=now + 30) is True
    else:
        assert 29 <= api.ttl(api.keys.once("otp-1")) <= 30


async def test_consume_once_under_concurrency(api: Api) -> None:
    now = time.time()
    if api.mode == "async":
        calls = [api.consume_once("hot", expires_at=now + 60, now=now) for _ in range(50)]
        results = await asyncio.gather(*calls)
    else:
        barrier = threading.Barrier(50)
        store = api.store

        def race() -> bool:
            barrier.wait(timeout=10)
            return store.consume_once("hot", expires_at=now + 60, now=now)

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(lambda _: race(), range(50)))
    assert results.count(True) == 1
    assert results.count(False) == 49


async def test_put_and_get_value(api: Api) -> None:
    now = time.time()
    assert await api.get_value("rt-1", now=now) is None
    await api.put_value("rt-1", "successor-jti", expires_at=now + 20, now=now)
    assert await api.get_value("rt-1", now=now + 1) == "successor-jti"
    await api.put_value("rt-1", "ünïcode ✓", expires_at=now + 20, now=now)
    assert await api.get_value("rt-1", now=now + 1) == "ünïcode ✓"
    assert await api.get_value("rt-2", now=now) is None
    if api.expires_by_now:
        assert await api.get_value("rt-1", now=now + 20) is None
    else:
        assert 19 <= api.ttl(api.keys.value("rt-1")) <= 20


# -- housekeeping --------------------------------------------------------------------------


async def fill(api: Api, now: float, n: int, life: float) -> None:
    for i in range(n):
        exp = now + life
        await api.revoke_token(ISS, f"j{i}", expires_at=exp, now=now)
        await api.revoke_subject(ISS, f"u{i}", before=now, expires_at=exp, now=now)
        await api.create_session(session(f"s{i}", f"u{i}", now, life=life), now=now)
        await api.revoke_session(f"x{i}", now=now, expires_at=exp)
        await api.consume_once(f"o{i}", expires_at=exp, now=now)
        await api.put_value(f"v{i}", "x", expires_at=exp, now=now)


async def test_purge_removes_only_expired_entries(api: Api) -> None:
    now = time.time()
    await fill(api, now, 5, life=10)
    if not api.expires_by_now:
        assert await api.purge(now=now + 20) == 0  # Redis expires entries itself ...
        assert api.raw is not None
        prefix = api.keys.prefix
        keys = list(api.raw.scan_iter(f"{prefix}*"))
        assert keys
        # ... by TTL, except the revocations and their log (one hash slot, "{r}"), which have
        # no TTL that an eviction policy could pick: each write drops what expired, by score.
        assert all(api.ttl(k) > 0 for k in keys if "{r}:" not in k)
        assert api.raw.zcard(prefix + "{r}:t") == 5
        await api.revoke_token(ISS, "later", expires_at=now + 100, now=now + 20)
        assert api.raw.zcard(prefix + "{r}:t") == 1  # the five expired ones went
        return
    assert await api.purge(now=now + 5) == 0
    assert await api.is_revoked(q(jti="j0"), now=now + 5) is True
    # 5 x (token, watermark, session, session marker, once, value)
    assert await api.purge(now=now + 10) == 30
    assert await api.purge(now=now + 10) == 0
    assert await api.list_sessions("u0", now=now) == []  # the rows are really gone


async def test_close_is_idempotent(backend: str, request: pytest.FixtureRequest) -> None:
    store = make_store(backend, request)
    store.close()
    store.close()


@pytest.mark.parametrize("backend", ["memory", "sqlite"])  # Redis expires keys by TTL
def test_opportunistic_purge_bounds_the_size(backend: str, request: pytest.FixtureRequest) -> None:
    store = make_store(backend, request, purge_interval=0.0)
    now = time.time()
    try:
        for i in range(200):  # each entry is dead one second after the next one is written
            t = now + i * 2
            store.consume_once(f"k{i}", expires_at=t + 1, now=t)
            store.revoke_token(ISS, f"j{i}", expires_at=t + 1, now=t)
        assert store.purge(now=now + 398) == 0  # the last write already dropped all the others
    finally:
        store.close()
