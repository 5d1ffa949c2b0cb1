"""flask_jwtmiddleware with Flask's own test client: settings, path rules, per-view rules,
error routing through ``app.errorhandler``, and the session flow with cookies and bearer tokens.

The test client runs without its cookie jar: :class:`Jar` keeps cookies by hand from the
``Set-Cookie`` headers, so the tests see exactly which cookies (and attributes) were sent.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import secrets
import time
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask, request
from flask.testing import FlaskClient

import flask_jwtmiddleware
from flask_jwtmiddleware import (
    JWTAuth,
    JWTHTTPException,
    current_identity,
    jwt_required,
)
from jwtmiddleware import (
    AuthenticationError,
    ClaimCheckFailed,
    ConfigurationError,
    ErrorResponse,
    StoreUnavailable,
)
from jwtmiddleware.stores import MemoryStore
from jwtmiddleware.testing import FrozenClock, mint_token
from tests.adapters.conftest import close_after_test

SECRET = secrets.token_urlsafe(32)
ISSUER = "https://issuer.test"
CSRF = "X-CSRF-Token"
ACCESS, REFRESH, CSRF_COOKIE = "__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"


# -- helpers shared with test_quart and the server tests --------------------------------------


def not_banned(claims: Mapping[str, Any]) -> None:
    """A claim check given to the apps as an import string."""
    if claims.get("banned"):
        raise ClaimCheckFailed("banned")


def to_login(error: Exception, view: object) -> ErrorResponse | None:
    """An ``ERROR_HANDLER`` redirecting refusals on ``/app/...`` to a login page."""
    if getattr(view, "path", "").startswith("/app/"):
        return ErrorResponse(302, (("location", "/login"),))
    return None


def jwt_config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """The ``JWTMIDDLEWARE`` mapping of the test apps."""
    return {
        "SECRET": SECRET,
        "ISSUER": ISSUER,
        "STORE": f"sqlite:///{tmp_path / 'sessions.db'}",
        "EXEMPT_PATHS": ["/health", "/auth/login", "/auth/refresh"],
        "OPTIONAL_PATHS": ["/public", "/public/*", "/app/*"],
        "CLAIM_CHECKS": ["tests.adapters.test_flask:not_banned"],
        "REFRESH_REUSE_GRACE": 0,
        **extra,
    }


@dataclass
class SetCookie:
    """One parsed ``Set-Cookie`` header."""

    name: str
    value: str
    attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, header: str) -> SetCookie:
        pair, *attrs = (part.strip() for part in header.split(";"))
        name, _, value = pair.partition("=")
        parsed = {}
        for attr in attrs:
            key, _, val = attr.partition("=")
            parsed[key.lower()] = val
        return cls(name, value, parsed)


class Jar:
    """Cookies kept by hand (``Secure`` ones too, as a browser on https would)."""

    def __init__(self) -> None:
        self.cookies: dict[str, SetCookie] = {}

    def update(self, set_cookies: list[str]) -> list[SetCookie]:
        parsed = [SetCookie.parse(header) for header in set_cookies]
        for cookie in parsed:
            if cookie.attributes.get("max-age") == "0":
                self.cookies.pop(cookie.name, None)
            else:
                self.cookies[cookie.name] = cookie
        return parsed

    def header(self, path: str) -> str:
        """The ``Cookie`` header a browser sends to ``path``."""
        return "; ".join(
            f"{c.name}={c.value}"
            for c in self.cookies.values()
            if path.startswith(c.attributes.get("path", "/"))
        )

    def value(self, name: str) -> str:
        return self.cookies[name].value


def check_login_cookies(cookies: list[SetCookie], *, max_age_access: int) -> None:
    """The attributes every adapter must give the three cookies."""
    by_name = {c.name: c for c in cookies}
    assert set(by_name) == {ACCESS, REFRESH, CSRF_COOKIE}
    access, refresh, csrf = by_name[ACCESS], by_name[REFRESH], by_name[CSRF_COOKIE]
    for cookie in (access, refresh, csrf):
        assert "secure" in cookie.attributes
        assert cookie.attributes["samesite"] == "Lax"
        assert "domain" not in cookie.attributes
    assert "httponly" in access.attributes
    assert "httponly" in refresh.attributes
    assert "httponly" not in csrf.attributes  # scripts echo it in X-CSRF-Token
    assert access.attributes["path"] == "/"
    assert csrf.attributes["path"] == "/"
    assert refresh.attributes["path"] == "/auth/refresh"
    assert int(access.attributes["max-age"]) == max_age_access


def js(response: Any) -> Any:
    """A test response's JSON body (never ``None`` here)."""
    data = response.get_json()
    assert data is not None
    return data


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the app -----------------------------------------------------------------------------------


