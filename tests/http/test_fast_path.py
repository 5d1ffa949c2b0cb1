"""The cached-Bearer shortcut answers exactly as the full path does, for ASGI and WSGI."""

from __future__ import annotations

from collections.abc import Callable

from jwtmiddleware import Settings
from jwtmiddleware.testing import mint_token
from tests.http.harness import NOW, ASGIClient, WSGIClient, expect_ok

MakeClient = Callable[..., ASGIClient | WSGIClient]
SETTINGS = Settings(secret="f" * 40, cookie_name_prefix=False)


def test_the_shortcut_is_on_for_plain_settings_and_off_with_a_store() -> None:
    from jwtmiddleware.flow import Authenticator

    assert Authenticator(SETTINGS).fast_path
    assert not Authenticator(SETTINGS.replace(store="memory://")).fast_path
    assert not Authenticator(SETTINGS.replace(exempt_paths=["/health"])).fast_path
    assert not Authenticator(SETTINGS.replace(verified_cache_size=0)).fast_path


def test_a_cached_token_still_meets_every_rule(make_client: MakeClient) -> None:
    clock = [NOW]
    client = make_client(SETTINGS, clock=lambda: clock[0])
    token = mint_token(SETTINGS, now=NOW, ttl=60)
    auth = ("Authorization", f"Bearer {token}")
    expect_ok(client.get(headers=[auth]))  # now cached
    answer = client.get(headers=[auth])
    expect_ok(answer)
    assert answer.header("vary") == "Authorization, Cookie"
    # the same token in a cookie as well: ambiguous, 400
    both = client.get(headers=[auth, ("Cookie", f"access_token={token}")])
    assert both.status == 400
    # two Authorization headers: 400
    assert client.get(headers=[auth, auth]).status == 400
    # a CORS preflight is never authenticated
    preflight = client.request(
        "OPTIONS", "/api", headers=[auth, ("Access-Control-Request-Method", "GET")]
    )
    assert preflight.status == 200
    # the cached entry expires with the token (plus leeway)
    clock[0] = NOW + 60 + SETTINGS.leeway
    assert client.get(headers=[auth]).status == 401
