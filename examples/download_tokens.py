"""Download links with one-time tokens: an app server issues them, a download server checks them.

Run it::

    python examples/download_tokens.py

Two separate apps, as they would be deployed (here driven in-process with httpx; needs
``pip install "jwtmiddleware[starlette]" httpx``):

- the **app server** (ASGI, Starlette) logs users in and, for a logged-in user, hands out links
  like ``/download/report.pdf?access_token=...``: a one-time token from
  :meth:`SessionManager.one_time`, good for that one file, for one minute, once;
- the **download server** (plain WSGI) has no users and no login. It shares the signing key and
  the SQLite store with the app server and accepts only one-time tokens, only on
  ``/download/*`` (``ONE_TIME_PATHS``), consuming each one atomically in the store: a link
  that was already used, forwarded to another file, expired, or belongs to a user who logged
  out everywhere is refused with 401.

The demo runs on a :class:`~jwtmiddleware.testing.FrozenClock` so "a minute later" is instant.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwtmiddleware import JWTMiddleware, JWTWSGIMiddleware, SessionManager, Settings
from jwtmiddleware.stores import SQLiteStore
from jwtmiddleware.testing import FrozenClock

__all__ = ["FILES", "USERS", "DownloadDemo", "build", "main", "run_demo"]

USERS = {"alice": "wonderland", "bob": "builder"}
#: What the download server serves, and who may get a link to it.
FILES = {
    "report.pdf": (b"%PDF-1.7 quarterly report", {"alice"}),
    "payroll.csv": (b"name,salary\nalice,100\n", {"alice"}),
    "photo.jpg": (b"\xff\xd8\xff\xe0 holiday photo", {"alice", "bob"}),
}
ISSUER = "download-demo"
PURPOSE = "download"
START = 1_700_000_000.0

StartResponse = Callable[..., Any]


def shared_settings(secret: str, store_path: Path, **extra: Any) -> Settings:
    """What both servers agree on: the key, the issuer and the store."""
    return Settings(
        secret=secret, issuer=ISSUER, store=f"sqlite:///{store_path}", leeway=0, **extra
    )


# -- the app server --------------------------------------------------------------------------------


def app_server(
    settings: Settings, manager: SessionManager, store: SQLiteStore, clock: Callable[[], float]
) -> Starlette:
    """Login and link issuing; every route but ``/login`` needs an access token."""

    async def login(request: Request) -> JSONResponse:
        try:
            form = await request.json()
        except ValueError:
            form = None
        form = form if isinstance(form, dict) else {}
        user, password = str(form.get("username", "")), str(form.get("password", ""))
        expected = USERS.get(user)
        if expected is None or not hmac.compare_digest(password.encode(), expected.encode()):
            return JSONResponse({"error": "bad credentials"}, status_code=401)
        pair = await manager.alogin(user)
        return JSONResponse(pair.body(clock()))

    async def link(request: Request) -> JSONResponse:
        user = request.user.subject  # the verified Identity (Starlette's request.user)
        name = request.path_params["name"]
        if name not in FILES or user not in FILES[name][1]:
            return JSONResponse({"error": "no such file"}, status_code=404)
        path = f"/download/{name}"
        issued = manager.one_time(user, PURPOSE, path)
        return JSONResponse(
            {"url": f"{path}?access_token={quote(issued.token)}", "expires_at": issued.expires_at}
        )

    async def logout_everywhere(request: Request) -> JSONResponse:
        ended = await manager.alogout_everywhere(request.user.subject)
        return JSONResponse({"sessions_ended": ended})

    return Starlette(
        routes=[
            Route("/login", login, methods=["POST"]),
            Route("/links/{name}", link, methods=["POST"]),
            Route("/logout-everywhere", logout_everywhere, methods=["POST"]),
        ],
        middleware=[Middleware(JWTMiddleware, settings=settings, store=store, clock=clock)],
    )


# -- the download server ---------------------------------------------------------------------------


def download_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Serve a file; the middleware already checked and consumed the one-time token."""
    identity = environ["jwtmiddleware.identity"]
    name = environ["PATH_INFO"].removeprefix("/download/")
    if name not in FILES:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such file\n"]
    data = FILES[name][0]
    start_response("200 OK", [
        ("Content-Type", "application/octet-stream"),
        ("Content-Disposition", f'attachment; filename="{name}"'),
        ("Content-Length", str(len(data))),
        ("X-Downloaded-For", identity.subject),
    ])  # fmt: skip
    return [data]


