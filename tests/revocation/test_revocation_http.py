"""Revocation at the HTTP level: every store backend, through ASGI and WSGI."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import pytest

from jwtmiddleware import Settings
from jwtmiddleware.issuer import Issuer
from jwtmiddleware.manager import SessionManager
from jwtmiddleware.stores import MemoryStore, SessionInfo
from jwtmiddleware.stores.base import RevocationQuery, Store
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
    SessionManager(settings, store, clock=old_clock).logout_everywhere("bob")
    assert [client.get(t).status for t in tokens] == [401, 401, 401]
    assert client.get(other).status == 200
    fresh = issuer.access_token("bob", now=time.time()).token
    assert client.get(fresh).status == 200


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
    # the request recorded activity on the session (throttled to one write a minute)
    seen = store.get_session(phone, now=time.time())
    assert seen is not None
    assert seen.last_seen > now - 100
    manager = SessionManager(settings, store)
    assert {s.session_id for s in manager.sessions("dave")} == {phone, laptop}
    assert manager.revoke_other_sessions("dave", keep_session_id=laptop) == 1
    assert client.get(on_phone).status == 401
    assert client.get(on_laptop).status == 200
    assert [s.session_id for s in manager.sessions("dave")] == [laptop]


class CountingStore(MemoryStore):
    """A real memory store that counts revocation lookups."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def is_revoked(self, query: RevocationQuery, *, now: float) -> bool:
        self.lookups += 1
        return super().is_revoked(query, now=now)


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"],
)
def test_invalid_tokens_never_reach_the_store(through: Through, token: str) -> None:
    store = CountingStore()
    client = through.build(settings_for("memory://"), store)
    assert client.get(token).status == 401
    assert client.get(None).status == 401
    assert store.lookups == 0
    good = Issuer(settings_for("memory://")).access_token("erin", now=time.time()).token
    assert client.get(good).status == 200
    assert store.lookups == 1


@pytest.mark.redis
def test_one_redis_round_trip_per_request(
    through: Through, redis_server: object, make_store: Callable[..., Store]
) -> None:
    import redis

    url = redis_server.url  # type: ignore[attr-defined]
    settings = settings_for(url)
    store = make_store(url, f"t{secrets.token_hex(4)}:")
    client = through.build(settings, store)
    token = Issuer(settings).access_token("frank", now=time.time(), claims={"sid": "S"}).token
    assert client.get(token).status == 200  # first request also records session activity
    probe = redis.Redis.from_url(url)
    try:

        def processed() -> int:
            return int(probe.info("stats")["total_commands_processed"])

        before = processed()
        for _ in range(5):
            assert client.get(token).status == 200
        after = processed()
    finally:
        probe.close()
    # 5 requests, one command each, plus the first INFO call itself
    assert after - before == 5 + 1
