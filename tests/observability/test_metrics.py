"""The instruments, read back through prometheus_client's registry and the OpenTelemetry SDK:
exactly the documented names, shared by every middleware of one registry, and what they count
(cache hits and misses, verifications, the store, the mirror, JWKS fetches)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

from jwtmiddleware import (
    ConfigurationError,
    JWTMiddleware,
    JWTWSGIMiddleware,
    SessionManager,
    Settings,
)
from jwtmiddleware.stores import open_store
from jwtmiddleware.testing import mint_token
from tests.http.harness import NOW
from tests.keys.jwks_server import jwks_reply, serve
from tests.keys.material import jwks_of, signer
from tests.observability.rig import Rig, make_settings, mint, prometheus_names

PROMETHEUS_NAMES = {
    "jwtmiddleware_decisions",
    "jwtmiddleware_verify_duration_seconds",
    "jwtmiddleware_cache_requests",
    "jwtmiddleware_store_duration_seconds",
    "jwtmiddleware_store_errors",
    "jwtmiddleware_mirror_lag_seconds",
    "jwtmiddleware_mirror_resyncs",
    "jwtmiddleware_jwks_fetches",
    "jwtmiddleware_session_events",
}
OTEL_NAMES = {
    "jwtmiddleware.decisions",
    "jwtmiddleware.verify.duration",
    "jwtmiddleware.cache.requests",
    "jwtmiddleware.store.duration",
    "jwtmiddleware.store.errors",
    "jwtmiddleware.mirror.lag",
    "jwtmiddleware.mirror.resyncs",
    "jwtmiddleware.jwks.fetches",
    "jwtmiddleware.session.events",
}
LABELS = {
    "jwtmiddleware_decisions": {"outcome", "reason"},
    "jwtmiddleware_cache_requests": {"result"},
    "jwtmiddleware_store_duration_seconds": {"op", "le"},
    "jwtmiddleware_store_errors": {"op"},
    "jwtmiddleware_mirror_resyncs": {"reason"},
    "jwtmiddleware_jwks_fetches": {"result"},
    "jwtmiddleware_session_events": {"event"},
}


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("not called")


def _traffic(rig: Rig, settings: Settings) -> None:
    token = mint(settings, {"sid": "sid-1"})
    for _ in range(3):
        assert rig.client.bearer(token).status == 200
    assert rig.client.bearer(mint(settings, ttl=-120)).status == 401
    assert rig.client.get().status == 401


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_prometheus_registers_exactly_the_documented_names(kind: str, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = make_settings(store=store)
    rig = Rig(kind, settings, store=store)
    assert rig.middleware.start(5.0)
    _traffic(rig, settings)
    SessionManager(settings, store, metrics=rig.registry).login("alice")
    families = {m.name: m for m in rig.registry.collect()}
    assert set(families) == PROMETHEUS_NAMES
    for name, labels in LABELS.items():
        for sample in families[name].samples:
            assert set(sample.labels) <= labels, (name, sample.labels)
    assert rig.sample("jwtmiddleware_decisions_total", outcome="allowed", reason="allowed") == 3
    assert rig.sample("jwtmiddleware_decisions_total", outcome="refused", reason="expired") == 1
    assert rig.sample("jwtmiddleware_decisions_total", outcome="refused", reason="missing") == 1
    assert rig.sample("jwtmiddleware_cache_requests_total", result="hit") == 2
    assert rig.sample("jwtmiddleware_cache_requests_total", result="miss") == 2
    assert rig.sample("jwtmiddleware_verify_duration_seconds_count") == 2
    assert rig.sample("jwtmiddleware_verify_duration_seconds_bucket", le="0.025") == 2
    assert 0 <= rig.sample("jwtmiddleware_mirror_lag_seconds") < settings.store_max_lag
    assert rig.sample("jwtmiddleware_mirror_resyncs_total", reason="start") == 1
    assert rig.sample("jwtmiddleware_session_events_total", event="session_created") == 1
    assert rig.sample("jwtmiddleware_store_duration_seconds_count", op="start_session") == 1
    rig.middleware.close()
    store.close()


def test_the_families_exist_before_the_first_request() -> None:
    registry = CollectorRegistry()
    JWTWSGIMiddleware(lambda e, s: [], settings=make_settings(), metrics=registry)
    assert {family.name for family in registry.collect()} == PROMETHEUS_NAMES
    # In the text a scraper reads: counters with _total, histograms with their _created.
    exposed = {name.removesuffix("_total") for name in prometheus_names(registry)}
    assert {n for n in exposed if not n.endswith("_created")} == PROMETHEUS_NAMES


def test_middleware_on_the_default_registry_share_one_instrument_set(tmp_path: Path) -> None:
    settings = make_settings(metrics="prometheus", store=f"sqlite:///{tmp_path / 's.db'}")
    first = JWTMiddleware(_asgi_app, settings=settings)
    second = JWTWSGIMiddleware(lambda e, s: [], settings=settings)  # no duplicate registration
    manager = SessionManager(settings)
    assert first.telemetry is second.telemetry is manager.telemetry
    before = REGISTRY.get_sample_value("jwtmiddleware_session_events_total",
                                       {"event": "session_created"})  # fmt: skip
    manager.login("alice")
    after = REGISTRY.get_sample_value("jwtmiddleware_session_events_total",
                                      {"event": "session_created"})  # fmt: skip
    assert after == (before or 0) + 1
    for closing in (first, second, manager):
        closing.close()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_opentelemetry_records_the_same_instruments(kind: str, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = make_settings(store=store)
    rig = Rig(kind, settings, backend="opentelemetry", store=store)
    assert rig.middleware.start(5.0)
    _traffic(rig, settings)
    SessionManager(settings, store, metrics=rig.otel.provider).login("alice")
    otel = rig.otel
    data = otel.metrics()
    assert OTEL_NAMES - {"jwtmiddleware.store.errors", "jwtmiddleware.jwks.fetches"} <= set(data)
    assert otel.value("jwtmiddleware.decisions", outcome="allowed", reason="allowed") == 3
    assert otel.value("jwtmiddleware.decisions", outcome="refused", reason="expired") == 1
    assert otel.value("jwtmiddleware.cache.requests", result="hit") == 2
    assert otel.value("jwtmiddleware.cache.requests", result="miss") == 2
    verify = otel.value("jwtmiddleware.verify.duration")
    assert verify.count == 2
    assert 0 < verify.sum < 0.5
    assert 0 <= otel.value("jwtmiddleware.mirror.lag") < settings.store_max_lag
    assert otel.value("jwtmiddleware.mirror.resyncs", reason="start") == 1
    assert otel.value("jwtmiddleware.session.events", event="session_created") == 1
    assert otel.value("jwtmiddleware.store.duration", op="start_session").count == 1
    rig.middleware.close()
    store.close()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_otel_record_subject_puts_the_subject_on_the_span(kind: str) -> None:
    settings = make_settings(otel_record_subject=True, required_scopes=("read",))
    rig = Rig(kind, settings, backend="opentelemetry")
    token = mint(settings, {"scope": "read"})
    for headers in ([("Authorization", f"Bearer {token}")], [("Cookie", f"access_token={token}")]):
        for _ in range(2):  # verified, then from the cache
            with rig.otel.tracer.start_as_current_span("GET /api"):
                assert rig.client.get(headers=headers).status == 200
    with rig.otel.tracer.start_as_current_span("GET /api"):
        assert rig.client.bearer(mint(settings, {"scope": "write"})).status == 403
    spans = rig.otel.spans.get_finished_spans()
    assert [s.attributes.get("enduser.id") for s in spans] == ["user-1"] * 5  # type: ignore[union-attr]
    assert spans[-1].attributes["error.type"] == "insufficient_scope"  # type: ignore[index]
    assert "error.type" not in spans[0].attributes  # type: ignore[operator]


def test_otel_record_subject_needs_opentelemetry() -> None:
    settings = make_settings(otel_record_subject=True)
    with pytest.raises(ConfigurationError) as error:
        JWTMiddleware(_asgi_app, settings=settings)
    assert error.value.setting == "OTEL_RECORD_SUBJECT"
    with pytest.raises(ConfigurationError) as error:
        JWTWSGIMiddleware(lambda e, s: [], settings=settings, metrics=CollectorRegistry())
    assert error.value.setting == "OTEL_RECORD_SUBJECT"


def test_metrics_opentelemetry_uses_the_global_meter_provider(tmp_path: Path) -> None:
    """``METRICS = "opentelemetry"`` in a fresh process: the app sets the global provider."""
    script = textwrap.dedent(
        f"""
        import json
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        from jwtmiddleware import JWTWSGIMiddleware, Settings
        from jwtmiddleware.testing import mint_token
        settings = Settings(secret="{"s" * 40}", metrics="opentelemetry")
        app = JWTWSGIMiddleware(lambda e, s: s("200 OK", []) and [b""], settings=settings)
        token = mint_token(settings)
        statuses = []
        for auth in (token, token, "nope"):
            environ = {{"REQUEST_METHOD": "GET", "PATH_INFO": "/",
                       "HTTP_AUTHORIZATION": "Bearer " + auth}}
            app(environ, lambda status, headers, exc_info=None: statuses.append(status))
        points = {{}}
        for rm in reader.get_metrics_data().resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    for p in m.data.data_points:
                        key = m.name + repr(sorted((p.attributes or {{}}).items()))
                        points[key] = getattr(p, "value", None)
        print(json.dumps({{"statuses": statuses, "points": points}}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTMIDDLEWARE_")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["statuses"] == ["200 OK", "200 OK", "401 Unauthorized"]
    points = out["points"]
    allowed = "jwtmiddleware.decisions[('outcome', 'allowed'), ('reason', 'allowed')]"
    malformed = "jwtmiddleware.decisions[('outcome', 'refused'), ('reason', 'malformed')]"
    assert (points[allowed], points[malformed]) == (2, 1)
    assert points["jwtmiddleware.cache.requests[('result', 'hit')]"] == 1


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_jwks_fetches_are_counted_by_result(kind: str) -> None:
    idp = signer("ES256", "k1")
    with serve() as server:
        server.route("/jwks", jwks_reply(jwks_of(idp), max_age=600))
        settings = Settings(jwks_url=server.url + "/jwks", jwks_allow_http_loopback=True,
                            algorithms=["ES256"], token_type=None, cookie_name_prefix=False,
                            jwks_refetch_cooldown=30)  # fmt: skip
        rig = Rig(kind, settings)
        assert rig.client.bearer(mint_token(idp, now=NOW)).status == 200
        server.route("/jwks", jwks_reply({"keys": "not a list"}))
        stranger = signer("ES256", "k2")  # an unknown kid: one refetch, refused
        assert rig.client.bearer(mint_token(stranger, now=NOW)).status == 401
    assert rig.sample("jwtmiddleware_jwks_fetches_total", result="ok") == 1
    assert rig.sample("jwtmiddleware_jwks_fetches_total", result="error") == 1
    assert rig.sample("jwtmiddleware_decisions_total", outcome="refused",
                      reason="unknown_key") == 1  # fmt: skip


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_store_calls_per_request_are_timed_and_failures_counted(kind: str, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = make_settings(store=store, store_max_lag=0)
    rig = Rig(kind, settings, store=store)
    token = mint(settings)
    assert rig.client.bearer(token).status == 200
    assert rig.client.bearer(token).status == 200
    assert rig.sample("jwtmiddleware_store_duration_seconds_count", op="is_revoked") == 2
    store.close()
    assert rig.client.bearer(token).status == 503
    assert rig.sample("jwtmiddleware_store_errors_total", op="is_revoked") == 1
    assert rig.decisions() == {
        ("allowed", "allowed"): 2,
        ("refused", "store_unavailable"): 1,
    }
    assert rig.sample("jwtmiddleware_cache_requests_total", result="hit") == 2  # 1 hit + refused
    rig.middleware.close()


@pytest.mark.redis
@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_hung_then_killed_redis_shows_in_the_mirror_metrics(
    kind: str, redis_server_factory: Any
) -> None:
    server = redis_server_factory()
    lag = 0.4
    store = open_store(server.url, timeout=0.1)
    settings = make_settings(store=store, store_max_lag=lag, store_timeout=0.1)
    rig = Rig(kind, settings, store=store)
    assert rig.middleware.start(5.0)
    token = mint(settings)
    assert rig.client.bearer(token).status == 200
    assert rig.sample("jwtmiddleware_mirror_lag_seconds") < lag
    server.pause()  # hung: nothing answers, the mirror cannot confirm
    try:
        time.sleep(lag + 0.6)
        assert rig.sample("jwtmiddleware_mirror_lag_seconds") > lag
        assert rig.client.bearer(token).status == 503
    finally:
        server.resume()
    assert rig.decisions()[("refused", "store_stale")] == 1
    server.kill()  # gone: the follower's reads fail
    deadline = time.monotonic() + 10
    while rig.sample("jwtmiddleware_store_errors_total", op="follow") < 1:
        assert time.monotonic() < deadline, "no follower error counted"
        time.sleep(0.05)
    server.restart()
    while rig.client.bearer(token).status != 200:
        assert time.monotonic() < deadline, "the mirror did not recover"
        time.sleep(0.05)
    assert rig.sample("jwtmiddleware_mirror_lag_seconds") < lag
    resyncs = {
        s.labels["reason"]: s.value
        for m in rig.registry.collect()
        if m.name == "jwtmiddleware_mirror_resyncs"
        for s in m.samples
    }
    assert resyncs["start"] == 1
    assert sum(resyncs.values()) >= 2  # reloaded after the reconnect
    rig.middleware.close()
    store.close()


def test_metrics_takes_only_known_objects() -> None:
    with pytest.raises(ConfigurationError) as error:
        JWTWSGIMiddleware(lambda e, s: [], settings=make_settings(), metrics=object())
    assert error.value.setting == "METRICS"


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"metrics": "statsd"}, "METRICS"),
        ({"metrics": 3}, "METRICS"),
        ({"log_refusals": "LOUD"}, "LOG_REFUSALS"),
        ({"log_refusals": 3.5}, "LOG_REFUSALS"),
        ({"status_path": "ready"}, "STATUS_PATH"),
        ({"status_path": "/.well-known/jwks.json"}, "STATUS_PATH"),
        ({"otel_record_subject": "perhaps"}, "OTEL_RECORD_SUBJECT"),
    ],
)
def test_bad_settings_name_the_setting(changes: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        make_settings(**changes)
    assert error.value.setting == setting


def test_settings_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "JWTMIDDLEWARE_SECRET": "s" * 40,
            "JWTMIDDLEWARE_METRICS": "otel",
            "JWTMIDDLEWARE_LOG_REFUSALS": "warning",
            "JWTMIDDLEWARE_OTEL_RECORD_SUBJECT": "true",
            "JWTMIDDLEWARE_STATUS_PATH": "/ready",
        }
    )
    assert (settings.metrics, settings.log_refusals) == ("opentelemetry", "WARNING")
    assert (settings.otel_record_subject, settings.status_path) == (True, "/ready")
    assert Settings(secret="s" * 40, log_refusals=None).log_refusals is None
    assert Settings(secret="s" * 40, log_refusals="off").log_refusals is None


@pytest.mark.parametrize(
    ("backend", "extra"), [("prometheus", "prometheus"), ("opentelemetry", "otel")]
)
def test_a_missing_backend_names_its_extra(backend: str, extra: str) -> None:
    blocked = "prometheus_client" if backend == "prometheus" else "opentelemetry"
    script = textwrap.dedent(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == {blocked!r}:
                    raise ImportError("blocked for the test")
        sys.meta_path.insert(0, Block())
        from jwtmiddleware import ConfigurationError, Settings
        try:
            Settings(secret="{"s" * 40}", metrics={backend!r})
        except ConfigurationError as exc:
            print(exc.setting, exc.message)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("METRICS ")
    assert f"jwtmiddleware[{extra}]" in done.stdout
