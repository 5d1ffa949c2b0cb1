"""The example project (``examples/django_project``) under real servers: gunicorn (Django WSGI)
and uvicorn (Django ASGI), each on a free loopback port, driven over HTTP through the whole
session. Cookies are handled by hand from ``Set-Cookie`` (they stay ``Secure``, which a client
cookie jar would not send over plain http)."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
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
)

pytestmark = pytest.mark.slow

EXAMPLE = REPO_ROOT / "examples" / "django_project"
ACCESS, REFRESH, CSRF = "__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"


def _argv(name: str, port: int) -> list[str]:
    if name == "gunicorn":
        return gunicorn_argv("jwtdemo.wsgi:application", port)
    # uvicorn_argv() is for factories; Django's ASGI entry point is a plain application.
    return [sys.executable, "-m", "uvicorn", "jwtdemo.asgi:application", "--host", HOST,
            "--port", str(port), "--no-access-log"]  # fmt: skip


@contextlib.contextmanager
def _deploy(name: str, store_dir: Path) -> Iterator[RunningServer]:
    port = free_port()
    env = server_env(
        JWTMIDDLEWARE_SECRET=secrets.token_urlsafe(48),
        JWTMIDDLEWARE_STORE=f"sqlite:///{store_dir / 'sessions.db'}",
        DJANGO_SETTINGS_MODULE="jwtdemo.settings",
    )
    # The adapters are top-level packages in adapters/ (the wheel installs them top-level).
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "adapters"), env["PYTHONPATH"]])
    with run_server(_argv(name, port), port, env=env, cwd=EXAMPLE) as server:
        yield server
    assert "Traceback" not in server.stderr, f"{name} logged an error:\n{server.stderr}"


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    with _deploy(request.param, tmp_path_factory.mktemp(request.param)) as running:
        yield running


def test_manage_py_check_and_commands(tmp_path: Path) -> None:
    env = server_env(
        JWTMIDDLEWARE_SECRET=secrets.token_urlsafe(48),
        JWTMIDDLEWARE_STORE=f"sqlite:///{tmp_path / 'sessions.db'}",
    )
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "adapters"), env["PYTHONPATH"]])

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=EXAMPLE, env=env,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("check", "--fail-level", "WARNING")
    assert manage("jwt_sessions", "alice") == "no live sessions for alice\n"
    assert manage("jwt_purge").startswith("purged ")


def _call(server: RunningServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    # A fresh client per call: no cookie jar carries anything between requests.
    return httpx.request(method, server.url + path, timeout=10.0, **kwargs)


def _set_cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """``{name: {"value": ..., "path": ..., "secure": "", ...}}`` from the Set-Cookie headers."""
    out: dict[str, dict[str, str]] = {}
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = first.partition("=")
        parsed = {"value": value.strip('"')}
        for attribute in attributes:
            key, _, attr_value = attribute.partition("=")
            parsed[key.lower()] = attr_value
        out[name] = parsed
    return out


def _cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


def _login(server: RunningServer, username: str = "alice", password: str = "alice-password") -> Any:
    response = _call(server, "POST", "/auth/login",
                     json={"username": username, "password": password})  # fmt: skip
    assert response.status_code == 200, response.text
    return response


def test_login_answers_tokens_and_safe_cookies(server: RunningServer) -> None:
    response = _login(server)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    cookies = _set_cookies(response)
    assert set(cookies) == {ACCESS, REFRESH, CSRF}
    assert cookies[ACCESS]["value"] == body["access_token"]
    assert cookies[REFRESH]["value"] == body["refresh_token"]
    assert cookies[CSRF]["value"] == body["csrf_token"]
    for name, path in ((ACCESS, "/"), (REFRESH, "/auth/refresh"), (CSRF, "/")):
        attributes = cookies[name]
        assert attributes["path"] == path
        assert "secure" in attributes
        assert attributes["samesite"] == "Lax"
        assert int(attributes["max-age"]) > 0
        assert ("httponly" in attributes) is (name != CSRF)


def test_cookie_session_over_http(server: RunningServer) -> None:
    login = _login(server)
    csrf = login.json()["csrf_token"]
    cookies = {name: c["value"] for name, c in _set_cookies(login).items()}
    access = {ACCESS: cookies[ACCESS]}

    me = _call(server, "GET", "/api/me", headers=_cookie_header(access))
    assert me.status_code == 200, me.text
    assert me.json()["subject"] == "alice"
    assert {"authorization", "cookie"} <= {v.strip().lower() for v in me.headers["vary"].split(",")}

    # The browser sends the refresh cookie only to /auth/refresh, with the CSRF echo.
    refresh_cookie = _cookie_header({REFRESH: cookies[REFRESH]})
    denied = _call(server, "POST", "/auth/refresh", headers=refresh_cookie)
    assert denied.status_code == 403
    assert denied.json()["error"] == "csrf_failed"
    refreshed = _call(server, "POST", "/auth/refresh",
                      headers={**refresh_cookie, "X-CSRF-Token": csrf})  # fmt: skip
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["csrf_token"] == csrf
    assert "access_token" not in refreshed.json()  # a cookie refresh: cookies only
    renewed = {name: c["value"] for name, c in _set_cookies(refreshed).items()}
    assert set(renewed) == {ACCESS, REFRESH, CSRF}
    new_access = {ACCESS: renewed[ACCESS]}
    assert _call(server, "GET", "/api/me", headers=_cookie_header(new_access)).status_code == 200

    sessions = _call(server, "GET", "/auth/sessions", headers=_cookie_header(new_access))
    assert sessions.status_code == 200
    assert [s["current"] for s in sessions.json()["sessions"]].count(True) == 1

    # A cookie-authenticated POST without the CSRF echo is refused; with it, logout works.
    no_proof = _call(server, "POST", "/auth/logout", headers=_cookie_header(new_access))
    assert no_proof.status_code == 403
    logout = _call(server, "POST", "/auth/logout",
                   headers={**_cookie_header(new_access), "X-CSRF-Token": csrf})  # fmt: skip
    assert logout.status_code == 204, logout.text
    assert logout.content == b""
    cleared = _set_cookies(logout)
    assert {c["value"] for c in cleared.values()} == {""}
    assert {c["max-age"] for c in cleared.values()} == {"0"}

    for stale in (new_access, access):
        reuse = _call(server, "GET", "/api/me", headers=_cookie_header(stale))
        assert reuse.status_code == 401
        assert 'error="invalid_token"' in reuse.headers["www-authenticate"]
    again = _call(server, "POST", "/auth/refresh", headers={
        **_cookie_header({REFRESH: renewed[REFRESH]}), "X-CSRF-Token": csrf})  # fmt: skip
    assert again.status_code == 401


def test_bearer_session_over_http(server: RunningServer) -> None:
    first = _login(server).json()
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    assert _call(server, "GET", "/api/me", headers=auth).json()["scopes"] == ["profile"]

    refreshed = _call(server, "POST", "/auth/refresh",
                      json={"refresh_token": first["refresh_token"]})  # fmt: skip
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    auth = {"Authorization": f"Bearer {second['access_token']}"}
    assert _call(server, "GET", "/api/me", headers=auth).status_code == 200

    # No Django CSRF token and no X-CSRF-Token: a bearer request cannot be forged cross-site.
    assert _call(server, "POST", "/auth/logout", headers=auth).status_code == 204
    for token in (first["access_token"], second["access_token"]):
        response = _call(server, "GET", "/api/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
    reuse = _call(server, "POST", "/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert reuse.status_code == 401


def test_logout_everywhere_over_http(server: RunningServer) -> None:
    one = _login(server, "bob", "bob-password").json()
    two = _login(server, "bob", "bob-password").json()
    auth = {"Authorization": f"Bearer {two['access_token']}"}
    listed = _call(server, "GET", "/auth/sessions", headers=auth).json()["sessions"]
    assert len(listed) >= 2
    response = _call(server, "POST", "/auth/logout-all", headers=auth)
    assert response.status_code == 200
    assert set(response.json()) == {"sessions_ended"}
    assert response.json()["sessions_ended"] >= 2
    for pair in (one, two):
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        assert _call(server, "GET", "/auth/sessions", headers=bearer).status_code == 401


def test_refusals_over_http(server: RunningServer) -> None:
    missing = _call(server, "GET", "/api/me")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="api"'
    assert missing.headers["cache-control"] == "no-store"
    bob = _login(server, "bob", "bob-password").json()
    scoped = _call(server, "GET", "/api/me",
                   headers={"Authorization": f"Bearer {bob['access_token']}"})  # fmt: skip
    assert scoped.status_code == 403
    assert 'error="insufficient_scope"' in scoped.headers["www-authenticate"]
    assert 'scope="profile"' in scoped.headers["www-authenticate"]
    wrong = _call(server, "POST", "/auth/login", json={"username": "alice", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_grant"
    assert _call(server, "GET", "/health").json() == {"status": "ok"}


def test_rest_framework_views_over_http(server: RunningServer) -> None:
    alice = {"Authorization": f"Bearer {_login(server).json()['access_token']}"}
    bob_token = _login(server, "bob", "bob-password").json()["access_token"]
    bob = {"Authorization": f"Bearer {bob_token}"}

    # An APIView with HasScope("profile").
    profile = _call(server, "GET", "/api/profile", headers=alice)
    assert profile.status_code == 200, profile.text
    assert profile.json() == {"user": "alice", "scopes": ["profile"]}
    refused = _call(server, "GET", "/api/profile", headers=bob)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "The access token does not grant the required scope"}
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert refused.headers["www-authenticate"].endswith('scope="profile"')

    # A ViewSet with HasScopes per action: list for anyone signed in, create with "profile".
    assert _call(server, "GET", "/api/notes", headers=bob).json() == {"notes": []}
    denied = _call(server, "POST", "/api/notes", headers=bob, json={"text": "from bob"})
    assert denied.status_code == 403
    created = _call(server, "POST", "/api/notes", headers=alice, json={"text": "from alice"})
    assert created.status_code == 201, created.text
    assert _call(server, "GET", "/api/notes", headers=alice).json() == {"notes": ["from alice"]}

    # No token: the middleware refuses before DRF (this path is not optional).
    anonymous = _call(server, "GET", "/api/notes")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="api"'
