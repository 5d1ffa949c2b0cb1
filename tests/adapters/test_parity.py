"""The four adapters answer the session endpoints alike: the same requests get the same
statuses, headers, JSON bodies and cookie attributes from Flask, Quart, Starlette and Django
(under its WSGI handler with sync views and its ASGI handler with async views).

Each adapter runs one scripted session (login, every kind of refresh request, good and bad,
the sessions list, logout, logout everywhere) against its own store, at the same frozen time;
the observations are compared after tokens, ids and client addresses are replaced by
placeholders. The first adapter's observations are also checked against the intended rules.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import django
import httpx
import pytest
from django.conf import settings as django_settings
from starlette.testclient import TestClient

from jwtmiddleware import Settings
from jwtmiddleware.testing import FrozenClock

from .django import settings as django_test_settings

if not django_settings.configured:  # as tests/adapters/django/conftest.py does
    django_settings.configure(
        **{k: getattr(django_test_settings, k) for k in dir(django_test_settings) if k.isupper()}
    )
    django.setup()

NOW = 1_700_000_000.0
SECRET = secrets.token_urlsafe(48)
UA = "parity-device"
ACCESS, REFRESH, CSRF_COOKIE = "__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"
MAPPING: dict[str, Any] = {
    "SECRET": SECRET,
    "ISSUER": "https://issuer.test",
    "EXEMPT_PATHS": ["/auth/login", "/auth/refresh"],
    "REFRESH_REUSE_GRACE": 0,
}
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}

Send = Callable[..., httpx.Response]


# -- the same five endpoints in each framework ----------------------------------------------------


def flask_app(settings: Settings, clock: FrozenClock) -> Any:
    from flask import Flask, request

    from flask_jwtmiddleware import JWTAuth

    app = Flask("parity")
    auth = JWTAuth(app, settings=settings, clock=clock)

    @app.post("/auth/login")
    def login() -> Any:
        data = request.get_json()
        return auth.login_response(data["subject"], {"scope": "profile"},
                                   tokens_in_body=not data.get("browser"))  # fmt: skip

    @app.route("/auth/refresh", methods=["GET", "POST"])
    def refresh() -> Any:
        return auth.refresh_response()

    @app.post("/auth/logout")
    def logout() -> Any:
        return auth.logout_response()

    @app.post("/auth/logout-all")
    def logout_all() -> Any:
        return auth.logout_everywhere_response()

    @app.get("/auth/sessions")
    def sessions() -> Any:
        return auth.sessions_response()

    return app


def quart_app(settings: Settings, clock: FrozenClock) -> Any:
    from quart import Quart, request

    from quart_jwtmiddleware import JWTAuth

    app = Quart("parity")
    auth = JWTAuth(app, settings=settings, clock=clock)

    @app.post("/auth/login")
    async def login() -> Any:
        data = await request.get_json()
        return await auth.login_response(data["subject"], {"scope": "profile"},
                                         tokens_in_body=not data.get("browser"))  # fmt: skip

    @app.route("/auth/refresh", methods=["GET", "POST"])
    async def refresh() -> Any:
        return await auth.refresh_response()

    @app.post("/auth/logout")
    async def logout() -> Any:
        return await auth.logout_response()

    @app.post("/auth/logout-all")
    async def logout_all() -> Any:
        return await auth.logout_everywhere_response()

    @app.get("/auth/sessions")
    async def sessions() -> Any:
        return await auth.sessions_response()

    return app


def starlette_app(settings: Settings, clock: FrozenClock) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from starlette_jwtmiddleware import JWTAuth

    auth = JWTAuth(settings, clock=clock)

    async def login(request: Request) -> Response:
        data = await request.json()
        return await auth.login_response(request, data["subject"], {"scope": "profile"},
                                         tokens_in_body=not data.get("browser"))  # fmt: skip

    routes = [
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/refresh", auth.refresh_response, methods=["GET", "POST"]),
        Route("/auth/logout", auth.logout_response, methods=["POST"]),
        Route("/auth/logout-all", auth.logout_everywhere_response, methods=["POST"]),
        Route("/auth/sessions", auth.sessions_response),
    ]
    return Starlette(routes=routes, middleware=[auth.middleware()])


def django_urls(asynchronous: bool) -> Any:
    import json

    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    import django_jwtmiddleware as dj

    def login_args(request: Any) -> tuple[Any, ...]:
        data = json.loads(request.body)
        return request, data["subject"], {"scope": "profile"}, None, not data.get("browser")

    if asynchronous:

        async def login(request: Any) -> Any:
            *args, tokens_in_body = login_args(request)
            return await dj.alogin_response(*args, tokens_in_body=tokens_in_body)

        async def refresh(request: Any) -> Any:
            return await dj.arefresh_response(request)

        views = (login, refresh, dj.alogout_response, dj.alogout_everywhere_response,
                 dj.asessions_response)  # fmt: skip
    else:

        def login(request: Any) -> Any:  # type: ignore[misc]
            *args, tokens_in_body = login_args(request)
            return dj.login_response(*args, tokens_in_body=tokens_in_body)

        def refresh(request: Any) -> Any:  # type: ignore[misc]
            return dj.refresh_response(request)

        views = (login, refresh, dj.logout_response, dj.logout_everywhere_response,
                 dj.sessions_response)  # fmt: skip
    names = ("auth/login", "auth/refresh", "auth/logout", "auth/logout-all", "auth/sessions")
    # Login and refresh are exempt from Django's CSRF check: jwtmiddleware checks refreshes.
    exempt = {"auth/login", "auth/refresh"}
    module = ModuleType(f"parity_urls_{'async' if asynchronous else 'sync'}")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path(name, csrf_exempt(view) if name in exempt else view)
        for name, view in zip(names, views, strict=True)
    ]
    return module


# -- running a scripted session -----------------------------------------------------------------


def parse_set_cookie(value: str) -> tuple[str, bool, dict[str, str]]:
    """``(name, has a value, {attribute: value})``, attribute names lower-cased."""
    first, *attributes = (part.strip() for part in value.split(";"))
    name, _, cookie_value = first.partition("=")
    attrs = {}
    for attribute in attributes:
        key, _, attr_value = attribute.partition("=")
        attrs[key.strip().lower()] = attr_value.strip()
    return name, bool(cookie_value), attrs


def normalize(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    out = dict(body)
    for key in ("access_token", "refresh_token", "csrf_token"):
        if isinstance(out.get(key), str) and out[key]:
            out[key] = f"<{key}>"
    if isinstance(out.get("sessions"), list):
        items = [{**s, "session_id": "<sid>", "ip": "<ip>"} for s in out["sessions"]]
        out["sessions"] = sorted(items, key=lambda s: s["current"])
    return out


def observe(response: httpx.Response) -> dict[str, Any]:
    headers = response.headers
    cookies = sorted(parse_set_cookie(v) for v in headers.get_list("set-cookie"))
    return {
        "status": response.status_code,
        "body": normalize(response.json()) if response.content else None,
        "content-type": headers.get("content-type") if response.content else None,
        "cache-control": headers.get("cache-control"),
        "pragma": headers.get("pragma"),
        "www-authenticate": headers.get("www-authenticate"),
        "retry-after": headers.get("retry-after"),
        "cookies": cookies,
    }


def cookie_values(response: httpx.Response) -> dict[str, str]:
    out = {}
    for value in response.headers.get_list("set-cookie"):
        name, _, rest = value.strip().partition("=")  # Django's WSGI handler adds a space
        out[name] = rest.split(";", 1)[0]
    return out


def scenario(send: Send) -> list[tuple[str, dict[str, Any]]]:
    """One session, told as ``(step, observation)`` pairs."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def step(name: str, method: str, path: str, headers: dict[str, str] | None = None,
             content: bytes | None = None) -> httpx.Response:  # fmt: skip
        response = send(method, path, headers={"user-agent": UA, **(headers or {})},
                        content=content)  # fmt: skip
        seen.append((name, observe(response)))
        return response

    api = step("login (API client)", "POST", "/auth/login", JSON, b'{"subject": "alice"}')
    pair = api.json()
    browser = step("login (browser)", "POST", "/auth/login", JSON,
                   b'{"subject": "alice", "browser": true}')  # fmt: skip
    jar = cookie_values(browser)
    csrf = jar[CSRF_COOKIE]
    cookie = {"cookie": f"{REFRESH}={jar[REFRESH]}; {CSRF_COOKIE}={csrf}"}

    step("no refresh token", "POST", "/auth/refresh")
    step("refresh_token not a string", "POST", "/auth/refresh", JSON, b'{"refresh_token": 5}')
    step("refresh_token empty", "POST", "/auth/refresh", JSON, b'{"refresh_token": ""}')
    step("body not JSON", "POST", "/auth/refresh", JSON, b"{not json")
    step("body a JSON array", "POST", "/auth/refresh", JSON, b'["refresh_token"]')
    step("deep JSON", "POST", "/auth/refresh", JSON, b"[" * 10_000)
    step("body too large", "POST", "/auth/refresh", JSON, b" " * 70_000)
    step("form field twice", "POST", "/auth/refresh", FORM, b"refresh_token=a&refresh_token=b")
    step("form field empty", "POST", "/auth/refresh", FORM, b"refresh_token=")
    step("too many form fields", "POST", "/auth/refresh", FORM, b"&".join([b"a=1"] * 200))
    step("cookie and body", "POST", "/auth/refresh", {**cookie, **JSON, "x-csrf-token": csrf},
         b'{"refresh_token": "%s"}' % pair["refresh_token"].encode())  # fmt: skip
    step("two refresh cookies", "POST", "/auth/refresh",
         {"cookie": f"{REFRESH}=a.b.c; {REFRESH}=d.e.f", "x-csrf-token": csrf})  # fmt: skip
    step("cookie without CSRF proof", "POST", "/auth/refresh", cookie)
    step("cookie, GET, without CSRF proof", "GET", "/auth/refresh", cookie)
    step("cookie with a wrong CSRF value", "POST", "/auth/refresh",
         {**cookie, "x-csrf-token": "guess"})  # fmt: skip
    step("cookie, cross-site", "POST", "/auth/refresh",
         {**cookie, "x-csrf-token": csrf, "sec-fetch-site": "cross-site"})  # fmt: skip
    step("cookie, foreign Origin", "POST", "/auth/refresh",
         {**cookie, "x-csrf-token": csrf, "origin": "https://evil.example"})  # fmt: skip
    step("cookie, garbage token", "POST", "/auth/refresh",
         {"cookie": f"{REFRESH}=x.y.z", "x-csrf-token": csrf})  # fmt: skip
    rotated = step("cookie refresh", "POST", "/auth/refresh", {**cookie, "x-csrf-token": csrf})
    step("cookie refresh with the form field", "POST", "/auth/refresh",
         {"cookie": f"{REFRESH}={cookie_values(rotated)[REFRESH]}", **FORM},
         f"csrf_token={csrf}&other=1".encode())  # fmt: skip
    step("rotated cookie reused", "POST", "/auth/refresh", {**cookie, "x-csrf-token": csrf})
    renewed = step("body refresh (JSON)", "POST", "/auth/refresh", JSON,
                   b'{"refresh_token": "%s"}' % pair["refresh_token"].encode())  # fmt: skip
    step("body refresh (form)", "POST", "/auth/refresh", FORM,
         b"refresh_token=" + renewed.json()["refresh_token"].encode())  # fmt: skip
    step("access token as refresh token", "POST", "/auth/refresh", JSON,
         b'{"refresh_token": "%s"}' % pair["access_token"].encode())  # fmt: skip

    third = step("login (third device)", "POST", "/auth/login", JSON, b'{"subject": "alice"}')
    bearer = {"authorization": f"Bearer {third.json()['access_token']}"}
    step("sessions", "GET", "/auth/sessions", bearer)
    step("sessions without a token", "GET", "/auth/sessions")
    step("logout", "POST", "/auth/logout", bearer)
    step("logout again (revoked)", "POST", "/auth/logout", bearer)
    last = step("login (fourth device)", "POST", "/auth/login", JSON, b'{"subject": "alice"}')
    bearer = {"authorization": f"Bearer {last.json()['access_token']}"}
    step("logout everywhere", "POST", "/auth/logout-all", bearer)
    return seen


