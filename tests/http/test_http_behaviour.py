"""What a client and an application see of the middleware, on both ASGI and WSGI.

The RFC 6750 shape of every refusal, ``Vary``, exempt and optional paths, the ASGI scope rules
(lifespan passes through, the scope is copied), scopes, custom error handlers and claim checks,
websocket refusals, what reaches the application, and that the token never reaches the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from jwtmiddleware import (
    AuthenticationError,
    ErrorResponse,
    Identity,
    InvalidSignature,
    JWTMiddleware,
    Settings,
    TokenExpired,
    TokenMissing,
)
from jwtmiddleware.core.identity import AnonymousIdentity, Credentials
from jwtmiddleware.http.sources import RequestView
from jwtmiddleware.testing import mint_token
from tests.http.harness import (
    NOW,
    ASGIClient,
    Client,
    WSGIClient,
    build_client,
    expect_invalid_request,
    expect_invalid_token,
    expect_no_credentials,
    expect_ok,
    expect_refusal,
)

SECRET = "an HS256 test secret of 32+ bytes, not for production"
MakeClient = Callable[..., Client]

BARE_CHALLENGE = 'Bearer realm="api"'
EXPIRED_CHALLENGE = (
    'Bearer realm="api", error="invalid_token", error_description="The access token expired"'
)


def settings(**changes: Any) -> Settings:
    # The cookie is read under its plain name here; the __Host- prefix has its own tests.
    changes.setdefault("cookie_name_prefix", False)
    return Settings(secret=SECRET, algorithms=["HS256"], **changes)


def mint(config: Settings, claims: dict[str, Any] | None = None, **kw: Any) -> str:
    return mint_token(config, claims, now=NOW, **kw)


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


# -- RFC 6750 responses ---------------------------------------------------------------------------


def test_no_credentials_is_a_bare_challenge(make_client: MakeClient) -> None:
    result = make_client(settings()).get()
    assert result.status == 401
    assert not result.reached
    assert result.headers == [
        ("www-authenticate", BARE_CHALLENGE),
        ("content-type", "application/json"),
        ("content-length", str(len(result.body))),
        ("cache-control", "no-store"),
    ]
    assert result.json() == {
        "error": "unauthorized",
        "error_description": TokenMissing.description,
    }


@pytest.mark.parametrize(
    ("token", "description"),
    [
        pytest.param("expired", "The access token expired", id="expired"),
        pytest.param("forged", "The access token signature is invalid", id="bad-signature"),
        pytest.param("abc", "The access token is malformed", id="malformed"),
    ],
)
def test_an_invalid_token_gets_invalid_token(
    make_client: MakeClient, token: str, description: str
) -> None:
    config = settings()
    if token == "expired":
        token = mint(config, ttl=-60)
    elif token == "forged":
        token = mint(config.replace(secret=SECRET[::-1]))
    result = make_client(config).get(headers=bearer(token))
    assert result.status == 401
    assert result.header("www-authenticate") == (
        f'Bearer realm="api", error="invalid_token", error_description="{description}"'
    )
    assert result.json() == {"error": "invalid_token", "error_description": description}
    assert result.header("cache-control") == "no-store"
    assert token not in result.body.decode()


def test_a_malformed_request_gets_invalid_request(make_client: MakeClient) -> None:
    config = settings()
    token = mint(config)
    result = make_client(config).get(headers=[*bearer(token), *bearer(token)])
    assert result.status == 400
    description = "The request carries malformed or duplicate credentials"
    assert result.header("www-authenticate") == (
        f'Bearer realm="api", error="invalid_request", error_description="{description}"'
    )
    assert result.json() == {"error": "invalid_request", "error_description": description}


def test_the_realm_is_configurable(make_client: MakeClient) -> None:
    config = settings(realm="Example API")
    result = make_client(config).get()
    expect_refusal(result, 401, None, realm="Example API")
    result = make_client(config).get(headers=bearer(mint(config, ttl=-60)))
    assert result.header("www-authenticate") == EXPIRED_CHALLENGE.replace("api", "Example API")


def test_wsgi_status_lines_carry_reason_phrases() -> None:
    config = settings(required_scopes=["admin"])
    client = build_client("wsgi", config)
    assert isinstance(client, WSGIClient)
    seen: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append(status)
        return lambda data: None

    token = mint(config)
    for headers in ([], bearer(token) * 2, bearer(token)):
        environ = client.environ("GET", "/api", headers, "")
        assert list(client.middleware(environ, start_response))
    assert seen == ["401 Unauthorized", "400 Bad Request", "403 Forbidden"]


# -- Vary -----------------------------------------------------------------------------------------


def test_vary_on_a_protected_200(make_client: MakeClient) -> None:
    config = settings(exempt_paths=["/health"], optional_paths=["/public"])
    client = make_client(config)
    token = mint(config)
    assert expect_ok(client.get("/api", bearer(token)))
    result = client.get("/api", bearer(token))
    assert result.header_all("vary") == ["Authorization, Cookie"]
    # the anonymous answer of an optional path also depended on the (absent) credentials
    anonymous = client.get("/public")
    expect_ok(anonymous, None)
    assert anonymous.header_all("vary") == ["Authorization, Cookie"]
    # an exempt path never looked at them
    exempt = client.get("/health", bearer(token))
    expect_ok(exempt, None)
    assert exempt.header_all("vary") == []


@pytest.mark.parametrize(
    ("sources", "vary"),
    [
        (("header",), ["Authorization"]),
        (("cookie",), ["Cookie"]),
        (("cookie", "header"), ["Authorization, Cookie"]),
        (("query",), []),
    ],
)
def test_vary_names_only_the_configured_sources(
    make_client: MakeClient, sources: tuple[str, ...], vary: list[str]
) -> None:
    config = settings(sources=sources)
    token = mint(config)
    where = sources[0]
    if where == "header":
        result = make_client(config).get(headers=bearer(token))
    elif where == "cookie":
        result = make_client(config).get(headers=[("Cookie", f"access_token={token}")])
    else:
        result = make_client(config).get(query=f"access_token={token}")
    expect_ok(result)
    assert result.header_all("vary") == vary


def test_vary_is_added_to_the_apps_own_headers(make_client: MakeClient, kind: str) -> None:
    """The app's headers and its own ``Vary`` are kept; our names are added."""
    if kind == "asgi":

        async def app(scope: Any, receive: Any, send: Any) -> None:
            headers = [(b"vary", b"Accept-Encoding"), (b"x-app", b"1")]
            await send({"type": "http.response.start", "status": 201, "headers": headers})
            await send({"type": "http.response.body", "body": b"made"})

        chosen: Any = app
    else:

        def wsgi_app(environ: Any, start_response: Any) -> Any:
            start_response("201 Created", [("Vary", "Accept-Encoding"), ("X-App", "1")])
            return [b"made"]

        chosen = wsgi_app
    config = settings()
    result = make_client(config, app=chosen).get(headers=bearer(mint(config)))
    assert result.status == 201
    assert result.body == b"made"
    assert result.header("x-app") == "1"
    # one merged header or two: either way each name is listed once
    names = [n.strip() for v in result.header_all("vary") for n in v.split(",")]
    assert sorted(names) == ["Accept-Encoding", "Authorization", "Cookie"]


