"""``examples/observability_app.py`` under uvicorn and gunicorn, over real HTTP: Prometheus
scrapes ``/metrics`` next to the protected app, and ``/ready`` answers the readiness probe."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jwtmiddleware import Settings
from jwtmiddleware.testing import mint_token
from tests.servers import (
    RunningServer,
    free_port,
    gunicorn_argv,
    run_server,
    server_env,
    uvicorn_argv,
)

pytestmark = pytest.mark.slow

SERVERS = {
    "uvicorn": lambda port: uvicorn_argv("examples.observability_app:create_app", port),
    "gunicorn": lambda port: gunicorn_argv("examples.observability_app:create_wsgi_app()", port),
}


@pytest.fixture(params=sorted(SERVERS))
def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[RunningServer, Settings]]:
    secret = secrets.token_urlsafe(48)
    env = {
        "JWTMIDDLEWARE_SECRET": secret,
        "JWTMIDDLEWARE_STORE": f"sqlite:///{tmp_path / 'sessions.db'}",
        "JWTMIDDLEWARE_METRICS": "prometheus",
        "JWTMIDDLEWARE_STATUS_PATH": "/ready",
        "JWTMIDDLEWARE_ISSUER": "https://issuer.test",
    }
    port = free_port()
    argv = SERVERS[request.param](port)
    with run_server(argv, port, env=server_env(env), ready_path="/ready") as running:
        yield running, Settings(secret=secret, issuer="https://issuer.test")
    assert "Traceback" not in running.stderr, running.stderr


def _sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(f"{name}{{{wanted}}}" if labels else name) + r" (\S+)"
    found = re.search(r"^" + pattern + "$", text, flags=re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_metrics_and_readiness_over_http(served: tuple[RunningServer, Settings]) -> None:
    server, settings = served
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        deadline = time.monotonic() + 10
        while (ready := http.get("/ready")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.05)
        assert ready.json()["mirror"]["fresh"] is True
        token = mint_token(settings)
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(3):
            assert http.get("/api/me", headers=auth).json() == {"subject": "user-1"}
        expired = mint_token(settings, ttl=-120)
        assert (
            http.get("/api/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
        )
        assert http.get("/api/me").status_code == 401
        text = http.get("/metrics").text
    decisions = "jwtmiddleware_decisions_total"
    assert _sample(text, decisions, outcome="allowed", reason="allowed") == 3
    assert _sample(text, decisions, outcome="refused", reason="expired") == 1
    assert _sample(text, decisions, outcome="refused", reason="missing") == 1
    assert _sample(text, "jwtmiddleware_cache_requests_total", result="hit") == 2
    assert _sample(text, "jwtmiddleware_verify_duration_seconds_count") == 2
    assert 0 <= _sample(text, "jwtmiddleware_mirror_lag_seconds") < 1.0
    assert _sample(text, "jwtmiddleware_mirror_resyncs_total", reason="start") == 1
    assert token not in text


@pytest.mark.timeout(300)
def test_the_metrics_benchmark_runs(tmp_path: Path) -> None:
    """``benchmarks/bench_metrics.py --quick`` keeps working (its numbers are not checked)."""
    import json
    import subprocess
    import sys

    from tests.servers import REPO_ROOT

    out = tmp_path / "metrics.json"
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "bench_metrics.py"), "--quick",
         "--json", str(out)],
        capture_output=True, text=True, timeout=240, cwd=REPO_ROOT, env=server_env(),
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    document = json.loads(out.read_text("utf-8"))
    paths = {(row["layer"], row["path"]) for row in document["added_us"]}
    assert paths == {(layer, path) for layer in ("asgi", "wsgi")
                     for path in ("hit", "miss", "refusal")}  # fmt: skip
    assert "prom/off" in done.stdout
