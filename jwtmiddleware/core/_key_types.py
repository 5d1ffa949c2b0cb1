"""Prepared keys: :class:`VerificationKey` (one key bound to one algorithm) and
:class:`KeySet` (the keys a deployment verifies and signs with), and the algorithm tables."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jwt.algorithms import (
    Algorithm,
    ECAlgorithm,
    OKPAlgorithm,
    RSAAlgorithm,
    get_default_algorithms,
)

from ._hmac import PreparedHMAC
from ._jwk import public_members, thumbprint
from .errors import ConfigurationError

if TYPE_CHECKING:
    pass

__all__ = [
    "KEY_STATUSES",
    "SUPPORTED_ALGORITHMS",
    "KeySet",
    "VerificationKey",
    "family",
]

_IMPLS: dict[str, Algorithm] = {
    name: impl for name, impl in get_default_algorithms().items() if name not in {"none", "ES521"}
}
#: Algorithms jwtmiddleware accepts in ``ALGORITHMS``.
SUPPORTED_ALGORITHMS = tuple(sorted(_IMPLS))
#: ``active`` keys sign and verify, ``verify-only`` keys only verify, ``retired`` keys are refused.
KEY_STATUSES = ("active", "verify-only", "retired")

_JWK_LOADERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "RSA": RSAAlgorithm.from_jwk,
    "EC": ECAlgorithm.from_jwk,
    "OKP": OKPAlgorithm.from_jwk,
}
_MIN_RSA_BITS = 2048
_FAMILY = {"HS": "oct", "RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_CURVES = {"ES256": "secp256r1", "ES256K": "secp256k1", "ES384": "secp384r1", "ES512": "secp521r1"}


def family(alg: str) -> str:
    """The JWK ``kty`` an algorithm's keys have: ``oct``, ``RSA``, ``EC`` or ``OKP``."""
    return _FAMILY[alg[:2]]


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One prepared key, bound to one algorithm."""

    #: Key id matched against the token's ``kid`` header and written by the issuer. Asymmetric
    #: keys loaded without one get their RFC 7638 thumbprint; HMAC keys may have none.
    kid: str | None
    #: The only algorithm this key verifies (and signs) with.
    algorithm: str
    #: Prepared verification key (secret bytes or a public key object).
    verify_key: Any
    #: Prepared signing key (secret or private key), or ``None`` for public-only keys.
    sign_key: Any
    #: PyJWT algorithm object doing the cryptography.
    impl: Algorithm
    #: ``active``, ``verify-only`` or ``retired``.
    status: str = "active"
    #: For HMAC keys, the hash name (``sha256``, ...): verified without PyJWT's layers.
    digest: str | None = None
    #: For HMAC keys, the MAC with the key's hash states prepared once.
    prepared_hmac: PreparedHMAC | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.digest is not None:
            object.__setattr__(self, "prepared_hmac", PreparedHMAC(self.verify_key, self.digest))

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """Check ``signature`` over ``signing_input``; never raises on bad signatures."""
        prepared = self.prepared_hmac
        if prepared is not None:  # the same HMAC PyJWT computes, without its Python layers
            return hmac.compare_digest(prepared.digest(signing_input), signature)
        try:
            return bool(self.impl.verify(signing_input, self.verify_key, signature))
        except Exception:  # noqa: BLE001 - any failure inside the crypto layer means "invalid"
            return False

    def sign(self, signing_input: bytes) -> bytes:
        """Sign with this key (only keys with private/secret material)."""
        if self.sign_key is None:
            raise ConfigurationError("KEYS", f"key {self.kid!r} has no private part to sign with")
        return bytes(self.impl.sign(signing_input, self.sign_key))

    def public_jwk(self) -> dict[str, Any] | None:
        """The public half as a JWK (``kid``, ``alg``, ``use: sig``); ``None`` for HMAC keys.

        Asymmetric keys configured without a ``kid`` carry their RFC 7638 thumbprint as
        :attr:`kid` (set when loaded), so the JWKS, the issuer and the verifier agree.
        """
        if family(self.algorithm) == "oct":
            return None
        jwk = public_members(self.impl.to_jwk(self.verify_key, as_dict=True))
        kid = self.kid if self.kid is not None else thumbprint(jwk)
        return {"kty": jwk["kty"], "kid": kid, "alg": self.algorithm, "use": "sig", **jwk}


class KeySet:
    """The keys a verifier trusts, indexed for the request path."""

    def __init__(self, keys: Sequence[VerificationKey]) -> None:
        self.keys: tuple[VerificationKey, ...] = tuple(keys)
        self._by_kid = {k.kid: k for k in self.keys if k.kid is not None}
        by_alg: dict[str, list[VerificationKey]] = {}
        for key in self.keys:
            if key.status != "retired":
                by_alg.setdefault(key.algorithm, []).append(key)
        self._by_alg = {alg: tuple(ks) for alg, ks in by_alg.items()}

    def candidates(self, alg: str, kid: str | None) -> tuple[VerificationKey, ...]:
        """Keys that may verify a token with this ``alg`` and ``kid`` (empty: reject)."""
        if kid is None:
            return self._by_alg.get(alg, ())
        key = self._by_kid.get(kid)
        if key is None or key.algorithm != alg or key.status == "retired":
            return ()
        return (key,)

    def key(self, kid: str) -> VerificationKey | None:
        """The key with this ``kid`` (whatever its status), or ``None`` if there is none."""
        return self._by_kid.get(kid)

    def signing_key(self) -> VerificationKey | None:
        """The first active key that can sign, or ``None``."""
        for key in self.keys:
            if key.status == "active" and key.sign_key is not None:
                return key
        return None

    def public_jwks(self) -> dict[str, Any]:
        """The public half of every non-retired asymmetric key, as a JWKS document.

        Publish it (see :mod:`jwtmiddleware.jwks`) so other services verify without sharing a
        secret. Private parameters and HMAC secrets are never included.
        """
        keys = []
        for key in self.keys:
            jwk = key.public_jwk() if key.status != "retired" else None
            if jwk is not None:
                keys.append(jwk)
        return {"keys": keys}
