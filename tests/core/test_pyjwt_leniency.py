"""jwtmiddleware never accepts a token that PyJWT, configured the same way, rejects.

Every token of a corpus built from the attack suite's crafting helpers and bad inputs
(``tests/http/test_attacks.py``, ``tests/http/harness.py``) goes through
:class:`jwtmiddleware.Verifier` and through ``jwt.decode`` with the same key, algorithm,
audience, issuer, leeway and required claims. PyJWT reads the real clock, so tokens are minted
relative to the real time when the test runs (the attack suite's fixed ``NOW`` is shifted), and
jwtmiddleware's verdict is taken at the times just before and just after PyJWT's call: it only
counts as "accepted" when both accept, so a second ticking over mid-test cannot fake a result.

jwtmiddleware may refuse more. Each deliberate extra strictness has a label, and a corpus entry
where PyJWT accepts and jwtmiddleware refuses must carry the label that explains it:

==================  =============================================  ===============================
label               jwtmiddleware                                  PyJWT ``jwt.decode``
==================  =============================================  ===============================
typ                 ``typ`` must be ``TOKEN_TYPE`` (``at+jwt``)    ignores ``typ``
cty                 ``cty: JWT`` (nested) or non-string refused    ignores ``cty``
crit                any ``crit`` header refused                    understands ``crit: ["b64"]``
b64                 any ``b64`` header refused                     drops ``b64: true``
duplicate members   duplicate header member names refused          the last one wins
strict JSON         no NaN/Infinity, UTF-8 only (no BOM, UTF-16)   ``json.loads`` accepts these
base64url           canonical unpadded base64url only              accepts ``=`` padding
key binding         ``kid`` must name a configured key of ``alg``  uses the key it is given
NumericDate         ``exp``/``nbf``/``iat`` JSON numbers in         ``int()`` of anything
                    [0, 2**53]                                     (``"1700000300"``, ``true``)
lifetime            ``exp - iat`` <= ``MAX_TOKEN_LIFETIME`` (1 d)  no limit
identifiers         ``sub``/``jti``/``sid`` printable, 1-255       ``sub``/``jti`` any string
                    characters
size                over ``MAX_TOKEN_BYTES`` refused unread        no limit
==================  =============================================  ===============================

One known difference runs the other way and is marked ``xfail(strict=True)``: PyJWT truncates a
fractional ``exp`` to an integer before comparing, so a token with ``exp = X.999`` expires
for PyJWT up to a second before it does for jwtmiddleware (which compares the exact value, as
RFC 7519 §4.1.4 describes).
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from jwtmiddleware import Settings, TokenInvalid, Verifier
from jwtmiddleware.testing import sign_compact
from tests.core import keyfactory
from tests.http import test_attacks as attacks
from tests.http.harness import NOW, b64, raw_token, sign_raw

ISSUER, AUDIENCE = attacks.ISSUER, attacks.AUDIENCE

STRICTER = (
    "typ",
    "cty",
    "crit",
    "b64",
    "duplicate members",
    "strict JSON",
    "base64url",
    "key binding",
    "NumericDate",
    "lifetime",
    "identifiers",
    "size",
)


# -- deployments: the same configuration for both ------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    name: str
    alg: str
    settings: Settings
    #: What ``jwt.decode`` is given: the secret or the public key.
    pyjwt_key: Any

    def sign(self, header: dict[str, Any] | bytes, body: bytes) -> str:
        """Sign raw bytes with the deployment's own key (the header as given)."""
        head = header if isinstance(header, bytes) else attacks.header_json(header)
        return sign_raw(self.settings, head, body)


def _settings(**kwargs: Any) -> Settings:
    return Settings(issuer=ISSUER, audience=[AUDIENCE], **kwargs)


