"""Keep a :class:`RemoteKeySetCache` fresh in the background, so requests never wait.

``perform`` / ``aperform`` run one :class:`FetchNeeded` and report the outcome to the cache.
:class:`RemoteKeysRefresher` repeats that ahead of expiry: in a daemon thread for sync apps
(``start()`` / ``stop()`` or a ``with`` block), or as an anyio task for async apps
(``task_group.start_soon(refresher.run)``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

import anyio

from ._cache import RemoteKeySetCache
from ._fetch import Response, fetch_async, fetch_sync
from ._types import FetchNeeded, KeyFetchError

__all__ = ["RemoteKeysRefresher", "aperform", "perform"]

logger = logging.getLogger("jwtmiddleware")

#: A sync fetcher: ``fetch_sync`` or a stand-in for tests.
SyncFetch = Callable[[FetchNeeded], Response]
#: An async fetcher: ``fetch_async`` or a stand-in for tests.
AsyncFetch = Callable[[FetchNeeded], Awaitable[Response]]


def perform(
    cache: RemoteKeySetCache,
    request: FetchNeeded,
    *,
    fetch: SyncFetch = fetch_sync,
    clock: Callable[[], float] = time.time,
) -> bool:
    """Perform ``request`` and report it to ``cache``; ``True`` if a set was accepted."""
    try:
        status, headers, body = fetch(request)
    except KeyFetchError as exc:
        cache.on_failure(clock(), exc.reason)
        return False
    except Exception as exc:  # noqa: BLE001 - a broken fetcher must not leave the fetch in flight
        cache.on_failure(clock(), f"fetcher raised {type(exc).__name__}")
        return False
    return cache.on_response(status, headers, body, clock())


async def aperform(
    cache: RemoteKeySetCache,
    request: FetchNeeded,
    *,
    fetch: AsyncFetch = fetch_async,
    clock: Callable[[], float] = time.time,
) -> bool:
    """The async twin of :func:`perform`."""
    try:
        status, headers, body = await fetch(request)
    except KeyFetchError as exc:
        cache.on_failure(clock(), exc.reason)
        return False
    except Exception as exc:  # noqa: BLE001 - see perform
        cache.on_failure(clock(), f"fetcher raised {type(exc).__name__}")
        return False
    return cache.on_response(status, headers, body, clock())


class RemoteKeysRefresher:
    """Refreshes a cache before it expires, retrying failures with the cache's back-off.

    :param cache: the cache to keep fresh.
    :param clock: the wall clock handed to the cache (``time.time``).
    :param max_sleep: longest pause between checks, in seconds.
    """

    def __init__(
        self,
        cache: RemoteKeySetCache,
        *,
        fetch: SyncFetch = fetch_sync,
        afetch: AsyncFetch = fetch_async,
        clock: Callable[[], float] = time.time,
        max_sleep: float = 60.0,
    ) -> None:
        self.cache = cache
        self._fetch, self._afetch, self._clock = fetch, afetch, clock
        self._max_sleep = max_sleep
        self._stop = threading.Event()
        self._first = threading.Event()
        self._thread: threading.Thread | None = None

    def _pause(self) -> float:
        return min(max(self.cache.next_check(self._clock()), 0.01), self._max_sleep)

    def refresh_once(self) -> bool | None:
        """Fetch now if a refresh is due: ``True``/``False`` for its outcome, ``None`` if not."""
        request = self.cache.refresh_due(self._clock())
        if request is None:
            return None
        return perform(self.cache, request, fetch=self._fetch, clock=self._clock)

    async def arefresh_once(self) -> bool | None:
        """The async twin of :meth:`refresh_once`."""
        request = self.cache.refresh_due(self._clock())
        if request is None:
            return None
        return await aperform(self.cache, request, fetch=self._afetch, clock=self._clock)

    # -- a thread, for sync apps ---------------------------------------------------------------

    def start(self, *, wait: float | None = None) -> bool:
        """Start the refresher thread; with ``wait``, block up to that many seconds for the first
        fetch. Returns whether the cache holds a key set."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="jwtmiddleware-jwks-refresher", daemon=True
            )
            self._thread.start()
        if wait is not None:
            self._first.wait(wait)
        return self.cache.keyset is not None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and wait for it (at most ``timeout`` seconds)."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh_once()
            except Exception:
                logger.exception("JWKS refresher failed")
            if self.cache.keyset is not None or self.cache.last_error is not None:
                self._first.set()
            self._stop.wait(self._pause())
        self._first.set()

    def __enter__(self) -> RemoteKeysRefresher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- an anyio task, for async apps ------------------------------------------------------

    async def run(self) -> None:
        """Refresh forever; run it in a task group and cancel the group to stop."""
        while True:
            try:
                await self.arefresh_once()
            except Exception:
                logger.exception("JWKS refresher failed")
            await anyio.sleep(self._pause())
