"""Fixtures of the session-lifecycle suite.

- ``kind``: ``"asgi"`` or ``"wsgi"`` (every HTTP test runs through both middlewares);
- ``store_url``: memory, sqlite and redis (from the revocation suite);
- ``make_rig(store_url="memory://", clock=None, **settings)``: a :class:`Rig` of the current
  kind over a fresh store under its own key prefix, closed at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

from jwtmiddleware.testing import FrozenClock
from tests.http.harness import kind
from tests.revocation.conftest import store_url
from tests.sessions.rig import NOW, Rig, open_test_store, session_settings

__all__ = ["kind", "make_rig", "store_url"]


@pytest.fixture
def make_rig(kind: str) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []
    with ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal()) if kind == "asgi" else None

        def make(
            store_url: str = "memory://", *, clock: FrozenClock | None = None, **settings: Any
        ) -> Rig:
            config = session_settings(store=store_url, **settings)
            store = open_test_store(store_url)
            rig = Rig(kind, portal, config, store, clock or FrozenClock(NOW))
            rigs.append(rig)
            return rig

        try:
            yield make
        finally:
            for rig in rigs:
                rig.close()