# -- exempt, optional and prefix paths ------------------------------------------------------------


@pytest.fixture
def paths() -> Settings:
    return settings(
        exempt_paths=["/health", "/static/*"],
        optional_paths=["/feed", "/public/*"],
    )


@pytest.mark.parametrize("path", ["/health", "/static/app.js", "/static/", "/static/a/b.css"])
def test_exempt_paths_skip_authentication_entirely(
    make_client: MakeClient, paths: Settings, path: str
) -> None:
    client = make_client(paths)
    expect_ok(client.get(path), None)
    # not even a bad token or ambiguous credentials are looked at
    expect_ok(client.get(path, bearer("not-a-token")), None)
    expect_ok(client.get(path, bearer(mint(paths)) * 2), None)
    # and a good token does not authenticate there either
    expect_ok(client.get(path, bearer(mint(paths))), None)


@pytest.mark.parametrize("path", ["/feed", "/public/", "/public/list"])
def test_optional_paths(make_client: MakeClient, paths: Settings, path: str) -> None:
    client = make_client(paths)
    expect_ok(client.get(path), None)
    expect_ok(client.get(path, bearer(mint(paths))))
    expect_invalid_token(client.get(path, bearer(mint(paths, ttl=-60))))
    expect_invalid_token(client.get(path, bearer("not-a-token")))
    expect_invalid_request(client.get(path, bearer(mint(paths)) * 2))
    # another scheme is not ours: the caller is anonymous
    expect_ok(client.get(path, [("Authorization", "Basic dXNlcjpwYXNz")]), None)


