"""What jwtmiddleware adds to each request, in process, side by side with the usual alternatives.

No HTTP: every ASGI app is awaited directly with a prebuilt scope and no-op ``receive``/``send``
in one event loop; every WSGI app (Flask included) is called directly with a prebuilt environ,
no test client. Configurations, all measured in one run:

ASGI
    a bare app; the same app behind ``JWTMiddleware`` on a verified-token cache **hit** (the
    same token again) and on a cache **miss** (a pool of distinct tokens larger than
    ``VERIFIED_CACHE_SIZE``, cycled, so every request verifies a token it has not kept) for
    HS256, RS256 (2048-bit), ES256 and EdDSA (Ed25519); Starlette's
    ``AuthenticationMiddleware`` with the PyJWT backend a typical app writes. The HS256 miss is
    measured again in a child process where ``orjson`` cannot be imported (the stdlib JSON
    fallback), so both parsers are in one run.
WSGI
    a bare app; ``JWTWSGIMiddleware`` hit and miss for the same four algorithms.
Flask
    one route returning the caller's subject: bare, behind ``flask_jwtmiddleware.JWTAuth`` with
    ``@jwt_required()``, and behind flask-jwt-extended's ``@jwt_required()`` (same HS256 secret,
    ``JWT_TOKEN_LOCATION = ["headers"]``, its own ``create_access_token`` tokens).
Floors
    PyJWT's algorithm object ``verify`` with a key prepared once (the cryptography alone), and
    ``jwt.decode`` alone, for each algorithm.

Every configuration is checked before it is timed: it answers 200 with the right caller, a hit
configuration verifies no signature, a miss configuration verifies one per request. Rounds run
round-robin over the configurations with the garbage collector disabled; tables show the median
round and the spread. Usage::

    python benchmarks/bench_middleware.py [--quick] [--rounds N] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from _common import (
    ALGORITHMS,
    AUDIENCE,
    ISSUER,
    KEY_DESCRIPTIONS,
    SUBJECT,
    Case,
    KeyMaterial,
    Timing,
    asgi_scope,
    bare_asgi,
    bare_wsgi,
    case_rows,
    cycle_next,
    environment,
    key_material,
    measure,
    noop_receive,
    noop_send,
    noop_start_response,
    require,
    timing_table,
    write_json,
    wsgi_environ,
)
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    SimpleUser,
)
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

import jwtmiddleware
from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware
from jwtmiddleware.core import _json
from jwtmiddleware.http.decision import Authenticator

BARE_ASGI = "bare ASGI app"
BARE_WSGI = "bare WSGI app"
BARE_FLASK = "bare Flask route"
STARLETTE = "Starlette AuthenticationMiddleware + PyJWT HS256"
FLASK_OURS = "Flask + flask_jwtmiddleware @jwt_required"
FLASK_EXTENDED = "Flask + flask-jwt-extended @jwt_required"
STDLIB = " [stdlib json]"
#: Tokens per miss pool and the cache size below it (every request of a cycle misses).
MISS_POOL = {False: (1024, 512), True: (64, 32)}

GROUP_TITLES = {
    "asgi": "ASGI, in process",
    "wsgi": "WSGI, in process",
    "flask": "Flask route, WSGI app called directly",
    "floor": "Floors: the signature check and jwt.decode alone",
}


def hit_name(layer: str, alg: str) -> str:
    return f"{layer} {alg} hit"


def miss_name(layer: str, alg: str) -> str:
    return f"{layer} {alg} miss"


def signature_name(alg: str) -> str:
    return f"signature check {alg}"


def decode_name(alg: str) -> str:
    return f"jwt.decode {alg}"


# -- the alternatives ------------------------------------------------------------------------


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


# -- checks ----------------------------------------------------------------------------------


def count_verifications(authenticator: Authenticator, run: Callable[[], None]) -> int:
    """How many signatures ``run`` made ``authenticator`` verify (0 on cache hits)."""
    verifier = authenticator.verifier
    original = verifier.finish_claims
    calls = 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    verifier.finish_claims = counting  # type: ignore[method-assign]
    try:
        run()
    finally:
        del verifier.finish_claims
    return calls


def expect_verifications(
    name: str, authenticator: Authenticator, run_one: Callable[[], None], requests: int, hit: bool
) -> None:
    run_one()  # a hit configuration has verified its token once, before timing

    def run_all() -> None:
        for _ in range(requests):
            run_one()

    made = count_verifications(authenticator, run_all)
    expected = 0 if hit else requests
    require(made == expected, f"{name}: {made} signature checks in {requests} requests")


# -- ASGI ------------------------------------------------------------------------------------

ASGIApp = Callable[[Any, Any, Any], Any]


def asgi_case(
    name: str,
    wrap: Callable[[ASGIApp], ASGIApp],
    tokens: list[str] | None,
    *,
    hit: bool | None = None,
    refuses_anonymous: bool = True,
    baseline: str | None = BARE_ASGI,
    group: str = "asgi",
    notes: str = "",
) -> Case:
    """``wrap(bare_asgi)`` awaited once per request, cycling over ``tokens``' scopes.

    :param wrap: builds the configuration around an app (called again around a probe app for
        the check).
    :param hit: for ``JWTMiddleware`` configurations, whether every request must be a cache hit
        (``True``) or a miss (``False``); checked on the timed instance by counting signature
        verifications.
    """
    app = wrap(bare_asgi)
    scopes = [asgi_scope(t) for t in tokens] if tokens else [asgi_scope(None)]

    async def timed(n: int) -> int:
        next_scope, receive, send = cycle_next(scopes), noop_receive, noop_send
        start = time.perf_counter_ns()
        for _ in range(n):
            await app(next_scope(), receive, send)
        return time.perf_counter_ns() - start

    async def check() -> None:
        seen: list[Any] = []
        statuses: list[int] = []

        async def probe(scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope)
            await bare_asgi(scope, receive, send)

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await wrap(probe)(scopes[0], noop_receive, record)
        require(statuses == [200], f"{name}: answered {statuses}")
        if tokens:
            user = seen[0]["user"]
            require(user.is_authenticated and user.display_name == SUBJECT, f"{name}: {user!r}")
        if tokens and refuses_anonymous:
            statuses.clear()
            await wrap(probe)(asgi_scope(None), noop_receive, record)
            require(statuses == [401], f"{name}: no token answered {statuses}")
        if hit is not None:
            require(isinstance(app, JWTMiddleware), f"{name}: not a JWTMiddleware")
            next_scope = cycle_next(scopes)

            def run_one() -> None:
                coroutine = app(next_scope(), noop_receive, noop_send)
                try:
                    coroutine.send(None)  # nothing suspends: the noop send completes at once
                except StopIteration:
                    return
                raise SystemExit(f"{name}: the middleware suspended")

            expect_verifications(name, app.authenticator, run_one, len(scopes), hit)

    return Case(name, group, baseline, timed, check, notes=notes)


def _identity(app: Any) -> Any:
    return app


def signature_case(material: KeyMaterial, token: str) -> Case:
    """PyJWT's algorithm object ``verify`` with the key prepared once: the cryptography alone."""
    head_payload, _, signature64 = token.rpartition(".")
    signing_input = head_payload.encode("ascii")
    signature = base64.urlsafe_b64decode(signature64 + "=" * (-len(signature64) % 4))
    impl, key = material.impl, material.prepared

    async def timed(n: int) -> int:
        verify = impl.verify
        start = time.perf_counter_ns()
        for _ in range(n):
            verify(signing_input, key, signature)
        return time.perf_counter_ns() - start

    async def check() -> None:
        require(impl.verify(signing_input, key, signature), f"{material.algorithm}: bad signature")

    name = signature_name(material.algorithm)
    return Case(name, "floor", None, timed, check, notes="PyJWT algorithm object, prepared key")


