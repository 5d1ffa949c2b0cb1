"""The cached-Bearer shortcut answers exactly as the full path does, for ASGI and WSGI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jwtmiddleware import Settings
from jwtmiddleware.core.verifier import b64decode
from jwtmiddleware.testing import mint_token
from tests.http.harness import NOW, ASGIClient, WSGIClient, build_client, expect_ok

MakeClient = Callable[..., ASGIClient | WSGIClient]
SETTINGS = Settings(secret="f" * 40, cookie_name_prefix=False)


def test_the_shortcut_is_on_for_plain_settings_and_off_with_a_store() -> None:
    from jwtmiddleware.http.decision import Authenticator

    assert Authenticator(SETTINGS).fast_path
    assert Authenticator(SETTINGS.replace(store="memory://")).fast_path  # store checks after it
    assert not Authenticator(SETTINGS.replace(exempt_paths=["/health"])).fast_path
    assert Authenticator(SETTINGS.replace(verified_cache_size=0)).fast_path  # verifies each time


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


def _answer(
    client: ASGIClient | WSGIClient, value: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    result = client.get(headers=[("Authorization", value)])
    return result.status, sorted(result.headers), result.body


def test_the_shortcut_refuses_exactly_as_the_full_path(make_client: MakeClient) -> None:
    shortcut = make_client(SETTINGS, clock=lambda: NOW)
    full = make_client(SETTINGS.replace(optional_paths=["/elsewhere"]), clock=lambda: NOW)
    assert shortcut.middleware.authenticator.fast_path
    assert not full.middleware.authenticator.fast_path
    good = mint_token(SETTINGS, now=NOW, ttl=60)
    head, payload, _ = good.split(".")
    other = Settings(secret="g" * 40)
    values = [
        f"Bearer {good}",
        f"bearer {good}",
        f"Bearer {mint_token(SETTINGS, now=NOW - 3600, ttl=60)}",  # expired
        f"Bearer {mint_token(SETTINGS, now=NOW + 3600, ttl=60)}",  # issued in the future
        f"Bearer {mint_token(other, now=NOW, ttl=60)}",  # another key
        f"Bearer {head}.{payload}.AAAA",  # bad signature
        f"Bearer {head}.{payload}",  # two segments
        f"Bearer {head}.{payload}+.{good.split('.')[2]}",  # outside the alphabet
        f"Bearer {head}.{payload}=.{good.split('.')[2]}",  # padding
        f"Bearer {head}.{payload}\u00e9.{good.split('.')[2]}",  # not ASCII
        "Bearer " + "a" * 20_000,  # too large
        "Bearer  " + good,  # stray whitespace
        "Basic dXNlcjpwYXNz",
    ]
    for value in values:
        for _ in range(2):  # the second time, whatever was remembered answers
            assert _answer(shortcut, value) == _answer(full, value), value


def test_the_shortcut_remembers_by_the_exact_header_and_verifies_once(
    make_client: MakeClient,
) -> None:
    client = make_client(SETTINGS, clock=lambda: NOW)
    authenticator = client.middleware.authenticator
    verifier = authenticator.verifier
    original, calls = verifier.finish_claims, []

    def counting(*args: object) -> object:
        calls.append(args)
        return original(*args)

    verifier.finish_claims = counting
    token = mint_token(SETTINGS, now=NOW, ttl=60)
    for _ in range(3):
        expect_ok(client.get(headers=[("Authorization", f"Bearer {token}")]))
    assert len(calls) == 1
    expect_ok(client.get(headers=[("Authorization", f"bearer {token}")]))  # another header value
    assert len(calls) == 2
    uncached = make_client(SETTINGS.replace(verified_cache_size=0), clock=lambda: NOW)
    verifier = uncached.middleware.authenticator.verifier
    original, calls = verifier.finish_claims, []
    verifier.finish_claims = counting
    for _ in range(3):
        expect_ok(uncached.get(headers=[("Authorization", f"Bearer {token}")]))
    assert len(calls) == 3


@pytest.mark.parametrize("container", [list, tuple, iter], ids=["list", "tuple", "iterator"])
@pytest.mark.parametrize("own_vary", [True, False], ids=["app-vary", "no-app-vary"])
@pytest.mark.parametrize("shortcut", [True, False], ids=["shortcut", "full-path"])
def test_asgi_vary_whatever_iterable_the_app_sends(
    container: Callable[[list[tuple[bytes, bytes]]], Any], own_vary: bool, shortcut: bool
) -> None:
    """Response headers may be any iterable (ASGI): none is lost, Vary is merged or added."""
    own = [(b"vary", b"Accept-Encoding")] if own_vary else []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = container([*own, (b"x-app", b"1")])
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"made"})

    settings = SETTINGS if shortcut else SETTINGS.replace(optional_paths=["/elsewhere"])
    client = build_client("asgi", settings, clock=lambda: NOW, app=app)
    assert client.middleware.authenticator.fast_path is shortcut
    token = mint_token(SETTINGS, now=NOW, ttl=60)
    for _ in range(2):  # verified, then remembered
        result = client.get(headers=[("Authorization", f"Bearer {token}")])
        assert (result.status, result.body, result.header("x-app")) == (200, b"made", "1")
        names = [n.strip() for v in result.header_all("vary") for n in v.split(",")]
        expected = ["Authorization", "Cookie", *(["Accept-Encoding"] if own_vary else [])]
        assert sorted(names) == sorted(expected)


@pytest.mark.parametrize("failure", ["closed", "open"])
def test_with_a_store_the_shortcut_answers_as_the_full_path(
    make_client: MakeClient, tmp_path: Path, failure: str
) -> None:
    """Revoked, live and store-down answers are the same through the shortcut (plain settings
    with a store) and the full path (an unrelated path rule)."""
    token = mint_token(SETTINGS, now=NOW, ttl=600)
    revoked = mint_token(SETTINGS, now=NOW, ttl=600)
    jti = json.loads(b64decode(revoked.split(".")[1]))["jti"]
    answers = []
    for name, extra in (("shortcut", {}), ("full", {"optional_paths": ["/elsewhere"]})):
        settings = SETTINGS.replace(
            store=f"sqlite:///{tmp_path / name}.db", store_failure=failure, **extra
        )
        client = make_client(settings, clock=lambda: NOW)
        assert client.middleware.authenticator.fast_path is (name == "shortcut")
        store = client.middleware.store
        store.revoke_token(SETTINGS.issuer or "", jti, expires_at=NOW + 600, now=NOW)
        live = [_answer(client, f"Bearer {token}") for _ in range(2)]
        gone = [_answer(client, f"Bearer {revoked}") for _ in range(2)]
        store.close()  # every store call now fails: 503 when closed, let through when open
        down = [_answer(client, f"Bearer {token}") for _ in range(2)]
        allowed = client.middleware.authenticator.store_failures_allowed
        answers.append((live, gone, down, allowed))
        assert (live[0][0], gone[0][0]) == (200, 401)
        assert down[0][0] == (503 if failure == "closed" else 200)
    assert answers[0] == answers[1]
