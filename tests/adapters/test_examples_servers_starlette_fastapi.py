"""``examples/starlette_app.py`` and ``examples/fastapi_app.py`` under uvicorn, over real HTTP.

Each example runs in its own uvicorn process on a free loopback port with a fresh secret and its
own SQLite store, and both are driven through the same flow with the same expectations:
login, call, refresh, logout, and reuse of the logged-out tokens failing. Cookies stay
``Secure`` (``__Host-``/``__Secure-`` prefixed): the tests read them from ``Set-Cookie`` and
send them back by hand in a ``Cookie`` header, as a browser would over https.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import REPO_ROOT, RunningServer, free_port, run_server, server_env, uvicorn_argv

pytestmark = pytest.mark.slow

EXAMPLES = {
    "starlette": "examples.starlette_app:create_app",
    "fastapi": "examples.fastapi_app:create_app",
}
ACCESS, REFRESH, CSRF = "__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"
ALICE = {"username": "alice", "password": "alice-password"}


def _pythonpath() -> str:
    """The repository (for ``examples``) and ``adapters/`` (for ``starlette_jwtmiddleware``)."""
    parts = [str(REPO_ROOT), str(REPO_ROOT / "adapters"), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(p for p in parts if p)


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[RunningServer]:  # fmt: skip
    name: str = request.param
    store: Path = tmp_path_factory.mktemp(name) / "sessions.db"
    settings = {
        "JWTMIDDLEWARE_SECRET": secrets.token_urlsafe(48),
        "JWTMIDDLEWARE_STORE": f"sqlite:///{store}",
    }
    port = free_port()
    env = server_env(settings, PYTHONPATH=_pythonpath())
    with run_server(uvicorn_argv(EXAMPLES[name], port), port, env=env) as running:
        yield running
    assert "Traceback" not in running.stderr, f"{name} logged an error:\n{running.stderr}"


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        yield client


def send(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request that neither keeps nor sends the client's cookie jar."""
    http.cookies.clear()
    response = http.request(method, path, **kwargs)
    http.cookies.clear()
    return response


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """``{name: full Set-Cookie value}``."""
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


def cookie_pair(set_cookie: str) -> str:
    """``name=value`` of a ``Set-Cookie`` value, for a ``Cookie`` header."""
    return set_cookie.split(";", 1)[0]