class FailingStore(MemoryStore):
    """A store whose revocation check cannot answer."""

    def is_revoked(self, query: Any, *, now: float) -> bool:
        raise StoreUnavailable("down")

    def mirror(self, **kwargs: Any) -> None:  # type: ignore[override]
        return None  # no change log to mirror: every request asks is_revoked


def create_app(config: Mapping[str, Any] | None, **auth_options: Any) -> Flask:
    app = Flask(__name__)
    if config is not None:
        app.config["JWTMIDDLEWARE"] = config
    auth = JWTAuth(**auth_options)
    auth.init_app(app)
    close_after_test(app)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "authenticated": current_identity.is_authenticated}

    @app.post("/auth/login")
    def login() -> Any:
        data = request.get_json()
        return auth.login_response(
            data["username"],
            claims={"scope": data.get("scope", "profile")},
            body=data.get("body"),
            tokens_in_body=data.get("tokens_in_body", True),
        )

    @app.post("/auth/refresh")
    def refresh() -> Any:
        return auth.refresh_response()

    @app.post("/auth/logout")
    def logout() -> Any:
        return auth.logout_response()

    @app.post("/auth/logout-all")
    def logout_all() -> Any:
        return auth.logout_everywhere_response()

    @app.get("/auth/sessions")
    def sessions() -> Any:
        return auth.sessions_response()

    @app.get("/auth/session-ids")
    def session_ids() -> Any:
        return [s.session_id for s in auth.sessions()]

    @app.get("/api/me")
    @jwt_required(scopes=["profile"])
    def me() -> dict[str, Any]:
        return {"subject": current_identity.subject, "scopes": sorted(current_identity.scopes)}

    @app.get("/api/plain")
    def plain() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    @app.post("/api/notes")
    @jwt_required()
    def notes() -> dict[str, Any]:
        return {"subject": current_identity.subject, "form": request.form.to_dict()}

    @app.get("/api/fresh")
    @jwt_required(fresh=300)
    def fresh() -> dict[str, Any]:
        return {"fresh": True}

    @app.get("/api/fresh-default")
    @jwt_required(fresh=True)
    def fresh_default() -> dict[str, Any]:
        return {"fresh": True}

    @app.get("/api/async")
    @jwt_required("profile")
    async def async_view() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    @app.get("/public")
    def public() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    @app.get("/public/strict")
    @jwt_required()
    def public_strict() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    @app.get("/public/maybe")
    @jwt_required("admin", optional=True)
    def public_maybe() -> dict[str, Any]:
        return {"subject": current_identity.subject}

    @app.get("/health/deep")
    @jwt_required()
    def deep() -> dict[str, Any]:  # misconfigured on purpose: /health/deep is not exempt
        return {}

    @app.get("/app/page")
    def page() -> str:
        return "page"

    return app


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(float(int(time.time())))


@pytest.fixture
def app(tmp_path: Path, clock: FrozenClock) -> Iterator[Flask]:
    app = create_app(jwt_config(tmp_path), clock=clock)
    yield app
    app.extensions["jwtmiddleware"].state_for(app).require_manager().close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client(use_cookies=False)


def token_for(app: Flask, clock: FrozenClock, **claims: Any) -> str:
    settings = app.extensions["jwtmiddleware"].state_for(app).settings
    return mint_token(settings, claims, subject="alice", now=clock.now)


