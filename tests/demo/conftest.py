"""The demo app in process: a frozen clock, a SQLite store in ``tmp_path``, cheap hashing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from jwtmiddleware.demo import DemoConfig, UserDirectory, build_app, demo_settings
from jwtmiddleware.demo.users import DEFAULT_USERS
from jwtmiddleware.testing import FrozenClock

#: The base URL of every in-process client: https, so the jar keeps the Secure cookies.
BASE = "https://testserver"
ACCESS = "__Host-access_token"
REFRESH = "__Secure-refresh_token"
CSRF = "__Host-csrf_token"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(1_700_000_000)


@pytest.fixture
def config(tmp_path: Any) -> DemoConfig:
    users = UserDirectory(DEFAULT_USERS, cost=2**4)
    return demo_settings({}, store_dir=str(tmp_path), users=users, access_ttl=300)


@pytest.fixture
def app(config: DemoConfig, clock: FrozenClock) -> Any:
    return build_app(config, clock=clock)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE, follow_redirects=False) as c:
        yield c


@pytest.fixture
def other(app: Any) -> Iterator[TestClient]:
    """A second device (its own cookie jar) on the same app."""
    with TestClient(app, base_url=BASE, follow_redirects=False,
                    headers={"user-agent": "second-device/1.0"}) as c:  # fmt: skip
        yield c


def login(client: TestClient, user: str = "alice", password: str = "wonderland") -> httpx.Response:
    """Log in through the API; the client's jar gets the cookies."""
    response = client.post("/auth/login", json={"username": user, "password": password})
    assert response.status_code == 200, response.text
    return response


def session_id(client: TestClient) -> str:
    """The session id of the client's cookie session."""
    sid: str = client.get("/api/me").json()["session_id"]
    return sid


def csrf(client: TestClient) -> dict[str, str]:
    """The header a page script sends on unsafe requests."""
    return {"X-CSRF-Token": client.cookies[CSRF]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def set_cookie_names(response: httpx.Response) -> list[str]:
    return [v.split("=", 1)[0] for v in response.headers.get_list("set-cookie")]
