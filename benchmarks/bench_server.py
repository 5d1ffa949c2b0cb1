"""Requests per second over a real server: uvicorn, one worker, loopback, side by side.

Four apps from ``server_apps.py`` (bare; a floor: the least a pure-Python middleware adds on a
cache hit; ``JWTMiddleware``; Starlette ``AuthenticationMiddleware`` + PyJWT), each served by its
own uvicorn process (one worker; uvloop and httptools when installed), all started at once on free
loopback ports. The load generator is ``wrk`` (one thread, keep-alive connections) when installed,
else ``_loadgen.py`` in its own process. Every request carries the same valid HS256 token, so
``JWTMiddleware`` runs on verified-token cache hits. Before timing, each app is checked to answer
200 with the token and (except the bare one) 401 without it, and warmed up. Then the apps are
loaded in turn, A/B/C/D, three times (``--runs``), ``--duration`` seconds each (10; quick: 1); any
non-2xx answer fails the run. With two or more CPUs the servers are pinned to CPU 0 and the load
generator to CPU 1 (``taskset``), so they do not compete for a core. Usage::

    python benchmarks/bench_server.py [--quick] [--duration S] [--runs N]
        [--connections C] [--loadgen {auto,wrk,python}] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import AUDIENCE, ISSUER, SUBJECT, environment, markdown_table, require, write_json

from jwtmiddleware import Settings
from jwtmiddleware.testing import mint_token

HERE = Path(__file__).resolve().parent
APPS = {
    "bare": "bare ASGI app",
    "floor": "floor: minimal pure-Python hit middleware (no verification)",
    "jwtmiddleware": "JWTMiddleware HS256 (cache hit)",
    "starlette_pyjwt": "Starlette AuthenticationMiddleware + PyJWT HS256",
}
#: ``--stores``: the middleware with a revocation store, through the mirror and per request.
STORE_APPS = {
    "bare": "bare ASGI app",
    "jwtmiddleware": "JWTMiddleware HS256 (cache hit), no store",
    "jwtmiddleware_sqlite_mirror": "JWTMiddleware, SQLite mirror",
    "jwtmiddleware_sqlite_lag0": "JWTMiddleware, SQLite STORE_MAX_LAG=0",
    "jwtmiddleware_redis_mirror": "JWTMiddleware, Redis mirror",
    "jwtmiddleware_redis_lag0": "JWTMiddleware, Redis STORE_MAX_LAG=0",
}
_READY_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pinning() -> tuple[list[str], list[str]]:
    """``taskset`` prefixes for the servers and the load generator (empty: no pinning)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return [], []
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return [], []
    return ["taskset", "-c", str(cpus[0])], ["taskset", "-c", str(cpus[1])]


@dataclass
class Server:
    app: str
    label: str
    port: int
    proc: subprocess.Popen[bytes]
    rps: list[float] = field(default_factory=list)


