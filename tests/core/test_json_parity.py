"""orjson (the ``fast`` extra) and the standard library decide identically on token payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jwtmiddleware import Settings, TokenInvalid, Verifier
from jwtmiddleware.core import _json
from tests.core.keyfactory import SECRET

pytestmark = pytest.mark.skipif(not _json.FAST, reason="orjson is not installed")

NOW = 1_700_000_000.0
VERIFIER = Verifier(Settings(secret=SECRET, leeway=0, max_token_lifetime=None))


def decide(parse: Any, payload: bytes) -> tuple[str, Any]:
    """What the verifier makes of a payload: ("ok", claims) or ("refused", error class)."""
    try:
        claims = parse(payload)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return ("refused", "malformed")
    if not isinstance(claims, dict):
        return ("refused", "not an object")
    try:
        VERIFIER.check_claims(claims, NOW)
    except TokenInvalid as exc:
        return ("refused", type(exc).__name__)
    return ("ok", json.dumps(claims, sort_keys=True, default=repr))


CORPUS = [
    b'{"exp": 1800000000, "sub": "a"}',
    b'{"exp": "1800000000"}',
    b'{"exp": true}',
    b'{"exp": null}',
    b'{"exp": 1e400}',
    b'{"exp": -1e400}',
    b'{"exp": 1' + b"0" * 400 + b"}",
    b'{"exp": 18446744073709551616}',
    b'{"exp": 9223372036854775808}',
    b'{"exp": 1800000000.5}',
    b'{"exp": NaN}',
    b'{"exp": Infinity}',
    b'{"exp": 1800000000, "sub": "\\ud800"}',
    b'{"exp": 1800000000, "name": "\\ud800"}',
    b'{"exp": 1800000000, "a": 1, "a": 2}',
    b'{"exp": 1800000000, "sub": "a\\r\\nb"}',
    b'{"exp": 1800000000}\x00',
    b'{"exp": 1800000000} ',
    b' {"exp": 1800000000}',
    b'{"exp": 1800000000,}',
    b"{'exp': 1800000000}",
    b'\xef\xbb\xbf{"exp": 1800000000}',
    b'{"exp": 1800000000, "x": "\xff"}',
    b"[" * 2000 + b"]" * 2000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
    b"",
    b"null",
    b"[]",
    b'"exp"',
    b'{"exp": 01800000000}',
    b'{"exp": 1800000000e0}',
    b'{"exp": -0}',
    b'{"nbf": 1e-400, "exp": 1800000000}',
]


@pytest.mark.parametrize("payload", CORPUS)
def test_corpus(payload: bytes) -> None:
    assert decide(_json.loads, payload) == decide(_json.loads_stdlib, payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["exp", "nbf", "iat", "sub", "jti", "x"]), json_values))
def test_generated_claims(claims: dict[str, Any]) -> None:
    payload = json.dumps(claims).encode()
    assert decide(_json.loads, payload) == decide(_json.loads_stdlib, payload)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_generated_bytes(payload: bytes) -> None:
    assert decide(_json.loads, payload) == decide(_json.loads_stdlib, payload)
