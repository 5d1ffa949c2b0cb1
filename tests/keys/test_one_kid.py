"""One kid per key everywhere: ``keygen``, ``jwks``, the settings' signing key, the tokens and
the published set agree (issue 15, item 7).

The README's sequence runs as written, in a shell, in a subprocess; tokens are then minted with
settings read from the key file and verified the way another service would: by picking the
key named by the token's ``kid`` from the published JWKS (PyJWT's ``PyJWKSet``).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from jwtmiddleware import ConfigurationError, Settings, Verifier
from jwtmiddleware.core._hmac import hmac_secret_advice
from jwtmiddleware.core._jwk import thumbprint
from jwtmiddleware.core.issuer import Issuer
from jwtmiddleware.keysets.publish import JWKSDocument
from jwtmiddleware.testing import mint_token

from .material import new_pem


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    return subprocess.run([sys.executable, "-m", "jwtmiddleware", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=60, check=False)  # fmt: skip


def header_of(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))))


def verify_like_a_third_party(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Pick the key by the token's ``kid`` from the published set, as JWKS clients do."""
    kid = header_of(token).get("kid")
    assert kid is not None, "the token names no key"
    key = jwt.PyJWKSet.from_dict(jwks)[kid]  # KeyError: the published set has no such kid
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=[key.algorithm_name], options={"verify_aud": False}
    )
    return claims


def readme_commands(readme: Path) -> list[str]:
    """The keygen and jwks lines of the README's key section, comments dropped."""
    lines = []
    for line in readme.read_text("utf-8").splitlines():
        if line.startswith("python -m jwtmiddleware keygen") or line.startswith(
            "python -m jwtmiddleware jwks"
        ):
            lines.append(line.split("#", 1)[0].strip())
    assert len(lines) == 2, lines
    return lines


