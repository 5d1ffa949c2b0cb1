"""Auth events in the OWASP vocabulary: what each operation emits, sync and async hooks under
both drivers, hooks that raise, and the session endpoints' refusals (``refresh_reuse``,
``session_limit``) reported once with the same reason in the log line and the metric."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import anyio
import pytest
from prometheus_client import CollectorRegistry

from jwtmiddleware import (
    Authenticator,
    Identity,
    RequestInfo,
    SessionManager,
    Settings,
    StoreUnavailable,
    TokenExpired,
    TokenRevoked,
    Verifier,
)
from jwtmiddleware.http.sources import TokenSources
from jwtmiddleware.integration import Responder, SessionEndpoints, WSGIRequestView
from jwtmiddleware.telemetry.events import EVENTS
from jwtmiddleware.testing import FrozenClock
from tests.observability.rig import NOW, Events, Rig, make_settings, mint, refusal_lines


class AsyncEvents(Events):
    """An async ``EVENT_HOOK``: the event is recorded only once the coroutine ran."""

    async def __call__(self, event: Any) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        self.seen.append(event)


def _hook_raises(event: Any) -> None:
    raise RuntimeError("the observer broke")


async def _async_hook_raises(event: Any) -> None:
    await asyncio.sleep(0)
    raise RuntimeError("the async observer broke")


def _manager(tmp_path: Path, hook: Any, **changes: Any) -> SessionManager:
    settings = make_settings(store=f"sqlite:///{tmp_path / 'store.db'}", event_hook=hook, **changes)
    return SessionManager(settings, clock=FrozenClock(NOW), metrics=CollectorRegistry())


def _every_operation(manager: SessionManager) -> None:
    """Run every operation that emits events (sync)."""
    pair = manager.login("alice", info=RequestInfo("phone", "10.0.0.1"))
    assert isinstance(manager.clock, FrozenClock)
    manager.clock.advance(60)
    second = manager.refresh(pair.refresh_token)
    manager.clock.advance(60)
    with pytest.raises(TokenRevoked):
        manager.refresh(pair.refresh_token)  # reuse, past the grace window
    other = manager.login("alice")
    manager.logout(_identity(manager, other.access_token))
    manager.login_failed("mallory", info=RequestInfo("curl", "10.0.0.9"))
    manager.one_time("alice", "download", "/files/1")
    manager.revoke_token("some-jti", issuer="https://issuer.test")
    third = manager.login("alice")
    manager.revoke_session(third.session_id)
    manager.revoke_other_sessions("alice", None)
    manager.logout_everywhere("alice")
    assert second.session_id == pair.session_id


def _identity(manager: SessionManager, token: str) -> Identity:
    claims = Verifier(manager.settings).verify(token, manager.clock()).claims
    return Authenticator(manager.settings).identity_from_claims(claims, "header")


EXPECTED = [
    ("authn_login_success", "login"),
    ("session_created", "login"),
    ("session_renewed", "refresh"),
    ("authn_token_reuse", "refresh_token_reused"),
    ("authn_login_success", "login"),
    ("session_created", "login"),
    ("session_expired", "logout"),
    ("authn_login_fail", "login_failed"),
    ("authn_token_created", "one_time"),
    ("authn_token_revoked", "revoke_token"),
    ("authn_login_success", "login"),
    ("session_created", "login"),
    ("session_revoked", "revoke_session"),
    ("session_revoked", "revoke_other_sessions"),
    ("session_revoked", "logout_everywhere"),
]


def test_every_operation_emits_its_owasp_event(tmp_path: Path) -> None:
    events = Events()
    manager = _manager(tmp_path, events)
    _every_operation(manager)
    assert [(e.name, e.action) for e in events.seen] == EXPECTED
    assert {e.name for e in events.seen} | {"authz_fail"} == set(EVENTS)
    fail = next(e for e in events.seen if e.name == "authn_login_fail")
    assert (fail.subject, fail.detail) == ("mallory", {"ip": "10.0.0.9", "user_agent": "curl"})
    expired = next(e for e in events.seen if e.name == "session_expired")
    assert expired.detail == {"reason": "logout"}
    assert manager.telemetry is not None
    counts = manager.telemetry.counts.event_counts()
    assert counts["session_created"] == 3
    assert counts["session_revoked"] == 3
    assert counts["authz_fail"] == 0
    manager.close()


def test_a_session_past_max_session_age_is_expired(tmp_path: Path) -> None:
    events = Events()
    manager = _manager(tmp_path, events, max_session_age=3600, refresh_token_ttl=7200)
    pair = manager.login("alice")
    assert isinstance(manager.clock, FrozenClock)
    manager.clock.advance(3601)
    with pytest.raises(TokenExpired):
        manager.refresh(pair.refresh_token)
    last = events.seen[-1]
    assert (last.name, last.action, last.detail) == (
        "session_expired",
        "refresh",
        {"reason": "max_session_age"},
    )
    manager.close()


def test_an_async_hook_is_awaited_by_the_async_driver(tmp_path: Path) -> None:
    events = AsyncEvents()
    manager = _manager(tmp_path, events)

    async def main() -> None:
        pair = await manager.alogin("alice")
        assert [e.name for e in events.seen] == ["authn_login_success", "session_created"]
        await manager.arefresh(pair.refresh_token)
        assert events.names()[-1] == "session_renewed"
        await manager.alogin_failed("bob")
        assert events.names()[-1] == "authn_login_fail"
        await manager.arevoke_session(pair.session_id)
        assert events.names()[-1] == "session_revoked"

    anyio.run(main)
    manager.close()


def test_an_async_hook_runs_to_completion_under_the_sync_driver(tmp_path: Path) -> None:
    events = AsyncEvents()
    manager = _manager(tmp_path, events)
    manager.login("alice")  # no event loop in this thread: run in a fresh one
    assert events.names() == ["authn_login_success", "session_created"]
    manager.close()


def test_an_async_hook_is_scheduled_when_sync_code_runs_inside_a_loop(tmp_path: Path) -> None:
    events = AsyncEvents()
    manager = _manager(tmp_path, events)

    async def main() -> list[str]:
        manager.login("alice")  # a sync call from async code: scheduled on this loop
        for _ in range(10):
            await asyncio.sleep(0)
        return events.names()

    assert asyncio.run(main()) == ["authn_login_success", "session_created"]
    manager.close()


@pytest.mark.parametrize("hook", [_hook_raises, _async_hook_raises])
@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_hook_that_raises_is_logged_and_never_breaks_the_flow(
    tmp_path: Path, hook: Any, driver: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="jwtmiddleware")
    manager = _manager(tmp_path, hook)
    if driver == "sync":
        pair = manager.login("alice")
    else:

        async def main() -> Any:
            return await manager.alogin("alice")

        pair = anyio.run(main)
    assert pair.access_token
    raised = [r for r in caplog.records if r.getMessage() == "EVENT_HOOK raised"]
    assert len(raised) == 2  # both events of the login
    assert all(r.exc_info is not None for r in raised)
    manager.close()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("hook", ["sync", "async", "raises", "async-raises"])
def test_authz_fail_from_the_middleware(
    kind: str, hook: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jwtmiddleware")
    hooks = {"sync": Events(), "async": AsyncEvents(), "raises": _hook_raises,
             "async-raises": _async_hook_raises}  # fmt: skip
    settings = make_settings(required_scopes=("admin",), event_hook=hooks[hook])
    rig = Rig(kind, settings)
    token = mint(settings, {"scope": "read", "sid": "sid-9"})
    assert rig.client.bearer(token).status == 403
    assert rig.client.bearer(token).status == 403  # a cached refusal too
    recorder = hooks[hook]
    if isinstance(recorder, Events):
        seen = recorder.seen
        assert [(e.name, e.subject, e.session_id) for e in seen] == [
            ("authz_fail", "user-1", "sid-9")
        ] * 2
    else:
        assert [r.getMessage() for r in caplog.records].count("EVENT_HOOK raised") == 2
    assert rig.sample("jwtmiddleware_session_events_total", event="authz_fail") == 2
    assert rig.decisions() == {("refused", "insufficient_scope"): 2}


def _endpoints(tmp_path: Path, **changes: Any) -> tuple[SessionEndpoints, Events]:
    events = Events()
    manager = _manager(tmp_path, events, **changes)
    return SessionEndpoints(manager), events


def _view(content_type: str | None = None) -> WSGIRequestView:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/auth/refresh", "REMOTE_ADDR": "10.1.1.1"}
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    return WSGIRequestView(environ)


def test_refresh_reuse_is_one_reason_in_the_log_the_metric_and_the_event(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jwtmiddleware")
    endpoints, events = _endpoints(tmp_path, refresh_reuse_grace=0)
    manager = endpoints.manager
    pair = manager.login("alice")
    body = f'{{"refresh_token": "{pair.refresh_token}"}}'.encode()
    view = _view(content_type="application/json")
    assert endpoints.refresh(view, body).status == 200
    plan = endpoints.refresh(view, body)
    assert plan.error is not None
    assert plan.status == 401
    (line,) = refusal_lines(caplog)
    assert line.jwtmiddleware["reason"] == "refresh_reuse"  # type: ignore[attr-defined]
    assert line.jwtmiddleware["path"] == "/auth/refresh"  # type: ignore[attr-defined]
    assert events.names()[-1] == "authn_token_reuse"
    assert manager.telemetry is not None
    decisions = manager.telemetry.counts.decisions()
    assert decisions[("refused", "refresh_reuse")] == 1
    # An adapter rendering the plan through a Responder does not report it a second time.
    responder = Responder(manager.settings, TokenSources(manager.settings), manager.telemetry)
    assert responder.response_for(plan.error, view).status == 401
    assert len(refusal_lines(caplog)) == 1
    assert manager.telemetry.counts.decisions()[("refused", "refresh_reuse")] == 1
    assert pair.refresh_token not in caplog.text
    manager.close()


def test_a_login_over_the_session_limit_is_session_limit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jwtmiddleware")
    endpoints, _ = _endpoints(tmp_path, max_sessions_per_subject=1, session_limit_policy="deny_new")
    assert endpoints.login(_view(), "alice").status == 200
    plan = endpoints.login(_view(), "alice")
    assert plan.status == 403
    (line,) = refusal_lines(caplog)
    assert line.jwtmiddleware["reason"] == "session_limit"  # type: ignore[attr-defined]
    telemetry = endpoints.manager.telemetry
    assert telemetry is not None
    assert telemetry.counts.decisions()[("refused", "session_limit")] == 1
    endpoints.manager.close()


def test_the_drivers_time_store_calls_and_count_their_failures(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    settings = make_settings(store=f"sqlite:///{tmp_path / 'store.db'}")
    manager = SessionManager(settings, clock=FrozenClock(NOW), metrics=registry)
    manager.login("alice")

    def sample(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    assert sample("jwtmiddleware_store_duration_seconds_count", op="start_session") == 1
    assert sample("jwtmiddleware_store_errors_total", op="start_session") == 0
    manager.store.close()
    with pytest.raises(StoreUnavailable):
        manager.login("alice")  # its first store call (is the account disabled?) fails
    assert sample("jwtmiddleware_store_errors_total", op="get_value") == 1
    assert sample("jwtmiddleware_store_duration_seconds_count", op="start_session") == 1


def test_settings_without_metrics_record_nothing(tmp_path: Path) -> None:
    settings: Settings = make_settings(store=f"sqlite:///{tmp_path / 'store.db'}")
    manager = SessionManager(settings, clock=FrozenClock(NOW))
    assert manager.telemetry is None
    manager.login("alice")
    manager.close()
