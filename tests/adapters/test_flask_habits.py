"""The flask-jwt-extended habits on flask_jwtmiddleware and quart_jwtmiddleware:
``auth.create_access_token``, ``@auth.user_loader`` with ``current_user``, and
``@auth.additional_claims_loader``, exercised through each framework's test client."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask
from quart import Quart

import flask_jwtmiddleware
import quart_jwtmiddleware
from jwtmiddleware.testing import FrozenClock
from tests.adapters.conftest import close_after_test
from tests.adapters.test_flask import SECRET, bearer, jwt_config


@dataclass
class User:
    id: str
    name: str
    active: bool = True


USERS = {"1": User("1", "Alice"), "2": User("2", "Bob", active=False)}


def load_user(identity: Any) -> User | None:
    user = USERS.get(identity.subject)
    return user if user is not None and user.active else None


async def aload_user(identity: Any) -> User | None:
    return load_user(identity)


def role_claims(subject: str) -> dict[str, Any]:
    return {"role": "admin" if subject == "1" else "member", "scope": "profile"}


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_aud": False,
                      "verify_signature": True}, issuer="https://issuer.test")  # fmt: skip


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(float(int(time.time())))


def flask_app(tmp_path: Path, clock: FrozenClock) -> tuple[Flask, flask_jwtmiddleware.JWTAuth]:
    from flask_jwtmiddleware import current_identity, current_user, get_current_user, jwt_required

    app = Flask(__name__)
    app.config["JWTMIDDLEWARE"] = jwt_config(tmp_path)
    auth = flask_jwtmiddleware.JWTAuth(app, clock=clock)
    close_after_test(app)
    auth.user_loader(load_user)
    auth.additional_claims_loader(role_claims)

    @app.post("/auth/login")
    def login() -> Any:
        return auth.login_response("1")

    @app.get("/api/whoami")
    @jwt_required()
    def whoami() -> dict[str, Any]:
        return {"name": current_user.name, "role": current_identity.claims["role"]}

    @app.get("/api/danger")
    @jwt_required(fresh=300)
    def danger() -> dict[str, Any]:
        return {"name": current_user.name}

    @app.get("/public/who")
    def who() -> dict[str, Any]:
        user = get_current_user()  # current_user is a proxy: never `is None`
        return {"user": None if user is None else current_user.name}

    return app, auth


# -- Flask -------------------------------------------------------------------------------------


def test_create_access_token_is_accepted(tmp_path: Path, clock: FrozenClock) -> None:
    app, auth = flask_app(tmp_path, clock)
    client = app.test_client(use_cookies=False)
    with app.app_context():
        token = auth.create_access_token("1", {"scope": "profile extra"})
        short = auth.create_access_token("1", expires_delta=timedelta(minutes=2))
        seconds = auth.create_access_token("1", expires_delta=60)
    claims = claims_of(token)
    assert claims["sub"] == "1"
    assert claims["role"] == "admin"  # the additional-claims loader
    assert claims["scope"] == "profile extra"  # explicit claims win over the loader's
    assert claims["exp"] - claims["iat"] == 900  # ACCESS_TOKEN_TTL
    assert "auth_time" not in claims  # not fresh
    assert claims_of(short)["exp"] - claims_of(short)["iat"] == 120
    assert claims_of(seconds)["exp"] - claims_of(seconds)["iat"] == 60
    response = client.get("/api/whoami", headers=bearer(token))
    assert response.status_code == 200, response.data
    assert response.json == {"name": "Alice", "role": "admin"}


def test_fresh_tokens_pass_fresh_views_until_they_age(tmp_path: Path, clock: FrozenClock) -> None:
    app, auth = flask_app(tmp_path, clock)
    client = app.test_client(use_cookies=False)
    with app.app_context():
        fresh = auth.create_access_token("1", fresh=True)
        stale = auth.create_access_token("1")
    assert claims_of(fresh)["auth_time"] == int(clock.now)
    assert client.get("/api/danger", headers=bearer(fresh)).status_code == 200
    refused = client.get("/api/danger", headers=bearer(stale))
    assert refused.status_code == 401
    assert 'error="insufficient_user_authentication"' in refused.headers["WWW-Authenticate"]
    clock.advance(301)
    assert client.get("/api/danger", headers=bearer(fresh)).status_code == 401


def test_the_claims_loader_applies_at_login(tmp_path: Path, clock: FrozenClock) -> None:
    app, _ = flask_app(tmp_path, clock)
    client = app.test_client(use_cookies=False)
    body = client.post("/auth/login").json
    assert claims_of(body["access_token"])["role"] == "admin"
    assert client.get("/api/whoami", headers=bearer(body["access_token"])).json["name"] == "Alice"


def test_a_user_the_loader_cannot_find_is_refused(tmp_path: Path, clock: FrozenClock) -> None:
    app, auth = flask_app(tmp_path, clock)
    client = app.test_client(use_cookies=False)
    with app.app_context():
        gone = auth.create_access_token("404")
        disabled = auth.create_access_token("2")
    for token in (gone, disabled):
        response = client.get("/api/whoami", headers=bearer(token))
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
        # without jwt_required, reading current_user refuses the same way
        assert client.get("/public/who", headers=bearer(token)).status_code == 401
    assert client.get("/public/who").json == {"user": None}


def test_current_user_without_a_loader_says_so(tmp_path: Path, clock: FrozenClock) -> None:
    app, auth = flask_app(tmp_path, clock)
    auth._hooks.user_loader = None
    with app.app_context():
        token = auth.create_access_token("1")
    app.testing = True
    with pytest.raises(RuntimeError, match=r"@auth\.user_loader"):
        app.test_client().get("/public/who", headers=bearer(token))


def test_loader_and_minting_mistakes(tmp_path: Path, clock: FrozenClock) -> None:
    app, auth = flask_app(tmp_path, clock)
    with pytest.raises(TypeError):
        auth.additional_claims_loader(aload_user)  # must be a plain function
    with app.app_context():
        with pytest.raises(ValueError, match="registered claims"):
            auth.create_access_token("1", {"exp": 1})
        with pytest.raises(ValueError, match="subject"):
            auth.create_access_token("")
    with pytest.raises(RuntimeError, match="application context"):
        flask_jwtmiddleware.JWTAuth().create_access_token("1")


# -- Quart -------------------------------------------------------------------------------------


def quart_app(tmp_path: Path, clock: FrozenClock, loader: Any) -> tuple[Quart, Any]:
    from quart_jwtmiddleware import current_user, get_current_user, jwt_required

    app = Quart(__name__)
    app.config["JWTMIDDLEWARE"] = jwt_config(tmp_path)
    auth = quart_jwtmiddleware.JWTAuth(app, clock=clock)
    close_after_test(app)
    auth.user_loader(loader)
    auth.additional_claims_loader(role_claims)

    @app.post("/auth/login")
    async def login() -> Any:
        return await auth.login_response("1")

    @app.get("/api/whoami")
    @jwt_required()
    async def whoami() -> dict[str, Any]:
        return {"name": current_user.name}

    @app.get("/api/sync")
    @jwt_required()
    def sync_whoami() -> dict[str, Any]:
        return {"name": current_user.name}

    @app.get("/public/who")
    async def who() -> dict[str, Any]:
        user = await get_current_user()
        return {"user": None if user is None else user.name}

    @app.websocket("/ws")
    @jwt_required()
    async def ws() -> None:
        from quart import websocket

        await websocket.send(f"hello {current_user.name}")

    return app, auth


@pytest.mark.anyio
@pytest.mark.parametrize("loader", [load_user, aload_user], ids=["sync", "async"])
async def test_quart_has_the_same_habits(tmp_path: Path, clock: FrozenClock, loader: Any) -> None:
    app, auth = quart_app(tmp_path, clock, loader)
    client = app.test_client()
    async with app.app_context():
        token = auth.create_access_token("1", fresh=True)
        gone = auth.create_access_token("2")
    claims = claims_of(token)
    assert (claims["role"], claims["auth_time"]) == ("admin", int(clock.now))
    response = await client.get("/api/whoami", headers=bearer(token))
    assert response.status_code == 200
    assert await response.get_json() == {"name": "Alice"}
    assert (await client.get("/api/whoami", headers=bearer(gone))).status_code == 401
    assert await (await client.get("/public/who", headers=bearer(token))).get_json() == {
        "user": "Alice"
    }
    assert await (await client.get("/public/who")).get_json() == {"user": None}
    assert (await client.get("/public/who", headers=bearer(gone))).status_code == 401
    sync = await client.get("/api/sync", headers=bearer(token))
    if loader is load_user:
        assert await sync.get_json() == {"name": "Alice"}
    else:  # an async loader cannot run in Quart's worker thread: a clear error, a 500
        assert sync.status_code == 500
    async with client.websocket("/ws", headers=bearer(token)) as ws:
        assert await ws.receive() == "hello Alice"
    login = await client.post("/auth/login")
    assert claims_of((await login.get_json())["access_token"])["role"] == "admin"
