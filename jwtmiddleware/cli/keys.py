"""Key commands of the CLI: ``keygen``, ``jwks`` and ``inspect``.

Exit codes: 0 success, 1 a token that does not verify, 2 bad input (missing file, unsupported
algorithm, malformed token, bad settings).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from ..core import _json
from ..core._hmac import hmac_secret_advice
from ..core._pem import find_pem, with_attributes
from ..core.errors import AuthenticationError, ConfigurationError, JWTMiddlewareError
from ..core.keys import SUPPORTED_ALGORITHMS, family, load_keyset

__all__ = ["BadInput", "add_key_commands"]

_CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
    "ES256K": ec.SECP256K1(),
}
_ASYMMETRIC = tuple(a for a in SUPPORTED_ALGORITHMS if family(a) != "oct")
_TIME_CLAIMS = ("iat", "nbf", "exp", "auth_time")
_MAX_KID = 255  # the verifier refuses longer kid headers


class BadInput(JWTMiddlewareError):
    """Input the CLI cannot work with (exit code 2)."""


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=False))


# -- keygen ----------------------------------------------------------------------------------


def _generate(alg: str, bits: int) -> Any:
    if family(alg) == "RSA":
        if bits < 2048:
            raise BadInput("RSA keys need at least 2048 bits")
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if family(alg) == "EC":
        return ec.generate_private_key(_CURVES[alg])
    return ed25519.Ed25519PrivateKey.generate()


def _check_kid(kid: str) -> None:
    if not kid or kid != kid.strip() or not kid.isprintable() or len(kid) > _MAX_KID:
        raise BadInput(f"--kid must be 1 to {_MAX_KID} printable characters without outer spaces")


def _cmd_keygen(args: argparse.Namespace) -> int:
    alg = args.alg
    if alg not in _ASYMMETRIC:
        if alg in SUPPORTED_ALGORITHMS:  # an HMAC algorithm
            raise BadInput(f"HMAC needs no key pair: set SECRET. {hmac_secret_advice(alg)}")
        raise BadInput(f"unsupported algorithm {alg!r}; use one of {', '.join(_ASYMMETRIC)}")
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
        _print_json({"private_key_file": str(args.out), "public_jwk": jwk} if args.json else jwk)
    elif args.json:
        _print_json({"private_key_pem": text, "public_jwk": jwk})
    else:
        print(text, end="")
        _print_json(jwk)
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


# -- jwks ------------------------------------------------------------------------------------


def _default_alg(obj: Any) -> str:
    if isinstance(obj, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RS256"
    if isinstance(obj, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        by_curve = {curve.name: alg for alg, curve in _CURVES.items()}
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


def _cmd_jwks(args: argparse.Namespace) -> int:
    kids = args.kid or []
    if len(kids) > len(args.keyfile):
        raise BadInput("more --kid values than key files")
    if args.alg is not None and args.alg not in SUPPORTED_ALGORITHMS:
        raise BadInput(f"unsupported algorithm {args.alg!r}; use one of {', '.join(_ASYMMETRIC)}")
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
    _print_json(keyset.public_jwks())
    return 0


# -- inspect ---------------------------------------------------------------------------------


def _segment(segment: str, what: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return _json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"the token's {what} is not base64url JSON") from exc


def _decode_unverified(token: str) -> tuple[dict[str, Any], Any]:
    parts = token.split(".")
    if len(parts) == 5:
        raise BadInput("this is an encrypted token (JWE); only signed tokens can be inspected")
    if len(parts) != 3:
        raise BadInput(f"a compact JWS has 3 dot-separated segments; this one has {len(parts)}")
    header = _segment(parts[0], "header")
    if not isinstance(header, dict):
        raise BadInput("the token's header is not a JSON object")
    return header, _segment(parts[1], "payload")


def _times(claims: Any, now: float) -> dict[str, str]:
    notes: dict[str, str] = {}
    if not isinstance(claims, dict):
        return notes
    for name in _TIME_CLAIMS:
        value = claims.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 2**37:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))
            delta = value - now
            rel = f"in {_span(delta)}" if delta >= 0 else f"{_span(-delta)} ago"
            notes[name] = f"{when} ({rel})"
    return notes


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _verify(token: str, now: float) -> dict[str, Any]:
    from ..core.claims import require_scopes, run_checks
    from ..core.settings import Settings
    from ..core.verifier import Verifier

    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        raise BadInput(f"cannot verify: JWTMIDDLEWARE_* settings are invalid: {exc}") from exc
    try:
        verified = Verifier(settings).verify(token, now)
        checks = list(settings.claim_checks)
        if settings.required_scopes:
            checks.insert(0, require_scopes(*settings.required_scopes, claim=settings.scope_claim))
        run_checks(checks, verified.claims)  # type: ignore[arg-type]
    except AuthenticationError as exc:
        return {
            "valid": False,
            "error": type(exc).__name__,
            "reason": exc.reason,
            "status": exc.status,
            "description": exc.description,
        }
    return {"valid": True}


def _read_token(value: str) -> str:
    token = sys.stdin.read() if value == "-" else value
    token = token.strip()
    if not token:
        raise BadInput("no token given")
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    return token


def _cmd_inspect(args: argparse.Namespace) -> int:
    token = _read_token(args.token)
    header, claims = _decode_unverified(token)
    now = time.time()
    result: dict[str, Any] = {"header": header, "claims": claims, "verified": None}
    if args.verify:
        outcome = _verify(token, now)
        result["verified"] = outcome["valid"]
        if not outcome["valid"]:
            result["error"] = {k: v for k, v in outcome.items() if k != "valid"}
    code = 1 if result["verified"] is False else 0
    if args.json:
        _print_json({**result, "times": _times(claims, now)})
        return code
    print("header (UNVERIFIED):")
    _print_json(header)
    print("claims (UNVERIFIED):")
    _print_json(claims)
    for name, note in _times(claims, now).items():
        print(f"  {name}: {note}")
    if result["verified"] is True:
        print("VERIFIED: signature, header and claims pass every configured check")
    elif result["verified"] is False:
        error = result["error"]
        print(f"NOT VALID: {error['error']}: {error['reason']}")
        print(f"  (the middleware would answer {error['status']}: {error['description']})")
    return code


def add_key_commands(sub: Any) -> None:
    """Register ``keygen``, ``jwks`` and ``inspect`` on the CLI's subparsers."""
    keygen = sub.add_parser("keygen", help="generate a signing key; print its public JWK")
    keygen.add_argument("--alg", required=True, help=f"one of {', '.join(_ASYMMETRIC)}")
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
    keygen.set_defaults(func=_cmd_keygen)

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
    jwks.set_defaults(func=_cmd_jwks)

    inspect = sub.add_parser("inspect", help="decode a token; with --verify, check it")
    inspect.add_argument("token", help="the compact token, or - to read it from stdin")
    inspect.add_argument(
        "--verify",
        action="store_true",
        help="verify with the JWTMIDDLEWARE_* settings and say what fails",
    )
    inspect.add_argument("--json", action="store_true", help="print JSON")
    inspect.set_defaults(func=_cmd_inspect)
