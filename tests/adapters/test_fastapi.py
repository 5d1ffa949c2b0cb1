"""The adapter in FastAPI: ``Depends(requires(...))``, ``IdentityDep``, OpenAPI, websockets and
the session helpers, with Starlette's TestClient and a SQLite store under ``tmp_path``.

No ``from __future__ import annotations`` here: FastAPI reads the annotations of the endpoints
at run time, and some of them name objects local to ``build_app``.
"""

import logging
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request, Response, Security, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from jwtmiddleware import ConfigurationError, Identity, Settings
from jwtmiddleware.testing import mint_token
from starlette_jwtmiddleware import (
    BEARER_SCHEME_NAME,
    IdentityDep,
    JWTAuth,
    OptionalIdentityDep,
    bearer_scheme,
    requires,
)

BARE = 'Bearer realm="api"'
EXEMPT = ("/health", "/auth/login", "/auth/refresh", "/docs*", "/openapi.json", "/public*")

#: The thread each claim check ran in: the dependency must run on the event loop.
CHECK_THREADS: list[int] = []


def record_thread(claims: Any) -> None:
    CHECK_THREADS.append(threading.get_ident())


ReaderDep = Annotated[Identity, Depends(requires("read", checks=[record_thread]))]
WriterDep = Annotated[Identity, Security(requires("read", "write"))]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "secret": secrets.token_urlsafe(48),
        "store": f"sqlite:///{tmp_path}/sessions.db",
        "exempt_paths": EXEMPT,
        "optional_paths": ("/optional", "/optional-strict"),
    }
    values.update(overrides)
    return Settings(**values)


def build_app(auth: JWTAuth, *, install: bool = True) -> FastAPI:
    app = FastAPI() if install else FastAPI(middleware=[auth.middleware()])
    if install:
        auth.install(app)
    loop_threads: list[int] = []
    app.state.loop_threads = loop_threads

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/me")
    async def me(identity: Annotated[Identity, Depends(auth.requires("profile"))]) -> Any:
        return {"subject": identity.subject, "scopes": sorted(identity.scopes)}

    @app.get("/items")
    async def items(identity: ReaderDep) -> Any:
        loop_threads.append(threading.get_ident())
        return {"reader": identity.subject}

    @app.post("/items")
    async def create(identity: WriterDep) -> Any:
        return {"writer": identity.subject}

    @app.get("/whoami")
    async def whoami(identity: IdentityDep) -> Any:
        return {"subject": identity.subject}

    @app.get("/optional")
    async def optional(identity: OptionalIdentityDep) -> Any:
        return {"subject": identity.subject if identity else None}

    @app.get("/optional-strict")
    async def optional_strict(identity: IdentityDep) -> Any:
        return {"subject": identity.subject}

    @app.get("/public/info")
    async def public(identity: IdentityDep) -> Any:
        return {"subject": identity.subject}

    @app.get("/plain")
    async def plain(request: Request) -> Any:
        return {"user": request.user.display_name}

    @app.websocket("/ws")
    async def chat(
        websocket: WebSocket, identity: Annotated[Identity, Depends(requires("chat"))]
    ) -> None:
        await websocket.accept()
        await websocket.send_text(f"hello {identity.subject}")
        await websocket.close()

    @app.post("/auth/login")
    async def login(request: Request) -> Response:
        body = await request.json()
        claims = {"scope": body["scope"]} if body.get("scope") else None
        return await auth.login_response(request, body["subject"], claims=claims)

    @app.post("/auth/refresh")
    async def refresh(request: Request) -> Response:
        return await auth.refresh_response(request)

    @app.post("/auth/logout")
    async def logout(request: Request, identity: IdentityDep) -> Response:
        return await auth.logout_response(request)

    @app.post("/auth/logout-all")
    async def logout_all(request: Request, identity: IdentityDep) -> Response:
        return await auth.logout_everywhere_response(request)

    @app.get("/auth/sessions")
    async def sessions(request: Request, identity: IdentityDep) -> Response:
        return await auth.sessions_response(request)

    return app


