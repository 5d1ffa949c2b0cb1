"""Django settings in, one prepared :class:`Runtime` out; rebuilt when the settings change.

``settings.JWTMIDDLEWARE`` holds the core settings (the UPPER_CASE mapping of
:meth:`jwtmiddleware.Settings.from_mapping`, nothing else, so the core's unknown-key check keeps
catching typos). ``settings.JWTMIDDLEWARE_DJANGO`` holds the few keys only this adapter knows:

``USER_LOADER``
    ``(identity, request) -> user | None`` (or an import string; may be ``async def``) giving
    ``request.user`` for a verified token. ``None`` refuses the request (401). Default: no
    loader, ``request.user`` is a :class:`~django_jwtmiddleware.users.TokenUser`.
``USER_ID_FIELD``
    The user-model field :func:`~django_jwtmiddleware.users.load_model_user` matches against
    ``sub`` (default ``"pk"``).
``CLOCK``
    ``() -> float`` UNIX time (or an import string); tests pass a frozen clock.
``TOKEN_CLAIMS``
    ``(user, request) -> dict`` (or an import string): the claims (``scope``, roles, tenant,
    ...) of the tokens the ready login view (``django_jwtmiddleware.urls``) issues for a user
    Django's ``authenticate()`` accepted. Default: no application claims.

Everything is validated eagerly; mistakes raise Django's ``ImproperlyConfigured`` naming the
Django setting (``settings.JWTMIDDLEWARE["SECRET"]: ...``). The prepared runtime is
dropped on Django's ``setting_changed`` signal, so ``override_settings(JWTMIDDLEWARE=...)``
takes effect on the next request.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from jwtmiddleware import Authenticator, ConfigurationError, Settings
from jwtmiddleware.integration import (
    Responder,
    SessionEndpoints,
    parse_store_url,
    resolve_store,
    store_mirror,
    to_callable,
)

if TYPE_CHECKING:
    from jwtmiddleware import SessionManager
    from jwtmiddleware.stores import Store

__all__ = [
    "DJANGO_SETTING",
    "SETTING",
    "DjangoOptions",
    "Runtime",
    "get_runtime",
    "read_options",
    "read_settings",
    "reset",
    "session_manager",
    "validate",
]

#: The Django setting holding the core settings.
SETTING = "JWTMIDDLEWARE"
#: The Django setting holding the adapter-only options.
DJANGO_SETTING = "JWTMIDDLEWARE_DJANGO"


@dataclass(frozen=True, slots=True)
class DjangoOptions:
    """The adapter-only options from ``settings.JWTMIDDLEWARE_DJANGO``."""

    #: ``(identity, request) -> user | None`` (sync or async); ``None``: a ``TokenUser``.
    user_loader: Callable[..., Any] | None = None
    #: The user-model field matched against ``sub`` by ``load_model_user``.
    user_id_field: str = "pk"
    #: The clock, returning UNIX time.
    clock: Callable[[], float] = time.time
    #: ``(user, request) -> claims`` for the tokens the ready login view issues.
    token_claims: Callable[..., Any] | None = None


_OPTION_FIELDS = {
    "USER_LOADER": "user_loader",
    "USER_ID_FIELD": "user_id_field",
    "CLOCK": "clock",
    "TOKEN_CLAIMS": "token_claims",
}


def _improperly(setting: str, key: str, message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f'settings.{setting}["{key}"]: {message}')


def read_settings() -> Settings:
    """The core :class:`~jwtmiddleware.Settings` built from ``settings.JWTMIDDLEWARE``.

    :raises ImproperlyConfigured: naming the offending key.
    """
    from django.conf import settings as django_settings

    mapping = getattr(django_settings, SETTING, None)
    if mapping is None:
        raise ImproperlyConfigured(
            f"settings.{SETTING} is missing: set it to a dict of jwtmiddleware settings, "
            f'for example {{"SECRET": "...", "EXEMPT_PATHS": ["/health"]}}'
        )
    if not isinstance(mapping, Mapping):
        raise ImproperlyConfigured(
            f"settings.{SETTING} must be a dict of UPPER_CASE keys, not {type(mapping).__name__}"
        )
    try:
        return Settings.from_mapping(mapping)
    except ConfigurationError as exc:
        raise _improperly(SETTING, exc.setting, exc.message) from exc


def read_options() -> DjangoOptions:
    """The adapter options from ``settings.JWTMIDDLEWARE_DJANGO`` (optional, may be empty).

    :raises ImproperlyConfigured: naming the offending key.
    """
    from django.conf import settings as django_settings

    mapping = getattr(django_settings, DJANGO_SETTING, None) or {}
    if not isinstance(mapping, Mapping):
        raise ImproperlyConfigured(
            f"settings.{DJANGO_SETTING} must be a dict, not {type(mapping).__name__}"
        )
    values: dict[str, Any] = {}
    for key, value in mapping.items():
        field = _OPTION_FIELDS.get(key)
        if field is None:
            close = difflib.get_close_matches(str(key).upper(), sorted(_OPTION_FIELDS), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid: {', '.join(_OPTION_FIELDS)}"
            raise _improperly(DJANGO_SETTING, key, f"unknown option; {hint}")
        if field == "user_id_field":
            if not isinstance(value, str) or not value:
                raise _improperly(DJANGO_SETTING, key, "must be a model field name")
            values[field] = value
            continue
        try:
            converted = to_callable(key, value)
        except ConfigurationError as exc:
            raise _improperly(DJANGO_SETTING, key, exc.message) from exc
        if converted is not None:
            values[field] = converted
    return DjangoOptions(**values)


def validate() -> None:
    """Build the settings and options once, so mistakes fail at start-up (``AppConfig.ready``).

    The store URL is parsed but the store is not opened here: management commands such as
    ``migrate`` should not create a SQLite file. The middleware opens it when Django loads the
    middleware chain.
    """
    settings = read_settings()
    if isinstance(settings.store, str):
        try:
            parse_store_url(settings.store)
        except ConfigurationError as exc:
            raise _improperly(SETTING, "STORE", exc.message) from exc
    read_options()


class Runtime:
    """Everything prepared from one version of the Django settings; shared by all requests."""

    def __init__(self, settings: Settings, options: DjangoOptions) -> None:
        #: The core settings.
        self.settings = settings
        #: The adapter options.
        self.options = options
        try:
            #: The store named by ``STORE`` (``None`` without one).
            self.store: Store | None = resolve_store(settings, None)
        except ConfigurationError as exc:
            raise _improperly(SETTING, exc.setting, exc.message) from exc
        # A store opened from a URL is ours to close; a Store object belongs to the project.
        self._owns_store = isinstance(settings.store, str)
        #: The clock.
        self.clock = options.clock
        #: This process's mirror of the store's revocations (``STORE_MAX_LAG``), if any.
        self.mirror = store_mirror(settings, self.store, self.clock)
        #: The sans-IO authenticator.
        self.authenticator = Authenticator(settings, mirror=self.mirror)
        #: Renders refusals (and knows the ``Vary`` value).
        self.responder = Responder(settings, self.authenticator.sources)
        #: ``Vary`` fields of protected responses.
        self.vary: tuple[str, ...] = (
            tuple(self.responder.vary.split(", ")) if (self.responder.vary) else ()
        )
        self._manager: SessionManager | None = None
        self._endpoints: SessionEndpoints | None = None

    @property
    def manager(self) -> SessionManager:
        """The :class:`~jwtmiddleware.manager.SessionManager` over this runtime's store."""
        if self._manager is None:
            if self.store is None:
                raise _improperly(
                    SETTING, "STORE", "logins, refresh and logout need a store (sqlite:///...)"
                )
            from jwtmiddleware import SessionManager

            self._manager = SessionManager(self.settings, self.store, clock=self.clock)
        return self._manager

    @property
    def endpoints(self) -> SessionEndpoints:
        """The core's login, refresh, logout and sessions decisions over :attr:`manager`."""
        if self._endpoints is None:
            self._endpoints = SessionEndpoints(self.manager)
        return self._endpoints

    def close(self) -> None:
        """Stop the mirror, and close the store if this runtime opened it."""
        if self.mirror is not None:
            self.mirror.stop()
        if self._owns_store and self.store is not None:
            self.store.close()


_lock = threading.Lock()
_current: Runtime | None = None


def get_runtime() -> Runtime:
    """The runtime for the current Django settings, built on first use."""
    runtime = _current
    if runtime is not None:
        return runtime
    return _build()


def _build() -> Runtime:
    global _current
    with _lock:
        if _current is None:
            _current = Runtime(read_settings(), read_options())
        return _current


def reset() -> None:
    """Drop the runtime (closing a store it opened); the next request builds a new one."""
    global _current
    with _lock:
        runtime, _current = _current, None
    if runtime is not None:
        runtime.close()


def session_manager() -> SessionManager:
    """The :class:`~jwtmiddleware.manager.SessionManager` configured by ``settings.JWTMIDDLEWARE``
    (list a user's sessions, revoke one, log a subject out everywhere)."""
    return get_runtime().manager


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in (SETTING, DJANGO_SETTING):
        reset()


# Connected at import, not in AppConfig.ready, so it also works when the middleware is used
# without the app in INSTALLED_APPS.
setting_changed.connect(_on_setting_changed, dispatch_uid="django_jwtmiddleware.conf")
