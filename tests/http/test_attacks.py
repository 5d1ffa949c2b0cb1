"""Attacks and bad input at the HTTP level, each run against both the ASGI and the WSGI middleware.

Every refused request must get exactly its documented answer: 401 with a bare challenge when no
credentials of ours were sent, 401 ``invalid_token`` for a token that cannot be trusted, 400
``invalid_request`` for a malformed or ambiguous request. Never a 5xx, never the token or an
exception text in the response, and the application behind the middleware is never reached.
Tokens attacking the header, the payload or the encoding are signed with the deployment's real
key wherever that matters, so only the property under test can make them fail; each group has a
positive control showing that a correct token of the same shape does get through.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from jwtmiddleware import Settings
from jwtmiddleware.testing import mint_token, sign_compact
from tests.http.harness import (
    NOW,
    Client,
    b64,
    build_client,
    expect_invalid_request,
    expect_invalid_token,
    expect_no_credentials,
    expect_ok,
    raw_token,
    sign_raw,
)

SECRET = "an HS256 test secret of 32+ bytes, not for production"
ISSUER = "https://issuer.example"
AUDIENCE = "api"
GOOD_HEADER = b'{"alg":"HS256","typ":"at+jwt"}'

MakeClient = Callable[..., Client]


# -- keys and deployments -------------------------------------------------------------------------


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def attacker_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def attacker_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(params=["shortcut", "full-path"])
def make_client(kind: str, request: pytest.FixtureRequest) -> MakeClient:
    """Every attack through both ways a request is decided: the Bearer shortcut (plain
    settings take it) and the full path (an unrelated path rule turns the shortcut off)."""
    full = request.param == "full-path"

    def factory(
        settings: Settings, *, clock: Callable[[], float] | None = None, app: Any = None
    ) -> Client:
        if full:
            settings = settings.replace(optional_paths=("/__full-path-only__",))
        client = build_client(kind, settings, clock=clock, app=app)
        if full:
            assert not client.middleware.authenticator.fast_path
        return client

    return factory


def _settings(**kwargs: Any) -> Settings:
    # The cookie is read under its plain name here; the __Host- prefix has its own tests.
    kwargs.setdefault("cookie_name_prefix", False)
    return Settings(issuer=ISSUER, audience=[AUDIENCE], **kwargs)


@pytest.fixture(scope="module")
def hs() -> Settings:
    """An HMAC deployment (``SECRET``, no key ids)."""
    return _settings(secret=SECRET, algorithms=["HS256"])


@pytest.fixture(scope="module")
def rs(rsa_key: rsa.RSAPrivateKey) -> Settings:
    """An RS256 deployment whose one key has the id ``k1``."""
    return _settings(
        keys=[{"key": _pem(rsa_key), "kid": "k1", "alg": "RS256"}], algorithms=["RS256"]
    )


@pytest.fixture(scope="module")
def es(ec_key: ec.EllipticCurvePrivateKey) -> Settings:
    """An ES256 deployment given a bare PEM key."""
    return _settings(keys=[_pem(ec_key)], algorithms=["ES256"])


@pytest.fixture(params=["hs", "rs", "es"])
def deployment(request: pytest.FixtureRequest) -> Settings:
    settings: Settings = request.getfixturevalue(request.param)
    return settings


@pytest.fixture(autouse=True)
def _no_unexpected_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Bad input is an ordinary refusal: nothing may reach the "unexpected error" path."""
    caplog.set_level(logging.DEBUG, logger="jwtmiddleware")
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


# -- token helpers --------------------------------------------------------------------------------


def good_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": int(NOW),
        "exp": int(NOW) + 300,
        "jti": "jti-1",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def payload(**changes: Any) -> bytes:
    return json.dumps(good_claims(**changes), separators=(",", ":")).encode()


def mint(settings: Settings, claims: dict[str, Any] | None = None, **kw: Any) -> str:
    return mint_token(settings, claims, now=NOW, **kw)


def header_json(header: dict[str, Any]) -> bytes:
    return json.dumps(header, separators=(",", ":")).encode()


def rs256(key: rsa.RSAPrivateKey, header: dict[str, Any], body: bytes) -> str:
    signing_input = f"{b64(header_json(header))}.{b64(body)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def es256(key: ec.EllipticCurvePrivateKey, header: dict[str, Any], body: bytes) -> str:
    signing_input = f"{b64(header_json(header))}.{b64(body)}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    raw = ECAlgorithm(ECAlgorithm.SHA256).sign(signing_input.encode(), key)
    assert der != raw  # PyJWT turns DER into the JOSE r||s form
    return f"{signing_input}.{b64(raw)}"


def hs256(secret: bytes, header: dict[str, Any] | bytes, body: bytes) -> str:
    head = header if isinstance(header, bytes) else header_json(header)
    signing_input = f"{b64(head)}.{b64(body)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def with_signature(token: str, signature: str) -> str:
    return token.rsplit(".", 1)[0] + "." + signature


# -- positive controls ----------------------------------------------------------------------------


def test_a_good_token_is_accepted_from_the_header(
    make_client: MakeClient, deployment: Settings
) -> None:
    client = make_client(deployment)
    expect_ok(client.bearer(mint(deployment, {"scope": "read write"})))
    assert client.get().status == 401  # and the same client does refuse


def test_a_good_token_is_accepted_from_the_cookie(
    make_client: MakeClient, deployment: Settings
) -> None:
    client = make_client(deployment)
    expect_ok(client.get(headers=[("Cookie", f"theme=dark; access_token={mint(deployment)}")]))


def test_scheme_is_case_insensitive_and_quoted_cookies_are_unquoted(
    make_client: MakeClient, hs: Settings
) -> None:
    client = make_client(hs)
    token = mint(hs)
    expect_ok(client.get(headers=[("Authorization", f"bearer {token}")]))
    expect_ok(client.get(headers=[("Authorization", f"BEARER   {token}")]))
    expect_ok(client.get(headers=[("Cookie", f'access_token="{token}"')]))


def test_the_subject_reaches_the_application(make_client: MakeClient, rs: Settings) -> None:
    client = make_client(rs)
    body = expect_ok(client.bearer(mint(rs, {"scope": "b a"}, subject="alice")), "alice")
    assert body["scopes"] == ["a", "b"]


# -- alg none -------------------------------------------------------------------------------------

NONE_ALGS = ["none", "None", "NONE", "nOnE"]