def login(client: FlaskClient, username: str = "alice", **data: Any) -> Any:
    response = client.post("/auth/login", json={"username": username, **data},
                           headers={"User-Agent": "pytest-device"})  # fmt: skip
    assert response.status_code == 200, response.data
    return response


# -- package -----------------------------------------------------------------------------------


def check_package(package: types.ModuleType) -> None:
    """``__all__`` sorted and complete, and declared by every module of ``package``."""
    names = package.__all__
    assert names == sorted(names)
    public = {
        n
        for n, v in vars(package).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"
    }
    assert public == set(names)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        assert isinstance(getattr(module, "__all__", None), list), info.name
        assert sorted(module.__all__) == module.__all__, info.name
    assert (Path(package.__file__ or "").parent / "py.typed").is_file()


def test_package_surface() -> None:
    check_package(flask_jwtmiddleware)


# -- settings ----------------------------------------------------------------------------------


def test_settings_come_from_app_config(app: Flask, client: FlaskClient, clock: FrozenClock) -> None:
    with app.app_context():
        settings = app.extensions["jwtmiddleware"].settings
    assert settings.issuer == ISSUER
    assert settings.claim_checks == (not_banned,)  # the import string, resolved
    assert client.get("/api/plain", headers=bearer(token_for(app, clock))).status_code == 200
    banned = client.get("/api/plain", headers=bearer(token_for(app, clock, banned=True)))
    assert banned.status_code == 401
    assert 'error="invalid_token"' in banned.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ({"LEWAY": 5}, "LEWAY", "did you mean 'LEEWAY'"),
        ({"LEEWAY": "soon"}, "LEEWAY", "seconds"),
        ({"CLAIM_CHECKS": ["tests.adapters.nowhere:check"]}, "CLAIM_CHECKS", "cannot import"),
    ],
)
def test_a_bad_setting_names_its_config_key(
    tmp_path: Path, extra: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        create_app(jwt_config(tmp_path, **extra))
    message = str(info.value)
    assert message.startswith(f'app.config["JWTMIDDLEWARE"]["{key}"]: '), message
    assert words in message
    assert info.value.setting == key


def test_missing_config_is_explained() -> None:
    with pytest.raises(ConfigurationError, match=r'app\.config\["JWTMIDDLEWARE"\] is not set'):
        create_app(None)


def test_app_factory_and_settings_argument(tmp_path: Path) -> None:
    from jwtmiddleware import Settings

    auth = JWTAuth(settings=Settings(secret=SECRET, realm="one"), store=MemoryStore())
    first, second = Flask("first"), Flask("second")
    second.config["JWTMIDDLEWARE"] = {"SECRET": SECRET, "REALM": "two"}  # ignored: settings=
    auth.init_app(first)
    auth.init_app(second)
    for flask_app in (first, second):
        flask_app.add_url_rule("/x", "x", lambda: "x")
        answer = flask_app.test_client().get("/x")
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="one"'
    with pytest.raises(RuntimeError, match="already set up"):
        auth.init_app(first)
    with pytest.raises(RuntimeError, match="no application context"):
        _ = auth.settings


# -- path rules --------------------------------------------------------------------------------


def test_protected_path_without_token_is_refused_by_the_core_rules(client: FlaskClient) -> None:
    response = client.get("/api/plain")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/json"
    assert js(response) == {
        "error": "unauthorized",
        "error_description": "Authentication required",
    }


def test_exempt_path_ignores_even_a_bad_token(client: FlaskClient) -> None:
    response = client.get("/health", headers=bearer("not-a-token"))
    assert response.status_code == 200
    assert js(response) == {"status": "ok", "authenticated": False}


def test_optional_path(app: Flask, client: FlaskClient, clock: FrozenClock) -> None:
    assert client.get("/public").json == {"subject": None}
    assert client.get("/public", headers=bearer(token_for(app, clock))).json == {"subject": "alice"}
    bad = client.get("/public", headers=bearer("a.b.c"))
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_duplicate_credentials_are_a_400(
    app: Flask, client: FlaskClient, clock: FrozenClock
) -> None:
    token = token_for(app, clock)
    response = client.get("/api/plain", headers={**bearer(token), "Cookie": f"{ACCESS}={token}"})
    assert response.status_code == 400
    assert js(response)["error"] == "invalid_request"


# -- jwt_required ------------------------------------------------------------------------------


def test_scopes(app: Flask, client: FlaskClient, clock: FrozenClock) -> None:
    ok = client.get("/api/me", headers=bearer(token_for(app, clock, scope="profile email")))
    assert ok.status_code == 200
    assert js(ok) == {"subject": "alice", "scopes": ["email", "profile"]}
    assert ok.headers["Vary"] == "Authorization, Cookie"
    refused = client.get("/api/me", headers=bearer(token_for(app, clock, scope="email")))
    assert refused.status_code == 403
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="The access token does not grant the required scope", scope="profile"'
    )
    assert js(refused)["error"] == "insufficient_scope"


