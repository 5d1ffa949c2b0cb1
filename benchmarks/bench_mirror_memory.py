"""What a million revocations cost a worker: the mirror's memory and the time to load it.

Fills a store with ``--ids`` revoked token ids (1,000,000; quick: 100,000), written in bulk
straight into the store's tables (SQLite: one transaction; Redis: pipelined ``ZADD`` into the
revocation set, a private ``redis-server`` on a free loopback port, stopped by pid). Then, in a
fresh process per store, measures the resident set size before and after
``Mirror.wait_ready`` (the snapshot load: read the log position, read every revocation, build
the dictionaries) and the time it took, and checks that a sample of the ids is refused.
Goal: <= 150 MiB and <= 10 s for a million. Usage::

    python benchmarks/bench_mirror_memory.py [--quick] [--ids N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ISSUER, environment, markdown_table, require, write_json
from bench_revocation import redis_server

from jwtmiddleware.stores import open_store
from jwtmiddleware.stores._changes import token_member

LOADER = r"""
import json, os, sys, time

def rss_mib():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

from jwtmiddleware.stores import open_store
from jwtmiddleware.stores._changes import revocation_keys
url, prefix, issuer, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = open_store(url, prefix=prefix, timeout=5.0)
mirror = store.mirror(max_lag=1.0, timeout=5.0)
before = rss_mib()
start = time.perf_counter()
fresh = mirror.wait_ready(600)
seconds = time.perf_counter() - start
after = rss_mib()
now = time.time()
sample = [revocation_keys({"iss": issuer, "jti": f"id-{i}"}) for i in range(0, n, max(1, n // 100))]
refused = sum(mirror.revoked(keys, now) for keys in sample)
print(json.dumps({"fresh": fresh, "seconds": seconds, "rss_before_mib": before,
                  "rss_after_mib": after, "entries": mirror.state.counts(),
                  "sample": len(sample), "refused": refused}))
store.close()
"""

BATCH = 10_000


def fill_sqlite(path: Path, n: int) -> str:
    url = f"sqlite:///{path}"
    open_store(url).close()  # the schema
    conn = sqlite3.connect(path)
    until = time.time() + 86400
    with conn:
        conn.executemany(
            "INSERT INTO jwtmw_revoked_tokens (issuer, token_id, expires_at) VALUES (?, ?, ?)",
            ((ISSUER, f"id-{i}", until) for i in range(n)),
        )
    conn.close()
    return url


def fill_redis(url: str, prefix: str, n: int) -> None:
    import redis

    client = redis.Redis.from_url(url)
    until = time.time() + 86400
    key = f"{prefix}{{r}}:t"
    try:
        for start in range(0, n, BATCH):
            mapping = {
                token_member(ISSUER, f"id-{i}"): until for i in range(start, min(n, start + BATCH))
            }
            client.zadd(key, mapping)
        require(client.zcard(key) == n, "the Redis set does not hold every id")
    finally:
        client.close()


def load(url: str, prefix: str, n: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", LOADER, url, prefix, ISSUER, str(n)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    require(done.returncode == 0, f"the loader failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    require(result["fresh"], "the mirror did not load")
    require(result["refused"] == result["sample"], "revoked ids were not refused")
    result["mirror_mib"] = round(result["rss_after_mib"] - result["rss_before_mib"], 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 ids")
    parser.add_argument("--ids", type=int, help="revoked ids (1,000,000)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    n = args.ids or (100_000 if args.quick else 1_000_000)
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jwtmw-mem-") as tmp, redis_server(Path(tmp)) as rurl:
        sqlite_url = fill_sqlite(Path(tmp) / "store.db", n)
        rows.append({"store": "sqlite", **load(sqlite_url, "", n)})
        if rurl is not None:
            fill_redis(rurl, "mem:", n)
            rows.append({"store": "redis", **load(rurl, "mem:", n)})
    seconds = round(time.perf_counter() - started, 1)
    write_json(args.json, {"script": "bench_mirror_memory", "environment": environment(),
                           "ids": n, "seconds": seconds, "results": rows})  # fmt: skip
    print(f"the mirror with {n:,} revoked ids ({seconds} s)\n")
    print(markdown_table(
        ["store", "mirror RSS (MiB)", "process RSS (MiB)", "snapshot load (s)", "goal"],
        [[r["store"], f"{r['mirror_mib']:.1f}", f"{r['rss_after_mib']:.1f}",
          f"{r['seconds']:.2f}", "<= 150 MiB, <= 10 s"] for r in rows],
    ))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
