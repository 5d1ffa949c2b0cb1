"""The demo's API in process: login, refresh, logout, sessions, me; bad input is 4xx JSON.

Login, refresh, logout, logout-all and the sessions list are the core's shared session
endpoints (``test_parity.py`` checks they answer as the Starlette adapter does); these tests
pin what the demo's pages and scripts rely on.
"""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from jwtmiddleware.testing import FrozenClock
from tests.demo.conftest import (
    ACCESS,
    CSRF,
    REFRESH,
    bearer,
    csrf,
    login,
    session_id,
    set_cookie_names,
)

TOKENS = {"access_token", "refresh_token", "token_type", "expires_in", "csrf_token"}
#: What a cookie refresh answers: the tokens stay in their HttpOnly cookies.
COOKIES_ONLY = {"token_type", "expires_in", "csrf_token"}


def assert_json_error(response: object, status: int, error: str | None = None) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/json")  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) >= {"error", "error_description"}
    if error is not None:
        assert body["error"] == error


# -- login ---------------------------------------------------------------------------------------


def test_login_gives_the_pair_in_the_body_and_in_cookies(client: TestClient) -> None:
    response = login(client)
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert set(body) == TOKENS
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert set_cookie_names(response) == [ACCESS, REFRESH, CSRF]
    cookies = response.headers.get_list("set-cookie")
    assert all("Secure" in c and "SameSite=Lax" in c for c in cookies)
    assert "HttpOnly" in cookies[0]
    assert "HttpOnly" in cookies[1]
    assert "HttpOnly" not in cookies[2]  # scripts echo the CSRF cookie
    assert "Path=/auth/refresh" in cookies[1]
    assert client.cookies[CSRF] == body["csrf_token"]


@pytest.mark.parametrize(("user", "password"), [("alice", "builder"), ("mallory", "wonderland")])
def test_wrong_credentials_are_one_answer(client: TestClient, user: str, password: str) -> None:
    response = client.post("/auth/login", json={"username": user, "password": password})
    assert_json_error(response, 401, "invalid_grant")
    assert response.json()["error_description"] == "Wrong user name or password"
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("content", "ctype", "status"),
    [
        (b"username=alice&password=wonderland", "application/x-www-form-urlencoded", 415),
        (b'{"username": "alice"', "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"username": "alice"}', "application/json", 400),
        (b'{"username": 7, "password": "x"}', "application/json", 400),
        (b'{"username": "", "password": "x"}', "application/json", 400),
        (json.dumps({"username": "a" * 65, "password": "x"}).encode(), "application/json", 400),
        (json.dumps({"username": "alice", "password": "x" * 257}).encode(), "application/json",
         400),
        (b"[" * 100_000, "application/json", 413),
        (b"\xff\xfe", "application/json", 400),
        (b"", "application/json", 400),
        (b"{}", "text/plain", 415),
    ],
)  # fmt: skip
def test_bad_login_input_is_4xx_json(
    client: TestClient, content: bytes, ctype: str, status: int
) -> None:
    response = client.post("/auth/login", content=content, headers={"content-type": ctype})
    assert_json_error(response, status)