# -- the clients ---------------------------------------------------------------------------------


@contextlib.contextmanager
def sender(app: Any, *, asgi: bool, lifespan: bool = False) -> Iterator[Send]:
    """``send(method, path, headers=..., content=...)`` to ``app``, without a cookie jar.
    ``lifespan``: run the ASGI lifespan around it (the middleware stops its mirror at the end;
    Django's handler refuses lifespan)."""
    base = "https://testserver"
    if asgi:
        client: httpx.Client = TestClient(app, base_url=base)
    else:
        client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=base)

    def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
        client.cookies.clear()
        return client.request(method, path, **kwargs)

    with client if lifespan else contextlib.nullcontext():
        try:
            yield send
        finally:
            client.close()


def run(kind: str, tmp_path: Path) -> list[tuple[str, dict[str, Any]]]:
    clock = FrozenClock(NOW)
    mapping = {**MAPPING, "STORE": f"sqlite:///{tmp_path / kind}.db"}
    settings = Settings.from_mapping(mapping)
    if kind == "flask":
        app = flask_app(settings, clock)
        try:
            with sender(app, asgi=False) as send:
                return scenario(send)
        finally:  # no lifespan under WSGI: stop the mirror as a server's shutdown would
            app.extensions["jwtmiddleware"].state_for(app).middleware.close()
    if kind in ("quart", "starlette"):
        app = quart_app(settings, clock) if kind == "quart" else starlette_app(settings, clock)
        with sender(app, asgi=True, lifespan=True) as send:
            return scenario(send)
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    asynchronous = kind == "django-asgi"
    handler = ASGIHandler() if asynchronous else WSGIHandler()
    with (
        override_settings(ROOT_URLCONF=django_urls(asynchronous), JWTMIDDLEWARE=mapping,
                          JWTMIDDLEWARE_DJANGO={"CLOCK": clock}),
        sender(handler, asgi=asynchronous) as send,
    ):  # fmt: skip
        return scenario(send)


