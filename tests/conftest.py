"""Shared fixtures: the Redis server plugin and the anyio backend."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.redis_server", "tests.redis_topologies"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
