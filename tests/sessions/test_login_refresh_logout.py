"""Login, refresh-token rotation with reuse detection, logout and logout everywhere."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest

from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware, Settings, TokenInvalid, TokenRevoked
from jwtmiddleware.core.errors import AuthenticationError, TokenExpired
from jwtmiddleware.core.verifier import Verifier
from jwtmiddleware.sessions.lifecycle import RequestInfo, TokenPair
from jwtmiddleware.sessions.manager import SessionManager
from jwtmiddleware.stores import MemoryStore
from jwtmiddleware.stores.base import Store
from jwtmiddleware.testing import FrozenClock
from tests.core import keyfactory as kf
from tests.revocation.calls import call, echo_asgi, echo_wsgi
from tests.sessions.rig import (
    NOW,
    Events,
    Rig,
    claims_of,
    header_of,
    open_test_store,
    response_cookies,
    session_settings,
)

MakeRig = Callable[..., Rig]
DAY = 86400


# -- login -----------------------------------------------------------------------------------------


def test_login_pair(make_rig: MakeRig) -> None:
    rig = make_rig(access_token_ttl=600)
    info = RequestInfo(user_agent="Phone/1.0", ip="192.0.2.7")
    pair = rig.manager.login("alice", claims={"scope": "read write", "tenant": "t1"}, info=info)
    assert header_of(pair.access_token)["typ"] == "at+jwt"
    assert header_of(pair.refresh_token)["typ"] == "refresh+jwt"
    access = Verifier(rig.settings).verify(pair.access_token, NOW).claims
    refresh = claims_of(pair.refresh_token)
    assert access["iss"] == refresh["iss"] == "https://auth.test"
    assert access["aud"] == refresh["aud"] == "api"
    assert access["sub"] == refresh["sub"] == "alice"
    assert access["iat"] == refresh["iat"] == NOW
    assert access["auth_time"] == refresh["auth_time"] == NOW
    assert access["sid"] == refresh["sid"] == pair.session_id
    assert access["csrf"] == refresh["csrf"] == pair.csrf_token
    assert access["scope"] == refresh["scope"] == "read write"
    assert access["tenant"] == "t1"
    assert access["exp"] == pair.access_expires_at == NOW + 600
    assert refresh["exp"] == pair.refresh_expires_at == NOW + 14 * DAY
    assert access["jti"] != refresh["jti"]
    assert len({pair.session_id, pair.csrf_token, access["jti"], refresh["jti"]}) == 4
    assert pair.body(NOW + 100) == {
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": 500,
        "refresh_token": pair.refresh_token,
        "csrf_token": pair.csrf_token,
    }
    [session] = rig.manager.sessions("alice")
    assert (session.session_id, session.user_agent, session.ip) == (
        pair.session_id,
        "Phone/1.0",
        "192.0.2.7",
    )
    assert session.created_at == NOW
    ok = rig.get(pair.access_token)
    assert ok.status == 200
    assert (ok.json()["subject"], ok.json()["sid"]) == ("alice", pair.session_id)


def test_application_claims_cannot_forge_the_session(make_rig: MakeRig) -> None:
    rig = make_rig()
    pair = rig.manager.login("alice", claims={"sid": "forged", "auth_time": 1, "csrf": "x"})
    claims = claims_of(pair.access_token)
    assert claims["sid"] == pair.session_id != "forged"
    assert claims["auth_time"] == NOW
    assert claims["csrf"] == pair.csrf_token != "x"


def test_refresh_token_is_not_an_access_token(make_rig: MakeRig) -> None:
    rig = make_rig()
    pair = rig.manager.login("alice")
    for via in ("header", "cookie"):
        result = rig.get(pair.refresh_token, via=via)
        assert result.status == 401
        assert not result.reached
        assert result.json()["error"] == "invalid_token"


def test_access_token_is_not_a_refresh_token(make_rig: MakeRig) -> None:
    rig = make_rig()
    pair = rig.manager.login("alice")
    with pytest.raises(TokenInvalid):
        rig.manager.refresh(pair.access_token)
    one_time = rig.manager.one_time("alice", "download", "/download/x")
    with pytest.raises(TokenInvalid):
        rig.manager.refresh(one_time.token)
    # nothing was consumed: the real refresh token still rotates
    assert rig.manager.refresh(pair.refresh_token).session_id == pair.session_id


# -- rotation and reuse detection ------------------------------------------------------------------


def test_rotation_then_reuse_revokes_the_session(make_rig: MakeRig, store_url: str) -> None:
    events = Events()
    rig = make_rig(store_url, event_hook=events)
    first = rig.manager.login("alice", claims={"scope": "read"})
    now = rig.clock.advance(60)
    second = rig.manager.refresh(first.refresh_token)
    assert second.session_id == first.session_id
    assert second.csrf_token == first.csrf_token
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    new = Verifier(rig.settings).verify(second.access_token, now).claims
    assert (new["sub"], new["auth_time"], new["iat"], new["scope"]) == ("alice", NOW, now, "read")
    assert claims_of(second.refresh_token)["jti"] != claims_of(first.refresh_token)["jti"]
    assert rig.get(second.access_token).status == 200
    assert events.names() == ["authn_login_success", "session_created", "session_renewed"]
    assert events.actions() == ["login", "login", "refresh"]

    rig.clock.advance(rig.settings.refresh_reuse_grace + 1)  # the grace window has passed
    with pytest.raises(TokenRevoked):
        rig.manager.refresh(first.refresh_token)
    reused = events.seen[-1]
    assert (reused.name, reused.action) == ("authn_token_reuse", "refresh_token_reused")
    assert (reused.subject, reused.session_id) == ("alice", first.session_id)
    assert reused.detail["jti"] == claims_of(first.refresh_token)["jti"]
    # the whole session is gone: the latest access and refresh tokens too
    assert rig.get(second.access_token).status == 401
    with pytest.raises(TokenRevoked):
        rig.manager.refresh(second.refresh_token)
    assert rig.manager.sessions("alice") == []
    assert events.names().count("authn_token_reuse") == 1


def test_reuse_within_grace_gets_the_same_successor(make_rig: MakeRig, store_url: str) -> None:
    events = Events()
    rig = make_rig(store_url, event_hook=events)
    first = rig.manager.login("alice")
    rig.clock.advance(30)
    second = rig.manager.refresh(first.refresh_token)
    rig.clock.advance(rig.settings.refresh_reuse_grace - 1)
    assert rig.manager.refresh(first.refresh_token) == second  # identical tokens and cookies
    # Served, and reported all the same: a replay in the window may be a thief racing the user.
    assert events.names()[-1] == "authn_token_reuse"
    assert events.seen[-1].action == "refresh_token_reused"
    assert events.seen[-1].detail["within_grace"] is True
    assert rig.get(second.access_token).status == 200
    third = rig.manager.refresh(second.refresh_token)  # the family goes on
    assert third.session_id == first.session_id
    assert rig.get(third.access_token).status == 200


def test_zero_grace_disables_the_grace(make_rig: MakeRig, store_url: str) -> None:
    events = Events()
    rig = make_rig(store_url, refresh_reuse_grace=0, event_hook=events)
    first = rig.manager.login("alice")
    second = rig.manager.refresh(first.refresh_token)
    with pytest.raises(TokenRevoked):
        rig.manager.refresh(first.refresh_token)  # same instant, no grace
    assert events.names()[-1] == "authn_token_reuse"
    assert rig.get(second.access_token).status == 401


def test_refresh_stops_at_max_session_age(make_rig: MakeRig) -> None:
    rig = make_rig(max_session_age=2 * DAY, access_token_ttl=600)
    pair = rig.manager.login("alice")
    assert pair.refresh_expires_at == NOW + 2 * DAY  # capped, not 14 days
    rig.clock.advance(2 * DAY - 100)
    late = rig.manager.refresh(pair.refresh_token)
    assert late.access_expires_at == NOW + 2 * DAY  # 100 s left, not 600
    assert late.refresh_expires_at == NOW + 2 * DAY
    rig.clock.advance(100)
    with pytest.raises(TokenExpired):
        rig.manager.refresh(late.refresh_token)


def _outcomes(results: list[TokenPair | BaseException]) -> tuple[list[TokenPair], list[Any]]:
    pairs = [r for r in results if isinstance(r, TokenPair)]
    errors = [r for r in results if not isinstance(r, TokenPair)]
    return pairs, errors


@pytest.fixture
def manager_for(tmp_path: Path) -> Iterator[Callable[..., tuple[SessionManager, Store]]]:
    stores: list[Store] = []

    def make(url: str, **settings: Any) -> tuple[SessionManager, Store]:
        store = open_test_store(url)
        stores.append(store)
        return SessionManager(session_settings(store=url, **settings), store,
                              clock=FrozenClock(NOW)), store  # fmt: skip

    yield make
    for store in stores:
        store.close()


@pytest.mark.parametrize("grace", [10.0, 0.0])
def test_concurrent_refreshes_threads(
    manager_for: Callable[..., tuple[SessionManager, Store]], store_url: str, grace: float
) -> None:
    manager, _ = manager_for(store_url, refresh_reuse_grace=grace)
    pair = manager.login("alice")
    barrier = threading.Barrier(12)

    def refresh() -> TokenPair | BaseException:
        barrier.wait()
        try:
            return manager.refresh(pair.refresh_token)
        except AuthenticationError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda _: refresh(), range(12)))
    _check_one_family(manager, results, grace)


@pytest.mark.anyio
@pytest.mark.parametrize("grace", [10.0, 0.0])
async def test_concurrent_refreshes_gather(
    manager_for: Callable[..., tuple[SessionManager, Store]], store_url: str, grace: float
) -> None:
    manager, store = manager_for(store_url, refresh_reuse_grace=grace)
    try:
        pair = await manager.alogin("alice")
        results: list[TokenPair | BaseException] = [None] * 12  # type: ignore[list-item]

        async def refresh(index: int) -> None:
            try:
                results[index] = await manager.arefresh(pair.refresh_token)
            except AuthenticationError as exc:
                results[index] = exc

        async with anyio.create_task_group() as tg:
            for index in range(12):
                tg.start_soon(refresh, index)
        _check_one_family(manager, results, grace)
    finally:
        await store.aclose()


def _check_one_family(
    manager: SessionManager, results: list[TokenPair | BaseException], grace: float
) -> None:
    pairs, errors = _outcomes(results)
    assert pairs, errors
    assert all(p == pairs[0] for p in pairs), "two different successors of one refresh token"
    if grace:
        assert errors == []  # within the grace window nobody is locked out
        assert manager.sessions("alice") != []
    else:
        assert len(pairs) == 1
        assert len(errors) == 11
        assert all(isinstance(e, TokenRevoked) for e in errors)


# -- logout ----------------------------------------------------------------------------------------


def test_logout(make_rig: MakeRig, store_url: str) -> None:
    events = Events()
    rig = make_rig(store_url, event_hook=events)
    phone = rig.manager.login("alice")
    rig.clock.advance(1)
    laptop = rig.manager.login("alice")
    result = rig.get(phone.access_token, "/logout")
    assert result.status == 200
    cookies = response_cookies(result)
    assert set(cookies) == {"__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"}
    for value, attrs in cookies.values():
        assert value == ""
        assert attrs["max-age"] == "0"
    assert cookies["__Secure-refresh_token"][1]["path"] == "/auth/refresh"
    assert rig.get(phone.access_token).status == 401
    with pytest.raises(TokenRevoked):
        rig.manager.refresh(phone.refresh_token)
    assert [s.session_id for s in rig.manager.sessions("alice")] == [laptop.session_id]
    assert rig.get(laptop.access_token).status == 200
    assert events.names()[-1] == "session_expired"
    assert (events.seen[-1].action, events.seen[-1].detail) == ("logout", {"reason": "logout"})


def test_logout_everywhere(make_rig: MakeRig, store_url: str) -> None:
    rig = make_rig(store_url, access_token_ttl=600, refresh_threshold=120)
    devices = []
    for _ in range(3):
        devices.append(rig.manager.login("alice"))
        rig.clock.advance(1)
    bob = rig.manager.login("bob")
    rig.clock.advance(30)
    rotated = rig.manager.refresh(devices[0].refresh_token)
    rig.clock.advance(500)  # in the sliding window
    slid = rig.get(rotated.access_token).header("X-Refreshed-Token")
    assert slid is not None
    assert rig.manager.logout_everywhere("alice") == 3
    tokens = [d.access_token for d in devices] + [rotated.access_token, slid]
    assert [rig.get(t).status for t in tokens] == [401] * 5
    for refresh_token in [d.refresh_token for d in devices[1:]] + [rotated.refresh_token]:
        with pytest.raises(TokenRevoked):
            rig.manager.refresh(refresh_token)
    assert rig.manager.sessions("alice") == []
    assert rig.get(bob.access_token).status == 200
    # a login right after (same clock second) works, and so does its refresh
    again = rig.manager.login("alice")
    assert rig.get(again.access_token).status == 200
    assert rig.get(rig.manager.refresh(again.refresh_token).access_token).status == 200


# -- the async twins -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_session_api(
    manager_for: Callable[..., tuple[SessionManager, Store]], store_url: str
) -> None:
    manager, store = manager_for(store_url)
    clock = manager._clock
    assert isinstance(clock, FrozenClock)
    try:
        phone = await manager.alogin("alice", info=RequestInfo(user_agent="phone"))
        clock.advance(1)
        laptop = await manager.alogin("alice", info=RequestInfo(user_agent="laptop"))
        clock.advance(1)
        tablet = await manager.alogin("alice", info=RequestInfo(user_agent="tablet"))
        live = await manager.asessions("alice")
        assert [s.user_agent for s in live] == ["phone", "laptop", "tablet"]
        assert await manager.arevoke_session(phone.session_id)
        assert not await manager.arevoke_session(phone.session_id)  # already gone
        assert await manager.arevoke_other_sessions("alice", tablet.session_id) == 1
        assert [s.session_id for s in await manager.asessions("alice")] == [tablet.session_id]
        for gone in (phone, laptop):
            with pytest.raises(TokenRevoked):
                await manager.arefresh(gone.refresh_token)
        assert (await manager.arefresh(tablet.refresh_token)).session_id == tablet.session_id
        assert await manager.alogout_everywhere("alice") == 1
        with pytest.raises(TokenRevoked):
            await manager.arefresh(tablet.refresh_token)
    finally:
        await store.aclose()


# -- keys with ids ---------------------------------------------------------------------------------


def test_kid_header_and_a_verify_only_server(make_rig: MakeRig) -> None:
    key = {"key": kf.ec_pem(), "kid": "ec-1", "alg": "ES256"}
    rig = make_rig(secret=None, keys=[key], algorithms=["ES256"],
                   access_token_ttl=600, refresh_threshold=60)  # fmt: skip
    pair = rig.manager.login("alice")
    for token in (pair.access_token, pair.refresh_token):
        assert header_of(token)["kid"] == "ec-1"
        assert header_of(token)["alg"] == "ES256"
    assert len(claims_of(pair.access_token)["jti"]) == 22  # 128 random bits, base64url
    rig.clock.advance(550)
    renewed = rig.get(pair.access_token).header("X-Refreshed-Token")
    assert renewed is not None
    assert header_of(renewed)["kid"] == "ec-1"
    public_key = {"key": kf.public_pem(kf.ec_key("P-256")), "kid": "ec-1", "alg": "ES256"}
    public = Settings(
        keys=[public_key], algorithms=["ES256"], issuer=rig.settings.issuer, audience=("api",)
    )
    assert Verifier(public).verify(renewed, rig.clock()).claims["sid"] == pair.session_id


# -- a store given to the middleware directly ------------------------------------------------------


def test_store_object_without_store_setting_is_consulted(kind: str) -> None:
    store = MemoryStore()
    settings = Settings(secret=session_settings().secret)  # no STORE setting at all
    manager = SessionManager(settings, store, clock=FrozenClock(NOW))
    clock = FrozenClock(NOW)
    app: JWTMiddleware | JWTWSGIMiddleware
    if kind == "asgi":
        app = JWTMiddleware(echo_asgi, settings=settings, store=store, clock=clock)
    else:
        app = JWTWSGIMiddleware(echo_wsgi, settings=settings, store=store, clock=clock)
    try:
        pair = manager.login("alice")
        assert call(app, pair.access_token).status == 200
        manager.logout_everywhere("alice")
        assert call(app, pair.access_token).status == 401
    finally:
        store.close()


def test_typed_tokens_stay_apart_without_a_token_type(make_rig: MakeRig) -> None:
    """With TOKEN_TYPE off (accept ``JWT`` or no ``typ``) refresh and one-time tokens are
    still no access tokens."""
    rig = make_rig(token_type=None)
    pair = rig.manager.login("alice")
    assert header_of(pair.access_token)["typ"] == "JWT"
    assert rig.get(pair.access_token).status == 200
    assert rig.get(pair.refresh_token).status == 401
    assert rig.get(rig.manager.one_time("alice", "download", "/api").token).status == 401
    assert rig.get(rig.manager.refresh(pair.refresh_token).access_token).status == 200
