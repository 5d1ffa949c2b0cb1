"""jwtmiddleware's CSRF check (cookie tokens) and Django's ``CsrfViewMiddleware`` (session
forms) side by side: each protects what it knows, neither refuses what the other allowed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import AsyncClient, Client

from .conftest import Configure, bearer, current_settings, mint

DJANGO_SECRET = "a" * 32
FORM = "application/x-www-form-urlencoded"


def _cookie(client: Client, csrf: str = "csrf-value-1") -> str:
    client.cookies[current_settings().access_cookie_name] = mint("alice", csrf=csrf)
    return csrf


def _ours(response: Any) -> bool:
    """A refusal by jwtmiddleware's CSRF check (JSON), not by Django's (HTML page)."""
    return bool(response.status_code == 403 and response.json()["error"] == "csrf_failed")


def _djangos(response: Any) -> bool:
    return response.status_code == 403 and b"CSRF verification failed" in response.content


def test_bearer_post_needs_no_django_csrf_token(csrf_client: Client) -> None:
    response = csrf_client.post("/api/echo", {"a": "1"}, headers=bearer(mint()))
    assert response.status_code == 200
    assert response.json()["post"] == {"a": ["1"]}


def test_cookie_post_without_proof_is_refused_by_jwtmiddleware(csrf_client: Client) -> None:
    _cookie(csrf_client)
    response = csrf_client.post("/api/echo", {"a": "1"})
    assert _ours(response)
    assert "WWW-Authenticate" not in response.headers


def test_cookie_post_with_the_header_passes_both(csrf_client: Client) -> None:
    csrf = _cookie(csrf_client)
    response = csrf_client.post("/api/echo", {"a": "1"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200


def test_cookie_post_with_a_wrong_header_is_refused(csrf_client: Client) -> None:
    _cookie(csrf_client)
    assert _ours(csrf_client.post("/api/echo", {}, headers={"X-CSRF-Token": "wrong"}))


def test_form_field_is_read_and_the_view_still_sees_the_body(csrf_client: Client) -> None:
    csrf = _cookie(csrf_client)
    body = urlencode({"csrf_token": csrf, "note": "hé"})
    response = csrf_client.post("/api/echo", body, content_type=FORM)
    assert response.status_code == 200
    body = response.json()
    assert body["post"] == {"csrf_token": [csrf], "note": ["hé"]}
    assert "note=h%C3%A9" in body["body"]


def test_form_field_on_put_is_parsed_from_the_body(csrf_client: Client) -> None:
    csrf = _cookie(csrf_client)
    response = csrf_client.put("/api/echo", f"csrf_token={csrf}&x=2", content_type=FORM)
    assert response.status_code == 200
    assert response.json()["body"] == f"csrf_token={csrf}&x=2"
    assert _ours(csrf_client.put("/api/echo", "csrf_token=nope", content_type=FORM))


def test_form_field_given_twice_is_no_proof(csrf_client: Client) -> None:
    csrf = _cookie(csrf_client)
    response = csrf_client.post("/api/echo", f"csrf_token={csrf}&csrf_token={csrf}",
                                content_type=FORM)  # fmt: skip
    assert _ours(response)


def test_multipart_body_is_left_to_django(csrf_client: Client) -> None:
    csrf = _cookie(csrf_client)
    # Only urlencoded bodies are read for the field; a multipart form must use the header.
    assert _ours(csrf_client.post("/api/echo", {"csrf_token": csrf}, format="multipart"))
    response = csrf_client.post("/api/echo", {"x": "1"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert response.json()["post"] == {"x": ["1"]}


def test_cross_site_cookie_post_is_refused(csrf_client: Client) -> None:
    csrf = _cookie(csrf_client)
    response = csrf_client.post(
        "/api/echo",
        {},
        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.test", "Host": "testserver"},
    )
    assert _ours(response)


@pytest.mark.parametrize("secure", [False, True])
def test_the_origin_must_have_the_requests_scheme(csrf_client: Client, secure: bool) -> None:
    """The request's own origin takes Django's ``request.scheme``: over http only an
    ``http://`` Origin of the host passes, over https only ``https://`` (issue 15)."""
    csrf = _cookie(csrf_client)
    passed = []
    for scheme in ("http", "https", "ftp"):
        headers = {"X-CSRF-Token": csrf, "Origin": f"{scheme}://testserver", "Host": "testserver"}
        response = csrf_client.post("/api/echo", {}, secure=secure, headers=headers)
        if response.status_code == 200:
            passed.append(scheme)
        else:
            assert _ours(response)
    assert passed == ["https" if secure else "http"]


