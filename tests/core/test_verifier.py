"""The sans-IO verifier with a frozen clock: time claims, boundaries and registered claims."""

from __future__ import annotations

import pytest

from jwtmiddleware import (
    ClaimCheckFailed,
    InvalidSignature,
    Settings,
    TokenExpired,
    TokenInvalid,
    TokenMalformed,
    TokenNotYetValid,
    TokenTooLarge,
    Verifier,
)
from jwtmiddleware.testing import mint_token, sign_compact
from tests.core.keyfactory import SECRET

NOW = 1_700_000_000.0
LEEWAY = 30


@pytest.fixture
def settings() -> Settings:
    return Settings(secret=SECRET, issuer="https://issuer.example", audience=["api"], leeway=LEEWAY)


def token(settings: Settings, **claims: object) -> str:
    return mint_token(settings, claims, now=NOW - 60, ttl=3600)


def test_good_token(settings: Settings) -> None:
    verified = Verifier(settings).verify(token(settings), NOW)
    assert verified.claims["sub"] == "user-1"
    assert verified.header == {"alg": "HS256", "typ": "at+jwt"}


@pytest.mark.parametrize(
    ("exp_offset", "ok"),
    [
        (LEEWAY + 1, True),  # exp in the future
        (0, True),  # exp == now: inside the leeway
        (-LEEWAY + 1, True),  # one second inside the leeway
        (-LEEWAY + 0.001, True),
        (-LEEWAY, False),  # exactly now == exp + leeway: expired
        (-LEEWAY - 1, False),
    ],
)
def test_exp_leeway_boundary(settings: Settings, exp_offset: float, ok: bool) -> None:
    t = token(settings, exp=NOW + exp_offset, iat=NOW - 100)
    verifier = Verifier(settings)
    if ok:
        verifier.verify(t, NOW)
    else:
        with pytest.raises(TokenExpired):
            verifier.verify(t, NOW)


@pytest.mark.parametrize("claim", ["nbf", "iat"])
@pytest.mark.parametrize(
    ("offset", "ok"),
    [(0, True), (LEEWAY, True), (LEEWAY + 0.001, False), (LEEWAY + 1, False)],
)
def test_nbf_and_iat_leeway_boundary(
    settings: Settings, claim: str, offset: float, ok: bool
) -> None:
    t = token(settings, **{claim: NOW + offset, "exp": NOW + 600})
    verifier = Verifier(settings)
    if ok:
        verifier.verify(t, NOW)
    else:
        with pytest.raises(TokenNotYetValid):
            verifier.verify(t, NOW)


def test_zero_leeway_is_exact(settings: Settings) -> None:
    strict = settings.replace(leeway=0)
    verifier = Verifier(strict)
    verifier.verify(token(strict, exp=NOW + 1), NOW)
    with pytest.raises(TokenExpired):
        verifier.verify(token(strict, exp=NOW), NOW)


@pytest.mark.parametrize(
    "raw_exp",
    [b'"1800000000"', b"true", b"null", b"1e400", b"1" + b"0" * 400, b"-5", b"[1]", b"NaN"],
    ids=["string", "bool", "null", "1e400", "10**400", "negative", "list", "NaN"],
)
def test_exp_must_be_a_sane_json_number(settings: Settings, raw_exp: bytes) -> None:
    payload = b'{"sub":"a","iss":"https://issuer.example","aud":"api","exp":' + raw_exp + b"}"
    t = sign_compact(settings, {"typ": "at+jwt"}, payload)
    with pytest.raises(TokenInvalid):
        Verifier(settings).verify(t, NOW)


def test_lifetime_cap(settings: Settings) -> None:
    capped = settings.replace(max_token_lifetime=600, access_token_ttl=300)
    verifier = Verifier(capped)
    verifier.verify(token(capped, iat=NOW, exp=NOW + 600), NOW)
    with pytest.raises(ClaimCheckFailed):
        verifier.verify(token(capped, iat=NOW, exp=NOW + 601), NOW)
    with pytest.raises(ClaimCheckFailed):  # no iat: measured from now
        verifier.verify(token(capped, iat=None, exp=NOW + 601), NOW)


