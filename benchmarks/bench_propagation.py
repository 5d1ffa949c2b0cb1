"""How fast a revocation made in one process is refused in another, through the mirror.

Two measurements per store (``redis://``: a private ``redis-server`` on a free loopback port,
stopped by pid; ``sqlite:///``: a file in a temporary directory):

- **two processes**: a reader process holds the store's mirror (``STORE_MAX_LAG = 1``) and polls
  it for each of ``--count`` tokens in turn (every 0.2 ms); this process revokes them one by one,
  at random intervals of 20-60 ms, noting the time just before each write. Propagation is the
  reader's "refused" time minus that write time (one machine, one clock).
- **servers with two workers**: uvicorn ``--workers 2`` (ASGI) and gunicorn ``-w 2`` (WSGI)
  serve ``JWTMiddleware`` in front of an app that answers its pid; after each revocation this
  process sends requests on new connections until both workers have refused the token.
  Propagation is the time from the write until the second worker refused: an upper bound (a
  worker is only seen when the kernel hands it a connection).

Reports p50, p99 and the maximum in milliseconds (goal: p99 <= 50 ms on Redis, <= 100 ms on
SQLite). Usage::

    python benchmarks/bench_propagation.py [--quick] [--count N] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import ISSUER, environment, markdown_table, require, write_json
from bench_revocation import redis_server

from jwtmiddleware import Settings
from jwtmiddleware.sessions.manager import SessionManager
from jwtmiddleware.testing import mint_token

HERE = Path(__file__).resolve().parent
SECRET = secrets.token_urlsafe(32)

READER = r"""
import json, sys, time
from jwtmiddleware.stores import open_store
from jwtmiddleware.stores._changes import revocation_keys
url, prefix, issuer = sys.argv[1], sys.argv[2], sys.argv[3]
jtis = json.loads(sys.stdin.readline())
store = open_store(url, prefix=prefix, timeout=1.0)
mirror = store.mirror(max_lag=1.0, timeout=1.0)
assert mirror.wait_ready(10)
print("ready", flush=True)
for jti in jtis:
    keys = revocation_keys({"iss": issuer, "jti": jti})
    while not mirror.revoked(keys, time.time()):
        time.sleep(0.0002)
    print(json.dumps([jti, time.time()]), flush=True)
store.close()
"""


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {
        "count": len(ordered),
        "p50_ms": round(pct(50), 2),
        "p99_ms": round(pct(99), 2),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def _manager(url: str, prefix: str) -> SessionManager:
    settings = Settings(secret=SECRET, issuer=ISSUER, store=url, store_prefix=prefix,
                        store_timeout=1.0)  # fmt: skip
    return SessionManager(settings)


def two_processes(url: str, count: int) -> dict[str, float]:
    prefix = f"prop{secrets.token_hex(3)}:"
    jtis = [secrets.token_urlsafe(12) for _ in range(count)]
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, url, prefix, ISSUER],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert reader.stdin is not None
    assert reader.stdout is not None
    manager = _manager(url, prefix)
    written: dict[str, float] = {}
    try:
        reader.stdin.write(json.dumps(jtis) + "\n")
        reader.stdin.flush()
        require(reader.stdout.readline().strip() == "ready", "the reader did not start")
        for jti in jtis:
            time.sleep(random.uniform(0.02, 0.06))
            written[jti] = time.time()
            manager.revoke_token(jti, issuer=ISSUER, expires_at=time.time() + 600)
        seen = [json.loads(reader.stdout.readline()) for _ in jtis]
        reader.wait(timeout=30)
    finally:
        manager.close()
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    return _percentiles([(at - written[jti]) * 1000 for jti, at in seen])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, token: str) -> tuple[int, int]:
    """``(status, pid of the worker that answered)`` on a new connection (the app answers its
    pid, and its refusals carry it in ``X-Worker-Pid``)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        return response.status, int(response.getheader("x-worker-pid") or 0)
    finally:
        conn.close()