@pytest.mark.parametrize(
    "signature", ["", "garbage", b64(b"\x00" * 32)], ids=["empty", "garbage", "zeros"]
)
@pytest.mark.parametrize("alg", NONE_ALGS)
def test_alg_none_is_refused(
    make_client: MakeClient, deployment: Settings, alg: str, signature: str
) -> None:
    token = raw_token(header_json({"alg": alg, "typ": "at+jwt"}), payload(), signature)
    expect_invalid_token(make_client(deployment).bearer(token), secret=token)


def test_none_cannot_be_configured() -> None:
    with pytest.raises(ValueError, match="none"):
        Settings(secret=SECRET, algorithms=["HS256", "none"])


# -- algorithm confusion: HS256 keyed with the RS256 public key ----------------------------------


def _public_forms(key: rsa.RSAPrivateKey) -> dict[str, bytes]:
    public = key.public_key()
    spki = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "pem-spki": spki,
        "pem-spki-no-newline": spki.rstrip(b"\n"),
        "pem-pkcs1": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ),
        "der-spki": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "openssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "jwk-json": RSAAlgorithm.to_jwk(public).encode(),
        "jwk-json-with-kid": json.dumps(
            {**RSAAlgorithm.to_jwk(public, as_dict=True), "kid": "k1"}
        ).encode(),
    }


@pytest.mark.parametrize(
    "form",
    [
        "pem-spki",
        "pem-spki-no-newline",
        "pem-pkcs1",
        "der-spki",
        "openssh",
        "jwk-json",
        "jwk-json-with-kid",
    ],
)
@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("kid", [None, "k1"], ids=["no-kid", "kid-k1"])
def test_hmac_with_the_rsa_public_key_is_refused(
    make_client: MakeClient,
    rs: Settings,
    rsa_key: rsa.RSAPrivateKey,
    form: str,
    alg: str,
    kid: str | None,
) -> None:
    secret = _public_forms(rsa_key)[form]
    header = {"alg": alg, "typ": "at+jwt", **({"kid": kid} if kid else {})}
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = f"{b64(header_json(header))}.{b64(payload())}"
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    token = f"{signing_input}.{b64(signature)}"
    expect_invalid_token(make_client(rs).bearer(token), secret=token)


def test_hmac_and_rsa_cannot_be_mixed_in_one_deployment(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="mixes HMAC"):
        Settings(keys=[_pem(rsa_key)], algorithms=["RS256", "HS256"])


# -- signatures -----------------------------------------------------------------------------------


def _truncate(token: str) -> str:
    signature = token.rsplit(".", 1)[1]
    return with_signature(token, signature[:-4])


def _cut_in_half(token: str) -> str:
    signature = token.rsplit(".", 1)[1]
    return with_signature(token, signature[: len(signature) // 2])


def _flip_first(token: str) -> str:
    signature = token.rsplit(".", 1)[1]
    first = "B" if signature[0] == "A" else "A"
    return with_signature(token, first + signature[1:])


def _other_payload(token: str) -> str:
    head, _, signature = token.split(".")
    return f"{head}.{b64(payload(sub='admin'))}.{signature}"


SIGNATURE_TAMPERING: list[Any] = [
    pytest.param(lambda t: with_signature(t, ""), id="null-signature"),
    pytest.param(lambda t: t.rsplit(".", 1)[0], id="signature-segment-dropped"),
    pytest.param(_truncate, id="truncated"),
    pytest.param(_cut_in_half, id="half"),
    pytest.param(_flip_first, id="first-char-changed"),
    pytest.param(_other_payload, id="payload-swapped"),
    pytest.param(lambda t: with_signature(t, "AAAA"), id="four-zero-chars"),
]


@pytest.mark.parametrize("tamper", SIGNATURE_TAMPERING)
def test_tampered_signatures_are_refused(
    make_client: MakeClient, deployment: Settings, tamper: Callable[[str], str]
) -> None:
    token = tamper(mint(deployment))
    expect_invalid_token(make_client(deployment).bearer(token), secret=token)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(b"\x00" * 64, id="r=s=0"),
        pytest.param(b"\x00" * 63 + b"\x01" + b"\x00" * 32, id="wrong-length"),
        pytest.param(b"0\x06\x02\x01\x00\x02\x01\x00", id="der-zero"),
        pytest.param(b"\x00" * 32 + b"\x00" * 31 + b"\x01", id="r=0,s=1"),
    ],
)
def test_es256_zero_signature_is_refused(
    make_client: MakeClient, es: Settings, signature: bytes
) -> None:
    """CVE-2022-21449 ("psychic signatures"): r = s = 0 must never verify."""
    token = raw_token(header_json({"alg": "ES256", "typ": "at+jwt"}), payload(), signature)
    expect_invalid_token(make_client(es).bearer(token), secret=token)


def test_embedded_jwk_with_the_attackers_rsa_key_is_refused(
    make_client: MakeClient, rs: Settings, attacker_rsa_key: rsa.RSAPrivateKey
) -> None:
    jwk = RSAAlgorithm.to_jwk(attacker_rsa_key.public_key(), as_dict=True)
    client = make_client(rs)
    for header in (
        {"alg": "RS256", "typ": "at+jwt", "jwk": jwk},
        {"alg": "RS256", "typ": "at+jwt", "jwk": {**jwk, "kid": "k1"}, "kid": "k1"},
    ):
        token = rs256(attacker_rsa_key, header, payload())
        expect_invalid_token(client.bearer(token), secret=token)


