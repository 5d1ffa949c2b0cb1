"""The sans-IO flow: path rules, effects, and the store failure policy, with no server."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from jwtmiddleware import (
    Authenticator,
    InsufficientScope,
    Settings,
    StoreUnavailable,
    TokenMissing,
    TokenRevoked,
)
from jwtmiddleware.core.effects import StoreCall
from jwtmiddleware.http.decision import PathRules
from jwtmiddleware.http.drive import run_sync
from jwtmiddleware.http.sources import RequestView
from jwtmiddleware.stores import MemoryStore
from jwtmiddleware.testing import mint_token
from tests.core.keyfactory import SECRET

NOW = 1_700_000_000.0


class View(RequestView):
    __slots__ = ("_headers",)

    def __init__(self, path: str = "/api", headers: dict[str, str] | None = None) -> None:
        super().__init__("GET", path, "", "127.0.0.1")
        self._headers = headers or {}

    def get_all(self, name: str) -> list[str]:
        value = self._headers.get(name)
        return [] if value is None else [value]


def bearer(token: str) -> View:
    return View(headers={"authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("/health", "exempt"),
        ("/health/", "required"),
        ("/static/app.js", "exempt"),
        ("/static/../api/me", "required"),
        ("/static/./x", "required"),
        ("/public", "optional"),
        ("/docs/x", "optional"),
        ("/api", "required"),
    ],
)
def test_path_rules(path: str, rule: str) -> None:
    s = Settings(
        secret=SECRET, exempt_paths=["/health", "/static/*"], optional_paths=["/public", "/docs*"]
    )
    assert PathRules(s).rule(path) == rule


def test_required_false_makes_every_path_optional() -> None:
    auth = Authenticator(Settings(secret=SECRET, required=False))
    result = auth.decide(View(), NOW)
    assert not result.identity.is_authenticated


def test_missing_token_on_required_path() -> None:
    with pytest.raises(TokenMissing):
        Authenticator(Settings(secret=SECRET)).decide(View(), NOW)


def test_required_scopes() -> None:
    s = Settings(secret=SECRET, required_scopes=["read", "write"])
    auth = Authenticator(s)
    ok = mint_token(s, {"scope": "read write admin"}, now=NOW)
    assert auth.decide(bearer(ok), NOW).identity.scopes == {"read", "write", "admin"}
    with pytest.raises(InsufficientScope) as info:
        auth.decide(bearer(mint_token(s, {"scope": "read"}, now=NOW)), NOW)
    assert info.value.scopes == ("read", "write")


def test_without_store_the_flow_yields_nothing() -> None:
    s = Settings(secret=SECRET)
    auth = Authenticator(s)
    assert not auth.uses_store
    flow = auth.flow(bearer(mint_token(s, now=NOW)), NOW)
    with pytest.raises(StopIteration):
        next(flow)


def _first_effect(gen: Generator[Any, Any, Any]) -> Any:
    return next(gen)


def test_flow_yields_one_revocation_check_then_a_touch() -> None:
    s = Settings(secret=SECRET, store="memory://", issuer="iss")
    auth = Authenticator(s)
    t = mint_token(s, {"sid": "S1"}, now=NOW)
    flow = auth.flow(bearer(t), NOW)
    effect = next(flow)
    assert isinstance(effect, StoreCall)
    assert effect.method == "is_revoked"
    query = effect.args[0]
    assert query.issuer == "iss"
    assert query.session_id == "S1"
    assert query.issued_at == int(NOW)
    touch = flow.send(False)
    assert isinstance(touch, StoreCall)
    assert touch.method == "touch_session"
    assert touch.args == ("S1",)
    with pytest.raises(StopIteration) as done:
        flow.send(True)
    assert done.value.value.identity.subject == "user-1"
    # the touch is throttled: a second request within the interval does not yield it
    flow2 = auth.flow(bearer(t), NOW + 1)
    next(flow2)
    with pytest.raises(StopIteration):
        flow2.send(False)


def test_revoked_answer_raises() -> None:
    s = Settings(secret=SECRET, store="memory://")
    flow = Authenticator(s).flow(bearer(mint_token(s, now=NOW)), NOW)
    next(flow)
    with pytest.raises(TokenRevoked):
        flow.send(True)


@pytest.mark.parametrize(("policy", "passes"), [("closed", False), ("open", True)])
def test_store_failure_policy(policy: str, passes: bool) -> None:
    s = Settings(secret=SECRET, store="memory://", store_failure=policy)  # type: ignore[arg-type]
    auth = Authenticator(s)
    flow = auth.flow(bearer(mint_token(s, now=NOW)), NOW)
    next(flow)
    if passes:
        with pytest.raises(StopIteration):
            flow.throw(StoreUnavailable("down"))
        assert auth.store_failures_allowed == 1
    else:
        with pytest.raises(StoreUnavailable):
            flow.throw(StoreUnavailable("down"))


def test_sync_driver_answers_from_a_real_memory_store() -> None:
    s = Settings(secret=SECRET, store="memory://")
    store = MemoryStore()
    auth = Authenticator(s)
    t = mint_token(s, {"jti": "J1"}, now=NOW)
    assert run_sync(auth.flow(bearer(t), NOW), store).identity.subject == "user-1"
    store.revoke_token("", "J1", expires_at=NOW + 600, now=NOW)
    with pytest.raises(TokenRevoked):
        run_sync(auth.flow(bearer(t), NOW), store)
    store.close()


@pytest.mark.parametrize(
    ("current", "merged"),
    [
        ("Accept-Encoding", "Accept-Encoding, Authorization, Cookie"),
        ("cookie", "cookie, Authorization"),
        ("Authorization, Cookie", "Authorization, Cookie"),
        ("*", "*"),
    ],
)
def test_merge_vary(current: str, merged: str) -> None:
    from jwtmiddleware.http.middleware import merge_vary

    assert merge_vary(current, "Authorization, Cookie") == merged
