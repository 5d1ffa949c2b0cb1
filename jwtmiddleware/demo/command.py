"""The ``demo`` command: its options and its runner, for ``python -m jwtmiddleware demo`` and
``python -m jwtmiddleware.demo``.

Importing this module imports neither Starlette nor uvicorn: :func:`run` checks for them and
explains how to install the ``demo`` extra when they are missing.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import shlex
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from typing import TextIO

from ..core.errors import ConfigurationError
from ..core.settings import ENV_PREFIX
from .config import DemoConfig, demo_settings
from .users import DEFAULT_USERS, parse_user

__all__ = ["add_arguments", "banner", "build_config", "run"]

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _user(value: str) -> tuple[str, str]:
    try:
        return parse_user(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options to ``parser`` (the ``demo`` subcommand's, or a standalone one)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on "
                        "(default 127.0.0.1)")  # fmt: skip
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--store",
        metavar="URL",
        help="session store URL, e.g. sqlite:///demo.db (default: JWTMIDDLEWARE_STORE, else a "
        "SQLite file in a temporary directory removed at exit)",
    )
    parser.add_argument(
        "--user",
        metavar="NAME:PASSWORD",
        action="append",
        type=_user,
        dest="users",
        help="a user who may log in (repeatable; default alice:wonderland and bob:builder)",
    )
    parser.add_argument(
        "--access-ttl",
        metavar="SECONDS",
        type=_seconds,
        help="access-token lifetime (default: JWTMIDDLEWARE_ACCESS_TOKEN_TTL, else 300)",
    )
    parser.add_argument(
        "--refresh-threshold",
        metavar="SECONDS",
        type=_seconds,
        help="re-issue access tokens with less than this left; 0 turns sliding refresh off "
        "(default: JWTMIDDLEWARE_REFRESH_THRESHOLD, else 80%% of the access-token lifetime)",
    )
    parser.add_argument("--log-level", default="info", choices=_LOG_LEVELS,
                        help="uvicorn's log level (default info)")  # fmt: skip


def build_config(args: argparse.Namespace, store_dir: str | None = None) -> DemoConfig:
    """The demo's configuration from parsed options and the environment.

    :raises ConfigurationError: for a bad setting, naming it.
    """
    return demo_settings(
        store=args.store,
        store_dir=store_dir,
        users=args.users or DEFAULT_USERS,
        access_ttl=args.access_ttl,
        refresh_threshold=args.refresh_threshold,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def banner(config: DemoConfig, url: str, users: Sequence[tuple[str, str]], host: str) -> str:
    """What the demo prints at start-up: where it is, who can log in, one ``curl`` that works."""
    settings = config.settings
    first, password = users[0]
    credentials = json.dumps({"username": first, "password": password})
    login = (
        f"curl -s -X POST {url}/auth/login -H 'Content-Type: application/json' "
        f"-d {shlex.quote(credentials)}"
    )
    threshold = settings.refresh_threshold
    lines = [
        f"jwtmiddleware demo on {url}  (open it in a browser; Ctrl+C stops it)",
        "  users:  " + ", ".join(f"{name} / {pw}" for name, pw in users),
        f"  store:  {config.store_label}",
        f"  tokens: access {settings.access_token_ttl:g} s, sliding refresh "
        + (f"under {threshold:g} s left" if threshold else "off")
        + f", cookies {'Secure, ' if settings.cookie_secure else ''}HttpOnly, "
        f"SameSite={settings.cookie_samesite}, CSRF header {settings.csrf_header_name}",
    ]
    if config.generated_key:
        lines.append(
            "  key:    a development HS256 key generated at start-up (tokens die with "
            "the demo; set JWTMIDDLEWARE_SECRET or JWTMIDDLEWARE_KEYS to keep one)"
        )
    lines += [
        "  log in from a script (the answer holds access_token and refresh_token):",
        f"    {login}",
        f"  then: curl -s {url}/api/me -H 'Authorization: Bearer <access_token>'",
    ]
    if settings.cookie_secure and not _is_loopback(host):
        lines.append(
            "  note: browsers keep Secure cookies over plain http only for 127.0.0.1 and "
            "localhost; put TLS in front or set JWTMIDDLEWARE_COOKIE_SECURE=false to log in "
            "from another machine"
        )
    return "\n".join(lines)


def _serve(args: argparse.Namespace, store_dir: str | None, out: TextIO) -> int:
    import uvicorn

    from .app import build_app

    try:
        config = build_config(args, store_dir)
        app = build_app(config)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    host = args.host
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{args.port}"
    print(banner(config, url, args.users or DEFAULT_USERS, host), file=out, flush=True)
    try:
        with _stop_on_sigterm():
            uvicorn.run(app, host=host, port=args.port, log_level=args.log_level)
    except (_Stopped, KeyboardInterrupt):
        return 0  # uvicorn shut down cleanly, then re-raised the signal that stopped it
    except SystemExit as exc:  # uvicorn exits when it cannot bind, for example
        return exc.code if isinstance(exc.code, int) else 1
    return 0


class _Stopped(Exception):
    """SIGTERM arrived: unwind so the temporary store directory is removed."""


def _raise_stopped(signum: int, frame: object) -> None:
    raise _Stopped


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM (re-raised by uvicorn after its graceful shutdown) into an exception.

    Python's default SIGTERM action ends the process on the spot, skipping the clean-up of
    the temporary directory; SIGINT already arrives as ``KeyboardInterrupt``.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run the demo until interrupted; returns the exit code (2 for bad input).

    Without ``--store`` or ``JWTMIDDLEWARE_STORE``, sessions go to a SQLite file in a
    temporary directory that is removed when the demo stops.
    """
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        print(f"the demo needs the demo extra: pip install 'jwtmiddleware[demo]' ({exc})",
              file=sys.stderr)  # fmt: skip
        return 2
    out = out or sys.stdout
    if args.store is not None or os.environ.get(ENV_PREFIX + "STORE"):
        return _serve(args, None, out)
    with tempfile.TemporaryDirectory(prefix="jwtmiddleware-demo-") as store_dir:
        return _serve(args, store_dir, out)
