"""Publishing the JWKS: headers, ETag/304, HEAD, 404, 405, composition, no secrets."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from jwtmiddleware import ConfigurationError, Settings
from jwtmiddleware.keysets.publish import DEFAULT_PATH, JWKSDocument, jwks_asgi_app, jwks_wsgi_app
from tests.core import keyfactory as kf

from .material import signer

SETTINGS = Settings(
    keys=[
        {"key": kf.ec_pem(), "kid": "new", "alg": "ES256"},
        {"key": kf.rsa_pem(), "kid": "gone", "alg": "RS256", "status": "retired"},
    ],
    algorithms=["ES256", "RS256"],
)


async def _asgi_fallback(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"app"})


def _wsgi_fallback(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [])
    return [b"app"]


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _client(kind: str, **options: Any) -> httpx.AsyncClient:
    if kind == "asgi":
        transport: httpx.AsyncBaseTransport = httpx.ASGITransport(
            app=jwks_asgi_app(SETTINGS, **options)
        )
    else:
        transport = _SyncToAsync(httpx.WSGITransport(app=jwks_wsgi_app(SETTINGS, **options)))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


class _SyncToAsync(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.WSGITransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = self.inner.handle_request(request)
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.read()
        )


@pytest.mark.anyio
async def test_serves_the_public_keys_with_cache_headers(kind: str) -> None:
    async with _client(kind, max_age=120) as client:
        response = await client.get(DEFAULT_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jwk-set+json"
    assert response.headers["cache-control"] == "public, max-age=120"
    assert response.headers["etag"].startswith('"')
    assert response.headers["x-content-type-options"] == "nosniff"
    document = response.json()
    assert [k["kid"] for k in document["keys"]] == ["new"]  # the retired key is not published
    assert "d" not in document["keys"][0]
    assert response.content == JWKSDocument(SETTINGS).body


@pytest.mark.anyio
async def test_etag_gives_304_and_head_has_no_body(kind: str) -> None:
    async with _client(kind) as client:
        etag = (await client.get(DEFAULT_PATH)).headers["etag"]
        for inm in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            response = await client.get(DEFAULT_PATH, headers={"If-None-Match": inm})
            assert response.status_code == 304, inm
            assert response.content == b""
            assert response.headers["etag"] == etag
            assert response.headers["cache-control"] == "public, max-age=300"
        miss = await client.get(DEFAULT_PATH, headers={"If-None-Match": '"other"'})
        assert miss.status_code == 200
        head = await client.head(DEFAULT_PATH)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(JWKSDocument(SETTINGS).body))


@pytest.mark.anyio
async def test_other_paths_404_and_other_methods_405(kind: str) -> None:
    async with _client(kind, path="/keys") as client:
        assert (await client.get("/keys")).status_code == 200
        assert (await client.get(DEFAULT_PATH)).status_code == 404
        assert (await client.get("/keys/")).status_code == 404
        response = await client.post("/keys", content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.anyio
async def test_in_front_of_an_app_other_paths_reach_it(kind: str) -> None:
    fallback: Any = _asgi_fallback if kind == "asgi" else _wsgi_fallback
    async with _client(kind, app=fallback) as client:
        assert (await client.get("/anything")).text == "app"
        assert (await client.get(DEFAULT_PATH)).json()["keys"][0]["kid"] == "new"


@pytest.mark.anyio
async def test_standalone_asgi_app_answers_lifespan() -> None:
    app = jwks_asgi_app(SETTINGS)
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_document_from_a_keyset_or_a_mapping() -> None:
    keyset = signer(kid="a").keyset
    assert json.loads(JWKSDocument(keyset).body)["keys"][0]["kid"] == "a"
    public = keyset.public_jwks()
    assert JWKSDocument(public).body == JWKSDocument(keyset).body
    with pytest.raises(ConfigurationError, match="private"):
        JWKSDocument({"keys": [kf.ec_private_jwk()]})
    with pytest.raises(ConfigurationError, match="private"):
        JWKSDocument({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
    with pytest.raises(ConfigurationError):
        JWKSDocument(keyset, max_age=-1)
    with pytest.raises(ConfigurationError):
        jwks_asgi_app(keyset, path="jwks.json")


def test_the_document_is_computed_once() -> None:
    document = JWKSDocument(SETTINGS)
    first = document.respond("GET", None)
    assert document.respond("GET", None)[2] is first[2]
    assert document.respond("DELETE", None)[0] == 405
