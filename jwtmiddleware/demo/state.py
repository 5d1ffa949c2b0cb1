"""The objects the demo's endpoints share, built once when the app is."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.errors import ConfigurationError
from ..core.issuer import Issuer
from ..core.settings import Settings
from ..core.verifier import Verifier
from ..http.cookies import CookiePolicy
from ..http.csrf import CSRFGuard
from ..sessions.endpoints import SessionEndpoints
from ..sessions.manager import SessionManager
from ..stores.base import Store
from .config import DemoConfig

__all__ = ["DemoState"]

_MIN_POLL, _MAX_POLL = 1.0, 5.0


@dataclass
class DemoState:
    """Settings, sessions, and the checks the demo's own endpoints make."""

    config: DemoConfig
    #: The one store the middleware and the endpoints share.
    store: Store | None = None
    #: Returns the current UNIX time (tests pass a frozen clock).
    clock: Callable[[], float] = time.time
    manager: SessionManager = field(init=False)
    #: Login, refresh, logout, logout everywhere and the sessions list, as every adapter
    #: serves them.
    endpoints: SessionEndpoints = field(init=False)
    cookies: CookiePolicy = field(init=False)
    csrf: CSRFGuard = field(init=False)
    #: What the middleware verifies access tokens with (for the token lab).
    verifier: Verifier = field(init=False)
    lab_issuers: tuple[Issuer, Issuer, Issuer] = field(init=False)
    #: Seconds between the Me page's polls: often enough to see a sliding refresh happen.
    poll_interval: float = field(init=False)

    def __post_init__(self) -> None:
        settings = self.config.settings
        self.manager = SessionManager(settings, self.store, clock=self.clock)
        self.store = self.manager.store
        self.endpoints = SessionEndpoints(self.manager)
        self.cookies = self.manager.flows.cookies
        self.csrf = CSRFGuard(settings)
        self.verifier = Verifier(settings)
        if settings.keyset.signing_key() is None:
            raise ConfigurationError("KEYS", "the demo mints tokens: give it a private key")
        #: Issuers for the token lab's samples: ours, a stranger's key, another issuer.
        self.lab_issuers = (
            Issuer(settings),
            Issuer(settings.replace(secret=secrets.token_urlsafe(48), keys=(),
                                    algorithms=("HS256",))),
            Issuer(settings.replace(issuer="https://someone-else.example")),
        )  # fmt: skip
        ttl, threshold = settings.access_token_ttl, settings.refresh_threshold
        window = (ttl - threshold) / 2 if threshold else ttl / 4
        self.poll_interval = min(_MAX_POLL, max(_MIN_POLL, window))

    @property
    def settings(self) -> Settings:
        """The middleware's settings."""
        return self.config.settings
