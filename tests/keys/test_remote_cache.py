"""The sans-IO remote key cache, driven by hand with an injected clock (no network)."""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

import pytest

from jwtmiddleware import ConfigurationError
from jwtmiddleware.keysets import FetchNeeded, RemoteKeySetCache, check_url
from tests.core import keyfactory as kf

from .material import jwks_of, signer

URL = "https://idp.example/jwks"
T0 = 1_700_000_000.0
A, B = signer(kid="a"), signer(kid="b")


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "jwtmiddleware")


def _body(*settings: Any) -> bytes:
    return json.dumps(jwks_of(*settings)).encode()


def _warm(cache: RemoteKeySetCache, *settings: Any, now: float = T0, **headers: str) -> None:
    _, fetch = cache.lookup("ES256", None, now)
    assert fetch is not None
    assert cache.on_response(200, headers, _body(*(settings or (A,))), now)


def _cache(**options: Any) -> RemoteKeySetCache:
    return RemoteKeySetCache(URL, algorithms=["ES256"], **options)


def test_cold_cache_asks_for_one_fetch_and_answers_nothing_meanwhile() -> None:
    cache = _cache()
    candidates, fetch = cache.lookup("ES256", "a", T0)
    assert candidates == ()
    assert isinstance(fetch, FetchNeeded)
    assert (fetch.url, fetch.reason, fetch.max_bytes, fetch.timeout) == (
        URL,
        "initial",
        512 * 1024,
        5.0,
    )
    assert dict(fetch.headers)["Accept"].startswith("application/jwk-set+json")
    # In flight: nobody else is sent to fetch, however many requests arrive.
    for i in range(50):
        assert cache.lookup("ES256", "a", T0 + i * 0.01) == ((), None)
    assert cache.on_response(200, {}, _body(A), T0 + 0.5)
    (key,), fetch = cache.lookup("ES256", "a", T0 + 1)
    assert key.kid == "a"
    assert fetch is None
    assert cache.fetches == 1


def test_cache_ttl_and_cache_control_max_age() -> None:
    cache = _cache(cache_ttl=300)
    _warm(cache)
    assert cache.expires_at == T0 + 300
    assert cache.lookup("ES256", "a", T0 + 299)[1] is None
    _, fetch = cache.lookup("ES256", "a", T0 + 300)
    assert fetch is not None
    assert fetch.reason == "expired"
    cache.on_response(200, [("Cache-Control", "public, max-age=120")], _body(A), T0 + 300)
    assert cache.expires_at == T0 + 420
    cache.lookup("ES256", "a", T0 + 420)
    cache.on_response(200, {"cache-control": "max-age=600", "age": "100"}, _body(A), T0 + 420)
    assert cache.expires_at == T0 + 420 + 500


@pytest.mark.parametrize(
    ("value", "ttl"),
    [
        ("max-age=0", 60.0),  # clamped up: max-age=0 must not mean a fetch per request
        ("no-store", 60.0),
        ("no-cache", 60.0),
        ("max-age=abc", 60.0),
        ("max-age=31536000", 86400.0),  # clamped down: a year would hide a key removal
        ("private", 300.0),
        ('max-age="90"', 90.0),
    ],
)
def test_max_age_is_clamped_to_sane_bounds(value: str, ttl: float) -> None:
    cache = _cache()
    _warm(cache, **{"cache-control": value})
    assert cache.expires_at - T0 == ttl


def test_unknown_kid_refetches_at_most_once_per_cooldown() -> None:
    cache = _cache(refetch_cooldown=30)
    _warm(cache)
    # The first unknown kid refetches at once (a rotation is picked up by its first token).
    _, fetch = cache.lookup("ES256", "b", T0 + 1)
    assert fetch is not None
    assert fetch.reason == "unknown-kid"
    cache.on_response(200, {}, _body(A), T0 + 1.2)  # still no "b": maybe a forgery
    for t in range(2, 31):
        assert cache.lookup("ES256", f"forged-{t}", T0 + t)[1] is None
    # Routine refreshes do not restart the cooldown; only unknown-kid refetches count.
    _, fetch = cache.lookup("ES256", "b", T0 + 31)
    assert fetch is not None
    cache.on_response(200, {}, _body(A, B), T0 + 31.5)
    assert cache.lookup("ES256", "b", T0 + 32)[0][0].kid == "b"
    assert cache.fetches == 3


