"""examples/sso on loopback: one login works on an ASGI and a WSGI app; rotation never fails.

The auth service (uvicorn), app A (uvicorn, Starlette) and app B (gunicorn, plain WSGI) run as
real processes on free ports. Plain http is allowed for the apps' JWKS fetches only through
the explicit ``SSO_ALLOW_HTTP_LOOPBACK=1`` option of the example.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import (
    HOST,
    REPO_ROOT,
    RunningServer,
    free_port,
    gunicorn_argv,
    run_server,
    server_env,
    uvicorn_argv,
)

pytestmark = pytest.mark.slow

SSO = REPO_ROOT / "examples" / "sso"
JWKS_PATH = "/.well-known/jwks.json"
AUDIENCE = "sso-demo-apps"


@dataclass
class SSO_:
    auth: RunningServer
    app_a: RunningServer
    app_b: RunningServer
    keys_file: Path

    def login(self, username: str = "alice", password: str = "wonderland") -> httpx.Response:
        body = {"username": username, "password": password}
        return httpx.post(self.auth.url + "/token", json=body, timeout=10)

    def token(self) -> str:
        response = self.login()
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def me(self, app: RunningServer, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(app.url + "/me", headers=headers, timeout=10)

    def jwks_kids(self) -> list[str]:
        response = httpx.get(self.auth.url + JWKS_PATH, timeout=10)
        return [k["kid"] for k in response.json()["keys"]]


def _keygen(directory: Path, kid: str) -> None:
    out = directory / f"{kid}.pem"
    argv = [sys.executable, "-m", "jwtmiddleware", "keygen", "--alg", "ES256", "--kid", kid]
    result = subprocess.run(
        [*argv, "--out", str(out)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kid"] == kid


def _write_keys(path: Path, statuses: dict[str, str]) -> None:
    """Replace the auth service's keys file atomically (the service re-reads it)."""
    specs = [{"key": f"{kid}.pem", "kid": kid, "alg": "ES256", "status": status}
             for kid, status in statuses.items()]  # fmt: skip
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(specs))
    os.replace(scratch, path)


def _kid(token: str) -> str:
    segment = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["kid"])


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSO_]:
    keys = tmp_path_factory.mktemp("sso-keys")
    _keygen(keys, "k1")
    keys_file = keys / "keys.json"
    _write_keys(keys_file, {"k1": "active"})
    auth_port, a_port, b_port = free_port(), free_port(), free_port()
    issuer = f"http://{HOST}:{auth_port}"
    auth_env = server_env(
        SSO_KEYS_FILE=str(keys_file),
        SSO_ISSUER=issuer,
        SSO_AUDIENCE=AUDIENCE,
        SSO_JWKS_MAX_AGE="1",
    )
    app_env = server_env(
        JWTMIDDLEWARE_JWKS_URL=issuer + JWKS_PATH,
        JWTMIDDLEWARE_ISSUER=issuer,
        JWTMIDDLEWARE_AUDIENCE=AUDIENCE,
        JWTMIDDLEWARE_ALGORITHMS="ES256",
        JWTMIDDLEWARE_EXEMPT_PATHS="/health",
        JWTMIDDLEWARE_REALM="sso-demo",
        JWTMIDDLEWARE_JWKS_ALLOW_HTTP_LOOPBACK="1",  # loopback http for this test only
        JWTMIDDLEWARE_JWKS_CACHE_TTL="1",
        JWTMIDDLEWARE_JWKS_REFETCH_COOLDOWN="0.5",
        JWTMIDDLEWARE_JWKS_MAX_STALE="60",
    )
    auth_argv = uvicorn_argv("auth_service:create_app", auth_port, "--app-dir", str(SSO))
    a_argv = uvicorn_argv("app_a:create_app", a_port, "--app-dir", str(SSO))
    b_argv = gunicorn_argv("app_b:create_app()", b_port, "--pythonpath", str(SSO))
    with (
        run_server(auth_argv, auth_port, env=auth_env) as auth,
        run_server(a_argv, a_port, env=app_env) as app_a,
        run_server(b_argv, b_port, env=app_env) as app_b,
    ):
        yield SSO_(auth, app_a, app_b, keys_file)


