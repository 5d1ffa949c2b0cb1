"""Key loading: one key, one algorithm; sizes, curves and kinds validated at start-up."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from jwtmiddleware import ConfigurationError, InvalidSignature, Settings, Verifier
from jwtmiddleware.testing import mint_token
from tests.core import keyfactory as kf


@pytest.mark.parametrize(
    ("alg", "pem"),
    [
        ("RS256", kf.rsa_pem),
        ("PS256", kf.rsa_pem),
        ("ES256", kf.ec_pem),
        ("EdDSA", kf.ed_pem),
    ],
)
def test_asymmetric_keys_sign_and_verify(alg: str, pem: object) -> None:
    settings = Settings(keys=[pem()], algorithms=[alg])  # type: ignore[operator]
    token = mint_token(settings)
    assert Verifier(settings).verify(token, time.time()).claims["sub"] == "user-1"


def test_ec_curves_select_their_algorithm() -> None:
    settings = Settings(keys=[kf.ec_pem("P-384")], algorithms=["ES256", "ES384"])
    assert settings.keyset.keys[0].algorithm == "ES384"


def test_ec_key_on_the_wrong_curve_is_refused() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings(keys=[{"key": kf.ec_pem("P-384"), "alg": "ES256"}], algorithms=["ES256"])
    assert info.value.setting == "KEYS"


def test_small_rsa_keys_are_refused() -> None:
    small = kf.rsa_pem(1024)
    with pytest.raises(ConfigurationError) as info:
        Settings(keys=[small], algorithms=["RS256"])
    assert "2048" in str(info.value)
    assert info.value.setting == "KEYS"


def test_public_only_keys_verify_but_cannot_sign() -> None:
    signer = Settings(keys=[{"key": kf.rsa_pem(), "kid": "k1"}], algorithms=["RS256"])
    verifier = Settings(keys=[kf.rsa_public_jwk("k1")], algorithms=["RS256"])
    assert verifier.keyset.signing_key() is None
    token = mint_token(signer)
    assert Verifier(verifier).verify(token, time.time()).header["kid"] == "k1"


def test_jwks_document_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [kf.rsa_public_jwk("a"), kf.rsa_public_jwk("b")]}))
    with pytest.raises(ConfigurationError, match="duplicate kid"):
        Settings(
            keys=[{"keys": [kf.rsa_public_jwk("a"), kf.rsa_public_jwk("a")]}], algorithms=["RS256"]
        )
    settings = Settings(keys=str(path), algorithms=["RS256"])  # type: ignore[arg-type]
    assert [k.kid for k in settings.keyset.keys] == ["a", "b"]


def test_pem_file_path(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(kf.ec_pem())
    settings = Settings(keys=[str(path)], algorithms=["ES256"])
    assert settings.keyset.signing_key() is not None


@pytest.mark.parametrize(
    ("keys", "algorithms", "fragment"),
    [
        ([kf.rsa_public_jwk() | {"use": "enc"}], ["RS256"], "use"),
        ([{"kty": "XYZ"}], ["RS256"], "kty"),
        (["/no/such/file.pem"], ["RS256"], "neither"),
        (["{not json"], ["RS256"], "JSON"),
        ([{"kty": "oct", "k": "c2hvcnQ", "alg": "HS256"}], ["HS256"], "bytes"),
        ([{"key": "x" * 40, "alg": "HS256"}, kf.rsa_public_jwk()], ["HS256"], "RS256"),
        ([kf.rsa_public_jwk()], ["ES256"], "not in ALGORITHMS"),
        ([{"key": kf.rsa_pem()}], ["RS256", "PS256"], "give its 'alg'"),
        ([{"key": kf.rsa_pem(), "status": "sleeping"}], ["RS256"], "status"),
        ([{"key": kf.rsa_pem(), "kid": ""}], ["RS256"], "kid"),
        ([42], ["RS256"], "PEM"),
    ],
)
def test_bad_keys_raise(keys: list[object], algorithms: list[str], fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings(keys=keys, algorithms=algorithms)  # type: ignore[arg-type]
    assert info.value.setting == "KEYS"
    assert fragment in str(info.value)


def test_symmetric_and_asymmetric_keys_never_mix() -> None:
    with pytest.raises(ConfigurationError):
        Settings(secret=kf.SECRET, keys=[kf.rsa_public_jwk()], algorithms=["HS256", "RS256"])


def test_kid_selects_the_key_and_retired_keys_are_refused() -> None:
    old = {"key": kf.ec_pem(), "kid": "old", "alg": "ES256"}
    new_key = ec.generate_private_key(ec.SECP256R1())
    new_pem = new_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    new = {"key": new_pem, "kid": "new", "alg": "ES256"}
    signer_old = Settings(keys=[old], algorithms=["ES256"])
    token_old = mint_token(signer_old)
    rotating = Settings(keys=[new, old | {"status": "verify-only"}], algorithms=["ES256"])
    assert rotating.keyset.signing_key().kid == "new"  # type: ignore[union-attr]
    assert Verifier(rotating).verify(token_old, time.time()).header["kid"] == "old"
    retired = Settings(keys=[new, old | {"status": "retired"}], algorithms=["ES256"])
    with pytest.raises(InvalidSignature):
        Verifier(retired).verify(token_old, time.time())


def test_hmac_jwk_and_spec_forms() -> None:
    import base64

    raw = b"k" * 32
    k = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    a = Settings(keys=[{"kty": "oct", "k": k, "kid": "h1"}], algorithms=["HS256"])
    b = Settings(keys=[{"key": raw.decode(), "kid": "h1", "alg": "HS256"}], algorithms=["HS256"])
    token = mint_token(a)
    assert Verifier(b).verify(token, time.time()).header["kid"] == "h1"
