"""What the three commands share: the session manager of ``settings.JWTMIDDLEWARE``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.management.base import CommandError

from jwtmiddleware.errors import JWTMiddlewareError

if TYPE_CHECKING:
    from jwtmiddleware import SessionManager

__all__ = ["add_store_option", "command_error", "manager_for"]


def add_store_option(parser: Any) -> None:
    """``--store URL``, overriding ``settings.JWTMIDDLEWARE["STORE"]``."""
    parser.add_argument(
        "--store", help='store URL (default: settings.JWTMIDDLEWARE["STORE"])', default=None
    )


def manager_for(options: dict[str, Any]) -> tuple[SessionManager, bool]:
    """The session manager to use, and whether the command must close its store afterwards.

    Without ``--store`` it is the one the middleware uses (same settings, same store object).
    """
    from jwtmiddleware import SessionManager

    from ...conf import get_runtime

    runtime = get_runtime()
    url = options.get("store")
    if not url:
        return runtime.manager, False
    try:
        settings = runtime.settings.replace(store=url)
        return SessionManager(settings, clock=runtime.clock), True
    except JWTMiddlewareError as exc:
        raise CommandError(str(exc)) from exc


def command_error(exc: JWTMiddlewareError) -> CommandError:
    """A ``CommandError`` (exit status 1, message on stderr) for a store or settings failure."""
    return CommandError(f"{type(exc).__name__}: {exc}")
