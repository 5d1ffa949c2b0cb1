"""The key commands of the CLI, run in subprocesses: keygen, jwks, inspect."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jwtmiddleware import Settings, Verifier
from jwtmiddleware.testing import mint_token

from .material import new_pem

ISSUER = "https://auth.example"


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Any:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    return subprocess.run(
        [sys.executable, "-m", "jwtmiddleware", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        input=stdin,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512", "EdDSA", "RS256", "PS256"])
def test_keygen_writes_a_private_key_0600_and_prints_its_public_jwk(
    tmp_path: Path, alg: str
) -> None:
    out = tmp_path / "signing.pem"
    result = run("keygen", "--alg", alg, "--kid", "k-2024", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    jwk = json.loads(result.stdout)
    assert (jwk["kid"], jwk["alg"], jwk["use"]) == ("k-2024", alg, "sig")
    assert "d" not in jwk
    assert "KEYS=" in result.stderr
    # The file and the JWK are two halves of one key: sign with one, verify with the other.
    signer = Settings(keys=[{"key": str(out), "kid": "k-2024", "alg": alg}], algorithms=[alg])
    verifier = Settings(keys=[jwk], algorithms=[alg])
    Verifier(verifier).verify(mint_token(signer), time.time())


def test_keygen_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    out.write_text("precious")
    result = run("keygen", "--alg", "ES256", "--out", str(out))
    assert result.returncode == 2
    assert "refusing to overwrite" in result.stderr
    assert out.read_text() == "precious"


def test_keygen_json_without_out_and_bad_algorithms() -> None:
    result = run("keygen", "--alg", "ES256", "--json")
    document = json.loads(result.stdout)
    kid = document["public_jwk"]["kid"]  # the RFC 7638 thumbprint
    assert document["private_key_pem"].startswith(f"kid: {kid}\nalg: ES256\n-----BEGIN PRIVATE KEY")
    for alg, hint in (("HS256", "HMAC needs no key pair"), ("XS999", "unsupported algorithm")):
        bad = run("keygen", "--alg", alg)
        assert bad.returncode == 2
        assert hint in bad.stderr
        assert bad.stdout == ""
    assert run("keygen", "--alg", "RS256", "--bits", "1024").returncode == 2


def test_jwks_of_several_key_files(tmp_path: Path) -> None:
    ec, rsa, public = tmp_path / "ec.pem", tmp_path / "rsa.pem", tmp_path / "pub.json"
    ec.write_text(new_pem("ES384"))
    rsa.write_text(new_pem("RS256"))
    jwk = json.loads(run("keygen", "--alg", "EdDSA", "--kid", "ed").stdout.split("-----\n")[-1])
    public.write_text(json.dumps(jwk))
    result = run("jwks", str(ec), str(rsa), str(public), "--kid", "ec", "--kid", "rsa")
    assert result.returncode == 0, result.stderr
    keys = json.loads(result.stdout)["keys"]
    assert [(k["kid"], k["alg"], k["kty"]) for k in keys] == [
        ("ec", "ES384", "EC"),
        ("rsa", "RS256", "RSA"),
        ("ed", "EdDSA", "OKP"),
    ]
    assert all("d" not in k and k["use"] == "sig" for k in keys)
    pss = json.loads(run("jwks", str(rsa), "--alg", "PS256", "--json").stdout)
    assert pss["keys"][0]["alg"] == "PS256"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no such file"),
        ("garbage", "neither a PEM key nor JSON"),
        ('{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "alg": "HS256"}', "HMAC"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a PEM key"),
    ],
)
def test_jwks_bad_input(tmp_path: Path, content: str | None, fragment: str) -> None:
    path = tmp_path / "key"
    if content is not None:
        path.write_text(content)
    result = run("jwks", str(path))
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def _env(settings_pem: str) -> dict[str, str]:
    keys = json.dumps([{"key": settings_pem, "kid": "k1", "alg": "ES256"}])
    return {
        "JWTMIDDLEWARE_KEYS": keys,
        "JWTMIDDLEWARE_ALGORITHMS": "ES256",
        "JWTMIDDLEWARE_ISSUER": ISSUER,
    }


def test_inspect_prints_unverified_header_and_claims() -> None:
    pem = new_pem("ES256")
    settings = Settings(keys=[{"key": pem, "kid": "k1", "alg": "ES256"}], algorithms=["ES256"])
    token = mint_token(settings, {"scope": "read"})
    result = run("inspect", token)
    assert result.returncode == 0, result.stderr
    assert "header (UNVERIFIED)" in result.stdout
    assert "claims (UNVERIFIED)" in result.stdout
    assert '"kid": "k1"' in result.stdout
    assert '"scope": "read"' in result.stdout
    assert "exp:" in result.stdout
    document = json.loads(run("inspect", "--json", "-", stdin=f"Bearer {token}\n").stdout)
    assert document["header"]["alg"] == "ES256"
    assert document["claims"]["sub"] == "user-1"
    assert document["verified"] is None


def test_inspect_verify_explains_which_check_fails() -> None:
    pem = new_pem("ES256")
    settings = Settings(
        keys=[{"key": pem, "kid": "k1", "alg": "ES256"}], algorithms=["ES256"], issuer=ISSUER
    )
    env = _env(pem)
    good = run("inspect", mint_token(settings), "--verify", env=env)
    assert good.returncode == 0, good.stderr
    assert "VERIFIED" in good.stdout
    expired = mint_token(settings, now=time.time() - 7200, ttl=600)
    bad = run("inspect", expired, "--verify", env=env)
    assert bad.returncode == 1
    assert "NOT VALID: TokenExpired: exp has passed" in bad.stdout
    wrong = run(
        "inspect", mint_token(settings, {"iss": "https://evil"}), "--verify", "--json", env=env
    )
    assert wrong.returncode == 1
    error = json.loads(wrong.stdout)["error"]
    assert error == {
        "error": "ClaimCheckFailed",
        "reason": "wrong issuer",
        "status": 401,
        "description": "The access token claims were rejected",
    }
    other_key = Settings(keys=[{"key": new_pem("ES256"), "kid": "k1"}], algorithms=["ES256"])
    forged = run("inspect", mint_token(other_key), "--verify", "--json", env=env)
    assert json.loads(forged.stdout)["error"]["error"] == "InvalidSignature"


@pytest.mark.parametrize(
    ("token", "fragment"),
    [
        ("abc.def", "3 dot-separated segments"),
        ("a.b.c.d.e", "encrypted token (JWE)"),
        ("!!!.e30.sig", "header is not base64url JSON"),
        ("", "no token given"),
    ],
)
def test_inspect_malformed_tokens(token: str, fragment: str) -> None:
    result = run("inspect", token)
    assert result.returncode == 2
    assert fragment in result.stderr


def test_inspect_verify_with_bad_settings_is_a_clear_error() -> None:
    token = mint_token(Settings(keys=[new_pem("ES256")], algorithms=["ES256"]))
    result = run("inspect", token, "--verify", env={"JWTMIDDLEWARE_LEEWAY": "9999"})
    assert result.returncode == 2
    assert "LEEWAY" in result.stderr


def test_existing_commands_still_work() -> None:
    result = run("--help")
    assert result.returncode == 0
    for name in ("demo", "revoke", "sessions", "purge", "keygen", "jwks", "inspect"):
        assert name in result.stdout
    assert run("purge", "--store", "memory://").returncode == 0