@functools.cache
def deployments() -> dict[str, Deployment]:
    return {
        "hs": Deployment(
            "hs", "HS256", _settings(secret=attacks.SECRET, algorithms=["HS256"]), attacks.SECRET
        ),
        "rs": Deployment(
            "rs",
            "RS256",
            _settings(
                keys=[{"key": keyfactory.rsa_pem(), "kid": "k1", "alg": "RS256"}],
                algorithms=["RS256"],
            ),
            keyfactory.rsa_key(2048).public_key(),
        ),
        "es": Deployment(
            "es",
            "ES256",
            _settings(keys=[keyfactory.ec_pem()], algorithms=["ES256"]),
            keyfactory.ec_key("P-256").public_key(),
        ),
        "ed": Deployment(
            "ed",
            "EdDSA",
            _settings(keys=[keyfactory.ed_pem()], algorithms=["EdDSA"]),
            keyfactory.ed_key().public_key(),
        ),
    }


@functools.cache
def attacker_keys() -> tuple[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]:
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec.generate_private_key(ec.SECP256R1()),
    )


# -- real time instead of the attack suite's NOW ---------------------------------------------------

_NEAR_NOW = re.compile(rb"(?<![0-9])1[67][0-9]{8}(?![0-9])")
_SHIFT_WINDOW = 10**8  # values this close to NOW are times relative to it


def retime(value: Any, anchor: int) -> Any:
    """``value`` with every time near the attack suite's ``NOW`` moved to ``anchor``."""
    delta = anchor - int(NOW)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value + delta if abs(value - NOW) < _SHIFT_WINDOW else value
    if isinstance(value, bytes):

        def shift(match: re.Match[bytes]) -> bytes:
            number = int(match.group())
            return str(number + delta).encode() if abs(number - NOW) < _SHIFT_WINDOW else (
                match.group()
            )  # fmt: skip

        return _NEAR_NOW.sub(shift, value)
    if isinstance(value, str):
        return retime(value.encode("utf-8"), anchor).decode("utf-8")
    if isinstance(value, dict):
        return {k: retime(v, anchor) for k, v in value.items()}
    if isinstance(value, list):
        return [retime(v, anchor) for v in value]
    return value


def claims(anchor: int, **changes: Any) -> dict[str, Any]:
    return dict(retime(attacks.good_claims(**changes), anchor))


def payload(anchor: int, **changes: Any) -> bytes:
    return json.dumps(claims(anchor, **changes), separators=(",", ":")).encode()


def header(d: Deployment, **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"alg": d.alg, "typ": "at+jwt"}
    if d.name == "rs":
        out["kid"] = "k1"
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def good(d: Deployment, anchor: int, **changes: Any) -> str:
    return d.sign(header(d), payload(anchor, **changes))


# -- the corpus ------------------------------------------------------------------------------------

Build = Callable[[Deployment, int], str]


@dataclass(frozen=True)
class Entry:
    id: str
    deployment: str
    build: Build
    #: The deliberate strictness explaining why jwtmiddleware may refuse what PyJWT accepts.
    extra: str | None = None
    #: A positive control: both must accept.
    control: bool = False