def _pair(pool: ThreadPoolExecutor, port: int, token: str) -> list[tuple[int, int]]:
    """Two requests at once: a second connection arriving while a (sync) worker is busy with
    the first goes to the other worker, so both are asked."""
    return list(pool.map(lambda _: _get(port, token), range(2)))


@contextlib.contextmanager
def _server(kind: str, url: str, prefix: str) -> Iterator[int]:
    port = _free_port()
    env = {**os.environ, "BENCH_SECRET": SECRET, "BENCH_STORE": url, "BENCH_PREFIX": prefix,
           "PYTHONPATH": str(HERE)}  # fmt: skip
    if kind == "uvicorn":
        argv = [sys.executable, "-m", "uvicorn", "server_apps:pid_asgi", "--factory",
                "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port),
                "--workers", "2", "--no-access-log", "--log-level", "warning"]  # fmt: skip
    else:
        argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                "--graceful-timeout", "3", "--chdir", str(HERE),
                "server_apps:pid_wsgi()"]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            require(proc.poll() is None, f"{kind} exited")
            with contextlib.suppress(OSError, http.client.HTTPException):
                _get(port, "x")
                break
            require(time.monotonic() < deadline, f"{kind} did not start")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def two_workers(kind: str, url: str, count: int) -> dict[str, float]:
    prefix = f"srv{secrets.token_hex(3)}:"
    settings = Settings(secret=SECRET, issuer=ISSUER)
    manager = _manager(url, prefix)
    latencies = []
    try:
        with _server(kind, url, prefix) as port, ThreadPoolExecutor(2) as pool:
            for i in range(count):
                token = mint_token(settings, {"jti": f"{prefix}j{i}"}, subject=f"u{i}", ttl=600)
                accepted: set[int] = set()
                deadline = time.monotonic() + 10
                while len(accepted) < 2:  # both workers verified (and cached) the token
                    for status, pid in _pair(pool, port, token):
                        require(status == 200, f"{kind}: {status} before the revocation")
                        accepted.add(pid)
                    require(time.monotonic() < deadline, f"{kind}: only {accepted} answered")
                time.sleep(random.uniform(0.005, 0.02))
                start = time.time()
                manager.revoke_token(f"{prefix}j{i}", issuer=ISSUER, expires_at=time.time() + 600)
                refused: set[int] = set()
                while refused != accepted:
                    refused.update(pid for status, pid in _pair(pool, port, token) if status == 401)
                latencies.append((time.time() - start) * 1000)
    finally:
        manager.close()
    return _percentiles(latencies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 revocations per measurement")
    parser.add_argument("--count", type=int, help="revocations per measurement (200)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    count = args.count or (30 if args.quick else 200)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="jwtmw-prop-") as tmp, redis_server(Path(tmp)) as rurl:
        stores = {"sqlite": f"sqlite:///{Path(tmp) / 'store.db'}"}
        if rurl is not None:
            stores["redis"] = rurl
        for name, url in stores.items():
            rows.append({"store": name, "setup": "two processes", **two_processes(url, count)})
            for kind in ("uvicorn", "gunicorn"):
                setup = f"{kind}, 2 workers, HTTP"
                rows.append({"store": name, "setup": setup, **two_workers(kind, url, count)})
    seconds = round(time.perf_counter() - started, 1)
    write_json(args.json, {"script": "bench_propagation", "environment": environment(),
                           "count": count, "seconds": seconds, "results": rows})  # fmt: skip
    print(f"revocation propagation, STORE_MAX_LAG = 1, {count} revocations each ({seconds} s)\n")
    print(markdown_table(
        ["store", "setup", "p50 ms", "p99 ms", "max ms", "goal (p99)"],
        [[r["store"], r["setup"], f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}", f"{r['max_ms']:.1f}",
          "<= 50" if r["store"] == "redis" else "<= 100"] for r in rows],
        left=2,
    ))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
