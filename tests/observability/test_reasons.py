"""Every refusal class, at the HTTP level through both middlewares: the same reason in the log
line, the metric label (Prometheus and OpenTelemetry), the trace span and, for a missing scope,
the ``authz_fail`` event; and never the token, a cookie or the secret in the logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jwtmiddleware import SessionManager
from jwtmiddleware.core.reasons import OUTCOMES, REASONS, REFUSAL_REASONS, reason_of
from jwtmiddleware.stores import open_store
from jwtmiddleware.stores.base import Store
from tests.http.harness import Result
from tests.observability.rig import (
    NOW,
    SECRET,
    Events,
    Rig,
    make_settings,
    mint,
    refusal_lines,
)

README = Path(__file__).resolve().parents[2] / "README.md"


@dataclass
class Scenario:
    """How to provoke one refusal reason."""

    status: int
    settings: dict[str, Any] = field(default_factory=dict)
    store: str | None = None  # "memory", "memory-per-request", "sqlite", "sqlite-per-request"
    #: Whether the refusal comes after the signature was verified (the line names ``sub``).
    verified: bool = False
    clock_raises: bool = False


SCENARIOS: dict[str, Scenario] = {
    "missing": Scenario(401),
    "invalid_request": Scenario(400),
    "malformed": Scenario(401),
    "bad_signature": Scenario(401),
    "unknown_key": Scenario(401),
    "expired": Scenario(401, verified=True),
    "not_yet_valid": Scenario(401, verified=True),
    "wrong_issuer": Scenario(401, verified=True),
    "wrong_audience": Scenario(401, {"audience": ("api",)}, verified=True),
    "wrong_type": Scenario(401),
    "claim_check": Scenario(
        401, {"claim_checks": ("tests.http.checks:tenant_is_acme",)}, verified=True
    ),
    "insufficient_scope": Scenario(403, {"required_scopes": ("admin",)}, verified=True),
    "csrf": Scenario(403, verified=True),
    "revoked_token": Scenario(401, store="memory", verified=True),
    "revoked_session": Scenario(401, store="memory", verified=True),
    "revoked_subject": Scenario(401, store="memory", verified=True),
    "revoked": Scenario(401, {"store_max_lag": 0}, store="memory", verified=True),
    "one_time_used": Scenario(401, {"one_time_paths": {"/download/*": "download"}}, store="memory"),
    "store_unavailable": Scenario(503, {"store_max_lag": 0}, store="sqlite", verified=True),
    "store_stale": Scenario(503, store="sqlite", verified=True),
    "internal_error": Scenario(401, clock_raises=True),
}
#: Refusals of the session endpoints, not of the middleware (tested in test_events).
ENDPOINT_REASONS = {"refresh_reuse", "session_limit", "account_disabled"}
#: Raised only by a custom error class or a bare TokenInvalid.
GENERIC = {"invalid_token"}


def test_every_refusal_reason_has_a_scenario() -> None:
    assert set(SCENARIOS) | ENDPOINT_REASONS | GENERIC == set(REFUSAL_REASONS)
    assert set(REASONS) == set(OUTCOMES["allowed"]) | set(REFUSAL_REASONS)


def test_the_readme_documents_exactly_the_reasons() -> None:
    text = README.read_text("utf-8")
    section = text.split("### Decision reasons", 1)[1].split("\n#", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)
    assert documented == list(REASONS)


def _clock_that_raises() -> float:
    raise RuntimeError("the clock broke")


class Provoke:
    """Builds the rig for one scenario and sends the refused request."""

    def __init__(self, kind: str, reason: str, tmp_path: Path, backend: str) -> None:
        self.reason, self.scenario = reason, SCENARIOS[reason]
        self.events = Events()
        self.store: Store | None = None
        if self.scenario.store == "memory":
            self.store = open_store("memory://")
        elif self.scenario.store == "sqlite":
            self.store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
        changes = {"event_hook": self.events, "store": self.store, **self.scenario.settings}
        self.settings = make_settings(**changes)
        clock = _clock_that_raises if self.scenario.clock_raises else None
        self.rig = Rig(kind, self.settings, backend=backend, store=self.store, clock=clock)
        #: Everything that must never reach a log line.
        self.secrets: list[str] = [SECRET]
        self.manager = (
            SessionManager(self.settings, self.store, clock=self.rig.clock)
            if self.store is not None
            else None
        )

    def token(self, claims: dict[str, Any] | None = None, **kw: Any) -> str:
        settings = kw.pop("settings", self.settings)
        token = mint(settings, claims, **kw)
        self.secrets.append(token)
        return token

    def send(self) -> Result:
        """The refused request (after whatever makes it refused)."""
        client, reason = self.rig.client, self.reason
        if reason in ("missing", "internal_error"):
            return client.get() if reason == "missing" else client.bearer(self.token())
        if reason == "invalid_request":
            token = self.token()
            return client.get(headers=[("Authorization", f"Bearer {token}")] * 2)
        if reason == "malformed":
            broken = self.token().rsplit(".", 1)[0]
            self.secrets.append(broken)
            return client.bearer(broken)
        if reason == "csrf":
            cookie = [("Cookie", f"access_token={self.token()}")]
            return client.request("POST", "/api", cookie)
        if reason == "one_time_used":
            return self._one_time_twice()
        return client.bearer(self._refused_token())

    def _refused_token(self) -> str:
        reason, settings = self.reason, self.settings
        simple: dict[str, Callable[[], str]] = {
            "bad_signature": lambda: self.token(settings=settings.replace(secret=SECRET[::-1])),
            "unknown_key": lambda: self.token(header={"kid": "no-such-key"}),
            "expired": lambda: self.token(ttl=-120),
            "not_yet_valid": lambda: self.token({"nbf": int(NOW) + 3600}),
            "wrong_issuer": lambda: self.token(settings=settings.replace(issuer="https://x.test")),
            "wrong_audience": lambda: self.token({"aud": "another-api"}),
            "wrong_type": lambda: self.token(header={"typ": "JWT"}),
            "claim_check": lambda: self.token({"tenant": "evil"}),
            "insufficient_scope": lambda: self.token({"scope": "read"}),
        }
        if reason in simple:
            return simple[reason]()
        assert self.manager is not None
        assert self.store is not None
        token = self.token({"jti": "jti-1", "sid": "sid-1"}, now=NOW - 10)
        if reason in ("revoked_token", "revoked"):
            self.manager.revoke_token("jti-1", issuer=settings.issuer or "")
        elif reason == "revoked_session":
            self.manager.revoke_session("sid-1")
        elif reason == "revoked_subject":
            self.manager.logout_everywhere("user-1")
        elif reason == "store_unavailable":
            self.store.close()
        elif reason == "store_stale":
            assert self.rig.middleware.start(5.0)  # loaded and fresh...
            self.rig.middleware.mirror.stop()  # ...then its follower stops
        return token

    def _one_time_twice(self) -> Result:
        assert self.manager is not None
        issued = self.manager.one_time("user-1", "download", "/download/report.pdf")
        self.secrets.append(issued.token)
        first = self.rig.client.get("/download/report.pdf", query=f"access_token={issued.token}")
        assert first.status == 200
        return self.rig.client.get("/download/report.pdf", query=f"access_token={issued.token}")

    def close(self) -> None:
        self.rig.middleware.close()
        if self.store is not None:
            self.store.close()


@pytest.fixture
def provoke(tmp_path: Path) -> Iterator[Callable[[str, str, str], Provoke]]:
    made: list[Provoke] = []

    def make(kind: str, reason: str, backend: str = "prometheus") -> Provoke:
        made.append(Provoke(kind, reason, tmp_path, backend))
        return made[-1]

    yield make
    for one in made:
        one.close()


def _assert_never_logged(caplog: pytest.LogCaptureFixture, secrets: list[str]) -> None:
    logged = caplog.text + "".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.args!r} {getattr(r, 'jwtmiddleware', '')}"
        for r in caplog.records
    )
    for secret in secrets:
        assert secret not in logged
        for segment in secret.split("."):
            if len(segment) >= 8:
                assert segment not in logged


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("reason", list(SCENARIOS))
def test_one_reason_in_the_log_line_the_metric_and_the_event(
    kind: str, reason: str, provoke: Callable[..., Provoke], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="jwtmiddleware")
    case = provoke(kind, reason)
    result = case.send()
    assert result.status == case.scenario.status
    assert not result.reached

    lines = refusal_lines(caplog)
    assert len(lines) == 1, [r.getMessage() for r in lines]
    line = lines[0]
    fields = line.jwtmiddleware  # type: ignore[attr-defined]
    assert fields["reason"] == reason
    assert f"reason={reason} " in line.getMessage()
    assert fields["status"] == case.scenario.status
    assert (fields["method"], fields["path"], fields["client"]) == (
        "POST" if reason == "csrf" else "GET",
        "/download/report.pdf" if reason == "one_time_used" else "/api",
        "127.0.0.1",
    )
    if case.scenario.verified:
        presented = "https://x.test" if reason == "wrong_issuer" else "https://issuer.test"
        assert (fields["iss"], fields["sub"]) == (presented, "user-1")
        assert re.fullmatch(r"[0-9a-f]{12}", fields["jti_hash"])
    else:
        assert "sub" not in fields
    expected_level = logging.WARNING if reason.startswith("store_") else logging.INFO
    assert line.levelno == expected_level

    refused = {k: v for k, v in case.rig.decisions().items() if k[0] == "refused"}
    assert refused == {("refused", reason): 1.0}
    authz = case.rig.sample("jwtmiddleware_session_events_total", event="authz_fail")
    if reason == "insufficient_scope":
        (event,) = case.events.seen
        assert (event.name, event.action, event.subject) == (
            "authz_fail",
            "insufficient_scope",
            "user-1",
        )
        assert event.detail == {"resource": "/api", "scopes": ["admin"]}
        assert authz == 1
    else:
        assert authz == 0
    _assert_never_logged(caplog, case.secrets)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("reason", list(SCENARIOS))
def test_the_same_reason_through_opentelemetry_and_the_current_span(
    kind: str, reason: str, provoke: Callable[..., Provoke], caplog: pytest.LogCaptureFixture
) -> None:
    case = provoke(kind, reason, "opentelemetry")
    otel = case.rig.otel
    with otel.tracer.start_as_current_span("GET /api"):
        result = case.send()
    assert result.status == case.scenario.status
    *_, span = otel.spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["error.type"] == reason
    assert "enduser.id" not in span.attributes  # OTEL_RECORD_SUBJECT is off
    assert otel.value("jwtmiddleware.decisions", outcome="refused", reason=reason) == 1
    refused = {
        dict(key)["reason"]: value
        for key, value in otel.metrics()["jwtmiddleware.decisions"].items()
        if dict(key)["outcome"] == "refused" and value
    }
    assert refused == {reason: 1}


def test_reason_of_stays_in_the_vocabulary() -> None:
    from jwtmiddleware import ClaimCheckFailed, StoreStale, TokenRevoked

    assert reason_of(ClaimCheckFailed("tenant", code="not-a-reason")) == "claim_check"
    assert reason_of(TokenRevoked("x", code="revoked_session")) == "revoked_session"
    assert reason_of(StoreStale("old")) == "store_stale"
    assert reason_of(RuntimeError("boom")) == "internal_error"


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_requests_that_proceed_are_allowed_exempt_or_anonymous(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="jwtmiddleware")
    settings = make_settings(exempt_paths=("/health",), optional_paths=("/public",))
    rig = Rig(kind, settings)
    token = mint(settings)
    assert rig.client.bearer(token).status == 200  # a miss
    assert rig.client.bearer(token).status == 200  # a hit
    cookie = [("Cookie", f"access_token={token}")]
    # The full path keeps its own cache (by token, not by header): a miss, then a hit.
    assert rig.client.get(headers=cookie).status == 200
    assert rig.client.get("/health").status == 200
    assert rig.client.get("/public").status == 200
    assert rig.client.get("/public", headers=cookie).status == 200
    assert rig.client.request("OPTIONS", "/api", [("Access-Control-Request-Method", "GET")])
    assert rig.decisions() == {
        ("allowed", "allowed"): 4,
        ("allowed", "exempt"): 2,
        ("allowed", "anonymous"): 1,
    }
    assert rig.sample("jwtmiddleware_cache_requests_total", result="miss") == 2
    assert rig.sample("jwtmiddleware_cache_requests_total", result="hit") == 2
    assert rig.sample("jwtmiddleware_verify_duration_seconds_count") == 2
    assert not refusal_lines(caplog)


@pytest.mark.parametrize("level", [None, "none", "WARNING"])
def test_log_refusals_sets_the_level_or_turns_the_lines_off(
    level: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="jwtmiddleware")
    rig = Rig("wsgi", make_settings(log_refusals=level))
    assert rig.client.get().status == 401
    lines = refusal_lines(caplog)
    if level == "WARNING":
        assert [r.levelno for r in lines] == [logging.WARNING]
    else:
        assert lines == []
    assert rig.decisions() == {("refused", "missing"): 1}  # still counted


def test_the_log_line_cannot_be_forged_through_the_path(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="jwtmiddleware")
    rig = Rig("wsgi", make_settings())
    rig.client.get("/api\nauthentication refused: reason=allowed")
    (line,) = refusal_lines(caplog)
    assert "\n" not in line.getMessage()
    assert line.jwtmiddleware["path"].startswith('"/api\\nauthentication')  # type: ignore[attr-defined]