ADAPTERS = ("flask", "quart", "starlette", "django-wsgi", "django-asgi")


@pytest.fixture(scope="module")
def observations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("parity")
    return {kind: run(kind, tmp) for kind in ADAPTERS}


@pytest.mark.parametrize("kind", ADAPTERS[1:])
def test_same_answers_as_flask(observations: dict[str, Any], kind: str) -> None:
    expected, seen = observations["flask"], observations[kind]
    assert [name for name, _ in seen] == [name for name, _ in expected]
    for (name, want), (_, got) in zip(expected, seen, strict=True):
        assert got == want, f"{kind} differs from flask at {name!r}"


def test_the_answers_follow_the_rules(observations: dict[str, Any]) -> None:
    seen = dict(observations["flask"])
    statuses = {name: o["status"] for name, o in seen.items()}
    assert statuses == {
        "login (API client)": 200,
        "login (browser)": 200,
        "no refresh token": 401,
        "refresh_token not a string": 400,
        "refresh_token empty": 400,
        "body not JSON": 400,
        "body a JSON array": 400,
        "deep JSON": 400,
        "body too large": 400,
        "form field twice": 400,
        "form field empty": 400,
        "too many form fields": 400,
        "cookie and body": 400,
        "two refresh cookies": 400,
        "cookie without CSRF proof": 403,
        "cookie, GET, without CSRF proof": 403,
        "cookie with a wrong CSRF value": 403,
        "cookie, cross-site": 403,
        "cookie, foreign Origin": 403,
        "cookie, garbage token": 401,
        "cookie refresh": 200,
        "cookie refresh with the form field": 200,
        "rotated cookie reused": 401,
        "body refresh (JSON)": 200,
        "body refresh (form)": 200,
        "access token as refresh token": 401,
        "login (third device)": 200,
        "sessions": 200,
        "sessions without a token": 401,
        "logout": 204,
        "logout again (revoked)": 401,
        "login (fourth device)": 200,
        "logout everywhere": 200,
    }
    everything = {"access_token", "refresh_token", "token_type", "expires_in", "csrf_token"}
    cookies_only = {"token_type", "expires_in", "csrf_token"}
    assert set(seen["login (API client)"]["body"]) == everything
    assert set(seen["login (browser)"]["body"]) == cookies_only
    assert set(seen["cookie refresh"]["body"]) == cookies_only
    assert set(seen["cookie refresh with the form field"]["body"]) == cookies_only
    assert set(seen["body refresh (JSON)"]["body"]) == everything
    assert set(seen["body refresh (form)"]["body"]) == everything
    for name in ("login (API client)", "cookie refresh", "body refresh (JSON)"):
        answer = seen[name]
        assert (answer["cache-control"], answer["pragma"]) == ("no-store", "no-cache")
        assert [(n, has_value) for n, has_value, _ in answer["cookies"]] == [
            (ACCESS, True), (CSRF_COOKIE, True), (REFRESH, True)
        ]  # fmt: skip
    # Refused cookie refreshes with a dead token delete the cookies; other refusals do not.
    for name, answer in seen.items():
        deleted = [(n, a["max-age"]) for n, has_value, a in answer["cookies"] if not has_value]
        if name in ("cookie, garbage token", "rotated cookie reused", "logout",
                    "logout everywhere"):  # fmt: skip
            assert sorted(deleted) == sorted((n, "0") for n in (ACCESS, REFRESH, CSRF_COOKIE))
        else:
            assert deleted == [], name
    assert seen["cookie without CSRF proof"]["body"]["error"] == "csrf_failed"
    assert seen["cookie and body"]["body"]["error"] == "invalid_request"
    assert seen["no refresh token"]["www-authenticate"] == 'Bearer realm="api"'
    assert seen["logout"]["body"] is None
    assert seen["logout everywhere"]["body"] == {"sessions_ended": 2}
    listed = seen["sessions"]["body"]["sessions"]
    # The browser's session ended when its rotated refresh token came back.
    assert [s["current"] for s in listed] == [False, True]
    assert {s["user_agent"] for s in listed} == {UA}
