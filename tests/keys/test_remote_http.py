"""The remote key cache against real loopback HTTP servers: failures, limits, refreshers.

Every test counts the requests the server saw (bounded outbound requests), times the slow
cases (bounded latency) and checks that no token is accepted without a trusted key.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from jwtmiddleware import InvalidSignature, Settings, Verifier
from jwtmiddleware.keysets import (
    FetchNeeded,
    KeyFetchError,
    RemoteKeySetCache,
    RemoteKeysRefresher,
    adiscover_jwks_uri,
    aperform,
    discover_jwks_uri,
    fetch_async,
    fetch_sync,
    perform,
)
from jwtmiddleware.testing import FrozenClock, mint_token
from tests.servers import free_port

from .jwks_server import JWKSServer, Reply, huge, jwks_reply, serve, slow, trickle
from .material import jwks_of, signer

A, B = signer(kid="a"), signer(kid="b")
DUPLICATE_A = signer(kid="a")


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "jwtmiddleware")


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with serve() as running:
        running.route("/jwks", jwks_reply(jwks_of(A)))
        yield running


def _cache(url: str, **options: Any) -> RemoteKeySetCache:
    options.setdefault("timeout", 1.0)
    return RemoteKeySetCache(url, algorithms=["ES256"], allow_http_loopback=True, **options)


def verify(cache: RemoteKeySetCache, token: str, clock: FrozenClock) -> str:
    """What an integration does per request: look up, fetch when needed, verify, or refuse."""
    from jwtmiddleware.core.verifier import b64decode

    header = json.loads(b64decode(token.split(".")[0]))
    candidates, fetch = cache.lookup(header["alg"], header.get("kid"), clock())
    if fetch is not None:
        perform(cache, fetch, clock=clock)
        candidates, _ = cache.lookup(header["alg"], header.get("kid"), clock())
    if not candidates or cache.document is None:
        raise InvalidSignature("no trusted key")
    settings = Settings(keys=[cache.document], algorithms=["ES256"], token_type=None)
    return str(Verifier(settings).verify(token, clock()).claims["sub"])


def _token(settings: Settings, clock: FrozenClock) -> str:
    return mint_token(settings, now=clock(), ttl=80_000)


def test_a_warm_cache_verifies_without_further_requests(server: JWKSServer) -> None:
    clock = FrozenClock(time.time())
    cache = _cache(server.url + "/jwks")
    token = _token(A, clock)
    for _ in range(20):
        assert verify(cache, token, clock) == "user-1"
    assert server.hits["/jwks"] == 1


def test_server_down_at_start_refuses_tokens_with_bounded_attempts() -> None:
    url = f"http://127.0.0.1:{free_port()}/jwks"  # nothing listens there
    clock = FrozenClock(time.time())
    cache = _cache(url, refetch_cooldown=30)
    token = _token(A, clock)
    started = time.monotonic()
    attempts = 0
    for _ in range(100):
        with pytest.raises(InvalidSignature):
            verify(cache, token, clock)
        clock.advance(0.1)
    attempts = cache.fetches
    assert time.monotonic() - started < 5
    # 10 s of requests: back-off 1, 2, 4, 8 s allows at most 5 attempts.
    assert attempts <= 5
    assert "ConnectionRefusedError" in (cache.last_error or "")


def test_server_down_after_a_warm_cache_stale_then_refused() -> None:
    clock = FrozenClock(time.time())
    token = _token(A, clock)
    with serve() as running:
        running.route("/jwks", jwks_reply(jwks_of(A), max_age=60))
        cache = _cache(running.url + "/jwks", cache_ttl=60, max_stale=600, refetch_cooldown=30)
        assert verify(cache, token, clock) == "user-1"
    # The server is gone now. Stale-if-error keeps the set for max_stale past expiry.
    while clock() + 10 < cache.expires_at + 600:
        clock.advance(10)
        assert verify(cache, token, clock) == "user-1"
    clock.advance(10)
    with pytest.raises(InvalidSignature):
        verify(cache, token, clock)
    # One initial fetch, the back-off ramp (1, 2, 4, 8, 16 s), then one per 30 s cooldown.
    assert cache.fetches <= 1 + 5 + 600 / 30


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(500, b"boom"), "HTTP 500"),
        (Reply(200, b"{this is not json"), "not valid JSON"),
        (Reply(302, b"", {"Location": "file:///etc/passwd"}), "redirects are not followed"),
        (Reply(301, b"", {"Location": "https://elsewhere.example/jwks"}), "redirects"),
        (jwks_reply(jwks_of(A, DUPLICATE_A)), "duplicate kid"),
        (huge(10 * 1024 * 1024, length=True), "Content-Length"),
        (huge(10 * 1024 * 1024, length=False), "over 524288 bytes"),
    ],
)
def test_a_bad_refetch_keeps_the_last_good_set(reply: Reply, error: str) -> None:
    clock = FrozenClock(time.time())
    with serve() as running:
        running.route("/jwks", jwks_reply(jwks_of(A), max_age=60))
        cache = _cache(running.url + "/jwks", cache_ttl=60)
        token = _token(A, clock)
        assert verify(cache, token, clock) == "user-1"
        running.route("/jwks", reply)
        clock.advance(61)
        started = time.monotonic()
        assert verify(cache, token, clock) == "user-1"  # stale but still trusted
        assert time.monotonic() - started < 2
        assert error in (cache.last_error or ""), cache.last_error
        # A forged token naming an unknown kid is still refused, and the next attempt waits.
        forged = _token(signer(kid="x"), clock)
        with pytest.raises(InvalidSignature):
            verify(cache, forged, clock)
        assert running.hits["/jwks"] == 2


@pytest.mark.parametrize("length", [True, False])
def test_a_10_mb_body_is_refused_after_reading_at_most_the_cap(
    monkeypatch: pytest.MonkeyPatch, length: bool
) -> None:
    import http.client

    read = 0
    original = http.client.HTTPResponse.read1

    def counting_read1(self: http.client.HTTPResponse, n: int = -1) -> bytes:
        nonlocal read
        chunk = original(self, n)
        read += len(chunk)
        return chunk

    monkeypatch.setattr(http.client.HTTPResponse, "read1", counting_read1)
    with serve() as running:
        running.route("/jwks", huge(10 * 1024 * 1024, length=length))
        request = FetchNeeded(running.url + "/jwks", "initial", (), 5.0, 512 * 1024)
        with pytest.raises(KeyFetchError, match="Content-Length" if length else "over 524288"):
            fetch_sync(request)
    # Content-Length refuses before reading; without it, reading stops one chunk past the cap.
    assert read == 0 if length else 512 * 1024 < read <= 512 * 1024 + 64 * 1024


@pytest.mark.parametrize("reply", [slow(5), trickle(0.05)])
def test_a_slow_server_costs_at_most_the_timeout(reply: Reply) -> None:
    with serve() as running:
        running.route("/jwks", reply)
        request = FetchNeeded(running.url + "/jwks", "initial", (), 0.5, 512 * 1024)
        started = time.monotonic()
        with pytest.raises(KeyFetchError, match=r"within 0\.5 s"):
            fetch_sync(request)
        assert time.monotonic() - started < 0.9


def test_max_age_from_the_server_is_honoured(server: JWKSServer) -> None:
    server.route("/jwks", jwks_reply(jwks_of(A), max_age=120))
    clock = FrozenClock(time.time())
    cache = _cache(server.url + "/jwks", cache_ttl=600)
    token = _token(A, clock)
    verify(cache, token, clock)
    assert cache.expires_at == pytest.approx(clock() + 120)
    clock.advance(119)
    verify(cache, token, clock)
    assert server.hits["/jwks"] == 1
    clock.advance(2)
    verify(cache, token, clock)
    assert server.hits["/jwks"] == 2


def test_unknown_kids_refetch_once_per_cooldown_counted_at_the_server(server: JWKSServer) -> None:
    clock = FrozenClock(time.time())
    cache = _cache(server.url + "/jwks", refetch_cooldown=30)
    verify(cache, _token(A, clock), clock)
    clock.advance(30)
    server.route("/jwks", jwks_reply(jwks_of(A, B)))
    # A rotation: the first token with the new kid triggers one refetch and verifies.
    assert verify(cache, _token(B, clock), clock) == "user-1"
    # A flood of tokens with random kids: no more requests until the cooldown passes.
    for i in range(200):
        with pytest.raises(InvalidSignature):
            verify(cache, _token(signer(kid=f"forged-{i % 3}"), clock), clock)
        clock.advance(0.1)
    assert server.hits["/jwks"] == 2
    clock.advance(10.5)
    with pytest.raises(InvalidSignature):
        verify(cache, _token(signer(kid="forged"), clock), clock)
    assert server.hits["/jwks"] == 3


def test_fetch_sync_returns_statuses_and_never_follows_redirects(server: JWKSServer) -> None:
    server.route("/moved", Reply(302, b"", {"Location": "/jwks"}))
    request = FetchNeeded(server.url + "/moved", "initial", (), 1.0, 1024)
    status, headers, body = fetch_sync(request)
    assert (status, headers["location"], body) == (302, "/jwks", b"")
    assert server.hits == {"/moved": 1}


@pytest.mark.anyio
async def test_fetch_async_and_aperform(server: JWKSServer) -> None:
    cache = _cache(server.url + "/jwks")
    _, fetch = cache.lookup("ES256", "a", time.time())
    assert fetch is not None
    status, _, body = await fetch_async(fetch)
    assert status == 200
    assert json.loads(body)["keys"][0]["kid"] == "a"
    cache.on_failure(time.time())
    fetch = cache.lookup("ES256", "a", time.time() + 2)[1]
    assert fetch is not None
    assert await aperform(cache, fetch)
    assert cache.keyset is not None


def test_refresher_thread_refreshes_before_expiry(server: JWKSServer) -> None:
    cache = _cache(server.url + "/jwks", cache_ttl=1, min_ttl=0.4)
    with RemoteKeysRefresher(cache) as refresher:
        assert refresher.start(wait=5)
        server.route("/jwks", jwks_reply(jwks_of(A, B)))
        deadline = time.monotonic() + 5
        while cache.keyset is not None and cache.keyset.key("b") is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # The request path never had to fetch: the set was fresh all along.
        assert cache.lookup("ES256", "b", time.time())[1] is None
    hits = server.hits["/jwks"]
    time.sleep(0.3)
    assert server.hits["/jwks"] == hits  # stopped means stopped


def test_refresher_start_reports_a_server_that_is_down() -> None:
    cache = _cache(f"http://127.0.0.1:{free_port()}/jwks")
    refresher = RemoteKeysRefresher(cache)
    try:
        assert refresher.start(wait=5) is False
        assert cache.last_error is not None
    finally:
        refresher.stop()


@pytest.mark.anyio
async def test_refresher_as_an_anyio_task(server: JWKSServer) -> None:
    cache = _cache(server.url + "/jwks", cache_ttl=1, min_ttl=0.4)
    async with anyio.create_task_group() as tg:
        tg.start_soon(RemoteKeysRefresher(cache).run)
        with anyio.fail_after(5):
            while server.hits["/jwks"] < 3:
                await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
    assert cache.keyset is not None
    assert cache.last_error is None


def _configuration(issuer: str, jwks_uri: str) -> Reply:
    body = json.dumps({"issuer": issuer, "jwks_uri": jwks_uri}).encode()
    return Reply(200, body, {"Content-Type": "application/json"})


def test_oidc_discovery(server: JWKSServer) -> None:
    issuer = server.url + "/realms/demo"
    path = "/realms/demo/.well-known/openid-configuration"
    server.route(path, _configuration(issuer, server.url + "/jwks"))
    assert discover_jwks_uri(issuer, allow_http_loopback=True) == server.url + "/jwks"
    server.route(path, _configuration("https://evil.example", server.url + "/jwks"))
    with pytest.raises(KeyFetchError, match="another issuer"):
        discover_jwks_uri(issuer, allow_http_loopback=True)
    server.route(path, _configuration(issuer, "http://idp.example/jwks"))
    with pytest.raises(KeyFetchError, match="jwks_uri refused"):
        discover_jwks_uri(issuer, allow_http_loopback=True)
    server.route(path, Reply(302, b"", {"Location": "/elsewhere"}))
    with pytest.raises(KeyFetchError, match="redirects"):
        discover_jwks_uri(issuer, allow_http_loopback=True)
    from jwtmiddleware import ConfigurationError

    with pytest.raises(ConfigurationError, match="plain http is refused"):
        discover_jwks_uri(issuer)


@pytest.mark.anyio
async def test_async_oidc_discovery(server: JWKSServer) -> None:
    issuer = server.url
    server.route("/.well-known/openid-configuration", _configuration(issuer, issuer + "/jwks"))
    assert await adiscover_jwks_uri(issuer, allow_http_loopback=True) == issuer + "/jwks"


def test_https_certificates_are_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    with serve(tls=context) as running:
        running.route("/jwks", jwks_reply(jwks_of(A)))
        url = running.url.replace("http://", "https://") + "/jwks"
        cache = RemoteKeySetCache(url, algorithms=["ES256"], timeout=2)  # https: no opt-in
        _, fetch = cache.lookup("ES256", "a", time.time())
        assert fetch is not None
        assert not perform(cache, fetch)
        # A self-signed certificate is not trusted: the TLS handshake fails, nothing is fetched.
        assert "CERTIFICATE_VERIFY_FAILED" in (cache.last_error or ""), cache.last_error
        assert cache.keyset is None
        # Trusted (as if issued by a known CA), the same fetch succeeds over https.
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        fetch = cache.lookup("ES256", "a", time.time() + 2)[1]
        assert fetch is not None
        assert perform(cache, fetch), cache.last_error
        assert cache.candidates("ES256", "a", time.time())