def decode_case(material: KeyMaterial, token: str) -> Case:
    key, algorithms = material.verify_key, [material.algorithm]

    async def timed(n: int) -> int:
        decode = jwt.decode
        start = time.perf_counter_ns()
        for _ in range(n):
            decode(token, key, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER)
        return time.perf_counter_ns() - start

    async def check() -> None:
        claims = jwt.decode(token, key, algorithms=algorithms, audience=AUDIENCE, issuer=ISSUER)
        require(claims["sub"] == SUBJECT, f"jwt.decode {material.algorithm}: {claims!r}")

    return Case(decode_name(material.algorithm), "floor", None, timed, check)


# -- WSGI ------------------------------------------------------------------------------------

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _call_wsgi(app: WSGIApp, environ: dict[str, Any], start_response: Any) -> bytes:
    result = app(environ, start_response)
    try:
        return b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def wsgi_case(
    name: str,
    app: WSGIApp,
    environs: list[dict[str, Any]],
    *,
    authenticator: Authenticator | None = None,
    hit: bool | None = None,
    baseline: str | None = BARE_WSGI,
    group: str = "wsgi",
    expected_body: bytes | None = None,
    refuses_anonymous: bool = True,
    identity_of: Callable[[dict[str, Any]], Any] | None = None,
    notes: str = "",
) -> Case:
    """``app`` called once per request with a copy of the next prebuilt environ (apps may write
    to it); the response is iterated and closed, as a server would."""

    async def timed(n: int) -> int:
        next_environ, start_response = cycle_next(environs), noop_start_response
        start = time.perf_counter_ns()
        for _ in range(n):
            result = app(next_environ().copy(), start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return time.perf_counter_ns() - start

    async def check() -> None:
        statuses: list[str] = []

        def record(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)

        environ = environs[0].copy()
        body = _call_wsgi(app, environ, record)
        require(statuses[:1] == ["200 OK"], f"{name}: answered {statuses}")
        if expected_body is not None:
            require(body == expected_body, f"{name}: body {body!r}")
        if identity_of is not None:
            identity = identity_of(environ)
            require(getattr(identity, "subject", None) == SUBJECT, f"{name}: {identity!r}")
        if refuses_anonymous:
            statuses.clear()
            anonymous = environs[0].copy()
            del anonymous["HTTP_AUTHORIZATION"]
            _call_wsgi(app, anonymous, record)
            require(statuses[0].startswith("401 "), f"{name}: no token answered {statuses}")
        if hit is not None and authenticator is not None:
            next_environ = cycle_next(environs)

            def run_one() -> None:
                _call_wsgi(app, next_environ().copy(), noop_start_response)

            expect_verifications(name, authenticator, run_one, len(environs), hit)

    return Case(name, group, baseline, timed, check, notes=notes)


def _identity_in_environ(environ: dict[str, Any]) -> Any:
    return environ.get("jwtmiddleware.identity")


def flask_cases(material: KeyMaterial) -> list[Case]:
    """One route, bare and behind each Flask extension, with the same HS256 secret."""
    from flask import Flask

    from flask_jwtmiddleware import JWTAuth, current_identity
    from flask_jwtmiddleware import jwt_required as our_required

    bare = Flask("bench_bare")

    @bare.get("/api/me")
    def bare_me() -> str:
        return SUBJECT

    ours = Flask("bench_jwtmiddleware")
    settings = material.settings()
    auth = JWTAuth(ours, settings=settings)

    @ours.get("/api/me")
    @our_required()
    def ours_me() -> str:
        return str(current_identity.subject)

    our_token = material.mint(settings)
    body = SUBJECT.encode()
    authenticator = auth.state_for(ours).middleware.authenticator
    cases = [
        wsgi_case(BARE_FLASK, bare, [wsgi_environ(our_token)], baseline=None, group="flask",
                  expected_body=body, refuses_anonymous=False),
        wsgi_case(FLASK_OURS, ours, [wsgi_environ(our_token)], authenticator=authenticator,
                  hit=True, baseline=BARE_FLASK, group="flask", expected_body=body,
                  notes="cache hit"),
    ]  # fmt: skip
    try:
        from flask_jwt_extended import JWTManager, create_access_token, get_jwt_identity
        from flask_jwt_extended import jwt_required as extended_required
    except ImportError:
        print("flask-jwt-extended is not installed (the bench extra): its row is left out",
              file=sys.stderr)  # fmt: skip
        return cases

    extended = Flask("bench_flask_jwt_extended")
    extended.config.update(
        JWT_SECRET_KEY=material.secret,
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ENCODE_ISSUER=ISSUER,
        JWT_DECODE_ISSUER=ISSUER,
        JWT_ENCODE_AUDIENCE=AUDIENCE,
        JWT_DECODE_AUDIENCE=AUDIENCE,
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(hours=1),
    )
    JWTManager(extended)

    @extended.get("/api/me")
    @extended_required()
    def extended_me() -> str:
        return str(get_jwt_identity())

    with extended.app_context():
        extended_token = create_access_token(identity=SUBJECT)
    cases.append(
        wsgi_case(FLASK_EXTENDED, extended, [wsgi_environ(extended_token)],
                  baseline=BARE_FLASK, group="flask", expected_body=body)
    )  # fmt: skip
    return cases


# -- the run ---------------------------------------------------------------------------------


def miss_settings(material: KeyMaterial, cache_size: int) -> Any:
    return material.settings(verified_cache_size=cache_size)


def build_cases(
    quick: bool, *, stdlib_json_only: bool = False, algorithms: Iterable[str] = ALGORITHMS
) -> list[Case]:
    pool, cache_size = MISS_POOL[quick]
    miss_note = f"{pool} distinct tokens cycled, VERIFIED_CACHE_SIZE={cache_size}"
    if stdlib_json_only:
        keys = key_material(["HS256"])
        hs = keys["HS256"]
        settings = miss_settings(hs, cache_size)
        tokens = [hs.mint(settings) for _ in range(pool)]
        wsgi_miss = JWTWSGIMiddleware(bare_wsgi, settings=settings)
        return [
            asgi_case(BARE_ASGI + STDLIB, _identity, None, baseline=None),
            asgi_case(miss_name("JWTMiddleware", "HS256") + STDLIB,
                      lambda a: JWTMiddleware(a, settings=settings), tokens, hit=False,
                      baseline=BARE_ASGI + STDLIB, notes=miss_note),
            wsgi_case(BARE_WSGI + STDLIB, bare_wsgi, [wsgi_environ(None)], baseline=None,
                      refuses_anonymous=False),
            wsgi_case(miss_name("JWTWSGIMiddleware", "HS256") + STDLIB, wsgi_miss,
                      [wsgi_environ(t) for t in tokens], authenticator=wsgi_miss.authenticator,
                      hit=False, baseline=BARE_WSGI + STDLIB, identity_of=_identity_in_environ,
                      notes=miss_note),
        ]  # fmt: skip

    keys = key_material(algorithms)
    hs = keys["HS256"] if "HS256" in keys else key_material(["HS256"])["HS256"]
    asgi: list[Case] = [asgi_case(BARE_ASGI, _identity, None, baseline=None)]
    wsgi: list[Case] = [
        wsgi_case(BARE_WSGI, bare_wsgi, [wsgi_environ(None)], baseline=None,
                  refuses_anonymous=False)
    ]  # fmt: skip
    floors: list[Case] = []
    for alg, material in keys.items():
        note = KEY_DESCRIPTIONS[alg]
        settings = material.settings()
        token = material.mint(settings)
        asgi.append(
            asgi_case(hit_name("JWTMiddleware", alg),
                      lambda a, s=settings: JWTMiddleware(a, settings=s), [token], hit=True,
                      notes=note)
        )  # fmt: skip
        missing = miss_settings(material, cache_size)
        tokens = [material.mint(missing) for _ in range(pool)]
        asgi.append(
            asgi_case(miss_name("JWTMiddleware", alg),
                      lambda a, s=missing: JWTMiddleware(a, settings=s), tokens, hit=False,
                      notes=f"{note}; {miss_note}")
        )  # fmt: skip
        hit_wsgi = JWTWSGIMiddleware(bare_wsgi, settings=settings)
        wsgi.append(
            wsgi_case(hit_name("JWTWSGIMiddleware", alg), hit_wsgi, [wsgi_environ(token)],
                      authenticator=hit_wsgi.authenticator, hit=True,
                      identity_of=_identity_in_environ, notes=note)
        )  # fmt: skip
        miss_wsgi = JWTWSGIMiddleware(bare_wsgi, settings=missing)
        wsgi.append(
            wsgi_case(miss_name("JWTWSGIMiddleware", alg), miss_wsgi,
                      [wsgi_environ(t) for t in tokens], authenticator=miss_wsgi.authenticator,
                      hit=False, identity_of=_identity_in_environ, notes=f"{note}; {miss_note}")
        )  # fmt: skip
        floors.append(signature_case(material, token))
        floors.append(decode_case(material, token))
    backend = PyJWTBackend(str(hs.secret))
    asgi.append(
        asgi_case(STARLETTE, lambda app: AuthenticationMiddleware(app, backend=backend),
                  [hs.mint(hs.settings())], refuses_anonymous=False,
                  notes="no cache: jwt.decode on every request")
    )  # fmt: skip
    return asgi + wsgi + flask_cases(hs) + floors


def run_stdlib_child(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The HS256 miss again, in a process where ``import orjson`` fails."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stdlib.json"
        boot = (
            "import os, runpy, sys; sys.modules['orjson'] = None; sys.argv = sys.argv[1:]; "
            "sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0]))); "
            "runpy.run_path(sys.argv[0], run_name='__main__')"
        )
        argv = [sys.executable, "-c", boot, str(Path(__file__).resolve()),
                "--stdlib-json-child", "--json", str(out)]  # fmt: skip
        if args.quick:
            argv.append("--quick")
        if args.rounds is not None:
            argv += ["--rounds", str(args.rounds)]
        done = subprocess.run(argv, timeout=600, check=False, env=os.environ.copy())
        require(done.returncode == 0, f"the stdlib-json child failed ({done.returncode})")
        import json

        document = json.loads(out.read_text("utf-8"))
    require(document["fast_json"] is False, "orjson was importable in the stdlib-json child")
    rows: list[dict[str, Any]] = document["results"]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="timed rounds per configuration (7; quick: 3)")
    parser.add_argument("--quick", action="store_true", help="short rounds, for a smoke run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument("--stdlib-json-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    timing = Timing.choose(args.quick, args.rounds)
    started = time.perf_counter()
    child = args.stdlib_json_child
    if child:
        require(not _json.FAST, "orjson is importable in the stdlib-json child")
    cases = build_cases(args.quick, stdlib_json_only=child)
    print(f"{len(cases)} configurations, {timing.rounds} rounds", file=sys.stderr, flush=True)
    asyncio.run(_measure(cases, timing))
    rows = case_rows(cases)
    if not child:
        rows += run_stdlib_child(args)
    document = {
        "script": "bench_middleware",
        "environment": environment(),
        "fast_json": _json.FAST,
        "quick": args.quick,
        "timing": vars(timing),
        "miss_pool": dict(zip(("tokens", "cache_size"), MISS_POOL[args.quick], strict=True)),
        "seconds": round(time.perf_counter() - started, 1),
        "results": rows,
    }
    write_json(args.json, document)
    if child:
        return 0
    print(
        f"jwtmiddleware {jwtmiddleware.__version__}, PyJWT {jwt.__version__}, orjson "
        f"{'on' if _json.FAST else 'off'}; median of {timing.rounds} round(s), µs per request, "
        f"in process ({document['seconds']} s)"
    )
    for group, title in GROUP_TITLES.items():
        selected = [r for r in rows if r["group"] == group]
        print(f"\n{title}\n")
        print(timing_table(selected))
    return 0


async def _measure(cases: list[Case], timing: Timing) -> None:
    await measure(cases, timing)


if __name__ == "__main__":
    sys.exit(main())