def test_required_view_on_an_optional_path(
    app: Flask, client: FlaskClient, clock: FrozenClock
) -> None:
    assert client.get("/public/strict").status_code == 401
    assert client.get("/public/strict").headers["WWW-Authenticate"] == 'Bearer realm="api"'
    token = token_for(app, clock)
    assert client.get("/public/strict", headers=bearer(token)).json == {"subject": "alice"}


def test_optional_view_still_checks_a_present_token(
    app: Flask, client: FlaskClient, clock: FrozenClock
) -> None:
    assert client.get("/public/maybe").json == {"subject": None}
    no_admin = client.get("/public/maybe", headers=bearer(token_for(app, clock)))
    assert no_admin.status_code == 403
    admin = client.get("/public/maybe", headers=bearer(token_for(app, clock, scope="admin")))
    assert js(admin) == {"subject": "alice"}


def test_fresh(tmp_path: Path, clock: FrozenClock) -> None:
    app = create_app(jwt_config(tmp_path, ACCESS_TOKEN_TTL=3600), clock=clock)
    client = app.test_client(use_cookies=False)
    token = login(client).json["access_token"]
    assert client.get("/api/fresh", headers=bearer(token)).status_code == 200
    clock.advance(301)
    stale = client.get("/api/fresh", headers=bearer(token))
    assert stale.status_code == 401
    assert stale.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_user_authentication", '
        'error_description="More recent authentication is required", max_age="300"'
    )
    assert js(stale)["error"] == "insufficient_user_authentication"
    assert client.get("/api/fresh-default", headers=bearer(token)).status_code == 200
    clock.advance(600)
    late = client.get("/api/fresh-default", headers=bearer(token))
    assert late.status_code == 401
    assert late.headers["WWW-Authenticate"].endswith('max_age="900"')
    # A token without auth_time (not from a login) is never fresh.
    minted = token_for(app, clock)
    assert client.get("/api/fresh", headers=bearer(minted)).status_code == 401


def test_async_view(app: Flask, client: FlaskClient, clock: FrozenClock) -> None:
    pytest.importorskip("asgiref")  # Flask runs async views with flask[async]
    token = token_for(app, clock, scope="profile")
    assert client.get("/api/async", headers=bearer(token)).json == {"subject": "alice"}
    assert client.get("/api/async", headers=bearer(token_for(app, clock))).status_code == 403


