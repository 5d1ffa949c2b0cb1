"""Remote JWKS and JWKS publishing through the real ASGI and WSGI middleware.

A loopback JWKS server (counting its requests) plays the identity provider; tokens are signed
with its keys and verified by middleware configured only with ``JWKS_URL``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from jwtmiddleware import ConfigurationError, Settings
from jwtmiddleware.testing import mint_token
from tests.http.harness import NOW, ASGIClient, WSGIClient, expect_ok
from tests.keys.jwks_server import Reply, jwks_reply, serve
from tests.keys.material import jwks_of, signer

MakeClient = Callable[..., ASGIClient | WSGIClient]


def verifier_settings(url: str, **changes: Any) -> Settings:
    options: dict[str, Any] = {
        "jwks_url": url,
        "jwks_allow_http_loopback": True,
        "algorithms": ["ES256"],
        "token_type": None,
        "cookie_name_prefix": False,
        "jwks_refetch_cooldown": 30,
    }
    return Settings(**{**options, **changes})


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def test_tokens_verify_through_the_jwks_url(make_client: MakeClient) -> None:
    idp = signer("ES256", "k1")
    with serve() as server:
        server.route("/jwks", jwks_reply(jwks_of(idp), max_age=600))
        client = make_client(verifier_settings(server.url + "/jwks"))
        for _ in range(5):
            expect_ok(client.get(headers=bearer(mint_token(idp, now=NOW))))
        assert server.hits["/jwks"] == 1  # fetched once, then cached
        forged = mint_token(signer("ES256", "k1"), now=NOW)  # same kid, other key
        assert client.get(headers=bearer(forged)).status == 401


def test_an_unknown_kid_refetches_at_most_once_per_cooldown(make_client: MakeClient) -> None:
    idp = signer("ES256", "k1")
    with serve() as server:
        server.route("/jwks", jwks_reply(jwks_of(idp), max_age=600))
        client = make_client(verifier_settings(server.url + "/jwks"))
        expect_ok(client.get(headers=bearer(mint_token(idp, now=NOW))))
        stranger = signer("ES256", "nobody")
        for _ in range(20):
            assert client.get(headers=bearer(mint_token(stranger, now=NOW))).status == 401
        assert server.hits["/jwks"] == 2  # the first fetch, then one refetch for "nobody"


def test_a_rotated_key_is_picked_up_and_a_removed_key_forgotten(make_client: MakeClient) -> None:
    old, new = signer("ES256", "old"), signer("ES256", "new")
    clock = [NOW]
    with serve() as server:
        server.route("/jwks", jwks_reply(jwks_of(old), max_age=600))
        client = make_client(verifier_settings(server.url + "/jwks"), clock=lambda: clock[0])
        old_token = mint_token(old, now=NOW, ttl=3600)
        expect_ok(client.get(headers=bearer(old_token)))
        # rotation: the IdP publishes the new key and stops publishing the old one
        server.route("/jwks", jwks_reply(jwks_of(new), max_age=600))
        expect_ok(client.get(headers=bearer(mint_token(new, now=NOW))))  # unknown kid: refetch
        assert server.hits["/jwks"] == 2
        # the cached verification of the old token was dropped with the old key set
        assert client.get(headers=bearer(old_token)).status == 401


def test_jwks_server_down_then_up(make_client: MakeClient) -> None:
    idp = signer("ES256", "k1")
    clock = [NOW]
    with serve() as server:
        server.route("/jwks", Reply(503, b"down"))
        client = make_client(
            verifier_settings(server.url + "/jwks", jwks_refetch_cooldown=5),
            clock=lambda: clock[0],
        )
        token = mint_token(idp, now=NOW, ttl=3600)
        answer = client.get(headers=bearer(token))
        assert answer.status == 401  # never a 5xx: no trusted key yet
        server.route("/jwks", jwks_reply(jwks_of(idp), max_age=600))
        clock[0] += 6  # past the back-off
        expect_ok(client.get(headers=bearer(token)))


def test_discovery_at_start_up(make_client: MakeClient) -> None:
    idp = signer("ES256", "k1")
    with serve() as server:
        issuer = server.url
        config = {"issuer": issuer, "jwks_uri": server.url + "/keys"}
        server.route("/.well-known/openid-configuration", jwks_reply(config))
        server.route("/keys", jwks_reply(jwks_of(idp), max_age=600))
        settings = Settings(
            issuer=issuer,
            jwks_discovery=True,
            jwks_allow_http_loopback=True,
            algorithms=["ES256"],
            token_type=None,
        )
        client = make_client(settings)
        token = mint_token(idp.replace(issuer=issuer), now=NOW)
        expect_ok(client.get(headers=bearer(token)))
        assert server.hits["/.well-known/openid-configuration"] == 1


def test_discovery_failure_names_the_setting(make_client: MakeClient) -> None:
    with serve() as server:
        server.route("/.well-known/openid-configuration", Reply(500, b"oops"))
        settings = Settings(issuer=server.url, jwks_discovery=True, jwks_allow_http_loopback=True,
                            algorithms=["ES256"])  # fmt: skip
        with pytest.raises(ConfigurationError) as info:
            make_client(settings)
        assert info.value.setting == "JWKS_DISCOVERY"


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"jwks_url": "http://example.com/jwks", "jwks_allow_http_loopback": False}, "JWKS_URL"),
        ({"jwks_url": "https://idp.example/jwks", "algorithms": ["HS256"]}, "ALGORITHMS"),
        ({"jwks_discovery": True}, "JWKS_DISCOVERY"),
        ({"jwks_path": "jwks.json", "jwks_url": "https://idp.example/jwks"}, "JWKS_PATH"),
    ],
)
def test_remote_key_settings_are_validated(changes: dict[str, Any], setting: str) -> None:
    base: dict[str, Any] = {"algorithms": ["ES256"]}
    with pytest.raises(ConfigurationError) as info:
        Settings(**{**base, **changes})
    assert info.value.setting == setting


def test_the_middleware_publishes_its_public_keys(make_client: MakeClient) -> None:
    auth_service = signer("ES256", "sig-1", cookie_name_prefix=False)
    client = make_client(auth_service)
    answer = client.get("/.well-known/jwks.json")
    assert answer.status == 200
    assert not answer.reached  # served by the middleware, without a token
    document = answer.json()
    assert [k["kid"] for k in document["keys"]] == ["sig-1"]
    assert "d" not in document["keys"][0]
    assert answer.header("cache-control") == "public, max-age=300"
    etag = answer.header("etag")
    assert etag
    again = client.get("/.well-known/jwks.json", headers=[("If-None-Match", etag)])
    assert again.status == 304
    assert client.request("POST", "/.well-known/jwks.json").status == 405


def test_hmac_deployments_publish_nothing(make_client: MakeClient) -> None:
    client = make_client(Settings(secret="s" * 40, cookie_name_prefix=False))
    assert client.get("/.well-known/jwks.json").status == 401  # an ordinary protected path
