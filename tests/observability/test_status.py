"""``STATUS_PATH`` (a readiness probe served by the middleware, no token needed) and
``jwtmiddleware status``: 200 while the revocation mirror is fresh, 503 while it is stale (a
stopped follower, a hung Redis), the store and mirror state as JSON, never a password."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jwtmiddleware.stores import open_store
from tests.http.harness import Result
from tests.observability.rig import Rig, make_settings, mint
from tests.redis_server import RedisServer, _binary, _free_port

PASSWORD = "hunter2-not-in-any-output"


class PasswordRedis(RedisServer):
    """A redis-server that requires a password."""

    def args(self) -> list[str]:
        return [*super().args(), "--requirepass", PASSWORD]

    def ping(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(f"AUTH {PASSWORD}\r\nPING\r\n".encode())
                time.sleep(0.02)
                return b"+PONG" in sock.recv(64)
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"


@pytest.fixture
def password_redis() -> Iterator[PasswordRedis]:
    directory = Path(tempfile.mkdtemp(prefix="jwtmw-redis-"))
    server = PasswordRedis(_binary(), directory)
    server.port = _free_port()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def probe(rig: Rig, method: str = "GET", headers: Any = ()) -> Result:
    return rig.client.request(method, "/ready", list(headers))


def ready_within(rig: Rig, seconds: float = 5.0) -> Result:
    deadline = time.monotonic() + seconds
    while True:
        answer = probe(rig)
        if answer.status == 200:
            return answer
        assert time.monotonic() < deadline, answer.body
        time.sleep(0.05)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_ready_while_fresh_then_503_once_the_follower_stops(kind: str, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = make_settings(store=store, status_path="/ready")
    rig = Rig(kind, settings, store=store)
    answer = ready_within(rig)  # the probe starts the mirror, as a request would
    assert not answer.reached  # served by the middleware, not the app
    assert answer.header("content-type") == "application/json"
    assert answer.header("cache-control") == "no-store"
    state = answer.json()
    assert state["ready"] is True
    assert state["store"] == repr(store)
    mirror = state["mirror"]
    assert mirror["fresh"] is True
    assert 0 <= mirror["lag"] < settings.store_max_lag
    assert mirror["entries"] == {"tokens": 0, "sessions": 0, "subjects": 0}
    assert mirror["position"]["seq"] == 0
    assert (mirror["resyncs"], mirror["resync_reasons"]) == (1, {"start": 1})
    assert mirror["last_error"] is None

    head = probe(rig, "HEAD")
    assert (head.status, head.body) == (200, b"")
    assert probe(rig, "POST").status == 405
    token = mint(settings)  # a token changes nothing: the probe is answered either way
    assert probe(rig, headers=[("Authorization", f"Bearer {token}")]).status == 200
    assert probe(rig, headers=[("Cookie", f"access_token={token}")]).status == 200
    assert probe(rig, headers=[("Authorization", "Bearer garbage")]).status == 200

    rig.middleware.mirror.stop()  # the app is shutting down, or the follower died
    stale = probe(rig)
    assert stale.status == 503
    assert stale.json()["ready"] is False
    assert stale.json()["mirror"]["fresh"] is False
    assert probe(rig, "HEAD").status == 503
    assert rig.client.bearer(token).status == 503  # requests agree with the probe
    rig.middleware.close()
    store.close()


@pytest.mark.redis
@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_503_while_redis_hangs_and_200_when_it_answers_again(
    kind: str, redis_server_factory: Any
) -> None:
    server = redis_server_factory()
    store = open_store(server.url, timeout=0.1)
    settings = make_settings(store=store, status_path="/ready", store_max_lag=0.4,
                             store_timeout=0.1)  # fmt: skip
    rig = Rig(kind, settings, store=store)
    ready_within(rig)
    server.pause()
    try:
        time.sleep(0.9)
        hung = probe(rig)
        assert hung.status == 503
        assert hung.json()["mirror"]["lag"] > 0.4
    finally:
        server.resume()
    ready_within(rig)
    rig.middleware.close()
    store.close()


@pytest.mark.redis
@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_the_status_never_shows_the_store_password(
    kind: str, password_redis: PasswordRedis
) -> None:
    store = open_store(password_redis.url, timeout=0.1)
    settings = make_settings(store=store, status_path="/ready", store_max_lag=0.3,
                             store_timeout=0.1)  # fmt: skip
    rig = Rig(kind, settings, store=store)
    fine = ready_within(rig)
    assert PASSWORD not in fine.body.decode()
    assert "Redis at 127.0.0.1" in fine.json()["store"]  # named, without its credentials
    password_redis.kill()
    deadline = time.monotonic() + 10
    while True:
        broken = probe(rig)
        if broken.status == 503 and broken.json()["mirror"]["last_error"]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert PASSWORD not in broken.body.decode()
    rig.middleware.close()
    store.close()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_without_a_store_the_probe_is_ready(kind: str) -> None:
    rig = Rig(kind, make_settings(status_path="/ready"))
    answer = probe(rig)
    assert answer.status == 200
    assert answer.json() == {"ready": True, "store": None, "mirror": None}


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_status_path_is_off_by_default(kind: str) -> None:
    rig = Rig(kind, make_settings())
    assert probe(rig).status == 401  # just another protected path


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    return subprocess.run(
        [sys.executable, "-m", "jwtmiddleware", "status", *args],
        capture_output=True, text=True, env={**clean, **(env or {})}, timeout=60, check=False,
    )  # fmt: skip


def test_cli_status_of_a_sqlite_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    done = _cli("--store", url)
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert state["ready"] is True
    assert state["store"].startswith("SQLiteStore(")
    assert state["mirror"]["fresh"] is True
    assert state["mirror"]["resync_reasons"] == {"start": 1}
    from_env = _cli(env={"JWTMIDDLEWARE_STORE": url})
    assert from_env.returncode == 0, from_env.stderr


@pytest.mark.redis
def test_cli_status_of_redis_up_and_down(password_redis: PasswordRedis) -> None:
    up = _cli("--store", password_redis.url)
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["mirror"]["fresh"] is True
    password_redis.kill()
    down = _cli("--store", password_redis.url, "--timeout", "1")
    assert down.returncode == 1
    state = json.loads(down.stdout)
    assert state["ready"] is False
    assert state["mirror"]["last_error"]
    for output in (up.stdout, up.stderr, down.stdout, down.stderr):
        assert PASSWORD not in output


def test_cli_status_without_a_store_or_with_a_bad_one(tmp_path: Path) -> None:
    assert _cli().returncode == 2
    bad = _cli("--store", "ftp://nowhere")
    assert bad.returncode == 2
    assert "STORE" in bad.stderr
