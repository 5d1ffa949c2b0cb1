"""The session endpoints' rules, with no server: the refresh CSRF proof in the core, the pure
helpers adapters share, the response plans, and the public ``jwtmiddleware.integration``."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from typing import Any

import anyio
import pytest

import jwtmiddleware.integration as integration
from jwtmiddleware import ANONYMOUS, CSRFError, InvalidRequest, TokenInvalid, TokenMissing
from jwtmiddleware.core.issuer import Issuer
from jwtmiddleware.http.sources import ASGIRequestView
from jwtmiddleware.sessions.endpoints import SessionEndpoints
from jwtmiddleware.sessions.manager import SessionManager
from jwtmiddleware.sessions.plans import (
    MAX_REFRESH_BODY,
    ResponsePlan,
    pick_refresh_token,
    refresh_token_in_body,
    session_list_body,
    token_body,
)
from jwtmiddleware.stores import MemoryStore
from jwtmiddleware.stores.base import SessionInfo
from jwtmiddleware.testing import FrozenClock
from tests.sessions.rig import NOW, session_settings

REFRESH, CSRF_COOKIE = "__Secure-refresh_token", "__Host-csrf_token"


@pytest.fixture
def manager() -> SessionManager:
    return SessionManager(session_settings(refresh_reuse_grace=0), MemoryStore(),
                          clock=FrozenClock(NOW))  # fmt: skip


def view(method: str = "POST", headers: dict[str, str] | None = None) -> ASGIRequestView:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return ASGIRequestView({"type": "http", "method": method, "path": "/auth/refresh",
                            "headers": raw, "client": ("192.0.2.1", 5000)})  # fmt: skip


def forged(token: str, **changes: Any) -> str:
    """``token`` with its payload changed and the signature kept (so it no longer verifies)."""
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{signature}"


# -- SessionFlows.refresh: verify, then compare the csrf claim, then consume -----------------------


def test_cookie_refresh_needs_the_verified_csrf_claim(manager: SessionManager) -> None:
    pair = manager.login("alice")
    with pytest.raises(CSRFError):
        manager.refresh(pair.refresh_token, from_cookie=True)
    with pytest.raises(CSRFError):
        manager.refresh(pair.refresh_token, from_cookie=True, csrf="guess")
    # A refused proof consumed nothing: the right value still rotates the token once.
    renewed = manager.refresh(pair.refresh_token, from_cookie=True, csrf=f" {pair.csrf_token} ")
    assert renewed.session_id == pair.session_id
    with pytest.raises(TokenInvalid):
        manager.refresh(pair.refresh_token, from_cookie=True, csrf=pair.csrf_token)


def test_a_forged_token_is_refused_before_its_csrf_claim_is_read(manager: SessionManager) -> None:
    pair = manager.login("alice")
    fake = forged(pair.refresh_token, csrf="attacker", sub="mallory")
    with pytest.raises(TokenInvalid):  # 401 from verification, never a CSRF comparison
        manager.refresh(fake, from_cookie=True, csrf="attacker")
    with pytest.raises(TokenInvalid):
        manager.refresh(fake, from_cookie=True)


def test_a_cookie_refresh_token_without_csrf_claim_is_refused(manager: SessionManager) -> None:
    issuer = Issuer(manager.settings)
    claims = {"sid": "s1", "auth_time": int(NOW)}
    token = issuer.refresh_token("alice", now=NOW, claims=claims).token
    manager.store.create_session(SessionInfo("s1", "alice", NOW, NOW, NOW + 3600), now=NOW)
    with pytest.raises(CSRFError):
        manager.refresh(token, from_cookie=True, csrf="")
    assert manager.refresh(token).session_id == "s1"  # from the body: no proof needed


def test_csrf_protection_off_needs_no_proof() -> None:
    settings = session_settings(csrf_protection=False)
    manager = SessionManager(settings, MemoryStore(), clock=FrozenClock(NOW))
    pair = manager.login("alice")
    assert manager.refresh(pair.refresh_token, from_cookie=True).session_id == pair.session_id


# -- pure helpers ----------------------------------------------------------------------------------


def test_pick_refresh_token() -> None:
    assert pick_refresh_token(["c"], None) == ("c", True)
    assert pick_refresh_token(["", "c"], None) == ("c", True)  # a deleted cookie is no cookie
    assert pick_refresh_token([], "b") == ("b", False)
    for cookies, body in ((["c", "d"], None), (["c"], "b"), ([], ""), ([], 5), ([], ["b"])):
        with pytest.raises(InvalidRequest):
            pick_refresh_token(cookies, body)
    for cookies in ([], [""]):
        with pytest.raises(TokenMissing):
            pick_refresh_token(cookies, None)


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json", b'{"refresh_token": "t"}', "t"),
        ("application/json; charset=utf-8", b'{"refresh_token": 5}', 5),
        ("application/vnd.api+json", b'{"refresh_token": "t"}', "t"),
        ("application/json", b"{}", None),
        ("application/json", b"", None),
        ("application/x-www-form-urlencoded", b"refresh_token=t&x=1", "t"),
        ("application/x-www-form-urlencoded", b"refresh_token=", ""),
        ("application/x-www-form-urlencoded", b"x=1", None),
        ("text/plain", b'{"refresh_token": "t"}', None),
        (None, b'{"refresh_token": "t"}', None),
    ],
)
def test_refresh_token_in_body(content_type: str | None, body: bytes, expected: object) -> None:
    assert refresh_token_in_body(content_type, body) == expected


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{not json"),
        ("application/json", b"[1]"),
        ("application/json", b"[" * 10_000),
        ("application/json", b"\xff\xfe"),
        ("application/json", b"NaN"),
        ("application/json", b" " * (MAX_REFRESH_BODY + 1)),
        ("application/x-www-form-urlencoded", b"refresh_token=a&refresh_token=b"),
        ("application/x-www-form-urlencoded", b"&".join([b"a=1"] * 101)),
    ],
)
def test_bad_refresh_bodies(content_type: str, body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        refresh_token_in_body(content_type, body)


def test_token_body_and_session_list_body(manager: SessionManager) -> None:
    pair = manager.login("alice")
    full = token_body(pair, NOW, tokens_in_body=True, extra={"user": "alice"})
    assert full == {**pair.body(NOW), "user": "alice"}
    assert token_body(pair, NOW, tokens_in_body=False) == {
        "token_type": "Bearer", "expires_in": 900, "csrf_token": pair.csrf_token
    }  # fmt: skip
    sessions = [SessionInfo("a", "alice", 1.0, 2.0, 3.0, "UA", "192.0.2.1"),
                SessionInfo("b", "alice", 1.0, 2.0, 3.0)]  # fmt: skip
    assert session_list_body(sessions, "b") == {"sessions": [
        {"session_id": "a", "created_at": 1.0, "last_seen": 2.0, "expires_at": 3.0,
         "user_agent": "UA", "ip": "192.0.2.1", "current": False},
        {"session_id": "b", "created_at": 1.0, "last_seen": 2.0, "expires_at": 3.0,
         "user_agent": "", "ip": "", "current": True},
    ]}  # fmt: skip


# -- SessionEndpoints ------------------------------------------------------------------------------


def test_endpoint_plans(manager: SessionManager) -> None:
    endpoints = SessionEndpoints(manager)
    login = endpoints.login(view(headers={"User-Agent": "Phone/1"}), "alice", tokens_in_body=False)
    assert login.status == 200
    assert login.error is None
    assert set(login.body or {}) == {"token_type", "expires_in", "csrf_token"}
    assert dict(login.headers) == {"Cache-Control": "no-store", "Pragma": "no-cache"}
    assert len(login.set_cookies) == 3
    [session] = manager.sessions("alice")
    assert (session.user_agent, session.ip) == ("Phone/1", "192.0.2.1")

    cookies = {c.split("=", 1)[0]: c.split(";", 1)[0] for c in login.set_cookies}
    csrf = cookies[CSRF_COOKIE].split("=", 1)[1]
    jar = {"Cookie": f"{cookies[REFRESH]}; {cookies[CSRF_COOKIE]}"}
    refused = endpoints.refresh(view(headers=jar))
    assert (refused.status, type(refused.error), refused.set_cookies) == (403, CSRFError, ())
    renewed = endpoints.refresh(view(headers={**jar, "X-CSRF-Token": csrf}))
    assert renewed.status == 200
    assert set(renewed.body or {}) == {"token_type", "expires_in", "csrf_token"}
    asked = endpoints.refresh(view(headers={**jar, "X-CSRF-Token": csrf}), tokens_in_body=True)
    assert asked.error is not None  # reuse: refused, and the cookies deleted
    assert len(asked.set_cookies) == 3
    assert all("Max-Age=0" in c for c in asked.set_cookies)

    assert endpoints.logout(ANONYMOUS).status == 401
    assert endpoints.sessions(None).status == 401


def test_async_twins(manager: SessionManager) -> None:
    endpoints = SessionEndpoints(manager)

    async def main() -> list[ResponsePlan]:
        login = await endpoints.alogin(view(), "alice")
        body = json.dumps({"refresh_token": (login.body or {})["refresh_token"]}).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        assert endpoints.wants_body(view(headers=headers))
        refreshed = await endpoints.arefresh(view(headers=headers), body, extra={"n": 1})
        return [login, refreshed]

    login, refreshed = anyio.run(main)
    assert set(refreshed.body or {}) == {*(login.body or {}), "n"}
    assert not SessionEndpoints(manager).wants_body(view(headers={"Content-Type": "text/plain"}))
    big = {"Content-Type": "application/json", "Content-Length": str(MAX_REFRESH_BODY + 1)}
    assert not endpoints.wants_body(view(headers=big))
    assert endpoints.refresh(view(headers=big)).status == 400  # refused by its length alone


# -- the public module -----------------------------------------------------------------------------


def test_integration_all_is_sorted_complete_and_importable() -> None:
    assert integration.__all__ == sorted(integration.__all__)
    public = {n for n in vars(integration) if not n.startswith("_") and n != "annotations"}
    assert public == set(integration.__all__)


def test_integration_imports_no_framework() -> None:
    code = (
        "import sys, jwtmiddleware.integration; "
        "print(sorted(m for m in ('flask', 'quart', 'django', 'starlette', 'fastapi', 'redis') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
