"""Shared by the browser tests: headless Chromium (Debian's package) driven by Playwright, and
the demo as a real server (``python -m jwtmiddleware.demo``) on a free loopback port.

Locally the tests skip, saying why, when ``/usr/bin/chromium`` or the ``playwright`` package is
missing; with ``CI`` set they fail instead.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.servers import HOST, RunningServer, free_port, run_server, server_env

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

__all__ = [
    "ACCESS",
    "CSRF",
    "UA_LAPTOP",
    "UA_PHONE",
    "WAIT_MS",
    "Shots",
    "browser",
    "cookie",
    "demo",
    "log_in",
    "new_device",
    "shots",
]

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Short lifetimes: an access token lives 20 s and is renewed once under 17 s are left, so
#: the Me page (polling every 1.5 s) sees a sliding refresh about 3 to 5 s after login.
ACCESS_TTL, REFRESH_THRESHOLD = "20", "17"
ACCESS, CSRF = "__Host-access_token", "__Host-csrf_token"
UA_LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0 Safari/537.36 laptop"
UA_PHONE = "Mozilla/5.0 (Linux; Android 14) HeadlessChrome/156.0 Mobile Safari/537.36 phone"
WAIT_MS = 15_000


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {missing}", pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningServer]:
    port = free_port()
    argv = [sys.executable, "-m", "jwtmiddleware.demo", "--host", HOST, "--port", str(port),
            "--access-ttl", ACCESS_TTL, "--refresh-threshold", REFRESH_THRESHOLD,
            "--log-level", "warning"]  # fmt: skip
    with run_server(argv, port, env=server_env()) as server:
        yield server


class Shots:
    """Numbered screenshots in the test's temporary directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    def __call__(self, page: Page, name: str) -> Path:
        self.count += 1
        path = self.directory / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(tmp_path: Path) -> Shots:
    directory = tmp_path / "screenshots"
    directory.mkdir()
    return Shots(directory)


def new_device(
    browser: Browser, user_agent: str, **options: Any
) -> tuple[BrowserContext, Page, list[str]]:
    """A fresh browser profile (its own cookie jar), a page, and the page's script errors.

    :param options: for ``browser.new_context`` (``viewport``, ``java_script_enabled``, ...).
    """
    options.setdefault("viewport", {"width": 1100, "height": 800})
    context = browser.new_context(user_agent=user_agent, **options)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


def log_in(page: Page, url: str, user: str = "alice", password: str = "wonderland") -> None:
    page.goto(f"{url}/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url(f"{url}/me")


def cookie(context: BrowserContext, name: str) -> dict[str, Any] | None:
    return next((dict(c) for c in context.cookies() if c["name"] == name), None)
