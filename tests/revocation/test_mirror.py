"""The revocation mirror at the HTTP level, in process, against real SQLite files and Redis
servers: revocations made by another process (the CLI) reach this one within ``STORE_MAX_LAG``;
a hung, killed, flushed or trimmed store makes the mirror stale or resync, and no revoked token
is accepted meanwhile."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from jwtmiddleware import Settings
from jwtmiddleware.core.issuer import Issuer
from jwtmiddleware.stores import SessionInfo, open_store
from jwtmiddleware.stores.base import Store
from tests.core.keyfactory import SECRET
from tests.redis_server import RedisServer
from tests.revocation.conftest import Through

ISSUER = "https://auth.test"
LAG = 0.5
TIMEOUT = 0.1
# Scheduling slack on a loaded two-core machine; the bounds under test are LAG and TIMEOUT.
SLACK = 0.75


def settings_for(url: str, **extra: Any) -> Settings:
    options: dict[str, Any] = {"store_max_lag": LAG, "store_timeout": TIMEOUT, **extra}
    return Settings(secret=SECRET, issuer=ISSUER, store=url, **options)


def cli(url: str, prefix: str, *args: str) -> float:
    """Run ``jwtmiddleware revoke`` in another process; return when it finished (monotonic)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    env.update(
        JWTMIDDLEWARE_STORE=url,
        JWTMIDDLEWARE_STORE_PREFIX=prefix,
        JWTMIDDLEWARE_ISSUER=ISSUER,
        JWTMIDDLEWARE_SECRET=SECRET,
    )
    done = subprocess.run(
        [sys.executable, "-m", "jwtmiddleware", "revoke", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return time.monotonic()


def until(client: Through, token: str, status: int, *, within: float) -> float:
    """Seconds until ``token`` is answered ``status`` (fails after ``within``)."""
    start = time.monotonic()
    while True:
        got = client.get(token).status
        took = time.monotonic() - start
        if got == status:
            return took
        assert took < within, f"still {got} after {took:.2f} s"
        time.sleep(0.005)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("redis_server").url)


@pytest.fixture
def prefix() -> str:
    return f"m{secrets.token_hex(4)}:"


def build(through: Through, url: str, prefix: str, **extra: Any) -> tuple[Through, Store]:
    settings = settings_for(url, store_prefix=prefix, **extra)
    store = open_store(url, prefix=prefix, timeout=TIMEOUT)
    return through.build(settings, store), store


def test_revocations_made_by_another_process_take_effect_within_the_lag(
    through: Through, shared_url: str, prefix: str
) -> None:
    client, store = build(through, shared_url, prefix)
    settings = settings_for(shared_url)
    issuer = Issuer(settings)
    now = time.time()
    sid = secrets.token_urlsafe(8)
    store.create_session(SessionInfo(sid, "ivy", now, now, now + 3600), now=now)
    by_jti = issuer.access_token("ivy", now=now)
    by_sid = issuer.access_token("ivy", now=now, claims={"sid": sid})
    by_sub = issuer.access_token("jo", now=now - 5)
    for token in (by_jti, by_sid, by_sub):
        assert client.get(token.token).status == 200  # the mirror is loaded and fresh
    assert client.app is not None
    assert client.app.mirror is not None
    assert client.app.status()["mirror"]["fresh"] is True

    for args, token in (
        ((f"--jti={by_jti.claims['jti']}",), by_jti.token),
        (("--session", sid), by_sid.token),
        (("--subject", "jo"), by_sub.token),
    ):
        cli(shared_url, prefix, *args)
        took = until(client, token, 401, within=LAG + SLACK)
        assert took <= LAG + SLACK
    fresh = issuer.access_token("ivy", now=time.time())
    assert client.get(fresh.token).status == 200  # the rest still passes


@pytest.mark.redis
def test_a_hung_redis_turns_the_mirror_stale_then_it_answers_again(
    through: Through, redis_server_factory: Callable[..., RedisServer], prefix: str
) -> None:
    server = redis_server_factory()
    client, store = build(through, server.url, prefix)
    issuer = Issuer(settings_for(server.url))
    good = issuer.access_token("kim", now=time.time())
    bad = issuer.access_token("kim", now=time.time())
    store.revoke_token(ISSUER, bad.claims["jti"], expires_at=bad.expires_at, now=time.time())
    assert (client.get(good.token).status, client.get(bad.token).status) == (200, 401)

    server.pause()
    try:
        paused = time.monotonic()
        answers = []
        while time.monotonic() - paused < LAG + TIMEOUT + SLACK:
            started = time.monotonic()
            answers.append(
                (client.get(good.token).status, client.get(bad.token).status, started - paused)
            )
            time.sleep(0.01)
    finally:
        server.resume()
    assert all(b in (401, 503) for _, b, _ in answers), "a revoked token passed"
    stale = [at for g, _, at in answers if g == 503]
    assert stale, "the mirror never turned stale"
    assert min(stale) <= LAG + TIMEOUT + SLACK
    assert all(g == 503 for g, _, at in answers if at >= min(stale))  # stays stale while hung
    assert until(client, good.token, 200, within=5) < 5
    assert client.get(bad.token).status == 401


@pytest.mark.redis
def test_stale_under_store_failure_open_lets_requests_through(
    through: Through, redis_server_factory: Callable[..., RedisServer], prefix: str
) -> None:
    server = redis_server_factory()
    client, _ = build(through, server.url, prefix, store_failure="open")
    token = Issuer(settings_for(server.url)).access_token("lee", now=time.time()).token
    assert client.get(token).status == 200
    server.pause()
    try:
        time.sleep(LAG + 0.3)
        statuses = [client.get(token).status for _ in range(3)]
    finally:
        server.resume()
    assert statuses == [200, 200, 200]
    assert client.app is not None
    assert client.app.authenticator.store_failures_allowed >= 3


@pytest.mark.redis
def test_a_killed_and_restarted_redis_forces_a_resync(
    through: Through, redis_server_factory: Callable[..., RedisServer], prefix: str
) -> None:
    server = redis_server_factory(appendonly=True)
    client, store = build(through, server.url, prefix)
    issuer = Issuer(settings_for(server.url))
    before, after = (
        issuer.access_token("max", now=time.time()),
        issuer.access_token("max", now=time.time()),
    )
    store.revoke_token(ISSUER, before.claims["jti"], expires_at=before.expires_at, now=time.time())
    assert client.get(before.token).status == 401
    server.kill()
    server.restart()
    cli(server.url, prefix, f"--jti={after.claims['jti']}")
    until(client, after.token, 401, within=5)
    assert client.get(before.token).status == 401
    mirror = client.app.mirror if client.app is not None else None
    assert mirror is not None
    assert mirror.resyncs["reconnect"] >= 1


@pytest.mark.redis
def test_flushall_keeps_what_this_process_knew_and_resyncs(
    through: Through, redis_server_factory: Callable[..., RedisServer], prefix: str
) -> None:
    server = redis_server_factory()
    client, _ = build(through, server.url, prefix)
    issuer = Issuer(settings_for(server.url))
    old, new = (
        issuer.access_token("ned", now=time.time()),
        issuer.access_token("ned", now=time.time()),
    )
    cli(server.url, prefix, f"--jti={old.claims['jti']}")
    until(client, old.token, 401, within=LAG + SLACK)
    raw = redis.Redis.from_url(server.url)
    try:
        raw.flushall()
    finally:
        raw.close()
    cli(server.url, prefix, f"--jti={new.claims['jti']}")
    until(client, new.token, 401, within=LAG + SLACK)
    # The store forgot the old revocation; this process did not, and said so.
    assert client.get(old.token).status == 401
    assert client.app is not None
    assert client.app.mirror is not None
    assert client.app.mirror.resyncs["epoch"] == 1


@pytest.mark.redis
def test_a_trimmed_redis_log_forces_a_resync(
    through: Through, redis_server: RedisServer, prefix: str
) -> None:
    client, _ = build(through, redis_server.url, prefix)
    issuer = Issuer(settings_for(redis_server.url))
    lost, later = (
        issuer.access_token("oz", now=time.time()),
        issuer.access_token("oz", now=time.time()),
    )
    assert client.get(lost.token).status == 200
    raw = redis.Redis.from_url(redis_server.url, decode_responses=True)
    other = open_store(redis_server.url, prefix=prefix)
    try:
        # One revocation whose log entry is trimmed before any reader could see it, atomically.
        from jwtmiddleware.stores._changes import TOKEN, Change, token_member

        change = Change(TOKEN, token_member(ISSUER, lost.claims["jti"]), lost.expires_at)
        ((script, numkeys, *rest),) = next(other._ops.revoke(change, time.time()))  # type: ignore[attr-defined]
        with raw.pipeline(transaction=True) as pipe:
            pipe.eval(script.source, numkeys, *rest)
            pipe.xtrim(f"{prefix}{{r}}:log", maxlen=0)
            pipe.execute()
    finally:
        other.close()
        raw.close()
    cli(redis_server.url, prefix, f"--jti={later.claims['jti']}")
    until(client, later.token, 401, within=LAG + SLACK)
    assert client.get(lost.token).status == 401  # found by the resync's snapshot
    assert client.app is not None
    assert client.app.mirror is not None
    assert client.app.mirror.resyncs["gap"] >= 1


def test_a_trimmed_sqlite_log_forces_a_resync(through: Through, tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    client, _ = build(through, url, "")
    issuer = Issuer(settings_for(url))
    lost = issuer.access_token("pat", now=time.time())
    assert client.get(lost.token).status == 200
    conn = sqlite3.connect(path, isolation_level=None)
    try:  # a revocation numbered in the log whose row is gone (as if trimmed)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO jwtmw_revoked_tokens VALUES (?, ?, ?)",
            (ISSUER, lost.claims["jti"], lost.expires_at),
        )
        conn.execute("UPDATE jwtmw_meta SET value = value + 1 WHERE name = 'seq'")
        conn.execute("COMMIT")
    finally:
        conn.close()
    until(client, lost.token, 401, within=LAG + SLACK)
    assert client.app is not None
    assert client.app.mirror is not None
    assert client.app.mirror.resyncs["gap"] >= 1


def test_a_restored_sqlite_backup_forces_a_resync(through: Through, tmp_path: Path) -> None:
    """Restoring an older backup into the live database (SQLite's backup API) moves the log's
    sequence back: the mirror resyncs, and keeps what it knew that the backup lacks."""
    import sqlite3

    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    client, store = build(through, url, "")
    issuer = Issuer(settings_for(url))
    early = issuer.access_token("quinn", now=time.time())
    late = issuer.access_token("quinn", now=time.time())
    store.revoke_token(ISSUER, early.claims["jti"], expires_at=early.expires_at, now=time.time())
    assert client.get(early.token).status == 401
    live = sqlite3.connect(path)
    backup = sqlite3.connect(tmp_path / "backup.db")
    try:
        live.backup(backup)  # taken now: holds "early" only
        store.revoke_token(ISSUER, late.claims["jti"], expires_at=late.expires_at, now=time.time())
        store.revoke_token(ISSUER, "x", expires_at=late.expires_at, now=time.time())
        assert client.get(late.token).status == 401
        mirror = client.app.mirror if client.app is not None else None
        assert mirror is not None
        deadline = time.monotonic() + LAG + SLACK
        while (mirror.position is None or mirror.position.seq < 3) and time.monotonic() < deadline:
            time.sleep(0.01)  # the follower read the log up to the last revocation
        backup.backup(live)  # the restore: the live file goes back to the backup's content
    finally:
        live.close()
        backup.close()
    deadline = time.monotonic() + LAG + SLACK
    while not mirror.resyncs["regression"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert mirror.resyncs["regression"] == 1
    assert client.get(late.token).status == 401  # kept, though the restored file lacks it
    assert client.get(early.token).status == 401


def test_a_replaced_sqlite_file_is_reopened(through: Through, tmp_path: Path) -> None:
    """A database file replaced underneath (with its WAL files removed) is noticed by its
    inode: the follower reconnects to the new file and resyncs from it."""
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    client, _ = build(through, url, "")
    token = Issuer(settings_for(url)).access_token("uma", now=time.time())
    assert client.get(token.token).status == 200
    with open_store(f"sqlite:///{tmp_path / 'other.db'}") as other:
        other.revoke_token(
            ISSUER, token.claims["jti"], expires_at=token.expires_at, now=time.time()
        )
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"store.db{suffix}").unlink(missing_ok=True)
    os.replace(tmp_path / "other.db", path)
    until(client, token.token, 401, within=LAG + SLACK)
    mirror = client.app.mirror if client.app is not None else None
    assert mirror is not None
    assert mirror.resyncs["reconnect"] >= 1


@pytest.mark.redis
def test_the_first_request_waits_at_most_the_store_timeout(
    through: Through, redis_server_factory: Callable[..., RedisServer], prefix: str
) -> None:
    server = redis_server_factory()
    client, _ = build(through, server.url, prefix)
    token = Issuer(settings_for(server.url)).access_token("rae", now=time.time()).token
    server.pause()
    try:
        start = time.monotonic()
        status = client.get(token).status
        took = time.monotonic() - start
    finally:
        server.resume()
    assert status == 503
    assert took < TIMEOUT + SLACK
    assert until(client, token, 200, within=5) < 5


def test_store_max_lag_zero_asks_the_store_every_time(
    through: Through, shared_url: str, prefix: str
) -> None:
    client, store = build(through, shared_url, prefix, store_max_lag=0)
    assert client.app is not None
    assert client.app.mirror is None
    assert client.app.status() == {"store": repr(store), "mirror": None}
    token = Issuer(settings_for(shared_url)).access_token("sam", now=time.time())
    assert client.get(token.token).status == 200
    cli(shared_url, prefix, f"--jti={token.claims['jti']}")
    assert client.get(token.token).status == 401  # at once: no mirror in between