def test_decorator_misuse_fails_at_decoration_time() -> None:
    with pytest.raises(TypeError, match="parentheses"):
        jwt_required(lambda: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fresh"):
        jwt_required(fresh=-5)
    with pytest.raises(ValueError, match="scopes"):
        jwt_required(["a b"])


def test_required_view_on_an_exempt_path_warns_once(
    tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(jwt_config(tmp_path, EXEMPT_PATHS=["/health", "/health/*"]), clock=clock)
    client = app.test_client(use_cookies=False)
    with caplog.at_level(logging.WARNING, logger="jwtmiddleware"):
        assert client.get("/health/deep", headers=bearer(token_for(app, clock))).status_code == 401
        assert client.get("/health/deep").status_code == 401
    assert [r.message for r in caplog.records].count(
        "jwt_required on /health/deep, which EXEMPT_PATHS excludes from authentication: "
        "it can never pass; use OPTIONAL_PATHS"
    ) == 1


def test_current_identity_needs_a_request() -> None:
    with pytest.raises(RuntimeError):
        _ = current_identity.subject


# -- error routing -----------------------------------------------------------------------------


def test_errorhandlers_see_every_refusal(tmp_path: Path, clock: FrozenClock) -> None:
    app = create_app(jwt_config(tmp_path), clock=clock)
    seen: list[str] = []

    @app.errorhandler(401)
    def unauthorized(error: JWTHTTPException) -> Any:
        seen.append(type(error.auth_error).__name__)
        response = error.get_response()
        response.set_data(b'{"custom": true}')
        return response

    @app.errorhandler(403)
    def forbidden(error: JWTHTTPException) -> Any:
        refusal = error.auth_error
        assert isinstance(refusal, AuthenticationError)
        return {"forbidden": refusal.error, "scopes": list(refusal.scopes)}, 403

    @app.errorhandler(JWTHTTPException)
    def other(error: JWTHTTPException) -> Any:
        return {"other": error.code}, error.code

    @app.after_request
    def mark(response: Any) -> Any:
        response.headers["X-After"] = "yes"
        return response

    client = app.test_client(use_cookies=False)
    missing = client.get("/api/plain")  # refused by the middleware's path rules
    assert missing.status_code == 401
    assert missing.data == b'{"custom": true}'
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert missing.headers["X-After"] == "yes"
    invalid = client.get("/api/plain", headers=bearer("a.b.c"))  # refused by the verifier
    assert invalid.status_code == 401
    assert invalid.data == b'{"custom": true}'
    assert client.get("/public/strict").data == b'{"custom": true}'  # refused by jwt_required
    assert seen == ["TokenMissing", "TokenMalformed", "TokenMissing"]
    scope = client.get("/api/me", headers=bearer(token_for(app, clock, scope="x")))
    assert js(scope) == {"forbidden": "insufficient_scope", "scopes": ["profile"]}
    token = token_for(app, clock)
    duplicate = client.get("/api/plain", headers={**bearer(token), "Cookie": f"{ACCESS}={token}"})
    assert duplicate.status_code == 400
    assert js(duplicate) == {"other": 400}


def test_store_outage_is_a_503_through_flask(tmp_path: Path, clock: FrozenClock) -> None:
    config = jwt_config(tmp_path)
    del config["STORE"]
    app = create_app(config, clock=clock, store=FailingStore())
    client = app.test_client(use_cookies=False)
    response = client.get("/api/plain", headers=bearer(token_for(app, clock)))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert js(response)["error"] == "temporarily_unavailable"

    custom = create_app(config, clock=clock, store=FailingStore())

    @custom.errorhandler(503)
    def busy(error: JWTHTTPException) -> Any:
        assert isinstance(error.auth_error, StoreUnavailable)
        return "busy", 503, {"Retry-After": "5"}

    answer = custom.test_client().get("/api/plain", headers=bearer(token_for(app, clock)))
    assert (answer.status_code, answer.data, answer.headers["Retry-After"]) == (503, b"busy", "5")


def test_error_handler_setting_still_answers_first(tmp_path: Path, clock: FrozenClock) -> None:
    config = jwt_config(tmp_path, ERROR_HANDLER="tests.adapters.test_flask:to_login")
    app = create_app(config, clock=clock)
    client = app.test_client(use_cookies=False)
    redirected = client.get("/app/page", headers=bearer("a.b.c"))
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/login"
    assert client.get("/api/plain").status_code == 401  # None: routed through Flask


def test_session_limit_is_a_403(tmp_path: Path, clock: FrozenClock) -> None:
    config = jwt_config(tmp_path, MAX_SESSIONS_PER_SUBJECT=1, SESSION_LIMIT_POLICY="deny_new")
    app = create_app(config, clock=clock)
    client = app.test_client(use_cookies=False)
    login(client)
    refused = client.post("/auth/login", json={"username": "alice"})
    assert refused.status_code == 403
    assert js(refused)["error"] == "session_limit_reached"


# -- sessions: login, call, refresh, logout ----------------------------------------------------


def test_cookie_flow(app: Flask, client: FlaskClient) -> None:
    jar = Jar()
    response = login(client)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    cookies = jar.update(response.headers.getlist("Set-Cookie"))
    check_login_cookies(cookies, max_age_access=900)
    body = js(response)
    assert set(body) == {"access_token", "refresh_token", "csrf_token", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert jar.value(CSRF_COOKIE) == body["csrf_token"]
    old_access, old_refresh = jar.value(ACCESS), jar.value(REFRESH)

    me = client.get("/api/me", headers={"Cookie": jar.header("/api/me")})
    assert me.status_code == 200
    assert js(me)["subject"] == "alice"
    # An unsafe method with a cookie token needs the CSRF header.
    unsafe = client.post("/api/notes", headers={"Cookie": jar.header("/api/notes")})
    assert unsafe.status_code == 403
    assert js(unsafe)["error"] == "csrf_failed"
    assert "WWW-Authenticate" not in unsafe.headers
    proof = {"Cookie": jar.header("/api/notes"), CSRF: jar.value(CSRF_COOKIE)}
    assert client.post("/api/notes", headers=proof).status_code == 200

    # Refresh: the refresh cookie goes to /auth/refresh only, with CSRF proof.
    assert REFRESH in jar.header("/auth/refresh")
    assert REFRESH not in jar.header("/api/me")
    no_proof = client.post("/auth/refresh", headers={"Cookie": jar.header("/auth/refresh")})
    assert no_proof.status_code == 403
    assert js(no_proof)["error"] == "csrf_failed"
    refreshed = client.post(
        "/auth/refresh",
        headers={"Cookie": jar.header("/auth/refresh"), CSRF: jar.value(CSRF_COOKIE)},
    )
    assert refreshed.status_code == 200, refreshed.data
    assert refreshed.headers["Cache-Control"] == "no-store"
    # A cookie refresh answers with cookies only: no token in reach of the page's scripts.
    assert set(js(refreshed)) == {"token_type", "expires_in", "csrf_token"}
    check_login_cookies(jar.update(refreshed.headers.getlist("Set-Cookie")), max_age_access=900)
    assert jar.value(REFRESH) != old_refresh
    assert client.get("/api/me", headers={"Cookie": jar.header("/api/me")}).status_code == 200

    # Logout clears the cookies; the logged-out access token no longer works.
    current_access = jar.value(ACCESS)
    out = client.post(
        "/auth/logout", headers={"Cookie": jar.header("/auth/logout"), CSRF: jar.value(CSRF_COOKIE)}
    )
    assert out.status_code == 204
    assert out.data == b""
    assert out.headers["Cache-Control"] == "no-store"
    cleared = jar.update(out.headers.getlist("Set-Cookie"))
    assert {c.name for c in cleared} == {ACCESS, REFRESH, CSRF_COOKIE}
    assert all(c.value == "" and c.attributes["max-age"] == "0" for c in cleared)
    assert jar.cookies == {}
    for token in (current_access, old_access):
        reuse = client.get("/api/me", headers={"Cookie": f"{ACCESS}={token}"})
        assert reuse.status_code == 401
        assert 'error="invalid_token"' in reuse.headers["WWW-Authenticate"]
    stale_refresh = client.post("/auth/refresh", json={"refresh_token": old_refresh})
    assert stale_refresh.status_code == 401


def test_bearer_flow(client: FlaskClient) -> None:
    pair = login(client).json
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
    assert client.post("/api/notes", headers=bearer(pair["access_token"])).status_code == 200
    renewed = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200
    new = js(renewed)
    assert new["refresh_token"] != pair["refresh_token"]
    # The rotated refresh token presented again is reuse: refused, and the session revoked.
    reused = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reused.status_code == 401
    assert client.get("/api/me", headers=bearer(new["access_token"])).status_code == 401

    second = login(client).json
    assert client.post("/auth/logout", headers=bearer(second["access_token"])).status_code == 204
    after = client.get("/api/me", headers=bearer(second["access_token"]))
    assert after.status_code == 401
    assert "revoked" in js(after)["error_description"]
    assert (
        client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]}).status_code
        == 401
    )


