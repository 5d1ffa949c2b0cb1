"""The ``jwks`` command: the JWKS of the public halves of key files, read as PEM (private or
public, with optional ``kid``/``alg`` lines), a JWK or a JWKS."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from ..core._pem import find_pem
from ..core.errors import ConfigurationError
from ..core.keys import SUPPORTED_ALGORITHMS, family, load_keyset
from ._common import ASYMMETRIC, CURVES, BadInput, print_json

__all__ = ["add_jwks", "cmd_jwks"]


def _default_alg(obj: Any) -> str:
    if isinstance(obj, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RS256"
    if isinstance(obj, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        by_curve = {curve.name: alg for alg, curve in CURVES.items()}
        if obj.curve.name in by_curve:
            return by_curve[obj.curve.name]
    okp = (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey, ed448.Ed448PrivateKey)
    if isinstance(obj, (*okp, ed448.Ed448PublicKey)):
        return "EdDSA"
    raise BadInput(f"unsupported key type {type(obj).__name__}")


def _jwk_alg(jwk: dict[str, Any]) -> str | None:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "RSA":
        return "RS256"
    if kty == "EC":
        return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(str(crv))
    if kty == "OKP":
        return "EdDSA"
    return None


def _key_entries(path: Path, alg: str | None, kid: str | None) -> list[Any]:
    """The key specs in one file, each with an explicit ``alg``."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise BadInput(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read it ({type(exc).__name__})") from exc
    stripped = text.strip()
    try:
        pem = None if stripped.startswith(("{", "[")) else find_pem(stripped)
    except ConfigurationError as exc:
        raise BadInput(f"{path}: {exc.message}") from exc
    if pem is not None:
        data = pem.pem.encode()
        try:
            obj: Any = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            try:
                obj = serialization.load_pem_public_key(data)
            except (ValueError, TypeError) as exc:
                raise BadInput(f"{path}: not a PEM key jwtmiddleware can read") from exc
        spec = {"key": pem.pem, "alg": pem.alg or alg or _default_alg(obj)}
        kid = _one_kid(path, kid, pem.kid)
        return [{**spec, "kid": kid} if kid else spec]
    try:
        document = json.loads(stripped)
    except ValueError as exc:
        raise BadInput(f"{path}: neither a PEM key nor JSON") from exc
    if isinstance(document, dict) and "kty" in document:
        kid = _one_kid(path, kid, document.get("kid"))
        jwks = [{**document, "kid": kid} if kid else document]
    elif isinstance(document, dict) and isinstance(document.get("keys"), list):
        if kid:
            raise BadInput(f"{path}: --kid applies to single keys, not to a JWKS")
        jwks = document["keys"]
    else:
        raise BadInput(f"{path}: JSON that is neither a JWK nor a JWKS")
    if not all(isinstance(jwk, dict) for jwk in jwks):
        raise BadInput(f"{path}: a JWKS entry is not an object")
    return [{**jwk, "alg": jwk.get("alg") or alg or _jwk_alg(jwk)} for jwk in jwks]


def _one_kid(path: Path, given: str | None, written: Any) -> Any:
    """The kid of a key file: the one it carries; ``--kid`` only names keys without one."""
    if given is not None and written is not None and given != written:
        raise BadInput(
            f"{path}: --kid {given!r} differs from the kid {written!r} in the file; tokens are "
            "signed with the file's kid, so the published one must be the same"
        )
    return given if written is None else written


def cmd_jwks(args: argparse.Namespace) -> int:
    """Run ``jwks``: print the public JWKS of the key files."""
    kids = args.kid or []
    if len(kids) > len(args.keyfile):
        raise BadInput("more --kid values than key files")
    if args.alg is not None and args.alg not in SUPPORTED_ALGORITHMS:
        raise BadInput(f"unsupported algorithm {args.alg!r}; use one of {', '.join(ASYMMETRIC)}")
    entries: list[Any] = []
    for i, name in enumerate(args.keyfile):
        entries += _key_entries(Path(name), args.alg, kids[i] if i < len(kids) else None)
    algs = {entry["alg"] for entry in entries if isinstance(entry.get("alg"), str)}
    if any(family(a) == "oct" for a in algs if a in SUPPORTED_ALGORITHMS):
        raise BadInput("HMAC secrets are never published; a JWKS holds public keys only")
    try:
        keyset = load_keyset(entries, sorted(algs & set(SUPPORTED_ALGORITHMS)) or ["RS256"])
    except ConfigurationError as exc:
        raise BadInput(exc.message) from exc
    print_json(keyset.public_jwks())
    return 0


def add_jwks(sub: Any) -> None:
    """Register ``jwks`` (publish public keys) on the CLI's subparsers."""
    jwks = sub.add_parser("jwks", help="print the JWKS of the public halves of key files")
    jwks.add_argument("keyfile", nargs="+", help="PEM (private or public), JWK or JWKS files")
    jwks.add_argument(
        "--alg",
        help="algorithm of keys that do not name one (default: "
        "RS256 for RSA, by curve for EC, EdDSA for Ed25519)",
    )
    jwks.add_argument(
        "--kid",
        action="append",
        help="key id of each key file without one, in order (default: the kid in the file, "
        "else the RFC 7638 thumbprint; a different --kid for a file that has one is an error)",
    )
    jwks.add_argument("--json", action="store_true", help="print JSON (always the case)")
    jwks.set_defaults(func=cmd_jwks)
