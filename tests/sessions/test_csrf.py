"""CSRF protection of cookie-carried tokens: double submit plus Origin / Sec-Fetch-Site."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from jwtmiddleware.sessions.lifecycle import TokenPair
from jwtmiddleware.testing import mint_token
from tests.http.harness import Result
from tests.sessions.rig import NOW, Rig

MakeRig = Callable[..., Rig]
UNSAFE = ["POST", "PUT", "PATCH", "DELETE"]
FORM = ("Content-Type", "application/x-www-form-urlencoded")


@pytest.fixture
def rig(make_rig: MakeRig) -> Rig:
    return make_rig(csrf_trusted_origins=("https://app.example",))


@pytest.fixture
def pair(rig: Rig) -> TokenPair:
    return rig.manager.login("alice")


def send(rig: Rig, pair: TokenPair, method: str = "POST", **kwargs: Any) -> Result:
    return rig.request(method, "/api", token=pair.access_token, via="cookie", **kwargs)


def expect_csrf_refusal(result: Result) -> None:
    assert result.status == 403, (result.status, result.body)
    assert not result.reached
    assert result.json() == {
        "error": "csrf_failed",
        "error_description": "The request is missing valid CSRF proof",
    }
    assert result.header("content-type") == "application/json"
    assert result.header("cache-control") == "no-store"
    assert result.header("www-authenticate") is None  # not a credentials problem


@pytest.mark.parametrize("method", UNSAFE)
def test_unsafe_methods_need_proof(rig: Rig, pair: TokenPair, method: str) -> None:
    expect_csrf_refusal(send(rig, pair, method))
    expect_csrf_refusal(send(rig, pair, method, headers=[("X-CSRF-Token", "nope")]))
    expect_csrf_refusal(send(rig, pair, method, headers=[("X-CSRF-Token", "")]))
    ok = send(rig, pair, method, headers=[("X-CSRF-Token", pair.csrf_token)])
    assert ok.status == 200
    assert ok.json()["subject"] == "alice"


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_need_none(rig: Rig, pair: TokenPair, method: str) -> None:
    result = send(rig, pair, method, headers=[("Origin", "https://evil.example")])
    assert result.status == 200


def test_proof_of_another_session_is_wrong(rig: Rig, pair: TokenPair) -> None:
    other = rig.manager.login("alice")
    expect_csrf_refusal(send(rig, pair, headers=[("X-CSRF-Token", other.csrf_token)]))


def test_form_field(rig: Rig, pair: TokenPair) -> None:
    body = f"title=hello&csrf_token={pair.csrf_token}&text=a%20b".encode()
    chunks = [body[:7], body[7:30], body[30:]]  # ASGI receives it in three messages
    result = send(rig, pair, headers=[FORM], body=chunks)
    assert result.status == 200
    assert result.json()["body"] == body.decode()  # the application still gets every byte
    wrong = b"title=hello&csrf_token=forged"
    expect_csrf_refusal(send(rig, pair, headers=[FORM], body=[wrong]))
    twice = f"csrf_token={pair.csrf_token}&csrf_token=forged".encode()
    expect_csrf_refusal(send(rig, pair, headers=[FORM], body=[twice]))


def test_form_field_only_in_form_bodies(rig: Rig, pair: TokenPair) -> None:
    body = f"csrf_token={pair.csrf_token}".encode()
    json_type = ("Content-Type", "application/json")
    expect_csrf_refusal(send(rig, pair, headers=[json_type], body=[body]))


def test_header_beats_a_wrong_form_field(rig: Rig, pair: TokenPair) -> None:
    headers = [FORM, ("X-CSRF-Token", pair.csrf_token)]
    result = send(rig, pair, headers=headers, body=[b"csrf_token=forged&x=1"])
    assert result.status == 200
    assert result.json()["body"] == "csrf_token=forged&x=1"


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ([("Sec-Fetch-Site", "cross-site")], False),
        ([("Sec-Fetch-Site", "same-site")], False),
        ([("Sec-Fetch-Site", "same-origin")], True),
        ([("Sec-Fetch-Site", "none")], True),
        ([("Origin", "https://evil.example")], False),
        ([("Origin", "http://testserver.evil.example")], False),
        ([("Origin", "null")], False),
        ([("Origin", "http://testserver")], True),
        ([("Origin", "https://app.example")], True),
        ([("Origin", "https://app.example"), ("Sec-Fetch-Site", "cross-site")], True),
        ([("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")], False),
    ],
)
def test_origin_checks(
    rig: Rig, pair: TokenPair, headers: list[tuple[str, str]], allowed: bool
) -> None:
    proof = [("X-CSRF-Token", pair.csrf_token)]
    result = send(rig, pair, headers=headers + proof)
    if allowed:
        assert result.status == 200
    else:
        expect_csrf_refusal(result)


def test_cross_site_form_post(rig: Rig, pair: TokenPair) -> None:
    attack = [FORM, ("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")]
    expect_csrf_refusal(send(rig, pair, headers=attack, body=[b"amount=1000&to=mallory"]))
    # a form without the field from a browser that sends no Origin at all
    expect_csrf_refusal(send(rig, pair, headers=[FORM], body=[b"amount=1000&to=mallory"]))


def test_header_tokens_need_no_csrf(rig: Rig, pair: TokenPair) -> None:
    for method in UNSAFE:
        result = rig.request(
            method,
            "/api",
            token=pair.access_token,
            headers=[("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")],
        )
        assert result.status == 200


def test_cookie_token_without_csrf_claim(rig: Rig) -> None:
    token = mint_token(rig.settings, now=NOW)  # not minted by login: no csrf claim
    expect_csrf_refusal(
        rig.request("POST", "/api", token=token, via="cookie", headers=[("X-CSRF-Token", "")])
    )
    assert rig.request("POST", "/api", token=token).status == 200  # as a header token


def test_protection_can_be_turned_off(make_rig: MakeRig) -> None:
    rig = make_rig(csrf_protection=False)
    pair = rig.manager.login("alice")
    result = rig.request("POST", "/api", token=pair.access_token, via="cookie")
    assert result.status == 200


def test_csrf_checked_before_a_sliding_refresh(make_rig: MakeRig) -> None:
    rig = make_rig(access_token_ttl=900, refresh_threshold=300)
    pair = rig.manager.login("alice")
    rig.clock.advance(800)
    expect_csrf_refusal(rig.request("POST", "/api", token=pair.access_token, via="cookie"))
    proof = [("X-CSRF-Token", pair.csrf_token)]
    ok = rig.request("POST", "/api", token=pair.access_token, via="cookie", headers=proof)
    assert ok.status == 200
    [renewed] = ok.header_all("set-cookie")
    assert renewed.startswith("__Host-access_token=")
    # the renewed token keeps the csrf claim: the same proof works with it
    token = renewed.split(";", 1)[0].split("=", 1)[1]
    again = rig.request("POST", "/api", token=token, via="cookie", headers=proof)
    assert again.status == 200


def test_form_with_too_many_fields(rig: Rig, pair: TokenPair) -> None:
    body = ("x=1&" * 1500 + f"csrf_token={pair.csrf_token}").encode()
    expect_csrf_refusal(send(rig, pair, headers=[FORM], body=[body]))


def test_large_bodies(rig: Rig, pair: TokenPair) -> None:
    big = b"data=" + b"x" * 200_000
    chunks = [big[i : i + 16_384] for i in range(0, len(big), 16_384)]
    # the header proof needs no body reading: the app gets all of it
    proof = [FORM, ("X-CSRF-Token", pair.csrf_token)]
    ok = send(rig, pair, headers=proof, body=chunks)
    assert ok.status == 200
    assert len(ok.json()["body"]) == len(big)
    # a form field beyond the 64 KiB the middleware reads is no proof
    late_field = [*chunks, f"&csrf_token={pair.csrf_token}".encode()]
    expect_csrf_refusal(send(rig, pair, headers=[FORM], body=late_field))


# -- the Origin is compared whole: scheme, host and port --------------------------------------

SAME_HOST_ORIGINS = ["http://testserver", "https://testserver", "ftp://testserver",
                     "ws://testserver", "wss://testserver"]  # fmt: skip


@pytest.mark.parametrize("server_scheme", ["http", "https"])
def test_only_the_servers_own_scheme_passes(rig: Rig, pair: TokenPair, server_scheme: str) -> None:
    """Issue 15: ``https://``, ``http://`` and ``ftp://`` origins of the same host all passed
    against an ``http`` server, because only host and port were compared."""
    proof = ("X-CSRF-Token", pair.csrf_token)
    passed = []
    for origin in SAME_HOST_ORIGINS:
        result = send(rig, pair, headers=[("Origin", origin), proof], scheme=server_scheme)
        if result.status == 200:
            passed.append(origin)
        else:
            expect_csrf_refusal(result)
    assert passed == [f"{server_scheme}://testserver"]


@pytest.mark.parametrize(
    ("scheme", "host", "origin", "allowed"),
    [
        ("http", "testserver", "http://testserver:80", True),  # the default port, spelled out
        ("http", "testserver:80", "http://testserver", True),
        ("http", "testserver", "http://testserver:443", False),
        ("http", "testserver", "http://testserver:8080", False),
        ("http", "testserver:8080", "http://testserver:8080", True),
        ("http", "testserver:8080", "http://testserver", False),
        ("http", "testserver:8080", "https://testserver:8080", False),
        ("https", "testserver", "https://testserver:443", True),
        ("https", "testserver:443", "https://testserver", True),
        ("https", "testserver", "http://testserver:443", False),
        ("https", "testserver:8443", "https://testserver:8443", True),
        ("http", "TestServer", "http://testserver", True),  # host names are case-insensitive
        ("http", "[::1]:8000", "http://[::1]:8000", True),
        ("http", "[::1]:8000", "http://[::1]:8001", False),
        # not an origin at all, or a Host that is not a host
        ("http", "testserver", "http://testserver/path", False),
        ("http", "testserver", "http://user@testserver", False),
        ("http", "testserver", "http://testserver:99999", False),
        ("http", "testserver", "testserver", False),
        ("http", "testserver@evil.example", "http://evil.example", False),
        ("http", "testserver/x", "http://testserver", False),
    ],
)
def test_ports_are_normalised_and_compared(
    rig: Rig, pair: TokenPair, scheme: str, host: str, origin: str, allowed: bool
) -> None:
    headers = [("Origin", origin), ("X-CSRF-Token", pair.csrf_token)]
    result = send(rig, pair, headers=headers, scheme=scheme, host=host)
    if allowed:
        assert result.status == 200, (result.status, result.body)
    else:
        expect_csrf_refusal(result)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example", True),
        ("https://app.example:443", True),
        ("HTTPS://APP.EXAMPLE", True),
        ("http://app.example", False),  # trusted entries are full origins: the scheme counts
        ("http://app.example:443", False),
        ("ftp://app.example", False),
        ("https://app.example:8443", False),
    ],
)
def test_trusted_origins_are_full_origins(
    rig: Rig, pair: TokenPair, origin: str, allowed: bool
) -> None:
    headers = [("Origin", origin), ("Sec-Fetch-Site", "cross-site"),
               ("X-CSRF-Token", pair.csrf_token)]  # fmt: skip
    result = send(rig, pair, headers=headers)
    if allowed:
        assert result.status == 200, (result.status, result.body)
    else:
        expect_csrf_refusal(result)


def test_a_trusted_origin_with_a_port(make_rig: MakeRig) -> None:
    rig = make_rig(csrf_trusted_origins=("http://localhost:3000", "https://App.Example:443/"))
    pair = rig.manager.login("alice")
    proof = ("X-CSRF-Token", pair.csrf_token)
    expected = {"http://localhost:3000": 200, "http://localhost": 403,
                "https://localhost:3000": 403, "https://app.example": 200}  # fmt: skip
    for origin, status in expected.items():
        assert send(rig, pair, headers=[("Origin", origin), proof]).status == status, origin