@pytest.fixture
def auth(tmp_path: Path) -> Iterator[JWTAuth]:
    auth = JWTAuth(make_settings(tmp_path))
    yield auth
    auth.manager.close()


@pytest.fixture
def client(auth: JWTAuth) -> Iterator[TestClient]:
    with TestClient(build_app(auth)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token(settings: Settings, scope: str = "", subject: str = "alice") -> str:
    return mint_token(settings, {"scope": scope or None}, subject=subject)


# -- dependencies ---------------------------------------------------------------------------------


def test_depends_returns_the_identity(client: TestClient, auth: JWTAuth) -> None:
    response = client.get("/api/me", headers=bearer(token(auth.settings, "profile")))
    assert response.status_code == 200
    assert response.json() == {"subject": "alice", "scopes": ["profile"]}
    assert response.headers["vary"] == "Authorization, Cookie"


def test_depends_refuses_a_missing_scope_with_rfc6750(client: TestClient, auth: JWTAuth) -> None:
    response = client.get("/api/me", headers=bearer(token(auth.settings, "read")))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="The access token does not grant the required scope", scope="profile"'
    )
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": "The access token does not grant the required scope",
    }
    assert response.headers["cache-control"] == "no-store"


def test_several_scopes_are_all_named(client: TestClient, auth: JWTAuth) -> None:
    response = client.post("/items", headers=bearer(token(auth.settings, "read")))
    assert response.status_code == 403
    assert response.headers["www-authenticate"].endswith('scope="read write"')
    ok = client.post("/items", headers=bearer(token(auth.settings, "read write")))
    assert ok.json() == {"writer": "alice"}


def test_the_dependency_runs_on_the_event_loop(client: TestClient, auth: JWTAuth) -> None:
    CHECK_THREADS.clear()
    response = client.get("/items", headers=bearer(token(auth.settings, "read")))
    assert response.json() == {"reader": "alice"}
    assert client.app.state.loop_threads == CHECK_THREADS  # type: ignore[attr-defined]


def test_identity_dep_refuses_anonymous_callers(client: TestClient, auth: JWTAuth) -> None:
    response = client.get("/optional-strict")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == BARE
    assert response.json() == {
        "error": "unauthorized",
        "error_description": "Authentication required",
    }
    ok = client.get("/optional-strict", headers=bearer(token(auth.settings)))
    assert ok.json() == {"subject": "alice"}


def test_identity_dep_on_an_exempt_path_warns(
    client: TestClient, auth: JWTAuth, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="starlette_jwtmiddleware"):
        for _ in range(2):
            response = client.get("/public/info", headers=bearer(token(auth.settings)))
            assert response.status_code == 401  # the middleware never reads tokens there
    warnings = [r.getMessage() for r in caplog.records if r.name == "starlette_jwtmiddleware"]
    assert len(warnings) == 1
    assert "/public/info" in warnings[0]
    assert "OPTIONAL_PATHS" in warnings[0]


def test_protected_path_is_refused_by_the_middleware(client: TestClient) -> None:
    response = client.get("/whoami")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == BARE


def test_optional_identity(client: TestClient, auth: JWTAuth) -> None:
    assert client.get("/optional").json() == {"subject": None}
    signed_in = client.get("/optional", headers=bearer(token(auth.settings)))
    assert signed_in.json() == {"subject": "alice"}


def test_request_user_works_without_a_dependency(client: TestClient, auth: JWTAuth) -> None:
    response = client.get("/plain", headers=bearer(token(auth.settings)))
    assert response.json() == {"user": "alice"}


def test_without_install_fastapi_renders_detail(auth: JWTAuth) -> None:
    with TestClient(build_app(auth, install=False)) as client:
        response = client.get("/api/me", headers=bearer(token(auth.settings, "read")))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert response.json() == {
        "detail": "The access token does not grant the required scope",
    }


