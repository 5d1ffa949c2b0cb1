"""The ASGI apps ``bench_server.py`` serves with uvicorn (factories, ``--factory``).

``BENCH_SECRET`` holds the HS256 secret; issuer and audience are the benchmarks' own. Each app
answers every path with 200 ``ok``, so the three differ only in authentication:

- ``bare``: nothing;
- ``jwtmiddleware``: ``JWTMiddleware`` (default settings: verified-token cache on);
- ``floor``: :class:`_common.MinimalHit` with a ``Vary`` wrapper, its dict holding
  ``BENCH_TOKEN``: the least a pure-Python middleware can add on a cache hit, no verification;
- ``starlette_pyjwt``: Starlette's ``AuthenticationMiddleware`` with a PyJWT backend, and
  ``@requires("authenticated")`` semantics (401 without a valid token), as an app writes it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from _common import AUDIENCE, ISSUER, SUBJECT, MinimalHit, bare_asgi

__all__ = ["bare", "floor", "jwtmiddleware", "starlette_pyjwt"]


def _secret() -> str:
    return os.environ["BENCH_SECRET"]


def bare() -> Any:
    return bare_asgi


def jwtmiddleware() -> Any:
    from jwtmiddleware import JWTMiddleware, Settings

    settings = Settings(secret=_secret(), algorithms=("HS256",), issuer=ISSUER,
                        audience=(AUDIENCE,))  # fmt: skip
    return JWTMiddleware(bare_asgi, settings=settings)


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
