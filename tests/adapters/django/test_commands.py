"""``manage.py jwt_revoke / jwt_sessions / jwt_purge`` through ``call_command``."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from django_jwtmiddleware import session_manager
from jwtmiddleware.testing import mint_token

from .conftest import bearer, current_settings


def _run(*args: Any, **options: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def _login(subject: str) -> Any:
    return session_manager().login(subject, claims={"scope": "profile"})


def test_sessions_lists_live_sessions(jwt_config: dict[str, Any]) -> None:
    first, second = _login("alice"), _login("alice")
    text = _run("jwt_sessions", "alice")
    assert first.session_id in text
    assert second.session_id in text
    listed = json.loads(_run("jwt_sessions", "alice", "--json"))
    assert [s["session_id"] for s in listed] == [first.session_id, second.session_id]
    assert _run("jwt_sessions", "nobody") == "no live sessions for nobody\n"


def test_revoke_session_logs_one_device_out(client: Client) -> None:
    one, two = _login("bob"), _login("bob")
    assert _run("jwt_revoke", "--session", one.session_id) == f"revoked session {one.session_id}\n"
    assert client.get("/api/me", headers=bearer(one.access_token)).status_code == 401
    assert client.get("/api/me", headers=bearer(two.access_token)).status_code == 200
    assert "(it was not live)" in _run("jwt_revoke", session="no-such-session")


def test_revoke_subject_logs_out_everywhere(client: Client) -> None:
    one, two = _login("carol"), _login("carol")
    assert "(2 sessions ended)" in _run("jwt_revoke", "--subject", "carol")
    _login("erin")
    assert _run("jwt_revoke", "--subject", "erin").endswith("(1 session ended)\n")
    for pair in (one, two):
        assert client.get("/api/me", headers=bearer(pair.access_token)).status_code == 401


def test_revoke_jti_refuses_that_token(client: Client) -> None:
    settings = current_settings()
    token = mint_token(settings, {"jti": "jti-to-revoke"}, subject="dave")
    other = mint_token(settings, subject="dave")
    assert _run("jwt_revoke", jti="jti-to-revoke") == "revoked token jti-to-revoke\n"
    assert client.get("/api/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/me", headers=bearer(other)).status_code == 200


def test_revoke_needs_exactly_one_target() -> None:
    with pytest.raises(CommandError, match="one of the arguments"):
        _run("jwt_revoke")
    with pytest.raises(CommandError, match="not allowed with"):
        _run("jwt_revoke", "--jti", "a", "--subject", "b")


def test_purge_reports_a_count() -> None:
    assert _run("jwt_purge").startswith("purged ")


def test_store_option_targets_another_store(tmp_path: Any) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    _login("erin")
    assert _run("jwt_sessions", "erin", "--store", other) == "no live sessions for erin\n"
    assert _run("jwt_purge", store=other).startswith("purged ")


def test_bad_store_option_is_a_command_error() -> None:
    with pytest.raises(CommandError, match="STORE"):
        _run("jwt_purge", store="ftp://nowhere")


def test_store_failure_is_a_command_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from jwtmiddleware.core.errors import StoreUnavailable

    store = session_manager().store

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("down")

    monkeypatch.setattr(store, "list_sessions", broken)
    with pytest.raises(CommandError, match="StoreUnavailable"):
        _run("jwt_sessions", "x")
