"""The key lookup of a request as effects: the cache's candidates, fetching when it asks."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from ..core.effects import Effect, FetchKeys, Sleep
from ._cache import RemoteKeySetCache
from ._types import KeyFetchError

if TYPE_CHECKING:
    from ..core.keys import VerificationKey
    from ..core.settings import Settings

__all__ = ["cache_for", "candidates_flow"]

_POLL_INTERVAL = 0.02
_MAX_FETCHES = 2


def cache_for(settings: Settings, url: str) -> RemoteKeySetCache:
    """The remote key set cache for ``url`` under ``settings``' ``JWKS_*`` settings."""
    return RemoteKeySetCache(
        url,
        algorithms=settings.algorithms,
        cache_ttl=settings.jwks_cache_ttl,
        refetch_cooldown=settings.jwks_refetch_cooldown,
        max_stale=settings.jwks_max_stale,
        max_bytes=settings.jwks_max_bytes,
        allow_http_loopback=settings.jwks_allow_http_loopback,
        timeout=settings.jwks_timeout,
    )


def candidates_flow(
    cache: RemoteKeySetCache, alg: str, kid: str | None, now: float
) -> Generator[Effect, Any, tuple[VerificationKey, ...]]:
    """The keys for ``alg`` and ``kid``, fetching when the cache asks for it (at most a few
    times per request; concurrent requests wait briefly for a fetch already in flight)."""
    candidates, fetch = cache.lookup(alg, kid, now)
    fetches, polls = 0, int(cache.timeout / _POLL_INTERVAL) + 1
    while fetch is not None or (not candidates and cache.in_flight(now) and polls > 0):
        if fetch is not None:
            fetches += 1
            try:
                status, headers, body = yield FetchKeys(fetch)
            except KeyFetchError as exc:
                cache.on_failure(now, exc.reason)
            else:
                cache.on_response(status, headers, body, now)
        else:
            polls -= 1
            yield Sleep(_POLL_INTERVAL)
        candidates, fetch = cache.lookup(alg, kid, now)
        if fetches >= _MAX_FETCHES:
            break
    return candidates
