"""Sliding refresh, refresh-token rotation and reuse detection, step by step.

Run it::

    python examples/refresh_flow.py

A plain WSGI app behind :class:`~jwtmiddleware.JWTWSGIMiddleware`, driven in-process with
httpx (``pip install httpx``). The clock is a :class:`~jwtmiddleware.testing.FrozenClock` that
the demo moves by hand, so minutes pass instantly:

1. alice logs in and gets a token pair (access token for 5 minutes, refresh token);
2. she calls the API; with more than ``REFRESH_THRESHOLD`` (1 minute) left nothing happens;
3. 4 minutes later the access token is about to expire: the response carries a fresh one in
   ``X-Refreshed-Token`` (sliding refresh) and the client switches to it;
4. she goes idle; the access token expires (idle timeout = access TTL): 401;
5. the client rotates its refresh token at ``/auth/refresh``: a new pair, same session;
6. an attacker replays the *old* refresh token: reuse detected, the whole session is revoked,
   the event hook hears ``authn_token_reuse``, and alice's latest tokens stop working.

Endpoints: ``POST /auth/login`` ``{"username", "password"}``, ``POST /auth/refresh``
``{"refresh_token"}`` (both exempt from authentication), ``GET /api/me``.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from jwtmiddleware import (
    AuthenticationError,
    AuthEvent,
    JWTWSGIMiddleware,
    SessionManager,
    Settings,
)
from jwtmiddleware.stores import MemoryStore
from jwtmiddleware.testing import FrozenClock

__all__ = ["USERS", "RefreshDemo", "build", "main", "run_demo"]

#: Demo users and passwords (a real app checks a password hash).
USERS = {"alice": "wonderland"}
START = 1_700_000_000.0

StartResponse = Callable[..., Any]


@dataclass
class RefreshDemo:
    """The protected app, its session manager, the clock it runs on and the events it heard."""

    app: JWTWSGIMiddleware
    manager: SessionManager
    clock: FrozenClock
    events: list[AuthEvent] = field(default_factory=list)

    def client(self) -> httpx.Client:
        return httpx.Client(
            transport=httpx.WSGITransport(app=self.app), base_url="https://api.test"
        )

    def close(self) -> None:
        self.manager.close()


def _json(start_response: StartResponse, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
    return [data]


def _read_json(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def build(*, secret: str | None = None, clock: FrozenClock | None = None) -> RefreshDemo:
    """Build the app with short lifetimes so the demo fits in a few simulated minutes."""
    clock = clock or FrozenClock(START)
    events: list[AuthEvent] = []
    settings = Settings(
        secret=secret or secrets.token_urlsafe(48),
        issuer="refresh-flow-demo",
        exempt_paths=("/auth/login", "/auth/refresh"),
        access_token_ttl=300,  # 5 minutes
        refresh_threshold=60,  # renew when less than a minute is left
        refresh_reuse_grace=10,  # a retry within 10 s gets the same successor
        max_session_age=8 * 3600,  # nobody stays logged in longer than a working day
        leeway=0,
        event_hook=events.append,
    )
    store = MemoryStore()  # one process; use sqlite:// or redis:// for several workers
    manager = SessionManager(settings, store, clock=clock)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if (method, path) == ("POST", "/auth/login"):
            form = _read_json(environ)
            user, password = str(form.get("username", "")), str(form.get("password", ""))
            expected = USERS.get(user, "")
            if not (expected and hmac.compare_digest(password.encode(), expected.encode())):
                return _json(start_response, "401 Unauthorized", {"error": "bad credentials"})
            pair = manager.login(user)
            return _json(start_response, "200 OK", pair.body(clock()))
        if (method, path) == ("POST", "/auth/refresh"):
            token = str(_read_json(environ).get("refresh_token", ""))
            try:
                pair = manager.refresh(token)
            except AuthenticationError as exc:
                body = {"error": exc.error, "error_description": exc.description}
                return _json(start_response, "401 Unauthorized", body)
            return _json(start_response, "200 OK", pair.body(clock()))
        if path == "/api/me":
            identity = environ["jwtmiddleware.identity"]
            return _json(start_response, "200 OK",
                         {"user": identity.subject, "session": identity.session_id})  # fmt: skip
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return RefreshDemo(JWTWSGIMiddleware(app, settings=settings, store=store, clock=clock),
                       manager, clock, events)  # fmt: skip


def run_demo(demo: RefreshDemo, out: Callable[[str], object] = print) -> dict[str, Any]:
    """Walk through the steps in the module docstring; return what each step observed."""
    seen: dict[str, Any] = {}
    with demo.client() as http:

        def me(token: str) -> httpx.Response:
            return http.get("/api/me", headers={"Authorization": f"Bearer {token}"})

        login = http.post("/auth/login", json={"username": "alice", "password": "wonderland"})
        tokens = login.json()
        seen["login"] = login.status_code
        out(f"1. login: {login.status_code}, access token for {tokens['expires_in']} s")

        first = me(tokens["access_token"])
        seen["fresh_call"] = (first.status_code, first.headers.get("X-Refreshed-Token"))
        out(f"2. GET /api/me: {first.status_code}, X-Refreshed-Token: "
            f"{'yes' if 'X-Refreshed-Token' in first.headers else 'no'}")  # fmt: skip

        demo.clock.advance(250)  # 50 s left, under the 60 s threshold
        aging = me(tokens["access_token"])
        renewed = aging.headers.get("X-Refreshed-Token")
        seen["sliding"] = (aging.status_code, renewed is not None, aging.headers["Cache-Control"])
        out(f"3. +250 s: {aging.status_code}, sliding refresh: "
            f"{'X-Refreshed-Token received' if renewed else 'none'} "
            f"(Cache-Control: {aging.headers['Cache-Control']})")  # fmt: skip
        if renewed:
            tokens["access_token"] = renewed
        seen["renewed_works"] = me(tokens["access_token"]).status_code

        demo.clock.advance(400)  # idle: even the renewed token (300 s) has expired
        idle = me(tokens["access_token"])
        seen["idle"] = idle.status_code
        out(f"4. +400 s idle: {idle.status_code} {idle.json()['error_description']}")

        stolen = tokens["refresh_token"]
        rotated = http.post("/auth/refresh", json={"refresh_token": stolen})
        tokens = rotated.json()
        seen["rotation"] = rotated.status_code
        works = me(tokens["access_token"]).status_code
        out(f"5. POST /auth/refresh: {rotated.status_code}, new pair; GET /api/me: {works}")

        demo.clock.advance(30)  # past the 10 s grace window
        replay = http.post("/auth/refresh", json={"refresh_token": stolen})
        seen["replay"] = replay.status_code
        out(f"6. old refresh token replayed: {replay.status_code} "
            f"{replay.json()['error_description']}")  # fmt: skip
        reused = [e for e in demo.events if e.name == "authn_token_reuse"]
        seen["reuse_events"] = len(reused)
        for event in reused:
            out(f"   event hook: {event.name} (user {event.subject}, session revoked)")
        latest = me(tokens["access_token"])
        again = http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        seen["after_reuse"] = (latest.status_code, again.status_code)
        out(f"   alice's latest access token: {latest.status_code}; "
            f"latest refresh token: {again.status_code}")  # fmt: skip
    return seen


def main() -> None:
    demo = build()
    try:
        run_demo(demo)
    finally:
        demo.close()


if __name__ == "__main__":
    main()