@pytest.mark.parametrize(
    "iss",
    ["https://issuer.example/", "https://issuer.exampl", "HTTPS://issuer.example", "", None, 1],
)
def test_issuer_exact_match(settings: Settings, iss: object) -> None:
    with pytest.raises(ClaimCheckFailed):
        Verifier(settings).verify(token(settings, iss=iss if iss is not None else None), NOW)


@pytest.mark.parametrize(
    ("aud", "ok"),
    [
        ("api", True),
        (["other", "api"], True),
        (["other"], False),
        ([], False),
        ({"api": 1}, False),
        (5, False),
        ("API", False),
    ],
)
def test_audience(settings: Settings, aud: object, ok: bool) -> None:
    t = token(settings, aud=aud)
    if ok:
        Verifier(settings).verify(t, NOW)
    else:
        with pytest.raises(ClaimCheckFailed):
            Verifier(settings).verify(t, NOW)


def test_token_with_audience_is_refused_when_none_configured() -> None:
    s = Settings(secret=SECRET)
    t = mint_token(s, {"aud": "someone"}, now=NOW)
    with pytest.raises(ClaimCheckFailed):
        Verifier(s).verify(t, NOW)


@pytest.mark.parametrize("sub", ["", "a\r\nb", "x" * 256, 42, ["a"]])
def test_subject_must_be_a_short_printable_string(settings: Settings, sub: object) -> None:
    with pytest.raises(ClaimCheckFailed):
        Verifier(settings).verify(token(settings, sub=sub), NOW)


@pytest.mark.parametrize(
    ("typ", "expected", "ok"),
    [
        ("at+jwt", "at+jwt", True),
        ("application/at+jwt", "at+jwt", True),
        ("AT+JWT", "at+jwt", True),
        ("refresh+jwt", "at+jwt", False),
        ("JWT", "at+jwt", False),
        (None, "at+jwt", False),
        ("JWT", None, True),
        (None, None, True),
        ("at+jwt", None, False),
    ],
)
def test_token_type(typ: str | None, expected: str | None, ok: bool) -> None:
    s = Settings(secret=SECRET, token_type=expected)
    header = {"typ": typ} if typ else {}
    payload = b'{"sub":"a","exp":%d}' % (NOW + 60)
    t = sign_compact(s, header, payload) if typ else _without_typ(s, payload)
    if ok:
        Verifier(s).verify(t, NOW)
    else:
        with pytest.raises(ClaimCheckFailed):
            Verifier(s).verify(t, NOW)


def _without_typ(s: Settings, payload: bytes) -> str:
    import base64
    import json

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256"}).encode())
    signing_input = f"{head}.{b64(payload)}"
    key = s.keyset.signing_key()
    assert key is not None
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def test_size_cap_before_decoding(settings: Settings) -> None:
    with pytest.raises(TokenTooLarge):
        Verifier(settings).verify("a" * 8193, NOW)


@pytest.mark.parametrize(
    "bad",
    ["abc", "a.b", "a.b.c.d.e", "a.b.", ".b.c", "a=.b.c", "a+b.c.d", "a b.c.d", '{"payload":1}'],
)
def test_shape(settings: Settings, bad: str) -> None:
    with pytest.raises(TokenMalformed):
        Verifier(settings).verify(bad, NOW)


def test_non_canonical_base64_is_refused(settings: Settings) -> None:
    t = token(settings)
    head, body, sig = t.split(".")
    # HS256 signature: 43 chars, the last carries 2 unused bits; set one of them.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(sig[-1]) | 1]
    if last == sig[-1]:
        last = alphabet[alphabet.index(sig[-1]) ^ 1]
    with pytest.raises(TokenInvalid):
        Verifier(settings).verify(f"{head}.{body}.{sig[:-1]}{last}", NOW)


def test_algorithm_not_in_allow_list(settings: Settings) -> None:
    other = Settings(secret=SECRET * 2, algorithms=["HS512"])
    t = mint_token(other, now=NOW)
    with pytest.raises(InvalidSignature):
        Verifier(settings).verify(t, NOW)


def test_required_claims(settings: Settings) -> None:
    s = settings.replace(required_claims=("exp", "sub", "jti"))
    with pytest.raises(ClaimCheckFailed):
        Verifier(s).verify(token(s, jti=None), NOW)
