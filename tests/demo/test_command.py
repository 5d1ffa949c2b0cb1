"""The demo's command wiring: options, settings from the environment and flags, the banner."""

from __future__ import annotations

import argparse
import io
import shlex
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from jwtmiddleware.core.errors import ConfigurationError
from jwtmiddleware.demo import UserDirectory, build_app, demo_settings
from jwtmiddleware.demo.command import add_arguments, banner, build_config, run
from jwtmiddleware.demo.users import DEFAULT_USERS, parse_user


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("JWTMIDDLEWARE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults() -> None:
    args = parse()
    assert (args.host, args.port, args.store, args.users) == ("127.0.0.1", 8000, None, None)
    assert (args.access_ttl, args.refresh_threshold, args.log_level) == (None, None, "info")


def test_every_option() -> None:
    args = parse("--host", "::1", "--port", "9000", "--store", "memory://", "--user", "a:b:c",
                 "--user", "bob:x", "--access-ttl", "20", "--refresh-threshold", "15",
                 "--log-level", "warning")  # fmt: skip
    assert args.users == [("a", "b:c"), ("bob", "x")]
    assert (args.host, args.port, args.store) == ("::1", 9000, "memory://")
    assert (args.access_ttl, args.refresh_threshold, args.log_level) == (20.0, 15.0, "warning")


@pytest.mark.parametrize(
    "argv",
    [
        ["--user", "nopassword"],
        ["--user", ":x"],
        ["--user", "alice:"],
        ["--user", " alice:x"],
        ["--access-ttl", "soon"],
        ["--access-ttl", "-1"],
        ["--refresh-threshold", "nan"],
        ["--port", "http"],
        ["--log-level", "loud"],
    ],
)
def test_bad_options_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_demo_defaults(clean_env: pytest.MonkeyPatch, tmp_path: object) -> None:
    config = build_config(parse(), str(tmp_path))
    s = config.settings
    assert config.generated_key
    assert s.issuer == "jwtmiddleware-demo"
    assert (s.access_token_ttl, s.refresh_threshold) == (300.0, 240.0)
    assert s.store == f"sqlite:///{tmp_path}/demo.db"
    assert config.store_label == f"SQLite at {tmp_path}/demo.db"
    assert s.cookie_secure
    assert s.cookie_httponly
    assert s.csrf_protection
    assert s.access_cookie_name == "__Host-access_token"
    assert {"/login", "/auth/login", "/auth/refresh", "/health"} <= set(s.exempt_paths)
    assert ("/download/*", "download") in s.one_time_paths
    assert config.users.names == ("alice", "bob")


def test_settings_come_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    secret = "s" * 40
    clean_env.setenv("JWTMIDDLEWARE_SECRET", secret)
    clean_env.setenv("JWTMIDDLEWARE_ACCESS_TOKEN_TTL", "100")
    clean_env.setenv("JWTMIDDLEWARE_ISSUER", "https://issuer.example")
    clean_env.setenv("JWTMIDDLEWARE_EXEMPT_PATHS", "/public")
    clean_env.setenv("JWTMIDDLEWARE_STORE", "memory://")
    config = build_config(parse())
    s = config.settings
    assert not config.generated_key
    assert s.secret == secret
    assert (s.access_token_ttl, s.refresh_threshold) == (100.0, 80.0)
    assert s.issuer == "https://issuer.example"
    assert s.exempt_paths[0] == "/public"
    assert "/login" in s.exempt_paths
    assert s.store == "memory://"


def test_flags_win_over_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("JWTMIDDLEWARE_ACCESS_TOKEN_TTL", "100")
    clean_env.setenv("JWTMIDDLEWARE_REFRESH_THRESHOLD", "50")
    clean_env.setenv("JWTMIDDLEWARE_STORE", "memory://")
    args = parse("--access-ttl", "20", "--refresh-threshold", "15", "--store",
                 "sqlite:///x.db", "--user", "carol:secret")  # fmt: skip
    config = build_config(args)
    s = config.settings
    assert (s.access_token_ttl, s.refresh_threshold, s.store) == (20.0, 15.0, "sqlite:///x.db")
    assert config.users.names == ("carol",)
    assert config.users.check("carol", "secret")


def test_refresh_threshold_zero_turns_sliding_refresh_off(clean_env: pytest.MonkeyPatch) -> None:
    config = build_config(parse("--refresh-threshold", "0", "--store", "memory://"))
    assert config.settings.refresh_threshold is None


@pytest.mark.parametrize(
    ("argv", "env", "setting"),
    [
        (["--access-ttl", "10", "--refresh-threshold", "10"], {}, "REFRESH_THRESHOLD"),
        (["--access-ttl", "0"], {}, "ACCESS_TOKEN_TTL"),
        (["--store", "ftp://x"], {}, "STORE"),
        ([], {"JWTMIDDLEWARE_LEEWAY": "soon"}, "LEEWAY"),
        ([], {"JWTMIDDLEWARE_LEWAY": "1"}, "LEWAY"),
    ],
)
def test_bad_settings_name_the_setting(
    clean_env: pytest.MonkeyPatch, argv: list[str], env: dict[str, str], setting: str
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigurationError) as exc:
        build_config(parse(*argv))
    assert exc.value.setting == setting


def test_run_reports_bad_settings_and_exits_2(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("JWTMIDDLEWARE_LEEWAY", "soon")
    out = io.StringIO()
    assert run(parse(), out=out) == 2
    assert "configuration error: LEEWAY" in capsys.readouterr().err
    assert out.getvalue() == ""


def test_the_banner_has_the_url_users_store_and_a_curl_that_works(
    clean_env: pytest.MonkeyPatch, tmp_path: object
) -> None:
    users = [("carol", "it's a secret")]
    config = demo_settings({}, store_dir=str(tmp_path), users=UserDirectory(users, cost=16))
    text = banner(config, "http://127.0.0.1:8000", users, "127.0.0.1")
    assert "http://127.0.0.1:8000" in text
    assert "carol / it's a secret" in text
    assert f"SQLite at {tmp_path}/demo.db" in text
    assert "generated at start-up" in text
    assert "note:" not in text
    curl = next(line.strip() for line in text.splitlines() if line.strip().startswith("curl"))
    argv = shlex.split(curl)
    assert argv[:4] == ["curl", "-s", "-X", "POST"]
    url, header, data = argv[4], argv[argv.index("-H") + 1], argv[argv.index("-d") + 1]
    name, _, value = header.partition(": ")
    with TestClient(build_app(config), base_url="https://127.0.0.1:8000") as client:
        response = client.post(url.replace("http://", "https://"), content=data.encode(),
                               headers={name: value})  # fmt: skip
    assert response.status_code == 200
    assert "access_token" in response.json()


def test_the_banner_warns_about_secure_cookies_off_loopback(tmp_path: object) -> None:
    config = demo_settings({}, users=UserDirectory(DEFAULT_USERS, cost=16))
    assert "note:" in banner(config, "http://0.0.0.0:8000", DEFAULT_USERS, "0.0.0.0")
    assert "note:" not in banner(config, "http://localhost:8000", DEFAULT_USERS, "localhost")
    assert "note:" not in banner(config, "http://[::1]:8000", DEFAULT_USERS, "::1")


def test_user_names() -> None:
    assert parse_user("a:b") == ("a", "b")
    for bad in ("a", "", ":b", "a:", "x" * 65 + ":b", "a\tb:c", "a:" + "p" * 257):
        with pytest.raises(ValueError, match=r"\S"):
            parse_user(bad)


def test_passwords_are_checked_in_constant_time_over_hashes() -> None:
    users = UserDirectory([("alice", "wonderland"), ("bob", "builder")], cost=16)
    assert users.check("alice", "wonderland")
    assert not users.check("alice", "builder")
    assert not users.check("carol", "wonderland")
    assert not users.check("alice", "w" * 10_000)
    assert "wonderland" not in repr(vars(users))
    with pytest.raises(ValueError, match="at least one user"):
        UserDirectory([])


def test_the_command_imports_no_starlette_or_uvicorn() -> None:
    code = (
        "import sys, jwtmiddleware.demo, jwtmiddleware.demo.command;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_run_without_the_demo_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert run(parse()) == 2
    assert "pip install 'jwtmiddleware[demo]'" in capsys.readouterr().err
