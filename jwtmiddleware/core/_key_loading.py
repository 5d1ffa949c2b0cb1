"""Loading key material: PEM texts, JWKs, JWKS documents, files and key specs, validated
against the algorithm allow-list and prepared into a :class:`~jwtmiddleware.core.keys.KeySet`."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from jwt.exceptions import InvalidKeyError

from ._hmac import hmac_secret_advice, hmac_secret_bytes
from ._jwk import check_key_ops, public_members, roca_vulnerable, thumbprint
from ._key_types import (
    _CURVES,
    _IMPLS,
    _JWK_LOADERS,
    _MIN_RSA_BITS,
    KEY_STATUSES,
    SUPPORTED_ALGORITHMS,
    KeySet,
    VerificationKey,
    family,
)
from ._pem import find_pem
from .errors import ConfigurationError

if TYPE_CHECKING:
    pass

__all__ = ["load_keyset"]


def load_keyset(
    entries: Iterable[Any],
    algorithms: Sequence[str],
    *,
    secret: str | bytes | None = None,
    allow_empty: bool = False,
) -> KeySet:
    """Validate key material against an algorithm allow-list and prepare a :class:`KeySet`.

    The one loader for configured keys and fetched JWKS documents alike: every key is bound to
    one algorithm of ``algorithms``; RSA keys need 2048 bits (and no ROCA fingerprint), EC keys
    lie on the curve of their algorithm, HMAC secrets are at least as long as the hash, ``use``
    and ``key_ops`` allow verification, ``kid`` values are unique and symmetric and asymmetric
    keys never mix. Raises :class:`ConfigurationError` naming ``KEYS``/``SECRET``/``ALGORITHMS``.

    :param entries: PEM texts, JWK dicts, JWKS documents, file paths or ``{"key": ...}`` specs.
    :param algorithms: the allow-list (``ALGORITHMS``).
    :param secret: an HMAC secret (``SECRET``), bound to the single HMAC algorithm.
    """
    algs = tuple(algorithms)
    for alg in algs:
        if alg not in _IMPLS:
            supported = ", ".join(SUPPORTED_ALGORITHMS)
            raise ConfigurationError("ALGORITHMS", f"{alg!r} is not supported; use {supported}")
    families = {family(a) for a in algs}
    if "oct" in families and len(families) > 1:
        raise ConfigurationError(
            "ALGORITHMS",
            "mixes HMAC (HS*) and asymmetric algorithms; a public key could then be used as an "
            "HMAC secret. Use one kind per deployment.",
        )
    keys: list[VerificationKey] = []
    if secret is not None:
        hmac_algs = [a for a in algs if family(a) == "oct"]
        if len(hmac_algs) != 1:
            raise ConfigurationError(
                "SECRET",
                "needs exactly one HMAC algorithm (HS256/HS384/HS512) in ALGORITHMS; "
                "to accept several, give KEYS with one 'alg' each",
            )
        keys.append(_hmac_key("SECRET", secret, hmac_algs[0], None, "active", algs))
    for entry in entries:
        keys.extend(_load_entry(entry, algs))
    if not keys and not allow_empty:
        raise ConfigurationError(
            "SECRET", "no key material: set SECRET (HMAC), KEYS, or JWKS_URL / JWKS_DISCOVERY"
        )
    if len({family(k.algorithm) == "oct" for k in keys}) > 1:
        raise ConfigurationError("KEYS", "mixes symmetric and asymmetric keys in one set")
    seen: set[str] = set()
    for key in keys:
        if key.kid is not None:
            if key.kid in seen:
                raise ConfigurationError(
                    "KEYS",
                    f"duplicate kid {key.kid!r} (the same key twice, or two keys "
                    "given one kid; keys without a kid get their RFC 7638 thumbprint)",
                )
            seen.add(key.kid)
    return KeySet(keys)


def _load_entry(entry: Any, algs: Sequence[str], *, depth: int = 0) -> Iterable[VerificationKey]:
    if depth > 2:
        raise ConfigurationError("KEYS", "key files may not point to further key files")
    if isinstance(entry, bytes):
        entry = entry.decode("utf-8", "replace")
    if isinstance(entry, str):
        text = entry.strip()
        if text.startswith(("{", "[")):
            try:
                return _load_entry(json.loads(text), algs, depth=depth + 1)
            except ValueError as exc:
                raise ConfigurationError("KEYS", "a key entry is not valid JSON") from exc
        pem = find_pem(text)
        if pem is not None:  # kid and alg from the file's "kid:"/"alg:" lines, if written
            return [_from_key_object(_load_pem(pem.pem), pem.kid, pem.alg, "active", algs)]
        path = Path(text)
        if not path.is_file():
            raise ConfigurationError("KEYS", f"{text[:80]!r} is neither PEM, JSON nor a file")
        return _load_entry(path.read_text("utf-8"), algs, depth=depth + 1)
    if isinstance(entry, list):
        return [k for item in entry for k in _load_entry(item, algs, depth=depth + 1)]
    if isinstance(entry, dict):
        if "keys" in entry:
            if not isinstance(entry["keys"], list):
                raise ConfigurationError("KEYS", "a JWKS needs a 'keys' list")
            return [k for jwk in entry["keys"] for k in _load_entry(jwk, algs, depth=depth)]
        if "kty" in entry:
            return [_from_jwk(entry, algs)]
        if "key" in entry:
            return [_from_spec(entry, algs, depth)]
    raise ConfigurationError("KEYS", "each key must be PEM, a JWK, a JWKS or {'key': ...}")


def _from_spec(spec: dict[str, Any], algs: Sequence[str], depth: int) -> VerificationKey:
    kid, alg, status = spec.get("kid"), spec.get("alg"), spec.get("status", "active")
    material = spec["key"]
    if alg is not None and alg in _IMPLS and family(alg) == "oct":
        return _hmac_key("KEYS", material, alg, kid, status, algs)
    if isinstance(material, str) and not material.strip().startswith("-----BEGIN"):
        path = Path(material.strip())
        if not path.is_file():
            raise ConfigurationError("KEYS", f"key {kid!r}: 'key' is neither PEM nor a file")
        material = path.read_text("utf-8")
    text = material.decode() if isinstance(material, bytes) else str(material)
    pem = find_pem(text)
    if pem is None:
        raise ConfigurationError("KEYS", f"key {kid!r}: 'key' holds no PEM block")
    for name, given, written in (("kid", kid, pem.kid), ("alg", alg, pem.alg)):
        if given is not None and written is not None and given != written:
            raise ConfigurationError(
                "KEYS", f"key {kid!r}: the entry says {name} {given!r}, its file {written!r}"
            )
    kid = kid if kid is not None else pem.kid
    return _from_key_object(_load_pem(pem.pem), kid, alg or pem.alg, status, algs)


def _from_jwk(jwk: dict[str, Any], algs: Sequence[str]) -> VerificationKey:
    kid, alg, status = jwk.get("kid"), jwk.get("alg"), jwk.get("status", "active")
    problem = check_key_ops(jwk)
    if problem is not None:
        raise ConfigurationError("KEYS", f"key {kid!r} {problem}")
    if alg is not None and not isinstance(alg, str):
        raise ConfigurationError("KEYS", f"key {kid!r} has an 'alg' that is not a string")
    kty = jwk.get("kty")
    loader = _JWK_LOADERS.get(str(kty))
    if kty != "oct" and loader is None:
        raise ConfigurationError("KEYS", f"key {kid!r} has unsupported kty {kty!r}")
    try:
        if loader is None:
            raw = base64.urlsafe_b64decode(str(jwk["k"]) + "==")
        else:
            obj = loader(jwk)
    except (InvalidKeyError, KeyError, ValueError, TypeError) as exc:
        raise ConfigurationError("KEYS", f"key {kid!r} is not a valid JWK: {exc}") from exc
    if loader is None:
        if alg is None:
            alg = _infer_alg("oct", None, kid, algs)
        return _hmac_key("KEYS", raw, alg, kid, status, algs)
    return _from_key_object(obj, kid, alg, status, algs)


def _load_pem(text: str) -> Any:
    data = text.encode()
    try:
        return load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        pass
    try:
        return load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError("KEYS", "a PEM key could not be loaded") from exc


def _key_family(obj: Any) -> tuple[str, str | None]:
    if isinstance(obj, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RSA", None
    if isinstance(obj, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "EC", obj.curve.name
    okp = (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey, ed448.Ed448PrivateKey)
    if isinstance(obj, (*okp, ed448.Ed448PublicKey)):
        return "OKP", None
    raise ConfigurationError("KEYS", f"unsupported key type {type(obj).__name__}")


def _infer_alg(kty: str, curve: str | None, kid: str | None, algs: Sequence[str]) -> str:
    matches = [a for a in algs if family(a) == kty and (curve is None or _CURVES.get(a) == curve)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigurationError("KEYS", f"key {kid!r} ({kty}) matches no algorithm in ALGORITHMS")
    raise ConfigurationError(
        "KEYS", f"key {kid!r} could be used with {', '.join(matches)}; give its 'alg'"
    )


def _check_status(kid: str | None, status: str) -> None:
    if status not in KEY_STATUSES:
        raise ConfigurationError("KEYS", f"key {kid!r}: status must be one of {KEY_STATUSES}")


def _from_key_object(
    obj: Any, kid: Any, alg: Any, status: str, algs: Sequence[str]
) -> VerificationKey:
    if kid is not None and (not isinstance(kid, str) or not kid):
        raise ConfigurationError("KEYS", "a 'kid' must be a non-empty string")
    _check_status(kid, status)
    kty, curve = _key_family(obj)
    if alg is None:
        alg = _infer_alg(kty, curve, kid, algs)
    if alg not in algs:
        raise ConfigurationError("KEYS", f"key {kid!r} uses {alg!r}, which is not in ALGORITHMS")
    if family(alg) != kty:
        raise ConfigurationError("KEYS", f"key {kid!r} is a {kty} key and cannot be used for {alg}")
    if kty == "RSA":
        if obj.key_size < _MIN_RSA_BITS:
            raise ConfigurationError(
                "KEYS", f"key {kid!r} has {obj.key_size} bits; RSA keys need >= {_MIN_RSA_BITS}"
            )
        public_numbers = (obj.public_key() if hasattr(obj, "public_key") else obj).public_numbers()
        if roca_vulnerable(public_numbers.n):
            raise ConfigurationError(
                "KEYS", f"key {kid!r} is a weak RSA key (ROCA, CVE-2017-15361); replace it"
            )
    impl = _IMPLS[alg]
    private = obj if hasattr(obj, "public_key") else None
    public = obj.public_key() if private is not None else obj
    try:
        verify_key = impl.prepare_key(public)
        sign_key = impl.prepare_key(private) if private is not None else None
    except (InvalidKeyError, TypeError, ValueError) as exc:
        raise ConfigurationError("KEYS", f"key {kid!r} cannot be used for {alg}: {exc}") from exc
    if kid is None:
        # One kid per key everywhere: the RFC 7638 thumbprint that public_jwk() publishes is
        # also the kid the issuer writes and the verifier looks up.
        kid = thumbprint(public_members(impl.to_jwk(verify_key, as_dict=True)))
    return VerificationKey(kid, alg, verify_key, sign_key, impl, status)


def _hmac_key(
    setting: str, secret: Any, alg: str, kid: Any, status: str, algs: Sequence[str]
) -> VerificationKey:
    if not isinstance(secret, str | bytes):
        raise ConfigurationError(setting, "an HMAC secret must be a string or bytes")
    if kid is not None and (not isinstance(kid, str) or not kid):
        raise ConfigurationError(setting, "a 'kid' must be a non-empty string")
    _check_status(kid, status)
    if alg not in algs:
        raise ConfigurationError(setting, f"key {kid!r} uses {alg!r}, which is not in ALGORITHMS")
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    impl = _IMPLS[alg]
    if len(raw) < hmac_secret_bytes(alg):
        raise ConfigurationError(setting, f"is {len(raw)} bytes; {hmac_secret_advice(alg)}")
    try:
        prepared = impl.prepare_key(raw)
    except InvalidKeyError as exc:
        raise ConfigurationError(setting, f"cannot be used as an HMAC secret: {exc}") from exc
    return VerificationKey(kid, alg, prepared, prepared, impl, status, f"sha{alg[2:]}")