def test_settings_are_validated_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWTMIDDLEWARE_SECRET", "short")
    with pytest.raises(ConfigurationError) as info:
        JWTAuth()
    assert info.value.setting == "SECRET"
    assert "JWTMIDDLEWARE_SECRET" in str(info.value)


def test_install_twice_is_refused(auth: JWTAuth) -> None:
    app = FastAPI()
    auth.install(app)
    with pytest.raises(ConfigurationError, match="already installed"):
        auth.install(app)


def test_old_fastapi_is_refused_with_a_clear_message() -> None:
    code = (
        "import fastapi; fastapi.__version__ = '0.110.0'\n"
        "from starlette_jwtmiddleware import IdentityDep\n"
    )
    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join([str(root), str(root / "adapters")])
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode != 0
    assert "needs FastAPI >= 0.123.6, found 0.110.0" in out.stderr


# -- websockets -----------------------------------------------------------------------------------


def test_websocket_with_the_scope(client: TestClient, auth: JWTAuth) -> None:
    with client.websocket_connect("/ws", headers=bearer(token(auth.settings, "chat"))) as ws:
        assert ws.receive_text() == "hello alice"


def test_websocket_missing_a_scope_is_closed_with_1008(client: TestClient, auth: JWTAuth) -> None:
    headers = bearer(token(auth.settings, "read"))
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect("/ws", headers=headers),
    ):
        pass  # pragma: no cover
    assert info.value.code == 1008


def test_websocket_without_a_token_is_refused_by_the_middleware(client: TestClient) -> None:
    from starlette.testclient import WebSocketDenialResponse

    with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/ws"):
        pass  # pragma: no cover
    assert info.value.status_code == 401


# -- OpenAPI --------------------------------------------------------------------------------------


def test_openapi_lists_the_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"][BEARER_SCHEME_NAME]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "JWT"
    assert "`profile`, `read`, `write`" in scheme["description"]
    assert "__Host-access_token" in scheme["description"]


