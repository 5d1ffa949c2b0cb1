"""The recipes in ``examples/`` for frameworks without an adapter, each under a real server on
a free loopback port: Litestar, Falcon (WSGI and ASGI), Sanic (ASGI mode), Pyramid and Bottle.

Every recipe serves the same small API (``/health``, ``POST /auth/login``, ``GET /api/me``
needing the scope ``profile``, ``POST /auth/logout``), so one set of tests drives them all: the
framework reads the identity the middleware verified in its own idiom, refusals are RFC 6750,
and a logged-out token stops working (the revocation store is shared by the middleware and the
login view). One server per recipe, started once for the module.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import (
    HOST,
    RunningServer,
    free_port,
    gunicorn_argv,
    run_server,
    server_env,
)

pytestmark = pytest.mark.slow


def _uvicorn(factory: str) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        return [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", HOST,
                "--port", str(port), "--no-access-log", "--lifespan", "on"]  # fmt: skip

    return argv


def _gunicorn(app: str) -> Callable[[int], list[str]]:
    return lambda port: gunicorn_argv(app, port)


#: recipe -> how to start it on a port
RECIPES: dict[str, Callable[[int], list[str]]] = {
    "falcon-wsgi": _gunicorn("examples.falcon_app:create_wsgi_app()"),
    "falcon-asgi": _uvicorn("examples.falcon_app:create_asgi_app"),
    "litestar": _uvicorn("examples.litestar_app:create_app"),
    "sanic": _uvicorn("examples.sanic_app:create_app"),
    "pyramid": _gunicorn("examples.pyramid_app:create_app()"),
    "bottle": _gunicorn("examples.bottle_app:create_app()"),
}


@pytest.fixture(scope="module", params=sorted(RECIPES))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    name: str = request.param
    store: Path = tmp_path_factory.mktemp(name) / "sessions.db"
    env = server_env({"JWTMIDDLEWARE_SECRET": secrets.token_urlsafe(48),
                      "JWTMIDDLEWARE_STORE": f"sqlite:///{store}"})  # fmt: skip
    port = free_port()
    with run_server(RECIPES[name](port), port, env=env) as running:
        yield running
    assert "Traceback" not in running.stderr, f"{name} logged an error:\n{running.stderr}"


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        yield client


def send(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request without the client's cookie jar (tokens go in headers here)."""
    http.cookies.clear()
    response = http.request(method, path, **kwargs)
    http.cookies.clear()
    return response


def login(http: httpx.Client, username: str = "alice") -> dict[str, Any]:
    response = send(http, "POST", "/auth/login",
                    json={"username": username, "password": f"{username}-password"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert set(body) == {"access_token", "refresh_token", "csrf_token", "expires_in", "token_type"}
    assert len(response.headers.get_list("set-cookie")) == 3
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_needs_no_token(http: httpx.Client) -> None:
    response = send(http, "GET", "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_wrong_password(http: httpx.Client) -> None:
    for body in ({"username": "alice", "password": "guess"}, {"username": "eve"}, ["x"]):
        response = send(http, "POST", "/auth/login", json=body)
        assert response.status_code == 401, body
        assert response.json()["error"] == "invalid_grant"
        assert "set-cookie" not in response.headers


def test_the_framework_sees_the_identity(http: httpx.Client) -> None:
    tokens = login(http)
    response = send(http, "GET", "/api/me", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"subject": "alice", "scopes": ["profile"]}
    assert "Authorization" in response.headers.get("vary", "")


def test_refusals_are_rfc6750(http: httpx.Client) -> None:
    anonymous = send(http, "GET", "/api/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="api"'
    garbage = send(http, "GET", "/api/me", headers=bearer("a.b.c"))
    assert garbage.status_code == 401
    assert 'error="invalid_token"' in garbage.headers["www-authenticate"]
    bob = login(http, "bob")
    refused = send(http, "GET", "/api/me", headers=bearer(bob["access_token"]))
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"].endswith('scope="profile"')
    assert refused.json()["error"] == "insufficient_scope"


def test_logout_revokes_the_token(http: httpx.Client) -> None:
    tokens = login(http)
    auth = bearer(tokens["access_token"])
    assert send(http, "GET", "/api/me", headers=auth).status_code == 200
    logout = send(http, "POST", "/auth/logout", headers=auth)
    assert logout.status_code == 204, logout.text
    assert all("Max-Age=0" in c for c in logout.headers.get_list("set-cookie"))
    again = send(http, "GET", "/api/me", headers=auth)
    assert again.status_code == 401
    assert 'error="invalid_token"' in again.headers["www-authenticate"]