def test_embedded_jwk_with_the_attackers_ec_key_is_refused(
    make_client: MakeClient, es: Settings, attacker_ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwk = ECAlgorithm.to_jwk(attacker_ec_key.public_key(), as_dict=True)
    token = es256(attacker_ec_key, {"alg": "ES256", "typ": "at+jwt", "jwk": jwk}, payload())
    expect_invalid_token(make_client(es).bearer(token), secret=token)


def test_a_token_signed_with_another_key_of_the_right_type_is_refused(
    make_client: MakeClient, rs: Settings, attacker_rsa_key: rsa.RSAPrivateKey
) -> None:
    token = rs256(attacker_rsa_key, {"alg": "RS256", "typ": "at+jwt", "kid": "k1"}, payload())
    expect_invalid_token(make_client(rs).bearer(token), secret=token)


# -- jku / x5u: the middleware never fetches keys named by a token --------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback socket that would see any connection the middleware makes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def _assert_nothing_connected(sock: socket.socket) -> None:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return
    conn.close()
    pytest.fail("the middleware connected to a URL named in the token")


@pytest.mark.parametrize("member", ["jku", "x5u"])
def test_jku_and_x5u_are_never_fetched(
    make_client: MakeClient,
    rs: Settings,
    attacker_rsa_key: rsa.RSAPrivateKey,
    listener: socket.socket,
    member: str,
) -> None:
    port = listener.getsockname()[1]
    url = f"http://127.0.0.1:{port}/keys.json"
    client = make_client(rs)
    forged = rs256(
        attacker_rsa_key, {"alg": "RS256", "typ": "at+jwt", "kid": "evil", member: url}, payload()
    )
    expect_invalid_token(client.bearer(forged), secret=forged)
    forged_no_kid = rs256(
        attacker_rsa_key, {"alg": "RS256", "typ": "at+jwt", member: url}, payload()
    )
    expect_invalid_token(client.bearer(forged_no_kid), secret=forged_no_kid)
    # An unknown header member on a genuinely signed token is ignored (RFC 7515 §4), not used.
    expect_ok(client.bearer(mint(rs, header={member: url})))
    _assert_nothing_connected(listener)


# -- kid ------------------------------------------------------------------------------------------

KID_ATTACKS: list[Any] = [
    pytest.param("../../dev/null", id="path-traversal"),
    pytest.param("../../../../../../../../etc/passwd", id="etc-passwd"),
    pytest.param("/dev/null", id="absolute-path"),
    pytest.param("file:///dev/null", id="file-url"),
    pytest.param("' OR '1'='1", id="sql-or"),
    pytest.param("k1'; DROP TABLE keys; --", id="sql-drop"),
    pytest.param("$(touch {tmp}/pwned)", id="shell-subst"),
    pytest.param("`touch {tmp}/pwned`", id="shell-backticks"),
    pytest.param("k1|touch {tmp}/pwned", id="shell-pipe"),
    pytest.param(None, id="null"),
    pytest.param(1, id="number"),
    pytest.param(0, id="zero"),
    pytest.param(True, id="bool"),
    pytest.param([], id="empty-list"),
    pytest.param(["k1"], id="list"),
    pytest.param({"kid": "k1"}, id="object"),
    pytest.param("", id="empty-string"),
    pytest.param("K1", id="case-variant"),
    pytest.param("k1 ", id="trailing-space"),
    pytest.param("k1\x00", id="nul-suffix"),
    pytest.param("k2", id="unknown"),
    pytest.param("x" * 10240, id="10kB"),
]


@pytest.mark.parametrize("kid", KID_ATTACKS)
def test_bad_kid_values_are_refused_even_when_signed_with_the_real_key(
    make_client: MakeClient, rs: Settings, kid: Any, tmp_path: Any
) -> None:
    if isinstance(kid, str):
        kid = kid.replace("{tmp}", str(tmp_path))
    token = sign_raw(rs, header_json({"alg": "RS256", "typ": "at+jwt", "kid": kid}), payload())
    expect_invalid_token(make_client(rs).bearer(token), secret=token)
    assert not (tmp_path / "pwned").exists()


def test_kid_path_traversal_with_an_empty_hmac_key_is_refused(
    make_client: MakeClient, hs: Settings
) -> None:
    """The classic: ``kid`` names ``/dev/null`` and the token is HMAC-signed with b""."""
    header = {"alg": "HS256", "typ": "at+jwt", "kid": "../../../../../../dev/null"}
    client = make_client(hs)
    for secret in (b"", b"\x00"):
        token = hs256(secret, header, payload())
        expect_invalid_token(client.bearer(token), secret=token)
    token = hs256(b"", {"alg": "HS256", "typ": "at+jwt"}, payload())
    expect_invalid_token(client.bearer(token), secret=token)


def test_kid_controls(make_client: MakeClient, rs: Settings) -> None:
    client = make_client(rs)
    for header in (
        {"alg": "RS256", "typ": "at+jwt", "kid": "k1"},
        {"alg": "RS256", "typ": "at+jwt"},
    ):
        expect_ok(client.bearer(sign_raw(rs, header_json(header), payload())))


# -- key status -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rotation_keys() -> dict[str, rsa.RSAPrivateKey]:
    return {
        name: rsa.generate_private_key(public_exponent=65537, key_size=2048)
        for name in ("old", "current", "previous")
    }


@pytest.fixture(scope="module")
def rotated(rotation_keys: dict[str, rsa.RSAPrivateKey]) -> Settings:
    """``current`` signs, ``previous`` still verifies, ``old`` is retired."""
    return _settings(
        algorithms=["RS256"],
        keys=[
            {"key": _pem(rotation_keys["current"]), "kid": "current", "alg": "RS256"},
            {
                "key": _pem(rotation_keys["previous"]),
                "kid": "previous",
                "alg": "RS256",
                "status": "verify-only",
            },
            {
                "key": _pem(rotation_keys["old"]),
                "kid": "old",
                "alg": "RS256",
                "status": "retired",
            },
        ],
    )


@pytest.mark.parametrize("with_kid", [True, False], ids=["kid", "no-kid"])
def test_a_retired_key_no_longer_verifies(
    make_client: MakeClient,
    rotated: Settings,
    rotation_keys: dict[str, rsa.RSAPrivateKey],
    with_kid: bool,
) -> None:
    header = {"alg": "RS256", "typ": "at+jwt", **({"kid": "old"} if with_kid else {})}
    token = rs256(rotation_keys["old"], header, payload())
    expect_invalid_token(make_client(rotated).bearer(token), secret=token)


@pytest.mark.parametrize("with_kid", [True, False], ids=["kid", "no-kid"])
def test_active_and_verify_only_keys_verify(
    make_client: MakeClient,
    rotated: Settings,
    rotation_keys: dict[str, rsa.RSAPrivateKey],
    with_kid: bool,
) -> None:
    client = make_client(rotated)
    for name in ("current", "previous"):
        header = {"alg": "RS256", "typ": "at+jwt", **({"kid": name} if with_kid else {})}
        expect_ok(client.bearer(rs256(rotation_keys[name], header, payload())))
    assert rotated.keyset.signing_key() is not None
    expect_ok(client.bearer(mint(rotated)))


def test_a_known_kid_on_the_wrong_key_is_refused(
    make_client: MakeClient, rotated: Settings, rotation_keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    """The kid selects the key: ``previous``'s signature under kid ``current`` fails."""
    header = {"alg": "RS256", "typ": "at+jwt", "kid": "current"}
    token = rs256(rotation_keys["previous"], header, payload())
    expect_invalid_token(make_client(rotated).bearer(token), secret=token)


# -- JOSE header members --------------------------------------------------------------------------

BAD_HEADERS: list[Any] = [
    pytest.param({"crit": ["foo"], "foo": 1}, id="crit-unknown"),
    pytest.param({"crit": []}, id="crit-empty"),
    pytest.param({"crit": ["exp"]}, id="crit-registered-claim"),
    pytest.param({"crit": "b64"}, id="crit-not-a-list"),
    pytest.param({"b64": False, "crit": ["b64"]}, id="b64-false-crit"),
    pytest.param({"b64": False}, id="b64-false"),
    pytest.param({"cty": "JWT"}, id="cty-JWT"),
    pytest.param({"cty": "jwt"}, id="cty-jwt"),
    pytest.param({"cty": "application/JWT"}, id="cty-application-jwt"),
    pytest.param({"cty": 1}, id="cty-number"),
    pytest.param({"cty": None}, id="cty-null"),
    pytest.param({"typ": "refresh+jwt"}, id="typ-refresh"),
    pytest.param({"typ": "JWT"}, id="typ-JWT"),
    pytest.param({"typ": "application/jwt"}, id="typ-application-jwt"),
    pytest.param({"typ": "at+jwt "}, id="typ-trailing-space"),
    pytest.param({"typ": "at+jwt; x=y"}, id="typ-parameters"),
    pytest.param({"typ": "id_token+jwt"}, id="typ-other"),
    pytest.param({"typ": None}, id="typ-null"),
    pytest.param({"typ": ["at+jwt"]}, id="typ-list"),
    pytest.param({"typ": 1}, id="typ-number"),
    pytest.param({"typ": ""}, id="typ-empty"),
]


@pytest.mark.parametrize("changes", BAD_HEADERS)
def test_unacceptable_header_members_are_refused(
    make_client: MakeClient, hs: Settings, changes: dict[str, Any]
) -> None:
    header = {"alg": "HS256", "typ": "at+jwt", **changes}
    token = sign_raw(hs, header_json(header), payload())
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


def test_unknown_header_members_are_ignored(make_client: MakeClient, hs: Settings) -> None:
    """RFC 7515 §4: members that are not understood are ignored unless listed in ``crit``."""
    header = {"alg": "HS256", "typ": "at+jwt", "enc": "A256GCM", "x-custom": {"a": [1]}}
    expect_ok(make_client(hs).bearer(sign_raw(hs, header_json(header), payload())))


def test_typ_header_is_missing(make_client: MakeClient, hs: Settings) -> None:
    token = sign_raw(hs, b'{"alg":"HS256"}', payload())
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT"])
def test_access_token_typ_variants_are_accepted(
    make_client: MakeClient, hs: Settings, typ: str
) -> None:
    token = sign_raw(hs, header_json({"alg": "HS256", "typ": typ}), payload())
    expect_ok(make_client(hs).bearer(token))


@pytest.fixture(scope="module")
def plain_jwt() -> Settings:
    """A deployment with ``TOKEN_TYPE = None``: only ``JWT`` or no ``typ`` is accepted."""
    return _settings(secret=SECRET, algorithms=["HS256"], token_type=None)


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        pytest.param(b'{"alg":"HS256"}', True, id="absent"),
        pytest.param(b'{"alg":"HS256","typ":"JWT"}', True, id="JWT"),
        pytest.param(b'{"alg":"HS256","typ":"jwt"}', True, id="jwt"),
        pytest.param(b'{"alg":"HS256","typ":"application/jwt"}', True, id="application-jwt"),
        pytest.param(b'{"alg":"HS256","typ":"at+jwt"}', False, id="at+jwt"),
        pytest.param(b'{"alg":"HS256","typ":"refresh+jwt"}', False, id="refresh+jwt"),
        pytest.param(b'{"alg":"HS256","typ":"JOSE"}', False, id="JOSE"),
        pytest.param(b'{"alg":"HS256","typ":null}', False, id="null"),
        pytest.param(b'{"alg":"HS256","typ":1}', False, id="number"),
    ],
)
def test_typ_when_no_token_type_is_configured(
    make_client: MakeClient, plain_jwt: Settings, header: bytes, accepted: bool
) -> None:
    token = sign_raw(plain_jwt, header, payload())
    result = make_client(plain_jwt).bearer(token)
    if accepted:
        expect_ok(result)
    else:
        expect_invalid_token(result, secret=token)


