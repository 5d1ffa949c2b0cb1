"""``revoke``, ``sessions`` and ``purge`` against a real SQLite store, as subprocesses."""

from __future__ import annotations

import json
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
    assert "1 sessions ended" in out.stdout
    assert manager.sessions("alice") == []
    assert "no live sessions" in run("sessions", "alice", env=env).stdout

    out = run("purge", env=env)
    assert out.returncode == 0
    assert out.stdout.startswith("purged ")
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
