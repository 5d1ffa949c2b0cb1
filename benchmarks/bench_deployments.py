"""The Redis store on one node, a 3-master Cluster and Sentinel, side by side.

Starts each deployment on free loopback ports with plain ``redis-server`` processes (the same
helpers as the test suite's fixtures; stopped by pid), then measures, per deployment:

- the write path through ``SessionManager`` (median and p90 over ``--count`` calls, ms):
  ``login``, ``refresh``, ``revoke_token``, ``logout_everywhere``;
- the hit path with the mirror: ``JWTWSGIMiddleware`` with the store, HS256 cache hit, µs per
  request (it must equal the single node's within noise: the mirror answers, not Redis);
- Sentinel only: seconds from a SIGKILL of the master until the store answers again.

Usage::

    python benchmarks/bench_deployments.py [--quick] [--count N] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    ISSUER,
    bare_wsgi,
    environment,
    markdown_table,
    noop_start_response,
    require,
    write_json,
    wsgi_environ,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the test suite's helpers

from jwtmiddleware import JWTWSGIMiddleware, Settings, StoreUnavailable
from jwtmiddleware.sessions.manager import SessionManager
from jwtmiddleware.stores import RevocationQuery
from jwtmiddleware.stores.redis import RedisStore
from jwtmiddleware.testing import mint_token
from tests.redis_nodes import Node, dispose, new_dir, start_node
from tests.redis_sentinel import start_sentinel_set
from tests.redis_server import _binary
from tests.redis_topologies import _start_cluster

SECRET = "a benchmark secret of at least thirty-two bytes!"
HIT_REQUESTS = 20_000


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 3),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 3)}  # fmt: skip


def write_path(url: str, count: int) -> dict[str, Any]:
    settings = Settings(secret=SECRET, issuer=ISSUER, store=url, store_timeout=1.0,
                        store_prefix="bench:", store_checks="off")  # fmt: skip
    manager = SessionManager(settings)
    out: dict[str, Any] = {}
    try:
        timings: dict[str, list[float]] = {"login": [], "refresh": [], "revoke_token": [],
                                           "logout_everywhere": []}  # fmt: skip
        for i in range(count):
            started = time.perf_counter()
            pair = manager.login(f"user-{i % 50}")
            timings["login"].append(time.perf_counter() - started)
            started = time.perf_counter()
            manager.refresh(pair.refresh_token)
            timings["refresh"].append(time.perf_counter() - started)
            started = time.perf_counter()
            manager.revoke_token(f"jti-{i}", issuer=ISSUER, expires_at=time.time() + 600)
            timings["revoke_token"].append(time.perf_counter() - started)
            started = time.perf_counter()
            manager.logout_everywhere(f"other-{i}")
            timings["logout_everywhere"].append(time.perf_counter() - started)
        for name, samples in timings.items():
            out[name] = _ms(samples)
    finally:
        manager.close()
    return out


def hit_path(url: str, rounds: int) -> float:
    settings = Settings(secret=SECRET, issuer=ISSUER, store=url, store_timeout=1.0,
                        store_prefix="bench:", store_checks="off")  # fmt: skip
    app = JWTWSGIMiddleware(bare_wsgi, settings=settings)
    try:
        require(app.start(10), f"{url}: the mirror did not load")
        environ = wsgi_environ(mint_token(settings, subject="hit", ttl=3600))
        results = []
        for _ in range(rounds):
            started = time.perf_counter_ns()
            for _ in range(HIT_REQUESTS):
                for _chunk in app(environ.copy(), noop_start_response):
                    pass
            results.append((time.perf_counter_ns() - started) / HIT_REQUESTS / 1000)
        return round(statistics.median(results), 3)
    finally:
        app.close()


def failover_seconds() -> float:
    group = start_sentinel_set(appendonly=True)
    store = RedisStore(group.url, timeout=0.5, prefix="fo:")
    try:
        probe = RevocationQuery(ISSUER, None, "probe", None, None)
        store.is_revoked(probe, now=time.time())
        killed = time.monotonic()
        group.kill_master()
        while True:
            try:
                store.revoke_token(ISSUER, "after", expires_at=time.time() + 60, now=time.time())
                return round(time.monotonic() - killed, 2)
            except StoreUnavailable:
                require(time.monotonic() - killed < 60, "no answer within 60 s")
                time.sleep(0.05)
    finally:
        store.close()
        group.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 calls, one round")
    parser.add_argument("--count", type=int, help="calls per write operation (200)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    count = args.count or (20 if args.quick else 200)
    rounds = 1 if args.quick else 5
    started = time.perf_counter()
    node = Node(_binary(), new_dir("bench"), appendonly=True)
    start_node(node)
    cluster = _start_cluster(tls=None, appendonly=True, password=None)
    sentinel = start_sentinel_set(appendonly=True)
    rows: list[dict[str, Any]] = []
    try:
        for name, url in (("one node", node.url), ("cluster (3 masters)", cluster.url),
                          ("sentinel (master + replica)", sentinel.url)):  # fmt: skip
            rows.append({"deployment": name, **write_path(url, count),
                         "hit_us": hit_path(url, rounds)})  # fmt: skip
    finally:
        sentinel.close()
        cluster.close()
        dispose(node)
    failover = failover_seconds()
    seconds = round(time.perf_counter() - started, 1)
    write_json(args.json, {"script": "bench_deployments", "environment": environment(),
                           "count": count, "seconds": seconds, "results": rows,
                           "failover_seconds": failover})  # fmt: skip
    print(f"Redis deployments, loopback, {count} calls per operation ({seconds} s)\n")
    ops = ("login", "refresh", "revoke_token", "logout_everywhere")
    print(markdown_table(
        ["deployment", *(f"{op} ms (p50/p90)" for op in ops), "hit µs (mirror)"],
        [[r["deployment"], *(f"{r[op]['median_ms']:.2f} / {r[op]['p90_ms']:.2f}" for op in ops),
          f"{r['hit_us']:.2f}"] for r in rows],
    ))  # fmt: skip
    print(f"\nSentinel: the store answered again {failover} s after a SIGKILL of the master")
    return 0


if __name__ == "__main__":
    sys.exit(main())
