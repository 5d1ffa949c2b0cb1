"""Fresh key material for the key tests (each call makes a new key)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from jwtmiddleware import Settings

__all__ = ["ALGORITHMS", "jwks_of", "new_pem", "signer"]

#: Every algorithm the issue lists, with what makes its keys.
ALGORITHMS = (
    "HS256", "HS384", "HS512",
    "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512",
    "EdDSA",
)  # fmt: skip

_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


def new_pem(alg: str) -> str:
    """A new private key PEM for an asymmetric algorithm."""
    key: Any
    if alg.startswith(("RS", "PS")):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg.startswith("ES"):
        key = ec.generate_private_key(_CURVES[alg]())
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def signer(alg: str = "ES256", kid: str = "k1", **settings: Any) -> Settings:
    """Settings holding one new active key ``kid`` for ``alg`` (tokens with ``typ: JWT``)."""
    spec = {"key": new_pem(alg), "kid": kid, "alg": alg}
    return Settings(keys=[spec], algorithms=[alg], token_type=None, **settings)


def jwks_of(*settings: Settings) -> dict[str, Any]:
    """One JWKS with the public keys of several settings."""
    return {"keys": [jwk for s in settings for jwk in s.keyset.public_jwks()["keys"]]}
