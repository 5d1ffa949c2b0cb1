"""CSRF protection of cookie-carried tokens: double submit plus Origin / Sec-Fetch-Site."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from jwtmiddleware.lifecycle import TokenPair
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
