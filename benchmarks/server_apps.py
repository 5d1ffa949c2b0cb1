"""The ASGI apps ``bench_server.py`` serves with uvicorn (factories, ``--factory``).

``BENCH_SECRET`` holds the HS256 secret; issuer and audience are the benchmarks' own. Each app
answers every path with 200 ``ok``, so the three differ only in authentication:

- ``bare``: nothing;
- ``jwtmiddleware``: ``JWTMiddleware`` (default settings: verified-token cache on);
- ``floor``: :class:`_common.MinimalHit` with a ``Vary`` wrapper, its dict holding
  ``BENCH_TOKEN``: the least a pure-Python middleware can add on a cache hit, no verification;
- ``starlette_pyjwt``: Starlette's ``AuthenticationMiddleware`` with a PyJWT backend, and
  ``@requires("authenticated")`` semantics (401 without a valid token), as an app writes it;
- ``jwtmiddleware_{sqlite,redis}_{mirror,lag0}``: ``JWTMiddleware`` with a revocation store
  (``BENCH_SQLITE``: a file path; ``BENCH_REDIS``: a URL), checked through the mirror (the
  default ``STORE_MAX_LAG = 1``) or asked on every request (``STORE_MAX_LAG = 0``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from _common import AUDIENCE, ISSUER, SUBJECT, MinimalHit, bare_asgi

__all__ = [
    "bare",
    "floor",
    "jwtmiddleware",
    "jwtmiddleware_redis_lag0",
    "jwtmiddleware_redis_mirror",
    "jwtmiddleware_sqlite_lag0",
    "jwtmiddleware_sqlite_mirror",
    "pid_asgi",
    "pid_wsgi",
    "starlette_pyjwt",
]


def _secret() -> str:
    return os.environ["BENCH_SECRET"]


def bare() -> Any:
    return bare_asgi


def jwtmiddleware(**store: Any) -> Any:
    from jwtmiddleware import JWTMiddleware, Settings

    settings = Settings(secret=_secret(), algorithms=("HS256",), issuer=ISSUER,
                        audience=(AUDIENCE,), **store)  # fmt: skip
    app = JWTMiddleware(bare_asgi, settings=settings)
    app.start()  # the mirror (if any) loaded before the first request
    return app


def jwtmiddleware_sqlite_mirror() -> Any:
    return jwtmiddleware(store=f"sqlite:///{os.environ['BENCH_SQLITE']}")


def jwtmiddleware_sqlite_lag0() -> Any:
    return jwtmiddleware(store=f"sqlite:///{os.environ['BENCH_SQLITE']}", store_max_lag=0)


def jwtmiddleware_redis_mirror() -> Any:
    return jwtmiddleware(store=os.environ["BENCH_REDIS"], store_timeout=1.0)


def jwtmiddleware_redis_lag0() -> Any:
    return jwtmiddleware(store=os.environ["BENCH_REDIS"], store_timeout=1.0, store_max_lag=0)


def floor() -> Any:
    cache = {f"Bearer {os.environ['BENCH_TOKEN']}".encode(): (SUBJECT, time.time() + 3600)}
    return MinimalHit(bare_asgi, cache, vary=True)


def starlette_pyjwt() -> Any:
    import jwt
    from starlette.authentication import (
        AuthCredentials,
        AuthenticationBackend,
        AuthenticationError,
        SimpleUser,
    )
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import HTTPConnection
    from starlette.responses import PlainTextResponse

    secret = _secret()

    class PyJWTBackend(AuthenticationBackend):
        async def authenticate(
            self, conn: HTTPConnection
        ) -> tuple[AuthCredentials, SimpleUser] | None:
            header = conn.headers.get("authorization")
            if not header:
                return None
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                return None
            try:
                claims = jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE,
                                    issuer=ISSUER, options={"require": ["exp", "sub"]})  # fmt: skip
            except jwt.InvalidTokenError as exc:
                raise AuthenticationError("invalid token") from exc
            return AuthCredentials(["authenticated"]), SimpleUser(claims["sub"])

    async def protected(scope: Any, receive: Any, send: Any) -> None:
        if not scope["user"].is_authenticated:
            await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
            return
        await bare_asgi(scope, receive, send)

    return AuthenticationMiddleware(protected, backend=PyJWTBackend())


def _pid_settings() -> Any:
    from jwtmiddleware import Settings

    return Settings(secret=_secret(), algorithms=("HS256",), issuer=ISSUER,
                    store=os.environ["BENCH_STORE"], store_prefix=os.environ["BENCH_PREFIX"],
                    store_timeout=1.0, error_handler=_refusal_with_pid)  # fmt: skip


def _refusal_with_pid(error: Exception, request: Any) -> Any:
    """Refusals as usual, plus ``X-Worker-Pid`` (``bench_propagation.py`` tells the workers
    apart by it)."""
    from jwtmiddleware import AuthenticationError
    from jwtmiddleware.http.responses import ErrorResponse, render_error, render_store_unavailable

    if isinstance(error, AuthenticationError):
        response = render_error(error, realm="api")
    else:
        response = render_store_unavailable(error)  # type: ignore[arg-type]
    pid = ("x-worker-pid", str(os.getpid()))
    return ErrorResponse(response.status, (*response.headers, pid), response.body)


def pid_asgi() -> Any:
    """``JWTMiddleware`` with ``BENCH_STORE``, in front of an app answering its pid."""
    from jwtmiddleware import JWTMiddleware

    pid = str(os.getpid()).encode()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-length", str(len(pid)).encode()), (b"x-worker-pid", pid)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": pid})

    return JWTMiddleware(app, settings=_pid_settings())


def pid_wsgi() -> Any:
    """``JWTWSGIMiddleware`` with ``BENCH_STORE``, in front of an app answering its pid."""
    from jwtmiddleware import JWTWSGIMiddleware

    def app(environ: Any, start_response: Any) -> Any:
        pid = str(os.getpid())
        start_response("200 OK", [("Content-Length", str(len(pid))), ("X-Worker-Pid", pid)])
        return [pid.encode()]

    return JWTWSGIMiddleware(app, settings=_pid_settings())
