"""Building blocks of the Redis topology fixtures: data nodes (plain, TLS, cluster-enabled,
replica, password-protected) and the helpers to start, wait for and dispose of them."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.redis_server import RedisServer, _free_port
from tests.redis_tls import TLSFiles

__all__ = [
    "NO_RETRY",
    "SETTLE_TIMEOUT",
    "Node",
    "cli_binary",
    "dispose",
    "new_dir",
    "ssl_options",
    "start_node",
    "tls_args",
    "wait_for",
]

#: For the fixtures' own clients: fail at once, the caller polls.
NO_RETRY = Retry(NoBackoff(), 0)
SETTLE_TIMEOUT = 20.0


def cli_binary() -> str:
    found = shutil.which(os.environ.get("REDIS_CLI") or "redis-cli")
    if found:
        return found
    reason = "redis-cli binary not found (install redis-tools or set $REDIS_CLI)"
    if os.environ.get("CI"):
        pytest.fail(reason + "; refusing to skip Redis tests because $CI is set")
    pytest.skip(reason)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` (exceptions count as "not yet") until true; return the time taken."""
    start = time.monotonic()
    while True:
        with contextlib.suppress(redis.RedisError, OSError):
            if condition():
                return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Node(RedisServer):
    """A data node: plain, TLS-only (``tls``), password-protected, cluster-enabled
    (``cluster=True``) or a replica (set :attr:`replicaof` before :meth:`start`)."""

    def __init__(
        self,
        binary: str,
        directory: Path,
        *,
        appendonly: bool = False,
        tls: TLSFiles | None = None,
        auth_clients: bool = False,
        password: str | None = None,
        cluster: bool = False,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(binary, directory, appendonly=appendonly)
        #: More ``--name value`` arguments, e.g. ``("--maxmemory-policy", "allkeys-lru")``.
        self.extra_args = tuple(extra_args)
        self.tls = tls
        self.auth_clients = auth_clients
        self.password = password
        self.cluster = cluster
        self.bus_port = _free_port()
        #: ``(host, port)`` of the master this node replicates, if any.
        self.replicaof: tuple[str, int] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        scheme = "rediss" if self.tls else "redis"
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}/0"

    def reassign_ports(self) -> None:
        self.port, self.bus_port = _free_port(), _free_port()

    def args(self) -> list[str]:
        args = super().args()
        if self.tls:
            args[args.index("--port") + 1] = "0"
            args += ["--tls-port", str(self.port), *tls_args(self.tls, self.auth_clients)]
            if self.cluster:
                args += ["--tls-cluster", "yes"]
            args += ["--tls-replication", "yes"]
        if self.password:
            args += ["--requirepass", self.password, "--masterauth", self.password]
        if self.cluster:
            args += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.dir / "nodes.conf"),
                "--cluster-port", str(self.bus_port),
                "--cluster-node-timeout", "2000",
                "--cluster-announce-ip", "127.0.0.1",
            ]  # fmt: skip
        # A full resync starts at once instead of waiting 5 s for more replicas to join.
        args += ["--repl-diskless-sync-delay", "0"]
        if self.replicaof:
            host, port = self.replicaof
            args += ["--replicaof", host, str(port), "--replica-announce-ip", "127.0.0.1"]
        return [*args, *self.extra_args]

    def ping(self) -> bool:
        """PING answered, or refused for want of a password: either way the server is up."""
        with contextlib.suppress(OSError), _connect(self.port, self.tls) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        return False

    def client(self, **options: Any) -> redis.Redis:
        """A redis-py client to this node alone (for setting up and inspecting tests)."""
        options.setdefault("socket_timeout", 2.0)
        options.setdefault("password", self.password)
        options.setdefault("retry", NO_RETRY)  # redis-py would retry with back-off for seconds
        options = {**ssl_options(self.tls), **options}
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, **options)

    def role(self) -> str:
        with self.client() as client:
            return str(client.info("replication")["role"])


def tls_args(tls: TLSFiles, auth_clients: bool) -> list[str]:
    return [
        "--tls-cert-file", str(tls.server_cert),
        "--tls-key-file", str(tls.server_key),
        "--tls-ca-cert-file", str(tls.ca),
        "--tls-auth-clients", "yes" if auth_clients else "no",
    ]  # fmt: skip


def ssl_options(tls: TLSFiles | None) -> dict[str, Any]:
    if tls is None:
        return {}
    return {
        "ssl": True,
        "ssl_ca_certs": str(tls.ca),
        "ssl_certfile": str(tls.client_cert),
        "ssl_keyfile": str(tls.client_key),
    }


@contextlib.contextmanager
def _connect(port: int, tls: TLSFiles | None) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw:
        if tls is None:
            yield raw
            return
        context = ssl.create_default_context(cafile=str(tls.ca))
        context.load_cert_chain(str(tls.client_cert), str(tls.client_key))
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            yield sock


def start_node(node: RedisServer) -> None:
    """Start ``node``, retrying on other ports if a probed free port was taken meanwhile."""
    for attempt in range(3):
        try:
            node.start()
            return
        except RuntimeError:
            reassign = getattr(node, "reassign_ports", None)
            if attempt == 2 or reassign is None:
                raise
            reassign()


def dispose(node: RedisServer) -> None:
    node.stop()
    shutil.rmtree(node.dir, ignore_errors=True)


def new_dir(kind: str) -> Path:
    """A short private directory (Unix socket paths must stay under ~100 bytes)."""
    return Path(tempfile.mkdtemp(prefix=f"jwtmw-{kind}-"))