# -- the JSON of the header and the payload -------------------------------------------------------

BAD_HEADER_JSON: list[Any] = [
    pytest.param(b'{"alg":"none","alg":"HS256","typ":"at+jwt"}', id="dup-alg-none-first"),
    pytest.param(b'{"alg":"HS256","alg":"none","typ":"at+jwt"}', id="dup-alg-none-last"),
    pytest.param(b'{"alg":"HS256","alg":"HS256","typ":"at+jwt"}', id="dup-alg-same"),
    pytest.param(b'{"alg":"RS256","typ":"at+jwt","alg":"HS256"}', id="dup-alg-apart"),
    pytest.param(b'{"alg":"HS256","typ":"JWT","typ":"at+jwt"}', id="dup-typ"),
    pytest.param(b'{"alg":"HS256","typ":"at+jwt","crit":[],"crit":null}', id="dup-crit"),
    pytest.param(b'{"alg":"HS256","\\u0061lg":"none","typ":"at+jwt"}', id="dup-alg-escaped"),
    pytest.param(b'[{"alg":"HS256","typ":"at+jwt"}]', id="array"),
    pytest.param(b'"HS256"', id="string"),
    pytest.param(b"null", id="null"),
    pytest.param(b"1", id="number"),
    pytest.param(b"{}", id="empty-object"),
    pytest.param(b"", id="empty"),
    pytest.param(b'{"alg":["HS256"],"typ":"at+jwt"}', id="alg-list"),
    pytest.param(b'{"alg":null,"typ":"at+jwt"}', id="alg-null"),
    pytest.param(b'{"alg":"hs256","typ":"at+jwt"}', id="alg-lower-case"),
    pytest.param(b'{"alg":"HS256 ","typ":"at+jwt"}', id="alg-trailing-space"),
    pytest.param(b'{"ALG":"HS256","typ":"at+jwt"}', id="member-name-case"),
    pytest.param(b'{"alg":"HS256","typ":"at+jwt"} x', id="trailing-garbage"),
    pytest.param(b'{"alg":"HS256","typ":"at+jwt"}{}', id="two-objects"),
    pytest.param(b'{"alg":"HS256","typ":"at+jwt","x":NaN}', id="NaN"),
    pytest.param(b'{"alg":"HS256","typ":"at+jwt","x":Infinity}', id="Infinity"),
    pytest.param(b'{"alg":"HS256","typ":"at+jwt","x":"\xff"}', id="invalid-utf8"),
    pytest.param(b'{"alg":"HS256","typ":"at+jwt","x":"\xed\xa0\x80"}', id="utf8-surrogate"),
    pytest.param(b'\xef\xbb\xbf{"alg":"HS256","typ":"at+jwt"}', id="utf8-bom"),
    pytest.param('{"alg":"HS256","typ":"at+jwt"}'.encode("utf-16"), id="utf16"),
    pytest.param(b'{"alg":"HS256","typ":"at+jwt",}', id="trailing-comma"),
    pytest.param(b"{'alg':'HS256','typ':'at+jwt'}", id="single-quotes"),
]


