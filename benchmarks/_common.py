"""What the benchmark scripts share: keys, tokens, apps, request builders, timing and tables.

Not a benchmark itself. Every script imports it as ``_common`` (the scripts' own directory is
first on ``sys.path`` when they run as ``python benchmarks/<script>.py``).
"""

from __future__ import annotations

import contextlib
import gc
import importlib.metadata
import itertools
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from jwtmiddleware import Settings
from jwtmiddleware.testing import mint_token

__all__ = [
    "ALGORITHMS",
    "AUDIENCE",
    "ISSUER",
    "REPO_ROOT",
    "SUBJECT",
    "Case",
    "KeyMaterial",
    "MinimalHit",
    "Timing",
    "asgi_scope",
    "bare_asgi",
    "bare_wsgi",
    "environment",
    "key_material",
    "markdown_table",
    "measure",
    "noop_receive",
    "noop_send",
    "noop_start_response",
    "require",
    "timed_without_gc",
    "wsgi_environ",
    "write_json",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
ISSUER = "https://issuer.example"
AUDIENCE = "bench"
SUBJECT = "bench-user"
#: The algorithms every in-process benchmark covers, with the key each uses.
ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
KEY_DESCRIPTIONS = {
    "HS256": "32-byte secret",
    "RS256": "RSA 2048",
    "ES256": "P-256",
    "EdDSA": "Ed25519",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def require(condition: bool, problem: str) -> None:
    """Stop the run when a configuration does not do what it claims (not an assert: -O)."""
    if not condition:
        raise SystemExit(f"benchmark setup is wrong: {problem}")


# -- keys and tokens -------------------------------------------------------------------------


def _pem(key: Any) -> str:
    return str(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    )


@dataclass
class KeyMaterial:
    """One algorithm's key, as jwtmiddleware is configured with it and as PyJWT uses it."""

    algorithm: str
    #: ``SECRET`` (HMAC) or the private key PEM (``KEYS``).
    secret: str | None
    pem: str | None
    #: What ``jwt.decode`` is given: the secret, or the public key object.
    verify_key: Any
    #: PyJWT's algorithm object and the key it prepared once (the raw-signature floor).
    impl: Any
    prepared: Any

    def settings(self, **changes: Any) -> Settings:
        """Settings with this key, the benchmark issuer and audience, and ``changes``."""
        material: dict[str, Any] = (
            {"secret": self.secret} if self.secret is not None else {"keys": (self.pem,)}
        )
        return Settings(
            algorithms=(self.algorithm,),
            issuer=ISSUER,
            audience=(AUDIENCE,),
            **material,
            **changes,
        )

    def mint(self, settings: Settings, *, ttl: float = 3600, **claims: Any) -> str:
        """A token ``settings`` accept, for :data:`SUBJECT`."""
        return mint_token(settings, claims or None, subject=SUBJECT, ttl=ttl)


def key_material(algorithms: Iterable[str] = ALGORITHMS) -> dict[str, KeyMaterial]:
    """Fresh keys for each algorithm (RSA 2048, P-256, Ed25519, a 32-byte HMAC secret)."""
    impls = get_default_algorithms()
    out: dict[str, KeyMaterial] = {}
    for alg in algorithms:
        impl = impls[alg]
        if alg.startswith("HS"):
            secret = secrets.token_urlsafe(32)
            out[alg] = KeyMaterial(alg, secret, None, secret, impl, impl.prepare_key(secret))
            continue
        if alg.startswith("RS"):
            private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg.startswith("ES"):
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            private = ed25519.Ed25519PrivateKey.generate()
        public = private.public_key()
        out[alg] = KeyMaterial(alg, None, _pem(private), public, impl, impl.prepare_key(public))
    return out


# -- the apps and the requests ---------------------------------------------------------------

_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
}
_BODY: Message = {"type": "http.response.body", "body": b"ok"}


async def bare_asgi(scope: Scope, receive: Any, send: Any) -> None:
    """The smallest ASGI app: 200 ``ok``."""
    await send(_START)
    await send(_BODY)


async def noop_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def noop_send(message: Message) -> None:
    return None


def bare_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The smallest WSGI app: 200 ``ok``."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def noop_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


def asgi_scope(token: str | None, path: str = "/api/me") -> dict[str, Any]:
    """An ``http`` scope as uvicorn builds it, with ``Authorization: Bearer <token>``."""
    headers = [(b"host", b"bench.local"), (b"user-agent", b"bench/1.0"), (b"accept", b"*/*")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def wsgi_environ(token: str | None, path: str = "/api/me") -> dict[str, Any]:
    """A PEP 3333 environ as a WSGI server builds it, with the token in ``HTTP_AUTHORIZATION``."""
    import io

    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "bench.local",
        "HTTP_USER_AGENT": "bench/1.0",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if token is not None:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return environ


class MinimalHit:
    """The least a pure-Python ASGI middleware does on a cache hit: find the ``Authorization``
    header, look its raw bytes up in a dict, compare the expiry with the clock, copy the scope
    and add the caller (401 for anything else). No path rules, no cookie or duplicate-header
    checks, no verification at all; ``vary`` adds a ``Vary`` send wrapper."""

    def __init__(self, app: Any, cache: dict[bytes, tuple[Any, float]], vary: bool) -> None:
        self.app, self.cache, self.vary = app, cache, vary

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        value = None
        for name, raw in scope["headers"]:
            if name == b"authorization":
                value = raw
        entry = self.cache.get(value) if value is not None else None
        if entry is None or entry[1] <= time.time():
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        scope = dict(scope)
        scope["user"] = entry[0]
        if not self.vary:
            await self.app(scope, receive, send)
            return

        def send_with_vary(message: Any) -> Any:  # returns send's awaitable: no extra coroutine
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"vary", b"Authorization")]}
            return send(message)

        await self.app(scope, receive, send_with_vary)


