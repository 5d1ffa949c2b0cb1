"""The revocation mirror under real servers with several worker processes: a revocation made in
another process is refused by every worker within ``STORE_MAX_LAG``; workers forked from a
master whose mirror already ran (gunicorn ``--preload``) follow on their own; and an ASGI
server's lifespan shutdown leaves no Redis connection open."""

from __future__ import annotations

import http.client
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jwtmiddleware import Settings
from jwtmiddleware.core.issuer import Issuer
from jwtmiddleware.sessions.manager import SessionManager
from jwtmiddleware.stores import SessionInfo
from tests.core.keyfactory import SECRET
from tests.redis_server import RedisServer
from tests.servers import (
    HOST,
    RunningServer,
    free_port,
    gunicorn_argv,
    run_server,
    server_env,
    uvicorn_argv,
)

pytestmark = pytest.mark.slow

ISSUER = "https://auth.test"
LAG = 0.5
SLACK = 1.0  # two workers and a test process on two loaded cores


def _get(server: RunningServer, token: str) -> tuple[int, int | None]:
    """``(status, worker pid)`` of ``GET /api/me`` on a new connection (tried again once if
    the connection is reset: a loaded machine can make gunicorn's arbiter recycle a worker)."""
    for attempt in (1, 2):
        conn = http.client.HTTPConnection(HOST, server.port, timeout=5)
        try:
            conn.request("GET", "/api/me", headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            body = response.read()
        except (ConnectionResetError, http.client.RemoteDisconnected):
            if attempt == 2:
                raise
            continue
        finally:
            conn.close()
        pid = json.loads(body).get("pid") if response.status == 200 else None
        return response.status, pid
    raise AssertionError("unreachable")


def _workers(server: RunningServer, token: str, count: int = 2) -> set[int]:
    """The pids of the workers answering, once ``count`` different ones answered 200."""
    seen: set[int] = set()
    deadline = time.monotonic() + 20
    while len(seen) < count:
        status, pid = _get(server, token)
        assert status == 200, status
        assert pid is not None
        seen.add(pid)
        assert time.monotonic() < deadline, f"only workers {seen} answered"
    return seen


def _refused_everywhere_within(server: RunningServer, token: str, bound: float) -> float:
    """Poll from the revocation on: return when the token was last let through (seconds after
    the call); fail if any worker lets it through after ``bound`` or if, once past it, a run of
    requests on new connections is not refused every time."""
    start = time.monotonic()
    last_pass = 0.0
    while time.monotonic() - start < bound:
        status, _ = _get(server, token)
        if status == 200:
            last_pass = time.monotonic() - start
        else:
            assert status == 401, status
    assert [_get(server, token)[0] for _ in range(20)] == [401] * 20
    return last_pass


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


def _env(url: str, prefix: str, **extra: str) -> dict[str, str]:
    return server_env(
        {
            "JWTMIDDLEWARE_SECRET": SECRET,
            "JWTMIDDLEWARE_ISSUER": ISSUER,
            "JWTMIDDLEWARE_STORE": url,
            "JWTMIDDLEWARE_STORE_PREFIX": prefix,
            "JWTMIDDLEWARE_STORE_MAX_LAG": str(LAG),
            "JWTMIDDLEWARE_EXEMPT_PATHS": "/health",
        },
        **extra,
    )


SERVERS: dict[str, Callable[[int], list[str]]] = {
    "uvicorn-2-workers": lambda port: uvicorn_argv(
        "tests.apps.asgi_echo:create_app", port, "--workers", "2"
    ),
    "gunicorn-2-workers": lambda port: gunicorn_argv(
        "tests.apps.wsgi_echo:create_app()", port, "--workers", "2"
    ),
    "gunicorn-preload": lambda port: gunicorn_argv(
        "tests.apps.wsgi_echo:create_started_app()", port, "--workers", "2", "--preload"
    ),
}


@pytest.fixture(params=list(SERVERS))
def served(request: pytest.FixtureRequest, store_url: str) -> Iterator[tuple[RunningServer, str]]:
    prefix = f"w{secrets.token_hex(4)}:"
    port = free_port()
    with run_server(SERVERS[request.param](port), port, env=_env(store_url, prefix)) as server:
        yield server, prefix


def test_every_worker_refuses_a_revocation_made_elsewhere_within_the_lag(
    served: tuple[RunningServer, str], store_url: str
) -> None:
    server, prefix = served
    settings = Settings(secret=SECRET, issuer=ISSUER, store=store_url, store_prefix=prefix)
    manager = SessionManager(settings)  # this test process: another store, another mirror
    issuer = Issuer(settings)
    try:
        now = time.time()
        sid = secrets.token_urlsafe(8)
        manager.store.create_session(SessionInfo(sid, "ada", now, now, now + 3600), now=now)
        by_jti = issuer.access_token("ada", now=now)
        by_sid = issuer.access_token("ada", now=now, claims={"sid": sid})
        by_sub = issuer.access_token("bo", now=now - 5)
        for token in (by_jti, by_sid, by_sub):
            assert len(_workers(server, token.token)) == 2

        manager.revoke_token(by_jti.claims["jti"], issuer=ISSUER, expires_at=by_jti.expires_at)
        assert _refused_everywhere_within(server, by_jti.token, LAG + SLACK) <= LAG + SLACK
        manager.revoke_session(sid)
        assert _refused_everywhere_within(server, by_sid.token, LAG + SLACK) <= LAG + SLACK
        manager.logout_everywhere("bo", issuer=ISSUER)
        assert _refused_everywhere_within(server, by_sub.token, LAG + SLACK) <= LAG + SLACK
        assert len(_workers(server, issuer.access_token("ada", now=time.time()).token)) == 2
    finally:
        manager.close()


@pytest.mark.redis
@pytest.mark.parametrize("max_lag", ["0", str(LAG)], ids=["per-request", "mirror"])
def test_lifespan_shutdown_closes_every_redis_connection(
    redis_server_factory: Callable[..., RedisServer], tmp_path: Path, max_lag: str
) -> None:
    redis = redis_server_factory()
    probe_file = tmp_path / "probe.jsonl"
    env = _env(
        redis.url,
        "lf:",
        JWTMW_PROBE_REDIS=redis.url,
        JWTMW_PROBE_FILE=str(probe_file),
        JWTMIDDLEWARE_STORE_MAX_LAG=max_lag,
    )
    token = Issuer(Settings(secret=SECRET, issuer=ISSUER)).access_token("cy", now=time.time())
    port = free_port()
    argv = uvicorn_argv("tests.apps.lifespan_probe:create_app", port, "--lifespan", "on")
    with run_server(argv, port, env=env) as server:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(8) as pool:  # several pooled connections
            statuses = list(pool.map(lambda _: _get(server, token.token)[0], range(40)))
        assert statuses == [200] * 40
    assert "Traceback" not in server.stderr, server.stderr
    events = [json.loads(line) for line in probe_file.read_text().splitlines()]
    assert [e["event"] for e in events] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    if max_lag != "0":
        assert events[0]["clients"] >= 1  # the mirror's follower was connected at start-up
    assert events[1]["clients"] == 0, events
