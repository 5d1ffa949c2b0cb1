"""Revocation at the HTTP level: every store backend, through ASGI and WSGI."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, cast

import pytest

from jwtmiddleware import Settings
from jwtmiddleware.core.issuer import Issuer
from jwtmiddleware.sessions.manager import SessionManager
from jwtmiddleware.stores import MemoryStore, SessionInfo
from jwtmiddleware.stores._changes import RevocationKeys
from jwtmiddleware.stores.base import RevocationQuery, Store
from jwtmiddleware.stores.mirror import Mirror
from tests.core.keyfactory import SECRET
from tests.revocation.conftest import Through

ISSUER = "https://auth.test"


def settings_for(url: str) -> Settings:
    return Settings(secret=SECRET, issuer=ISSUER, store=url)


def test_revoke_one_token(
    through: Through, store_url: str, make_store: Callable[..., Store]
) -> None:
    settings = settings_for(store_url)
    store = make_store(store_url, f"t{secrets.token_hex(4)}:")
    client = through.build(settings, store)
    issuer = Issuer(settings)
    first = issuer.access_token("alice", now=time.time())
    second = issuer.access_token("alice", now=time.time())
    assert client.get(first.token).status == 200
    manager = SessionManager(settings, store)
    manager.revoke_token(first.claims["jti"], issuer=ISSUER, expires_at=first.expires_at)
    refused = client.get(first.token)
    assert refused.status == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert refused.json()["error_description"] == "The access token has been revoked"
    assert client.get(second.token).status == 200


def test_logout_everywhere_then_log_in_again(
    through: Through, store_url: str, make_store: Callable[..., Store]
) -> None:
    settings = settings_for(store_url)
    store = make_store(store_url, f"t{secrets.token_hex(4)}:")
    client = through.build(settings, store)
    now = float(int(time.time()))
    old_clock = lambda: now  # noqa: E731
    issuer = Issuer(settings)
    tokens = [issuer.access_token("bob", now=now - 5).token for _ in range(3)]
    other = issuer.access_token("carol", now=now - 5).token
    assert all(client.get(t).status == 200 for t in tokens)
    manager = SessionManager(settings, store, clock=old_clock)
    manager.logout_everywhere("bob")
    assert [client.get(t).status for t in tokens] == [401, 401, 401]
    assert client.get(other).status == 200
    # A token of ours issued after the call carries the new generation: accepted at once.
    fresh = manager.issue_token("bob").token
    assert client.get(fresh).status == 200
    # One without it (another issuer's) is judged by iat, refused within LEEWAY of the call.
    assert client.get(issuer.access_token("bob", now=now).token).status == 401


def test_session_revocation(
    through: Through, store_url: str, make_store: Callable[..., Store]
) -> None:
    settings = settings_for(store_url)
    store = make_store(store_url, f"t{secrets.token_hex(4)}:")
    client = through.build(settings, store)
    now = time.time()
    phone, laptop = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    for sid in (phone, laptop):
        store.create_session(
            SessionInfo(
                sid,
                "dave",
                created_at=now - 100,
                last_seen=now - 100,
                expires_at=now + 3600,
                user_agent="ua",
                ip="127.0.0.1",
            ),
            now=now,
        )
    issuer = Issuer(settings)
    on_phone = issuer.access_token("dave", now=now, claims={"sid": phone}).token
    on_laptop = issuer.access_token("dave", now=now, claims={"sid": laptop}).token
    assert client.get(on_phone).status == 200
    # The request recorded activity on the session, written behind by the mirror's follower
    # (at most once a minute per session), so it shows up shortly after.
    deadline = time.monotonic() + 3
    while True:
        seen = store.get_session(phone, now=time.time())
        assert seen is not None
        if seen.last_seen > now - 100 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert seen.last_seen > now - 100
    manager = SessionManager(settings, store)
    assert {s.session_id for s in manager.sessions("dave")} == {phone, laptop}
    assert manager.revoke_other_sessions("dave", keep_session_id=laptop) == 1
    assert client.get(on_phone).status == 401
    assert client.get(on_laptop).status == 200
    assert [s.session_id for s in manager.sessions("dave")] == [laptop]


class CountingMirror(Mirror):
    """A real mirror that counts revocation lookups."""

    lookups = 0

    def checker(self, on_stale: Any) -> Callable[[RevocationKeys, float], None]:
        check = super().checker(on_stale)

        def counting(keys: RevocationKeys, now: float) -> None:
            self.lookups += 1
            check(keys, now)

        return counting


class CountingStore(MemoryStore):
    """A real memory store that counts revocation lookups, asked directly or through its
    mirror."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0
        self.counting_mirror: CountingMirror | None = None

    def is_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        self.lookups += 1
        return super().is_revoked(query, now=now)

    def mirror(self, **kwargs: Any) -> Mirror:
        mirror = super().mirror(**kwargs)
        mirror.__class__ = CountingMirror
        self.counting_mirror = cast(CountingMirror, mirror)
        return mirror

    @property
    def all_lookups(self) -> int:
        mirrored = 0 if self.counting_mirror is None else self.counting_mirror.lookups
        return self.lookups + mirrored