def test_sessions_and_logout_everywhere(client: FlaskClient) -> None:
    first = js(login(client))["access_token"]
    second = js(login(client))["access_token"]
    listed = client.get("/auth/sessions", headers=bearer(first))
    assert listed.status_code == 200
    assert listed.headers["Cache-Control"] == "no-store"
    sessions = js(listed)["sessions"]
    assert [s["user_agent"] for s in sessions] == ["pytest-device", "pytest-device"]
    # Both sessions started at the same (frozen) second: they are listed by session id.
    assert [s["session_id"] for s in sessions] == sorted(s["session_id"] for s in sessions)
    current = [s["session_id"] for s in sessions if s["current"]]
    assert current == [jwt.decode(first, options={"verify_signature": False})["sid"]]
    assert set(sessions[0]) == {
        "session_id", "created_at", "last_seen", "expires_at", "user_agent", "ip", "current"
    }  # fmt: skip
    assert all(s["ip"] == "127.0.0.1" for s in sessions)
    ids = js(client.get("/auth/session-ids", headers=bearer(second)))
    assert sorted(ids) == sorted(s["session_id"] for s in sessions)
    ended = client.post("/auth/logout-all", headers=bearer(second))
    assert ended.status_code == 200
    assert js(ended) == {"sessions_ended": 2}
    assert len(ended.headers.getlist("Set-Cookie")) == 3
    for token in (first, second):
        assert client.get("/api/me", headers=bearer(token)).status_code == 401
    # A login right after is a new, valid session.
    fresh = js(login(client))["access_token"]
    assert client.get("/api/me", headers=bearer(fresh)).status_code == 200