@pytest.mark.parametrize("header", BAD_HEADER_JSON)
def test_bad_header_json_is_refused_even_when_signed(
    make_client: MakeClient, hs: Settings, header: bytes
) -> None:
    token = sign_raw(hs, header, payload())
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(GOOD_HEADER, id="compact"),
        pytest.param(b' { "alg" : "HS256" ,\n "typ" : "at+jwt" } ', id="whitespace"),
        pytest.param(b'{"typ":"at+jwt","alg":"HS256"}', id="member-order"),
        pytest.param(b'{"alg":"HS256","typ":"at+jwt","x":"\xc3\xa9"}', id="utf8"),
    ],
)
def test_header_json_controls(make_client: MakeClient, hs: Settings, header: bytes) -> None:
    expect_ok(make_client(hs).bearer(sign_raw(hs, header, payload())))


BAD_PAYLOAD_JSON: list[Any] = [
    pytest.param(b'"user-1"', id="string"),
    pytest.param(b"[" + payload() + b"]", id="array"),
    pytest.param(b"null", id="null"),
    pytest.param(b"1", id="number"),
    pytest.param(b"", id="empty"),
    pytest.param(payload()[:-1] + b',"x":"\xff"}', id="invalid-utf8"),
    pytest.param(payload()[:-1] + b',"x":"\xc0\xaf"}', id="overlong-utf8"),
    pytest.param(b"\xef\xbb\xbf" + payload(), id="utf8-bom"),
    pytest.param(payload() + b"x", id="trailing-garbage"),
    pytest.param(payload()[:-1] + b',"x":NaN}', id="NaN"),
    pytest.param(payload(sub=None)[:-1] + b',"sub":"\\ud800"}', id="lone-surrogate-sub"),
    pytest.param(payload().decode().encode("utf-16"), id="utf16"),
]


@pytest.mark.parametrize("body", BAD_PAYLOAD_JSON)
def test_bad_payload_json_is_refused_even_when_signed(
    make_client: MakeClient, hs: Settings, body: bytes
) -> None:
    token = sign_raw(hs, GOOD_HEADER, body)
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


# -- shapes and encodings -------------------------------------------------------------------------


def _jws_json(token: str, *, flattened: bool) -> str:
    head, body, signature = token.split(".")
    if flattened:
        return json.dumps({"payload": body, "protected": head, "signature": signature})
    signatures = [{"protected": head, "signature": signature}]
    return json.dumps({"payload": body, "signatures": signatures}, separators=(",", ":"))


def _jwe(_: str) -> str:
    header = b64(b'{"alg":"RSA-OAEP","enc":"A256GCM","typ":"at+jwt"}')
    return ".".join([header, b64(b"k" * 256), b64(b"iv" * 6), b64(b"ciphertext"), b64(b"t" * 16)])


def _pad(token: str) -> str:
    padded = ".".join(s + "=" * (-len(s) % 4) for s in token.split("."))
    assert padded != token
    return padded


def _non_canonical(token: str) -> str:
    """Set an unused low bit in the last character: same bytes, different text."""
    head, body, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(signature) % 4 in (2, 3)
    value = alphabet.index(signature[-1]) | 1
    changed = signature[:-1] + alphabet[value]
    assert changed != signature
    return f"{head}.{body}.{changed}"


def _insert(text: str) -> Callable[[str], str]:
    def insert(token: str) -> str:
        head, body, signature = token.split(".")
        middle = len(body) // 2
        return f"{head}.{body[:middle]}{text}{body[middle:]}.{signature}"

    return insert


