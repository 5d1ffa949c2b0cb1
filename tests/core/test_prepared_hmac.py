"""The prepared HMAC and the fast builders give exactly what the standard ways give."""

from __future__ import annotations

import dataclasses
import hmac
import os

import pytest

from jwtmiddleware.core._hmac import PreparedHMAC
from jwtmiddleware.core.identity import Identity, build_identity


@pytest.mark.parametrize("name", ["sha256", "sha384", "sha512"])
@pytest.mark.parametrize("key_length", [1, 32, 64, 127, 128, 129, 300])
def test_prepared_hmac_equals_hmac_digest(name: str, key_length: int) -> None:
    key = os.urandom(key_length)
    prepared = PreparedHMAC(key, name)
    for length in (0, 1, 55, 56, 63, 64, 65, 200, 1000):
        message = os.urandom(length)
        assert prepared.digest(message) == hmac.digest(key, message, name)
    # the prepared states are copied, never consumed
    assert prepared.digest(b"abc") == prepared.digest(b"abc") == hmac.digest(key, b"abc", name)


def test_build_identity_equals_the_dataclass_constructor() -> None:
    claims = {"sub": "u", "sid": "s", "jti": "j"}
    fields = ("u", claims, frozenset({"read"}), "s", "j", "cookie")
    built = build_identity(*fields)
    assert built == Identity(*fields)
    assert type(built) is Identity
    assert dataclasses.asdict(built) == dataclasses.asdict(Identity(*fields))
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.subject = "other"  # type: ignore[misc]
