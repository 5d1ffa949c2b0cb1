"""The verified-token cache: repeats skip the work, time claims are checked on every hit."""

from __future__ import annotations

import pytest

from jwtmiddleware import InvalidSignature, Settings, TokenExpired, TokenNotYetValid, Verifier
from jwtmiddleware.testing import mint_token
from tests.core.keyfactory import SECRET

NOW = 1_700_000_000.0


def settings(**changes: object) -> Settings:
    return Settings(secret=SECRET, leeway=0, **changes)  # type: ignore[arg-type]


def test_a_repeat_is_served_from_the_cache_with_read_only_claims() -> None:
    s = settings()
    verifier = Verifier(s)
    token = mint_token(s, {"roles": ["a"]}, now=NOW, ttl=60)
    first = verifier.verify(token, NOW)
    assert verifier.cached(token, NOW) is not None
    second = verifier.verify(token, NOW + 1)
    assert second.claims == first.claims
    with pytest.raises(TypeError):  # shared between requests, so read-only
        second.claims["sub"] = "mallory"  # type: ignore[index]
    assert verifier.verify(token, NOW + 2).claims["sub"] == "user-1"


def test_expiry_is_checked_on_every_hit_and_evicts() -> None:
    s = settings()
    verifier = Verifier(s)
    token = mint_token(s, now=NOW, ttl=60)
    verifier.verify(token, NOW)
    verifier.verify(token, NOW + 59.9)
    with pytest.raises(TokenExpired):
        verifier.verify(token, NOW + 60)
    assert verifier.cached(token, NOW) is None  # evicted


def test_not_before_is_checked_on_every_hit() -> None:
    s = settings()
    verifier = Verifier(s)
    token = mint_token(s, {"nbf": NOW + 10}, now=NOW, ttl=60)
    verifier.verify(token, NOW + 10)
    with pytest.raises(TokenNotYetValid):
        verifier.verify(token, NOW + 5)  # a clock that went back


def test_only_verified_tokens_enter_and_the_size_is_bounded() -> None:
    s = settings(verified_cache_size=50)
    verifier = Verifier(s)
    forged = mint_token(Settings(secret=SECRET[::-1]), now=NOW)
    for _ in range(3):
        with pytest.raises(InvalidSignature):
            verifier.verify(forged, NOW)
    assert verifier.cached(forged, NOW) is None
    tokens = [mint_token(s, now=NOW, ttl=600) for _ in range(500)]
    for token in tokens:
        verifier.verify(token, NOW)
    assert len(verifier._cache) == 50
    # least recently used first out: the last 50 are in, the first ones are not
    assert verifier.cached(tokens[-1], NOW) is not None
    assert verifier.cached(tokens[0], NOW) is None


def test_least_recently_used_goes_first() -> None:
    s = settings(verified_cache_size=2)
    verifier = Verifier(s)
    a, b, c = (mint_token(s, now=NOW, ttl=600) for _ in range(3))
    verifier.verify(a, NOW)
    verifier.verify(b, NOW)
    verifier.verify(a, NOW)  # a is now the most recent
    verifier.verify(c, NOW)  # evicts b
    assert verifier.cached(a, NOW) is not None
    assert verifier.cached(b, NOW) is None


def test_the_cache_can_be_turned_off() -> None:
    s = settings(verified_cache_size=0)
    verifier = Verifier(s)
    token = mint_token(s, now=NOW)
    verifier.verify(token, NOW)
    assert verifier.cached(token, NOW) is None
