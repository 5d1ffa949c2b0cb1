"""The middleware behind real servers: uvicorn and hypercorn (ASGI), gunicorn (WSGI).

Each server is started once per module on a free loopback port with its own random secret
(passed as ``JWTMIDDLEWARE_*`` variables, read by ``Settings.from_env()`` in ``tests.apps``),
then spoken to over real HTTP with httpx, and over raw sockets for websocket handshakes.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from jwtmiddleware import Settings
from jwtmiddleware.testing import mint_token
from tests.servers import (
    HOST,
    REPO_ROOT,
    RunningServer,
    free_port,
    gunicorn_argv,
    hypercorn_argv,
    run_server,
    server_env,
    uvicorn_argv,
)

pytestmark = pytest.mark.slow

ASGI_APP = "tests.apps.asgi_echo"
WSGI_APP = "tests.apps.wsgi_echo"
REALM_ONLY = 'Bearer realm="api"'


@dataclass(frozen=True)
class Deployment:
    """A running server and the settings its app was given (to mint tokens it accepts)."""

    name: str
    server: RunningServer
    settings: Settings


def _settings_env() -> dict[str, str]:
    return {
        "JWTMIDDLEWARE_SECRET": secrets.token_urlsafe(32),
        "JWTMIDDLEWARE_ALGORITHMS": "HS256",
        "JWTMIDDLEWARE_ISSUER": "https://issuer.test",
        "JWTMIDDLEWARE_AUDIENCE": "api",
        "JWTMIDDLEWARE_EXEMPT_PATHS": "/health",
        "JWTMIDDLEWARE_COOKIE_NAME_PREFIX": "false",
    }


def _argv(name: str, port: int) -> list[str]:
    if name == "uvicorn":
        return uvicorn_argv(f"{ASGI_APP}:create_app", port)
    if name == "hypercorn":
        return hypercorn_argv(f"{ASGI_APP}:create_app()", port)
    return gunicorn_argv(f"{WSGI_APP}:create_app()", port)


@contextlib.contextmanager
def _deploy(name: str) -> Iterator[Deployment]:
    config = _settings_env()
    port = free_port()
    with run_server(_argv(name, port), port, env=server_env(config)) as server:
        yield Deployment(name, server, Settings.from_env(config))
    # A traceback means the app or the middleware crashed on some request, even if the
    # server answered 500 and a test did not look.
    assert "Traceback" not in server.stderr, f"{name} logged an error:\n{server.stderr}"


@pytest.fixture(scope="module")
def uvicorn_server() -> Iterator[Deployment]:
    with _deploy("uvicorn") as deployment:
        yield deployment


@pytest.fixture(scope="module")
def hypercorn_server() -> Iterator[Deployment]:
    with _deploy("hypercorn") as deployment:
        yield deployment


@pytest.fixture(scope="module")
def gunicorn_server() -> Iterator[Deployment]:
    with _deploy("gunicorn") as deployment:
        yield deployment


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn", "gunicorn"])
def deployment(request: pytest.FixtureRequest) -> Deployment:
    """Every server, ASGI and WSGI."""
    result: Deployment = request.getfixturevalue(f"{request.param}_server")
    return result


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def asgi_deployment(request: pytest.FixtureRequest) -> Deployment:
    """The ASGI servers (the ones that speak websocket)."""
    result: Deployment = request.getfixturevalue(f"{request.param}_server")
    return result


@pytest.fixture
def client(deployment: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=deployment.server.url, timeout=5.0) as http:
        yield http


def _bearer(token: str) -> tuple[str, str]:
    return ("Authorization", f"Bearer {token}")


# -- HTTP ----------------------------------------------------------------------------------


def test_good_token_reaches_the_app_with_its_subject(
    deployment: Deployment, client: httpx.Client
) -> None:
    token = mint_token(deployment.settings, subject="alice")
    response = client.get("/api/me", headers=[_bearer(token)])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"] == "alice"
    assert body["claims"]["iss"] == "https://issuer.test"
    assert body["claims"]["aud"] == "api"


def test_token_in_cookie_is_accepted(deployment: Deployment, client: httpx.Client) -> None:
    token = mint_token(deployment.settings, subject="carol")
    response = client.get("/api/me", headers=[("Cookie", f"theme=dark; access_token={token}")])
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "carol"


def test_the_csrf_origin_check_compares_the_scheme(
    deployment: Deployment, client: httpx.Client
) -> None:
    """Issue 15 over real HTTP: against this plain-http server, a cookie-token POST with the
    right CSRF header passes only from ``http://<host>``, not ``https://`` or ``ftp://``."""
    token = mint_token(deployment.settings, {"csrf": "proof-1"}, subject="alice")
    host = f"{HOST}:{deployment.server.url.rsplit(':', 1)[1]}"
    statuses = {}
    for scheme in ("http", "https", "ftp"):
        headers = [("Cookie", f"access_token={token}"), ("X-CSRF-Token", "proof-1"),
                   ("Origin", f"{scheme}://{host}")]  # fmt: skip
        response = client.post("/api/me", headers=headers)
        statuses[scheme] = response.status_code
        if response.status_code == 403:
            assert response.json()["error"] == "csrf_failed"
    assert statuses == {"http": 200, "https": 403, "ftp": 403}


