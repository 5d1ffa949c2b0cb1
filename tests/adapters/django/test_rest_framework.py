"""Django REST framework: ``JWTAuthentication``, ``HasScope``/``HasScopes`` and the ready URL
views (``include("django_jwtmiddleware.urls")``), with and without the middleware.

DRF views live under ``/optional/*`` (an optional path for the middleware), so anonymous
callers reach DRF and DRF's own answer is what is tested: 401 with the RFC 6750 challenge.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from django_jwtmiddleware.checks import check_session_urls

from . import drf_views
from .conftest import Configure, bearer, mint
from .settings import MIDDLEWARE

WITHOUT_MIDDLEWARE = [m for m in MIDDLEWARE if "jwtmiddleware" not in m]
BARE = 'Bearer realm="api"'
ALICE = {"username": "alice", "password": "alice-password"}


@pytest.fixture(autouse=True)
def drf(configure: Configure, django_db: None) -> None:
    from django.contrib.auth import get_user_model

    configure(
        ROOT_URLCONF="tests.adapters.django.drf_urls",
        JWTMIDDLEWARE_DJANGO={"TOKEN_CLAIMS": "tests.adapters.django.drf_views:token_claims"},
    )
    users = get_user_model()
    if not users.objects.filter(username="alice").exists():
        users.objects.create_user("alice", password="alice-password", is_staff=True)
        users.objects.create_user("bob", password="bob-password")
        users.objects.create_user("carol", password="carol-password", is_active=False)
    drf_views.NOTES.clear()


@pytest.fixture(params=["middleware", "alone"])
def mode(request: pytest.FixtureRequest, configure: Configure) -> str:
    """Each test runs with JWTAuthenticationMiddleware and with JWTAuthentication alone."""
    if request.param == "alone":
        configure(MIDDLEWARE=WITHOUT_MIDDLEWARE)
    return str(request.param)


def login(client: Client, credentials: dict[str, str] = ALICE) -> dict[str, Any]:
    response = client.post("/auth/login", credentials, content_type="application/json")
    assert response.status_code == 200, response.content
    client.cookies.clear()  # the tests send tokens explicitly, never from the cookie jar
    body: dict[str, Any] = response.json()
    return body


# -- JWTAuthentication ---------------------------------------------------------------------------


def test_apiview_gets_user_and_auth(client: Client, mode: str) -> None:
    token = mint("alice", scope="profile")
    response = client.get("/optional/profile", headers=bearer(token))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "user": "alice",
        "user_type": "TokenUser",
        "subject": "alice",
        "scopes": ["profile"],
        "authenticator": "JWTAuthentication",
    }


def test_anonymous_gets_401_with_the_bearer_challenge_not_403(client: Client, mode: str) -> None:
    response = client.get("/optional/profile")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == BARE
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    anyone = client.get("/optional/anyone")
    assert anyone.status_code == 200
    assert anyone.json()["authenticated"] is False


def test_missing_scope_is_403_insufficient_scope(client: Client, mode: str) -> None:
    response = client.get("/optional/profile", headers=bearer(mint("bob", scope="notes:read")))
    assert response.status_code == 403
    assert response.json() == {"detail": "The access token does not grant the required scope"}
    if mode == "middleware":  # the middleware adds the RFC 6750 challenge DRF leaves out
        challenge = response.headers["WWW-Authenticate"]
        assert 'error="insufficient_scope"' in challenge
        assert challenge.endswith('scope="profile"')


def test_has_scope_composes_with_or(client: Client, mode: str) -> None:
    for scope, status in (("profile", 200), ("notes:write", 200), ("notes:read", 403)):
        response = client.get("/optional/either", headers=bearer(mint("bob", scope=scope)))
        assert response.status_code == status, scope


def test_viewset_scopes_per_action(client: Client, mode: str) -> None:
    reader = bearer(mint("bob", scope="notes:read"))
    writer = bearer(mint("bob", scope="notes:read notes:write"))
    assert client.get("/optional/notes", headers=reader).json() == {"notes": []}
    refused = client.post("/optional/notes", {"text": "hi"}, content_type="application/json",
                          headers=reader)  # fmt: skip
    assert refused.status_code == 403
    created = client.post("/optional/notes", {"text": "hi"}, content_type="application/json",
                          headers=writer)  # fmt: skip
    assert created.status_code == 201
    assert client.get("/optional/notes", headers=reader).json() == {"notes": ["hi"]}
    # retrieve is not in required_scopes: refused, whatever the token grants
    assert client.get("/optional/notes/0", headers=writer).status_code == 403
    assert client.get("/optional/notes").status_code == 401


def test_has_scopes_without_required_scopes_is_a_configuration_error(client: Client) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"Misused\.required_scopes"):
        client.get("/optional/misused", headers=bearer(mint("bob")))


def test_has_scope_validates_its_scopes() -> None:
    from django_jwtmiddleware.rest_framework import HasScope

    with pytest.raises(ImproperlyConfigured):
        HasScope("two words")
    bound = HasScope("read", "write")
    assert bound.__name__ == "HasScope('read', 'write')"
    assert bound().scopes == ("read", "write")


def test_bad_tokens_without_the_middleware_are_drf_401s(
    client: Client, configure: Configure
) -> None:
    configure(MIDDLEWARE=WITHOUT_MIDDLEWARE)
    expired = mint("alice", scope="profile", exp=1_000_000, iat=999_000)
    for token in ("a.b.c", expired):
        response = client.get("/optional/profile", headers=bearer(token))
        assert response.status_code == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="api", error="invalid_token"')
        assert "error_description=" in challenge
        assert set(response.json()) == {"detail"}
    # AllowAny views too: a bad token is refused, never treated as anonymous.
    assert client.get("/optional/anyone", headers=bearer("a.b.c")).status_code == 401
    twice = client.get("/optional/profile", headers={
        **bearer(mint()), "Cookie": f"__Host-access_token={mint()}"})  # fmt: skip
    assert twice.status_code == 400
    assert 'error="invalid_request"' in twice.headers["WWW-Authenticate"]


def test_without_the_middleware_revocation_and_csrf_still_apply(
    client: Client, configure: Configure
) -> None:
    configure(MIDDLEWARE=WITHOUT_MIDDLEWARE)
    tokens = login(client)
    cookie = {"Cookie": f"__Host-access_token={tokens['access_token']}"}
    assert client.get("/optional/profile", headers=cookie).status_code == 200
    # A cookie token on an unsafe method needs jwtmiddleware's CSRF proof.
    no_proof = client.post("/optional/notes", {"text": "x"}, content_type="application/json",
                           headers=cookie)  # fmt: skip
    assert no_proof.status_code == 403
    with_proof = client.post("/optional/notes", {"text": "x"}, content_type="application/json",
                             headers={**cookie, "X-CSRF-Token": tokens["csrf_token"]})  # fmt: skip
    assert with_proof.status_code == 201
    auth = bearer(tokens["access_token"])
    assert client.post("/auth/logout", headers=auth).status_code == 204
    revoked = client.get("/optional/profile", headers=auth)
    assert revoked.status_code == 401
    assert 'error="invalid_token"' in revoked.headers["WWW-Authenticate"]


def test_without_the_middleware_a_required_path_is_still_drfs_to_refuse(
    client: Client, configure: Configure
) -> None:
    configure(MIDDLEWARE=WITHOUT_MIDDLEWARE)
    response = client.get("/api/profile")  # REQUIRED for the path rules, but no middleware
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == BARE
    assert client.get("/api/profile", headers=bearer(mint(scope="profile"))).status_code == 200


# -- the ready URL views -------------------------------------------------------------------------


def test_login_with_django_authenticate(client: Client, mode: str) -> None:
    from django.contrib.auth import get_user_model

    body = login(client)
    assert set(body) == {"access_token", "refresh_token", "csrf_token", "expires_in", "token_type"}
    alice = get_user_model().objects.get(username="alice")
    me = client.get("/optional/profile", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.content
    assert me.json()["subject"] == str(alice.pk)  # sub is USER_ID_FIELD ("pk")
    assert me.json()["scopes"] == ["notes:read", "notes:write", "profile"]  # TOKEN_CLAIMS


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        ({"username": "alice", "password": "wrong"}, "application/json", 401, "invalid_grant"),
        ({"username": "nobody", "password": "x"}, "application/json", 401, "invalid_grant"),
        ({"username": "carol", "password": "carol-password"}, "application/json", 401,
         "invalid_grant"),
        ({"username": "alice"}, "application/json", 400, "invalid_request"),
        ({"username": ["alice"], "password": "x"}, "application/json", 400, "invalid_request"),
        (["alice", "alice-password"], "application/json", 400, "invalid_request"),
        ("username=alice&password=alice-password", "application/x-www-form-urlencoded", 400,
         "invalid_request"),
        ("{not json", "application/json", 400, "invalid_request"),
    ],
)  # fmt: skip
def test_login_refusals(
    client: Client, body: Any, content_type: str, status: int, error: str
) -> None:
    response = client.post("/auth/login", body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"
    assert not response.cookies


def test_login_needs_post(client: Client) -> None:
    assert client.get("/auth/login").status_code == 405


def test_refresh_sessions_logout_all(client: Client, mode: str) -> None:
    first = login(client)
    second = login(client)
    refreshed = client.post("/auth/refresh", {"refresh_token": first["refresh_token"]},
                            content_type="application/json")  # fmt: skip
    assert refreshed.status_code == 200, refreshed.content
    client.cookies.clear()
    auth = bearer(refreshed.json()["access_token"])
    sessions = client.get("/auth/sessions", headers=auth)
    assert sessions.status_code == 200
    assert len(sessions.json()["sessions"]) == 2
    assert client.get("/auth/sessions").status_code == 401
    ended = client.post("/auth/logout-all", headers=auth)
    assert ended.status_code == 200
    assert ended.json() == {"sessions_ended": 2}
    for token in (refreshed.json()["access_token"], second["access_token"]):
        assert client.get("/optional/profile", headers=bearer(token)).status_code == 401


def test_logout_needs_a_token(client: Client, mode: str) -> None:
    response = client.post("/auth/logout")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == BARE


def test_session_views_need_no_django_csrf_token(csrf_client: Client, mode: str) -> None:
    tokens = login(csrf_client)
    response = csrf_client.post("/auth/logout", headers=bearer(tokens["access_token"]))
    assert response.status_code == 204


def test_check_warns_when_login_needs_a_token(configure: Configure) -> None:
    assert check_session_urls() == []
    configure({"EXEMPT_PATHS": ["/health"]})
    warnings = check_session_urls()
    assert [w.id for w in warnings] == ["django_jwtmiddleware.W002"]
    assert "'/auth/login', '/auth/refresh'" in warnings[0].hint


def test_a_store_outage_without_the_middleware_is_a_503(
    client: Client, configure: Configure
) -> None:
    from tests.adapters.test_flask import FailingStore

    configure({"STORE": FailingStore()}, MIDDLEWARE=WITHOUT_MIDDLEWARE)
    response = client.get("/optional/profile", headers=bearer(mint(scope="profile")))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {"detail": "Authentication is temporarily unavailable"}
