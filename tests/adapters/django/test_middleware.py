"""The middleware under Django's WSGI (``Client``) and ASGI (``AsyncClient``) handlers: path
rules, refusals, ``request.identity`` / ``request.user``, ``Vary``, sliding refresh."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import AsyncClient, Client

from jwtmiddleware import ANONYMOUS, ErrorResponse, TokenMissing
from jwtmiddleware.testing import FrozenClock, mint_token

from .conftest import Configure, bearer, current_settings, mint

REALM_ONLY = 'Bearer realm="api"'


def _varies(response: Any) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("Vary", "").split(",") if v.strip()}


# -- sync (WSGI handler) ---------------------------------------------------------------------


def test_good_bearer_token_reaches_the_view(client: Client) -> None:
    response = client.get("/api/me", headers=bearer(mint("alice", scope="read profile")))
    assert response.status_code == 200
    assert response.json() == {
        "subject": "alice",
        "authenticated": True,
        "scopes": ["profile", "read"],
        "source": "header",
        "user": "alice",
        "user_type": "TokenUser",
        "user_authenticated": True,
        "user_pk": "alice",
    }
    assert {"authorization", "cookie"} <= _varies(response)


def test_token_in_the_access_cookie_is_accepted(client: Client) -> None:
    client.cookies[current_settings().access_cookie_name] = mint("carol")
    response = client.get("/api/me")
    assert response.status_code == 200
    assert response.json()["source"] == "cookie"
    assert response.json()["subject"] == "carol"


def test_no_token_on_a_protected_path_is_401_with_the_bare_challenge(client: Client) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == REALM_ONLY
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "unauthorized",
        "error_description": "Authentication required",
    }


def test_expired_token_is_401_invalid_token(client: Client) -> None:
    token = mint_token(current_settings(), now=1_000_000_000, ttl=60)
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The access token expired"'
    )


def test_unknown_routes_are_protected_too(client: Client) -> None:
    assert client.get("/nowhere").status_code == 401
    assert client.get("/nowhere", headers=bearer(mint())).status_code == 404


def test_token_in_header_and_cookie_is_400(client: Client) -> None:
    token = mint()
    client.cookies[current_settings().access_cookie_name] = token
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_exempt_path_needs_no_token_and_gets_no_vary(client: Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "identity": "AnonymousIdentity"}
    assert "Vary" not in response.headers


def test_exempt_path_ignores_even_a_bad_token(client: Client) -> None:
    response = client.get("/health", headers=bearer("not-a-token"))
    assert response.status_code == 200


def test_optional_path_without_token_is_anonymous(client: Client) -> None:
    response = client.get("/optional")
    assert response.status_code == 200
    body = response.json()
    assert body["authenticated"] is False
    assert body["subject"] is None
    # contrib.auth is installed: Django's own AnonymousUser.
    assert body["user_type"] == "AnonymousUser"
    assert body["user_authenticated"] is False
    assert {"authorization", "cookie"} <= _varies(response)


def test_optional_path_with_a_bad_token_is_still_401(client: Client) -> None:
    response = client.get("/optional", headers=bearer("a.b.c"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_optional_path_with_a_good_token_is_authenticated(client: Client) -> None:
    response = client.get("/optional", headers=bearer(mint("dave")))
    assert response.json()["subject"] == "dave"
    assert response.json()["user_type"] == "TokenUser"


def test_without_contrib_auth_the_anonymous_user_is_the_adapters(
    client: Client, configure: Configure
) -> None:
    configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django_jwtmiddleware"],
        MIDDLEWARE=["django_jwtmiddleware.JWTAuthenticationMiddleware"],
    )
    body = client.get("/optional").json()
    assert body["user_type"] == "AnonymousTokenUser"
    assert body["user_authenticated"] is False
    assert body["user"] == "AnonymousUser"


def test_vary_is_merged_with_the_views_own(client: Client) -> None:
    response = client.get("/api/vary", headers=bearer(mint()))
    assert response.headers["Vary"] == "Accept-Language, Authorization, Cookie"


def test_required_scopes_setting_refuses_with_403(client: Client, configure: Configure) -> None:
    configure(jwt={"REQUIRED_SCOPES": ["admin"]})
    response = client.get("/api/me", headers=bearer(mint(scope="read")))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="The access token does not grant the required scope", scope="admin"'
    )


def redirect_anonymous(error: Exception, view: Any) -> ErrorResponse | None:
    """An ERROR_HANDLER that sees the Django request through ``view.request``."""
    if isinstance(error, TokenMissing):
        return ErrorResponse(
            303, (("Location", f"/login?next={view.request.get_full_path()}"),), b""
        )
    return None


def test_error_handler_receives_the_django_request(client: Client, configure: Configure) -> None:
    configure(jwt={"ERROR_HANDLER": f"{__name__}:redirect_anonymous"})
    response = client.get("/api/me?x=1")
    assert response.status_code == 303
    assert response["Location"] == "/login?next=/api/me?x=1"
    assert client.get("/api/me", headers=bearer("a.b.c")).status_code == 401


def test_store_failure_is_503_fail_closed(client: Client, configure: Configure) -> None:
    from jwtmiddleware.stores.memory import MemoryStore

    class Broken(MemoryStore):
        """A custom store without a change log: asked on every request."""

        def is_revoked(self, *args: Any, **kwargs: Any) -> bool:
            raise OSError("down")

        def mirror(self, **kwargs: Any) -> None:  # type: ignore[override]
            return None

    configure(jwt={"STORE": Broken()})
    response = client.get("/api/me", headers=bearer(mint()))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"] == "temporarily_unavailable"


def test_user_permissions_are_the_tokens_scopes(client: Client) -> None:
    assert client.get("/api/vote", headers=bearer(mint(scope="polls.vote"))).status_code == 200
    assert client.get("/api/vote", headers=bearer(mint(scope="read"))).status_code == 403


def test_the_session_user_stays_on_optional_paths_without_a_token(
    client: Client, django_db: None
) -> None:
    from django.contrib.auth.models import User

    user = User.objects.create_user("sessionuser", password="pw-for-tests")
    try:
        client.force_login(user)
        body = client.get("/optional").json()
        assert body["authenticated"] is False  # no token
        assert body["user"] == "sessionuser"  # AuthenticationMiddleware's user is kept
        assert body["user_type"] != "TokenUser"
        body = client.get("/optional", headers=bearer(mint("tokenuser"))).json()
        assert body["user"] == "tokenuser"  # a token wins over the session
        assert client.get("/api/me").status_code == 401  # a session is no token
    finally:
        user.delete()


# -- sliding refresh --------------------------------------------------------------------------


@pytest.fixture
def clock(configure: Configure) -> FrozenClock:
    frozen = FrozenClock(1_800_000_000)
    configure(
        jwt={"REFRESH_THRESHOLD": 120, "ACCESS_TOKEN_TTL": 600},
        JWTMIDDLEWARE_DJANGO={"CLOCK": frozen},
    )
    return frozen


def test_sliding_refresh_of_a_header_token(client: Client, clock: FrozenClock) -> None:
    token = mint_token(current_settings(), {"scope": "read"}, now=clock.now, ttl=300)
    response = client.get("/api/me", headers=bearer(token))
    assert "X-Refreshed-Token" not in response.headers
    clock.advance(240)  # 60 s left, under the threshold
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == 200
    renewed = response.headers["X-Refreshed-Token"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Expose-Headers"] == "X-Refreshed-Token"
    clock.advance(120)  # the old token has expired (after the leeway too)
    assert client.get("/api/me", headers=bearer(token)).status_code == 401
    again = client.get("/api/me", headers=bearer(renewed))
    assert again.status_code == 200
    assert again.json()["scopes"] == ["read"]


def test_sliding_refresh_of_a_cookie_token(client: Client, clock: FrozenClock) -> None:
    name = current_settings().access_cookie_name
    client.cookies[name] = mint_token(current_settings(), now=clock.now, ttl=300)
    clock.advance(240)
    response = client.get("/api/me")
    assert response.status_code == 200
    cookie = response.cookies[name]
    assert cookie["max-age"] == "600"
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    clock.advance(120)
    assert client.get("/api/me").status_code == 200  # the jar holds the renewed cookie


def test_no_sliding_refresh_on_refusals(client: Client, clock: FrozenClock) -> None:
    token = mint_token(current_settings(), now=clock.now, ttl=300)
    clock.advance(240)
    response = client.get("/nowhere", headers=bearer(token))
    assert response.status_code == 404
    assert "X-Refreshed-Token" not in response.headers


# -- async (ASGI handler) ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_chain_drives_the_async_flow(
    aclient: AsyncClient, monkeypatch: pytest.MonkeyPatch, configure: Configure
) -> None:
    from django_jwtmiddleware import middleware
    from jwtmiddleware.http.drive import run_async as original

    configure(jwt={"STORE_MAX_LAG": 0})  # the store asked per request: a flow of effects

    calls: list[str] = []

    async def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append("async")
        return await original(*args, **kwargs)

    monkeypatch.setattr(middleware, "run_async", spy)
    response = await aclient.get("/api/ame", headers=bearer(mint("erin", scope="profile")))
    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == "erin"
    assert body["auser"] == "erin"
    assert body["user_type"] == "TokenUser"
    assert calls == ["async"]


@pytest.mark.anyio
async def test_async_refusals_match_the_sync_ones(aclient: AsyncClient) -> None:
    response = await aclient.get("/api/ame")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == REALM_ONLY
    response = await aclient.get("/api/ame", headers=bearer("a.b.c"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.anyio
async def test_async_optional_path_anonymous_auser(aclient: AsyncClient) -> None:
    response = await aclient.get("/optional/ame")
    assert response.status_code == 200
    body = response.json()
    assert body["authenticated"] is False
    assert body["auser"] == "AnonymousUser"


@pytest.mark.anyio
async def test_async_cookie_token_and_vary(aclient: AsyncClient) -> None:
    aclient.cookies[current_settings().access_cookie_name] = mint("frank")
    response = await aclient.get("/api/ame")
    assert response.status_code == 200
    assert response.json()["source"] == "cookie"
    assert {"authorization", "cookie"} <= _varies(response)


@pytest.mark.anyio
async def test_async_sync_view_behind_async_chain(aclient: AsyncClient) -> None:
    response = await aclient.get("/api/me", headers=bearer(mint("gina")))
    assert response.status_code == 200
    assert json.loads(response.content)["subject"] == "gina"


@pytest.mark.anyio
async def test_without_effects_the_async_chain_decides_directly(
    aclient: AsyncClient, configure: Configure
) -> None:
    # No store and no cookie CSRF: the flow can yield no effect, so no driver is needed.
    configure(jwt={"STORE": None, "CSRF_PROTECTION": False})
    from django_jwtmiddleware.conf import get_runtime

    assert not get_runtime().authenticator.uses_effects
    token = mint("hana")
    assert (await aclient.get("/api/ame", headers=bearer(token))).json()["subject"] == "hana"
    assert (await aclient.get("/api/ame")).status_code == 401


def test_without_effects_the_sync_chain_decides_directly(
    client: Client, configure: Configure
) -> None:
    configure(jwt={"STORE": None, "CSRF_PROTECTION": False})
    assert client.get("/api/me", headers=bearer(mint("ivan"))).json()["subject"] == "ivan"
    assert client.get("/api/me").status_code == 401


def test_identity_is_the_shared_anonymous_on_exempt_paths(client: Client) -> None:
    # The view reports the type; ANONYMOUS is the one instance of it.
    assert client.get("/health").json()["identity"] == type(ANONYMOUS).__name__


def test_the_django_middleware_reads_revocations_from_the_mirror(
    client: Client, configure: Configure
) -> None:
    """With a store, Django's requests ask the process's mirror (no store call), and a
    revocation made through the store is refused at once."""
    from jwtmiddleware.stores.memory import MemoryStore

    class Counting(MemoryStore):
        asked = 0

        def is_revoked(self, *args: Any, **kwargs: Any) -> bool:
            Counting.asked += 1
            return super().is_revoked(*args, **kwargs)

    store = Counting()
    configure(jwt={"STORE": store})
    token = mint()
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    import base64
    import json as json_module
    import time as time_module

    payload = token.split(".")[1]
    claims = json_module.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    store.revoke_token(claims.get("iss") or "", claims["jti"], expires_at=claims["exp"],
                       now=time_module.time())  # fmt: skip
    assert client.get("/api/me", headers=bearer(token)).status_code == 401
    assert Counting.asked == 0