def _request(port: int, token: str | None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("GET", "/api/me", headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT
    while True:
        require(server.proc.poll() is None, f"uvicorn for {server.app} exited early")
        with contextlib.suppress(OSError, http.client.HTTPException):
            _request(server.port, None)
            return
        require(time.monotonic() < deadline, f"uvicorn for {server.app} not ready in time")
        time.sleep(0.05)


@contextlib.contextmanager
def servers(
    secret: str, token: str, pin: list[str], apps: dict[str, str], **extra_env: str
) -> Iterator[list[Server]]:
    """One uvicorn per app, stopped by pid on the way out."""
    env = {**os.environ, "BENCH_SECRET": secret, "BENCH_TOKEN": token, "PYTHONUNBUFFERED": "1",
           **extra_env}  # fmt: skip
    started: list[Server] = []
    try:
        for app, label in apps.items():
            port = _free_port()
            argv = [*pin, sys.executable, "-m", "uvicorn", f"server_apps:{app}", "--factory",
                    "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port),
                    "--no-access-log", "--log-level", "warning"]  # fmt: skip
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)
            started.append(Server(app, label, port, proc))
        for server in started:
            _wait_ready(server)
        yield started
    finally:
        for server in started:
            if server.proc.poll() is None:
                server.proc.terminate()
        for server in started:
            try:
                server.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait(timeout=10)


_WRK_RPS = re.compile(r"Requests/sec:\s*([\d.]+)")
_WRK_TOTAL = re.compile(r"(\d+) requests in")
_WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)")
_WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def load(
    loadgen: str, pin: list[str], port: int, token: str, duration: float, connections: int
) -> dict[str, float]:
    """One bounded load run: requests/s, requests, non-2xx answers, socket errors."""
    header = f"Authorization: Bearer {token}"
    if loadgen == "wrk":
        seconds = max(1, round(duration))
        argv = [*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-H", header,
                f"http://127.0.0.1:{port}/api/me"]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30,
                              check=False)  # fmt: skip
        require(done.returncode == 0, f"wrk failed: {done.stderr.strip()}")
        out = done.stdout
        rps, total = _WRK_RPS.search(out), _WRK_TOTAL.search(out)
        require(rps is not None and total is not None, f"unexpected wrk output:\n{out}")
        assert rps is not None
        assert total is not None
        non_2xx = _WRK_NON_2XX.search(out)
        errors = _WRK_ERRORS.search(out)
        return {
            "rps": float(rps.group(1)),
            "requests": int(total.group(1)),
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "errors": sum(int(g) for g in errors.groups()) if errors else 0,
        }
    argv = [*pin, sys.executable, str(HERE / "_loadgen.py"), "--port", str(port),
            "--connections", str(connections), "--duration", str(duration),
            "--header", header]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30,
                          check=False)  # fmt: skip
    require(done.returncode == 0, f"the load generator failed: {done.stderr.strip()}")
    result = json.loads(done.stdout)
    return {
        "rps": result["requests"] / result["seconds"],
        "requests": result["requests"],
        "non_2xx": result["non_2xx"],
        "errors": result["errors"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s runs, for a smoke run")
    parser.add_argument("--duration", type=float, help="seconds per run (10; quick: 1)")
    parser.add_argument("--runs", type=int, default=3, help="A/B/C alternations (3)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--stores", action="store_true", help="the store apps (mirror, STORE_MAX_LAG=0) instead"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    duration = args.duration if args.duration is not None else (1.0 if args.quick else 10.0)
    if not 0 < duration <= 60 or args.runs < 1:
        parser.error("--duration must be in (0, 60] and --runs at least 1")
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "python"
    require(loadgen != "wrk" or shutil.which("wrk") is not None, "wrk is not installed")
    server_pin, load_pin = _pinning()
    secret = secrets.token_urlsafe(32)
    settings = Settings(secret=secret, algorithms=("HS256",), issuer=ISSUER, audience=(AUDIENCE,))
    token = mint_token(settings, subject=SUBJECT, ttl=3600)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        apps, extra_env = APPS, {}
        if args.stores:
            from bench_revocation import redis_server

            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jwtmw-bench-")))
            url = stack.enter_context(redis_server(tmp))
            require(url is not None, "--stores needs redis-server")
            assert url is not None
            apps, extra_env = (
                STORE_APPS,
                {"BENCH_SQLITE": str(tmp / "store.db"), "BENCH_REDIS": url},
            )
        running = stack.enter_context(servers(secret, token, server_pin, apps, **extra_env))
        for server in running:
            with_token, without = _request(server.port, token), _request(server.port, None)
            expected = 200 if server.app == "bare" else 401
            require(with_token == 200, f"{server.app}: {with_token} with a valid token")
            require(without == expected, f"{server.app}: {without} without a token")
        for server in running:  # warm-up: imports, first connections, the token cache
            load(loadgen, load_pin, server.port, token, min(duration, 2.0), args.connections)
        for index in range(args.runs):
            for server in running:
                result = load(loadgen, load_pin, server.port, token, duration, args.connections)
                bad = result["non_2xx"] + result["errors"]
                require(bad == 0, f"{server.app}: {bad} failed requests in run {index + 1}")
                server.rps.append(result["rps"])
                print(f"  run {index + 1}: {server.app} {result['rps']:.0f} req/s",
                      file=sys.stderr, flush=True)  # fmt: skip
    bare = next(s for s in running if s.app == ("jwtmiddleware" if args.stores else "bare"))
    rows = []
    bare_median = statistics.median(bare.rps)
    for server in running:
        per_run = [r / b for r, b in zip(server.rps, bare.rps, strict=True)]
        rows.append(
            {
                "configuration": server.label,
                "app": server.app,
                "rps_median": round(statistics.median(server.rps), 1),
                "rps_min": round(min(server.rps), 1),
                "rps_max": round(max(server.rps), 1),
                "rps_runs": [round(r, 1) for r in server.rps],
                "ratio_to_bare": round(statistics.median(server.rps) / bare_median, 3),
                "ratio_per_run": [round(r, 3) for r in per_run],
            }
        )  # fmt: skip
    seconds = round(time.perf_counter() - started, 1)
    document = {
        "script": "bench_server",
        "stores": args.stores,
        "baseline": bare.label,
        "environment": environment(),
        "quick": args.quick,
        "duration": duration,
        "runs": args.runs,
        "connections": args.connections,
        "loadgen": loadgen,
        "pinned": bool(server_pin),
        "server": _server_description(),
        "seconds": seconds,
        "results": rows,
    }
    write_json(args.json, document)
    print(
        f"uvicorn ({document['server']}), 1 worker; {loadgen}, {args.connections} connections, "
        f"{args.runs} x {duration:g} s per app, alternating"
        f"{', pinned to separate CPUs' if server_pin else ''} ({seconds} s)\n"
    )
    print(table(rows, bare.label))
    return 0


def table(rows: list[dict[str, Any]], baseline: str = "bare ASGI app") -> str:
    header = ["configuration", "requests/s (median)", "min-max", "runs", f"ratio to {baseline}"]
    body = [
        [
            row["configuration"],
            f"{row['rps_median']:.0f}",
            f"{row['rps_min']:.0f}-{row['rps_max']:.0f}",
            " / ".join(f"{r:.0f}" for r in row["rps_runs"]),
            f"{row['ratio_to_bare']:.3f}",
        ]
        for row in rows
    ]
    return markdown_table(header, body)


def _server_description() -> str:
    parts = []
    for module, role in (("uvloop", "loop"), ("httptools", "http")):
        try:
            __import__(module)
        except ImportError:
            parts.append(f"{role}: {'asyncio' if role == 'loop' else 'h11'}")
        else:
            parts.append(f"{role}: {module}")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