def test_known_kid_with_the_wrong_alg_does_not_refetch() -> None:
    cache = RemoteKeySetCache(URL, algorithms=["ES256", "ES384"], refetch_cooldown=0.001)
    _warm(cache)
    assert cache.lookup("ES384", "a", T0 + 1) == ((), None)


def test_stale_if_error_up_to_max_stale_then_nothing() -> None:
    cache = _cache(cache_ttl=100, max_stale=1000, refetch_cooldown=30)
    _warm(cache)
    now = T0 + 100
    while now < T0 + 100 + 1000:
        candidates, fetch = cache.lookup("ES256", "a", now)
        assert [k.kid for k in candidates] == ["a"]  # the last good set keeps working
        if fetch is not None:
            cache.on_failure(now, "connection refused")
        now += 7
    assert cache.lookup("ES256", "a", T0 + 1100)[0] == ()
    assert cache.last_error == "connection refused"
    # Back-off bounded the attempts: at most one per cooldown once it reached it.
    assert cache.fetches <= 1 + 1000 / 30 + 6
    # A successful fetch brings verification back at once.
    _, fetch = cache.lookup("ES256", "a", T0 + 1200)
    assert fetch is not None
    cache.on_response(200, {}, _body(A), T0 + 1200)
    assert cache.lookup("ES256", "a", T0 + 1200)[0][0].kid == "a"
    assert cache.last_error is None


def test_failure_backoff_doubles_up_to_the_cooldown() -> None:
    cache = _cache(refetch_cooldown=8)
    starts = []
    now = T0
    while now < T0 + 60:
        _, fetch = cache.lookup("ES256", "a", now)
        if fetch is not None:
            starts.append(now - T0)
            cache.on_failure(now)
        now += 0.5
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[:4] == [1.0, 2.0, 4.0, 8.0]
    assert set(gaps[4:]) == {8.0}


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, b"oops", "HTTP 500"),
        (302, b"", "redirects are not followed"),
        (200, b"{not json", "not valid JSON"),
        (200, b'{"keys": [], "keys": []}', "not valid JSON"),  # duplicate member names
        (200, b'{"no": "keys"}', "no 'keys' list"),
        (200, b'{"keys": ["x"]}', "not an object"),
        (200, b'{"keys": []}', "no key for ES256"),
        (200, b" " * (600 * 1024), "over 524288 bytes"),
        (200, json.dumps(jwks_of(A, signer(kid="a"))).encode(), "duplicate kid"),
        (200, json.dumps({"keys": [kf.rsa_public_jwk()] * 101}).encode(), "more than 100"),
    ],
)
def test_bad_responses_keep_the_last_good_set(status: int, body: bytes, error: str) -> None:
    cache = _cache(cache_ttl=10)
    _warm(cache, A)
    generation = cache.generation
    _, fetch = cache.lookup("ES256", "a", T0 + 10)
    assert fetch is not None
    assert not cache.on_response(status, {}, body, T0 + 10)
    assert error in (cache.last_error or "")
    assert cache.generation == generation
    assert cache.lookup("ES256", "a", T0 + 11)[0][0].kid == "a"


def test_weak_keys_in_a_fetched_set_refuse_the_whole_set() -> None:
    small = kf.rsa_public_jwk("weak")
    cache = RemoteKeySetCache(URL, algorithms=["RS256"])
    cache.lookup("RS256", None, T0)
    import jwt.algorithms

    weak = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(kf.rsa_key(1024).public_key()))
    body = json.dumps({"keys": [small, weak | {"kid": "w", "alg": "RS256"}]}).encode()
    assert not cache.on_response(200, {}, body, T0)
    assert "2048" in (cache.last_error or "")
    assert cache.keyset is None


