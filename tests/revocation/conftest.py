"""Fixtures running the real middleware over every store backend, ASGI and WSGI alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware, Settings
from jwtmiddleware.stores import open_store
from jwtmiddleware.stores.base import Store
from tests.revocation.calls import Answer, call_asgi, call_wsgi, echo_asgi, echo_wsgi


class Through:
    """Sends requests through one middleware kind, keeping one event loop for ASGI."""

    def __init__(self, kind: str, portal: BlockingPortal | None) -> None:
        self.kind = kind
        self._portal = portal
        self._stores: list[Store] = []
        self.app: JWTMiddleware | JWTWSGIMiddleware | None = None

    def build(self, settings: Settings, store: Store, **kwargs: Any) -> Through:
        self._stores.append(store)
        if self.kind == "asgi":
            self.app = JWTMiddleware(echo_asgi, settings=settings, store=store, **kwargs)
        else:
            self.app = JWTWSGIMiddleware(echo_wsgi, settings=settings, store=store, **kwargs)
        return self

    def get(self, token: str | None) -> Answer:
        assert self.app is not None
        if isinstance(self.app, JWTMiddleware):
            assert self._portal is not None
            return self._portal.call(call_asgi, self.app, token)
        return call_wsgi(self.app, token)

    def run(self, func: Callable[..., Any], *args: Any) -> Any:
        """Call a store method in the same loop the middleware uses (ASGI) or directly."""
        if self._portal is not None:
            return self._portal.call(func, *args)
        return func(*args)

    def close(self) -> None:
        for store in self._stores:
            if self._portal is not None:
                self._portal.call(store.aclose)
            store.close()


@pytest.fixture(params=["asgi", "wsgi"])
def through(request: pytest.FixtureRequest) -> Iterator[Through]:
    if request.param == "asgi":
        with start_blocking_portal() as portal:
            t = Through("asgi", portal)
            try:
                yield t
            finally:
                t.close()
    else:
        t = Through("wsgi", None)
        try:
            yield t
        finally:
            t.close()


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server = request.getfixturevalue("redis_server")
    return str(server.url)


@pytest.fixture
def make_store() -> Iterator[Callable[..., Store]]:
    def make(url: str, prefix: str) -> Store:
        return open_store(url, prefix=prefix, timeout=0.1)

    return make
