"""The demo's forms in process: every form posts, each answers with a redirect (issue 15).

Without JavaScript the login form used to submit ``GET /login?username=...&password=...``
(no ``method``, no ``action``), which puts the password in the history and the access log.
Now every form is ``method="post"`` with an ``action`` and answers ``303 See Other``; the login
form checks its own CSRF proof, the others the middleware's (a hidden ``csrf_token`` field).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.testclient import TestClient

from jwtmiddleware.testing import FrozenClock
from tests.demo.conftest import ACCESS, CSRF, REFRESH, csrf, login, session_id, set_cookie_names

LOGIN_CSRF = "__Host-login_csrf"
FORM = {"content-type": "application/x-www-form-urlencoded"}


class Forms(HTMLParser):
    """Every ``<form>`` of a page with its attributes and its inputs' names and values."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.forms.append({"attrs": dict(attrs), "fields": {}})
        elif tag in ("input", "textarea", "select") and self.forms:
            named = dict(attrs)
            if named.get("name"):
                self.forms[-1]["fields"][named["name"]] = named.get("value") or ""


def text_of(html: str) -> str:
    """The page's text: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def form_of(html: str, action: str) -> dict[str, str]:
    """The fields of the form posting to ``action``."""
    found = [f for f in Forms(html).forms if f["attrs"].get("action") == action]
    assert len(found) == 1, Forms(html).forms
    fields: dict[str, str] = found[0]["fields"]
    return fields


def post_form(client: TestClient, path: str, fields: dict[str, str], **kwargs: Any) -> Any:
    return client.post(path, content=urlencode(fields), headers={**FORM, **kwargs.pop(
        "headers", {})}, **kwargs)  # fmt: skip


def login_form(client: TestClient, next_path: str = "/me") -> dict[str, str]:
    return form_of(client.get(f"/login?next={next_path}").text, "/login")


def form_login(client: TestClient, user: str = "alice", password: str = "wonderland",
               next_path: str = "/me") -> httpx.Response:  # fmt: skip
    fields = {**login_form(client, next_path), "username": user, "password": password}
    response: httpx.Response = post_form(client, "/login", fields)
    return response


# -- every form posts ------------------------------------------------------------------------


def test_every_form_of_every_page_posts_to_an_action(client: TestClient, other: TestClient) -> None:
    pages = {"/login": client.get("/login").text}
    login(client)
    login(other)
    for path in ("/me", "/sessions", "/sessions/logout-all", "/lab"):
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = response.text
    seen = 0
    for path, html in pages.items():
        forms = Forms(html).forms
        for form in forms:
            assert form["attrs"].get("method") == "post", (path, form)
            assert form["attrs"].get("action", "").startswith("/"), (path, form)
            seen += 1
    # login; the nav's log-out on each signed-in page; two "log out this one" and "log out all
    # others" on /sessions; the confirmation's form
    assert seen == 1 + 4 + 3 + 1
    assert 'name="password"' in pages["/login"]


# -- the login form --------------------------------------------------------------------------


def test_the_login_form_sets_the_cookies_and_redirects(client: TestClient) -> None:
    fields = login_form(client, "/sessions")
    assert set(fields) == {"next", "login_csrf", "username", "password"}
    assert fields["next"] == "/sessions"
    assert fields["login_csrf"] == client.cookies[LOGIN_CSRF]
    response = post_form(client, "/login", {**fields, "username": "alice",
                                            "password": "wonderland"})  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/sessions"
    assert response.headers["cache-control"] == "no-store"
    assert set_cookie_names(response) == [ACCESS, REFRESH, CSRF, LOGIN_CSRF]
    assert "Max-Age=0" in response.headers.get_list("set-cookie")[-1]  # one login per form
    assert response.content == b""  # no token in a body nobody reads
    me = client.get("/api/me").json()
    assert (me["subject"], me["source"]) == ("alice", "cookie")
    assert me["claims"]["scope"] == "profile sessions"  # the same tokens as the JSON login
    assert client.get("/sessions").status_code == 200


def test_the_login_csrf_cookie(client: TestClient) -> None:
    response = client.get("/login")
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(LOGIN_CSRF))
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" in cookie
    assert "Path=/" in cookie
    again = client.get("/login")  # a second tab: the same value, so both forms work
    assert form_of(again.text, "/login")["login_csrf"] == client.cookies[LOGIN_CSRF]


@pytest.mark.parametrize("next_path", ["//evil.example", "https://evil.example/", "/\\evil"])
def test_the_login_form_never_redirects_elsewhere(client: TestClient, next_path: str) -> None:
    fields = {**login_form(client), "username": "alice", "password": "wonderland"}
    response = post_form(client, "/login", {**fields, "next": next_path})
    assert response.headers["location"] == "/me"


def test_a_wrong_password_shows_the_form_again(client: TestClient) -> None:
    response = form_login(client, '<b>"alice', "secret-guess-123")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "Wrong user name or password" in response.text
    assert "secret-guess-123" not in response.text
    assert 'value="&lt;b&gt;&quot;alice"' in response.text  # escaped
    assert ACCESS not in client.cookies
    again = form_login(client, "alice", "wonderland")  # the same browser may try again
    assert again.status_code == 303


@pytest.mark.parametrize(
    "change",
    [
        {"login_csrf": "forged-value-forged-value"},
        {"login_csrf": ""},
        {"login_csrf": None},  # the field left out
    ],
)
def test_the_login_form_needs_its_csrf_value(
    client: TestClient, change: dict[str, str | None]
) -> None:
    fields = {**login_form(client), "username": "alice", "password": "wonderland"}
    for name, value in change.items():
        if value is None:
            del fields[name]
        else:
            fields[name] = value
    response = post_form(client, "/login", fields)
    assert response.status_code == 403
    assert "The login form had expired" in response.text
    assert ACCESS not in client.cookies


def test_the_login_form_needs_the_csrf_cookie(app: Any) -> None:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as fresh:
        fields = form_of(fresh.get("/login").text, "/login")
        fresh.cookies.clear()
        response = post_form(fresh, "/login", {**fields, "username": "alice",
                                               "password": "wonderland"})  # fmt: skip
        assert response.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://testserver"},  # another scheme: another origin
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_a_login_form_from_another_site_is_refused(
    client: TestClient, headers: dict[str, str]
) -> None:
    fields = {**login_form(client), "username": "alice", "password": "wonderland"}
    response = post_form(client, "/login", fields, headers=headers)
    assert response.status_code == 403
    assert "sent from another site" in response.text
    assert ACCESS not in client.cookies
    ours = {"origin": "https://testserver", "sec-fetch-site": "same-origin"}
    same = post_form(client, "/login", fields, headers=ours)
    assert same.status_code == 303


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ("username=a&username=b&password=x", FORM, 400),
        ('{"username": "alice"}', {"content-type": "application/json"}, 415),
        ("x=" + "a" * 40_000, FORM, 413),
        (b"username=\xff", FORM, 400),
    ],
)
def test_bad_login_forms_are_4xx(
    client: TestClient, body: str | bytes, headers: dict[str, str], status: int
) -> None:
    client.get("/login")
    response = client.post("/login", content=body, headers=headers)
    assert response.status_code == status, response.text


def test_the_json_login_is_unchanged(client: TestClient) -> None:
    assert login(client).json()["token_type"] == "Bearer"


# -- the forms behind the token cookie ----------------------------------------------------------


def test_log_out_with_the_form(client: TestClient) -> None:
    login(client)
    fields = form_of(client.get("/me").text, "/logout")
    assert fields == {"csrf_token": client.cookies[CSRF]}
    refused = post_form(client, "/logout", {})  # no CSRF proof: the middleware refuses
    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf_failed"
    response = post_form(client, "/logout", fields)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?why=logged-out"
    assert set_cookie_names(response) == [ACCESS, REFRESH, CSRF]
    assert client.get("/api/me").status_code == 401


def test_end_sessions_with_the_forms(client: TestClient, other: TestClient) -> None:
    login(client)
    login(other)
    login(other)
    mine, theirs = session_id(client), session_id(other)
    html = client.get("/sessions").text
    assert "3 live sessions." in text_of(html)
    end_other = next(f["attrs"]["action"] for f in Forms(html).forms
                     if f["attrs"]["action"].endswith("/logout")
                     and theirs in f["attrs"]["action"])  # fmt: skip
    response = post_form(client, end_other, form_of(html, end_other))
    assert (response.status_code, response.headers["location"]) == (303, "/sessions")
    assert other.get("/api/me").status_code == 401
    html = client.get("/sessions").text
    assert "2 live sessions." in text_of(html)
    others = "/sessions/logout-others"
    response = post_form(client, others, form_of(html, others))
    assert (response.status_code, response.headers["location"]) == (303, "/sessions")
    html = client.get("/sessions").text
    assert "1 live session." in text_of(html)  # not "1 live session(s)"
    end_mine = f"/sessions/{mine}/logout"
    response = post_form(client, end_mine, form_of(html, end_mine))
    assert response.headers["location"] == "/login?why=logged-out"
    assert set_cookie_names(response) == [ACCESS, REFRESH, CSRF]


def test_someone_elses_session_is_not_found(client: TestClient, other: TestClient) -> None:
    login(client)
    login(other, "bob", "builder")
    proof = {"csrf_token": client.cookies[CSRF]}
    response = post_form(client, f"/sessions/{session_id(other)}/logout", proof)
    assert response.status_code == 404
    assert other.get("/api/me").status_code == 200


def test_log_out_everywhere_asks_first(client: TestClient, other: TestClient) -> None:
    login(client)
    login(other)
    sessions = client.get("/sessions").text
    assert 'href="/sessions/logout-all"' in sessions  # a link to the question, not an action
    page = client.get("/sessions/logout-all")
    assert page.status_code == 200
    assert "This ends 2 live sessions of alice on every device" in text_of(page.text)
    fields = form_of(page.text, "/sessions/logout-all")
    assert fields == {"csrf_token": client.cookies[CSRF], "confirm": "yes"}
    # Without the confirmation the form only leads back to the question.
    unasked = post_form(client, "/sessions/logout-all", {"csrf_token": fields["csrf_token"]})
    assert (unasked.status_code, unasked.headers["location"]) == (303, "/sessions/logout-all")
    assert other.get("/api/me").status_code == 200
    assert post_form(client, "/sessions/logout-all", {"confirm": "yes"}).status_code == 403
    response = post_form(client, "/sessions/logout-all", fields)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?why=logged-out-all&ended=2"
    assert set_cookie_names(response) == [ACCESS, REFRESH, CSRF]
    assert other.get("/api/me").status_code == 401
    notice = client.get(response.headers["location"]).text
    assert "You were logged out on every device (2 sessions ended)." in notice
    one = client.get("/login?why=logged-out-all&ended=1").text
    assert "(1 session ended)." in one


def test_a_form_posted_with_an_expired_token_goes_to_login(
    client: TestClient, clock: FrozenClock
) -> None:
    login(client)
    proof = csrf(client)
    clock.advance(400)
    for path, back in (("/logout", "/me"), ("/sessions/logout-all", "/sessions")):
        response = post_form(client, path, {"csrf_token": proof["X-CSRF-Token"]})
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={back}&why=expired"
    assert client.post("/auth/logout").status_code == 401  # the API keeps its JSON answers


def test_the_confirmation_page_needs_a_login(client: TestClient) -> None:
    response = client.get("/sessions/logout-all")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/sessions/logout-all"
