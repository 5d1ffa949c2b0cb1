"""Store failures at the HTTP level: a killed or hung Redis in the middle of a run of requests.

These run with ``STORE_MAX_LAG = 0`` (every request asks the store): under ``STORE_FAILURE =
"closed"`` no revoked token may pass, every request is answered within the store timeout plus
50 ms, and service is normal again once Redis is back. Under ``"open"`` requests pass and are
counted. The mirror's answers to the same failures are in ``test_mirror_failures``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

import pytest

from jwtmiddleware import Settings
from jwtmiddleware.core.issuer import Issuer
from jwtmiddleware.sessions.manager import SessionManager
from jwtmiddleware.stores.base import Store
from tests.core.keyfactory import SECRET
from tests.redis_server import RedisServer
from tests.revocation.conftest import Through

pytestmark = pytest.mark.redis

TIMEOUT = 0.1
BOUND = TIMEOUT + 0.05


def run_requests(
    client: Through, tokens: dict[str, str], rounds: int
) -> list[tuple[str, int, float]]:
    out = []
    for _ in range(rounds):
        for name, token in tokens.items():
            start = time.perf_counter()
            status = client.get(token).status
            out.append((name, status, time.perf_counter() - start))
    return out


@pytest.mark.parametrize("failure", ["kill", "pause"])
def test_fail_closed(
    through: Through,
    redis_server_factory: Callable[..., RedisServer],
    make_store: Callable[..., Store],
    failure: str,
) -> None:
    server = redis_server_factory(appendonly=True)
    settings = Settings(secret=SECRET, store=server.url, store_timeout=TIMEOUT, store_max_lag=0)
    store = make_store(server.url, f"t{secrets.token_hex(4)}:")
    client = through.build(settings, store)
    issuer = Issuer(settings)
    good = issuer.access_token("alice", now=time.time())
    bad = issuer.access_token("alice", now=time.time())
    SessionManager(settings, store).revoke_token(bad.claims["jti"], expires_at=bad.expires_at)
    tokens = {"good": good.token, "revoked": bad.token}

    healthy = run_requests(client, tokens, 3)
    assert {(n, s) for n, s, _ in healthy} == {("good", 200), ("revoked", 401)}

    if failure == "kill":
        server.kill()
    else:
        server.pause()
    try:
        broken = run_requests(client, tokens, 5)
    finally:
        if failure == "kill":
            server.restart()
        else:
            server.resume()
    assert all(status == 503 for _, status, _ in broken), broken
    slowest = max(elapsed for _, _, elapsed in broken)
    assert slowest < BOUND, f"slowest answer took {slowest * 1000:.0f} ms"

    recovered = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        recovered = run_requests(client, tokens, 1)
        if all(status != 503 for _, status, _ in recovered):
            break
        time.sleep(0.05)
    assert {(n, s) for n, s, _ in recovered} == {("good", 200), ("revoked", 401)}


def test_fail_closed_answer_is_a_503_with_retry_after(
    through: Through, redis_server: RedisServer, make_store: Callable[..., Store]
) -> None:
    settings = Settings(secret=SECRET, store=redis_server.url, store_max_lag=0)
    client = through.build(settings, make_store(redis_server.url, "t:"))
    token = Issuer(settings).access_token("bob", now=time.time()).token
    redis_server.kill()
    try:
        answer = client.get(token)
    finally:
        redis_server.restart()
    assert answer.status == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.headers["cache-control"] == "no-store"


def test_fail_open_lets_requests_through_and_counts_them(
    through: Through,
    redis_server: RedisServer,
    make_store: Callable[..., Store],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        secret=SECRET, store=redis_server.url, store_failure="open", store_max_lag=0
    )
    client = through.build(settings, make_store(redis_server.url, f"t{secrets.token_hex(4)}:"))
    token = Issuer(settings).access_token("carol", now=time.time()).token
    redis_server.kill()
    try:
        with caplog.at_level(logging.WARNING, logger="jwtmiddleware"):
            statuses = [client.get(token).status for _ in range(3)]
    finally:
        redis_server.restart()
    assert statuses == [200, 200, 200]
    assert client.app is not None
    assert client.app.authenticator.store_failures_allowed == 3
    assert any("STORE_FAILURE=open" in r.getMessage() for r in caplog.records)
    assert token not in caplog.text


def test_revocations_survive_a_redis_crash_with_aof(
    through: Through,
    redis_server_factory: Callable[..., RedisServer],
    make_store: Callable[..., Store],
) -> None:
    server = redis_server_factory(appendonly=True)
    settings = Settings(secret=SECRET, store=server.url)
    store = make_store(server.url, "aof:")
    client = through.build(settings, store)
    issued = Issuer(settings).access_token("dave", now=time.time())
    SessionManager(settings, store).revoke_token(issued.claims["jti"], expires_at=issued.expires_at)
    server.kill()
    server.restart()
    deadline = time.monotonic() + 5
    status = 503
    while status == 503 and time.monotonic() < deadline:
        status = client.get(issued.token).status
    assert status == 401


def test_a_failed_revocation_write_raises(
    redis_server: RedisServer, make_store: Callable[..., Store]
) -> None:
    from jwtmiddleware import StoreUnavailable

    settings = Settings(secret=SECRET, store=redis_server.url)
    store = make_store(redis_server.url, "w:")
    manager = SessionManager(settings, store)
    redis_server.kill()
    try:
        with pytest.raises(StoreUnavailable):
            manager.revoke_token("some-jti")
        with pytest.raises(StoreUnavailable):
            manager.logout_everywhere("someone")
    finally:
        redis_server.restart()
        store.close()
