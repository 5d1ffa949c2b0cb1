"""SQLiteStore.ais_revoked answers inline on the event loop, and never blocks it when busy."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from jwtmiddleware.core.errors import StoreUnavailable
from jwtmiddleware.stores import RevocationQuery, SessionInfo, SQLiteStore

pytestmark = pytest.mark.anyio

ISS = "https://issuer.example"
NOW = 1_700_000_000.0


class CountingStore(SQLiteStore):
    """Records the thread of every sync ``is_revoked`` call: the thread path of the async twin
    goes through it, the inline read does not."""

    def __init__(self, path: Path, *, busy_timeout: float) -> None:
        self.sync_threads: list[int] = []
        super().__init__(path, busy_timeout=busy_timeout)

    def is_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        self.sync_threads.append(threading.get_ident())
        return super().is_revoked(query, now=now)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CountingStore]:
    store = CountingStore(tmp_path / "s.db", busy_timeout=0.5)
    yield store
    store.close()


def q(
    sub: str | None = None, jti: str | None = None, sid: str | None = None, iat: float | None = None
) -> RevocationQuery:
    return RevocationQuery(issuer=ISS, subject=sub, token_id=jti, session_id=sid, issued_at=iat)


def revoke_all(store: SQLiteStore) -> None:
    store.revoke_token(ISS, "j-revoked", expires_at=NOW + 3600, now=NOW)
    store.revoke_token(ISS, "j-expired", expires_at=NOW - 1, now=NOW - 60)
    store.revoke_subject(ISS, "alice", before=NOW, expires_at=NOW + 3600, now=NOW)
    session = SessionInfo("s-revoked", "bob", NOW - 60, NOW - 60, NOW + 3600)
    store.create_session(session, now=NOW)
    store.revoke_session("s-revoked", now=NOW)


CASES = {
    "revoked jti": (q(sub="carol", jti="j-revoked", iat=NOW - 5), True),
    "expired jti revocation": (q(sub="carol", jti="j-expired", iat=NOW - 5), False),
    "subject, issued before watermark": (q(sub="alice", jti="j1", iat=NOW - 5), True),
    "subject, no iat": (q(sub="alice", jti="j1"), True),
    "subject, issued after watermark": (q(sub="alice", jti="j1", iat=NOW + 5), False),
    "revoked session": (q(sub="bob", jti="j2", sid="s-revoked", iat=NOW - 5), True),
    "not revoked": (q(sub="bob", jti="j3", sid="s-live", iat=NOW - 5), False),
    "other issuer": (
        RevocationQuery("https://other.example", "alice", "j-revoked", None, NOW - 5),
        False,
    ),
}


@pytest.mark.parametrize(("query", "expected"), CASES.values(), ids=CASES.keys())
async def test_ais_revoked_agrees_with_is_revoked(
    store: CountingStore, query: RevocationQuery, expected: bool
) -> None:
    revoke_all(store)
    assert await store.ais_revoked(query, now=NOW) is expected
    assert store.is_revoked(query, now=NOW) is expected


async def test_ais_revoked_runs_inline_on_the_loop_thread(store: CountingStore) -> None:
    revoke_all(store)
    for query, expected in CASES.values():
        assert await store.ais_revoked(query, now=NOW) is expected
    assert store.sync_threads == []  # no call took the worker-thread path
    # A revocation written afterwards is seen by the reader connection at once.
    store.revoke_token(ISS, "j3", expires_at=NOW + 60, now=NOW)
    store.sync_threads.clear()
    assert await store.ais_revoked(q(sub="bob", jti="j3"), now=NOW) is True
    assert store.sync_threads == []


def drop_idle_connections(store: SQLiteStore) -> None:
    # An open connection, even idle, holds a shared lock in WAL mode, so nobody else could take
    # the EXCLUSIVE lock below; close the pool's idle ones as if the store were just started.
    with store._pool_lock:
        idle, store._pool = store._pool, []
    for conn in idle:
        conn.close()


def lock_exclusively(path: str) -> sqlite3.Connection:
    """Another connection in ``locking_mode=EXCLUSIVE``: its first read takes an EXCLUSIVE
    lock on the WAL database and keeps it until closed, so every other reader gets SQLITE_BUSY."""
    blocker = sqlite3.connect(path, isolation_level=None, timeout=0)
    blocker.execute("PRAGMA locking_mode=EXCLUSIVE")
    blocker.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    probe = sqlite3.connect(path, timeout=0)  # the lock is real: a zero-timeout read is busy
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    finally:
        probe.close()
    return blocker


async def call_while_ticking(call: Callable[[], Awaitable[object]]) -> tuple[object, float, float]:
    """Await ``call()`` beside a 5 ms ticker; return its result or exception, how long it took
    and the ticker's longest gap."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.005)
            gaps.append(time.monotonic() - last)
            last = time.monotonic()

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.02)  # let the ticker start
    start = time.monotonic()
    try:
        outcome = await call()
    except StoreUnavailable as exc:
        outcome = exc
    elapsed = time.monotonic() - start
    done.set()
    await ticker
    return outcome, elapsed, max(gaps)