@pytest.mark.parametrize(
    "path",
    [
        "/static/../api",
        "/static/../../api",
        "/static/./api",
        "/static/.hidden",
        "/static/..\\api",
        "/static\\..\\api",
        "/static",
        "/staticfiles/x",
        "//static/x",
        "/api/static/x",
        "/health/",
        "/health/x",
        "/HEALTH",
        "/public/../api",
        "/feed/x",
    ],
)
def test_paths_that_only_look_exempt_or_optional_are_protected(
    make_client: MakeClient, paths: Settings, path: str
) -> None:
    client = make_client(paths)
    expect_no_credentials(client.get(path))
    expect_invalid_token(client.get(path, bearer("not-a-token")))
    expect_ok(client.get(path, bearer(mint(paths))))


def test_required_false_makes_every_path_optional(make_client: MakeClient) -> None:
    config = settings(required=False)
    client = make_client(config)
    expect_ok(client.get("/anything"), None)
    expect_ok(client.get("/anything", bearer(mint(config))))
    expect_invalid_token(client.get("/anything", bearer(mint(config, ttl=-60))))


# -- ASGI scope handling --------------------------------------------------------------------------


@pytest.mark.parametrize("scope_type", ["lifespan", "custom.extension"])
def test_other_scope_types_pass_through_untouched(scope_type: str) -> None:
    seen: list[tuple[Any, Any, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: Any) -> None:
        raise AssertionError("nothing may be sent on the app's behalf")

    middleware = JWTMiddleware(app, settings=settings())
    scope = {"type": scope_type, "asgi": {"version": "3.0"}, "state": {}}
    anyio.run(middleware, scope, receive, send)
    assert len(seen) == 1
    assert seen[0][0] is scope
    assert seen[0][1] is receive
    assert seen[0][2] is send
    assert scope == {"type": scope_type, "asgi": {"version": "3.0"}, "state": {}}


def test_the_asgi_scope_is_copied_not_modified() -> None:
    config = settings()
    client = build_client("asgi", config)
    assert isinstance(client, ASGIClient)
    scope = client.scope("http", "GET", "/api", bearer(mint(config)), "")
    before = dict(scope)
    sent, _ = client.call(scope, [{"type": "http.request", "body": b""}])
    assert sent[0]["status"] == 200
    assert scope == before
    assert "jwtmiddleware.identity" not in scope
    assert "user" not in scope
    seen = client.echo.last
    assert seen is not None
    assert seen is not scope
    assert isinstance(seen["jwtmiddleware.identity"], Identity)
    assert seen["user"] is seen["jwtmiddleware.identity"]
    assert isinstance(seen["auth"], Credentials)


# -- what the application receives ----------------------------------------------------------------


def test_identity_reaches_the_application(make_client: MakeClient, kind: str) -> None:
    config = settings(issuer="https://issuer.example")
    claims = {"scope": "read write", "sid": "session-1", "tenant": "acme"}
    token = mint(config, claims, subject="alice")
    client = make_client(config)
    body = expect_ok(client.get(headers=bearer(token)), "alice")
    assert body["scopes"] == ["read", "write"]
    seen = client.echo.last
    assert seen is not None
    identity = seen["jwtmiddleware.identity"]
    assert isinstance(identity, Identity)
    assert identity.subject == "alice"
    assert identity.scopes == frozenset({"read", "write"})
    assert identity.session_id == "session-1"
    assert identity.token_id == identity.claims["jti"]
    assert identity.claims["tenant"] == "acme"
    assert identity.issuer == "https://issuer.example"
    assert identity.source == "header"
    if kind == "asgi":
        assert seen["auth"].scopes == frozenset({"read", "write"})
    expect_ok(client.get(headers=[("Cookie", f"access_token={token}")]), "alice")
    assert client.echo.last is not None
    assert client.echo.last["jwtmiddleware.identity"].source == "cookie"


def test_scopes_may_be_a_list_claim(make_client: MakeClient) -> None:
    config = settings(scope_claim="scp")
    body = expect_ok(make_client(config).get(headers=bearer(mint(config, {"scp": ["b", "a"]}))))
    assert body["scopes"] == ["a", "b"]


def test_anonymous_identity_on_optional_paths(make_client: MakeClient) -> None:
    config = settings(optional_paths=["/feed"])
    client = make_client(config)
    expect_ok(client.get("/feed"), None)
    assert client.echo.last is not None
    identity = client.echo.last["jwtmiddleware.identity"]
    assert isinstance(identity, AnonymousIdentity)
    assert not identity.is_authenticated


def test_starlette_requires_works_behind_the_middleware() -> None:
    from starlette.applications import Starlette
    from starlette.authentication import requires
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    @requires("read")
    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse({"user": request.user.display_name})

    app = Starlette(routes=[Route("/api", endpoint)])
    config = settings()
    client = build_client("asgi", config, app=app)
    result = client.get(headers=bearer(mint(config, {"scope": "read"}, subject="bob")))
    assert result.status == 200
    assert result.json() == {"user": "bob"}
    assert client.get(headers=bearer(mint(config, {"scope": "write"}))).status == 403


# -- scopes, claim checks and error handlers ------------------------------------------------------


def test_insufficient_scope_is_403(make_client: MakeClient) -> None:
    config = settings(required_scopes=["write", "read"])
    client = make_client(config)
    for claims in ({"scope": "read"}, {}, {"scope": ""}, {"scope": "read writer"}):
        result = client.get(headers=bearer(mint(config, claims)))
        expect_refusal(result, 403, "insufficient_scope")
        assert result.header("www-authenticate") == (
            'Bearer realm="api", error="insufficient_scope", '
            'error_description="The access token does not grant the required scope", '
            'scope="read write"'
        )
    expect_ok(client.get(headers=bearer(mint(config, {"scope": "write read admin"}))))
    expect_ok(client.get(headers=bearer(mint(config, {"scope": ["read", "write"]}))))
    # the scope check runs after verification: a bad token is still invalid_token
    expect_invalid_token(client.get(headers=bearer(mint(config, {"scope": "read"}, ttl=-60))))


def test_a_custom_error_handler_can_redirect(make_client: MakeClient) -> None:
    seen: list[tuple[Exception, Any]] = []

    def to_login(error: AuthenticationError, request: RequestView) -> ErrorResponse | None:
        seen.append((error, request))
        if isinstance(error, TokenExpired):
            return None  # keep the default rendering
        return ErrorResponse(302, (("location", "/login"),), b"")

    config = settings(error_handler=to_login)
    client = make_client(config)
    result = client.get("/account")
    assert result.status == 302
    assert result.headers == [("location", "/login")]
    assert result.body == b""
    assert not result.reached
    error, view = seen[-1]
    assert isinstance(error, TokenMissing)
    assert view.path == "/account"
    assert view.method == "GET"
    assert client.get(headers=bearer(mint(config.replace(secret=SECRET[::-1])))).status == 302
    assert isinstance(seen[-1][0], InvalidSignature)
    expired = client.get(headers=bearer(mint(config, ttl=-60)))
    assert expired.header("www-authenticate") == EXPIRED_CHALLENGE
    expect_ok(client.get(headers=bearer(mint(config))))


def test_an_error_handler_by_import_string(make_client: MakeClient) -> None:
    config = Settings.from_mapping(
        {
            "SECRET": SECRET,
            "ALGORITHMS": "HS256",
            "ERROR_HANDLER": "tests.http.checks:redirect_to_login",
        }
    )
    client = make_client(config)
    result = client.get("/account")
    assert (result.status, result.headers, result.body) == (
        303,
        [("location", "/login?next=/account")],
        b"",
    )
    assert not result.reached
    expect_invalid_token(client.get(headers=bearer("x.y.z")))


def _mapping_settings(*checks: str) -> Settings:
    return Settings.from_mapping(
        {
            "SECRET": SECRET,
            "ALGORITHMS": ["HS256"],
            "CLAIM_CHECKS": list(checks),
        }
    )


def test_claim_check_by_import_string(make_client: MakeClient) -> None:
    config = _mapping_settings("tests.http.checks:tenant_is_acme")
    client = make_client(config)
    expect_ok(client.get(headers=bearer(mint(config, {"tenant": "acme"}))))
    for claims in ({"tenant": "evil"}, {}, {"tenant": ["acme"]}):
        result = client.get(headers=bearer(mint(config, claims)))
        expect_invalid_token(result)
        assert result.json()["error_description"] == "The access token claims were rejected"


@pytest.mark.parametrize(
    "check",
    ["tests.http.checks:needs_department", "tests.http.checks:trips_over_claims"],
    ids=["KeyError", "RuntimeError"],
)
def test_a_claim_check_that_raises_refuses_with_401_not_500(
    make_client: MakeClient, check: str
) -> None:
    config = _mapping_settings(check)
    result = make_client(config).get(headers=bearer(mint(config)))
    expect_invalid_token(result)
    assert result.json()["error_description"] == "The access token claims were rejected"
    assert "department" not in result.body.decode()


def test_a_claim_check_may_ask_for_a_scope(make_client: MakeClient) -> None:
    config = _mapping_settings("tests.http.checks:admins_only")
    client = make_client(config)
    result = client.get(headers=bearer(mint(config, {"roles": ["user"]})))
    expect_refusal(result, 403, "insufficient_scope")
    assert str(result.header("www-authenticate")).endswith(', scope="admin"')
    expect_ok(client.get(headers=bearer(mint(config, {"roles": ["admin"]}))))


def test_checks_run_in_order_and_all_must_pass(make_client: MakeClient) -> None:
    config = _mapping_settings("tests.http.checks:tenant_is_acme", "tests.http.checks:admins_only")
    client = make_client(config)
    expect_ok(client.get(headers=bearer(mint(config, {"tenant": "acme", "roles": ["admin"]}))))
    expect_invalid_token(client.get(headers=bearer(mint(config, {"roles": ["admin"]}))))
    result = client.get(headers=bearer(mint(config, {"tenant": "acme"})))
    expect_refusal(result, 403, "insufficient_scope")


# -- websockets (ASGI) ----------------------------------------------------------------------------


@pytest.fixture
def ws_client() -> tuple[ASGIClient, Settings]:
    config = settings()
    client = build_client("asgi", config)
    assert isinstance(client, ASGIClient)
    return client, config


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        pytest.param(lambda c: [], 401, None, id="no-token"),
        pytest.param(lambda c: bearer(mint(c, ttl=-60)), 401, "invalid_token", id="expired"),
        pytest.param(lambda c: bearer("x.y.z"), 401, "invalid_token", id="garbage"),
        pytest.param(lambda c: bearer(mint(c)) * 2, 400, "invalid_request", id="duplicate"),
    ],
)
def test_websocket_refused_with_a_denial_response(
    ws_client: tuple[ASGIClient, Settings],
    headers: Callable[[Settings], list[tuple[str, str]]],
    status: int,
    error: str | None,
) -> None:
    """With the ``websocket.http.response`` extension the handshake gets a real HTTP answer."""
    client, config = ws_client
    sent, reached = client.websocket(headers=headers(config), http_response=True)
    assert not reached
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert sent[0]["status"] == status
    response_headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    challenge = response_headers["www-authenticate"]
    if error is None:
        assert challenge == BARE_CHALLENGE
    else:
        assert challenge.startswith(f'Bearer realm="api", error="{error}"')
    assert b'"error"' in sent[1]["body"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda c: [], id="no-token"),
        pytest.param(lambda c: bearer(mint(c, ttl=-60)), id="expired"),
        pytest.param(lambda c: bearer(mint(c)) * 2, id="duplicate"),
    ],
)
def test_websocket_refused_with_close_1008(
    ws_client: tuple[ASGIClient, Settings],
    headers: Callable[[Settings], list[tuple[str, str]]],
) -> None:
    """Without the extension the handshake is closed with 1008 (policy violation)."""
    client, config = ws_client
    sent, reached = client.websocket(headers=headers(config), http_response=False)
    assert not reached
    assert sent == [{"type": "websocket.close", "code": 1008}]