# -- wiring ----------------------------------------------------------------------------------------


@dataclass
class DownloadDemo:
    app_server: Starlette
    download_server: JWTWSGIMiddleware
    manager: SessionManager
    clock: FrozenClock
    stores: tuple[SQLiteStore, ...]

    def app_client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app_server)
        return httpx.AsyncClient(transport=transport, base_url="https://app.example")

    def download_client(self) -> httpx.Client:
        transport = httpx.WSGITransport(app=self.download_server)
        return httpx.Client(transport=transport, base_url="https://files.example")

    def close(self) -> None:
        for store in self.stores:
            store.close()


def build(store_path: Path, *, secret: str | None = None, clock: FrozenClock | None = None) -> (
    DownloadDemo
):  # fmt: skip
    """Both servers over one SQLite file, as two processes on one host would share it."""
    secret = secret or secrets.token_urlsafe(48)
    clock = clock or FrozenClock(START)
    app_settings = shared_settings(secret, store_path, exempt_paths=("/login",))
    download_settings = shared_settings(
        secret,
        store_path,
        one_time_paths={"/download/*": PURPOSE},
        one_time_token_ttl=60,
        sources=("header",),  # no cookies here: links carry their token in the query
    )
    app_store = SQLiteStore(store_path)
    download_store = SQLiteStore(store_path)  # its own connections, like another process
    manager = SessionManager(app_settings, app_store, clock=clock)
    return DownloadDemo(
        app_server=app_server(app_settings, manager, app_store, clock),
        download_server=JWTWSGIMiddleware(
            download_app, settings=download_settings, store=download_store, clock=clock
        ),
        manager=manager,
        clock=clock,
        stores=(app_store, download_store),
    )


async def run_demo(demo: DownloadDemo, out: Callable[[str], object] = print) -> dict[str, int]:
    """Log in, get links, download; return the status of every step."""
    seen: dict[str, int] = {}
    async with demo.app_client() as app:
        with demo.download_client() as files:
            login = await app.post("/login", json={"username": "alice", "password": "wonderland"})
            bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
            seen["login"] = login.status_code
            out(f"app server   {'POST /login as alice':<34} -> {login.status_code}")

            async def new_link(name: str) -> str:
                answer = await app.post(f"/links/{name}", headers=bearer)
                return str(answer.json()["url"])

            def get(url: str, label: str, key: str) -> httpx.Response:
                answer = files.get(url)
                seen[key] = answer.status_code
                detail = (
                    f"{len(answer.content)} bytes for {answer.headers['X-Downloaded-For']}"
                    if answer.status_code == 200
                    else answer.json()["error_description"]
                )
                out(f"download     {label:<34} -> {answer.status_code} ({detail})")
                return answer

            url = await new_link("report.pdf")
            out(f"app server   {'POST /links/report.pdf':<34} -> {url[:60]}...")
            get(url, "GET the link", "first_use")
            get(url, "GET the same link again", "second_use")

            url = await new_link("report.pdf")
            get(
                url.replace("report.pdf", "payroll.csv", 1),
                "the link on another file",
                "other_file",
            )
            get(url, "the link on its own file", "own_file")

            url = await new_link("photo.jpg")
            demo.clock.advance(61)
            out("             ... 61 seconds later ...")
            get(url, "GET a link minted 61 s ago", "expired")

            get(f"/download/photo.jpg?access_token={bearer['Authorization'][7:]}",
                "an access token instead of a link", "access_token")  # fmt: skip

            url = await new_link("photo.jpg")
            demo.clock.advance(1)
            gone = await app.post("/logout-everywhere", headers=bearer)
            out(f"app server   {'POST /logout-everywhere':<34} -> {gone.status_code}")
            get(url, "a link minted before the logout", "after_logout")
    return seen


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        demo = build(Path(tmp) / "downloads.db")
        try:
            asyncio.run(run_demo(demo))
        finally:
            demo.close()


if __name__ == "__main__":
    main()
