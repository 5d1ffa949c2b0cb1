"""``jwt_required`` on sync and async function views."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client, RequestFactory

from django_jwtmiddleware import jwt_required

from .conftest import Configure, bearer, mint


def test_scoped_view_passes_with_the_scope(client: Client) -> None:
    response = client.get("/optional/scoped", headers=bearer(mint(scope="profile")))
    assert response.status_code == 200
    assert response.json()["scopes"] == ["profile"]


def test_scoped_view_without_the_scope_is_403_naming_it(client: Client) -> None:
    response = client.get("/optional/scoped", headers=bearer(mint(scope="read")))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="The access token does not grant the required scope", scope="profile"'
    )
    assert response.json()["error"] == "insufficient_scope"
    # The refusal passed back through the middleware: it varies on the credentials.
    assert "Authorization" in response.headers["Vary"]


def test_scoped_view_without_a_token_is_401(client: Client) -> None:
    response = client.get("/optional/scoped")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_bare_decorator_requires_a_token(client: Client) -> None:
    assert client.get("/optional/required").status_code == 401
    assert client.get("/optional/required", headers=bearer(mint())).status_code == 200


def test_optional_decorator_lets_anonymous_in_but_holds_tokens_to_scopes(client: Client) -> None:
    assert client.get("/optional/maybe").json()["authenticated"] is False
    assert client.get("/optional/maybe", headers=bearer(mint(scope="read"))).status_code == 403
    ok = client.get("/optional/maybe", headers=bearer(mint(scope="profile")))
    assert ok.json()["authenticated"] is True


@pytest.mark.anyio
async def test_async_view_with_all_scopes_from_a_string(aclient: AsyncClient) -> None:
    response = await aclient.get("/optional/ascoped", headers=bearer(mint(scope="admin profile")))
    assert response.status_code == 200


@pytest.mark.anyio
async def test_async_view_missing_one_scope_is_403(aclient: AsyncClient) -> None:
    response = await aclient.get("/optional/ascoped", headers=bearer(mint(scope="profile")))
    assert response.status_code == 403
    assert 'scope="profile admin"' in response.headers["WWW-Authenticate"]


@pytest.mark.anyio
async def test_async_view_without_token_is_401(aclient: AsyncClient) -> None:
    assert (await aclient.get("/optional/ascoped")).status_code == 401


def test_decorated_views_stay_sync_or_async() -> None:
    from asgiref.sync import iscoroutinefunction

    from . import views

    assert iscoroutinefunction(views.ascoped)
    assert not iscoroutinefunction(views.scoped)
    assert views.scoped.__name__ == "scoped"


def test_error_handler_also_renders_decorator_refusals(
    client: Client, configure: Configure
) -> None:
    configure(jwt={"ERROR_HANDLER": "tests.adapters.django.test_middleware:redirect_anonymous"})
    response = client.get("/optional/required")
    assert response.status_code == 303
    assert response["Location"] == "/login?next=/optional/required"


def test_without_the_middleware_the_decorator_explains() -> None:
    @jwt_required
    def view(request: Any) -> None:
        raise AssertionError("not reached")

    request = RequestFactory().get("/x")
    with pytest.raises(ImproperlyConfigured, match="JWTAuthenticationMiddleware"):
        view(request)