def test_refresh_with_a_form_field(client: FlaskClient) -> None:
    pair = js(login(client))
    renewed = client.post("/auth/refresh", data={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200
    assert js(renewed)["refresh_token"] != pair["refresh_token"]


def test_a_refused_cookie_refresh_deletes_the_cookies(client: FlaskClient) -> None:
    jar = Jar()
    jar.update(login(client).headers.getlist("Set-Cookie"))
    stale = {"Cookie": jar.header("/auth/refresh"), CSRF: jar.value(CSRF_COOKIE)}
    assert client.post("/auth/refresh", headers=stale).status_code == 200
    reused = client.post("/auth/refresh", headers=stale)  # the rotated token again
    assert reused.status_code == 401
    cleared = [SetCookie.parse(h) for h in reused.headers.getlist("Set-Cookie")]
    assert {c.name for c in cleared} == {ACCESS, REFRESH, CSRF_COOKIE}
    assert all(c.attributes["max-age"] == "0" for c in cleared)
    # A refused refresh from the body leaves cookies alone.
    body = client.post("/auth/refresh", json={"refresh_token": "x.y.z"})
    assert body.headers.getlist("Set-Cookie") == []


def test_refresh_request_errors(app: Flask, client: FlaskClient) -> None:
    missing = client.post("/auth/refresh")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    garbage = client.post("/auth/refresh", json={"refresh_token": "x.y.z"})
    assert garbage.status_code == 401
    assert js(garbage)["error"] == "invalid_token"
    assert client.post("/auth/refresh", json={"refresh_token": 5}).status_code == 400
    jar = Jar()
    pair = login(client).json
    jar.update(client.post("/auth/login", json={"username": "bob"}).headers.getlist("Set-Cookie"))
    both = client.post(
        "/auth/refresh",
        json={"refresh_token": pair["refresh_token"]},
        headers={"Cookie": jar.header("/auth/refresh"), CSRF: jar.value(CSRF_COOKIE)},
    )
    assert both.status_code == 400
    assert js(both)["error"] == "invalid_request"
    # An access token is not a refresh token.
    wrong = client.post("/auth/refresh", json={"refresh_token": pair["access_token"]})
    assert wrong.status_code == 401


def test_cross_site_refresh_is_refused(client: FlaskClient) -> None:
    jar = Jar()
    jar.update(login(client).headers.getlist("Set-Cookie"))
    headers = {"Cookie": jar.header("/auth/refresh"), CSRF: jar.value(CSRF_COOKIE)}
    cross = client.post("/auth/refresh", headers={**headers, "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    wrong = client.post("/auth/refresh", headers={**headers, CSRF: "guess"})
    assert wrong.status_code == 403
    assert client.post("/auth/refresh", headers=headers).status_code == 200


def test_csrf_form_field_and_the_body_reaches_the_view(client: FlaskClient) -> None:
    jar = Jar()
    jar.update(login(client).headers.getlist("Set-Cookie"))
    response = client.post(
        "/api/notes",
        data={"csrf_token": jar.value(CSRF_COOKIE), "text": "hello"},
        headers={"Cookie": jar.header("/api/notes")},
    )
    assert response.status_code == 200
    assert js(response)["form"] == {"csrf_token": jar.value(CSRF_COOKIE), "text": "hello"}


def test_a_refused_form_body_still_reaches_the_error_handler(
    tmp_path: Path, clock: FrozenClock
) -> None:
    app = create_app(jwt_config(tmp_path), clock=clock)

    @app.errorhandler(403)
    def forbidden(error: JWTHTTPException) -> Any:
        return {"form": request.form.to_dict()}, 403

    client = app.test_client(use_cookies=False)
    jar = Jar()
    jar.update(login(client).headers.getlist("Set-Cookie"))
    response = client.post(
        "/api/notes",
        data={"csrf_token": "wrong", "text": "hello"},
        headers={"Cookie": jar.header("/api/notes")},
    )
    assert response.status_code == 403
    assert js(response) == {"form": {"csrf_token": "wrong", "text": "hello"}}


def test_refusal_comes_before_routing(client: FlaskClient) -> None:
    # An unknown path is protected like any other: no token, no 404 (no route probing).
    assert client.get("/no/such/page").status_code == 401
    assert client.delete("/api/me").status_code == 401


def test_streamed_response_keeps_the_middleware_headers(tmp_path: Path, clock: FrozenClock) -> None:
    app = create_app(jwt_config(tmp_path), clock=clock)

    @app.get("/api/stream")
    def stream() -> Any:
        return app.response_class((part for part in (b"a", b"b")), mimetype="text/plain")

    client = app.test_client(use_cookies=False)
    response = client.get("/api/stream", headers=bearer(token_for(app, clock)))
    assert response.data == b"ab"
    assert response.headers["Vary"] == "Authorization, Cookie"


def test_login_body_options(client: FlaskClient) -> None:
    response = login(client, tokens_in_body=False, body={"user": {"name": "Alice"}})
    assert set(js(response)) == {"csrf_token", "expires_in", "token_type", "user"}
    assert len(response.headers.getlist("Set-Cookie")) == 3


def test_logout_needs_a_token(client: FlaskClient) -> None:
    # /auth/logout is protected by the middleware: no token, no logout.
    assert client.post("/auth/logout").status_code == 401


def test_helpers_without_a_store(tmp_path: Path) -> None:
    config = jwt_config(tmp_path)
    del config["STORE"]
    app = create_app(config)
    app.testing = True  # let the exception through the test client
    client = app.test_client(use_cookies=False)
    with pytest.raises(ConfigurationError, match=r'\["STORE"\]: sessions and revocation need'):
        client.post("/auth/login", json={"username": "alice"})