def test_protected_response_varies_on_the_credentials(
    deployment: Deployment, client: httpx.Client
) -> None:
    token = mint_token(deployment.settings)
    response = client.get("/api/me", headers=[_bearer(token)])
    assert response.status_code == 200
    varies = {v.strip().lower() for v in response.headers.get("vary", "").split(",")}
    assert {"authorization", "cookie"} <= varies


def test_no_token_is_401_with_the_bare_challenge(client: httpx.Client) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers.get_list("www-authenticate") == [REALM_ONLY]
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == "unauthorized"


def test_expired_token_is_401_invalid_token(deployment: Deployment, client: httpx.Client) -> None:
    token = mint_token(deployment.settings, now=time.time() - 3600, ttl=300)
    response = client.get("/api/me", headers=[_bearer(token)])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The access token expired"'
    )
    assert response.json()["error"] == "invalid_token"


def test_token_signed_with_another_secret_is_401(client: httpx.Client) -> None:
    stranger = Settings.from_env(_settings_env())
    response = client.get("/api/me", headers=[_bearer(mint_token(stranger))])
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_two_authorization_headers_are_400(deployment: Deployment, client: httpx.Client) -> None:
    token = mint_token(deployment.settings)
    # Sent as two raw header lines; gunicorn joins them with a comma before WSGI sees them.
    response = client.get("/api/me", headers=[_bearer(token), _bearer(token)])
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


def test_token_in_header_and_cookie_is_400(deployment: Deployment, client: httpx.Client) -> None:
    token = mint_token(deployment.settings)
    response = client.get("/api/me", headers=[_bearer(token), ("Cookie", f"access_token={token}")])
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "name",
    [
        "uvicorn",
        "hypercorn",
        "gunicorn",  # joins repeated Cookie lines with ", "
    ],
)
def test_token_cookie_in_a_second_cookie_line_is_found(
    name: str, request: pytest.FixtureRequest
) -> None:
    # HTTP/2 clients split cookies into several fields; proxies may pass them on as lines.
    deployment: Deployment = request.getfixturevalue(f"{name}_server")
    token = mint_token(deployment.settings, subject="dave")
    with httpx.Client(base_url=deployment.server.url, timeout=5.0) as http:
        response = http.get(
            "/api/me", headers=[("Cookie", "theme=dark"), ("Cookie", f"access_token={token}")]
        )
    assert response.status_code == 200, response.headers.get("www-authenticate")
    assert response.json()["subject"] == "dave"


def test_exempt_health_needs_no_token(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "vary" not in response.headers


# -- websocket (raw HTTP/1.1 Upgrade: the `websockets` client package is not installed) ------

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_TEXT, _OP_CLOSE = 0x1, 0x8


class _RawWebSocket:
    """Just enough RFC 6455 client to open a handshake and read a few server frames."""

    def __init__(self, sock: socket.socket, buffered: bytes) -> None:
        self._sock = sock
        self._buffer = buffered

    def _read_exactly(self, n: int) -> bytes:
        while len(self._buffer) < n:
            chunk = self._sock.recv(4096)
            if not chunk:
                raise ConnectionError("server closed the connection mid-frame")
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def read_frame(self) -> tuple[int, bytes]:
        """``(opcode, payload)`` of the next frame (server frames are unmasked)."""
        first, second = self._read_exactly(2)
        assert second & 0x80 == 0, "a server must not mask its frames"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exactly(8))
        return first & 0x0F, self._read_exactly(length)

    def send_close(self, code: int = 1000) -> None:
        payload = struct.pack("!H", code)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._sock.sendall(bytes([0x80 | _OP_CLOSE, 0x80 | len(payload)]) + mask + masked)


@dataclass
class _Handshake:
    status: int
    headers: dict[str, str]
    websocket: _RawWebSocket


@contextlib.contextmanager
def _ws_connect(port: int, path: str, headers: list[tuple[str, str]]) -> Iterator[_Handshake]:
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers),
    ]
    with socket.create_connection((HOST, port), timeout=5.0) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
        head, _, rest = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        response_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        status = int(status_line.split()[1])
        if status == 101:
            expected = base64.b64encode(
                hashlib.sha1(key.encode() + _WS_GUID, usedforsecurity=False).digest()
            ).decode()
            assert response_headers["sec-websocket-accept"] == expected
        yield _Handshake(status, response_headers, _RawWebSocket(sock, rest))


