"""What the revocation check costs per request, by store, in process: the mirror against asking
the store on every request (``STORE_MAX_LAG = 0``).

The middleware checks revocation after the signature and claims passed (here: a verified-token
cache hit, HS256). With the mirror (``STORE_MAX_LAG = 1``, the default) the check is a few
dictionary lookups in memory; with ``STORE_MAX_LAG = 0`` it is a store call per request. Every
configuration is timed side by side with the bare app and the middleware without a store, so
the table gives what each adds over the bare app and over the no-store middleware. Stores:
``memory://``, ``sqlite:///`` (a file in a temporary directory) and ``redis://`` (a
``redis-server`` this script starts on a free loopback port with ``--save "" --appendonly no``
and stops by pid; skipped when there is no ``redis-server``). Each store holds 1,000 revoked
token ids and a revoked subject, so the lookups are not on empty tables. Every configuration is
checked to refuse a revoked token before it is timed. After the timing, the Redis server's
``INFO commandstats`` is read around 20,000 requests through each Redis configuration: the
commands Redis served per request (the mirror's follower included). Usage::

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
    markdown_table,
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
COUNTED_REQUESTS = 20_000
#: The middleware of each configuration, by name (for counting Redis commands after timing).
APPS: dict[str, Any] = {}
NO_STORE_ASGI, NO_STORE_WSGI = "JWTMiddleware, no store", "JWTWSGIMiddleware, no store"
LAG0 = "STORE_MAX_LAG=0"
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


BARE_ASGI, BARE_WSGI = "bare ASGI app", "bare WSGI app"


def _bare_asgi(token: str) -> Case:
    scopes = [asgi_scope(token)]

    async def timed(n: int) -> int:
        next_scope, receive, send = cycle_next(scopes), noop_receive, noop_send
        start = time.perf_counter_ns()
        for _ in range(n):
            await bare_asgi(next_scope(), receive, send)
        return time.perf_counter_ns() - start

    async def check() -> None:
        return None

    return Case(BARE_ASGI, "asgi", None, timed, check)


def _bare_wsgi(token: str) -> Case:
    environs = [wsgi_environ(token)]

    async def timed(n: int) -> int:
        next_environ, start_response = cycle_next(environs), noop_start_response
        start = time.perf_counter_ns()
        for _ in range(n):
            for _chunk in bare_wsgi(next_environ().copy(), start_response):
                pass
        return time.perf_counter_ns() - start

    async def check() -> None:
        return None

    return Case(BARE_WSGI, "wsgi", None, timed, check)


def _asgi(name: str, settings: Settings, store: Store | None, token: str, revoked: str) -> Case:
    app = JWTMiddleware(bare_asgi, settings=settings, store=store)
    if app.mirror is not None:
        require(app.start(10), f"{name}: the mirror did not load")
    APPS[name] = (app, token)
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

    return Case(name, "asgi", BARE_ASGI, timed, check)


def _wsgi(name: str, settings: Settings, store: Store | None, token: str, revoked: str) -> Case:
    app = JWTWSGIMiddleware(bare_wsgi, settings=settings, store=store)
    if app.mirror is not None:
        require(app.start(10), f"{name}: the mirror did not load")
    APPS[name] = (app, token)
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

    return Case(name, "wsgi", BARE_WSGI, timed, check)


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
    lag0 = settings.replace(store_max_lag=0)
    cases = [_bare_asgi(token), _asgi(NO_STORE_ASGI, settings, None, token, revoked)]
    for kind, store in stores.items():
        cases.append(_asgi(f"JWTMiddleware, {kind} mirror", settings, store, token, revoked))
        cases.append(_asgi(f"JWTMiddleware, {kind} {LAG0}", lag0, store, token, revoked))
    cases += [_bare_wsgi(token), _wsgi(NO_STORE_WSGI, settings, None, token, revoked)]
    for kind, store in stores.items():
        cases.append(_wsgi(f"JWTWSGIMiddleware, {kind} mirror", settings, store, token, revoked))
        cases.append(_wsgi(f"JWTWSGIMiddleware, {kind} {LAG0}", lag0, store, token, revoked))
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


def _run_requests(name: str, n: int) -> None:
    app, token = APPS[name]
    if isinstance(app, JWTMiddleware):
        scope = asgi_scope(token)

        async def run() -> None:
            for _ in range(n):
                await app(dict(scope), noop_receive, noop_send)

        asyncio.run(run())
    else:
        environ = wsgi_environ(token)
        for _ in range(n):
            for _chunk in app(environ.copy(), noop_start_response):
                pass


def redis_commands_per_request(url: str) -> list[dict[str, Any]]:
    """Commands Redis served (by name, inside scripts included) over ``COUNTED_REQUESTS``
    requests through each Redis configuration, the mirror's follower included."""
    import redis

    probe = redis.Redis.from_url(url)
    rows = []
    try:
        for name in [n for n in APPS if "redis" in n]:
            before = probe.info("commandstats")
            started = time.perf_counter()
            _run_requests(name, COUNTED_REQUESTS)
            took = time.perf_counter() - started
            after = probe.info("commandstats")
            calls = {
                k.removeprefix("cmdstat_"): int(v["calls"]) - int(before.get(k, {}).get("calls", 0))
                for k, v in after.items()
                if k != "cmdstat_info"
            }
            calls = {k: v for k, v in calls.items() if v}
            total = sum(calls.values())
            rows.append({"configuration": name, "requests": COUNTED_REQUESTS,
                         "seconds": round(took, 2), "commands": calls,
                         "per_request": round(total / COUNTED_REQUESTS, 4)})  # fmt: skip
    finally:
        probe.close()
    return rows


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per store and interface: the mirror's added time over the no-store middleware's (both
    over the bare app; target <= 1.2), and what the check costs per request with
    STORE_MAX_LAG=0 against with the mirror (both over the no-store middleware; target >= 10)."""
    by = {row["configuration"]: row for row in rows}
    out = []
    for iface, no_store in (("JWTMiddleware", NO_STORE_ASGI), ("JWTWSGIMiddleware", NO_STORE_WSGI)):
        base = by[no_store]["added_us"]
        for kind in ("memory", "sqlite", "redis"):
            mirror, lag0 = by.get(f"{iface}, {kind} mirror"), by.get(f"{iface}, {kind} {LAG0}")
            if mirror is None or lag0 is None:
                continue
            check_mirror = mirror["median_us"] - by[no_store]["median_us"]
            check_lag0 = lag0["median_us"] - by[no_store]["median_us"]
            out.append({
                "interface": iface,
                "store": kind,
                "mirror_over_no_store": round(mirror["added_us"] / base, 3),
                "check_us_mirror": round(check_mirror, 3),
                "check_us_lag0": round(check_lag0, 3),
                "lag0_over_mirror": round(check_lag0 / check_mirror, 1)
                if check_mirror > 0 else None,
            })  # fmt: skip
    return out


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
            commands = redis_commands_per_request(url) if url is not None else []
        finally:
            for store in stores:
                store.close()
    rows = case_rows(cases)
    summary = ratios(rows)
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
            "ratios": summary,
            "redis_commands": commands,
        },
    )
    print(
        f"revocation check, HS256 cache hit; median of {timing.rounds} round(s), µs per request, "
        f"in process ({seconds} s){'' if url else '; no redis-server: Redis not measured'}\n"
    )
    print(timing_table(rows))
    print("\nthe check's cost: mirror vs no store (added over the bare app), STORE_MAX_LAG=0 vs"
          " mirror (added over the no-store middleware)\n")  # fmt: skip
    print(markdown_table(
        ["interface", "store", "mirror / no store (<= 1.2)", "check µs, mirror",
         "check µs, lag 0", "lag 0 / mirror (>= 10)"],
        [[r["interface"], r["store"], f"{r['mirror_over_no_store']:.2f}x",
          f"{r['check_us_mirror']:+.2f}", f"{r['check_us_lag0']:+.2f}",
          "—" if r["lag0_over_mirror"] is None else f"{r['lag0_over_mirror']:.0f}x"]
         for r in summary],
    ))  # fmt: skip
    if commands:
        print(f"\nRedis commands over {COUNTED_REQUESTS:,} requests (INFO commandstats)\n")
        print(markdown_table(
            ["configuration", "commands / request", "commands", "seconds"],
            [[r["configuration"], f"{r['per_request']:.4f}",
              ", ".join(f"{k} {v}" for k, v in sorted(r["commands"].items())) or "none",
              f"{r['seconds']:.2f}"] for r in commands],
        ))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
