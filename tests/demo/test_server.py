"""``python -m jwtmiddleware.demo`` as a real server: its banner, its curl line, its temp store."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

import httpx
import pytest

from tests.servers import HOST, free_port, run_server, server_env

pytestmark = pytest.mark.slow


def demo_argv(port: int, *options: str) -> list[str]:
    """The demo on ``127.0.0.1:<port>`` with quiet logs."""
    return [sys.executable, "-m", "jwtmiddleware.demo", "--host", HOST, "--port", str(port),
            "--log-level", "warning", *options]  # fmt: skip


def test_the_demo_serves_prints_a_working_curl_and_cleans_up() -> None:
    port = free_port()
    url = f"http://{HOST}:{port}"
    curl = (
        f"curl -s -X POST {url}/auth/login -H 'Content-Type: application/json' "
        """-d '{"username": "carol", "password": "x y"}'"""
    )
    with run_server(demo_argv(port, "--user", "carol:x y"), port, env=server_env()) as server:
        if shutil.which("curl"):
            out = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=30,
                                 check=True).stdout  # fmt: skip
            token = httpx.Response(200, content=out).json()["access_token"]
        else:  # the same request without curl
            response = httpx.post(f"{url}/auth/login", json={"username": "carol",
                                                             "password": "x y"})  # fmt: skip
            token = response.json()["access_token"]
        me = httpx.get(f"{url}/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["subject"] == "carol"
        page = httpx.get(f"{url}/sessions")
        assert (page.status_code, page.headers["location"]) == (303, "/login?next=/sessions")
        assert httpx.get(f"{url}/login").status_code == 200
    banner = server.stdout
    assert f"jwtmiddleware demo on {url}" in banner
    assert "carol / x y" in banner
    assert curl in banner
    match = re.search(r"store:  SQLite at (\S+)", banner)
    assert match is not None, banner
    # The default store lives in a temporary directory removed when the demo stops.
    assert not os.path.exists(os.path.dirname(match.group(1)))


def test_a_bad_setting_stops_the_demo_with_a_clear_message(tmp_path: object) -> None:
    env = server_env({"JWTMIDDLEWARE_LEEWAY": "soon"})
    result = subprocess.run(demo_argv(free_port()), env=env, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "configuration error: LEEWAY" in result.stderr
