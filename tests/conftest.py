"""Shared fixtures: the Redis server plugin and the anyio backend."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.redis_server", "tests.redis_topologies"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import threading

    alive = [t for t in threading.enumerate() if t.name == "jwtmiddleware-mirror"]
    if alive:
        print(f"\n{len(alive)} revocation mirror follower thread(s) still running at exit")
