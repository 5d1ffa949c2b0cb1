"""Instructions per request, counted by valgrind: the in-process comparisons without the noise.

Timings on a shared virtual machine move by more than the differences worth measuring; the
number of instructions a request executes does not (the same count on a loaded or an idle
machine). This runs each HS256 configuration of ``bench_middleware`` in its own process under
``valgrind --tool=callgrind``, with counting switched on only inside the timed loop (the loop
is entered through ``operator.call``, and callgrind collects only inside that C function), and
reports instructions per request and the ratios the issue's targets are about. Instructions
are not time (memory stalls and branch misses differ between configurations), so both tables
belong side by side in ``results.md``.

Usage::

    python benchmarks/bench_instructions.py [--quick] [--requests N] [--json PATH]

Needs ``valgrind`` (``apt-get install valgrind``); without it the script says so and exits 0.
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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import environment, markdown_table, write_json
from bench_middleware import (
    BARE_ASGI,
    BARE_FLASK,
    BARE_WSGI,
    FLASK_EXTENDED,
    FLASK_OURS,
    STARLETTE,
    build_cases,
    hit_name,
    miss_name,
)

#: The configurations counted, with the one each is compared with ("added" instructions).
CONFIGURATIONS: dict[str, str | None] = {
    BARE_ASGI: None,
    hit_name("JWTMiddleware", "HS256"): BARE_ASGI,
    miss_name("JWTMiddleware", "HS256"): BARE_ASGI,
    STARLETTE: BARE_ASGI,
    BARE_WSGI: None,
    hit_name("JWTWSGIMiddleware", "HS256"): BARE_WSGI,
    miss_name("JWTWSGIMiddleware", "HS256"): BARE_WSGI,
    BARE_FLASK: None,
    FLASK_OURS: BARE_FLASK,
    FLASK_EXTENDED: BARE_FLASK,
}
#: Ratios reported: (label, numerator, denominator) of added instructions.
RATIOS = [
    ("Starlette + PyJWT / JWTMiddleware hit", STARLETTE, hit_name("JWTMiddleware", "HS256")),
    ("flask-jwt-extended / flask_jwtmiddleware", FLASK_EXTENDED, FLASK_OURS),
]


def child(name: str, requests: int) -> None:
    """Build ``name``, warm it up, then run ``requests`` calls inside ``operator.call``."""
    cases = {case.name: case for case in build_cases(True, algorithms=["HS256"])}
    case = cases[name]
    loop = asyncio.new_event_loop()
    loop.run_until_complete(case.check())
    loop.run_until_complete(case.timed(200))
    operator.call(loop.run_until_complete, case.timed(requests))
    loop.close()


def count(name: str, requests: int) -> int:
    """Instructions collected inside the timed loop of ``name`` (a child under callgrind)."""
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


def measure(names: Sequence[str], requests: int, workers: int) -> dict[str, float]:
    with ThreadPoolExecutor(workers) as pool:
        counts = dict(zip(names, pool.map(lambda n: count(n, requests), names), strict=True))
    return {name: total / requests for name, total in counts.items()}


def rows_of(per_request: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for name, baseline in CONFIGURATIONS.items():
        if name not in per_request:
            continue
        value = per_request[name]
        added = value - per_request[baseline] if baseline in per_request else None
        rows.append({"name": name, "instructions": round(value), "baseline": baseline,
                     "added": None if added is None else round(added)})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke run")
    parser.add_argument("--requests", type=int, help="requests per configuration (2000)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    requests = args.requests or (50 if args.quick else 2000)
    if args.child:
        child(args.child, requests)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts (apt-get install valgrind)")
        write_json(args.json, {"script": "bench_instructions", "skipped": "no valgrind"})
        return 0
    started = time.perf_counter()
    names = list(CONFIGURATIONS)
    if args.quick:
        names = [BARE_ASGI, hit_name("JWTMiddleware", "HS256")]
    per_request = measure(names, requests, workers=max(1, min(2, os.cpu_count() or 1)))
    rows = rows_of(per_request)
    added = {r["name"]: r["added"] for r in rows}
    ratios = [
        {"ratio": label, "value": round(added[numerator] / added[denominator], 1)}
        for label, numerator, denominator in RATIOS
        if added.get(numerator) and added.get(denominator)
    ]
    document = {"script": "bench_instructions", "environment": environment(),
                "requests": requests, "seconds": round(time.perf_counter() - started, 1),
                "results": rows, "ratios": ratios}  # fmt: skip
    write_json(args.json, document)
    print(f"instructions per request (callgrind, {requests} requests each, HS256)\n")
    table = [[r["name"], f"{r['instructions']:,}",
              "—" if r["added"] is None else f"+{r['added']:,}"] for r in rows]  # fmt: skip
    print(markdown_table(["configuration", "instructions/request", "added"], table))
    for ratio in ratios:
        print(f"\n{ratio['ratio']}: {ratio['value']}x the added instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
