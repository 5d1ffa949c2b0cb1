"""Verify with keys published at a JWKS URL: a sans-IO cache, fetchers and a refresher.

- :class:`RemoteKeySetCache` holds the last good key set (every fetched key validated by the
  same loader as configured keys), honours ``Cache-Control: max-age``, refetches at most once per
  cooldown for an unknown ``kid``, keeps the last good set while fetches fail (up to
  ``max_stale``) and hands out :class:`FetchNeeded` requests instead of doing I/O.
- :func:`fetch_sync` / :func:`fetch_async` perform them (no redirects, size cap, one deadline);
  :func:`discover_jwks_uri` finds ``jwks_uri`` through OpenID Connect discovery.
- :class:`RemoteKeysRefresher` keeps the cache fresh from a thread or an anyio task.

Only ``https`` URLs are fetched, unless ``allow_http_loopback=True`` and the host is loopback.
"""

from __future__ import annotations

from ..core._urls import check_url, is_loopback
from ._cache import RemoteKeySetCache
from ._fetch import (
    Response,
    adiscover_jwks_uri,
    discover_jwks_uri,
    discovery_request,
    fetch_async,
    fetch_sync,
    parse_discovery,
)
from ._lookup import cache_for, candidates_flow
from ._parse import cache_lifetime, parse_jwks
from ._refresh import RemoteKeysRefresher, aperform, perform
from ._types import FetchNeeded, Headers, KeyFetchError, header_value

__all__ = [
    "FetchNeeded",
    "Headers",
    "KeyFetchError",
    "RemoteKeySetCache",
    "RemoteKeysRefresher",
    "Response",
    "adiscover_jwks_uri",
    "aperform",
    "cache_for",
    "cache_lifetime",
    "candidates_flow",
    "check_url",
    "discover_jwks_uri",
    "discovery_request",
    "fetch_async",
    "fetch_sync",
    "header_value",
    "is_loopback",
    "parse_discovery",
    "parse_jwks",
    "perform",
]
