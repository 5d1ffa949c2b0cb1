"""The ``jwtmiddleware`` command line: ``jwtmiddleware --help`` (the console script) or
``python -m jwtmiddleware --help``."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.settings import Settings
    from ..sessions.manager import SessionManager

from ..core._text import count
from ..core.errors import ConfigurationError, JWTMiddlewareError
from ..demo.command import add_arguments as add_demo_arguments
from ..demo.command import run as run_demo
from .keys import BadInput, add_key_commands
from .settings import add_settings_commands

__all__ = ["build_parser", "main", "program_name"]


def _settings(args: argparse.Namespace) -> Settings:
    from ..core.settings import ENV_PREFIX, Settings

    overrides: dict[str, Any] = {}
    if args.store:
        overrides["store"] = args.store
    if not any(os.environ.get(ENV_PREFIX + name) for name in ("SECRET", "KEYS")):
        # Store commands never sign or verify; a throwaway key satisfies validation.
        overrides.update(secret=secrets.token_urlsafe(64), algorithms=("HS256",), keys=())
    return Settings.from_env(**overrides)


def _manager(args: argparse.Namespace) -> SessionManager:
    from ..sessions.manager import SessionManager

    return SessionManager(_settings(args))  # the store is opened here


def _cmd_status(args: argparse.Namespace) -> int:
    """Open the store, load a revocation mirror as a worker would, print the state as JSON;
    exit 1 unless the mirror loaded (or, for a store without a change log, answered)."""
    from ..http.middleware import resolve_store
    from ..http.status import store_status
    from ..stores.base import RevocationQuery

    settings = _settings(args)
    store = resolve_store(settings, None)
    if store is None:
        raise BadInput("no store: give --store URL or set JWTMIDDLEWARE_STORE")
    mirror = None
    try:
        mirror = store.mirror(max_lag=settings.store_max_lag or 1.0, timeout=settings.store_timeout)
        if mirror is None:  # asked per request: is it answering?
            error = None
            try:
                store.is_revoked(RevocationQuery("", None, "status", None, None), now=time.time())
            except JWTMiddlewareError as exc:
                error = str(exc)
            ready, state = error is None, {**store_status(store, None), "error": error}
        else:
            ready = mirror.wait_ready(args.timeout)
            state = store_status(store, mirror)
        print(json.dumps({"ready": ready, **state}, indent=2))
        return 0 if ready else 1
    finally:
        if mirror is not None:
            mirror.stop()
        store.close()


def _cmd_revoke(args: argparse.Namespace) -> int:
    manager = _manager(args)
    try:
        if args.jti:
            manager.revoke_token(args.jti, issuer=args.issuer or manager.settings.issuer or "")
            print(f"revoked token {args.jti}")
        elif args.subject:
            ended = manager.logout_everywhere(args.subject, issuer=args.issuer)
            print(f"revoked every token of {args.subject} ({count(ended, 'session')} ended)")
        else:
            found = manager.revoke_session(args.session)
            print(f"revoked session {args.session}" + ("" if found else " (it was not live)"))
    finally:
        manager.store.close()
    return 0


def _cmd_sessions(args: argparse.Namespace) -> int:
    manager = _manager(args)
    try:
        sessions = manager.sessions(args.subject)
    finally:
        manager.store.close()
    if args.json:
        print(json.dumps([asdict(s) for s in sessions], indent=2))
        return 0
    if not sessions:
        print(f"no live sessions for {args.subject}")
    for s in sessions:
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.last_seen))
        print(f"{s.session_id}  last seen {seen}  {s.ip or '-'}  {s.user_agent or '-'}")
    return 0


def _cmd_purge(args: argparse.Namespace) -> int:
    manager = _manager(args)
    try:
        print(f"purged {count(manager.purge(), 'expired entry', 'expired entries')}")
    finally:
        manager.store.close()
    return 0


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store URL (default: JWTMIDDLEWARE_STORE)")


def program_name(argv0: str | None = None) -> str:
    """How the command was run, for usage lines: ``python -m jwtmiddleware`` when run as a
    module, else the console script's own name (``jwtmiddleware``).

    :param argv0: the path the program was started as (default ``sys.argv[0]``).
    """
    name = os.path.basename(sys.argv[0] if argv0 is None else argv0)
    if name in ("__main__.py", "-m", "-c", ""):
        return "python -m jwtmiddleware"
    if name.lower().endswith((".exe", ".py")):
        name = name.rsplit(".", 1)[0]
    # Called from elsewhere (tests, another tool's argv): name the console script.
    return name if name.startswith("jwtmiddleware") else "jwtmiddleware"


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of every subcommand.

    :param prog: the program name in usage lines (default: :func:`program_name`).
    """
    parser = argparse.ArgumentParser(
        prog=prog or program_name(),
        description="JWT authentication middleware: demo, management and key commands.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the demo (pages and API) on http://127.0.0.1:8000")
    add_demo_arguments(demo)
    demo.set_defaults(func=run_demo)

    revoke = sub.add_parser("revoke", help="revoke a token, a session, or a whole subject")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--jti", help="revoke one token by its jti")
    target.add_argument("--subject", help="revoke every token and session of a subject")
    target.add_argument("--session", help="revoke one device session by its sid")
    revoke.add_argument("--issuer", help="the tokens' iss (default: JWTMIDDLEWARE_ISSUER)")
    _store_option(revoke)
    revoke.set_defaults(func=_cmd_revoke)

    sessions = sub.add_parser("sessions", help="list the live device sessions of a subject")
    sessions.add_argument("subject")
    sessions.add_argument("--json", action="store_true", help="print JSON")
    _store_option(sessions)
    sessions.set_defaults(func=_cmd_sessions)

    purge = sub.add_parser("purge", help="delete expired entries from the store")
    _store_option(purge)
    purge.set_defaults(func=_cmd_purge)

    status = sub.add_parser(
        "status",
        help="the store's and the revocation mirror's state as JSON (exit 1 when not ready)",
    )
    _store_option(status)
    status.add_argument("--timeout", type=float, default=5.0, metavar="S",
                        help="seconds to wait for the mirror to load (default 5)")  # fmt: skip
    status.set_defaults(func=_cmd_status)

    add_key_commands(sub)
    add_settings_commands(sub)
    return parser


#: Options whose value may start with "-" (a jti or sid from another issuer): argparse would
#: read ``--jti -abc`` as two options, so the pair is passed on as ``--jti=-abc`` (a value
#: starting with "--" still needs the ``--jti=--abc`` form).
_ID_OPTIONS = frozenset({"--jti", "--subject", "--session", "--issuer"})


def _glued(argv: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        value = argv[index + 1] if index + 1 < len(argv) else ""
        if arg in _ID_OPTIONS and value.startswith("-") and not value.startswith("--"):
            out.append(f"{arg}={value}")
            index += 2
            continue
        out.append(arg)
        index += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(_glued(sys.argv[1:] if argv is None else list(argv)))
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except JWTMiddlewareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code
