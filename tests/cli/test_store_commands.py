"""``revoke``, ``sessions`` and ``purge`` against a real SQLite store, as subprocesses."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from jwtmiddleware import RequestInfo, SessionManager, Settings
from jwtmiddleware.stores.base import RevocationQuery
from tests.cli.test_settings_commands import run
from tests.core.keyfactory import SECRET


def test_sessions_revoke_and_purge(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings(secret=SECRET, store=url, issuer="https://i.test")
    manager = SessionManager(settings)
    phone = manager.login("alice", info=RequestInfo("Phone/1.0", "10.0.0.1"))
    laptop = manager.login("alice", info=RequestInfo("Laptop/2.0", "10.0.0.2"))
    env = {"JWTMIDDLEWARE_STORE": url, "JWTMIDDLEWARE_ISSUER": "https://i.test"}

    listed = run("sessions", "alice", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    sessions = json.loads(listed.stdout)
    assert {s["session_id"] for s in sessions} == {phone.session_id, laptop.session_id}
    assert {s["user_agent"] for s in sessions} == {"Phone/1.0", "Laptop/2.0"}
    plain = run("sessions", "alice", env=env)
    assert "Phone/1.0" in plain.stdout

    out = run("revoke", "--session", phone.session_id, env=env)
    assert out.returncode == 0
    assert manager.store.is_revoked(
        RevocationQuery("https://i.test", "alice", None, phone.session_id, time.time()),
        now=time.time(),
    )
    assert [s.session_id for s in manager.sessions("alice")] == [laptop.session_id]

    out = run("revoke", "--jti", "some-jti", "--store", url, env=env)
    assert out.returncode == 0
    assert manager.store.is_revoked(
        RevocationQuery("https://i.test", None, "some-jti", None, None), now=time.time()
    )

    out = run("revoke", "--subject", "alice", env=env)
    assert out.returncode == 0
    assert out.stdout == "revoked every token of alice (1 session ended)\n"  # not "1 sessions"
    assert manager.sessions("alice") == []
    assert "no live sessions" in run("sessions", "alice", env=env).stdout

    out = run("purge", env=env)
    assert out.returncode == 0
    assert re.fullmatch(r"purged (1 expired entry|\d+ expired entries)\n", out.stdout)
    assert "purged 1 expired entries" not in out.stdout
    assert run("revoke", "--subject", "nobody", env=env).stdout.endswith("(0 sessions ended)\n")
    manager.close()


def test_bad_store_urls_and_unreachable_stores() -> None:
    out = run("purge", "--store", "ftp://nowhere")
    assert out.returncode == 2
    assert "STORE" in out.stderr
    out = run("revoke", "--jti", "x", "--store", "redis://127.0.0.1:1/0")
    assert out.returncode == 1
    assert "error" in out.stderr
    out = run("revoke")
    assert out.returncode == 2


def test_help_names_the_program_as_it_was_run() -> None:
    """The console script's ``--help`` says ``jwtmiddleware``, not ``python -m jwtmiddleware``
    (issue 15); run as a module, it says ``python -m jwtmiddleware``."""
    import os
    import subprocess
    import sys

    script = Path(sys.executable).with_name("jwtmiddleware")
    assert script.is_file(), "the console script is installed with the package"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    module = [sys.executable, "-m", "jwtmiddleware"]
    for argv, prog in (([str(script)], "jwtmiddleware"), (module, "python -m jwtmiddleware")):
        for args, usage in ((["--help"], f"usage: {prog} [-h]"),
                            (["keygen", "--help"], f"usage: {prog} keygen [-h]")):  # fmt: skip
            out = subprocess.run([*argv, *args], capture_output=True, text=True, env=env,
                                 timeout=60, check=False)  # fmt: skip
            assert out.returncode == 0, out.stderr
            assert out.stdout.startswith(usage), out.stdout[:200]
    bad = subprocess.run([str(script), "revoke"], capture_output=True, text=True, env=env,
                         timeout=60, check=False)  # fmt: skip
    assert bad.stderr.startswith("usage: jwtmiddleware revoke")
    assert "python -m" not in bad.stderr


def test_program_name() -> None:
    from jwtmiddleware.cli import program_name

    assert program_name("/venv/lib/python3/site-packages/jwtmiddleware/__main__.py") == (
        "python -m jwtmiddleware"
    )
    assert program_name("/venv/bin/jwtmiddleware") == "jwtmiddleware"
    assert program_name("/venv/bin/jwtmiddleware.exe") == "jwtmiddleware"
    assert program_name("/usr/bin/pytest") == "jwtmiddleware"


def test_counts_are_singular_and_plural() -> None:
    from jwtmiddleware.core._text import count

    assert [count(n, "session") for n in (0, 1, 2)] == ["0 sessions", "1 session", "2 sessions"]
    assert count(1, "entry", "entries") == "1 entry"
    assert count(3, "entry", "entries") == "3 entries"


def test_ids_starting_with_a_dash_are_values_not_options(tmp_path: Path) -> None:
    # Another issuer's jti may start with "-": "--jti -abc" revokes it (argparse alone would
    # read "-abc" as an unknown option); an option name after --subject is still an error.
    url = f"sqlite:///{tmp_path / 'store.db'}"
    env = {"JWTMIDDLEWARE_STORE": url, "JWTMIDDLEWARE_ISSUER": "https://i.test"}
    out = run("revoke", "--jti", "-abc", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "revoked token -abc\n"
    settings = Settings(secret=SECRET, store=url, issuer="https://i.test")
    manager = SessionManager(settings)
    query = RevocationQuery("https://i.test", None, "-abc", None, None)
    assert manager.store.is_revoked(query, now=time.time())
    manager.close()
    refused = run("revoke", "--subject", "--issuer", "x", env=env)
    assert refused.returncode == 2
    assert "expected one argument" in refused.stderr


def test_generated_ids_never_start_with_a_dash() -> None:
    from jwtmiddleware.core.issuer import new_token_id

    ids = [new_token_id() for _ in range(5000)]  # ~1 in 64 raw draws starts with "-"
    assert not [i for i in ids if i.startswith("-")]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 22 for i in ids)