def refresh_cookies_after(jar: dict[str, str]) -> str:
    """What a browser sends to ``/auth/refresh``: the refresh and CSRF cookies."""
    return f"{jar[REFRESH]}; {jar[CSRF]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(http: httpx.Client, credentials: dict[str, str] = ALICE) -> httpx.Response:
    response = send(http, "POST", "/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    return response


def test_health_needs_no_token(http: httpx.Client) -> None:
    response = send(http, "GET", "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_wrong_password(http: httpx.Client) -> None:
    response = send(http, "POST", "/auth/login", json={**ALICE, "password": "guess"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_grant"


def test_login_answer_and_cookies(http: httpx.Client) -> None:
    response = login(http)
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 900
    cookies = set_cookies(response)
    assert set(cookies) == {ACCESS, REFRESH, CSRF}
    for value in cookies.values():
        assert "; Secure" in value
        assert "; SameSite=Lax" in value
    assert cookie_pair(cookies[ACCESS]) == f"{ACCESS}={body['access_token']}"
    assert "; HttpOnly" in cookies[ACCESS]
    assert "; Path=/;" in cookies[ACCESS] + ";"
    assert "; Path=/auth/refresh" in cookies[REFRESH]
    assert "; HttpOnly" in cookies[REFRESH]
    assert "HttpOnly" not in cookies[CSRF]


def test_missing_token_and_missing_scope(http: httpx.Client) -> None:
    anonymous = send(http, "GET", "/api/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="api"'
    bob = login(http, {"username": "bob", "password": "bob-password"}).json()
    refused = send(http, "GET", "/api/me", headers=bearer(bob["access_token"]))
    assert refused.status_code == 403
    challenge = refused.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert challenge.endswith('scope="profile"')
    assert refused.json() == {
        "error": "insufficient_scope",
        "error_description": "The access token does not grant the required scope",
    }


def test_cookie_flow_login_call_refresh_logout_reuse(http: httpx.Client) -> None:
    first = login(http)
    jar = {name: cookie_pair(value) for name, value in set_cookies(first).items()}
    csrf_token = first.json()["csrf_token"]
    assert jar[CSRF] == f"{CSRF}={csrf_token}"

    me = send(http, "GET", "/api/me", headers={"Cookie": jar[ACCESS]})
    assert me.status_code == 200
    assert me.json()["subject"] == "alice"
    assert me.headers["vary"] == "Authorization, Cookie"

    # The browser sends the refresh cookie only to /auth/refresh, with the CSRF cookie.
    refresh_cookies = refresh_cookies_after(jar)
    no_proof = send(http, "POST", "/auth/refresh", headers={"Cookie": refresh_cookies})
    assert no_proof.status_code == 403
    refreshed = send(http, "POST", "/auth/refresh",
                     headers={"Cookie": refresh_cookies, "X-CSRF-Token": csrf_token})  # fmt: skip
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.headers["cache-control"] == "no-store"
    assert set(refreshed.json()) == {"token_type", "expires_in", "csrf_token"}  # cookies only
    jar.update({name: cookie_pair(value) for name, value in set_cookies(refreshed).items()})
    assert jar[ACCESS] != f"{ACCESS}={first.json()['access_token']}"
    assert send(http, "GET", "/api/me", headers={"Cookie": jar[ACCESS]}).status_code == 200

    sessions = send(http, "GET", "/auth/sessions", headers={"Cookie": jar[ACCESS]})
    assert sessions.status_code == 200
    assert sum(s["current"] for s in sessions.json()["sessions"]) == 1

    cookie = f"{jar[ACCESS]}; {jar[CSRF]}"
    assert send(http, "POST", "/auth/logout", headers={"Cookie": cookie}).status_code == 403
    out = send(http, "POST", "/auth/logout", headers={"Cookie": cookie, "X-CSRF-Token": csrf_token})
    assert out.status_code == 204
    cleared = set_cookies(out)
    assert set(cleared) == {ACCESS, REFRESH, CSRF}
    assert all("Max-Age=0" in value for value in cleared.values())

    # Reuse of the logged-out tokens fails: the access cookie and the refresh cookie.
    replay = send(http, "GET", "/api/me", headers={"Cookie": jar[ACCESS]})
    assert replay.status_code == 401
    assert 'error="invalid_token"' in replay.headers["www-authenticate"]
    dead = send(http, "POST", "/auth/refresh", headers={"Cookie": refresh_cookies_after(jar),
                                                        "X-CSRF-Token": csrf_token})  # fmt: skip
    assert dead.status_code == 401
    assert set(set_cookies(dead)) == {ACCESS, REFRESH, CSRF}  # cleared


def test_bearer_flow_login_call_refresh_logout_reuse(http: httpx.Client) -> None:
    pair = login(http).json()
    assert send(http, "GET", "/api/me", headers=bearer(pair["access_token"])).status_code == 200
    refreshed = send(http, "POST", "/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert send(http, "GET", "/api/me", headers=bearer(new["access_token"])).status_code == 200
    out = send(http, "POST", "/auth/logout", headers=bearer(new["access_token"]))
    assert out.status_code == 204
    for access in (pair["access_token"], new["access_token"]):
        replay = send(http, "GET", "/api/me", headers=bearer(access))
        assert replay.status_code == 401
    dead = send(http, "POST", "/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert dead.status_code == 401
    assert dead.json()["error"] == "invalid_token"


def test_logout_everywhere(http: httpx.Client) -> None:
    phone, laptop = login(http).json(), login(http).json()
    listed = send(http, "GET", "/auth/sessions", headers=bearer(laptop["access_token"]))
    assert len(listed.json()["sessions"]) >= 2
    ended = send(http, "POST", "/auth/logout-all", headers=bearer(phone["access_token"]))
    assert ended.status_code == 200
    assert ended.json()["sessions_ended"] >= 2
    for pair in (phone, laptop):
        assert send(http, "GET", "/api/me", headers=bearer(pair["access_token"])).status_code == 401
        again = send(http, "POST", "/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert again.status_code == 401


@pytest.mark.parametrize("server", ["fastapi"], indirect=True)
def test_fastapi_openapi_document(http: httpx.Client) -> None:
    schema = send(http, "GET", "/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    paths = schema["paths"]
    assert paths["/api/me"]["get"]["security"] == [{"bearerAuth": ["profile"]}]
    assert paths["/auth/sessions"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in paths["/auth/login"]["post"]
    # auth.install(app) exempts the documentation pages: no EXEMPT_PATHS entry needed.
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert send(http, "GET", path).status_code == 200, path
