"""The demo's hard-coded user table, as a Django authentication backend.

``django.contrib.auth.authenticate()`` (called by the ready login view of
``django_jwtmiddleware.urls``) asks :class:`DemoBackend`; a real project keeps its users in the
database and lets Django's ``ModelBackend`` check them instead.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

__all__ = ["DemoBackend", "DemoUser", "authenticate", "token_claims"]

_ITERATIONS = 100_000


@dataclass
class DemoUser:
    username: str
    salt: str
    #: PBKDF2-SHA256 of the password.
    password_hash: str
    #: The scopes put into this user's tokens.
    scope: str
    is_active: bool = True

    @property
    def pk(self) -> str:
        return self.username


# alice / alice-password may read her profile; bob / bob-password has another scope only.
_USERS = {
    user.username: user
    for user in (
        DemoUser("alice", "alice-salt-5f2c",
                 "f8d854303d52970e8d95c40de781de4dac6fa73189250fc60a055c2c2ce2cd43",
                 "profile"),
        DemoUser("bob", "bob-salt-91ad",
                 "606dd5dd5c1f725692595b1474aa33b6e0ad8712807b14897ef15b94bc466b84",
                 "orders"),
    )
}  # fmt: skip


def authenticate(username: object, password: object) -> DemoUser | None:
    """The user with this username and password, else ``None`` (in the same time either way)."""
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    user = _USERS.get(username)
    salt = user.salt if user else "no-such-user"
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), _ITERATIONS).hex()
    if user is None or not hmac.compare_digest(digest, user.password_hash):
        return None
    return user


class DemoBackend:
    """``AUTHENTICATION_BACKENDS`` entry: checks :data:`_USERS`."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None
    ) -> DemoUser | None:
        return authenticate(username, password)

    def get_user(self, user_id: str) -> DemoUser | None:
        return _USERS.get(user_id)


def token_claims(user: DemoUser, request: Any) -> dict[str, str]:
    """``JWTMIDDLEWARE_DJANGO["TOKEN_CLAIMS"]``: what a login puts into the user's tokens."""
    return {"scope": user.scope}
