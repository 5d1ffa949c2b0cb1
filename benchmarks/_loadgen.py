"""A small HTTP/1.1 keep-alive load generator, used by ``bench_server.py`` when ``wrk`` is missing.

Runs in its own process: ``python benchmarks/_loadgen.py --port P --connections C --duration S
[--header "Name: value"]... [--path /api/me]``. Each connection sends one ``GET``, reads the
whole response (``Content-Length`` bodies only), and sends the next. Prints one JSON line:
``{"requests": N, "non_2xx": M, "seconds": S, "errors": E}``. It spends much more CPU per
request than ``wrk`` does: on a machine with few cores it can become the bottleneck, which is
why ``wrk`` is preferred.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

__all__ = ["main"]


class _Connection(asyncio.Protocol):
    def __init__(self, request: bytes, stats: dict[str, int], stop_at: float) -> None:
        self.request = request
        self.stats = stats
        self.stop_at = stop_at
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            total = end + 4 + length
            if len(buffer) < total:
                return
            del buffer[:total]
            self.stats["requests"] += 1
            if head[9:10] != b"2":
                self.stats["non_2xx"] += 1
            assert self.transport is not None
            if time.monotonic() >= self.stop_at:
                self.transport.close()
                return
            self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.stats["errors"] += 1
        if not self.closed.done():
            self.closed.set_result(None)


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    lines = [f"GET {args.path} HTTP/1.1", f"Host: 127.0.0.1:{args.port}", *args.header]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    stats = {"requests": 0, "non_2xx": 0, "errors": 0}
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    stop_at = start + args.duration
    connections = []
    for _ in range(args.connections):
        _, protocol = await loop.create_connection(
            lambda: _Connection(request, stats, stop_at), "127.0.0.1", args.port
        )
        connections.append(protocol)
    await asyncio.wait_for(
        asyncio.gather(*(c.closed for c in connections)), timeout=args.duration + 10
    )
    return {**stats, "seconds": time.monotonic() - start}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="HTTP/1.1 keep-alive load generator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--path", default="/api/me")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(_run(args))
    else:
        result = uvloop.run(_run(args))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