def test_the_readme_sequence_publishes_the_kid_the_tokens_carry(tmp_path: Path) -> None:
    keygen, jwks_line = readme_commands(Path(__file__).parents[2] / "README.md")
    assert "--kid 2026-11" in keygen
    (tmp_path / "keys").mkdir()
    python = shlex.quote(sys.executable)
    script = "\n".join(
        ["set -e", keygen.replace("python", python, 1), jwks_line.replace("python", python, 1)]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env=env, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    # stdout: keygen's public JWK, then jwks's JWKS (two JSON documents)
    decoder = json.JSONDecoder()
    printed_jwk, end = decoder.raw_decode(result.stdout)
    published, _ = decoder.raw_decode(result.stdout[end:].lstrip())
    assert printed_jwk["kid"] == "2026-11"
    assert [k["kid"] for k in published["keys"]] == ["2026-11"]
    assert "JWTMIDDLEWARE_KEYS=keys/2026-11.pem" in result.stderr

    # Settings from the file alone, as keygen told us to configure it.
    key_file = tmp_path / "keys" / "2026-11.pem"
    env_settings = {"JWTMIDDLEWARE_ALGORITHMS": "ES256", "JWTMIDDLEWARE_KEYS": str(key_file),
                    "JWTMIDDLEWARE_ISSUER": "https://auth.example"}  # fmt: skip
    settings = Settings.from_env(env_settings)
    signing = settings.keyset.signing_key()
    assert signing is not None
    assert signing.kid == "2026-11"
    assert settings.keyset.public_jwks() == published  # what the middleware serves at JWKS_PATH
    assert json.loads(JWKSDocument(settings).body) == published

    now = time.time()
    for token in (Issuer(settings).access_token("alice", now=now).token,
                  mint_token(settings, now=now)):  # fmt: skip
        assert header_of(token)["kid"] == "2026-11"
        assert verify_like_a_third_party(token, published)["iss"] == "https://auth.example"
        # and by this library's own verifier, configured with the published set only
        assert Verifier(Settings(keys=[published], algorithms=["ES256"])).verify(token, now)


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_a_pem_without_a_kid_has_its_thumbprint_everywhere(tmp_path: Path, alg: str) -> None:
    """``KEYS=f.pem`` (a PEM from openssl, no kid) mints tokens with a kid: the RFC 7638
    thumbprint, which ``jwks f.pem`` and the settings' JWKS publish too."""
    key_file = tmp_path / "f.pem"
    key_file.write_text(new_pem(alg))
    settings = Settings.from_env(
        {"JWTMIDDLEWARE_ALGORITHMS": alg, "JWTMIDDLEWARE_KEYS": str(key_file)}
    )
    published = settings.keyset.public_jwks()
    kid = published["keys"][0]["kid"]
    assert kid == thumbprint(published["keys"][0])
    result = cli("jwks", str(key_file), "--alg", alg)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == published
    token = Issuer(settings).access_token("alice", now=time.time()).token
    assert header_of(token)["kid"] == kid
    assert verify_like_a_third_party(token, published)["sub"] == "alice"


def test_keygen_without_kid_writes_the_thumbprint(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    result = cli("keygen", "--alg", "ES384", "--out", str(out))
    assert result.returncode == 0, result.stderr
    jwk = json.loads(result.stdout)
    assert jwk["kid"] == thumbprint(jwk)
    assert out.read_text().startswith(f"kid: {jwk['kid']}\nalg: ES384\n-----BEGIN PRIVATE KEY")
    settings = Settings(keys=[str(out)], algorithms=["ES384"])
    assert settings.keyset.public_jwks() == {"keys": [jwk]}


def test_the_printed_pem_keeps_its_kid(tmp_path: Path) -> None:
    """Without ``--out`` the PEM is printed with its kid line, so pasting it keeps the kid."""
    result = cli("keygen", "--alg", "ES256", "--kid", "pasted")
    assert result.returncode == 0, result.stderr
    pem_text, _, jwk_text = result.stdout.partition("-----END PRIVATE KEY-----\n")
    pem_text += "-----END PRIVATE KEY-----\n"
    settings = Settings.from_env({"JWTMIDDLEWARE_ALGORITHMS": "ES256",
                                  "JWTMIDDLEWARE_KEYS": pem_text})  # fmt: skip
    assert settings.keyset.public_jwks() == {"keys": [json.loads(jwk_text)]}
    assert header_of(mint_token(settings))["kid"] == "pasted"


def test_an_entry_may_not_give_a_key_another_kid_than_its_file(tmp_path: Path) -> None:
    out = tmp_path / "k.pem"
    assert cli("keygen", "--alg", "ES256", "--kid", "k1", "--out", str(out)).returncode == 0
    same = Settings(keys=[{"key": str(out), "kid": "k1"}], algorithms=["ES256"])
    assert same.keyset.public_jwks()["keys"][0]["kid"] == "k1"
    with pytest.raises(ConfigurationError) as info:
        Settings(keys=[{"key": str(out), "kid": "k2"}], algorithms=["ES256"])
    assert info.value.setting == "KEYS"
    assert "'k2'" in str(info.value)
    assert "'k1'" in str(info.value)
    with pytest.raises(ConfigurationError, match="alg"):
        Settings(keys=[{"key": str(out), "alg": "ES384"}], algorithms=["ES256", "ES384"])
    # jwks: --kid names keys that have none; another kid for this file is an error
    conflict = cli("jwks", str(out), "--kid", "k2")
    assert conflict.returncode == 2
    assert "differs from the kid 'k1' in the file" in conflict.stderr
    assert json.loads(cli("jwks", str(out), "--kid", "k1").stdout)["keys"][0]["kid"] == "k1"


def test_a_public_jwk_file_keeps_its_kid_in_jwks(tmp_path: Path) -> None:
    jwk = json.loads(cli("keygen", "--alg", "EdDSA", "--kid", "ed", "--json").stdout)["public_jwk"]
    public = tmp_path / "ed.json"
    public.write_text(json.dumps(jwk))
    assert cli("jwks", str(public), "--kid", "other").returncode == 2
    assert json.loads(cli("jwks", str(public)).stdout)["keys"][0]["kid"] == "ed"


@pytest.mark.parametrize(
    ("preamble", "problem"),
    [("kid:\n", "empty 'kid:'"), ("kid: a\nkid: b\n", "more than one 'kid:'")],
)
def test_bad_kid_lines_name_keys(tmp_path: Path, preamble: str, problem: str) -> None:
    key_file = tmp_path / "k.pem"
    key_file.write_text(preamble + new_pem("ES256"))
    with pytest.raises(ConfigurationError) as info:
        Settings(keys=[str(key_file)], algorithms=["ES256"])
    assert info.value.setting == "KEYS"
    assert problem in str(info.value)
    result = cli("jwks", str(key_file))
    assert result.returncode == 2
    assert problem in result.stderr


def test_other_text_before_the_pem_block_is_ignored(tmp_path: Path) -> None:
    key_file = tmp_path / "k.pem"
    key_file.write_text("Generated for the billing service\nKID: billing-1\n" + new_pem("ES256"))
    settings = Settings(keys=[str(key_file)], algorithms=["ES256"])
    assert header_of(mint_token(settings))["kid"] == "billing-1"
    openssl = subprocess.run(["openssl", "pkey", "-in", str(key_file), "-noout"],
                             capture_output=True, check=False)  # fmt: skip
    assert openssl.returncode == 0  # still a PEM file for other tools


# -- HMAC secrets: one length, in bytes, said the same way by keygen and the settings ---------


@pytest.mark.parametrize(("alg", "need"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_keygen_and_the_settings_ask_for_the_same_hmac_secret(alg: str, need: int) -> None:
    advice = hmac_secret_advice(alg)
    assert f"at least {need} bytes" in advice
    result = cli("keygen", "--alg", alg)
    assert result.returncode == 2
    assert advice in result.stderr
    assert "at least 64 characters" not in result.stderr  # what keygen used to ask for
    with pytest.raises(ConfigurationError) as info:
        Settings(secret="x" * (need - 1), algorithms=[alg])
    assert str(info.value) == f"SECRET: is {need - 1} bytes; {advice}"
    Settings(secret="x" * need, algorithms=[alg])  # exactly the length both name
    Settings(secret=secrets.token_urlsafe(need), algorithms=[alg])  # what both suggest
