"""The ``inspect`` command: decode a token without verifying it, show its times, and with
``--verify`` check it against the ``JWTMIDDLEWARE_*`` settings and say what fails."""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
import time
from typing import Any

from ..core import _json
from ..core.errors import AuthenticationError, ConfigurationError
from ._common import BadInput, print_json

__all__ = ["add_inspect", "cmd_inspect"]

_TIME_CLAIMS = ("iat", "nbf", "exp", "auth_time")


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


def cmd_inspect(args: argparse.Namespace) -> int:
    """Run ``inspect``: print the unverified header, claims and times; with ``--verify``, the
    verdict (exit code 1 when the token does not verify)."""
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
        print_json({**result, "times": _times(claims, now)})
        return code
    print("header (UNVERIFIED):")
    print_json(header)
    print("claims (UNVERIFIED):")
    print_json(claims)
    for name, note in _times(claims, now).items():
        print(f"  {name}: {note}")
    if result["verified"] is True:
        print("VERIFIED: signature, header and claims pass every configured check")
    elif result["verified"] is False:
        error = result["error"]
        print(f"NOT VALID: {error['error']}: {error['reason']}")
        print(f"  (the middleware would answer {error['status']}: {error['description']})")
    return code


def add_inspect(sub: Any) -> None:
    """Register ``inspect`` (decode and check a token) on the CLI's subparsers."""
    inspect = sub.add_parser("inspect", help="decode a token; with --verify, check it")
    inspect.add_argument("token", help="the compact token, or - to read it from stdin")
    inspect.add_argument(
        "--verify",
        action="store_true",
        help="verify with the JWTMIDDLEWARE_* settings and say what fails",
    )
    inspect.add_argument("--json", action="store_true", help="print JSON")
    inspect.set_defaults(func=cmd_inspect)
