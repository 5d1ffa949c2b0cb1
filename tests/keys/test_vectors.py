"""Wycheproof JOSE and RFC 7520 vectors through the key loader and the verifier's signature path.

Optional: runs only where ``../shared/vectors`` (relative to the repository root) exists; the
vectors are read in place and never copied into the project. Each vector is loaded as a key set
with the key's own ``alg`` as ``ALGORITHMS`` (the token header's when the key has none) and the
token goes through :meth:`Verifier.verify`. The vector payloads are not JWT claims (``foo``), so
a token counts as *accepted* when verification fails only after the signature check, while
parsing the payload; any failure before that (key refused, algorithm, shape, signature) is a
rejection. Outcomes must agree with the vectors except for the explicit lists below.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from jwtmiddleware import ConfigurationError, Settings, TokenInvalid, TokenMalformed, Verifier
from tests.servers import REPO_ROOT

VECTORS = REPO_ROOT.parent / "shared" / "vectors"

pytestmark = pytest.mark.skipif(
    not VECTORS.is_dir(), reason=f"no test vectors at {VECTORS} (optional, never vendored)"
)

#: Where jwtmiddleware is deliberately stricter than a vector marked valid, and why.
STRICTER: dict[tuple[str, int], str] = {
    # An access token always carries a claims object; an empty payload segment is refused by
    # the shape check before any cryptography (RFC 7515 allows it, we have no use for it).
    ("jws", 259): "empty payload",
    ("jws", 264): "empty payload",
    ("jws", 268): "empty payload",
    ("jws", 272): "empty payload",
    ("jws", 320): "empty payload",
    ("jws", 325): "empty payload",
    # The key says PS256, the token says PS384: one key, one algorithm, so an attacker can
    # never pick the algorithm a key is used with.
    ("jws", 346): "key bound to PS256, token uses PS384",
    ("jws", 350): "key bound to PS256, token uses PS384",
    # "ES521" is not a registered JWS algorithm (RFC 7518 calls P-521 ECDSA "ES512"); a key
    # naming an unknown algorithm is refused rather than guessed.
    ("jws", 347): "key alg ES521 is not a JWS algorithm",
    ("jws", 351): "key alg ES521 is not a JWS algorithm",
    # Segments must be canonical base64url; characters outside the alphabet are refused, not
    # skipped (skipping them makes two different strings the same token).
    ("jws", 372): "invalid base64url character in the header",
    ("jws", 373): "invalid base64url character in the payload",
}

#: Vectors whose expected result no consistent verifier can meet (see the vectors' README).
QUIRKS: dict[tuple[str, int], str] = {
    ("jws", 367): "byte for byte the same token as tcId 357, which is valid",
    ("jws", 370): "byte for byte the same token as tcId 357, which is valid",
}

#: RFC 7520 outputs we refuse by design (the cookbook marks every example valid).
COOKBOOK_STRICTER = {
    "json": "JSON serialization is not accepted; access tokens are compact JWS",
    "json_flat": "JSON serialization is not accepted; access tokens are compact JWS",
    "detached": "detached content (empty payload segment) is not accepted",
    "b64": "unencoded payloads (b64: false, crit) are not accepted",
}

SUMMARY: dict[str, dict[str, int]] = {}


def _header_alg(token: str) -> str | None:
    try:
        segment = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    alg = header.get("alg") if isinstance(header, dict) else None
    return alg if isinstance(alg, str) else None


def accepted(key: dict[str, Any], token: Any, alg: str | None = None) -> tuple[bool, str]:
    """Whether jwtmiddleware accepts ``token``'s signature under ``key``, and why (not)."""
    if not isinstance(token, str):
        token = json.dumps(token)  # JSON serialization, as a client might send it
    keys = key.get("keys", [key])
    algs = sorted({k["alg"] for k in keys if "alg" in k} or {alg or _header_alg(token) or "none"})
    try:
        settings = Settings(
            keys=[key],
            algorithms=algs,
            token_type=None,
            required_claims=(),
            max_token_lifetime=None,
        )
    except ConfigurationError as exc:
        return False, f"key refused: {exc.message}"
    try:
        Verifier(settings).verify(token, now=0)
    except TokenMalformed as exc:
        if exc.reason.startswith("payload"):  # raised only after the signature verified
            return True, "signature verified (payload is not a claims object)"
        return False, f"{type(exc).__name__}: {exc.reason}"
    except TokenInvalid as exc:
        if type(exc).__name__ in ("InvalidSignature", "TokenTooLarge"):
            return False, f"{type(exc).__name__}: {exc.reason}"
        return True, f"signature verified ({type(exc).__name__})"
    return True, "valid"


