"""``request.user`` for token-authenticated requests.

Without a ``USER_LOADER`` the user is a :class:`TokenUser`: no database query, built from the
verified token alone. With ``USER_LOADER = "django_jwtmiddleware.users.load_model_user"`` it is
the row of the user model whose ``USER_ID_FIELD`` (default ``pk``) equals ``sub``, and a token
whose user is gone or inactive is refused with 401.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jwtmiddleware import Identity

__all__ = ["AnonymousTokenUser", "TokenUser", "anonymous_user", "load_model_user"]


class TokenUser:
    """A stateless authenticated user made from a verified token.

    ``pk``, ``id`` and ``username`` are the token's ``sub``; ``is_staff`` and ``is_superuser``
    are always false (the admin stays closed to tokens). Permissions are the token's scopes:
    ``has_perm("polls.vote")`` is true when the token grants the scope ``polls.vote``, so
    Django's ``permission_required`` works with scope-named permissions. It has no groups and
    cannot be saved.
    """

    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False
    is_authenticated = True

    def __init__(self, identity: Identity) -> None:
        #: The verified :class:`~jwtmiddleware.Identity`.
        self.identity = identity

    @property
    def pk(self) -> str | None:
        """The ``sub`` claim."""
        return self.identity.subject

    @property
    def id(self) -> str | None:
        """The ``sub`` claim."""
        return self.identity.subject

    @property
    def username(self) -> str:
        """The ``sub`` claim (empty if the token has none)."""
        return self.identity.subject or ""

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes the token grants."""
        return self.identity.scopes

    @property
    def claims(self) -> Any:
        """Every claim of the token."""
        return self.identity.claims

    def get_username(self) -> str:
        """The ``sub`` claim, like ``AbstractBaseUser.get_username``."""
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """Whether the token grants the scope ``perm`` (object permissions: never)."""
        return obj is None and perm in self.identity.scopes

    def has_perms(self, perm_list: Iterable[str], obj: Any = None) -> bool:
        """Whether the token grants every scope in ``perm_list``."""
        if isinstance(perm_list, str):
            raise ValueError("perm_list must be an iterable of permissions")
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        """Whether the token grants any scope ``<app_label>.<something>``."""
        prefix = app_label + "."
        return any(scope.startswith(prefix) for scope in self.identity.scopes)

    def get_all_permissions(self, obj: Any = None) -> set[str]:
        """The token's scopes."""
        return set(self.identity.scopes) if obj is None else set()

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("a TokenUser is not stored in the database")

    def delete(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("a TokenUser is not stored in the database")

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"<TokenUser {self.username!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenUser) and other.identity.subject == self.identity.subject

    def __hash__(self) -> int:
        return hash(("TokenUser", self.identity.subject))


class AnonymousTokenUser:
    """The anonymous ``request.user`` when ``django.contrib.auth`` is not installed (with it,
    Django's own ``AnonymousUser`` is used)."""

    pk = None
    id = None
    username = ""
    is_active = False
    is_staff = False
    is_superuser = False
    is_anonymous = True
    is_authenticated = False

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perm_list: Iterable[str], obj: Any = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def get_all_permissions(self, obj: Any = None) -> set[str]:
        return set()

    def __str__(self) -> str:
        return "AnonymousUser"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnonymousTokenUser)

    def __hash__(self) -> int:
        return 1


def anonymous_user() -> Any:
    """Django's ``AnonymousUser`` when ``django.contrib.auth`` is installed, else
    :class:`AnonymousTokenUser`."""
    from django.apps import apps

    if apps.is_installed("django.contrib.auth"):
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser()
    return AnonymousTokenUser()


def load_model_user(identity: Identity, request: Any) -> Any:
    """A ``USER_LOADER``: the active user-model row whose ``USER_ID_FIELD`` equals ``sub``.

    Returns ``None`` (the request is refused with 401) when there is no such user, the ``sub``
    does not fit the field, or the user is inactive (``is_active`` false), like Django's
    ``ModelBackend``. Database errors propagate (Django answers 500): an outage is not a bad
    token. Costs one query per authenticated request.
    """
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    from .conf import get_runtime

    if identity.subject is None:
        return None
    model = get_user_model()
    field = get_runtime().options.user_id_field
    try:
        user = model._default_manager.get(**{field: identity.subject})
    except (model.DoesNotExist, ValueError, TypeError, ValidationError):
        return None
    return user if getattr(user, "is_active", True) else None
