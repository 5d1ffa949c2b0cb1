"""Where the time of a request goes: the hit and miss paths taken apart, and their floors.

Each part of ``JWTMiddleware``'s path is timed on its own with ``timeit`` (median of several
repeats, garbage collector off): building the request view, the path rule, token extraction,
the cache lookup, the result, the clock, the scope copy, the ``send`` wrapper; on a miss also
parsing, the signature, the payload, the claim checks, the cache insert and building the
identity. The parts call jwtmiddleware's internals, so a part whose internals were renamed is
reported as ``n/a`` rather than failing the run. Then:

- the whole middleware in a loop, minus the bare app (what the parts should add up to; the
  rest is call and ``await`` overhead between them);
- two floors: the least a pure-Python ASGI middleware can do on a cache hit (find the header,
  one dict lookup, an expiry compare, a scope copy), without and with a ``Vary`` send wrapper;
- a cProfile of the hit and miss paths (top functions by own time).

Usage::

    python benchmarks/profile_paths.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import statistics
import sys
import time
import timeit
from pathlib import Path
from typing import Any

from _common import (
    MinimalHit,
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
from jwtmiddleware.http.sources import ASGIRequestView

REPEATS = 7


def micro(stmt: str, namespace: dict[str, Any], number: int) -> float | None:
    """µs per execution of ``stmt`` (median of :data:`REPEATS`), ``None`` if it fails."""
    try:
        timer = timeit.Timer(stmt, globals=namespace)
        timer.timeit(max(number // 10, 10))
        times = timer.repeat(REPEATS, number)
    except (AttributeError, TypeError, KeyError, NameError, ValueError):
        return None
    return statistics.median(times) / number * 1e6


def loop_us(app: Any, scopes: list[dict[str, Any]], number: int) -> float:
    """µs per request of ``app`` awaited in a loop over ``scopes`` (median of repeats)."""

    async def run(n: int) -> float:
        count = len(scopes)
        start = time.perf_counter_ns()
        for i in range(n):
            await app(scopes[i % count], noop_receive, noop_send)
        return (time.perf_counter_ns() - start) / n / 1000

    async def repeats() -> list[float]:
        await run(max(number // 10, 10))
        out = []
        for _ in range(REPEATS):
            gc.collect()
            gc.disable()
            try:
                out.append(await run(number))
            finally:
                gc.enable()
        return out

    return statistics.median(asyncio.run(repeats()))


# -- floors ----------------------------------------------------------------------------------


def minimal_hs256(secret: bytes, issuer: str, audience: str) -> Any:
    """The least work that verifies an HS256 token in Python: split, base64url, HMAC, JSON,
    and compares of ``exp``/``iat``/``iss``/``aud`` (header known in advance, no error detail)."""
    import base64
    import hashlib
    import hmac

    try:
        from orjson import loads
    except ImportError:
        from json import loads

    def verify(token: str, now: float) -> Any:
        head, payload, signature = token.split(".")
        signing_input = token[: len(head) + len(payload) + 1].encode()
        expected = hmac.new(secret, signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, base64.urlsafe_b64decode(signature + "=")):
            raise ValueError("signature")
        claims = loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if not (claims["exp"] > now >= claims["iat"] - 30 and claims["iss"] == issuer
                and claims["aud"] == audience):  # fmt: skip
            raise ValueError("claims")
        return claims

    return verify


# -- the parts -------------------------------------------------------------------------------


def hit_parts(app: JWTMiddleware, scope: dict[str, Any], token: str, number: int) -> list[Any]:
    auth = app.authenticator
    view = ASGIRequestView(scope)
    now = time.time()
    result = auth.decide(view, now)
    ns: dict[str, Any] = {"ASGIRequestView": ASGIRequestView, "scope": scope, "auth": auth,
                          "view": view, "now": now, "token": token, "result": result,
                          "time": time, "app": app, "send": noop_send,
                          "header": f"Bearer {token}".encode(), "vary_send": _vary_wrapper,
                          "raw": f"Bearer {token}"}  # fmt: skip
    auth.bearer(ns["header"], now)
    parts = [
        ("the fast lane: bearer() on a cached raw header", "auth.bearer(header, now)"),
        ("clock", "time.time()"),
        ("scope copy + 3 keys", "s = dict(scope); s['a'] = 1; s['b'] = 2; s['c'] = 3"),
        ("full path's Vary send wrapper: creating it", "vary_send(app, send)"),
        ("for comparison, the full path: request view", "ASGIRequestView(scope)"),
        ("for comparison, the full path: decide()", "auth.decide(view, now)"),
    ]
    return [(label, micro(stmt, ns, number)) for label, stmt in parts]


def _vary_wrapper(app: JWTMiddleware, send: Any) -> Any:
    from jwtmiddleware.http.asgi_messages import auth_headers_sender

    return auth_headers_sender(send, app._vary_header, None)


def send_wrapper_us(app: JWTMiddleware, number: int) -> float | None:
    """µs the ``Vary`` wrapper adds to sending a response start and body."""
    try:
        wrapper = _vary_wrapper(app, noop_send)
    except (AttributeError, ImportError, TypeError):
        return None
    start = {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]}  # fmt: skip
    body = {"type": "http.response.body", "body": b"ok"}

    async def run(send: Any, n: int) -> float:
        begin = time.perf_counter_ns()
        for _ in range(n):
            await send(start)
            await send(body)
        return (time.perf_counter_ns() - begin) / n / 1000

    async def both() -> float:
        samples = []
        for _ in range(REPEATS):
            gc.disable()
            try:
                samples.append(await run(wrapper, number) - await run(noop_send, number))
            finally:
                gc.enable()
        return statistics.median(samples)

    return asyncio.run(both())


def miss_parts(app: JWTMiddleware, token: str, number: int) -> list[Any]:
    auth = app.authenticator
    verifier = auth.verifier
    now = time.time()
    # Private parts, timed one by one: a rename fails here, loudly (the quick test runs this).
    from jwtmiddleware.core import _json
    from jwtmiddleware.core import verifier as verifier_module

    tokens = auth._tokens
    parsed = verifier.parse(token)
    keys = tokens._keyset.candidates(parsed.alg, parsed.kid)
    claims, window = verifier.finish_claims(parsed, keys, now)
    payload64 = token.split(".")[1]
    ns: dict[str, Any] = {"auth": auth, "tokens": tokens, "verifier": verifier, "token": token,
                          "parsed": parsed, "keys": keys, "now": now, "claims": claims,
                          "vm": verifier_module, "p64": payload64, "json": _json, "window": window,
                          "raw": verifier_module.b64decode(payload64)}  # fmt: skip
    parts = [
        ("parse: size, shape, cached header, signature base64", "verifier.parse(token)"),
        ("key candidates", "tokens._keyset.candidates(parsed.alg, parsed.kid)"),
        ("signature check (key.verify)", "keys[0].verify(parsed.signing_input, parsed.signature)"),
        ("payload base64url", "vm.b64decode(p64)"),
        ("payload JSON", "json.loads(raw)"),
        ("claim checks (and the validity window)", "verifier.check_claims(claims, now)"),
        ("finish_claims() in all (signature + payload + claims)",
         "verifier.finish_claims(parsed, keys, now)"),
        ("identity", "auth.identity_from_claims(claims, 'header')"),
        ("remember(): checks, identity, credentials, result",
         "tokens.remember('header', claims, window, token)"),
    ]  # fmt: skip
    return [(label, micro(stmt, ns, number)) for label, stmt in parts]


def cprofile(app: Any, scopes: list[dict[str, Any]], requests: int, top: int) -> str:
    async def run() -> None:
        count = len(scopes)
        for i in range(requests):
            await app(scopes[i % count], noop_receive, noop_send)

    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(run())
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    text = "\n".join(line.replace(str(Path.cwd()) + "/", "") for line in lines[start:])
    return text.strip()


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations, for a smoke run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    number = 2000 if args.quick else 50_000
    loop_number = 2000 if args.quick else 40_000
    started = time.perf_counter()
    material = key_material(["HS256"])["HS256"]
    settings = material.settings()
    token = material.mint(settings)
    scope = asgi_scope(token)
    hit = JWTMiddleware(bare_asgi, settings=settings)
    pool, cache_size = (64, 32) if args.quick else (1024, 512)
    missing = material.settings(verified_cache_size=cache_size)
    miss_tokens = [material.mint(missing) for _ in range(pool)]
    miss_scopes = [asgi_scope(t) for t in miss_tokens]
    miss = JWTMiddleware(bare_asgi, settings=missing)

    identity = object()
    expires = time.time() + 3600
    floor_cache = {f"Bearer {token}".encode(): (identity, expires)}
    bare_us = loop_us(bare_asgi, [scope], loop_number)
    whole_hit = loop_us(hit, [scope], loop_number) - bare_us
    whole_miss = loop_us(miss, miss_scopes, loop_number // 4) - bare_us
    floor = loop_us(MinimalHit(bare_asgi, floor_cache, vary=False), [scope], loop_number) - bare_us
    floor_vary = loop_us(MinimalHit(bare_asgi, floor_cache, vary=True), [scope], loop_number)
    floor_vary -= bare_us
    from _common import AUDIENCE, ISSUER

    verify = minimal_hs256(str(material.secret).encode(), ISSUER, AUDIENCE)
    floor_ns = {"verify": verify, "token": miss_tokens[0], "now": time.time()}
    require(verify(miss_tokens[0], time.time())["sub"] is not None, "minimal HS256 check")
    floor_verify = micro("verify(token, now)", floor_ns, number // 2) or float("nan")
    parts = hit_parts(hit, scope, token, number)
    parts.append(("send wrapper: start + body through it", send_wrapper_us(hit, number // 2)))
    missing_parts = miss_parts(miss, miss_tokens[0], number // 4)
    require(whole_hit > 0 and whole_miss > whole_hit, "the hit and miss loops make no sense")
    profiles = {
        "hit": cprofile(hit, [scope], number // 2, 18),
        "miss": cprofile(miss, miss_scopes, number // 8, 22),
    }
    seconds = round(time.perf_counter() - started, 1)
    document = {
        "script": "profile_paths",
        "environment": environment(),
        "quick": args.quick,
        "seconds": seconds,
        "bare_us": round(bare_us, 3),
        "hit_added_us": round(whole_hit, 3),
        "miss_added_us": round(whole_miss, 3),
        "floor_hit_us": round(floor, 3),
        "floor_hit_vary_us": round(floor_vary, 3),
        "floor_hs256_verify_us": round(floor_verify, 3),
        "hit_parts": [[label, None if v is None else round(v, 3)] for label, v in parts],
        "miss_parts": [[label, None if v is None else round(v, 3)] for label, v in missing_parts],
        "profiles": profiles,
    }
    write_json(args.json, document)
    print(f"HS256, in process, µs; median of {REPEATS} repeats ({seconds} s)\n")
    print(
        markdown_table(
            ["what", "µs"],
            [
                ["JWTMiddleware cache hit, added over the bare app", f"{whole_hit:.3f}"],
                ["JWTMiddleware cache miss, added over the bare app", f"{whole_miss:.3f}"],
                ["floor: minimal pure-Python hit middleware", f"{floor:.3f}"],
                ["floor: the same with a Vary send wrapper", f"{floor_vary:.3f}"],
                [
                    "floor: minimal HS256 verification (split, base64url, HMAC, JSON, compares)",
                    f"{floor_verify:.3f}",
                ],
            ],
        )
    )
    print("\nhit path, part by part\n")
    print(markdown_table(["part", "µs"], [[label, _fmt(v)] for label, v in parts]))
    print("\nmiss path, part by part (on top of the hit path's request handling)\n")
    print(markdown_table(["part", "µs"], [[label, _fmt(v)] for label, v in missing_parts]))
    for name, text in profiles.items():
        print(f"\ncProfile, {name} path (own time)\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