# Both servers offer the ``websocket.http.response`` extension, so the middleware refuses the
# handshake with its usual 401 (without the extension it could only close, and servers say 403).


def test_websocket_without_token_is_refused(asgi_deployment: Deployment) -> None:
    with _ws_connect(asgi_deployment.server.port, "/ws", []) as handshake:
        assert handshake.status != 101, "the websocket was accepted without credentials"
        assert handshake.status == 401
        assert handshake.headers["www-authenticate"] == REALM_ONLY


def test_websocket_with_expired_token_is_refused(asgi_deployment: Deployment) -> None:
    token = mint_token(asgi_deployment.settings, now=time.time() - 3600)
    with _ws_connect(asgi_deployment.server.port, "/ws", [_bearer(token)]) as handshake:
        assert handshake.status != 101, "the websocket was accepted with an expired token"
        assert handshake.status == 401
        assert 'error="invalid_token"' in handshake.headers["www-authenticate"]


def test_websocket_with_good_token_receives_the_subject(asgi_deployment: Deployment) -> None:
    token = mint_token(asgi_deployment.settings, subject="bob")
    with _ws_connect(asgi_deployment.server.port, "/ws", [_bearer(token)]) as handshake:
        assert handshake.status == 101
        assert handshake.websocket.read_frame() == (_OP_TEXT, b"bob")
        opcode, payload = handshake.websocket.read_frame()
        assert opcode == _OP_CLOSE
        assert payload[:2] == struct.pack("!H", 1000)
        handshake.websocket.send_close()


# -- the benchmark scripts must keep running ------------------------------------------------

BENCHMARK_CONFIGURATIONS = [
    "bare ASGI app",
    *(f"JWTMiddleware {alg} {kind}" for alg in ("HS256", "RS256", "ES256", "EdDSA")
      for kind in ("hit", "miss")),
    "JWTMiddleware HS256 miss [stdlib json]",
    "Starlette AuthenticationMiddleware + PyJWT HS256",
    *(f"signature check {alg}" for alg in ("HS256", "RS256", "ES256", "EdDSA")),
    *(f"jwt.decode {alg}" for alg in ("HS256", "RS256", "ES256", "EdDSA")),
    "bare WSGI app",
    *(f"JWTWSGIMiddleware {alg} {kind}" for alg in ("HS256", "RS256", "ES256", "EdDSA")
      for kind in ("hit", "miss")),
    "bare Flask route",
    "Flask + flask_jwtmiddleware @jwt_required",
    "JWTMiddleware, no store",
    "JWTMiddleware, memory mirror",
    "JWTMiddleware, sqlite mirror",
    "JWTMiddleware, sqlite STORE_MAX_LAG=0",
    "JWTWSGIMiddleware, sqlite mirror",
    "JWTMiddleware HS256 (cache hit)",
]  # fmt: skip


def _run_benchmark(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks/<script>`` with ``args``; it must exit 0."""
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env=server_env(),
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.timeout(300)
def test_benchmark_script_quick(tmp_path: Path) -> None:
    """Every benchmark script, in its quick mode, through ``report.py`` (numbers unchecked)."""
    done = _run_benchmark("report.py", "--quick", "--out", str(tmp_path), timeout=240)
    rows = {
        cells[1].strip()
        for line in done.stdout.splitlines()
        if line.startswith("|") and len(cells := line.split("|")) > 2
    }
    missing = [name for name in BENCHMARK_CONFIGURATIONS if name not in rows]
    assert not missing, f"no table row for {missing}:\n{done.stdout}"
    results = (tmp_path / "results.md").read_text("utf-8")
    for section in (
        "## Machine",
        "## Targets",
        "## In process",
        "## Revocation check",
        "## Over a real server",
        "## Memory",
        "## Where the time goes",
    ):
        assert section in results, section
    assert (tmp_path / "results.json").is_file()
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_instruction_count_script_quick(tmp_path: Path) -> None:
    """``bench_instructions.py --quick`` counts a bare app and a cache hit under callgrind, and
    the hit executes more instructions than the bare app (the counting window is the loop)."""
    out = tmp_path / "instructions.json"
    _run_benchmark("bench_instructions.py", "--quick", "--json", str(out), timeout=280)
    rows = {row["name"]: row for row in json.loads(out.read_text("utf-8"))["results"]}
    bare, hit = rows["bare ASGI app"], rows["JWTMiddleware HS256 hit"]
    assert 1_000 < bare["instructions"] < hit["instructions"] < 1_000_000
    assert abs(hit["added"] - (hit["instructions"] - bare["instructions"])) <= 1
