"""What metrics cost per request: off, Prometheus and OpenTelemetry, side by side in one run.

For ``JWTMiddleware`` and ``JWTWSGIMiddleware`` (HS256), three paths: a verified-token cache
**hit** (the same token again), a **miss** (a pool of distinct tokens larger than
``VERIFIED_CACHE_SIZE``, cycled: every request verifies a token), and a **refusal** (no token:
401, the cheapest refusal, so what the metrics add shows most). Each path with metrics off,
with ``metrics=CollectorRegistry()`` (prometheus_client) and with ``metrics=MeterProvider(...)``
(the OpenTelemetry SDK with an in-memory reader, as an application configures it). Logging is
left unconfigured: the refusal's INFO line is skipped by the level check, as in production
with the default WARNING level.

Every configuration is checked before it is timed (the status, the caller, a hit verifies no
signature, a miss one per request) and, with metrics on, that the decision was counted.
Timings as in ``bench_middleware.py`` (rounds round-robin, median, GC off); with
``--instructions`` each configuration also runs in its own process under valgrind's callgrind,
counting instructions inside the request loop only. Usage::

    python benchmarks/bench_metrics.py [--quick] [--rounds N] [--instructions] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import (
    Case,
    Timing,
    asgi_scope,
    bare_asgi,
    bare_wsgi,
    case_rows,
    environment,
    key_material,
    markdown_table,
    measure,
    noop_receive,
    noop_send,
    noop_start_response,
    require,
    timing_table,
    write_json,
    wsgi_environ,
)
from bench_middleware import MISS_POOL, asgi_case, wsgi_case

from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware, Settings

BACKENDS = ("off", "prometheus", "opentelemetry")
PATHS = ("hit", "miss", "refusal")
LAYERS = {"asgi": "JWTMiddleware", "wsgi": "JWTWSGIMiddleware"}
BARE = {"asgi": "bare ASGI app", "wsgi": "bare WSGI app"}


def name_of(layer: str, path: str, backend: str) -> str:
    return f"{LAYERS[layer]} {path}, metrics {backend}"


def _metrics(backend: str) -> Any:
    if backend == "prometheus":
        from prometheus_client import CollectorRegistry

        return CollectorRegistry()
    if backend == "opentelemetry":
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        return MeterProvider(metric_readers=[InMemoryMetricReader()])
    return None


def _counted(middleware: Any, backend: str, outcome: str, reason: str) -> Callable[[], None]:
    """A check that the middleware recorded the decision (metrics on) or has no metrics."""

    def check() -> None:
        telemetry = middleware.telemetry
        if backend == "off":
            require(telemetry is None, "metrics are on in the 'off' configuration")
            return
        require(telemetry is not None and telemetry.kind == backend, f"not {backend}")
        decisions = telemetry.counts.decisions()
        require(decisions[(outcome, reason)] > 0, f"{backend}: {outcome}/{reason} not counted")

    return check


def refusal_case(layer: str, backend: str, settings: Settings) -> Case:
    """Requests without a token: 401 ``missing``."""
    name = name_of(layer, "refusal", backend)
    statuses: list[Any] = []
    if layer == "asgi":
        app: Any = JWTMiddleware(bare_asgi, settings=settings, metrics=_metrics(backend))
        scope = asgi_scope(None)

        async def timed(n: int) -> int:
            start = time.perf_counter_ns()
            for _ in range(n):
                await app(scope, noop_receive, noop_send)
            return time.perf_counter_ns() - start

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        async def run_once() -> None:
            await app(scope, noop_receive, record)

    else:
        app = JWTWSGIMiddleware(bare_wsgi, settings=settings, metrics=_metrics(backend))
        environ = wsgi_environ(None)

        async def timed(n: int) -> int:
            start = time.perf_counter_ns()
            for _ in range(n):
                app(environ.copy(), noop_start_response)
            return time.perf_counter_ns() - start

        async def run_once() -> None:
            app(environ.copy(), lambda status, headers, exc_info=None: statuses.append(status))

    async def check() -> None:
        await run_once()
        require(statuses in ([401], ["401 Unauthorized"]), f"{name}: answered {statuses}")
        _counted(app, backend, "refused", "missing")()

    return Case(name, layer, BARE[layer], timed, check, notes="no token: 401")


def build_cases(quick: bool) -> list[Case]:
    pool, cache_size = MISS_POOL[quick]
    hs = key_material(["HS256"])["HS256"]
    hit_settings = hs.settings()
    miss_settings = hs.settings(verified_cache_size=cache_size)
    token = hs.mint(hit_settings)
    tokens = [hs.mint(miss_settings) for _ in range(pool)]
    cases: list[Case] = [
        asgi_case(BARE["asgi"], lambda a: a, None, baseline=None),
        wsgi_case(BARE["wsgi"], bare_wsgi, [wsgi_environ(None)], baseline=None,
                  refuses_anonymous=False),
    ]  # fmt: skip
    for backend in BACKENDS:
        for path, settings, used in (("hit", hit_settings, [token]),
                                     ("miss", miss_settings, tokens)):  # fmt: skip
            hit = path == "hit"
            made: list[Any] = []

            def wrap(
                app: Any, s: Settings = settings, b: str = backend, m: list[Any] = made
            ) -> Any:
                m.append(JWTMiddleware(app, settings=s, metrics=_metrics(b)))
                return m[-1]

            asgi = asgi_case(name_of("asgi", path, backend), wrap, used, hit=hit,
                             notes=f"{len(used)} token(s)")  # fmt: skip
            cases.append(_then(asgi, lambda m=made, b=backend: _counted(m[0], b, "allowed",
                                                                         "allowed")()))  # fmt: skip
            wsgi_app = JWTWSGIMiddleware(bare_wsgi, settings=settings, metrics=_metrics(backend))
            wsgi = wsgi_case(name_of("wsgi", path, backend), wsgi_app,
                             [wsgi_environ(t) for t in used], authenticator=wsgi_app.authenticator,
                             hit=hit, notes=f"{len(used)} token(s)")  # fmt: skip
            cases.append(_then(wsgi, _counted(wsgi_app, backend, "allowed", "allowed")))
        for layer in LAYERS:
            cases.append(refusal_case(layer, backend, hit_settings))
    return cases


def _then(case: Case, after: Callable[[], None]) -> Case:
    """``case`` whose check also runs ``after``."""
    check = case.check

    async def both() -> None:
        await check()
        after()

    case.check = both
    return case


# -- instructions (valgrind) -----------------------------------------------------------------


def child(name: str, requests: int) -> None:
    """Build ``name``, check and warm it up, then run ``requests`` calls inside
    ``operator.call`` (callgrind collects only there)."""
    cases = {case.name: case for case in build_cases(True)}
    case = cases[name]
    loop = asyncio.new_event_loop()
    loop.run_until_complete(case.check())
    loop.run_until_complete(case.timed(200))
    operator.call(loop.run_until_complete, case.timed(requests))
    loop.close()


def count(name: str, requests: int) -> int:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        "--toggle-collect=_operator_call", sys.executable, str(Path(__file__).resolve()),
        "--child", name, "--requests", str(requests),
    ]  # fmt: skip
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    for line in done.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    raise SystemExit(f"callgrind failed for {name}:\n{done.stderr[-2000:]}")


def instructions(names: list[str], requests: int) -> dict[str, float]:
    with ThreadPoolExecutor(max(1, min(2, os.cpu_count() or 1))) as pool:
        counted = pool.map(lambda n: count(n, requests) / requests, names)
        return dict(zip(names, counted, strict=True))


# -- the report ------------------------------------------------------------------------------


def side_by_side(
    added: dict[str, float], unit: str, digits: int
) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """Rows ``layer, path, off, prometheus, otel, ratios`` of added cost over the bare app."""
    table, data = [], []
    for layer in LAYERS:
        for path in PATHS:
            values = {b: added[name_of(layer, path, b)] for b in BACKENDS}
            off = values["off"]
            ratios = {b: values[b] / off if off > 0 else float("nan") for b in BACKENDS[1:]}
            table.append(
                [
                    LAYERS[layer],
                    path,
                    *(f"{values[b]:,.{digits}f}" for b in BACKENDS),
                    *(f"{ratios[b]:.2f}x" for b in BACKENDS[1:]),
                ]
            )
            data.append({"layer": layer, "path": path, "unit": unit, **values,
                         **{f"ratio_{b}": round(r, 3) for b, r in ratios.items()}})  # fmt: skip
    return table, data


HEADER = ["middleware", "path", "off", "prometheus", "opentelemetry", "prom/off", "otel/off"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="timed rounds per configuration (7; quick: 3)")
    parser.add_argument("--quick", action="store_true", help="short rounds, for a smoke run")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per request with valgrind")  # fmt: skip
    parser.add_argument("--requests", type=int, help="requests per callgrind run (1000)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    requests = args.requests or (50 if args.quick else 1000)
    if args.child:
        child(args.child, requests)
        return 0
    timing = Timing.choose(args.quick, args.rounds)
    started = time.perf_counter()
    cases = build_cases(args.quick)
    print(f"{len(cases)} configurations, {timing.rounds} rounds", file=sys.stderr, flush=True)
    asyncio.run(measure(cases, timing))
    rows = case_rows(cases)
    added_us = {r["configuration"]: r["added_us"] for r in rows if r["added_us"] is not None}
    us_table, us_data = side_by_side(added_us, "µs", 2)
    document: dict[str, Any] = {"script": "bench_metrics", "environment": environment(),
                                "quick": args.quick, "timing": vars(timing),
                                "results": rows, "added_us": us_data}  # fmt: skip
    print(f"µs per request in process, median of {timing.rounds} round(s)\n")
    print(timing_table(rows))
    print("\nµs added over the bare app, side by side\n")
    print(markdown_table(HEADER, us_table, left=2))
    if args.instructions:
        if shutil.which("valgrind") is None:
            print("\nvalgrind is not installed: no instruction counts")
        else:
            names = [case.name for case in cases]
            counts = instructions(names, requests)
            bare = {layer: counts[BARE[layer]] for layer in LAYERS}
            added = {n: counts[n] - bare[_layer_of(n)] for n in counts if n not in BARE.values()}
            table, data = side_by_side(added, "instructions", 0)
            document["instructions"] = {"requests": requests, "per_request": counts,
                                        "added": data}  # fmt: skip
            print(f"\ninstructions added per request (callgrind, {requests} requests each)\n")
            print(markdown_table(HEADER, table, left=2))
    document["seconds"] = round(time.perf_counter() - started, 1)
    write_json(args.json, document)
    return 0


def _layer_of(name: str) -> str:
    return "asgi" if name.startswith(LAYERS["asgi"] + " ") or name == BARE["asgi"] else "wsgi"


if __name__ == "__main__":
    sys.exit(main())
