"""The demo's session endpoints answer as the framework adapters do.

The same scripted requests (login, good and bad refreshes, the sessions list, logout, logout
everywhere) go to the demo and to a Starlette app serving ``starlette_jwtmiddleware``'s
endpoints with the demo's settings, each with its own store at the same frozen time; their
statuses, headers, JSON bodies and cookies must match once tokens and ids are replaced by
placeholders. The one difference is on purpose: the demo's refusals of a dead refresh token
add ``why`` (which notice its login page shows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from jwtmiddleware.demo import DemoConfig, build_app
from jwtmiddleware.stores.memory import MemoryStore
from jwtmiddleware.testing import FrozenClock
from tests.demo.conftest import BASE, CSRF, REFRESH

JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
CREDENTIALS = b'{"username": "alice", "password": "wonderland"}'

Send = Callable[..., httpx.Response]


def adapter_app(config: DemoConfig, clock: FrozenClock) -> Any:
    """The demo's session endpoints as the Starlette adapter serves them."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from jwtmiddleware.demo.api import LOGIN_SCOPE
    from starlette_jwtmiddleware import JWTAuth

    auth = JWTAuth(config.settings, store=MemoryStore(), clock=clock)

    async def login(request: Request) -> Response:  # the password check is the demo's own
        return await auth.login_response(request, "alice", {"scope": LOGIN_SCOPE,
                                                            "name": "alice"})  # fmt: skip

    routes = [
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/refresh", auth.refresh_response, methods=["POST"]),
        Route("/auth/logout", auth.logout_response, methods=["POST"]),
        Route("/auth/logout-all", auth.logout_everywhere_response, methods=["POST"]),
        Route("/auth/sessions", auth.sessions_response),
    ]
    return Starlette(routes=routes, middleware=[auth.middleware()])


def cookie_values(response: httpx.Response) -> dict[str, str]:
    return {v.split("=", 1)[0]: v.split("=", 1)[1].split(";", 1)[0]
            for v in response.headers.get_list("set-cookie")}  # fmt: skip


def observe(response: httpx.Response) -> dict[str, Any]:
    body = response.json() if response.content else None
    if isinstance(body, dict):
        for key in ("access_token", "refresh_token", "csrf_token"):
            if body.get(key):
                body[key] = f"<{key}>"
        for session in body.get("sessions", ()):
            session["session_id"] = "<sid>"
    cookies = sorted((v.split("=", 1)[0], "Max-Age=0" in v, v.split(";", 1)[1])
                     for v in response.headers.get_list("set-cookie"))  # fmt: skip
    names = ("content-type", "cache-control", "pragma", "www-authenticate", "retry-after")
    return {"status": response.status_code, "body": body, "cookies": cookies,
            **{name: response.headers.get(name) for name in names}}  # fmt: skip


def scenario(send: Send) -> dict[str, dict[str, Any]]:
    """One session, told as ``{step: observation}``."""
    seen: dict[str, dict[str, Any]] = {}

    def step(name: str, method: str, path: str, headers: dict[str, str] | None = None,
             content: bytes | None = None) -> httpx.Response:  # fmt: skip
        response = send(method, path, headers={"user-agent": "parity", **(headers or {})},
                        content=content)  # fmt: skip
        seen[name] = observe(response)
        return response

    # One request for each kind of answer the demo renders; the adapters' own parity test
    # (tests/adapters/test_parity.py) covers every refresh rule behind them.
    first = step("login", "POST", "/auth/login", JSON, CREDENTIALS)
    pair, jar = first.json(), cookie_values(first)
    proof = {"x-csrf-token": jar[CSRF]}
    cookie = {"cookie": f"{REFRESH}={jar[REFRESH]}; {CSRF}={jar[CSRF]}"}
    step("refresh without a token (401, no error code)", "POST", "/auth/refresh")
    step("refresh body too large (400)", "POST", "/auth/refresh", JSON, b" " * 70_000)
    step("refresh cookie without CSRF proof (403)", "POST", "/auth/refresh", cookie)
    step("dead refresh cookie (401, cookies deleted)", "POST", "/auth/refresh",
         {"cookie": f"{REFRESH}=x.y.z", **proof})  # fmt: skip
    step("access token in the body (401)", "POST", "/auth/refresh", FORM,
         b"refresh_token=" + pair["access_token"].encode())  # fmt: skip
    step("cookie refresh (cookies only)", "POST", "/auth/refresh", {**cookie, **proof})
    rotated = step("body refresh (tokens in the body)", "POST", "/auth/refresh", FORM,
                   b"refresh_token=" + pair["refresh_token"].encode())  # fmt: skip
    bearer = {"authorization": f"Bearer {rotated.json()['access_token']}"}
    step("sessions", "GET", "/auth/sessions", bearer)
    step("sessions without a token", "GET", "/auth/sessions")
    step("logout (204)", "POST", "/auth/logout", bearer)
    again = step("login again", "POST", "/auth/login", JSON, CREDENTIALS)
    step("logout everywhere", "POST", "/auth/logout-all",
         {"authorization": f"Bearer {again.json()['access_token']}"})  # fmt: skip
    return seen


def run(app: Any) -> dict[str, dict[str, Any]]:
    with TestClient(app, base_url=BASE) as client:

        def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
            client.cookies.clear()  # every request says exactly what it carries
            return client.request(method, path, **kwargs)

        return scenario(send)


@pytest.fixture
def observations(config: DemoConfig, clock: FrozenClock) -> tuple[dict[str, Any], dict[str, Any]]:
    return run(build_app(config, clock=clock)), run(adapter_app(config, clock))


def test_the_demo_answers_like_the_starlette_adapter(
    observations: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    demo, adapter = observations
    assert list(demo) == list(adapter)
    whys = {}
    for name, seen in demo.items():
        if isinstance(seen["body"], dict) and "why" in seen["body"]:
            whys[name] = seen["body"].pop("why")
        assert seen == adapter[name], name
    assert whys == {
        "dead refresh cookie (401, cookies deleted)": "invalid",
        "access token in the body (401)": "invalid",
    }


def test_the_script_covers_the_answers_the_pages_rely_on(
    observations: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    demo, _ = observations
    assert set(demo["cookie refresh (cookies only)"]["body"]) == {"token_type", "expires_in",
                                                                  "csrf_token"}  # fmt: skip
    assert "access_token" in demo["body refresh (tokens in the body)"]["body"]
    assert {name: seen["status"] for name, seen in demo.items()} == {
        "login": 200,
        "refresh without a token (401, no error code)": 401,
        "refresh body too large (400)": 400,
        "refresh cookie without CSRF proof (403)": 403,
        "dead refresh cookie (401, cookies deleted)": 401,
        "access token in the body (401)": 401,
        "cookie refresh (cookies only)": 200,
        "body refresh (tokens in the body)": 200,
        "sessions": 200,
        "sessions without a token": 401,
        "logout (204)": 204,
        "login again": 200,
        "logout everywhere": 200,
    }
