"""Session limits under concurrency (issue 15, item 1): 30 logins at once, across threads and
across processes, at ``MAX_SESSIONS_PER_SUBJECT = 3``, leave exactly 3 live sessions, on every
store (Redis single node and Cluster included)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jwtmiddleware import SessionLimitReached, Settings
from jwtmiddleware.sessions.manager import SessionManager
from jwtmiddleware.stores import open_store
from tests.core.keyfactory import SECRET

LOGINS = 30
LIMIT = 3

RACER = r"""
import json, sys, threading
from jwtmiddleware import SessionLimitReached, Settings
from jwtmiddleware.manager import SessionManager
url, prefix, policy, count, secret = sys.argv[1:6]
settings = Settings(secret=secret, store=url, store_prefix=prefix, max_sessions_per_subject=3,
                    session_limit_policy=policy, store_timeout=5.0, store_checks="off")
manager = SessionManager(settings)
barrier = threading.Barrier(int(count))
out = []
def login():
    barrier.wait()
    try:
        out.append(manager.login("racer").session_id)
    except SessionLimitReached:
        out.append(None)
threads = [threading.Thread(target=login) for _ in range(int(count))]
for t in threads: t.start()
for t in threads: t.join()
manager.close()
print(json.dumps(out))
"""


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return str(request.getfixturevalue("redis_cluster").url)


@pytest.fixture
def prefix() -> str:
    return f"race{secrets.token_hex(3)}:"


def settings_for(url: str, prefix: str, policy: str, **extra: Any) -> Settings:
    return Settings(secret=SECRET, store=url, store_prefix=prefix, max_sessions_per_subject=LIMIT,
                    session_limit_policy=policy, store_timeout=5.0, store_checks="off",
                    **extra)  # fmt: skip


@pytest.fixture
def manager_for(url: str, prefix: str) -> Iterator[Any]:
    made: list[SessionManager] = []

    def make(policy: str, **extra: Any) -> SessionManager:
        # One store object shared by the threads, as in one worker process.
        manager = SessionManager(settings_for(url, prefix, policy, **extra))
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


def race_threads(manager: SessionManager, count: int) -> list[str | None]:
    barrier = threading.Barrier(count)
    results: list[str | None] = []
    lock = threading.Lock()

    def login() -> None:
        barrier.wait()
        try:
            sid: str | None = manager.login("racer").session_id
        except SessionLimitReached:
            sid = None
        with lock:
            results.append(sid)

    threads = [threading.Thread(target=login) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("policy", ["evict_oldest", "deny_new"])
def test_thirty_threads_at_limit_three(manager_for: Any, policy: str) -> None:
    manager = manager_for(policy)
    results = race_threads(manager, LOGINS)
    assert len(results) == LOGINS
    live = manager.sessions("racer")
    assert len(live) == LIMIT
    created = [sid for sid in results if sid is not None]
    if policy == "deny_new":
        assert len(created) == LIMIT  # exactly three succeed, the rest are refused
        assert {s.session_id for s in live} == set(created)
    else:
        assert len(created) == LOGINS  # evict_oldest never refuses
        assert {s.session_id for s in live} <= set(created)


def test_single_session_under_concurrency(manager_for: Any) -> None:
    manager = manager_for("evict_oldest", single_session=True)
    results = race_threads(manager, LOGINS)
    assert len(manager.sessions("racer")) == 1
    assert all(sid is not None for sid in results)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store several processes share (not memory://)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return str(request.getfixturevalue("redis_cluster").url)


@pytest.mark.parametrize("policy", ["evict_oldest", "deny_new"])
def test_thirty_logins_across_three_processes(shared_url: str, prefix: str, policy: str) -> None:
    url = shared_url
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, url, prefix, policy, str(LOGINS // 3), SECRET],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    results: list[str | None] = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        results += json.loads(out)
    with open_store(url, prefix=prefix, timeout=5.0) as store:
        live = store.list_sessions("racer", now=time.time())
    assert len(live) == LIMIT
    created = [sid for sid in results if sid is not None]
    if policy == "deny_new":
        assert len(created) == LIMIT
    else:
        assert len(created) == LOGINS
    assert {s.session_id for s in live} <= set(created)


def test_evicted_sessions_are_revoked_everywhere(manager_for: Any) -> None:
    """The sessions a limit evicts are refused like a logout: their refresh tokens too."""
    manager = manager_for("evict_oldest")
    pairs = [manager.login("racer") for _ in range(LIMIT + 2)]
    live = {s.session_id for s in manager.sessions("racer")}
    assert live == {p.session_id for p in pairs[-LIMIT:]}
    from jwtmiddleware import TokenRevoked

    for evicted in pairs[:2]:
        with pytest.raises(TokenRevoked):
            manager.refresh(evicted.refresh_token)
