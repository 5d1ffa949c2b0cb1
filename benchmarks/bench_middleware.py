"""What jwtmiddleware adds to each request, side by side with the usual alternatives.

Measured in process, with no HTTP: every ASGI app is awaited directly with a prebuilt scope and
no-op ``receive``/``send`` in one event loop, every WSGI app is called with a prebuilt environ,
and ``jwt.decode`` is called on its own. Configurations:

- a bare ASGI app, and the same app behind ``JWTMiddleware`` with HS256, RS256 (2048-bit) and
  ES256 keys;
- the same app behind Starlette's ``AuthenticationMiddleware`` with a small PyJWT backend
  (HS256, ``jwt.decode`` with algorithms, audience and issuer, as a typical app writes it);
- ``jwt.decode`` alone (HS256, RS256, ES256) with prepared key objects;
- a bare WSGI app, and the same behind ``JWTWSGIMiddleware`` (HS256).

Every configuration is checked to really authenticate before it is timed. Rounds run
round-robin over the configurations, so a change in machine speed touches all of them; each
round is thousands of calls with the garbage collector disabled, and the table shows the median
round. Usage::

    python benchmarks/bench_middleware.py [--rounds N] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    SimpleUser,
)
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

import jwtmiddleware
from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware, Settings
from jwtmiddleware.testing import mint_token

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

ISSUER = "https://issuer.example"
AUDIENCE = "bench"
SUBJECT = "bench-user"
STARLETTE = "Starlette AuthenticationMiddleware + PyJWT HS256"
BARE_ASGI = "bare ASGI app"
BARE_WSGI = "bare WSGI app"


# -- the apps --------------------------------------------------------------------------------

_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain")],
}
_BODY = {"type": "http.response.body", "body": b"ok"}


async def bare_asgi(scope: Scope, receive: Any, send: Any) -> None:
    await send(_START)
    await send(_BODY)


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Message) -> None:
    return None


def bare_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return None


class PyJWTBackend(AuthenticationBackend):
    """The backend a typical Starlette app writes around ``jwt.decode``."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        header = conn.headers.get("authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError("invalid token") from exc
        return AuthCredentials(str(claims.get("scope", "")).split()), SimpleUser(claims["sub"])


# -- keys and tokens -------------------------------------------------------------------------


def _pem(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


@dataclass
class KeyConfig:
    settings: Settings
    token: str
    #: The key ``jwt.decode`` verifies with (secret or public key object).
    verify_key: Any
    algorithm: str


def _settings(algorithm: str, *, secret: str | None = None, keys: tuple[str, ...] = ()) -> Settings:
    return Settings(
        secret=secret, keys=keys, algorithms=(algorithm,), issuer=ISSUER, audience=(AUDIENCE,)
    )


def _key_configs() -> dict[str, KeyConfig]:
    secret = secrets.token_urlsafe(32)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    built: dict[str, tuple[Settings, Any]] = {
        "HS256": (_settings("HS256", secret=secret), secret),
        "RS256": (_settings("RS256", keys=(_pem(rsa_key),)), rsa_key.public_key()),
        "ES256": (_settings("ES256", keys=(_pem(ec_key),)), ec_key.public_key()),
    }
    return {
        alg: KeyConfig(settings, mint_token(settings, subject=SUBJECT, ttl=3600), key, alg)
        for alg, (settings, key) in built.items()
    }


# -- configurations --------------------------------------------------------------------------

TimedLoop = Callable[[int], Awaitable[int]]


@dataclass
class Case:
    name: str
    #: The bare configuration the "added" column subtracts (``None``: not an app).
    baseline: str | None
    #: Runs ``n`` calls and returns the elapsed nanoseconds.
    timed: TimedLoop
    #: Raises unless one call really authenticates.
    check: Callable[[], Awaitable[None]]
    calls: int = 0
    samples_us: list[float] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples_us)


