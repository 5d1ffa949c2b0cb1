"""The demo's user directory: names with scrypt password hashes, checked in constant time.

A real application keeps users in its own database; the demo keeps a handful in memory so that
nothing else has to be installed or running. Passwords are hashed at start-up with a random
salt per user and compared with :func:`hmac.compare_digest`, and an unknown name costs the same
hash as a known one, so timing reveals neither the password nor which names exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

__all__ = ["DEFAULT_USERS", "MAX_NAME", "MAX_PASSWORD", "UserDirectory", "parse_user"]

#: The users the demo starts with when no ``--user`` is given.
DEFAULT_USERS: tuple[tuple[str, str], ...] = (("alice", "wonderland"), ("bob", "builder"))
#: Longest user name accepted (it becomes the tokens' ``sub``).
MAX_NAME = 64
#: Longest password accepted; longer input is refused before any hashing.
MAX_PASSWORD = 256

_SALT_BYTES = 16
_DEFAULT_COST = 2**14  # scrypt N: about 50 ms and 16 MiB per check


def parse_user(spec: str) -> tuple[str, str]:
    """Split a ``NAME:PASSWORD`` command-line value; raise ``ValueError`` saying what is wrong."""
    name, sep, password = spec.partition(":")
    if not sep:
        raise ValueError(f"{spec!r} is not NAME:PASSWORD")
    _check_name(name)
    if not password:
        raise ValueError(f"user {name!r} has an empty password")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"the password of {name!r} is over {MAX_PASSWORD} characters")
    return name, password


def _check_name(name: str) -> None:
    if not 0 < len(name) <= MAX_NAME or not name.isprintable() or name != name.strip():
        raise ValueError(
            f"user name {name!r} must be 1 to {MAX_NAME} printable characters "
            "without surrounding spaces"
        )


class UserDirectory:
    """Users and their salted scrypt hashes.

    :param users: ``(name, password)`` pairs; a name given twice keeps the last password.
    :param cost: scrypt's ``N`` (a power of two); tests pass a small one to run fast.
    """

    def __init__(self, users: Iterable[tuple[str, str]], *, cost: int = _DEFAULT_COST) -> None:
        self._cost = cost
        self._hashes: dict[str, tuple[bytes, bytes]] = {}
        for name, password in users:
            _check_name(name)
            salt = secrets.token_bytes(_SALT_BYTES)
            self._hashes[name] = (salt, self._hash(password, salt))
        if not self._hashes:
            raise ValueError("the demo needs at least one user")
        # Unknown names are checked against this, so they cost as much as known ones.
        salt = secrets.token_bytes(_SALT_BYTES)
        self._dummy = (salt, self._hash(secrets.token_urlsafe(16), salt))

    def _hash(self, password: str, salt: bytes) -> bytes:
        data = password.encode("utf-8", "surrogatepass")
        return hashlib.scrypt(data, salt=salt, n=self._cost, r=8, p=1, dklen=32)

    @property
    def names(self) -> tuple[str, ...]:
        """The user names, in the order they were given."""
        return tuple(self._hashes)

    def check(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s password (constant time in both)."""
        if len(password) > MAX_PASSWORD:
            return False
        known = name in self._hashes
        salt, expected = self._hashes[name] if known else self._dummy
        return hmac.compare_digest(self._hash(password, salt), expected) and known
