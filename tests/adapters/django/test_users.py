"""``request.user``: the token user, and users loaded from the user model by ``sub``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import AsyncClient, Client

from django_jwtmiddleware import TokenUser
from jwtmiddleware import Identity

from .conftest import Configure, bearer, mint

LOADER = "django_jwtmiddleware.users.load_model_user"


@pytest.fixture
def users(django_db: None) -> Iterator[dict[str, Any]]:
    from django.contrib.auth.models import User

    made = {
        "ann": User.objects.create_user("ann", password="pw-for-tests"),
        "retired": User.objects.create_user("retired", password="pw", is_active=False),
    }
    yield made
    for user in made.values():
        user.delete()


def test_token_user_surface() -> None:
    identity = Identity("u1", {"sub": "u1", "scope": "polls.vote read"},
                        frozenset({"polls.vote", "read"}))  # fmt: skip
    user = TokenUser(identity)
    assert (user.pk, user.id, user.username, str(user)) == ("u1", "u1", "u1", "u1")
    assert user.is_authenticated
    assert not user.is_anonymous
    assert user.is_active
    assert not user.is_staff
    assert not user.is_superuser
    assert user.has_perm("polls.vote")
    assert not user.has_perm("polls.delete")
    assert not user.has_perm("polls.vote", obj=object())
    assert user.has_perms(["polls.vote", "read"])
    assert not user.has_perms(["polls.vote", "x"])
    assert user.has_module_perms("polls")
    assert not user.has_module_perms("auth")
    assert user.get_all_permissions() == {"polls.vote", "read"}
    assert user == TokenUser(Identity("u1", {}))
    assert hash(user) == hash(TokenUser(Identity("u1", {})))
    with pytest.raises(NotImplementedError):
        user.save()


def test_model_loader_by_username(
    client: Client, configure: Configure, users: dict[str, Any]
) -> None:
    configure(JWTMIDDLEWARE_DJANGO={"USER_LOADER": LOADER, "USER_ID_FIELD": "username"})
    body = client.get("/api/me", headers=bearer(mint("ann"))).json()
    assert body["user_type"] == "User"
    assert body["user_pk"] == users["ann"].pk


def test_model_loader_by_pk_is_the_default(
    client: Client, configure: Configure, users: dict[str, Any]
) -> None:
    configure(JWTMIDDLEWARE_DJANGO={"USER_LOADER": LOADER})
    ann = users["ann"]
    body = client.get("/api/me", headers=bearer(mint(str(ann.pk)))).json()
    assert body["user"] == "ann"
    # A sub that is no integer does not fit the pk: refused, not a 500.
    response = client.get("/api/me", headers=bearer(mint("not-a-number")))
    assert response.status_code == 401


@pytest.mark.parametrize("subject", ["nobody", "retired"])
def test_unknown_or_inactive_user_is_401(
    client: Client, configure: Configure, users: dict[str, Any], subject: str
) -> None:
    configure(JWTMIDDLEWARE_DJANGO={"USER_LOADER": LOADER, "USER_ID_FIELD": "username"})
    response = client.get("/api/me", headers=bearer(mint(subject)))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", '
        'error_description="The access token claims were rejected"'
    )


@pytest.mark.anyio
async def test_model_loader_under_asgi_runs_off_the_event_loop(
    aclient: AsyncClient, configure: Configure, users: dict[str, Any]
) -> None:
    configure(JWTMIDDLEWARE_DJANGO={"USER_LOADER": LOADER, "USER_ID_FIELD": "username"})
    response = await aclient.get("/api/ame", headers=bearer(mint("ann")))
    assert response.status_code == 200
    assert response.json()["auser"] == "ann"
    assert response.json()["user_type"] == "User"
    assert (await aclient.get("/api/ame", headers=bearer(mint("nobody")))).status_code == 401


class Member:
    def __init__(self, name: str) -> None:
        self.name = name
        self.is_authenticated = True
        self.pk = name

    def __str__(self) -> str:
        return f"member:{self.name}"


def member_loader(identity: Identity, request: Any) -> Member | None:
    """A custom sync loader."""
    return None if identity.subject == "banned" else Member(identity.subject or "")


async def async_member_loader(identity: Identity, request: Any) -> Member | None:
    """A custom async loader."""
    return member_loader(identity, request)


@pytest.mark.parametrize("loader", ["member_loader", "async_member_loader"])
def test_custom_loader_sync_chain(client: Client, configure: Configure, loader: str) -> None:
    configure(JWTMIDDLEWARE_DJANGO={"USER_LOADER": f"{__name__}:{loader}"})
    assert client.get("/api/me", headers=bearer(mint("kim"))).json()["user"] == "member:kim"
    assert client.get("/api/me", headers=bearer(mint("banned"))).status_code == 401


@pytest.mark.anyio
@pytest.mark.parametrize("loader", ["member_loader", "async_member_loader"])
async def test_custom_loader_async_chain(
    aclient: AsyncClient, configure: Configure, loader: str
) -> None:
    configure(JWTMIDDLEWARE_DJANGO={"USER_LOADER": f"{__name__}:{loader}"})
    response = await aclient.get("/api/ame", headers=bearer(mint("kim")))
    assert response.json()["auser"] == "member:kim"
    assert (await aclient.get("/api/ame", headers=bearer(mint("banned")))).status_code == 401


def test_loader_is_not_called_without_a_token(client: Client, configure: Configure) -> None:
    configure(JWTMIDDLEWARE_DJANGO={"USER_LOADER": f"{__name__}:member_loader"})
    assert client.get("/optional").json()["user_authenticated"] is False