def _wycheproof(name: str, tag: str) -> None:
    document = json.loads((VECTORS / name).read_text("utf-8"))
    agree, stricter, quirks, unexpected = 0, 0, 0, []
    by_id: dict[int, str] = {}
    for group in document["testGroups"]:
        key = group.get("public") or group["private"]
        for test in group["tests"]:
            by_id[test["tcId"]] = json.dumps(test["jws"])
            ok, why = accepted(key, test["jws"])
            expected = test["result"] == "valid"
            case = (tag, test["tcId"])
            if case in QUIRKS:
                quirks += 1
            elif case in STRICTER:
                assert expected, f"{case} is listed as stricter but the vector says invalid"
                assert not ok, f"{case} is listed as stricter but {why}"
                stricter += 1
            elif ok == expected:
                agree += 1
            else:
                unexpected.append(f"{tag} tcId {test['tcId']} {test['comment']}: {why}")
    for (quirk_tag, tc_id), _reason in QUIRKS.items():
        if quirk_tag == tag:
            assert by_id[tc_id] == by_id[357]
    SUMMARY[name] = {"agree": agree, "stricter": stricter, "quirks": quirks}
    assert not unexpected, "disagreements with the vectors:\n" + "\n".join(unexpected)
    assert agree + stricter + quirks == document["numberOfTests"]


def test_wycheproof_jws_vectors() -> None:
    _wycheproof("json_web_signature_test.json", "jws")
    assert SUMMARY["json_web_signature_test.json"]["stricter"] == len(STRICTER)


def test_wycheproof_jwk_vectors() -> None:
    _wycheproof("json_web_key_test.json", "jwk")
    assert SUMMARY["json_web_key_test.json"] == {"agree": 26, "stricter": 0, "quirks": 0}


def _cookbook_cases() -> list[tuple[str, dict[str, Any], Any, str | None, str | None]]:
    cases = []
    for path in sorted((VECTORS / "rfc7520_cookbook").glob("*/*.json")):
        example = json.loads(path.read_text("utf-8"))
        if "output" not in example:
            continue
        key, alg = example["input"]["key"], example["input"]["alg"]
        if isinstance(key, list):
            key, alg = key[0], alg[0]
        for form, token in example["output"].items():
            reason = None
            if form in ("json", "json_flat"):
                reason = "json"
            elif "detached" in path.name:
                reason = "detached"
            elif "b64" in path.name:
                reason = "b64"
            cases.append((f"{path.parent.name}/{path.name}:{form}", key, token, alg, reason))
    return cases


def test_rfc7520_cookbook_examples() -> None:
    agree, stricter, unexpected = 0, 0, []
    for name, key, token, alg, reason in _cookbook_cases():
        ok, why = accepted(key, token, alg)
        if reason is not None:
            assert not ok, f"{name}: expected a deliberate refusal ({reason}) but {why}"
            stricter += 1
        elif ok:
            agree += 1
        else:
            unexpected.append(f"{name}: {why}")
    SUMMARY["rfc7520_cookbook"] = {"agree": agree, "stricter": stricter, "quirks": 0}
    assert not unexpected, "\n".join(unexpected)
    assert agree >= 4  # RS256, PS384, ES512 and HS256 compact examples


def summary_lines() -> list[str]:
    """For the terminal summary (tests/keys/conftest.py)."""
    lines = []
    for name, counts in SUMMARY.items():
        lines.append(
            f"{name}: {counts['agree']} agree, {counts['stricter']} deliberately stricter, "
            f"{counts['quirks']} vector quirks"
        )
    if SUMMARY:
        reasons = sorted(set(STRICTER.values()) | set(COOKBOOK_STRICTER.values()))
        lines += ["deliberately stricter because:", *(f"  - {r}" for r in reasons)]
    return lines