@pytest.mark.parametrize(
    "headers",
    [{"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}, {"origin": "null"}],
)
def test_login_from_another_site_is_refused(client: TestClient, headers: dict[str, str]) -> None:
    body = {"username": "alice", "password": "wonderland"}
    response = client.post("/auth/login", json=body, headers=headers)
    assert_json_error(response, 403, "csrf_failed")
    assert "set-cookie" not in response.headers


# -- me and sliding refresh --------------------------------------------------------------------


def test_me_with_the_cookie(client: TestClient) -> None:
    login(client)
    me = client.get("/api/me").json()
    assert me["subject"] == "alice"
    assert me["source"] == "cookie"
    assert me["expires_in"] == 300
    assert me["claims"]["sid"] == me["session_id"]
    assert me["scopes"] == ["profile", "sessions"]


def test_me_with_a_bearer_token(client: TestClient) -> None:
    token = login(client).json()["access_token"]
    client.cookies.clear()
    me = client.get("/api/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["source"] == "header"
    assert "set-cookie" not in me.headers


def test_me_without_a_token_is_401_json(client: TestClient) -> None:
    response = client.get("/api/me")
    assert_json_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_sliding_refresh_renews_the_cookie(client: TestClient, clock: FrozenClock) -> None:
    login(client)
    first = client.get("/api/me")
    assert ACCESS not in set_cookie_names(first)  # 300 s left: above the 240 s threshold
    old = client.cookies[ACCESS]
    clock.advance(61)
    renewed = client.get("/api/me")
    assert set_cookie_names(renewed) == [ACCESS]
    assert renewed.headers["cache-control"] == "no-store"
    assert client.cookies[ACCESS] != old
    after = client.get("/api/me").json()
    assert after["token_id"] != renewed.json()["token_id"]
    assert after["expires_in"] == 300


def test_a_bearer_token_is_renewed_in_a_header(client: TestClient, clock: FrozenClock) -> None:
    token = login(client).json()["access_token"]
    client.cookies.clear()
    clock.advance(61)
    response = client.get("/api/me", headers=bearer(token))
    assert response.headers["x-refreshed-token"] != token


# -- refresh -----------------------------------------------------------------------------------


def test_refresh_from_the_cookie_needs_the_csrf_header(client: TestClient) -> None:
    login(client)
    assert_json_error(client.post("/auth/refresh"), 403, "csrf_failed")
    wrong = client.post("/auth/refresh", headers={"X-CSRF-Token": "nope"})
    assert_json_error(wrong, 403, "csrf_failed")
    old_access = client.cookies[ACCESS]
    response = client.post("/auth/refresh", headers=csrf(client))
    assert response.status_code == 200
    assert set_cookie_names(response) == [ACCESS, REFRESH, CSRF]
    assert client.cookies[ACCESS] != old_access
    assert client.get("/api/me").status_code == 200


def test_a_cookie_refresh_answers_with_cookies_only(client: TestClient) -> None:
    login(client)
    response = client.post("/auth/refresh", headers=csrf(client))
    body = response.json()
    assert set(body) == COOKIES_ONLY  # page scripts never see an HttpOnly token
    assert body["csrf_token"] == client.cookies[CSRF]
    assert (response.headers["cache-control"], response.headers["pragma"]) == (
        "no-store",
        "no-cache",
    )


def test_a_cookie_refresh_may_carry_its_csrf_proof_in_a_form(client: TestClient) -> None:
    login(client)
    form = {"content-type": "application/x-www-form-urlencoded"}
    response = client.post("/auth/refresh", content=f"csrf_token={client.cookies[CSRF]}",
                           headers=form)  # fmt: skip
    assert response.status_code == 200
    assert set(response.json()) == COOKIES_ONLY


def test_refresh_from_another_site_is_refused(client: TestClient) -> None:
    login(client)
    headers = {**csrf(client), "sec-fetch-site": "same-site"}
    assert_json_error(client.post("/auth/refresh", headers=headers), 403, "csrf_failed")


def test_refresh_with_a_body_rotates_and_detects_reuse(
    client: TestClient, clock: FrozenClock
) -> None:
    pair = login(client).json()
    client.cookies.clear()
    first = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert first.status_code == 200
    assert set(first.json()) == TOKENS  # a body refresh answers with the tokens in the body
    # Presented again within REFRESH_REUSE_GRACE: the same successor (two tabs, a retry).
    client.cookies.clear()
    again = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.json()["access_token"] == first.json()["access_token"]
    clock.advance(30)
    client.cookies.clear()
    reused = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_json_error(reused, 401, "invalid_token")
    assert reused.json()["why"] == "revoked"
    assert reused.headers["www-authenticate"].startswith("Bearer ")
    # Reuse revoked the whole session, successor included.
    client.cookies.clear()
    me = client.get("/api/me", headers=bearer(first.json()["access_token"]))
    assert_json_error(me, 401, "invalid_token")


def test_a_refresh_token_in_a_form_body(client: TestClient) -> None:
    pair = login(client).json()
    client.cookies.clear()
    form = {"content-type": "application/x-www-form-urlencoded"}
    response = client.post("/auth/refresh", content=f"refresh_token={pair['refresh_token']}",
                           headers=form)  # fmt: skip
    assert response.status_code == 200
    assert set(response.json()) == TOKENS


def test_refresh_without_a_token(client: TestClient) -> None:
    response = client.post("/auth/refresh")
    assert_json_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


def test_an_expired_refresh_cookie_says_why(client: TestClient, clock: FrozenClock) -> None:
    login(client)
    proof = csrf(client)
    clock.advance(15 * 86400)
    response = client.post("/auth/refresh", headers=proof)
    assert_json_error(response, 401, "invalid_token")
    assert response.json()["why"] == "expired"
    assert all("Max-Age=0" in c for c in response.headers.get_list("set-cookie"))


@pytest.mark.parametrize(
    ("content", "ctype"),
    [(b" " * 70_000, "application/json"), (b'{"refresh_token": "x"', "application/json"),
     (b"[1]", "application/json"), (b"refresh_token=a&refresh_token=b",
                                    "application/x-www-form-urlencoded")],
)  # fmt: skip
def test_a_bad_refresh_body_is_400(client: TestClient, content: bytes, ctype: str) -> None:
    response = client.post("/auth/refresh", content=content, headers={"content-type": ctype})
    assert_json_error(response, 400, "invalid_request")


def test_refresh_with_the_token_twice_is_400(client: TestClient) -> None:
    pair = login(client).json()
    response = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]},
                           headers=csrf(client))  # fmt: skip
    assert_json_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "token", ["garbage", "a.b.c", "x" * 20_000, "eyJhbGciOiJub25lIn0.e30.", 7, None]
)
def test_a_bad_refresh_token_is_401_or_400(client: TestClient, token: object) -> None:
    response = client.post("/auth/refresh", json={"refresh_token": token})
    assert response.status_code in (400, 401)
    assert_json_error(response, response.status_code)