def test_behind_a_proxy_the_scheme_follows_secure_proxy_ssl_header(csrf_client: Client) -> None:
    from django.test import override_settings

    csrf = _cookie(csrf_client)
    headers = {"X-CSRF-Token": csrf, "Origin": "https://testserver", "Host": "testserver",
               "X-Forwarded-Proto": "https"}  # fmt: skip
    assert _ours(csrf_client.post("/api/echo", {}, headers=headers))  # plain http to Django
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        assert csrf_client.post("/api/echo", {}, headers=headers).status_code == 200


def test_session_form_without_jwt_is_guarded_by_django(csrf_client: Client) -> None:
    assert _djangos(csrf_client.post("/optional/form", {"x": "1"}))
    csrf_client.cookies["csrftoken"] = DJANGO_SECRET
    response = csrf_client.post("/optional/form", {"csrfmiddlewaretoken": DJANGO_SECRET})
    assert response.status_code == 200
    assert response.content == b"ok POST"


def test_django_token_is_no_proof_for_a_cookie_jwt(csrf_client: Client) -> None:
    _cookie(csrf_client)
    csrf_client.cookies["csrftoken"] = DJANGO_SECRET
    assert _ours(csrf_client.post("/api/echo", {"csrfmiddlewaretoken": DJANGO_SECRET}))


def test_query_token_post_stays_under_django_csrf(
    csrf_client: Client, configure: Configure
) -> None:
    configure(jwt={"SOURCES": ["header", "cookie", "query"]})
    response = csrf_client.post(f"/api/echo?access_token={mint()}", {"x": "1"})
    assert _djangos(response)


def test_without_our_csrf_check_django_keeps_guarding_cookie_posts(
    csrf_client: Client, configure: Configure
) -> None:
    configure(jwt={"CSRF_PROTECTION": False})
    _cookie(csrf_client)
    assert _djangos(csrf_client.post("/api/echo", {"x": "1"}))
    csrf_client.cookies["csrftoken"] = DJANGO_SECRET
    response = csrf_client.post("/api/echo", {"csrfmiddlewaretoken": DJANGO_SECRET})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "order",
    [
        ["session", "csrf", "auth", "jwt"],  # recommended
        ["session", "auth", "jwt", "csrf"],  # CsrfViewMiddleware after ours works the same
    ],
)
def test_middleware_order_relative_to_csrf_does_not_matter(
    csrf_client: Client, configure: Configure, order: list[str]
) -> None:
    paths = {
        "session": "django.contrib.sessions.middleware.SessionMiddleware",
        "csrf": "django.middleware.csrf.CsrfViewMiddleware",
        "auth": "django.contrib.auth.middleware.AuthenticationMiddleware",
        "jwt": "django_jwtmiddleware.JWTAuthenticationMiddleware",
    }
    configure(MIDDLEWARE=[paths[name] for name in order])
    assert csrf_client.post("/api/echo", {}, headers=bearer(mint())).status_code == 200
    assert _djangos(csrf_client.post("/optional/form", {}))
    csrf = _cookie(csrf_client)
    assert csrf_client.post("/api/echo", {}, headers={"X-CSRF-Token": csrf}).status_code == 200


@pytest.mark.anyio
async def test_async_chain_reads_the_form_field_and_exempts_bearer_posts() -> None:
    client = AsyncClient(enforce_csrf_checks=True)
    assert (await client.post("/api/echo", {}, headers=bearer(mint()))).status_code == 200
    csrf = "async-csrf"
    client.cookies[current_settings().access_cookie_name] = mint("alice", csrf=csrf)
    body = f"csrf_token={csrf}&n=1"
    response = await client.post("/api/echo", body, content_type=FORM)
    assert response.status_code == 200
    assert response.json() == {"post": {"csrf_token": [csrf], "n": ["1"]}, "body": body}
    assert _ours(await client.post("/api/echo", "csrf_token=wrong", content_type=FORM))
    client.cookies.clear()
    assert _djangos(await client.post("/optional/form", {}))