def test_one_login_works_on_the_asgi_and_the_wsgi_app(sso: SSO_) -> None:
    token = sso.token()
    for name, app in (("A", sso.app_a), ("B", sso.app_b)):
        response = sso.me(app, token)
        assert response.status_code == 200, (name, response.text)
        assert response.json()["app"] == name
        assert response.json()["subject"] == "alice"
        assert response.json()["claims"]["aud"] == AUDIENCE


def test_the_apps_refuse_what_the_auth_service_did_not_sign(sso: SSO_) -> None:
    assert sso.login(password="guess").status_code == 401
    token = sso.token()
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "mallory"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    for app in (sso.app_a, sso.app_b):
        missing = sso.me(app, None)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="sso-demo"'
        forged = sso.me(app, f"{head}.{forged_body}.{signature}")
        assert forged.status_code == 401
        assert 'error="invalid_token"' in forged.headers["www-authenticate"]
        assert sso.me(app, "not-a-token").status_code == 401
        assert httpx.get(app.url + "/health", timeout=10).status_code == 200


def _hammer(sso: SSO_, tokens: list[str], seconds: float) -> list[str]:
    """Requests with every token on both apps from 4 threads; the failures, if any."""
    failures: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> int:
        done = 0
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < stop:
                for token in tokens:
                    for app in (sso.app_a, sso.app_b):
                        response = client.get(
                            app.url + "/me", headers={"Authorization": f"Bearer {token}"}
                        )
                        done += 1
                        if response.status_code != 200:
                            with lock:
                                failures.append(f"{app.url} kid={_kid(token)}: {response.text}")
        return done

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: worker(), range(4)))
    assert sum(counts) > 20
    return failures


def _wait_refused(sso: SSO_, token: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    for app in (sso.app_a, sso.app_b):
        while sso.me(app, token).status_code != 401:
            assert time.monotonic() < deadline, f"{app.url} still accepts a retired key"
            time.sleep(0.1)


def test_key_rotation_without_a_failed_request(sso: SSO_) -> None:
    old = sso.token()
    assert _kid(old) == "k1"
    assert sso.jwks_kids() == ["k1"]
    assert _hammer(sso, [old], 1.0) == []

    # 1. A new active key; the old one verifies only. New tokens carry the new kid; the apps
    #    fetch the JWKS again on first sight of it, and old tokens keep working throughout.
    _keygen(sso.keys_file.parent, "k2")
    _write_keys(sso.keys_file, {"k2": "active", "k1": "verify-only"})
    new = sso.token()
    assert _kid(new) == "k2"
    assert sso.jwks_kids() == ["k2", "k1"]
    assert _hammer(sso, [new, old], 3.0) == []  # across several 1 s cache expiries

    # 2. The old key retires: gone from the JWKS, refused once the apps' copies expire, while
    #    tokens of the active key never fail.
    _write_keys(sso.keys_file, {"k2": "active", "k1": "retired"})
    newer = sso.token()
    assert sso.jwks_kids() == ["k2"]
    results: list[list[str]] = []
    hammering = threading.Thread(target=lambda: results.append(_hammer(sso, [new, newer], 3.0)))
    hammering.start()
    try:
        _wait_refused(sso, old)
    finally:
        hammering.join()
    assert results == [[]]
    for app in (sso.app_a, sso.app_b):
        assert sso.me(app, old).status_code == 401
        assert sso.me(app, newer).status_code == 200


def test_the_published_jwks_is_cacheable_and_public_only(sso: SSO_) -> None:
    response = httpx.get(sso.auth.url + JWKS_PATH, timeout=10)
    assert response.headers["content-type"] == "application/jwk-set+json"
    assert response.headers["cache-control"] == "public, max-age=1"
    again = httpx.get(
        sso.auth.url + JWKS_PATH, headers={"If-None-Match": response.headers["etag"]}, timeout=10
    )
    assert again.status_code == 304
    keys: list[dict[str, Any]] = response.json()["keys"]
    assert keys
    assert all("d" not in k and k["use"] == "sig" for k in keys)