def test_a_bad_refresh_cookie_is_401_and_clears_the_cookies(client: TestClient) -> None:
    login(client)
    client.cookies.set(REFRESH, "garbage", domain="testserver.local", path="/auth/refresh")
    response = client.post("/auth/refresh", headers=csrf(client))
    assert_json_error(response, 401, "invalid_token")
    assert response.json()["why"] == "invalid"
    assert set_cookie_names(response) == [ACCESS, REFRESH, CSRF]
    assert all("Max-Age=0" in c for c in response.headers.get_list("set-cookie"))


def test_an_access_token_is_no_refresh_token(client: TestClient) -> None:
    pair = login(client).json()
    client.cookies.clear()
    response = client.post("/auth/refresh", json={"refresh_token": pair["access_token"]})
    assert_json_error(response, 401, "invalid_token")
    assert "set-cookie" not in response.headers  # no cookie was presented: none is deleted


# -- logout --------------------------------------------------------------------------------------


def test_logout_needs_csrf_proof_then_ends_the_session(client: TestClient) -> None:
    token = login(client).json()["access_token"]
    assert_json_error(client.post("/auth/logout"), 403, "csrf_failed")
    response = client.post("/auth/logout", headers=csrf(client))
    assert (response.status_code, response.content) == (204, b"")
    assert set_cookie_names(response) == [ACCESS, REFRESH, CSRF]
    assert all("Max-Age=0" in c for c in response.headers.get_list("set-cookie"))
    assert ACCESS not in client.cookies
    assert_json_error(client.get("/api/me", headers=bearer(token)), 401, "invalid_token")


def test_logout_with_a_bearer_token(client: TestClient) -> None:
    token = login(client).json()["access_token"]
    client.cookies.clear()
    assert client.post("/auth/logout", headers=bearer(token)).status_code == 204
    assert_json_error(client.get("/api/me", headers=bearer(token)), 401, "invalid_token")


def test_logout_all_ends_every_device(client: TestClient, other: TestClient) -> None:
    login(client)
    login(other)
    response = client.post("/auth/logout-all", headers=csrf(client))
    assert response.json() == {"sessions_ended": 2}
    assert set_cookie_names(response) == [ACCESS, REFRESH, CSRF]
    assert_json_error(other.get("/api/me"), 401, "invalid_token")
    assert_json_error(client.get("/api/me"), 401)


def test_logout_others_keeps_this_device(client: TestClient, other: TestClient) -> None:
    login(client)
    login(other)
    login(other, "bob", "builder")  # bob's session in the same jar replaces alice's cookies
    login(other)
    response = client.post("/auth/logout-others", headers=csrf(client))
    assert response.json() == {"sessions_ended": 2}
    assert client.get("/api/me").status_code == 200
    assert_json_error(other.get("/api/me"), 401, "invalid_token")


def test_logout_others_needs_a_session(client: TestClient, app: object) -> None:
    from jwtmiddleware.core.issuer import Issuer
    from jwtmiddleware.demo.state import DemoState

    state: DemoState = app.state.demo  # type: ignore[attr-defined]
    token = Issuer(state.settings).access_token("alice", now=state.clock()).token
    response = client.post("/auth/logout-others", headers=bearer(token))
    assert_json_error(response, 400, "no_session")


# -- sessions ------------------------------------------------------------------------------------


def test_sessions_lists_every_device(
    client: TestClient, other: TestClient, clock: FrozenClock
) -> None:
    login(client)
    clock.advance(1)
    login(other)
    sessions = client.get("/auth/sessions").json()["sessions"]
    assert len(sessions) == 2
    assert [s["current"] for s in sessions] == [True, False]
    assert sessions[1]["user_agent"] == "second-device/1.0"
    assert sessions[0]["ip"] == "testclient"
    assert set(sessions[0]) == {"session_id", "user_agent", "ip", "created_at", "last_seen",
                                "expires_at", "current"}  # fmt: skip


def test_delete_another_session(client: TestClient, other: TestClient) -> None:
    login(client)
    login(other)
    sid = session_id(other)
    response = client.delete(f"/auth/sessions/{sid}", headers=csrf(client))
    assert response.json() == {"revoked": sid, "current": False}
    assert_json_error(other.get("/api/me"), 401, "invalid_token")
    assert len(client.get("/auth/sessions").json()["sessions"]) == 1