# -- timing ----------------------------------------------------------------------------------

#: Runs ``n`` calls and returns the elapsed nanoseconds.
TimedLoop = Callable[[int], Awaitable[int]]


@dataclass
class Case:
    """One configuration: how to time it, how to prove it does the work it claims."""

    name: str
    #: ``asgi``, ``wsgi``, ``flask``, ``floor`` (no app: a function alone), ...
    group: str
    #: The configuration whose median the "added" column subtracts (``None``: none).
    baseline: str | None
    timed: TimedLoop
    #: Raises (``SystemExit``) unless the configuration really authenticates.
    check: Callable[[], Awaitable[None]]
    calls: int = 0
    samples_us: list[float] = field(default_factory=list)
    #: Anything else worth keeping with the result (key size, cache size, ...).
    notes: str = ""

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples_us)


@dataclass
class Timing:
    """How long to measure: rounds, seconds per round, and a floor on calls per round."""

    rounds: int
    round_seconds: float
    min_calls: int

    @classmethod
    def choose(cls, quick: bool, rounds: int | None) -> Timing:
        if quick:
            return cls(rounds if rounds is not None else 3, 0.02, 200)
        return cls(rounds if rounds is not None else 7, 0.25, 2000)


async def timed_without_gc(timed: TimedLoop, n: int) -> int:
    """``timed(n)`` with the garbage collector collected first and disabled meanwhile."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return await timed(n)
    finally:
        if was_enabled:
            gc.enable()


async def measure(cases: Sequence[Case], timing: Timing, *, log: bool = True) -> None:
    """Check and warm every case up, size its rounds, then time the rounds round-robin, so a
    change in machine speed touches every configuration alike."""
    for case in cases:
        await case.check()
        await case.timed(max(timing.min_calls // 10, 50))  # warm-up: caches, lazy state
        probe = max(timing.min_calls // 5, 50)
        per_call = await timed_without_gc(case.timed, probe) / probe
        case.calls = max(timing.min_calls, int(timing.round_seconds * 1e9 / max(per_call, 1.0)))
    for index in range(timing.rounds):
        for case in cases:
            elapsed = await timed_without_gc(case.timed, case.calls)
            case.samples_us.append(elapsed / case.calls / 1000)
        if log:
            print(f"  round {index + 1}/{timing.rounds} done", file=sys.stderr, flush=True)


def cycle_next(items: Sequence[Any]) -> Callable[[], Any]:
    """``next`` of an endless cycle over ``items`` (one item or many: the same loop cost)."""
    return itertools.cycle(items).__next__


def case_rows(cases: Sequence[Case]) -> list[dict[str, Any]]:
    """Each case as a JSON-ready row: median, spread and the time added over its baseline."""
    by_name = {case.name: case for case in cases}
    rows = []
    for case in cases:
        base = by_name.get(case.baseline) if case.baseline else None
        rows.append(
            {
                "configuration": case.name,
                "group": case.group,
                "baseline": case.baseline,
                "median_us": round(case.median_us, 3),
                "min_us": round(min(case.samples_us), 3),
                "max_us": round(max(case.samples_us), 3),
                "added_us": round(case.median_us - base.median_us, 3) if base else None,
                "calls_per_round": case.calls,
                "rounds_us": [round(s, 3) for s in case.samples_us],
                "notes": case.notes,
            }
        )
    return rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """A padded Markdown table; the first ``left`` columns are left-aligned, the rest right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            str(cell).ljust(width) if i < left else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join("-" * (w + 1) + ("-" if i < left else ":") for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def timing_table(rows: Sequence[dict[str, Any]]) -> str:
    """The standard table of a timing script: median, spread, added over the baseline."""
    header = ["configuration", "µs/request (median)", "min-max", "added µs", "over"]
    body = [
        [
            row["configuration"],
            f"{row['median_us']:.2f}",
            f"{row['min_us']:.2f}-{row['max_us']:.2f}",
            "—" if row["added_us"] is None else f"{row['added_us']:+.2f}",
            row["baseline"] or "—",
        ]
        for row in rows
    ]
    return markdown_table(header, body)


# -- the machine -----------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _tool_version(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip().splitlines()
    return " ".join(text[0].split()[:3]) if text else None


def environment() -> dict[str, Any]:
    """The machine and the versions of everything measured."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 0
    packages = [
        "jwtmiddleware",
        "PyJWT",
        "cryptography",
        "orjson",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "Flask",
        "Werkzeug",
        "Flask-JWT-Extended",
        "redis",
        "psutil",
        "matplotlib",
    ]
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in packages},
        "tools": {
            "wrk": _tool_version(["wrk", "--version"]),
            "redis-server": _tool_version(["redis-server", "--version"]),
        },
    }


def write_json(path: Path | None, document: dict[str, Any]) -> None:
    """Write ``document`` to ``path`` (when given) as indented JSON."""
    if path is not None:
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")


@contextlib.contextmanager
def stopwatch(label: str) -> Iterator[None]:
    """Print how long a block took to standard error."""
    start = time.perf_counter()
    yield
    print(f"{label}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
