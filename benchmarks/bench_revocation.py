"""What the revocation check costs per request, by store, in process.

The middleware asks the store on every request, after the signature and claims passed (here:
a verified-token cache hit, HS256), so the difference to the same middleware without a store is
the price of the check. Stores: ``memory://``, ``sqlite:///`` (a file in a temporary
directory) and ``redis://`` (a ``redis-server`` this script starts on a free loopback port with
``--save "" --appendonly no`` and stops by pid; skipped when there is no ``redis-server``).
Each store holds 1,000 revoked token ids and a revoked subject, so the lookups are not on empty
tables. Measured through ``JWTMiddleware`` (ASGI: async store calls; SQLite's run in a worker
thread) and ``JWTWSGIMiddleware`` (sync calls), and ``Store.is_revoked`` alone. Every store is
checked to refuse a revoked token before it is timed. Usage::

    python benchmarks/bench_revocation.py [--quick] [--rounds N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import (
    ISSUER,
    SUBJECT,
    Case,
    Timing,
    asgi_scope,
    bare_asgi,
    bare_wsgi,
    case_rows,
    cycle_next,
    environment,
    key_material,
    measure,
    noop_receive,
    noop_send,
    noop_start_response,
    require,
    timing_table,
    wsgi_environ,
)
from _common import write_json as _write_json

from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware, Settings
from jwtmiddleware.stores import Store, open_store
from jwtmiddleware.stores.base import RevocationQuery

REVOKED_IDS = 1000
_READY_TIMEOUT = 5.0


# -- a redis-server of our own ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str | None]:
    """A private ``redis-server`` on a free loopback port (its URL), stopped by pid; ``None``
    when the binary is missing."""
    binary = shutil.which(os.environ.get("REDIS_SERVER") or "redis-server")
    if binary is None:
        yield None
        return
    port = _free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(directory), "--daemonize", "no",
            "--logfile", str(directory / "redis.log")]  # fmt: skip
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + _READY_TIMEOUT
        while True:
            require(proc.poll() is None, f"redis-server exited with {proc.returncode}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    break
            require(time.monotonic() < deadline, "redis-server did not answer PING in time")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# -- configurations --------------------------------------------------------------------------


def _fill(store: Store) -> None:
    now = time.time()
    for _ in range(REVOKED_IDS):
        store.revoke_token(ISSUER, secrets.token_urlsafe(16), expires_at=now + 3600, now=now)
    store.revoke_subject(ISSUER, "someone-else", before=now, expires_at=now + 3600, now=now)


def _asgi(name: str, settings: Settings, store: Store | None, token: str, revoked: str) -> Case:
    app = JWTMiddleware(bare_asgi, settings=settings, store=store)
    scopes = [asgi_scope(token)]

    async def timed(n: int) -> int:
        next_scope, receive, send = cycle_next(scopes), noop_receive, noop_send
        start = time.perf_counter_ns()
        for _ in range(n):
            await app(next_scope(), receive, send)
        return time.perf_counter_ns() - start

    async def check() -> None:
        for tok, expected in ((token, 200), (revoked, 401 if store is not None else 200)):
            statuses: list[int] = []

            async def record(message: Any, statuses: list[int] = statuses) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            await app(asgi_scope(tok), noop_receive, record)
            require(statuses == [expected], f"{name}: answered {statuses}, not {expected}")

    baseline = None if store is None else "JWTMiddleware, no store"
    return Case(name, "asgi", baseline, timed, check)


def _wsgi(name: str, settings: Settings, store: Store | None, token: str, revoked: str) -> Case:
    app = JWTWSGIMiddleware(bare_wsgi, settings=settings, store=store)
    environs = [wsgi_environ(token)]

    async def timed(n: int) -> int:
        next_environ, start_response = cycle_next(environs), noop_start_response
        start = time.perf_counter_ns()
        for _ in range(n):
            for _chunk in app(next_environ().copy(), start_response):
                pass
        return time.perf_counter_ns() - start

    async def check() -> None:
        for tok, expected in ((token, "200"), (revoked, "401" if store is not None else "200")):
            statuses: list[str] = []

            def record(status: str, headers: Any, exc_info: Any = None, s: Any = statuses) -> Any:
                s.append(status)

            b"".join(app(wsgi_environ(tok), record))
            require(statuses[0].startswith(expected), f"{name}: answered {statuses}")

    baseline = None if store is None else "JWTWSGIMiddleware, no store"
    return Case(name, "wsgi", baseline, timed, check)


def _lookup(name: str, store: Store, query: RevocationQuery) -> Case:
    async def timed(n: int) -> int:
        is_revoked, now = store.is_revoked, time.time()
        start = time.perf_counter_ns()
        for _ in range(n):
            is_revoked(query, now=now)
        return time.perf_counter_ns() - start

    async def check() -> None:
        require(store.is_revoked(query, now=time.time()) is False, f"{name}: revoked?")

    return Case(name, "lookup", None, timed, check)


def build_cases(directory: Path, redis_url: str | None) -> tuple[list[Case], list[Store]]:
    material = key_material(["HS256"])["HS256"]
    settings = material.settings()
    token = material.mint(settings)
    stores: dict[str, Store] = {"memory": open_store("memory://")}
    stores["sqlite"] = open_store(f"sqlite:///{directory / 'revocation.db'}")
    if redis_url is not None:
        stores["redis"] = open_store(redis_url, timeout=1.0, prefix=f"bench{os.getpid()}:")
    revoked = material.mint(settings, jti="revoked-" + secrets.token_urlsafe(8))
    now = time.time()
    for store in stores.values():
        _fill(store)
        store.revoke_token(ISSUER, revoked_jti(revoked), expires_at=now + 3600, now=now)
    query = RevocationQuery(
        issuer=ISSUER, subject=SUBJECT, token_id="not-revoked", session_id=None, issued_at=now
    )
    cases = [_asgi("JWTMiddleware, no store", settings, None, token, revoked)]
    cases += [
        _asgi(f"JWTMiddleware, {kind} store", settings, store, token, revoked)
        for kind, store in stores.items()
    ]
    cases.append(_wsgi("JWTWSGIMiddleware, no store", settings, None, token, revoked))
    cases += [
        _wsgi(f"JWTWSGIMiddleware, {kind} store", settings, store, token, revoked)
        for kind, store in stores.items()
    ]
    cases += [
        _lookup(f"{type(store).__name__}.is_revoked alone", store, query)
        for store in stores.values()
    ]
    return cases, list(stores.values())


def revoked_jti(token: str) -> str:
    import base64
    import json

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="timed rounds per configuration (7; quick: 3)")
    parser.add_argument("--quick", action="store_true", help="short rounds, for a smoke run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    timing = Timing.choose(args.quick, args.rounds)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jwtmw-bench-") as tmp, redis_server(Path(tmp)) as url:
        cases, stores = build_cases(Path(tmp), url)
        try:
            asyncio.run(measure(cases, timing))
        finally:
            for store in stores:
                store.close()
    rows = case_rows(cases)
    seconds = round(time.perf_counter() - started, 1)
    _write_json(
        args.json,
        {
            "script": "bench_revocation",
            "environment": environment(),
            "quick": args.quick,
            "timing": vars(timing),
            "redis": url is not None,
            "seconds": seconds,
            "results": rows,
        },
    )
    print(
        f"revocation check, HS256 cache hit; median of {timing.rounds} round(s), µs per request, "
        f"in process ({seconds} s){'' if url else '; no redis-server: Redis not measured'}\n"
    )
    print(timing_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
