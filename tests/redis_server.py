"""Pytest plugin: real ``redis-server`` processes on free loopback ports, stopped by pid.

Load it from the root conftest with ``pytest_plugins = ["tests.redis_server"]``. Fixtures:

- ``redis_server``: one server for the whole session (no persistence), restarted if a test
  left it dead; isolate tests with a unique key prefix rather than FLUSHALL.
- ``redis_url``: its URL.
- ``redis_server_factory``: ``factory(appendonly=False)`` starts a dedicated server for one
  test (to kill, pause or restart it); every server it started is stopped at teardown.

Without a ``redis-server`` binary (override with ``$REDIS_SERVER``) the tests are skipped, or
fail when ``$CI`` is set so that CI cannot silently stop testing Redis. The system Redis on
6379 is never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

__all__ = [
    "RedisServer",
    "redis_server",
    "redis_server_factory",
    "redis_url",
]

_READY_TIMEOUT = 5.0


def _binary() -> str:
    found = shutil.which(os.environ.get("REDIS_SERVER") or "redis-server")
    if found:
        return found
    reason = "redis-server binary not found (install redis-server or set $REDIS_SERVER)"
    if os.environ.get("CI"):
        pytest.fail(reason + "; refusing to skip Redis tests because $CI is set")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    if port == 6379:  # pragma: no cover - the kernel never hands out 6379 as ephemeral
        return _free_port()
    return port


class RedisServer:
    """One ``redis-server`` child process bound to 127.0.0.1 on a fixed port and directory."""

    def __init__(self, binary: str, directory: Path, *, appendonly: bool = False) -> None:
        self.binary = binary
        self.dir = directory
        self.appendonly = appendonly
        self.port = _free_port()
        #: Unix socket path (short: under a mkdtemp directory, not pytest's long tmp_path).
        self.unixsocket = str(directory / "redis.sock")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the server is not running")
        return self._proc.pid

    def __repr__(self) -> str:
        return f"<RedisServer port={self.port} pid={self._proc and self._proc.pid}>"

    def args(self) -> list[str]:
        """The command line; subclasses (cluster nodes, replicas, TLS) extend it."""
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--unixsocket", self.unixsocket,
            "--unixsocketperm", "700",
            "--dir", str(self.dir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            # fsync on every write: a SIGKILL test must not depend on the 1 s fsync timer.
            "--appendfsync", "always",
            "--daemonize", "no",
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it answers PING (bounded)."""
        if self._proc is not None:
            raise RuntimeError("already running")
        self._proc = subprocess.Popen(
            self.args(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited with {self._proc.returncode}:\n{log}")
            if self.ping():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} not ready in time")
            time.sleep(0.02)

    def ping(self) -> bool:
        """Whether the server answers PING now (plain TCP; the TLS subclass overrides it)."""
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
        return False

    def is_alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _signal(self, sig: signal.Signals) -> None:
        os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, no final AOF rewrite) and reap it."""
        if self._proc is None:
            return
        self._signal(signal.SIGKILL)
        self._proc.wait(timeout=10)
        self._proc = None

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections, but nothing answers."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        self._signal(signal.SIGCONT)

    def restart(self) -> None:
        """Stop (if running) and start again on the same port and directory."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """SIGTERM (after SIGCONT, in case it is paused); SIGKILL if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _new_server(*, appendonly: bool) -> RedisServer:
    directory = Path(tempfile.mkdtemp(prefix="jwtmw-redis-"))
    server = RedisServer(_binary(), directory, appendonly=appendonly)
    for attempt in range(3):  # the free port may be taken between probe and bind
        try:
            server.start()
            return server
        except RuntimeError:
            if attempt == 2:
                shutil.rmtree(directory, ignore_errors=True)
                raise
            server.port = _free_port()
    raise AssertionError("unreachable")


def _dispose(server: RedisServer) -> None:
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def _session_redis() -> Iterator[RedisServer]:
    server = _new_server(appendonly=False)
    try:
        yield server
    finally:
        _dispose(server)


@pytest.fixture
def redis_server(_session_redis: RedisServer) -> RedisServer:
    """The shared server, brought back to life if an earlier test killed or paused it."""
    if not _session_redis.is_alive():
        _session_redis.restart()
    else:
        _session_redis.resume()
    return _session_redis


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def redis_server_factory() -> Iterator[Callable[..., RedisServer]]:
    """Start dedicated servers: ``factory(appendonly=True)`` for AOF persistence."""
    started: list[RedisServer] = []

    def factory(*, appendonly: bool = False) -> RedisServer:
        server = _new_server(appendonly=appendonly)
        started.append(server)
        return server

    yield factory
    for server in started:
        _dispose(server)