def test_keys_that_are_not_for_us_are_skipped_and_private_parts_dropped() -> None:
    cache = RemoteKeySetCache(URL, algorithms=["ES256"])
    cache.lookup("ES256", None, T0)
    enc = kf.rsa_public_jwk("enc") | {"use": "enc", "alg": "RSA-OAEP"}
    ops = kf.rsa_public_jwk("ops") | {"key_ops": ["encrypt"]}
    rsa = kf.rsa_public_jwk("rsa")  # RS256 is not in our ALGORITHMS
    secret = {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", "kid": "h"}
    private = kf.ec_private_jwk("p") | {"status": "retired"}
    body = json.dumps({"keys": [enc, ops, rsa, secret, private]}).encode()
    assert cache.on_response(200, {}, body, T0)
    assert cache.keyset is not None
    assert [k.kid for k in cache.keyset.keys] == ["p"]
    (key,) = cache.keyset.keys
    assert key.sign_key is None
    assert key.status == "active"
    assert cache.document == {
        "keys": [{k: v for k, v in private.items() if k not in {"d", "status"}}]
    }


def test_not_modified_renews_the_set() -> None:
    cache = _cache(cache_ttl=100)
    _warm(cache, etag='"v1"')
    _, fetch = cache.lookup("ES256", "a", T0 + 100)
    assert fetch is not None
    assert ("If-None-Match", '"v1"') in fetch.headers
    assert cache.on_response(304, {}, b"", T0 + 100)
    assert cache.expires_at == T0 + 200
    assert cache.generation == 1


def test_refresh_due_comes_before_expiry_and_next_check_says_when() -> None:
    cache = _cache(cache_ttl=100)
    assert cache.next_check(T0) == 0
    _warm(cache)
    assert cache.refresh_due(T0 + 10) is None
    assert cache.next_check(T0 + 10) == pytest.approx(65)
    fetch = cache.refresh_due(T0 + 75)
    assert fetch is not None
    assert fetch.reason == "refresh"
    assert cache.in_flight(T0 + 75)
    assert cache.refresh_due(T0 + 76) is None


def test_a_lost_fetch_is_handed_out_again_after_its_timeout() -> None:
    cache = _cache(timeout=2)
    assert cache.lookup("ES256", "a", T0)[1] is not None
    assert cache.lookup("ES256", "a", T0 + 2.9)[1] is None
    assert cache.lookup("ES256", "a", T0 + 3.1)[1] is not None


@pytest.mark.parametrize(
    ("url", "allow", "ok"),
    [
        ("https://idp.example/jwks", False, True),
        ("http://idp.example/jwks", False, False),
        ("http://idp.example/jwks", True, False),  # loopback only, even when allowed
        ("http://127.0.0.1:8080/jwks", False, False),
        ("http://127.0.0.1:8080/jwks", True, True),
        ("http://[::1]:8080/jwks", True, True),
        ("http://localhost/jwks", True, True),
        ("file:///etc/passwd", True, False),
        ("ftp://idp.example/jwks", False, False),
        ("https://user:pw@idp.example/jwks", False, False),
        ("https://idp.example/jwks#frag", False, False),
        ("https:///jwks", False, False),
        ("https://idp.example:99999/jwks", False, False),
        ("", False, False),
    ],
)
def test_only_https_or_explicitly_allowed_loopback(url: str, allow: bool, ok: bool) -> None:
    if ok:
        assert check_url(url, allow_http_loopback=allow) == url
        RemoteKeySetCache(url, algorithms=["ES256"], allow_http_loopback=allow)
    else:
        with pytest.raises(ConfigurationError):
            RemoteKeySetCache(url, algorithms=["ES256"], allow_http_loopback=allow)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"algorithms": ["HS256"]}, "asymmetric"),
        ({"algorithms": []}, "at least one"),
        ({"algorithms": ["none"]}, "not supported"),
        ({"algorithms": ["ES256"], "cache_ttl": 0}, "positive"),
        ({"algorithms": ["ES256"], "max_stale": -1}, "positive"),
        ({"algorithms": ["ES256"], "refetch_cooldown": 0}, "positive"),
        ({"algorithms": ["ES256"], "max_bytes": 10}, "KiB"),
    ],
)
def test_bad_options_fail_at_construction(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        RemoteKeySetCache(URL, **options)