@pytest.mark.parametrize("max_lag", [0.0, 1.0], ids=["per-request", "mirror"])
@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"],
)
def test_invalid_tokens_never_reach_the_store(through: Through, token: str, max_lag: float) -> None:
    store = CountingStore()
    settings = settings_for("memory://").replace(store_max_lag=max_lag)
    client = through.build(settings, store)
    assert client.get(token).status == 401
    assert client.get(None).status == 401
    assert store.all_lookups == 0
    good = Issuer(settings).access_token("erin", now=time.time()).token
    assert client.get(good).status == 200
    assert store.all_lookups == 1
    # The mirror answered, not the store.
    assert store.lookups == (1 if max_lag == 0 else 0)


def _calls(probe: Any) -> dict[str, int]:
    return {name: int(v["calls"]) for name, v in probe.info("commandstats").items()}


def _calls_during(url: str, run: Callable[[], object]) -> dict[str, int]:
    """Redis commands (by name) executed while ``run`` ran, scripts' inner calls included."""
    import redis

    probe = redis.Redis.from_url(url)
    try:
        before = _calls(probe)
        run()
        after = _calls(probe)
    finally:
        probe.close()
    changed = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    changed.pop("cmdstat_info", None)
    return changed


@pytest.mark.redis
def test_one_redis_round_trip_per_request(
    through: Through, redis_server: object, make_store: Callable[..., Store]
) -> None:
    url = redis_server.url  # type: ignore[attr-defined]
    settings = settings_for(url).replace(store_max_lag=0)  # no mirror: ask Redis every time
    store = make_store(url, f"t{secrets.token_hex(4)}:")
    client = through.build(settings, store)
    token = Issuer(settings).access_token("frank", now=time.time(), claims={"sid": "S"}).token
    assert client.get(token).status == 200  # first request also records session activity

    def five() -> None:
        for _ in range(5):
            assert client.get(token).status == 200

    calls = _calls_during(url, five)
    # One script call per request; what it reads inside is not a round trip.
    assert calls.pop("cmdstat_evalsha") == 5
    assert set(calls) <= {"cmdstat_zscore", "cmdstat_hget"}


@pytest.mark.redis
def test_the_mirror_serves_requests_with_no_redis_command(
    through: Through, redis_server: object, make_store: Callable[..., Store]
) -> None:
    """With STORE_MAX_LAG > 0 a request costs Redis nothing: only the follower talks to it,
    a few commands a second whatever the traffic."""
    url = redis_server.url  # type: ignore[attr-defined]
    settings = settings_for(url)
    store = make_store(url, f"t{secrets.token_hex(4)}:")
    client = through.build(settings, store)
    token = Issuer(settings).access_token("frank", now=time.time(), claims={"sid": "S"}).token
    assert client.get(token).status == 200  # starts the mirror
    requests = 1000
    started = time.monotonic()

    def run() -> None:
        for _ in range(requests):
            assert client.get(token).status == 200

    calls = _calls_during(url, run)
    took = time.monotonic() - started
    # The follower confirms every STORE_MAX_LAG / 4 (one script call, one XREAD); a request
    # asking Redis would add a script call each.
    cycles = took / (settings.store_max_lag / 4) + 2
    assert calls.get("cmdstat_evalsha", 0) <= cycles, (calls, took)
    assert calls.get("cmdstat_zscore", 0) == 0, calls
