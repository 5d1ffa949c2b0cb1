"""Memory under a flood of distinct tokens: RSS after 1,000,000 requests with 100,000 tokens.

One ``JWTMiddleware`` (HS256, default settings: ``VERIFIED_CACHE_SIZE`` = 10,000) is awaited in
process with 100,000 distinct valid tokens, cycled, for 1,000,000 requests (every request
misses the cache, which stays full and evicts). RSS (psutil, or ``/proc/self/status``) is
sampled before the first request and after each quarter; the verified-token cache's length is
read alongside. The bound stated in the output is the RSS before the first request (the
tokens themselves, the interpreter, the libraries) plus 64 MiB, far above what 10,000 cached
results need; the run fails if RSS exceeds it or keeps growing over the last three quarters.
Usage::

    python benchmarks/bench_memory.py [--quick] [--requests N] [--tokens N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    asgi_scope,
    bare_asgi,
    environment,
    key_material,
    markdown_table,
    noop_receive,
    noop_send,
    require,
    write_json,
)

from jwtmiddleware import JWTMiddleware

MIB = 1024 * 1024
#: RSS allowed above the RSS measured before the first request.
HEADROOM = 64 * MIB
#: Growth allowed between the second checkpoint and the last (allocator noise).
FLAT = 4 * MIB


def rss() -> int:
    """Resident set size of this process, in bytes."""
    try:
        import psutil
    except ImportError:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise SystemExit("no psutil and no /proc/self/status: cannot read RSS") from None
    return int(psutil.Process(os.getpid()).memory_info().rss)


def _cache_length(app: JWTMiddleware) -> int | None:
    # The cache's length is informative only: a renamed attribute must not break the run.
    cache: Any = getattr(app.authenticator, "_results", None)
    try:
        return len(cache) if cache is not None else None
    except TypeError:
        return None


async def _flood(
    app: JWTMiddleware, headers: list[bytes], requests: int, checkpoints: list[int]
) -> list[dict[str, Any]]:
    template = asgi_scope("x")
    base_headers = template["headers"][:-1]
    statuses: dict[int, int] = {}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    samples = []
    count = len(headers)
    done = 0
    started = time.perf_counter()
    for stop in checkpoints:
        while done < stop:
            scope = dict(template)
            scope["headers"] = [*base_headers, (b"authorization", headers[done % count])]
            await app(scope, noop_receive, send if done % 1000 == 0 else noop_send)
            done += 1
        gc.collect()
        samples.append(
            {
                "requests": done,
                "rss_mib": round(rss() / MIB, 1),
                "cache_entries": _cache_length(app),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        print(f"  {done} requests: RSS {samples[-1]['rss_mib']} MiB", file=sys.stderr, flush=True)
    require(set(statuses) == {200}, f"some sampled requests were refused: {statuses}")
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="40,000 requests, 20,000 tokens")
    parser.add_argument("--requests", type=int, help="requests (1,000,000; quick: 40,000)")
    parser.add_argument("--tokens", type=int, help="distinct tokens (100,000; quick: 20,000)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    requests = args.requests or (40_000 if args.quick else 1_000_000)
    tokens = args.tokens or (20_000 if args.quick else 100_000)
    if requests < 4 or tokens < 1:
        parser.error("--requests must be at least 4 and --tokens at least 1")
    started = time.perf_counter()
    material = key_material(["HS256"])["HS256"]
    settings = material.settings()
    app = JWTMiddleware(bare_asgi, settings=settings)
    headers = [f"Bearer {material.mint(settings)}".encode() for _ in range(tokens)]
    require(len(set(headers)) == tokens, "minted tokens are not distinct")
    gc.collect()
    before = rss()
    checkpoints = [requests * q // 4 for q in (1, 2, 3, 4)]
    samples = asyncio.run(_flood(app, headers, requests, checkpoints))
    bound = before + HEADROOM
    peak = max(s["rss_mib"] for s in samples) * MIB
    growth = (samples[-1]["rss_mib"] - samples[1]["rss_mib"]) * MIB
    seconds = round(time.perf_counter() - started, 1)
    document = {
        "script": "bench_memory",
        "environment": environment(),
        "quick": args.quick,
        "requests": requests,
        "tokens": tokens,
        "verified_cache_size": settings.verified_cache_size,
        "rss_before_mib": round(before / MIB, 1),
        "bound_mib": round(bound / MIB, 1),
        "headroom_mib": HEADROOM // MIB,
        "growth_after_half_mib": round(growth / MIB, 1),
        "within_bound": peak <= bound,
        "flat": growth <= FLAT,
        "seconds": seconds,
        "samples": samples,
    }
    write_json(args.json, document)
    print(
        f"{requests:,} requests through JWTMiddleware (HS256, VERIFIED_CACHE_SIZE="
        f"{settings.verified_cache_size:,}) with {tokens:,} distinct tokens, cycled ({seconds} s)"
        f"\nRSS before the first request: {before / MIB:.1f} MiB (the tokens, the interpreter, "
        f"the libraries); bound: {bound / MIB:.1f} MiB (+{HEADROOM // MIB} MiB)\n"
    )
    print(
        markdown_table(
            ["requests", "RSS (MiB)", "over the start (MiB)", "cache entries"],
            [
                [
                    f"{s['requests']:,}",
                    f"{s['rss_mib']:.1f}",
                    f"{s['rss_mib'] - before / MIB:+.1f}",
                    str(s["cache_entries"]),
                ]
                for s in samples
            ],
        )
    )
    require(peak <= bound, f"RSS {peak / MIB:.1f} MiB is over the bound {bound / MIB:.1f} MiB")
    require(growth <= FLAT, f"RSS still grew {growth / MIB:.1f} MiB over the last half")
    return 0


if __name__ == "__main__":
    sys.exit(main())