def _require(condition: bool, problem: str) -> None:
    """Stop the run if a configuration does not really authenticate (not an assert: -O)."""
    if not condition:
        raise SystemExit(f"benchmark setup is wrong: {problem}")


def _asgi_scope(token: str | None) -> Scope:
    headers = [(b"host", b"bench.local"), (b"user-agent", b"bench/1.0"), (b"accept", b"*/*")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/me",
        "raw_path": b"/api/me",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def _wsgi_environ(token: str | None) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/api/me",
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
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if token is not None:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return environ


def _asgi_case(
    name: str, wrap: Callable[[ASGIApp], ASGIApp], token: str | None, authenticated: bool
) -> Case:
    app = wrap(bare_asgi)

    async def timed(n: int) -> int:
        scope, receive, send = _asgi_scope(token), _receive, _send
        start = time.perf_counter_ns()
        for _ in range(n):
            await app(scope, receive, send)
        return time.perf_counter_ns() - start

    async def check() -> None:
        seen: list[Scope] = []
        statuses: list[int] = []

        async def probe(scope: Scope, receive: Any, send: Any) -> None:
            seen.append(scope)
            await bare_asgi(scope, receive, send)

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await wrap(probe)(_asgi_scope(token), _receive, record)
        _require(statuses == [200], f"{name}: answered {statuses}")
        if authenticated:
            user = seen[0]["user"]
            _require(user.is_authenticated and user.display_name == SUBJECT, f"{name}: {user!r}")

    return Case(name, None if wrap is _identity else BARE_ASGI, timed, check)


def _identity(app: Any) -> Any:
    return app


def _wsgi_case(
    name: str, wrap: Callable[[WSGIApp], WSGIApp], token: str | None, authenticated: bool
) -> Case:
    app = wrap(bare_wsgi)

    async def timed(n: int) -> int:
        environ, start_response = _wsgi_environ(token), _start_response
        start = time.perf_counter_ns()
        for _ in range(n):
            for _chunk in app(environ, start_response):
                pass
        return time.perf_counter_ns() - start

    async def check() -> None:
        seen: list[dict[str, Any]] = []
        statuses: list[str] = []

        def probe(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            seen.append(environ)
            return bare_wsgi(environ, start_response)

        def record(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(status)

        b"".join(wrap(probe)(_wsgi_environ(token), record))
        _require(statuses == ["200 OK"], f"{name}: answered {statuses}")
        if authenticated:
            identity = seen[0]["jwtmiddleware.identity"]
            _require(identity.subject == SUBJECT, f"{name}: {identity!r}")

    return Case(name, None if wrap is _identity else BARE_WSGI, timed, check)


def _decode_case(name: str, config: KeyConfig) -> Case:
    token, key, algorithms = config.token, config.verify_key, [config.algorithm]

    async def timed(n: int) -> int:
        decode = jwt.decode
        start = time.perf_counter_ns()
        for _ in range(n):
            decode(token, key, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER)
        return time.perf_counter_ns() - start

    async def check() -> None:
        claims = jwt.decode(token, key, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER)
        _require(claims["sub"] == SUBJECT, f"{name}: {claims!r}")

    return Case(name, None, timed, check)


def build_cases() -> list[Case]:
    keys = _key_configs()
    hs = keys["HS256"]
    backend = PyJWTBackend(str(hs.settings.secret))

    def jwt_asgi(alg: str) -> Callable[[ASGIApp], ASGIApp]:
        return lambda app: JWTMiddleware(app, settings=keys[alg].settings)

    cases = [
        _asgi_case(BARE_ASGI, _identity, None, authenticated=False),
        _asgi_case("JWTMiddleware HS256", jwt_asgi("HS256"), hs.token, authenticated=True),
        _asgi_case("JWTMiddleware RS256 (2048-bit)", jwt_asgi("RS256"), keys["RS256"].token, True),
        _asgi_case("JWTMiddleware ES256", jwt_asgi("ES256"), keys["ES256"].token, True),
        _asgi_case(
            STARLETTE,
            lambda app: AuthenticationMiddleware(app, backend=backend),
            hs.token,
            authenticated=True,
        ),
    ]
    cases += [_decode_case(f"jwt.decode {alg}", keys[alg]) for alg in ("HS256", "RS256", "ES256")]
    cases += [
        _wsgi_case(BARE_WSGI, _identity, None, authenticated=False),
        _wsgi_case(
            "JWTWSGIMiddleware HS256",
            lambda app: JWTWSGIMiddleware(app, settings=hs.settings),
            hs.token,
            authenticated=True,
        ),
    ]
    return cases


# -- measuring -------------------------------------------------------------------------------


async def _timed_without_gc(case: Case, n: int) -> int:
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return await case.timed(n)
    finally:
        if was_enabled:
            gc.enable()


async def measure(cases: list[Case], *, rounds: int, round_seconds: float, min_calls: int) -> None:
    """Warm every case up, size its rounds, then time ``rounds`` rounds round-robin."""
    for case in cases:
        await case.check()
        await case.timed(max(min_calls // 10, 50))  # warm-up: caches, lazily built state
        probe = max(min_calls // 5, 100)
        per_call = await _timed_without_gc(case, probe) / probe
        case.calls = max(min_calls, int(round_seconds * 1e9 / per_call))
    for _ in range(rounds):
        for case in cases:
            elapsed = await _timed_without_gc(case, case.calls)
            case.samples_us.append(elapsed / case.calls / 1000)


# -- reporting -------------------------------------------------------------------------------


def results(cases: list[Case]) -> list[dict[str, Any]]:
    by_name = {case.name: case for case in cases}
    reference = by_name[STARLETTE].median_us
    out = []
    for case in cases:
        us = case.median_us
        base = by_name[case.baseline].median_us if case.baseline else None
        out.append(
            {
                "configuration": case.name,
                "us_per_request": round(us, 3),
                "added_us": round(us - base, 3) if base is not None else None,
                "ratio_vs_starlette_pyjwt": round(us / reference, 3),
                "calls_per_round": case.calls,
                "rounds_us": [round(s, 3) for s in case.samples_us],
            }
        )
    return out


def table(rows: list[dict[str, Any]]) -> str:
    header = ["configuration", "µs/request", "added µs over bare app", "ratio vs Starlette+PyJWT"]
    body = [
        [
            row["configuration"],
            f"{row['us_per_request']:.2f}",
            "—" if row["added_us"] is None else f"{row['added_us']:+.2f}",
            f"{row['ratio_vs_starlette_pyjwt']:.2f}x",
        ]
        for row in rows
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in body)])


def environment() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "jwtmiddleware": jwtmiddleware.__version__,
        "pyjwt": jwt.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="timed rounds per configuration (7; quick: 3)")
    parser.add_argument("--quick", action="store_true", help="short rounds, for a smoke run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    rounds = args.rounds if args.rounds is not None else (3 if args.quick else 7)
    if rounds < 1:
        parser.error("--rounds must be at least 1")
    round_seconds, min_calls = (0.03, 1000) if args.quick else (0.4, 5000)

    started = time.perf_counter()
    cases = build_cases()
    asyncio.run(measure(cases, rounds=rounds, round_seconds=round_seconds, min_calls=min_calls))
    rows = results(cases)
    env = environment()
    print(
        f"jwtmiddleware {env['jwtmiddleware']}, PyJWT {env['pyjwt']}, "
        f"{env['implementation']} {env['python']} on {env['platform']}"
    )
    print(
        f"median of {rounds} round(s); µs per request, in process, no HTTP "
        f"({time.perf_counter() - started:.1f} s)\n"
    )
    print(table(rows))
    if args.json is not None:
        document = {"environment": env, "rounds": rounds, "quick": args.quick, "results": rows}
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
