"""The ``keygen`` command: generate a signing key pair, write or print its private PEM (with
its ``kid`` and ``alg`` lines) and print its public JWK."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ..core._hmac import hmac_secret_advice
from ..core._pem import with_attributes
from ..core.keys import SUPPORTED_ALGORITHMS, family, load_keyset
from ._common import ASYMMETRIC, CURVES, BadInput, print_json

__all__ = ["add_keygen", "cmd_keygen"]

_MAX_KID = 255  # the verifier refuses longer kid headers


def _generate(alg: str, bits: int) -> Any:
    if family(alg) == "RSA":
        if bits < 2048:
            raise BadInput("RSA keys need at least 2048 bits")
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if family(alg) == "EC":
        return ec.generate_private_key(CURVES[alg])
    return ed25519.Ed25519PrivateKey.generate()


def _check_kid(kid: str) -> None:
    if not kid or kid != kid.strip() or not kid.isprintable() or len(kid) > _MAX_KID:
        raise BadInput(f"--kid must be 1 to {_MAX_KID} printable characters without outer spaces")


def cmd_keygen(args: argparse.Namespace) -> int:
    """Run ``keygen``: generate the key, write (``--out``) or print it, print its public JWK."""
    alg = args.alg
    if alg not in ASYMMETRIC:
        if alg in SUPPORTED_ALGORITHMS:  # an HMAC algorithm
            raise BadInput(f"HMAC needs no key pair: set SECRET. {hmac_secret_advice(alg)}")
        raise BadInput(f"unsupported algorithm {alg!r}; use one of {', '.join(ASYMMETRIC)}")
    if args.kid is not None:
        _check_kid(args.kid)
    key = _generate(alg, args.bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    spec: dict[str, Any] = {"key": pem, "alg": alg}
    if args.kid:
        spec["kid"] = args.kid
    jwk = load_keyset([spec], [alg]).keys[0].public_jwk()
    assert jwk is not None
    # The file carries its kid and alg ("kid:"/"alg:" lines before the PEM block), so KEYS,
    # jwks and the published set all read back this very kid.
    text = with_attributes(pem, kid=jwk["kid"], alg=alg)
    if args.out:
        _write_private(Path(args.out), text.encode("ascii"))
        print(
            f"wrote {args.out} (mode 0600) with kid {jwk['kid']!r} and alg {alg}; configure it "
            f"as JWTMIDDLEWARE_ALGORITHMS={alg} JWTMIDDLEWARE_KEYS={args.out}",
            file=sys.stderr,
        )
        print_json({"private_key_file": str(args.out), "public_jwk": jwk} if args.json else jwk)
    elif args.json:
        print_json({"private_key_pem": text, "public_jwk": jwk})
    else:
        print(text, end="")
        print_json(jwk)
    return 0


def _write_private(path: Path, pem: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise BadInput(f"{path} exists; refusing to overwrite a key") from exc
    except OSError as exc:
        raise BadInput(f"cannot create {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def add_keygen(sub: Any) -> None:
    """Register ``keygen`` (generate a key pair) on the CLI's subparsers."""
    keygen = sub.add_parser("keygen", help="generate a signing key; print its public JWK")
    keygen.add_argument("--alg", required=True, help=f"one of {', '.join(ASYMMETRIC)}")
    keygen.add_argument(
        "--kid",
        help="key id (default: the RFC 7638 thumbprint); written into the key file as a "
        "'kid:' line before the PEM block, which KEYS and jwks read back",
    )
    keygen.add_argument(
        "--out",
        help="write the private key PEM (with its kid and alg lines) here (mode 0600, never "
        "overwritten); without it, the PEM is printed",
    )
    keygen.add_argument("--bits", type=int, default=2048, help="RSA modulus size (default 2048)")
    keygen.add_argument("--json", action="store_true", help="print JSON only")
    keygen.set_defaults(func=cmd_keygen)