SHAPES: list[Any] = [
    pytest.param(_jwe, id="jwe-5-segments"),
    pytest.param(lambda t: t + "." + t.split(".")[1], id="4-segments"),
    pytest.param(lambda t: t.rsplit(".", 1)[0] + ".", id="empty-signature"),
    pytest.param(lambda t: ".".join(t.split(".")[1:]), id="2-segments"),
    pytest.param(lambda t: t.replace(".", ""), id="1-segment"),
    pytest.param(lambda t: "." + t.split(".", 1)[1], id="empty-header"),
    pytest.param(lambda t: "..", id="only-dots"),
    pytest.param(lambda t: ".", id="one-dot"),
    pytest.param(lambda t: "a.b.c", id="tiny-segments"),
    pytest.param(lambda t: t + ".", id="trailing-dot"),
    pytest.param(lambda t: t + "=", id="padding-at-the-end"),
    pytest.param(_pad, id="every-segment-padded"),
    pytest.param(lambda t: t.replace(".", "=.", 1), id="padded-header"),
    pytest.param(_non_canonical, id="non-canonical-trailing-bits"),
    pytest.param(_insert("\n"), id="newline-inside"),
    pytest.param(_insert("\x00"), id="nul-inside"),
    pytest.param(_insert("%2E"), id="percent-encoded"),
    pytest.param(_insert("\xe9"), id="latin-1-char"),
    pytest.param(lambda t: t.replace(".", "\u2024".encode().decode("latin-1")), id="utf8-dots"),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_malformed_shapes_are_refused(
    make_client: MakeClient, deployment: Settings, shape: Callable[[str], str]
) -> None:
    token = shape(mint(deployment))
    expect_invalid_token(make_client(deployment).bearer(token), secret=token)


def _mint_with(settings: Settings, predicate: Callable[[str], bool]) -> str:
    for n in range(1000):
        token = mint(settings, {"jti": f"jti-{n}"})
        if predicate(token):
            return token
    raise AssertionError("no token found")


def test_standard_base64_alphabet_is_refused(make_client: MakeClient, hs: Settings) -> None:
    token = _mint_with(hs, lambda t: "-" in t or "_" in t)
    standard = token.replace("-", "+").replace("_", "/")
    expect_invalid_token(make_client(hs).bearer(standard), secret=standard)


@pytest.mark.parametrize("text", [" ", "\t", "\r\n "], ids=["space", "tab", "obs-fold"])
def test_whitespace_inside_the_token(make_client: MakeClient, hs: Settings, text: str) -> None:
    """In the Authorization header whitespace splits the credentials: 400 (two credentials). In
    a cookie the value is one opaque string: 401 ``invalid_token``."""
    token = _insert(text)(mint(hs))
    client = make_client(hs)
    expect_invalid_request(client.bearer(token), secret=token)
    expect_invalid_token(client.get(headers=[("Cookie", f"access_token={token}")]), secret=token)


@pytest.mark.parametrize("flattened", [True, False], ids=["flattened", "general"])
def test_jws_json_serialization_is_refused(
    make_client: MakeClient, hs: Settings, flattened: bool
) -> None:
    """The JSON serialization of a *valid* token: the header refuses it as malformed (its commas
    read as several credentials), the cookie as an invalid token."""
    token = _jws_json(mint(hs), flattened=flattened)
    client = make_client(hs)
    expect_invalid_request(client.bearer(token), secret=token)
    expect_invalid_token(client.get(headers=[("Cookie", f"access_token={token}")]), secret=token)


# -- size -----------------------------------------------------------------------------------------


def _huge_token(size: int) -> str:
    third = size // 3
    return f"{'a' * third}.{'b' * third}.{'c' * (size - 2 * third - 2)}"


@pytest.mark.parametrize(
    ("source", "size", "budget"),
    [
        pytest.param("header", 1 << 20, 0.005, id="header-1MB"),
        pytest.param("header", 10 << 20, 0.005, id="header-10MB"),
        pytest.param("cookie", 1 << 20, 0.005, id="cookie-1MB"),
        # The Cookie header has to be parsed whole to find the token and to see duplicates,
        # so its cost grows with its size; servers cap header sizes far below 10 MB anyway.
        pytest.param("cookie", 10 << 20, None, id="cookie-10MB"),
    ],
)
def test_huge_tokens_are_refused_quickly(
    make_client: MakeClient, hs: Settings, source: str, size: int, budget: float | None
) -> None:
    """Refused by size, before any decoding; timed around the middleware call only (the
    fastest of five, so a busy machine does not make the test flaky)."""
    token = _huge_token(size)
    assert len(token) == size
    if source == "header":
        headers = [("Authorization", f"Bearer {token}")]
    else:
        headers = [("Cookie", f"theme=dark; access_token={token}")]
    client = make_client(hs)
    results = [client.get(headers=headers) for _ in range(5)]
    for result in results:
        expect_invalid_token(result)
    assert {r.json()["error_description"] for r in results} == {"The access token is too large"}
    fastest = min(r.elapsed for r in results)
    if budget is not None:
        assert fastest < budget, f"{fastest * 1000:.2f} ms to refuse a {size} byte token"


def test_the_size_limit_is_exact(make_client: MakeClient, hs: Settings) -> None:
    client = make_client(hs)
    base = mint(hs, {"pad": ""})
    fits = mint(hs, {"pad": "x" * ((hs.max_token_bytes - len(base)) * 3 // 4)})
    assert hs.max_token_bytes - 4 <= len(fits) <= hs.max_token_bytes
    expect_ok(client.bearer(fits))
    over = mint(hs, {"pad": "x" * ((hs.max_token_bytes - len(base)) * 3 // 4 + 8)})
    assert len(over) > hs.max_token_bytes
    result = client.bearer(over)
    expect_invalid_token(result, secret=over)
    assert result.json()["error_description"] == "The access token is too large"


DEPTH = 100_000
NESTED: list[Any] = [
    pytest.param("header", b"[" * DEPTH + b"]" * DEPTH, id="header-array"),
    pytest.param("header", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH, id="header-object"),
    pytest.param("header", b"[" * DEPTH, id="header-unclosed"),
    pytest.param("payload", b"[" * DEPTH + b"]" * DEPTH, id="payload-array"),
    pytest.param("payload", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH, id="payload-object"),
    pytest.param(
        "payload", payload()[:-1] + b',"x":' + b"[" * DEPTH + b"]" * DEPTH + b"}", id="claim"
    ),
]


@pytest.mark.parametrize(("where", "nested"), NESTED)
@pytest.mark.parametrize("limit", ["raised", "default"])
def test_deeply_nested_json_is_refused(
    make_client: MakeClient, hs: Settings, where: str, nested: bytes, limit: str
) -> None:
    settings = hs.replace(max_token_bytes=1 << 20) if limit == "raised" else hs
    if where == "header":
        token = sign_raw(settings, nested, payload())
    else:
        token = sign_raw(settings, GOOD_HEADER, nested)
    assert hs.max_token_bytes < len(token) <= 1 << 20
    result = make_client(settings).bearer(token)
    expect_invalid_token(result, secret=token)
    too_large = result.json()["error_description"] == "The access token is too large"
    assert too_large == (limit == "default")


# -- registered claims ----------------------------------------------------------------------------


def _with_exp(fragment: bytes) -> bytes:
    return payload(exp=None)[:-1] + b',"exp":' + fragment + b"}"


EXP_VALUES: list[Any] = [
    pytest.param(b'"1700000300"', id="string"),
    pytest.param(b"true", id="true"),
    pytest.param(b"false", id="false"),
    pytest.param(b"null", id="null"),
    pytest.param(b"1e400", id="1e400"),
    pytest.param(b"-1e400", id="-1e400"),
    pytest.param(str(10**400).encode(), id="10**400"),
    pytest.param(str(-(10**400)).encode(), id="-10**400"),
    pytest.param(b"9" * 5000, id="5000-digits"),
    pytest.param(b"NaN", id="NaN"),
    pytest.param(b"Infinity", id="Infinity"),
    pytest.param(b"-1", id="negative"),
    pytest.param(b"[1700000300]", id="array"),
    pytest.param(b'{"$gt":0}', id="object"),
    pytest.param(str(2**53 + 1).encode(), id="2**53+1"),
]


@pytest.mark.parametrize("fragment", EXP_VALUES)
def test_bad_exp_values_are_refused(make_client: MakeClient, hs: Settings, fragment: bytes) -> None:
    token = sign_compact(hs, {"typ": "at+jwt"}, _with_exp(fragment))
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


def test_a_duplicate_expired_exp_is_not_hidden_by_an_earlier_valid_one(
    make_client: MakeClient, hs: Settings
) -> None:
    """RFC 7519 §4: a parser either refuses duplicate claims or keeps the last one."""
    body = payload()[:-1] + b',"exp":' + str(int(NOW) - 60).encode() + b"}"
    assert body.count(b'"exp"') == 2
    token = sign_compact(hs, {"typ": "at+jwt"}, body)
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


def test_missing_exp_is_refused(make_client: MakeClient, hs: Settings) -> None:
    token = sign_compact(hs, {"typ": "at+jwt"}, payload(exp=None))
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


TIMES: list[Any] = [
    pytest.param({"exp": int(NOW) - 30}, False, id="exp-at-leeway"),
    pytest.param({"exp": int(NOW) - 29}, True, id="exp-inside-leeway"),
    pytest.param({"exp": NOW + 60.5}, True, id="exp-float"),
    pytest.param({"iat": int(NOW) + 31}, False, id="iat-beyond-leeway"),
    pytest.param({"iat": int(NOW) + 30}, True, id="iat-at-leeway"),
    pytest.param({"nbf": int(NOW) + 31}, False, id="nbf-beyond-leeway"),
    pytest.param({"nbf": int(NOW) + 30}, True, id="nbf-at-leeway"),
    pytest.param({"nbf": int(NOW) + 86400 * 365}, False, id="nbf-next-year"),
    pytest.param({"iat": "1700000000"}, False, id="iat-string"),
    pytest.param({"nbf": True}, False, id="nbf-bool"),
    pytest.param({"iat": 0, "exp": int(NOW) + 60}, False, id="lifetime-too-long"),
    pytest.param({"exp": int(NOW) + 86400 * 2, "iat": None}, False, id="exp-too-far"),
]


@pytest.mark.parametrize(("changes", "accepted"), TIMES)
def test_time_claims(
    make_client: MakeClient, hs: Settings, changes: dict[str, Any], accepted: bool
) -> None:
    claims = good_claims(**changes)
    token = sign_compact(hs, {"typ": "at+jwt"}, json.dumps(claims).encode())
    result = make_client(hs).bearer(token)
    if accepted:
        expect_ok(result)
    else:
        expect_invalid_token(result, secret=token)


ISSUERS: list[Any] = [
    pytest.param("https://issuer.exampl", id="prefix"),
    pytest.param("https://issuer.example/", id="trailing-slash"),
    pytest.param("https://issuer.example.evil", id="superstring-host"),
    pytest.param("https://issuer.example@evil", id="userinfo-trick"),
    pytest.param("https://evil/https://issuer.example", id="suffix"),
    pytest.param("HTTPS://ISSUER.EXAMPLE", id="upper-case"),
    pytest.param("https://Issuer.example", id="mixed-case"),
    pytest.param(" https://issuer.example", id="leading-space"),
    pytest.param("https://issuer.example\x00", id="nul-suffix"),
    pytest.param("http://issuer.example", id="http"),
    pytest.param("", id="empty"),
    pytest.param([ISSUER], id="list"),
    pytest.param({"iss": ISSUER}, id="object"),
    pytest.param(1, id="number"),
    pytest.param(None, id="missing"),
]


@pytest.mark.parametrize("iss", ISSUERS)
def test_wrong_issuers_are_refused(make_client: MakeClient, hs: Settings, iss: Any) -> None:
    token = mint(hs, {"iss": iss}) if iss is not None else mint(hs, {"iss": None})
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


AUDIENCES: list[Any] = [
    pytest.param(["other"], False, id="list-without-match"),
    pytest.param([], False, id="empty-list"),
    pytest.param({"api": True}, False, id="object"),
    pytest.param({"aud": "api"}, False, id="object-with-aud"),
    pytest.param(1, False, id="number"),
    pytest.param(True, False, id="bool"),
    pytest.param("API", False, id="case"),
    pytest.param("ap", False, id="substring"),
    pytest.param("apis", False, id="superstring"),
    pytest.param("api other", False, id="space-separated"),
    pytest.param(["api", 1], False, id="list-with-number"),
    pytest.param([["api"]], False, id="nested-list"),
    pytest.param([None], False, id="list-of-null"),
    pytest.param(None, False, id="missing"),
    pytest.param("api", True, id="string"),
    pytest.param(["other", "api"], True, id="list-with-match"),
]


@pytest.mark.parametrize(("aud", "accepted"), AUDIENCES)
def test_audience(make_client: MakeClient, hs: Settings, aud: Any, accepted: bool) -> None:
    token = mint(hs, {"aud": aud})
    result = make_client(hs).bearer(token)
    if accepted:
        expect_ok(result)
    else:
        expect_invalid_token(result, secret=token)


def test_null_audience_is_refused(make_client: MakeClient, hs: Settings) -> None:
    token = sign_compact(hs, {"typ": "at+jwt"}, payload(aud=None)[:-1] + b',"aud":null}')
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


SUBJECTS: list[Any] = [
    pytest.param("alice\r\nX-Admin: true", id="crlf"),
    pytest.param("alice\n", id="lf"),
    pytest.param("alice\r", id="cr"),
    pytest.param("\x00", id="nul"),
    pytest.param("admin\x00alice", id="embedded-nul"),
    pytest.param("\x1b[2Jalice", id="ansi-escape"),
    pytest.param("alice\x7f", id="del"),
    pytest.param("alice\u2028", id="line-separator"),
    pytest.param("alice\u200b", id="zero-width-space"),
    pytest.param("alice\t", id="tab"),
    pytest.param("", id="empty"),
    pytest.param("x" * 256, id="256-chars"),
    pytest.param(1, id="number"),
    pytest.param(["alice"], id="list"),
    pytest.param({"id": "alice"}, id="object"),
]


@pytest.mark.parametrize("sub", SUBJECTS)
def test_bad_subjects_are_refused(make_client: MakeClient, hs: Settings, sub: Any) -> None:
    token = mint(hs, {"sub": sub})
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


@pytest.mark.parametrize("sub", ["ünïcødé", "x" * 255, "a b", "urn:user:1"])
def test_unusual_but_valid_subjects_are_accepted(
    make_client: MakeClient, hs: Settings, sub: str
) -> None:
    expect_ok(make_client(hs).bearer(mint(hs, subject=sub)), sub)


@pytest.mark.parametrize("name", ["jti", "sid"])
@pytest.mark.parametrize(
    "value", ["a\r\nb", "", "x" * 256, 1], ids=["crlf", "empty", "long", "number"]
)
def test_bad_token_and_session_ids_are_refused(
    make_client: MakeClient, hs: Settings, name: str, value: Any
) -> None:
    token = mint(hs, {name: value})
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


@pytest.mark.parametrize(
    "scope", [1, {"read": True}, ["read", 1]], ids=["number", "object", "mixed"]
)
def test_malformed_scope_claims_are_refused(
    make_client: MakeClient, hs: Settings, scope: Any
) -> None:
    token = mint(hs, {"scope": scope})
    expect_invalid_token(make_client(hs).bearer(token), secret=token)


# -- where the credentials are --------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_query(hs: Settings) -> Settings:
    return hs.replace(sources=("header", "cookie", "query"))


def _ambiguous(token: str, other: str) -> dict[str, list[tuple[str, str]]]:
    return {
        "header+cookie": [
            ("Authorization", f"Bearer {token}"),
            ("Cookie", f"access_token={token}"),
        ],
        "header+cookie-different": [
            ("Authorization", f"Bearer {token}"),
            ("Cookie", f"access_token={other}"),
        ],
        "two-authorization-headers": [
            ("Authorization", f"Bearer {token}"),
            ("Authorization", f"Bearer {token}"),
        ],
        "two-authorization-headers-good-then-bad": [
            ("Authorization", f"Bearer {token}"),
            ("Authorization", "Bearer x.y.z"),
        ],
        "two-authorization-headers-bad-then-good": [
            ("Authorization", "Bearer x.y.z"),
            ("Authorization", f"Bearer {token}"),
        ],
        "bearer-then-basic-headers": [
            ("Authorization", f"Bearer {token}"),
            ("Authorization", "Basic dXNlcjpwYXNz"),
        ],
        "basic-then-bearer-headers": [
            ("Authorization", "Basic dXNlcjpwYXNz"),
            ("Authorization", f"Bearer {token}"),
        ],
        "two-credentials-in-one-header": [("Authorization", f"Bearer {token}, Bearer {other}")],
        "two-tokens-after-one-scheme": [("Authorization", f"Bearer {token} {other}")],
        "two-token-cookies": [("Cookie", f"access_token={token}; access_token={other}")],
        "two-token-cookies-same": [("Cookie", f"access_token={token}; access_token={token}")],
        "two-cookie-headers": [
            ("Cookie", f"access_token={token}"),
            ("Cookie", f"theme=dark; access_token={other}"),
        ],
        "empty-bearer": [("Authorization", "Bearer")],
        "empty-bearer-spaces": [("Authorization", "Bearer   ")],
        "empty-bearer-lower-case": [("Authorization", "bearer ")],
    }


AMBIGUOUS_IDS = list(_ambiguous("t", "o"))


@pytest.mark.parametrize("case", AMBIGUOUS_IDS)
def test_ambiguous_or_malformed_credentials_are_invalid_request(
    make_client: MakeClient, hs: Settings, case: str
) -> None:
    token, other = mint(hs), mint(hs, subject="mallory")
    result = make_client(hs).get(headers=_ambiguous(token, other)[case])
    expect_invalid_request(result, secret=token)


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        pytest.param(True, "access_token={t}", id="header+query"),
        pytest.param(False, "access_token={t}&access_token={t}", id="two-query-tokens"),
        pytest.param(False, "access_token={t}&%61ccess_token={t}", id="two-query-tokens-encoded"),
    ],
)
def test_query_ambiguities_are_invalid_request(
    make_client: MakeClient, with_query: Settings, headers: bool, query: str
) -> None:
    token = mint(with_query)
    sent = [("Authorization", f"Bearer {token}")] if headers else []
    result = make_client(with_query).get(headers=sent, query=query.format(t=token))
    expect_invalid_request(result, secret=token)


def test_query_token_is_accepted_only_when_enabled(
    make_client: MakeClient, hs: Settings, with_query: Settings
) -> None:
    token = mint(hs)
    expect_ok(make_client(with_query).get(query=f"x=1&access_token={token}"))
    expect_no_credentials(make_client(hs).get(query=f"access_token={token}"))
    expect_no_credentials(make_client(hs).get(query="access_token=x.y.z"))


@pytest.mark.parametrize(
    "value",
    [
        "Basic dXNlcjpwYXNz",
        'Digest username="u", realm="r", nonce="n", uri="/", response="x"',
        "Token abc.def.ghi",
        "Bearerx abc.def.ghi",
        "JWT {t}",
        "{t}",
        "Bearer\t{t}",
    ],
    ids=["basic", "digest", "token", "bearer-prefix", "jwt-scheme", "no-scheme", "tab-separator"],
)
def test_other_schemes_are_not_our_credentials(
    make_client: MakeClient, hs: Settings, value: str
) -> None:
    token = mint(hs)
    client = make_client(hs)
    expect_no_credentials(client.get(headers=[("Authorization", value.format(t=token))]))


def test_other_scheme_next_to_a_cookie_token_is_fine(make_client: MakeClient, hs: Settings) -> None:
    """A proxy's Basic credentials and our cookie are not two credentials of ours."""
    headers = [("Authorization", "Basic dXNlcjpwYXNz"), ("Cookie", f"access_token={mint(hs)}")]
    expect_ok(make_client(hs).get(headers=headers))


@pytest.mark.parametrize(
    "cookie",
    [
        "access_token=",
        "access_token",
        "other_access_token=x.y.z",
        "access_token_2=x.y.z",
        "ACCESS_TOKEN=x.y.z",
        "theme=dark",
    ],
    ids=["empty", "no-value", "suffix-name", "prefix-name", "name-case", "other-cookie"],
)
def test_cookies_that_are_not_the_token_are_ignored(
    make_client: MakeClient, hs: Settings, cookie: str
) -> None:
    client = make_client(hs)
    expect_no_credentials(client.get(headers=[("Cookie", cookie)]))
    expect_ok(client.get(headers=[("Cookie", cookie), ("Authorization", f"Bearer {mint(hs)}")]))