async def test_busy_database_falls_back_to_the_thread_and_gets_the_answer(
    tmp_path: Path,
) -> None:
    # A roomy busy timeout, so that a slow machine still sees the release (at 0.2 s) in time.
    with CountingStore(tmp_path / "s.db", busy_timeout=2.0) as store:
        revoke_all(store)
        drop_idle_connections(store)
        blocker = lock_exclusively(store.path)
        asyncio.get_running_loop().call_later(0.2, blocker.close)  # released within the timeout

        query, expected = CASES["revoked jti"]
        outcome, elapsed, max_gap = await call_while_ticking(
            lambda: store.ais_revoked(query, now=NOW)
        )
        assert outcome is expected
        assert 0.15 < elapsed < 1.5  # it waited for the lock ...
        assert max_gap < 0.15  # ... in a worker thread, not on the loop
        assert len(store.sync_threads) == 1
        assert store.sync_threads[0] != threading.get_ident()

        store.sync_threads.clear()  # once the lock is gone, the inline path answers again
        assert await store.ais_revoked(query, now=NOW) is expected
        assert store.sync_threads == []


async def test_busy_database_raises_store_unavailable_after_the_busy_timeout(
    store: CountingStore,
) -> None:
    revoke_all(store)
    drop_idle_connections(store)
    blocker = lock_exclusively(store.path)
    try:
        query, _ = CASES["revoked jti"]
        outcome, elapsed, max_gap = await call_while_ticking(
            lambda: store.ais_revoked(query, now=NOW)
        )
    finally:
        blocker.close()
    assert isinstance(outcome, StoreUnavailable)  # as the thread path reports it
    assert isinstance(outcome.__cause__, sqlite3.OperationalError)
    assert 0.4 < elapsed < 2.0  # the busy timeout (0.5 s) was waited for ...
    assert max_gap < 0.15  # ... without blocking the loop
    assert len(store.sync_threads) == 1


async def test_closed_store_raises_store_unavailable(store: CountingStore) -> None:
    assert await store.ais_revoked(q(jti="j1"), now=NOW) is False  # opens the reader
    store.close()
    with pytest.raises(StoreUnavailable):
        await store.ais_revoked(q(jti="j1"), now=NOW)


def test_event_loops_in_several_threads_and_sync_callers_share_the_store(
    store: CountingStore,
) -> None:
    revoke_all(store)
    failures: list[BaseException] = []

    async def loop_body() -> None:
        for _ in range(200):
            for query, expected in CASES.values():
                assert await store.ais_revoked(query, now=NOW) is expected

    def sync_body() -> None:
        for _ in range(200):
            for query, expected in CASES.values():
                assert store.is_revoked(query, now=NOW) is expected

    def run(body: Callable[[], None]) -> None:
        try:
            body()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(lambda: asyncio.run(loop_body()),))]
    threads += [threading.Thread(target=run, args=(lambda: asyncio.run(loop_body()),))]
    threads += [threading.Thread(target=run, args=(sync_body,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
