"""What the demo runs with: settings from the environment, demo defaults and command-line flags.

Precedence, lowest first: the demo's defaults (a short access token with sliding refresh that
you can watch happen, an issuer name, a SQLite store in a temporary directory), then
``JWTMIDDLEWARE_*`` variables, then flags. A development HS256 key is generated at start-up
unless ``JWTMIDDLEWARE_SECRET`` or ``JWTMIDDLEWARE_KEYS`` is set. The paths the demo needs
(its login page, its one-time download path, its login-page redirect) are always added.

Nothing here imports Starlette: the command line loads this module to build and check settings
even when the ``demo`` extra is not installed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..core._coerce import to_float
from ..core.errors import AuthenticationError, TokenExpired, TokenMissing, TokenRevoked
from ..core.settings import ENV_PREFIX, Settings
from ..http.cookies import CookiePolicy
from ..http.responses import ErrorResponse
from ..stores._url import parse_store_url, redact_url
from .users import DEFAULT_USERS, UserDirectory

__all__ = [
    "DEFAULT_ACCESS_TTL",
    "DEMO_ISSUER",
    "DOWNLOAD_PATH",
    "EXEMPT_PATHS",
    "PAGE_PATHS",
    "REFRESH_RATIO",
    "DemoConfig",
    "LoginRedirect",
    "demo_settings",
]

#: ``iss`` of the demo's tokens unless ``JWTMIDDLEWARE_ISSUER`` says otherwise.
DEMO_ISSUER = "jwtmiddleware-demo"
#: Access-token lifetime: five minutes, so a sliding refresh is seen within a minute.
DEFAULT_ACCESS_TTL = 300.0
#: ``REFRESH_THRESHOLD`` defaults to this share of the access-token lifetime.
REFRESH_RATIO = 0.8
#: HTML pages: a refused request for one of them is redirected to the login page.
PAGE_PATHS = ("/me", "/sessions", "/lab", "/sessions/logout-all")
#: Paths served without a token (the login and refresh endpoints check their own proof).
EXEMPT_PATHS = (
    "/",
    "/login",
    "/health",
    "/auth/login",
    "/auth/refresh",
    "/static/*",
    "/.well-known/jwks.json",
)
#: The file the token lab's one-time links point at (``ONE_TIME_PATHS`` ``/download/*``).
DOWNLOAD_PATH = "/download/report.txt"
_ONE_TIME = (("/download/*", "download"),)


@dataclass(frozen=True)
class DemoConfig:
    """Everything :func:`~jwtmiddleware.demo.build_app` needs."""

    #: The middleware's settings (validated).
    settings: Settings
    #: Who may log in.
    users: UserDirectory
    #: ``True`` when the signing key was generated at start-up.
    generated_key: bool
    #: Where sessions and revocations are kept, for the banner (passwords redacted).
    store_label: str


class LoginRedirect:
    """The demo's ``ERROR_HANDLER``: page requests without a valid token go to the login page.

    So are the pages' forms (``POST /logout``, ``POST /sessions/...``), which come back to
    their page after the login. API paths keep the middleware's JSON answers. A revoked or
    otherwise unusable token also has its cookies cleared, so the login page starts clean; an
    expired one keeps them, as its refresh token may still be good.
    """

    def __init__(self, settings: Settings) -> None:
        self._clear = tuple(("set-cookie", value) for value in CookiePolicy(settings).clear())

    def __call__(self, error: Exception, request: Any) -> ErrorResponse | None:
        back = _back_to(getattr(request, "method", ""), getattr(request, "path", ""))
        if back is None:
            return None
        headers: tuple[tuple[str, str], ...] = ()
        if isinstance(error, TokenMissing):
            why = ""
        elif isinstance(error, TokenExpired):
            why = "expired"
        elif isinstance(error, TokenRevoked):
            why, headers = "revoked", self._clear
        elif isinstance(error, AuthenticationError) and error.status == 401:
            why, headers = "invalid", self._clear
        else:
            return None
        location = "/login?next=" + quote(back, safe="/")
        if why:
            location += "&why=" + why
        common = (("location", location), ("cache-control", "no-store"), ("vary", "Cookie"))
        return ErrorResponse(303, common + headers)


def _back_to(method: str, path: str) -> str | None:
    """The page to return to after logging in again, for a page or form request."""
    if method in ("GET", "HEAD"):
        return path if path in PAGE_PATHS else None
    if method == "POST" and path == "/logout":
        return "/me"
    if method == "POST" and path.startswith("/sessions/"):
        return "/sessions"
    return None


def _store_label(url: Any) -> str:
    if not isinstance(url, str):
        return type(url).__name__
    kind = parse_store_url(url)
    if kind.kind == "sqlite":
        return f"SQLite at {kind.target}"
    if kind.kind == "memory":
        return "in memory (forgotten when the demo stops)"
    return redact_url(url)


def demo_settings(
    environ: Mapping[str, str] | None = None,
    *,
    store: str | None = None,
    store_dir: str | None = None,
    users: UserDirectory | Sequence[tuple[str, str]] | None = None,
    access_ttl: float | None = None,
    refresh_threshold: float | None = None,
) -> DemoConfig:
    """Build the demo's configuration.

    :param environ: where ``JWTMIDDLEWARE_*`` variables are read (default ``os.environ``).
    :param store: a store URL (``--store``), overriding ``JWTMIDDLEWARE_STORE``.
    :param store_dir: a directory for ``demo.db`` when no store is named; without it the
        store is ``memory://``.
    :param users: the users (default alice and bob), or a ready :class:`UserDirectory`.
    :param access_ttl: ``ACCESS_TOKEN_TTL`` in seconds (``--access-ttl``).
    :param refresh_threshold: ``REFRESH_THRESHOLD`` in seconds; ``0`` turns sliding refresh
        off. Defaults to 80% of the access-token lifetime.
    :raises ConfigurationError: for any bad setting, naming it.
    """
    environ = os.environ if environ is None else environ
    env = {k[len(ENV_PREFIX) :].upper(): v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
    default_store = "memory://" if store_dir is None else _sqlite_url(store_dir)
    mapping: dict[str, Any] = {
        "ISSUER": DEMO_ISSUER,
        "ACCESS_TOKEN_TTL": DEFAULT_ACCESS_TTL,
        "STORE": default_store,
        **env,
    }
    generated = not (env.get("SECRET") or env.get("KEYS"))
    if generated:
        mapping.update(SECRET=secrets.token_urlsafe(48), ALGORITHMS="HS256", KEYS=())
    if store is not None:
        mapping["STORE"] = store
    if access_ttl is not None:
        mapping["ACCESS_TOKEN_TTL"] = access_ttl
    if refresh_threshold is not None:
        mapping["REFRESH_THRESHOLD"] = refresh_threshold or None
    elif "REFRESH_THRESHOLD" not in env:
        ttl = to_float("ACCESS_TOKEN_TTL", mapping["ACCESS_TOKEN_TTL"])
        mapping["REFRESH_THRESHOLD"] = round(ttl * REFRESH_RATIO, 3)
    base = Settings.from_mapping(mapping)
    settings = base.replace(
        exempt_paths=tuple(dict.fromkeys((*base.exempt_paths, *EXEMPT_PATHS))),
        one_time_paths=tuple(dict.fromkeys((*base.one_time_paths, *_ONE_TIME))),
        error_handler=LoginRedirect(base),
    )
    directory = users if isinstance(users, UserDirectory) else UserDirectory(
        DEFAULT_USERS if users is None else users)  # fmt: skip
    return DemoConfig(settings, directory, generated, _store_label(settings.store))


def _sqlite_url(directory: str) -> str:
    path = os.path.abspath(os.path.join(directory, "demo.db"))
    return "sqlite:///" + path