def test_delete_this_session_logs_out(client: TestClient) -> None:
    login(client)
    sid = session_id(client)
    response = client.delete(f"/auth/sessions/{sid}", headers=csrf(client))
    assert response.json() == {"revoked": sid, "current": True}
    assert ACCESS not in client.cookies


def test_someone_elses_session_is_not_found(client: TestClient, other: TestClient) -> None:
    login(client)
    login(other, "bob", "builder")
    bobs = session_id(other)
    for sid in (bobs, "no-such-session", "x" * 300, "%00"):
        response = client.delete(f"/auth/sessions/{sid}", headers=csrf(client))
        assert_json_error(response, 404, "not_found")
    assert other.get("/api/me").status_code == 200


def test_delete_session_needs_csrf_proof(client: TestClient) -> None:
    login(client)
    sid = session_id(client)
    assert_json_error(client.delete(f"/auth/sessions/{sid}"), 403, "csrf_failed")


# -- the rest --------------------------------------------------------------------------------------


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/health")
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/auth/login", 405), ("PUT", "/auth/logout", 405), ("GET", "/api/nope", 404),
     ("GET", "/static/nope.js", 404), ("POST", "/health", 405)],
)  # fmt: skip
def test_unknown_routes_and_methods_are_json(
    client: TestClient, method: str, path: str, status: int
) -> None:
    login(client)
    assert_json_error(client.request(method, path, headers=csrf(client)), status)


@pytest.mark.parametrize("path", ["/auth/sessions", "/api/me", "/auth/logout"])
def test_api_paths_answer_json_when_logged_out(client: TestClient, path: str) -> None:
    method = "POST" if path == "/auth/logout" else "GET"
    assert_json_error(client.request(method, path), 401)


ROUTES = [
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/logout-all"),
    ("POST", "/auth/logout-others"),
    ("GET", "/auth/sessions"),
    ("DELETE", "/auth/sessions/x"),
    ("GET", "/api/me"),
    ("POST", "/api/inspect"),
    ("GET", "/api/lab/samples"),
    ("POST", "/api/download-link"),
    ("GET", "/download/report.txt"),
]
JUNK = [
    (b"", "application/json"),
    (b"\x00\xff{", "application/json"),
    (b'{"token": null, "refresh_token": [], "username": {}}', "application/json"),
    (b"csrf_token=x&token=y", "application/x-www-form-urlencoded"),
    (b"\xff" * 40_000, "text/plain"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_junk_never_gets_a_500(client: TestClient, method: str, path: str) -> None:
    """Logged in or not, with or without CSRF proof: always an answer below 500."""
    for logged_in in (False, True):
        for content, ctype in JUNK:
            if logged_in and CSRF not in client.cookies:
                login(client)  # again, after a junk request that logged out
            headers = {"content-type": ctype, **(csrf(client) if logged_in else {})}
            response = client.request(method, path + "?access_token=%ff&x=%00", content=content,
                                      headers=headers)  # fmt: skip
            assert response.status_code < 500, (logged_in, content[:20], response.text)
            if response.status_code >= 400:
                assert_json_error(response, response.status_code)


def test_a_store_failure_is_503_json(client: TestClient, app: object) -> None:
    from jwtmiddleware.core.errors import StoreUnavailable

    async def broken(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("down")

    app.state.demo.store.astart_session = broken  # type: ignore[attr-defined]
    response = client.post("/auth/login", json={"username": "alice", "password": "wonderland"})
    assert_json_error(response, 503, "temporarily_unavailable")
    assert response.headers["retry-after"] == "1"
    assert "set-cookie" not in response.headers


def test_asymmetric_keys_are_published_as_a_jwks(tmp_path: object) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from jwtmiddleware.demo import UserDirectory, build_app, demo_settings

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    env = {"JWTMIDDLEWARE_KEYS": pem, "JWTMIDDLEWARE_ALGORITHMS": "ES256"}
    config = demo_settings(env, store_dir=str(tmp_path), users=UserDirectory([("a", "b")], cost=16))
    assert not config.generated_key
    with TestClient(build_app(config), base_url="https://testserver") as es256:
        jwks = es256.get("/.well-known/jwks.json").json()
        assert [(k["kty"], k["alg"]) for k in jwks["keys"]] == [("EC", "ES256")]
        assert "d" not in jwks["keys"][0]
        assert login(es256, "a", "b").json()["access_token"].startswith("eyJhbGciOiJFUzI1NiIs")
        assert es256.get("/api/me").json()["subject"] == "a"


def test_hmac_keys_are_never_published(client: TestClient) -> None:
    login(client)
    assert client.get("/.well-known/jwks.json").status_code == 404
