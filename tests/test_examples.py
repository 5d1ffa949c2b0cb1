"""The runnable examples in ``examples/``, one section per example.

Each example is run as a script (``python examples/<name>.py``: exit status 0 and the key lines
of its output) and, where it exposes functions, also imported and exercised in-process. To add
an example, add a section: a ``test_<name>_script`` test and any in-process tests.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"
SCRIPT_TIMEOUT = 60


def run_example(name: str, cwd: Path) -> str:
    """Run ``examples/<name>`` as a script in ``cwd``; assert it succeeds; return its stdout."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>`` as a module (the examples directory is no package)."""
    module_name = f"_example_{Path(name).stem}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def line_with(output: str, *parts: str) -> str:
    """The one output line containing every part (fails with the whole output otherwise)."""
    found = [line for line in output.splitlines() if all(p in line for p in parts)]
    assert len(found) == 1, f"{parts} in:\n{output}"
    return found[0]


# -- examples/download_tokens.py -------------------------------------------------------------------


@pytest.fixture
def downloads(tmp_path: Path) -> Any:
    module = load_example("download_tokens.py")
    demo = module.build(tmp_path / "downloads.db")
    yield module, demo
    demo.close()


def test_download_tokens_script(tmp_path: Path) -> None:
    out = run_example("download_tokens.py", tmp_path)
    assert line_with(out, "POST /login as alice").endswith("-> 200")
    assert "-> 200 (25 bytes for alice)" in line_with(out, "GET the link ")
    assert "-> 401 (The link was already used)" in line_with(out, "same link again")
    assert "-> 401" in line_with(out, "the link on another file")
    assert "-> 200" in line_with(out, "the link on its own file")
    assert "-> 401 (The access token expired)" in line_with(out, "minted 61 s ago")
    assert "-> 401" in line_with(out, "an access token instead of a link")
    assert "-> 401" in line_with(out, "minted before the logout")
    assert list(tmp_path.iterdir()) == []  # its SQLite file lived in a temporary directory


@pytest.mark.anyio
async def test_download_tokens_demo_in_process(downloads: Any) -> None:
    module, demo = downloads
    lines: list[str] = []
    seen = await module.run_demo(demo, out=lines.append)
    assert seen == {
        "login": 200,
        "first_use": 200,
        "second_use": 401,
        "other_file": 401,
        "own_file": 200,
        "expired": 401,
        "access_token": 401,
        "after_logout": 401,
    }
    assert len(lines) == 11


@pytest.mark.anyio
async def test_download_tokens_links_are_per_user_and_single_use(downloads: Any) -> None:
    _, demo = downloads
    async with demo.app_client() as app:
        login = await app.post("/login", json={"username": "bob", "password": "builder"})
        assert login.status_code == 200
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (await app.post("/links/report.pdf", headers=bearer)).status_code == 404
        assert (await app.post("/links/photo.jpg")).status_code == 401  # no token, no link
        wrong = await app.post("/login", json={"username": "bob", "password": "wonderland"})
        assert wrong.status_code == 401
        url = (await app.post("/links/photo.jpg", headers=bearer)).json()["url"]

    def download(_: int) -> tuple[int, str | None]:
        with demo.download_client() as files:
            answer = files.get(url)
            return answer.status_code, answer.headers.get("X-Downloaded-For")

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(download, range(10)))
    assert sorted(results, key=lambda r: r[0]) == [(200, "bob")] + [(401, None)] * 9
    with demo.download_client() as files:
        assert files.get("/health").status_code == 401  # the download server knows no one
        assert files.get("/download/photo.jpg").status_code == 401


# -- examples/refresh_flow.py ----------------------------------------------------------------------


@pytest.fixture
def refresh_demo() -> Any:
    module = load_example("refresh_flow.py")
    demo = module.build()
    yield module, demo
    demo.close()


def test_refresh_flow_script(tmp_path: Path) -> None:
    out = run_example("refresh_flow.py", tmp_path)
    assert line_with(out, "1. login").startswith("1. login: 200")
    assert "X-Refreshed-Token: no" in line_with(out, "2. GET /api/me: 200")
    step3 = line_with(out, "3. +250 s: 200")
    assert "X-Refreshed-Token received" in step3
    assert "Cache-Control: no-store" in step3
    assert "401 The access token expired" in line_with(out, "4. +400 s idle")
    assert "GET /api/me: 200" in line_with(out, "5. POST /auth/refresh: 200")
    assert "401" in line_with(out, "6. old refresh token replayed")
    line_with(out, "event hook: authn_token_reuse")
    assert "access token: 401; latest refresh token: 401" in line_with(out, "alice's latest")


def test_refresh_flow_demo_in_process(refresh_demo: Any) -> None:
    module, demo = refresh_demo
    seen = module.run_demo(demo, out=lambda line: None)
    assert seen["login"] == 200
    assert seen["fresh_call"] == (200, None)
    assert seen["sliding"] == (200, True, "no-store")
    assert seen["renewed_works"] == 200
    assert seen["idle"] == 401
    assert seen["rotation"] == 200
    assert seen["replay"] == 401
    assert seen["reuse_events"] == 1
    assert seen["after_reuse"] == (401, 401)


def test_refresh_flow_retry_within_grace(refresh_demo: Any) -> None:
    _, demo = refresh_demo
    refresh: Callable[[Any, str], Any] = lambda http, token: http.post(  # noqa: E731
        "/auth/refresh", json={"refresh_token": token}
    )
    with demo.client() as http:
        login = http.post("/auth/login", json={"username": "alice", "password": "wonderland"})
        assert http.post("/auth/login", json={"username": "alice"}).status_code == 401
        token = login.json()["refresh_token"]
        first = refresh(http, token)
        demo.clock.advance(5)  # a retry inside REFRESH_REUSE_GRACE: the same successor
        retry = refresh(http, token)
        assert first.status_code == retry.status_code == 200
        assert first.json() == retry.json() | {"expires_in": first.json()["expires_in"]}
        assert retry.json()["refresh_token"] == first.json()["refresh_token"]
        # Served the same successor, and reported: a replay in the window may be a thief.
        assert [e.name for e in demo.events] == [
            "authn_login_success",
            "session_created",
            "session_renewed",
            "authn_token_reuse",
        ]
        me = http.get(
            "/api/me", headers={"Authorization": f"Bearer {retry.json()['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json()["user"] == "alice"


@pytest.mark.anyio
async def test_download_tokens_login_rejects_junk(downloads: Any) -> None:
    _, demo = downloads
    async with demo.app_client() as app:
        for body in (b"not json", b"[1, 2]", '{"username": "alice", "password": "wönderland"}'):
            answer = await app.post("/login", content=body)
            assert answer.status_code == 401
