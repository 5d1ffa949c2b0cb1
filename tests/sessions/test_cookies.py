"""Cookie attributes of the access, refresh and CSRF cookies, and their size limit."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from jwtmiddleware import ConfigurationError
from jwtmiddleware.core.errors import CookieTooLarge
from jwtmiddleware.sessions.lifecycle import TokenPair
from tests.sessions.rig import Rig, cookie_map, session_settings

MakeRig = Callable[..., Rig]
DAY = 86400


def cookies_of(pair: TokenPair) -> dict[str, tuple[str, dict[str, str]]]:
    out = {}
    for header in pair.set_cookies:
        name, value, attrs = cookie_map(header)
        out[name] = (value, attrs)
    return out


def test_defaults(make_rig: MakeRig) -> None:
    rig = make_rig(access_token_ttl=600)
    pair = rig.manager.login("alice")
    cookies = cookies_of(pair)
    assert list(cookies) == ["__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"]
    secure = {"secure": "", "samesite": "Lax"}
    assert cookies["__Host-access_token"] == (
        pair.access_token,
        {"max-age": "600", "path": "/", "httponly": "", **secure},
    )
    assert cookies["__Secure-refresh_token"] == (
        pair.refresh_token,
        {"max-age": str(14 * DAY), "path": "/auth/refresh", "httponly": "", **secure},
    )
    # scripts read the CSRF cookie to echo it: no HttpOnly
    assert cookies["__Host-csrf_token"] == (
        pair.csrf_token,
        {"max-age": str(14 * DAY), "path": "/", **secure},
    )
    assert all("domain" not in attrs for _, attrs in cookies.values())


def test_the_middleware_reads_the_cookie_it_sets(make_rig: MakeRig) -> None:
    rig = make_rig()
    pair = rig.manager.login("alice")
    name, value, _ = cookie_map(pair.set_cookies[0])
    ok = rig.get(None, headers=[("Cookie", f"theme=dark; {name}={value}")])
    assert ok.status == 200
    assert ok.json()["source"] == "cookie"
    # the unprefixed name is someone else's cookie (a sibling domain can set it)
    plain = rig.get(None, headers=[("Cookie", f"access_token={value}")])
    assert plain.status == 401
    assert plain.json()["error"] == "unauthorized"


def test_max_age_follows_the_capped_expiry(make_rig: MakeRig) -> None:
    rig = make_rig(access_token_ttl=600, max_session_age=3600)
    pair = rig.manager.login("alice")
    cookies = cookies_of(pair)
    assert cookies["__Secure-refresh_token"][1]["max-age"] == "3600"
    assert cookies["__Host-csrf_token"][1]["max-age"] == "3600"
    rig.clock.advance(3300)
    late = cookies_of(rig.manager.refresh(pair.refresh_token))
    assert late["__Host-access_token"][1]["max-age"] == "300"
    assert late["__Secure-refresh_token"][1]["max-age"] == "300"


def test_configured_attributes(make_rig: MakeRig) -> None:
    rig = make_rig(
        cookie_domain="example.com",
        cookie_samesite="strict",
        cookie_path="/app",
        refresh_cookie_name="rt",
        refresh_cookie_path="/app/token",
        csrf_cookie_name="xsrf",
    )
    cookies = cookies_of(rig.manager.login("alice"))
    # a Domain (or a Path other than /) rules out __Host-: __Secure- is the best left
    assert list(cookies) == ["__Secure-access_token", "__Secure-rt", "__Secure-xsrf"]
    access = cookies["__Secure-access_token"][1]
    assert access["domain"] == "example.com"
    assert access["path"] == "/app"
    assert access["samesite"] == "Strict"
    assert cookies["__Secure-rt"][1]["path"] == "/app/token"
    assert rig.settings.access_cookie_name == "__Secure-access_token"


def test_no_prefix(make_rig: MakeRig) -> None:
    rig = make_rig(cookie_name_prefix=False)
    pair = rig.manager.login("alice")
    assert list(cookies_of(pair)) == ["access_token", "refresh_token", "csrf_token"]
    assert rig.get(pair.access_token, via="cookie").status == 200


def test_insecure_cookies_warn(make_rig: MakeRig, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="jwtmiddleware"):
        rig = make_rig(cookie_secure=False, cookie_httponly=False)
    assert any("COOKIE_SECURE is off" in r.getMessage() for r in caplog.records)
    cookies = cookies_of(rig.manager.login("alice"))
    assert list(cookies) == ["access_token", "refresh_token", "csrf_token"]  # no prefix
    for _, attrs in cookies.values():
        assert "secure" not in attrs
        assert "httponly" not in attrs


def test_secure_cookies_do_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="jwtmiddleware"):
        session_settings()
    assert not [r for r in caplog.records if "COOKIE_SECURE" in r.getMessage()]


def test_samesite_none(make_rig: MakeRig) -> None:
    with pytest.raises(ConfigurationError) as error:
        session_settings(cookie_samesite="None", cookie_secure=False)
    assert error.value.setting == "COOKIE_SAMESITE"
    rig = make_rig(cookie_samesite="none")
    for _, attrs in cookies_of(rig.manager.login("alice")).values():
        assert attrs["samesite"] == "None"
        assert "secure" in attrs


def test_too_large_for_a_cookie(make_rig: MakeRig, store_url: str) -> None:
    rig = make_rig(store_url, max_sessions_per_subject=1)
    keep = rig.manager.login("alice")
    rig.clock.advance(1)
    with pytest.raises(CookieTooLarge) as error:
        rig.manager.login("alice", claims={"roles": [f"role-{i:04d}" for i in range(400)]})
    assert error.value.name == "__Host-access_token"
    assert error.value.size > 4096
    assert "4096" in str(error.value)
    # the failed login changed nothing: no new session, the old one was not evicted
    assert [s.session_id for s in rig.manager.sessions("alice")] == [keep.session_id]
    assert rig.get(keep.access_token).status == 200
    # a little less fits
    small = rig.manager.login("alice", claims={"roles": [f"role-{i:04d}" for i in range(100)]})
    assert all(len(c) <= 4096 for c in small.set_cookies)
