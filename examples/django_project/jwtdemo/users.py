"""The demo's hard-coded user table.

A real project would check passwords with ``django.contrib.auth.authenticate`` instead.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

__all__ = ["DemoUser", "authenticate"]

_ITERATIONS = 100_000


@dataclass(frozen=True)
class DemoUser:
    username: str
    salt: str
    #: PBKDF2-SHA256 of the password.
    password_hash: str
    #: The scopes put into this user's tokens.
    scope: str


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