@pytest.mark.parametrize("http_response", [True, False], ids=["extension", "no-extension"])
def test_websocket_with_a_good_token_is_accepted(
    ws_client: tuple[ASGIClient, Settings], http_response: bool
) -> None:
    client, config = ws_client
    token = mint(config, subject="carol")
    sent, reached = client.websocket(headers=bearer(token), http_response=http_response)
    assert reached
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert '"carol"' in sent[1]["text"].decode()
    assert all("headers" not in m for m in sent)  # nothing added to a websocket


def test_websocket_token_in_a_cookie(ws_client: tuple[ASGIClient, Settings]) -> None:
    client, config = ws_client
    sent, reached = client.websocket(headers=[("Cookie", f"access_token={mint(config)}")])
    assert reached
    assert sent[0]["type"] == "websocket.accept"


# -- logging --------------------------------------------------------------------------------------


def test_the_token_is_never_logged(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = _mapping_settings("tests.http.checks:tenant_is_acme")
    strict = config.replace(required_scopes=["admin"])
    other = config.replace(secret=SECRET[::-1])
    tokens = {
        "good": mint(config, {"tenant": "acme"}),
        "expired": mint(config, {"tenant": "acme"}, ttl=-60),
        "forged": mint(other, {"tenant": "acme"}),
        "claims": mint(config, {"tenant": "evil"}),
        "tampered": mint(config, {"tenant": "acme"})[:-3] + "AAA",
        "future": mint(config, {"tenant": "acme", "nbf": int(NOW) + 3600}),
    }
    client = make_client(config)
    for token in tokens.values():
        client.get(headers=bearer(token))
        client.get(headers=[("Cookie", f"access_token={token}")])
        client.get(headers=[*bearer(token), ("Cookie", f"access_token={token}")])
    make_client(strict).get(headers=bearer(tokens["good"]))
    buggy = _mapping_settings("tests.http.checks:trips_over_claims")
    make_client(buggy).get(headers=bearer(tokens["good"]))
    assert caplog.records, "the refusals should have been logged"
    logged = caplog.text + "".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
    )
    for name, token in tokens.items():
        assert token not in logged, name
        for segment in token.split("."):
            assert segment not in logged, name


@pytest.mark.parametrize("broken", ["raises", "wrong-type"])
def test_a_broken_error_handler_falls_back_to_the_default(
    make_client: MakeClient, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(error: AuthenticationError, request: RequestView) -> Any:
        if broken == "raises":
            raise RuntimeError("bug in the handler")
        return "not a response"

    client = make_client(settings(error_handler=handler))
    with caplog.at_level(logging.ERROR, logger="jwtmiddleware"):
        result = client.get("/account")
    assert result.status == 401
    assert result.header("www-authenticate") == 'Bearer realm="api"'
    assert any("ERROR_HANDLER" in r.getMessage() for r in caplog.records)


def test_a_cors_preflight_passes_without_credentials(make_client: MakeClient) -> None:
    client = make_client(settings())
    preflight = [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")]
    result = client.request("OPTIONS", "/api", headers=preflight)
    assert result.status == 200
    assert result.reached
    # an OPTIONS request that is not a preflight is authenticated as usual
    assert client.request("OPTIONS", "/api").status == 401