def _param_values(params: list[Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """``(id, values)`` of each ``pytest.param`` of the attack suite."""
    return [(p.id, tuple(p.values)) for p in params]


def _corpus() -> list[Entry]:
    out: list[Entry] = []
    every = ("hs", "rs", "es", "ed")
    for name in every:
        out.append(Entry(f"{name}-control", name, good, control=True))
        out.append(
            Entry(f"{name}-control-scope", name, lambda d, a: good(d, a, scope="a b"), control=True)
        )

    # alg none, in every spelling, with and without a signature
    signatures = (("empty", ""), ("garbage", "garbage"), ("zeros", b64(b"\0" * 32)))
    for alg in attacks.NONE_ALGS:
        for sig_id, signature in signatures:
            for name in ("hs", "rs"):
                out.append(Entry(
                    f"{name}-alg-{alg}-{sig_id}", name,
                    lambda d, a, alg=alg, s=signature: raw_token(
                        attacks.header_json({"alg": alg, "typ": "at+jwt"}), payload(a), s),
                ))  # fmt: skip

    # algorithm confusion: HMAC keyed with every form of the RSA public key
    rsa_public_forms = attacks._public_forms(keyfactory.rsa_key(2048))
    for form, secret in rsa_public_forms.items():
        for kid in (None, "k1"):
            out.append(Entry(
                f"rs-hs256-with-{form}-{kid or 'no-kid'}", "rs",
                lambda d, a, s=secret, kid=kid: attacks.hs256(
                    s, {"alg": "HS256", "typ": "at+jwt", **({"kid": kid} if kid else {})},
                    payload(a)),
            ))  # fmt: skip

    # signatures
    for tamper_id, (tamper,) in _param_values(attacks.SIGNATURE_TAMPERING):
        for name in every:
            swap = tamper_id == "payload-swapped"  # the attack suite's swap uses its fixed NOW
            out.append(Entry(
                f"{name}-signature-{tamper_id}", name,
                lambda d, a, t=tamper, swap=swap: _swap_payload(good(d, a), a) if swap
                else t(good(d, a)),
            ))  # fmt: skip
    for sig_id, signature in (("r=s=0", b"\0" * 64), ("der-zero", b"0\x06\x02\x01\x00\x02\x01\x00"),
                              ("r=0,s=1", b"\0" * 63 + b"\x01")):  # fmt: skip
        out.append(Entry(
            f"es-zero-signature-{sig_id}", "es",
            lambda d, a, s=signature: raw_token(
                attacks.header_json(header(d)), payload(a), s),
        ))  # fmt: skip
    out.append(Entry("rs-embedded-attacker-jwk", "rs", _embedded_rsa_jwk))
    out.append(Entry("es-embedded-attacker-jwk", "es", _embedded_ec_jwk))
    out.append(Entry(
        "rs-another-rsa-key", "rs",
        lambda d, a: attacks.rs256(attacker_keys()[0], header(d), payload(a)),
    ))  # fmt: skip

    # kid: signed with the real key, so only the kid can make it fail
    for kid_id, (kid,) in _param_values(attacks.KID_ATTACKS):
        if isinstance(kid, str):
            kid = kid.replace("{tmp}", "/tmp/nowhere")
        out.append(Entry(
            f"rs-kid-{kid_id}", "rs",
            lambda d, a, kid=kid: d.sign(
                attacks.header_json({"alg": "RS256", "typ": "at+jwt", "kid": kid}), payload(a)),
            extra="key binding",
        ))  # fmt: skip
    out.append(Entry(
        "hs-kid-dev-null-empty-key", "hs",
        lambda d, a: attacks.hs256(b"", header(d, kid="../../../../dev/null"), payload(a)),
    ))  # fmt: skip

    # header members
    header_labels = {"crit": "crit", "b64": "b64", "cty": "cty", "typ": "typ"}
    for member_id, (changes,) in _param_values(attacks.BAD_HEADERS):
        label = next(v for k, v in header_labels.items() if member_id.startswith(k))
        out.append(Entry(
            f"hs-header-{member_id}", "hs",
            lambda d, a, c=changes: d.sign(header(d, **c), payload(a)),
            extra=label,
        ))  # fmt: skip
    out.append(Entry("hs-typ-missing", "hs",
                     lambda d, a: d.sign(b'{"alg":"HS256"}', payload(a)), extra="typ"))  # fmt: skip
    out.append(Entry("hs-b64-true", "hs", lambda d, a: d.sign(header(d, b64=True), payload(a)),
                     extra="b64"))  # fmt: skip
    out.append(Entry("hs-crit-b64-with-b64-true", "hs",
                     lambda d, a: d.sign(header(d, b64=True, crit=["b64"]), payload(a)),
                     extra="crit"))  # fmt: skip

    # the JSON of the header and the payload
    for json_id, (raw,) in _param_values(attacks.BAD_HEADER_JSON):
        out.append(Entry(
            f"hs-header-json-{json_id}", "hs",
            lambda d, a, raw=raw: d.sign(raw, payload(a)),
            extra=_json_label(json_id),
        ))  # fmt: skip
    for json_id, (raw,) in _param_values(attacks.BAD_PAYLOAD_JSON):
        out.append(Entry(
            f"hs-payload-json-{json_id}", "hs",
            lambda d, a, raw=raw: d.sign(attacks.GOOD_HEADER, retime(raw, a)),
            extra=_json_label(json_id),
        ))  # fmt: skip

    # shapes and encodings
    for shape_id, (shape,) in _param_values(attacks.SHAPES):
        for name in every:
            out.append(Entry(
                f"{name}-shape-{shape_id}", name, lambda d, a, s=shape: s(good(d, a)),
                extra="base64url",
            ))  # fmt: skip
    out.append(Entry("hs-standard-base64-alphabet", "hs", _standard_alphabet))
    out.append(Entry("hs-oversized", "hs",
                     lambda d, a: good(d, a, pad="x" * 9000), extra="size"))  # fmt: skip

    # registered claims
    for exp_id, (fragment,) in _param_values(attacks.EXP_VALUES):
        out.append(Entry(
            f"hs-exp-{exp_id}", "hs",
            lambda d, a, f=fragment: d.sign(
                header(d), payload(a, exp=None)[:-1] + b',"exp":' + retime(f, a) + b"}"),
            extra="NumericDate",
        ))  # fmt: skip
    out.append(Entry(
        "hs-duplicate-exp-expired-last", "hs",
        lambda d, a: d.sign(header(d), payload(a)[:-1] + b',"exp":' + str(a - 60).encode() + b"}"),
    ))  # fmt: skip
    out.append(Entry("hs-exp-missing", "hs", lambda d, a: good(d, a, exp=None)))
    for time_id, (changes, _accepted) in _param_values(attacks.TIMES):
        label = "lifetime" if time_id.startswith(("lifetime", "exp-too-far")) else "NumericDate"
        out.append(Entry(
            f"hs-time-{time_id}", "hs",
            lambda d, a, c=changes: d.sign(header(d), json.dumps(claims(a, **c)).encode()),
            extra=label,
        ))  # fmt: skip
    for iss_id, (iss,) in _param_values(attacks.ISSUERS):
        out.append(Entry(f"hs-iss-{iss_id}", "hs", lambda d, a, i=iss: good(d, a, iss=i)))
    for aud_id, (aud, _accepted) in _param_values(attacks.AUDIENCES):
        out.append(Entry(f"hs-aud-{aud_id}", "hs", lambda d, a, x=aud: good(d, a, aud=x)))
    out.append(Entry(
        "hs-aud-null", "hs",
        lambda d, a: d.sign(header(d), payload(a, aud=None)[:-1] + b',"aud":null}'),
    ))  # fmt: skip
    for sub_id, (sub,) in _param_values(attacks.SUBJECTS):
        out.append(Entry(f"hs-sub-{sub_id}", "hs", lambda d, a, s=sub: good(d, a, sub=s),
                         extra="identifiers"))  # fmt: skip
    for name in ("jti", "sid"):
        for value_id, value in (("crlf", "a\r\nb"), ("empty", ""), ("long", "x" * 256),
                                ("number", 1)):  # fmt: skip
            out.append(Entry(
                f"hs-{name}-{value_id}", "hs",
                lambda d, a, n=name, v=value: good(d, a, **{n: v}), extra="identifiers",
            ))  # fmt: skip
    return out


def _json_label(case_id: str) -> str:
    return "duplicate members" if case_id.startswith("dup") else "strict JSON"


def _swap_payload(token: str, anchor: int) -> str:
    head, _, signature = token.split(".")
    return f"{head}.{b64(payload(anchor, sub='admin'))}.{signature}"


def _embedded_rsa_jwk(d: Deployment, anchor: int) -> str:
    attacker = attacker_keys()[0]
    jwk = RSAAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    return attacks.rs256(attacker, header(d, jwk=jwk, kid="k1"), payload(anchor))


def _embedded_ec_jwk(d: Deployment, anchor: int) -> str:
    attacker = attacker_keys()[1]
    jwk = ECAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    return attacks.es256(attacker, header(d, jwk=jwk), payload(anchor))


def _standard_alphabet(d: Deployment, anchor: int) -> str:
    for n in range(1000):
        token = good(d, anchor, jti=f"jti-{n}")
        if "-" in token or "_" in token:
            return token.replace("-", "+").replace("_", "/")
    raise AssertionError("no token with - or _ found")


CORPUS = _corpus()


# -- the verdicts ----------------------------------------------------------------------------------


def ours_accepts(d: Deployment, token: str, now: float) -> bool:
    try:
        Verifier(d.settings, cache_size=0).verify(token, now)
    except TokenInvalid:
        return False
    return True


def pyjwt_accepts(d: Deployment, token: str) -> bool:
    settings = d.settings
    try:
        jwt.decode(
            token,
            d.pyjwt_key,
            algorithms=[d.alg],
            audience=list(settings.audience),
            issuer=settings.issuer,
            leeway=settings.leeway,
            options={"require": list(settings.required_claims)},
        )
    except (jwt.InvalidTokenError, ValueError, TypeError, RecursionError, OverflowError):
        return False
    return True


def verdicts(entry: Entry) -> tuple[bool, bool, str]:
    """``(jwtmiddleware accepts, PyJWT accepts, token)`` for an entry, minted now."""
    d = deployments()[entry.deployment]
    token = entry.build(d, int(time.time()))
    before = time.time()
    theirs = pyjwt_accepts(d, token)
    after = time.time()
    ours = ours_accepts(d, token, before) and ours_accepts(d, token, after)
    return ours, theirs, token


def test_the_corpus_is_large_and_its_labels_are_documented() -> None:
    assert len(CORPUS) > 300
    assert len({e.id for e in CORPUS}) == len(CORPUS), "duplicate corpus ids"
    doc = __doc__ or ""
    for label in STRICTER:
        assert re.search(rf"^{re.escape(label)}\s", doc, re.M), f"{label!r} not in the table"
    assert {e.extra for e in CORPUS} - {None} <= set(STRICTER)


@pytest.mark.parametrize("entry", CORPUS, ids=[e.id for e in CORPUS])
def test_jwtmiddleware_never_accepts_what_pyjwt_rejects(entry: Entry) -> None:
    ours, theirs, token = verdicts(entry)
    if entry.control:
        assert ours, f"control refused by jwtmiddleware: {token}"
        assert theirs, f"control refused by PyJWT: {token}"
        return
    assert not (ours and not theirs), f"jwtmiddleware accepts what PyJWT rejects: {token}"
    if theirs and not ours:
        assert entry.extra in STRICTER, (
            f"{entry.id}: PyJWT accepts what jwtmiddleware refuses, with no documented reason "
            f"(give the entry a label from STRICTER): {token}"
        )


@pytest.mark.xfail(strict=True, reason="PyJWT truncates a fractional exp; we compare it exactly")
def test_a_fractional_exp_expires_no_later_than_for_pyjwt() -> None:
    """``exp = X.999`` with ``X + LEEWAY`` just passed: PyJWT (``int(exp)``) has expired it,
    jwtmiddleware accepts it for up to one more second."""
    d = deployments()["hs"]
    leeway = int(d.settings.leeway)
    while time.time() % 1 > 0.9:  # keep clear of the next second
        time.sleep(0.01)
    expires = int(time.time()) - leeway + 0.999
    token = sign_compact(
        d.settings, {"typ": "at+jwt"}, json.dumps(claims(int(NOW), exp=expires, iat=None)).encode()
    )
    before = time.time()
    theirs = pyjwt_accepts(d, token)
    ours = ours_accepts(d, token, before)
    assert not (ours and not theirs)
