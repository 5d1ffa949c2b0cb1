"""The sans-IO cache of a remote JWKS: what to trust now, and when to fetch.

The cache never performs I/O and never blocks: :meth:`RemoteKeySetCache.lookup` answers from the
last good key set and, when a fetch is due, hands out a :class:`FetchNeeded` that the caller
performs (``fetch_sync``, ``fetch_async`` or a driver effect) and reports back through
:meth:`~RemoteKeySetCache.on_response` or :meth:`~RemoteKeySetCache.on_failure`. The clock is
passed in.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..core._urls import check_url
from ..core.errors import ConfigurationError
from ..core.keys import SUPPORTED_ALGORITHMS, KeySet, VerificationKey, family
from ._parse import cache_lifetime, parse_jwks
from ._types import FetchNeeded, Headers, KeyFetchError, header_value

__all__ = ["RemoteKeySetCache"]

logger = logging.getLogger("jwtmiddleware")

_ACCEPT = "application/jwk-set+json, application/json;q=0.9"
_BACKOFF_BASE = 1.0


class RemoteKeySetCache:
    """The last good key set fetched from a JWKS URL, and the rules for refetching it.

    :param url: the JWKS URL; ``https`` only, unless ``allow_http_loopback`` and the host is a
        loopback address (for tests).
    :param algorithms: the allow-list; asymmetric algorithms only (a published HMAC secret
        would be no secret).
    :param cache_ttl: seconds a fetched set is fresh when the response has no
        ``Cache-Control: max-age``.
    :param refetch_cooldown: at most one refetch per this many seconds for unknown ``kid``
        values; also the longest back-off between failed fetches.
    :param max_stale: seconds past expiry the last good set keeps verifying while fetches fail;
        after that, no key is trusted (requests get 401).
    :param max_bytes: largest response body accepted.
    :param timeout: overall time limit of one fetch.
    :param min_ttl: lower bound for ``max-age`` (default ``min(60, cache_ttl)``).
    :param max_ttl: upper bound for ``max-age`` (default ``max(86400, cache_ttl)``).
    """

    def __init__(
        self,
        url: str,
        *,
        algorithms: Sequence[str],
        cache_ttl: float = 300.0,
        refetch_cooldown: float = 30.0,
        max_stale: float = 86400.0,
        max_bytes: int = 512 * 1024,
        allow_http_loopback: bool = False,
        timeout: float = 5.0,
        min_ttl: float | None = None,
        max_ttl: float | None = None,
    ) -> None:
        self.url = check_url(url, allow_http_loopback=allow_http_loopback, setting="JWKS_URL")
        self.algorithms = _check_algorithms(algorithms)
        for name, value in (
            ("JWKS_CACHE_TTL", cache_ttl),
            ("JWKS_REFETCH_COOLDOWN", refetch_cooldown),
            ("JWKS_MAX_STALE", max_stale),
            ("JWKS_TIMEOUT", timeout),
        ):
            if not (value >= 0 if name == "JWKS_MAX_STALE" else value > 0):
                raise ConfigurationError(name, "must be a positive number of seconds")
        if not 1024 <= max_bytes <= 64 * 1024 * 1024:
            raise ConfigurationError("JWKS_MAX_BYTES", "must be between 1 KiB and 64 MiB")
        self.cache_ttl = float(cache_ttl)
        self.refetch_cooldown = float(refetch_cooldown)
        self.max_stale = float(max_stale)
        self.max_bytes = max_bytes
        self.timeout = float(timeout)
        self.min_ttl = min(60.0, self.cache_ttl) if min_ttl is None else float(min_ttl)
        self.max_ttl = max(86400.0, self.cache_ttl) if max_ttl is None else float(max_ttl)
        if not 0 < self.min_ttl <= self.max_ttl:
            raise ConfigurationError("JWKS_CACHE_TTL", "needs 0 < min_ttl <= max_ttl")
        self._lock = threading.Lock()  # held for microseconds, never across I/O
        self._keyset: KeySet | None = None
        self._document: dict[str, Any] | None = None
        self._etag: str | None = None
        self._fetched_at = 0.0
        self._expires_at = 0.0
        self._last_unknown_kid = float("-inf")
        self._in_flight_until = float("-inf")
        self._retry_at = float("-inf")
        self._failures = 0
        #: Fetches handed out so far (requests the cache asked for).
        self.fetches = 0
        #: Fetches reported back, by result: ``ok`` (a new set), ``not_modified`` (304) or
        #: ``error`` (failed or refused), for ``jwks_fetches`` metrics.
        self.fetch_results: Counter[str] = Counter()
        #: Why the last fetch failed or its set was refused; ``None`` after a success.
        self.last_error: str | None = None
        #: Increases every time a new key set is accepted.
        self.generation = 0

    # -- reading -----------------------------------------------------------------------------

    @property
    def keyset(self) -> KeySet | None:
        """The last good key set (even if stale), or ``None`` before the first success."""
        return self._keyset

    @property
    def document(self) -> dict[str, Any] | None:
        """The usable public JWKs of the last good set, as a JWKS (``Settings(keys=[...])``)."""
        return self._document

    @property
    def expires_at(self) -> float:
        """When the current set stops being fresh (0 before the first success)."""
        return self._expires_at

    def in_flight(self, now: float) -> bool:
        """Whether a fetch was handed out and not reported back yet (nor timed out)."""
        return now < self._in_flight_until

    def candidates(self, alg: str, kid: str | None, now: float) -> tuple[VerificationKey, ...]:
        """Keys that may verify a token with this ``alg``/``kid`` now; never asks for a fetch."""
        with self._lock:
            keyset = self._keyset
            if keyset is None or now >= self._expires_at + self.max_stale:
                return ()
            return keyset.candidates(alg, kid)

    def lookup(
        self, alg: str, kid: str | None, now: float
    ) -> tuple[tuple[VerificationKey, ...], FetchNeeded | None]:
        """Keys that may verify a token with this ``alg``/``kid``, and a fetch if one is due.

        Never blocks. The fetch is due when there is no set yet, the set expired, or ``kid``
        is unknown and no unknown ``kid`` caused a refetch in the last ``refetch_cooldown``
        seconds; never while another fetch is in flight or during the back-off after a failure.
        Whoever receives a :class:`FetchNeeded` must perform it and report back.
        """
        with self._lock:
            keyset = self._keyset
            usable = keyset is not None and now < self._expires_at + self.max_stale
            candidates = keyset.candidates(alg, kid) if usable and keyset is not None else ()
            unknown = kid is not None and (keyset is None or keyset.key(kid) is None)
            return candidates, self._due(now, unknown_kid=unknown, early=False)

    def refresh_due(self, now: float) -> FetchNeeded | None:
        """A fetch if a background refresher should fetch now (ahead of expiry), else ``None``."""
        with self._lock:
            return self._due(now, unknown_kid=False, early=True)

    def next_check(self, now: float) -> float:
        """Seconds until :meth:`refresh_due` may return a fetch (0 if it may now)."""
        with self._lock:
            at = max(self._in_flight_until, self._retry_at)
            if self._keyset is not None:
                at = max(at, self._refresh_at())
            return max(0.0, at - now)

    # -- reporting ---------------------------------------------------------------------------

    def on_response(self, status: int, headers: Headers, body: bytes, now: float) -> bool:
        """Report the response to a :class:`FetchNeeded`; ``True`` if the cache took it.

        A ``200`` with a valid set replaces the cached set; a ``304`` renews it. Anything else
        (a redirect, an error status, a body that is too large, not a JWKS, or a set that fails
        key validation) counts as a failure and the last good set is kept.
        """
        if status == 304 and self._keyset is not None:
            with self._lock:
                self._accepted(now, headers)
                self.fetch_results["not_modified"] += 1
            return True
        try:
            keyset, document = parse_jwks(status, body, self.algorithms, self.max_bytes)
        except KeyFetchError as exc:
            self.on_failure(now, exc.reason)
            return False
        with self._lock:
            self._keyset, self._document = keyset, document
            self._etag = header_value(headers, "etag")
            self.generation += 1
            self._accepted(now, headers)
            self.fetch_results["ok"] += 1
        return True

    def on_failure(self, now: float, reason: str = "fetch failed") -> None:
        """Report that a fetch failed (network error, timeout, refused response)."""
        with self._lock:
            self._in_flight_until = float("-inf")
            self._failures += 1
            backoff = min(self.refetch_cooldown, _BACKOFF_BASE * 2 ** (self._failures - 1))
            self._retry_at = now + backoff
            self.last_error = reason
            self.fetch_results["error"] += 1
        logger.warning(
            "JWKS fetch from %s failed (keeping the last good set): %s", self.url, reason
        )

    # -- internals ---------------------------------------------------------------------------

    def _refresh_at(self) -> float:
        ttl = self._expires_at - self._fetched_at
        return self._expires_at - min(0.25 * ttl, 60.0)

    def _due(self, now: float, *, unknown_kid: bool, early: bool) -> FetchNeeded | None:
        if now < self._in_flight_until or now < self._retry_at:
            return None
        if self._keyset is None:
            reason = "initial"
        elif now >= self._expires_at:
            reason = "expired"
        elif early and now >= self._refresh_at():
            reason = "refresh"
        elif unknown_kid and now - self._last_unknown_kid >= self.refetch_cooldown:
            # Measured from the last refetch an unknown kid caused, not from routine refreshes:
            # a rotation is picked up by the first token signed with the new key.
            reason = "unknown-kid"
            self._last_unknown_kid = now
        else:
            return None
        self._in_flight_until = now + self.timeout + 1.0
        self.fetches += 1
        headers = [("Accept", _ACCEPT)]
        if self._etag is not None and self._keyset is not None:
            headers.append(("If-None-Match", self._etag))
        return FetchNeeded(self.url, reason, tuple(headers), self.timeout, self.max_bytes)

    def _accepted(self, now: float, headers: Headers) -> None:
        self._fetched_at = now
        ttl = cache_lifetime(headers, self.cache_ttl, self.min_ttl, self.max_ttl)
        self._expires_at = now + ttl
        self._in_flight_until = float("-inf")
        self._retry_at = float("-inf")
        self._failures = 0
        self.last_error = None


def _check_algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    algs = (algorithms,) if isinstance(algorithms, str) else tuple(algorithms)
    if not algs:
        raise ConfigurationError("ALGORITHMS", "must list at least one algorithm")
    for alg in algs:
        if alg not in SUPPORTED_ALGORITHMS:
            raise ConfigurationError("ALGORITHMS", f"{alg!r} is not supported")
        if family(alg) == "oct":
            raise ConfigurationError(
                "ALGORITHMS", "a remote JWKS needs asymmetric algorithms (RS/PS/ES/EdDSA)"
            )
    return algs
