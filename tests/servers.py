"""Start real servers on free loopback ports for integration tests, and stop them by pid.

``run_server(argv, port, env=...)`` starts one server as a child process, waits until the port
answers HTTP, yields a :class:`RunningServer` and, on exit, stops exactly that process (SIGTERM,
then SIGKILL after a grace period) and collects what it printed. Use it inside a pytest fixture::

    @pytest.fixture(scope="module")
    def server():
        port = free_port()
        env = server_env({"JWTMIDDLEWARE_SECRET": secrets.token_urlsafe(32)})
        with run_server(uvicorn_argv("tests.apps.asgi_echo:create_app", port), port, env=env) as s:
            yield s

The ``*_argv`` helpers build the command lines; the apps in ``tests.apps`` are loaded through
factories, so importing them never needs settings. Only ``127.0.0.1`` is ever used.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

__all__ = [
    "HOST",
    "REPO_ROOT",
    "RunningServer",
    "ServerStartError",
    "free_port",
    "gunicorn_argv",
    "hypercorn_argv",
    "run_server",
    "server_env",
    "uvicorn_argv",
]

#: The only address servers bind to and tests talk to.
HOST = "127.0.0.1"
#: The repository root: the servers' working directory, so ``tests.apps`` is importable.
REPO_ROOT = Path(__file__).resolve().parent.parent

_ENV_PREFIX = "JWTMIDDLEWARE_"
_POLL_INTERVAL = 0.05
_STDERR_TAIL = 4000


class ServerStartError(RuntimeError):
    """The server exited or did not answer HTTP in time; the message ends with its stderr."""


class RunningServer:
    """A server process started by :func:`run_server`."""

    def __init__(self, argv: Sequence[str], port: int, proc: subprocess.Popen[bytes]) -> None:
        #: The command line the server was started with.
        self.argv = list(argv)
        #: The loopback port it listens on.
        self.port = port
        #: The child process (stop it only through :func:`run_server`).
        self.proc = proc
        #: What the server printed; filled in when it has been stopped.
        self.stdout = ""
        #: What the server logged; filled in when it has been stopped.
        self.stderr = ""

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def __repr__(self) -> str:
        return f"<RunningServer {self.argv[2] if len(self.argv) > 2 else self.argv} {self.url}>"


def free_port() -> int:
    """A TCP port on ``127.0.0.1`` that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(settings: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment for a server: ours, minus any ``JWTMIDDLEWARE_*``, plus ``settings``.

    The repository root is put first on ``PYTHONPATH`` so ``tests.apps`` imports in the child.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIX)}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings or {})
    env.update(extra)
    return env


def uvicorn_argv(factory: str, port: int, *options: str) -> list[str]:
    """``python -m uvicorn <module:factory> --factory`` on ``127.0.0.1:<port>``."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-access-log",
        *options,
    ]


def hypercorn_argv(app: str, port: int, *options: str) -> list[str]:
    """``python -m hypercorn`` on ``127.0.0.1:<port>``; ``app`` may be ``"module:factory()"``."""
    return [sys.executable, "-m", "hypercorn", "-b", f"{HOST}:{port}", *options, app]


def gunicorn_argv(app: str, port: int, *options: str) -> list[str]:
    """``python -m gunicorn`` with one sync worker; ``app`` may be ``"module:factory()"``."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "1",
        "-b",
        f"{HOST}:{port}",
        # A stop should not wait for the default 30 s of graceful shutdown.
        "--graceful-timeout",
        "3",
        *_gunicorn_control_socket_off(),
        *options,
        app,
    ]


@functools.cache
def _gunicorn_control_socket_off() -> tuple[str, ...]:
    """``--no-control-socket`` if this gunicorn has one: its default path in ``~`` is shared."""
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return ()
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        return ("--no-control-socket",)
    return ()


def _http_status(port: int, path: str) -> int | None:
    """The status of ``GET path``, or ``None`` if the port does not answer HTTP yet."""
    conn = http.client.HTTPConnection(HOST, port, timeout=1.0)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _wait_until_ready(
    proc: subprocess.Popen[bytes], port: int, path: str, timeout: float
) -> str | None:
    """``None`` once ``path`` answers HTTP, else what went wrong."""
    deadline = time.monotonic() + timeout
    while _http_status(port, path) is None:
        if proc.poll() is not None:
            return f"exited with status {proc.returncode}"
        if time.monotonic() > deadline:
            return f"did not answer HTTP on port {port} within {timeout:g} s"
        time.sleep(_POLL_INTERVAL)
    if proc.poll() is not None:  # someone else answered on the port we failed to bind
        return f"exited with status {proc.returncode} (was port {port} taken?)"
    return None


def _read(stream: IO[bytes]) -> str:
    stream.seek(0)
    return stream.read().decode("utf-8", "replace")


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process by pid, SIGKILL it if it is still there after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


@contextlib.contextmanager
def run_server(
    argv: Sequence[str],
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/health",
    timeout: float = 15.0,
    grace: float = 5.0,
    cwd: str | os.PathLike[str] = REPO_ROOT,
) -> Iterator[RunningServer]:
    """Run ``argv`` until the ``with`` block ends; yield once ``ready_path`` answers HTTP.

    Any HTTP status counts as ready. If the process exits or stays silent for ``timeout``
    seconds, it is stopped and :class:`ServerStartError` shows the tail of its stderr.
    Output goes to temporary files (never pipes, which a chatty server could fill).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=dict(env) if env is not None else server_env(),
            cwd=cwd,
        )
        server = RunningServer(argv, port, proc)
        try:
            problem = _wait_until_ready(proc, port, ready_path, timeout)
            if problem is not None:
                _stop(proc, grace)
                stderr = _read(err)[-_STDERR_TAIL:]
                raise ServerStartError(f"{' '.join(argv)}\n{problem}; its stderr:\n{stderr}")
            yield server
        finally:
            _stop(proc, grace)
            server.stdout, server.stderr = _read(out), _read(err)
