"""Verify tokens through the auth service's JWKS URL: a small adapter for apps A and B.

jwtmiddleware's middleware does not take a JWKS URL yet, so this example wires the pieces by
hand: a :class:`~jwtmiddleware.remote_keys.RemoteKeySetCache` holds the keys, a refresher keeps
them fresh in the background, and a :class:`~jwtmiddleware.Verifier` (rebuilt only when a new
key set arrives) does every check. ``protect_asgi`` and ``protect_wsgi`` put it in front of an
app. Settings come from the environment:

``SSO_JWKS_URL``            the auth service's JWKS URL (https)
``SSO_ISSUER``              the expected ``iss``
``SSO_AUDIENCE``            the expected ``aud``
``SSO_CACHE_TTL`` ``SSO_REFETCH_COOLDOWN`` ``SSO_MAX_STALE``   cache tuning (seconds)
``SSO_ALLOW_HTTP_LOOPBACK`` ``1`` only for local tests over plain http on 127.0.0.1
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import anyio

from jwtmiddleware import (
    AuthenticationError,
    InvalidSignature,
    Settings,
    TokenMalformed,
    TokenMissing,
    Verifier,
)
from jwtmiddleware.remote_keys import RemoteKeySetCache, RemoteKeysRefresher, aperform, perform
from jwtmiddleware.responses import render_error

__all__ = ["RemoteVerifier", "protect_asgi", "protect_wsgi"]

ALGORITHMS = ("ES256",)
_WAIT_STEP = 0.02


class RemoteVerifier:
    """Verifies tokens with the keys published at a JWKS URL."""

    def __init__(self, cache: RemoteKeySetCache, *, issuer: str, audience: str) -> None:
        self.cache = cache
        self.refresher = RemoteKeysRefresher(cache)
        self._issuer, self._audience = issuer, audience
        self._lock = threading.Lock()
        self._generation = -1
        self._verifier: Verifier | None = None

    @classmethod
    def from_env(cls) -> RemoteVerifier:
        """Build it from the ``SSO_*`` environment variables."""
        env = os.environ
        cache = RemoteKeySetCache(
            env["SSO_JWKS_URL"],
            algorithms=ALGORITHMS,
            cache_ttl=float(env.get("SSO_CACHE_TTL", "300")),
            refetch_cooldown=float(env.get("SSO_REFETCH_COOLDOWN", "30")),
            max_stale=float(env.get("SSO_MAX_STALE", "86400")),
            allow_http_loopback=env.get("SSO_ALLOW_HTTP_LOOPBACK") == "1",
            timeout=2.0,
        )
        return cls(cache, issuer=env["SSO_ISSUER"], audience=env["SSO_AUDIENCE"])

    # -- per request ---------------------------------------------------------------------------

    def verify(self, token: str) -> dict[str, Any]:
        """The verified claims (sync: may wait for one bounded fetch), or raise."""
        alg, kid = _peek(token)
        deadline = time.monotonic() + self.cache.timeout + 1
        while time.monotonic() < deadline:
            candidates, fetch = self.cache.lookup(alg, kid, time.time())
            if fetch is not None:
                perform(self.cache, fetch)  # whoever gets a FetchNeeded performs it
            elif candidates or not self.cache.in_flight(time.time()):
                break
            else:
                time.sleep(_WAIT_STEP)  # another request is fetching: wait for its answer
        return self._check(token, alg, kid)

    async def averify(self, token: str) -> dict[str, Any]:
        """The async twin of :meth:`verify`: the fetch runs in a worker thread."""
        alg, kid = _peek(token)
        deadline = time.monotonic() + self.cache.timeout + 1
        while time.monotonic() < deadline:
            candidates, fetch = self.cache.lookup(alg, kid, time.time())
            if fetch is not None:
                await aperform(self.cache, fetch)
            elif candidates or not self.cache.in_flight(time.time()):
                break
            else:
                await anyio.sleep(_WAIT_STEP)
        return self._check(token, alg, kid)

    def _check(self, token: str, alg: str, kid: str | None) -> dict[str, Any]:
        now = time.time()
        if not self.cache.candidates(alg, kid, now):
            raise InvalidSignature("no trusted key for this token")
        return dict(self._current().verify(token, now).claims)

    def _current(self) -> Verifier:
        """A Verifier over the cached keys, rebuilt once per new key set (not per request)."""
        with self._lock:
            if self._verifier is None or self._generation != self.cache.generation:
                self._generation = self.cache.generation
                settings = Settings(
                    keys=[self.cache.document],
                    algorithms=ALGORITHMS,
                    issuer=self._issuer,
                    audience=[self._audience],
                )
                self._verifier = Verifier(settings)
            return self._verifier


def _peek(token: str) -> tuple[str, str | None]:
    """``alg`` and ``kid`` of an unverified header, only to choose keys; the Verifier re-checks."""
    try:
        segment = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError as exc:
        raise TokenMalformed("unreadable header") from exc
    alg, kid = header.get("alg") if isinstance(header, dict) else None, header.get("kid")
    if not isinstance(alg, str) or (kid is not None and not isinstance(kid, str)):
        raise TokenMalformed("bad alg or kid")
    return alg, kid


def _bearer(value: str | None) -> str:
    if value is None or not value.lower().startswith("bearer "):
        raise TokenMissing("no bearer token")
    return value[7:].strip()


# -- ASGI ---------------------------------------------------------------------------------------


def protect_asgi(app: Any, verifier: RemoteVerifier, *, exempt: Iterable[str] = ()) -> Any:
    """Require a valid token on every HTTP path but ``exempt``; claims go to ``scope["claims"]``.

    The lifespan starts the refresher as an anyio task (so requests rarely wait for a fetch).
    """
    open_paths = frozenset(exempt)

    async def protected(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(verifier.refresher.run)
                await app(scope, receive, send)
                tasks.cancel_scope.cancel()
            return
        if scope["type"] != "http" or scope["path"] in open_paths:
            await app(scope, receive, send)
            return
        auth = [v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"]
        try:
            claims = await verifier.averify(_bearer(auth[0] if len(auth) == 1 else None))
        except AuthenticationError as exc:
            response = render_error(exc, realm="sso-demo")
            headers = [(k.encode(), v.encode()) for k, v in response.headers]
            await send({"type": "http.response.start", "status": response.status,
                        "headers": headers})  # fmt: skip
            await send({"type": "http.response.body", "body": response.body})
            return
        await app({**scope, "claims": claims}, receive, send)

    return protected


# -- WSGI ---------------------------------------------------------------------------------------

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def protect_wsgi(app: WSGIApp, verifier: RemoteVerifier, *, exempt: Iterable[str] = ()) -> WSGIApp:
    """Require a valid token on every path but ``exempt``; claims go to ``environ["claims"]``.

    Starts the refresher thread and waits (briefly) for the first key set.
    """
    open_paths = frozenset(exempt)
    verifier.refresher.start(wait=5.0)

    def protected(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in open_paths:
            return app(environ, start_response)
        try:
            claims = verifier.verify(_bearer(environ.get("HTTP_AUTHORIZATION")))
        except AuthenticationError as exc:
            response = render_error(exc, realm="sso-demo")
            start_response(response.status_line, list(response.headers))
            return [response.body]
        environ["claims"] = claims
        return app(environ, start_response)

    return protected