def test_openapi_security_per_operation(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/api/me"]["get"]["security"] == [{BEARER_SCHEME_NAME: ["profile"]}]
    assert paths["/items"]["get"]["security"] == [{BEARER_SCHEME_NAME: ["read"]}]
    assert paths["/items"]["post"]["security"] == [{BEARER_SCHEME_NAME: ["read", "write"]}]
    # Protected by the middleware's path rules without any dependency:
    assert paths["/plain"]["get"]["security"] == [{BEARER_SCHEME_NAME: []}]
    # Exempt paths stay open; optional paths also allow anonymous calls.
    assert "security" not in paths["/health"]["get"]
    assert "security" not in paths["/auth/login"]["post"]
    assert paths["/optional"]["get"]["security"] == [{BEARER_SCHEME_NAME: []}]


def test_openapi_without_path_documentation(auth: JWTAuth) -> None:
    app = FastAPI()
    auth.install(app, openapi=False)

    @app.get("/plain")
    async def plain() -> dict[str, str]:
        return {}

    @app.get("/me")
    async def me(identity: IdentityDep) -> dict[str, str]:
        return {}

    with TestClient(app) as client:
        paths = client.get("/openapi.json", headers=bearer(token(auth.settings))).json()["paths"]
    assert "security" not in paths["/plain"]["get"]
    assert paths["/me"]["get"]["security"] == [{BEARER_SCHEME_NAME: []}]


def test_openapi_is_redocumented_when_routes_change(auth: JWTAuth) -> None:
    app = FastAPI()
    auth.install(app)
    first = app.openapi()
    assert first["paths"] == {}

    @app.get("/late")
    async def late() -> dict[str, str]:
        return {}

    assert app.openapi()["paths"]["/late"]["get"]["security"] == [{BEARER_SCHEME_NAME: []}]


def test_bearer_scheme_never_refuses_by_itself() -> None:
    assert bearer_scheme.auto_error is False
    assert bearer_scheme.scheme_name == BEARER_SCHEME_NAME


# -- sessions -------------------------------------------------------------------------------------


def test_bearer_flow_login_call_refresh_logout(client: TestClient) -> None:
    pair = client.post("/auth/login", json={"subject": "alice", "scope": "profile"}).json()
    client.cookies.clear()
    assert client.get("/api/me", headers=bearer(pair["access_token"])).status_code == 200
    new = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}).json()
    client.cookies.clear()
    assert client.get("/api/me", headers=bearer(new["access_token"])).status_code == 200
    listed = client.get("/auth/sessions", headers=bearer(new["access_token"])).json()
    assert [s["current"] for s in listed["sessions"]] == [True]
    assert client.post("/auth/logout", headers=bearer(new["access_token"])).status_code == 204
    replay = client.get("/api/me", headers=bearer(new["access_token"]))
    assert replay.status_code == 401
    assert 'error="invalid_token"' in replay.headers["www-authenticate"]
    dead = client.post("/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert dead.status_code == 401


def test_cookie_flow_login_call_refresh_logout(auth: JWTAuth) -> None:
    with TestClient(build_app(auth), base_url="https://testserver") as browser:
        login = browser.post("/auth/login", json={"subject": "alice", "scope": "profile"})
        pair = login.json()
        csrf = {"X-CSRF-Token": pair["csrf_token"]}
        assert browser.get("/api/me").status_code == 200
        assert browser.post("/auth/refresh").status_code == 403  # no CSRF proof
        refreshed = browser.post("/auth/refresh", headers=csrf)
        assert refreshed.status_code == 200
        assert refreshed.headers["cache-control"] == "no-store"
        assert len(refreshed.headers.get_list("set-cookie")) == 3
        assert browser.get("/api/me").status_code == 200
        assert browser.post("/auth/logout").status_code == 403  # no CSRF proof
        old = browser.cookies.get("__Host-access_token")
        assert old is not None
        assert "access_token" not in refreshed.json()  # a cookie refresh: cookies only
        assert browser.post("/auth/logout", headers=csrf).status_code == 204
        assert not browser.cookies
        assert browser.get("/api/me", headers=bearer(old)).status_code == 401


def test_logout_everywhere(client: TestClient) -> None:
    first = client.post("/auth/login", json={"subject": "alice"}).json()
    second = client.post("/auth/login", json={"subject": "alice"}).json()
    client.cookies.clear()
    ended = client.post("/auth/logout-all", headers=bearer(first["access_token"]))
    assert ended.json() == {"sessions_ended": 2}
    client.cookies.clear()
    for pair in (first, second):
        assert client.get("/whoami", headers=bearer(pair["access_token"])).status_code == 401


# -- Security(..., scopes=[...]) and SecurityScopes ------------------------------------------------


def build_scoped_app(auth: JWTAuth) -> FastAPI:
    from fastapi import APIRouter

    app = FastAPI()
    auth.install(app)

    @app.get("/reports")
    async def reports(
        identity: Annotated[Identity, Security(requires(), scopes=["reports"])],
    ) -> Any:
        return {"subject": identity.subject}

    @app.get("/reports/edit")
    async def edit(
        identity: Annotated[Identity, Security(requires("reports"), scopes=["edit"])],
    ) -> Any:
        return {"subject": identity.subject}

    async def current_user(
        identity: Annotated[Identity, Security(requires())],
    ) -> str:  # the FastAPI tutorial's shape: the app's own dependency over requires()
        return identity.subject or ""

    @app.get("/tutorial")
    async def tutorial(user: Annotated[str, Security(current_user, scopes=["tutorial"])]) -> Any:
        return {"user": user}

    admin = APIRouter(prefix="/admin", dependencies=[Security(requires(), scopes=["admin"])])

    @admin.get("/stats")
    async def stats(identity: Annotated[Identity, Security(requires(), scopes=["stats"])]) -> Any:
        return {"subject": identity.subject}

    app.include_router(admin)
    return app


@pytest.mark.parametrize(
    ("path", "granted", "status", "named"),
    [
        ("/reports", "reports", 200, None),
        ("/reports", "other", 403, "reports"),
        ("/reports/edit", "reports edit", 200, None),
        ("/reports/edit", "reports", 403, "edit reports"),
        ("/tutorial", "tutorial", 200, None),
        ("/tutorial", "reports", 403, "tutorial"),
        ("/admin/stats", "admin stats", 200, None),
        ("/admin/stats", "stats", 403, "admin"),
        ("/admin/stats", "admin", 403, "stats"),
    ],
)
def test_security_scopes_are_enforced(
    auth: JWTAuth, path: str, granted: str, status: int, named: str | None
) -> None:
    with TestClient(build_scoped_app(auth)) as client:
        response = client.get(path, headers=bearer(token(auth.settings, granted)))
        assert response.status_code == status, response.text
        if named is not None:
            assert response.headers["www-authenticate"].endswith(f'scope="{named}"')
        assert client.get(path).status_code == 401


def test_security_scopes_and_the_openapi_padlock_come_from_one_declaration(auth: JWTAuth) -> None:
    schema = build_scoped_app(auth).openapi()
    paths = schema["paths"]

    def scopes(path: str) -> list[str]:
        (requirement,) = paths[path]["get"]["security"]
        return sorted(requirement[BEARER_SCHEME_NAME])

    assert scopes("/reports") == ["reports"]
    assert scopes("/reports/edit") == ["edit", "reports"]
    assert scopes("/tutorial") == ["tutorial"]
    assert scopes("/admin/stats") == ["admin", "stats"]


# -- install(): the documentation pages ------------------------------------------------------------


def test_install_lets_the_docs_load_without_a_token(tmp_path: Path) -> None:
    auth = JWTAuth({"SECRET": secrets.token_urlsafe(48)})  # no EXEMPT_PATHS at all
    app = FastAPI()
    auth.install(app)

    @app.get("/api/me")
    async def me(identity: Annotated[Identity, Security(requires(), scopes=["profile"])]) -> Any:
        return {"subject": identity.subject}

    with TestClient(app) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            assert client.get(path).status_code == 200, path
        assert client.get("/docs", headers=bearer("not.a.token")).status_code == 200
        assert client.get("/api/me").status_code == 401
    schema = app.openapi()
    assert schema["paths"]["/api/me"]["get"]["security"] == [{BEARER_SCHEME_NAME: ["profile"]}]


def test_install_exempts_the_configured_docs_urls_only(tmp_path: Path) -> None:
    auth = JWTAuth({"SECRET": secrets.token_urlsafe(48)})
    app = FastAPI(docs_url="/api-docs", redoc_url=None, openapi_url="/schema.json")
    auth.install(app)
    with TestClient(app) as client:
        assert client.get("/api-docs").status_code == 200
        assert client.get("/schema.json").status_code == 200
        assert client.get("/redoc").status_code == 401
        assert client.get("/docs").status_code == 401


def test_install_can_keep_the_docs_protected(tmp_path: Path) -> None:
    settings = {"SECRET": secrets.token_urlsafe(48), "OPTIONAL_PATHS": ["/redoc"]}
    auth = JWTAuth(settings)
    app = FastAPI()
    auth.install(app, exempt_docs=False)
    with TestClient(app) as client:
        assert client.get("/docs").status_code == 401
        assert client.get("/openapi.json").status_code == 401
        assert client.get("/docs", headers=bearer(token(auth.settings))).status_code == 200
        assert client.get("/redoc").status_code == 200  # its own path rule still applies


def test_install_keeps_an_explicit_rule_for_a_docs_path(tmp_path: Path) -> None:
    auth = JWTAuth({"SECRET": secrets.token_urlsafe(48), "OPTIONAL_PATHS": ["/redoc"]})
    app = FastAPI()
    auth.install(app)
    with TestClient(app) as client:
        assert client.get("/redoc").status_code == 200
        # optional, not exempt: a token that is sent is still verified
        assert client.get("/redoc", headers=bearer("not.a.token")).status_code == 401
        assert client.get("/docs", headers=bearer("not.a.token")).status_code == 200
