"""Sliding refresh at the HTTP level, through ASGI and WSGI, with a frozen clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jwtmiddleware.core.verifier import Verifier
from jwtmiddleware.testing import FrozenClock, mint_token
from tests.http.harness import Result, build_client
from tests.sessions.rig import (
    NOW,
    Req,
    Rig,
    claims_of,
    header_of,
    response_cookies,
    session_settings,
)

TTL, THRESHOLD = 900, 300
HEADER = "X-Refreshed-Token"

MakeRig = Callable[..., Rig]


def sliding(make_rig: MakeRig, store_url: str = "memory://", **settings: object) -> Rig:
    config: dict[str, object] = {"access_token_ttl": TTL, "refresh_threshold": THRESHOLD}
    config.update(settings)
    return make_rig(store_url, **config)


def assert_not_renewed(result: Result) -> None:
    assert result.header(HEADER) is None
    assert not [c for c in result.header_all("set-cookie") if "access_token=" in c]


# -- when ------------------------------------------------------------------------------------------


def test_threshold_boundaries(make_rig: MakeRig) -> None:
    rig = sliding(make_rig)
    pair = rig.manager.login("alice")
    assert pair.access_expires_at == NOW + TTL
    rig.clock.advance(TTL - THRESHOLD - 1)  # 301 s left
    assert_not_renewed(rig.get(pair.access_token))
    rig.clock.advance(1)  # exactly THRESHOLD left: not yet
    quiet = rig.get(pair.access_token)
    assert quiet.status == 200
    assert quiet.header(HEADER) is None
    assert quiet.header("cache-control") is None
    rig.clock.advance(1)  # THRESHOLD - 1 left: renewed
    renewed = rig.get(pair.access_token)
    assert renewed.status == 200
    assert renewed.header(HEADER) is not None
    assert renewed.header("cache-control") == "no-store"


def test_off_without_threshold(make_rig: MakeRig) -> None:
    rig = make_rig(access_token_ttl=TTL)
    pair = rig.manager.login("alice")
    rig.clock.advance(TTL - 1)
    result = rig.get(pair.access_token)
    assert result.status == 200
    assert result.header(HEADER) is None


# -- how: header tokens ----------------------------------------------------------------------------


def test_header_token_comes_back_in_a_header(make_rig: MakeRig) -> None:
    rig = sliding(make_rig)
    pair = rig.manager.login("alice", claims={"scope": "read write", "tenant": "t1"})
    old = claims_of(pair.access_token)
    now = rig.clock.advance(TTL - THRESHOLD + 10)
    result = rig.get(pair.access_token)
    assert result.status == 200
    assert result.json()["subject"] == "alice"
    token = result.header(HEADER)
    assert token is not None
    assert result.header("access-control-expose-headers") == HEADER
    assert result.header("cache-control") == "no-store"
    assert result.header("vary") == "Authorization, Cookie"
    assert not result.header_all("set-cookie")
    # the new token verifies, keeps the session claims and scopes, and is a new token
    new = Verifier(rig.settings).verify(token, now).claims
    assert header_of(token)["typ"] == "at+jwt"
    for name in ("sub", "sid", "auth_time", "scope", "tenant", "csrf", "iss", "aud"):
        assert new[name] == old[name], name
    assert new["auth_time"] == NOW
    assert new["jti"] != old["jti"]
    assert new["iat"] == now
    assert new["exp"] == now + TTL
    # the renewed token is accepted, and is not renewed again (a full TTL left)
    again = rig.get(token)
    assert again.status == 200
    assert again.json()["sid"] == pair.session_id
    assert again.header(HEADER) is None


def test_expose_and_cache_headers_merge_with_the_apps(make_rig: MakeRig) -> None:
    rig = sliding(make_rig)
    pair = rig.manager.login("alice")
    rig.clock.advance(TTL - 10)
    result = rig.get(pair.access_token, "/cors")
    assert result.status == 200
    assert result.header("access-control-expose-headers") == f"X-Request-Id, {HEADER}"
    assert result.header_all("cache-control") == ["no-store"]  # public, max-age=600 is gone
    assert result.header(HEADER) is not None
    # without renewal the application's headers are left alone
    fresh = rig.get(result.header(HEADER), "/cors")
    assert fresh.header("access-control-expose-headers") == "X-Request-Id"
    assert fresh.header("cache-control") == "public, max-age=600"
    lookalike = rig.get(pair.access_token, "/cors-lookalike")
    assert lookalike.header("access-control-expose-headers") == (
        f"X-Refreshed-Token-Version, {HEADER}"
    )


# -- how: cookie tokens ----------------------------------------------------------------------------


def test_cookie_token_comes_back_as_a_cookie(make_rig: MakeRig) -> None:
    rig = sliding(make_rig)
    pair = rig.manager.login("alice", claims={"scope": "read"})
    now = rig.clock.advance(TTL - 100)
    result = rig.get(pair.access_token, via="cookie")
    assert result.status == 200
    assert result.json()["source"] == "cookie"
    assert result.header(HEADER) is None
    assert result.header("access-control-expose-headers") is None
    assert result.header("cache-control") == "no-store"
    [raw] = result.header_all("set-cookie")
    assert raw.startswith("__Host-access_token=")
    cookies = response_cookies(result)
    value, attrs = cookies["__Host-access_token"]
    assert attrs == {
        "max-age": str(TTL),
        "path": "/",
        "httponly": "",
        "secure": "",
        "samesite": "Lax",
    }
    new = Verifier(rig.settings).verify(value, now).claims
    assert new["sid"] == pair.session_id
    assert new["csrf"] == pair.csrf_token
    assert new["scope"] == "read"
    assert new["exp"] == now + TTL
    assert rig.get(value, via="cookie").status == 200


# -- the absolute timeout --------------------------------------------------------------------------


def test_renewal_is_capped_at_max_session_age(make_rig: MakeRig) -> None:
    rig = sliding(make_rig, max_session_age=1000)
    pair = rig.manager.login("alice")
    now = rig.clock.advance(700)  # 200 s left; a full renewal would pass auth_time + 1000
    first = rig.get(pair.access_token)
    token = first.header(HEADER)
    assert token is not None
    assert claims_of(token)["exp"] == NOW + 1000
    assert Verifier(rig.settings).verify(token, now).claims["auth_time"] == NOW
    rig.clock.advance(50)  # 250 s left on the capped token: nothing longer may be issued
    capped = rig.get(token)
    assert capped.status == 200
    assert capped.header(HEADER) is None
    assert capped.header("cache-control") is None
    rig.clock.advance(250)  # auth_time + MAX_SESSION_AGE: the session is over
    assert rig.get(token).status == 401


def test_cap_holds_for_tokens_without_auth_time(make_rig: MakeRig) -> None:
    rig = sliding(make_rig, max_session_age=1000)
    token = mint_token(rig.settings, now=NOW, ttl=TTL, subject="svc")
    rig.clock.advance(700)
    renewed = rig.get(token).header(HEADER)
    assert renewed is not None
    claims = claims_of(renewed)
    assert claims["auth_time"] == NOW  # the original iat starts the session
    assert claims["exp"] == NOW + 1000
    rig.clock.advance(50)
    assert rig.get(renewed).header(HEADER) is None  # no sliding past the cap


# -- when not --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500, 503])
def test_no_renewal_on_error_responses(make_rig: MakeRig, status: int) -> None:
    rig = sliding(make_rig)
    pair = rig.manager.login("alice")
    rig.clock.advance(TTL - 10)
    for via in ("header", "cookie"):
        result = rig.get(pair.access_token, f"/status/{status}", via=via)
        assert result.status == status
        assert result.reached
        assert_not_renewed(result)
        assert result.header("cache-control") is None


@pytest.mark.parametrize("status", [201, 204, 302, 304])
def test_renewal_on_other_responses_below_400(make_rig: MakeRig, status: int) -> None:
    rig = sliding(make_rig)
    pair = rig.manager.login("alice")
    rig.clock.advance(TTL - 10)
    result = rig.get(pair.access_token, f"/status/{status}")
    assert result.status == status
    assert result.header(HEADER) is not None


def test_no_renewal_when_the_app_sets_the_access_cookie(make_rig: MakeRig) -> None:
    rig = sliding(make_rig)
    pair = rig.manager.login("alice")
    rig.clock.advance(TTL - 10)
    result = rig.get(pair.access_token, "/app-cookie", via="cookie")
    assert result.status == 200
    assert result.header_all("set-cookie") == ["__Host-access_token=from-the-app; Path=/"]
    assert result.header("cache-control") is None


def test_no_renewal_on_logout(make_rig: MakeRig, store_url: str) -> None:
    rig = sliding(make_rig, store_url)
    pair = rig.manager.login("alice")
    rig.clock.advance(TTL - 10)
    csrf = [("X-CSRF-Token", pair.csrf_token)]
    result = rig.request("POST", "/logout", token=pair.access_token, via="cookie", headers=csrf)
    assert result.status == 200
    cookies = response_cookies(result)
    assert set(cookies) == {"__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"}
    assert all(value == "" and attrs["max-age"] == "0" for value, attrs in cookies.values())
    assert result.header(HEADER) is None
    assert rig.get(pair.access_token, via="cookie").status == 401


def test_no_renewal_for_a_revoked_token(make_rig: MakeRig, store_url: str) -> None:
    rig = sliding(make_rig, store_url)
    pair = rig.manager.login("alice")
    rig.clock.advance(TTL - 10)
    assert rig.manager.revoke_session(pair.session_id)
    for via in ("header", "cookie"):
        result = rig.get(pair.access_token, via=via)
        assert result.status == 401
        assert not result.reached
        assert result.json()["error_description"] == "The access token has been revoked"
        assert result.header(HEADER) is None
        assert not result.header_all("set-cookie")


def test_streaming_response(make_rig: MakeRig) -> None:
    rig = sliding(make_rig)
    pair = rig.manager.login("alice")
    rig.clock.advance(TTL - 10)
    result = rig.get(pair.access_token, "/stream")
    assert result.status == 200
    assert result.body == b'{"part": 1}\n{"part": 2}\n{"part": 3}\n'
    assert result.header(HEADER) is not None
    assert result.header("cache-control") == "no-store"
    cookie = rig.get(pair.access_token, "/stream", via="cookie")
    assert cookie.body == result.body
    assert "__Host-access_token" in response_cookies(cookie)


# -- under load ------------------------------------------------------------------------------------


def test_fifty_concurrent_requests_in_the_window(make_rig: MakeRig, store_url: str) -> None:
    rig = sliding(make_rig, store_url)
    pair = rig.manager.login("alice", claims={"scope": "read"})
    now = rig.clock.advance(TTL - 60)
    results = rig.many([Req(token=pair.access_token) for _ in range(50)])
    assert [r.status for r in results] == [200] * 50
    tokens = [r.header(HEADER) for r in results]
    assert all(tokens)
    verifier = Verifier(rig.settings)
    renewed = [verifier.verify(t, now).claims for t in tokens if t]
    assert {c["sid"] for c in renewed} == {pair.session_id}
    assert {c["exp"] for c in renewed} == {now + TTL}
    assert len({c["jti"] for c in renewed}) == 50
    # every renewed token works and belongs to the one live session
    again = rig.many([Req(token=t) for t in tokens[:10]])
    assert {(r.status, r.json()["sid"]) for r in again} == {(200, pair.session_id)}
    assert len(rig.manager.sessions("alice")) == 1


def test_renewed_tokens_die_with_their_session(make_rig: MakeRig, store_url: str) -> None:
    rig = sliding(make_rig, store_url)
    pair = rig.manager.login("alice")
    rig.clock.advance(TTL - 60)
    renewed = rig.get(pair.access_token).header(HEADER)
    assert renewed is not None
    rig.manager.logout_everywhere("alice")
    assert rig.get(renewed).status == 401


def test_frozen_clock_is_the_middlewares(make_rig: MakeRig) -> None:
    clock = FrozenClock(NOW)
    rig = sliding(make_rig, clock=clock)
    pair = rig.manager.login("alice")
    clock.advance(TTL)  # exp == now: expired (no leeway)
    assert rig.get(pair.access_token).status == 401


def test_without_a_store(kind: str) -> None:
    """Header-only settings without a store take the effect-free path; renewal still happens."""
    settings = session_settings(
        store=None, sources=("header",), access_token_ttl=TTL, refresh_threshold=THRESHOLD
    )
    client = build_client(kind, settings, clock=FrozenClock(NOW + TTL - 5))
    token = mint_token(settings, {"sid": "s1", "auth_time": int(NOW)}, now=NOW, ttl=TTL)
    result = client.bearer(token)
    assert result.status == 200
    renewed = result.header(HEADER)
    assert renewed is not None
    assert claims_of(renewed)["sid"] == "s1"
    assert claims_of(renewed)["exp"] == NOW + 2 * TTL - 5
