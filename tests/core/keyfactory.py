"""Key material for tests, generated once per test session."""

from __future__ import annotations

import functools
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

SECRET = "s" * 32 + "-test-secret"


def _pem(key: object) -> str:
    return key.private_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@functools.cache
def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.cache
def ec_key(curve: str = "P-256") -> ec.EllipticCurvePrivateKey:
    curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
    return ec.generate_private_key(curves[curve])


@functools.cache
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def rsa_pem(bits: int = 2048) -> str:
    return _pem(rsa_key(bits))


def ec_pem(curve: str = "P-256") -> str:
    return _pem(ec_key(curve))


def ed_pem() -> str:
    return _pem(ed_key())


def public_pem(key: object) -> str:
    return (
        key.public_key()
        .public_bytes(  # type: ignore[attr-defined,no-any-return]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )


def rsa_public_jwk(kid: str = "rsa-1") -> dict[str, str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key(2048).public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def ec_private_jwk(kid: str = "ec-1") -> dict[str, str]:
    jwk = json.loads(ECAlgorithm.to_jwk(ec_key("P-256")))
    return {**jwk, "kid": kid, "alg": "ES256"}
