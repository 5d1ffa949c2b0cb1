"""Key sets: every algorithm end to end, rotation by kid, key_ops, public JWKS, weak keys."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import pytest
from jwt.algorithms import RSAAlgorithm

from jwtmiddleware import ConfigurationError, InvalidSignature, Settings, Verifier
from jwtmiddleware.core._jwk import PRIVATE_MEMBERS, roca_vulnerable, thumbprint
from jwtmiddleware.core.keys import load_keyset
from jwtmiddleware.testing import mint_token
from tests.core import keyfactory as kf

from .material import ALGORITHMS, jwks_of, new_pem, signer


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _settings_for(alg: str, kid: str = "k1") -> Settings:
    if alg.startswith("HS"):
        raw = secrets.token_bytes(int(alg[2:]) // 8)
        jwk = {"kty": "oct", "k": _b64(raw), "kid": kid, "alg": alg}
        return Settings(keys=[jwk], algorithms=[alg])
    return Settings(keys=[{"key": new_pem(alg), "kid": kid, "alg": alg}], algorithms=[alg])


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_every_algorithm_signs_and_verifies_end_to_end(alg: str) -> None:
    settings = _settings_for(alg)
    token = mint_token(settings)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": alg, "kid": "k1", "typ": "at+jwt"}
    assert Verifier(settings).verify(token, time.time()).claims["sub"] == "user-1"
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidSignature):
        Verifier(settings).verify(tampered, time.time())


@pytest.mark.parametrize("alg", [a for a in ALGORITHMS if not a.startswith("HS")])
def test_the_public_jwks_alone_verifies(alg: str) -> None:
    issuer = _settings_for(alg)
    public = issuer.keyset.public_jwks()
    assert [k["alg"] for k in public["keys"]] == [alg]
    assert not PRIVATE_MEMBERS.intersection(public["keys"][0])
    verifier = Settings(keys=[public], algorithms=[alg])
    assert verifier.keyset.signing_key() is None
    assert Verifier(verifier).verify(mint_token(issuer), time.time()).header["kid"] == "k1"


@pytest.mark.parametrize("alg", ["PS256", "PS384", "PS512"])
def test_an_rsa_key_bound_to_pss_refuses_pkcs1_tokens(alg: str) -> None:
    pem = new_pem(alg)
    pss = Settings(keys=[{"key": pem, "kid": "k", "alg": alg}], algorithms=[alg])
    pkcs1_alg = "RS" + alg[2:]
    pkcs1 = Settings(keys=[{"key": pem, "kid": "k", "alg": pkcs1_alg}], algorithms=[pkcs1_alg])
    with pytest.raises(InvalidSignature):
        Verifier(pss).verify(mint_token(pkcs1), time.time())


def test_rotation_new_active_old_verify_only_then_retired() -> None:
    old_spec = {"key": new_pem("ES256"), "kid": "old", "alg": "ES256"}
    new_spec = {"key": new_pem("ES256"), "kid": "new", "alg": "ES256"}
    before = Settings(keys=[old_spec], algorithms=["ES256"])
    during = Settings(keys=[new_spec, old_spec | {"status": "verify-only"}], algorithms=["ES256"])
    after = Settings(keys=[new_spec, old_spec | {"status": "retired"}], algorithms=["ES256"])
    old_token, new_token = mint_token(before), mint_token(during)
    assert json.loads(base64.urlsafe_b64decode(new_token.split(".")[0] + "=="))["kid"] == "new"
    for token in (old_token, new_token):
        Verifier(during).verify(token, time.time())
    Verifier(after).verify(new_token, time.time())
    with pytest.raises(InvalidSignature):
        Verifier(after).verify(old_token, time.time())
    assert [k["kid"] for k in during.keyset.public_jwks()["keys"]] == ["new", "old"]
    assert [k["kid"] for k in after.keyset.public_jwks()["keys"]] == ["new"]


def test_public_jwks_never_holds_secrets_and_names_keys_without_kid() -> None:
    hmac = Settings(secret=kf.SECRET, algorithms=["HS256"])
    assert hmac.keyset.public_jwks() == {"keys": []}
    anonymous = Settings(keys=[kf.ec_pem()], algorithms=["ES256"])
    (jwk,) = anonymous.keyset.public_jwks()["keys"]
    assert set(jwk) == {"kty", "kid", "alg", "use", "crv", "x", "y"}
    assert jwk["kid"] == thumbprint(jwk)
    assert jwk["use"] == "sig"
    rsa = Settings(keys=[{"key": kf.rsa_pem(), "kid": "r"}], algorithms=["RS256"])
    (rsa_jwk,) = rsa.keyset.public_jwks()["keys"]
    assert set(rsa_jwk) == {"kty", "kid", "alg", "use", "n", "e"}  # no key_ops from PyJWT


def test_rfc7638_thumbprint_example() -> None:
    # RFC 7638 §3.1: the thumbprint of its example RSA key.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6"
        "tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGj"
        "QR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTW"
        "hAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    ("ops", "ok"),
    [(["verify"], True), (["sign", "verify"], True), (["encrypt"], False), ("verify", False)],
)
def test_key_ops_must_allow_verify(ops: Any, ok: bool) -> None:
    jwk = kf.rsa_public_jwk("k") | {"key_ops": ops}
    jwk.pop("use")
    if ok:
        assert Settings(keys=[jwk], algorithms=["RS256"]).keyset.key("k") is not None
    else:
        with pytest.raises(ConfigurationError, match="key_ops"):
            Settings(keys=[jwk], algorithms=["RS256"])


def test_a_private_jwk_for_signing_only_is_accepted() -> None:
    jwk = kf.ec_private_jwk("s") | {"key_ops": ["sign"]}
    settings = Settings(keys=[jwk], algorithms=["ES256"])
    Verifier(settings).verify(mint_token(settings), time.time())


def test_hmac_keys_must_use_an_allowed_algorithm() -> None:
    jwk = {"kty": "oct", "k": _b64(b"k" * 64), "kid": "h", "alg": "HS512"}
    with pytest.raises(ConfigurationError, match="not in ALGORITHMS"):
        Settings(keys=[jwk], algorithms=["HS256"])
    with pytest.raises(ConfigurationError, match="kid"):
        Settings(keys=[{"key": "k" * 32, "alg": "HS256", "kid": 7}], algorithms=["HS256"])


def test_unsupported_kty_and_bad_jwk_messages_are_clear() -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings(keys=[{"kty": "XYZ", "kid": "x"}], algorithms=["RS256"])
    assert str(info.value) == "KEYS: key 'x' has unsupported kty 'XYZ'"
    with pytest.raises(ConfigurationError, match="not a valid JWK"):
        Settings(keys=[{"kty": "EC", "kid": "e", "crv": "P-256", "x": "AA"}], algorithms=["ES256"])
    with pytest.raises(ConfigurationError, match="'keys' list"):
        Settings(keys=[{"keys": "nope"}], algorithms=["ES256"])


def test_es512_needs_p521_and_eddsa_needs_an_okp_key() -> None:
    with pytest.raises(ConfigurationError, match="cannot be used"):
        Settings(keys=[{"key": new_pem("ES384"), "alg": "ES512"}], algorithms=["ES512"])
    with pytest.raises(ConfigurationError, match="cannot be used for EdDSA"):
        Settings(keys=[{"key": new_pem("ES256"), "alg": "EdDSA"}], algorithms=["EdDSA"])


def test_roca_moduli_are_refused() -> None:
    # A product of ROCA-style primes (p = k*M + 65537^a mod M) keeps the fingerprint; the test
    # only needs n mod small primes to lie in <65537>, which any power of 65537 satisfies.
    assert roca_vulnerable(65537**300)
    assert not roca_vulnerable(kf.rsa_key().public_key().public_numbers().n)


def test_load_keyset_is_the_loader_for_fetched_sets_too() -> None:
    a, b = signer(kid="a"), signer(kid="b")
    keyset = load_keyset([jwks_of(a, b)], ["ES256"])
    assert [k.kid for k in keyset.keys] == ["a", "b"]
    assert keyset.key("a") is not None
    assert keyset.key("zz") is None
    with pytest.raises(ConfigurationError, match="duplicate kid"):
        load_keyset([jwks_of(a, signer(kid="a"))], ["ES256"])
    with pytest.raises(ConfigurationError, match="mixes HMAC"):
        load_keyset([], ["HS256", "ES256"])


def test_weak_rsa_jwk_is_refused() -> None:
    small = json.loads(RSAAlgorithm.to_jwk(kf.rsa_key(1024).public_key()))
    with pytest.raises(ConfigurationError, match="2048"):
        Settings(keys=[small | {"alg": "RS256"}], algorithms=["RS256"])


def test_rsa_and_ec_keys_mix_in_one_set_but_never_with_hmac() -> None:
    # Migrating RS256 -> ES256 (or an IdP publishing both) is one asymmetric set.
    settings = Settings(
        keys=[{"key": kf.rsa_pem(), "kid": "r", "alg": "RS256"}, {"key": kf.ec_pem(), "kid": "e"}],
        algorithms=["RS256", "ES256"],
    )
    assert [k["kty"] for k in settings.keyset.public_jwks()["keys"]] == ["RSA", "EC"]
    Verifier(settings).verify(mint_token(settings), time.time())
    hmac = {"kty": "oct", "k": _b64(b"k" * 32), "kid": "h", "alg": "HS256"}
    ec_key = {"key": kf.ec_pem(), "kid": "e", "alg": "ES256"}
    with pytest.raises(ConfigurationError, match="not in ALGORITHMS"):
        load_keyset([hmac, ec_key], ["HS256"])
    with pytest.raises(ConfigurationError, match="mixes HMAC"):
        load_keyset([hmac, ec_key], ["HS256", "ES256"])
