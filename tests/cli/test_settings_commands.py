"""``issue`` and ``check-settings``: real subprocesses, exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jwtmiddleware import Settings, Verifier
from tests.core.keyfactory import SECRET


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    return subprocess.run(
        [sys.executable, "-m", "jwtmiddleware", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=60,
        check=False,
    )


def test_issue_mints_a_token_the_settings_accept() -> None:
    env = {"JWTMIDDLEWARE_SECRET": SECRET, "JWTMIDDLEWARE_ISSUER": "https://i.test"}
    out = run("issue", "--sub", "alice", "--ttl", "60", "--claim", "scope=read write",
              "--claim", "level=3", "--json", env=env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    settings = Settings(secret=SECRET, issuer="https://i.test")
    claims = Verifier(settings).verify(body["token"], time.time()).claims
    assert claims["sub"] == "alice"
    assert claims["scope"] == "read write"
    assert claims["level"] == 3
    assert claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--claim", "exp=5"], "registered claims"),
        (["--claim", "novalue"], "NAME=VALUE"),
    ],
)
def test_issue_refuses_bad_input(args: list[str], fragment: str) -> None:
    out = run("issue", "--sub", "a", *args, env={"JWTMIDDLEWARE_SECRET": SECRET})
    assert out.returncode == 2
    assert fragment in out.stderr


def test_issue_without_key_material_is_a_configuration_error() -> None:
    out = run("issue", "--sub", "a")
    assert out.returncode == 2
    assert "SECRET" in out.stderr


def test_check_settings_reports_every_problem_at_once() -> None:
    env = {
        "JWTMIDDLEWARE_SECRET": "short",
        "JWTMIDDLEWARE_LEEWAY": "999",
        "JWTMIDDLEWARE_ALGORITHM": "HS256",
        "JWTMIDDLEWARE_SOURCES": "body",
        "JWTMIDDLEWARE_COOKIE_SAMESITE": "sometimes",
    }
    out = run("check-settings", "--json", env=env)
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert not report["ok"]
    settings = [p["setting"] for p in report["problems"]]
    assert sorted(settings) == ["ALGORITHM", "COOKIE_SAMESITE", "LEEWAY", "SECRET", "SOURCES"]
    assert "ALGORITHMS" in next(p["message"] for p in report["problems"]
                                if p["setting"] == "ALGORITHM")  # fmt: skip


def test_check_settings_ok_and_env_file(tmp_path: Path) -> None:
    out = run("check-settings", env={"JWTMIDDLEWARE_SECRET": SECRET})
    assert out.returncode == 0
    assert "settings OK" in out.stdout
    dotenv = tmp_path / "prod.env"
    dotenv.write_text(f"# production\nexport JWTMIDDLEWARE_SECRET='{SECRET}'\nLEEWAY=-4\n")
    out = run("check-settings", "--env-file", str(dotenv))
    assert out.returncode == 1
    assert out.stdout.startswith("1 problem in the settings:\n  LEEWAY: ")  # not "problem(s)"
    as_json = tmp_path / "settings.json"
    as_json.write_text(json.dumps({"SECRET": SECRET, "STORE_FAILURE": "maybe"}))
    out = run("check-settings", "--env-file", str(as_json))
    assert out.returncode == 1
    assert "STORE_FAILURE" in out.stdout
    out = run("check-settings", "--env-file", str(tmp_path / "missing.env"))
    assert out.returncode == 2


def test_help_lists_every_command() -> None:
    out = run("--help")
    assert out.returncode == 0
    for command in ("demo", "keygen", "jwks", "issue", "inspect", "revoke", "sessions", "purge",
                    "check-settings"):  # fmt: skip
        assert command in out.stdout
