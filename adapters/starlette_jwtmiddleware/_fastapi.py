"""FastAPI glue: the dependency behind ``requires`` and the OpenAPI lock.

Imported only when FastAPI is used (a plain Starlette app never imports FastAPI). Every
dependency declares :data:`bearer_scheme` (``HTTPBearer(auto_error=False)``) as a security
sub-dependency with the route's scopes, and reads FastAPI's ``SecurityScopes``: the scopes of
``Security(requires(), scopes=["read"])`` are enforced and documented from that one
declaration, so ``/openapi.json`` lists the scheme under
``components.securitySchemes`` and each protected operation under ``security``; the scheme only
reads the header for the documentation, the middleware has already verified the token.
:func:`document_openapi` (called by ``JWTAuth.install``) also marks the operations that the
middleware's path rules protect without any dependency, so the docs page sends the token to
every operation that needs one.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

try:
    import fastapi
except ImportError as exc:
    raise ModuleNotFoundError(
        "starlette_jwtmiddleware's FastAPI support needs FastAPI: "
        "pip install 'jwtmiddleware[fastapi]'",
        name=exc.name,
    ) from exc
from fastapi import FastAPI, Security
from fastapi.encoders import jsonable_encoder
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from jwtmiddleware import AuthenticationError, ConfigurationError, Identity
from jwtmiddleware.integration import OPTIONAL, REQUIRED, PathRules

from ._refusals import WS_POLICY_VIOLATION, JWTHTTPException, error_response

if TYPE_CHECKING:
    from jwtmiddleware import Settings

    from ._requires import Requirement

__all__ = [
    "BEARER_SCHEME_NAME",
    "MIN_FASTAPI",
    "bearer_scheme",
    "dependency_for",
    "docs_paths",
    "document_openapi",
]

T = TypeVar("T", bound="Identity | None")

#: FastAPI from 0.123.6 awaits a dependency whose ``__wrapped__`` is a coroutine function and
#: lets ``HTTPBearer`` read websocket handshakes; older versions would run ``requires`` in a
#: worker thread and hand the endpoint an un-awaited coroutine.
MIN_FASTAPI = (0, 123, 6)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


if _version(fastapi.__version__) < MIN_FASTAPI:
    raise ConfigurationError(
        "FASTAPI",
        f"starlette_jwtmiddleware needs FastAPI >= {'.'.join(map(str, MIN_FASTAPI))}, "
        f"found {fastapi.__version__}: pip install -U 'fastapi>=0.123.6'",
    )

#: Name of the security scheme in ``components.securitySchemes``.
BEARER_SCHEME_NAME = "bearerAuth"
_DESCRIPTION = "A JWT access token in the Authorization header: `Bearer <token>`."
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

#: The documented scheme; ``auto_error=False``: refusals come from the middleware and
#: ``requires``, with RFC 6750 headers, never from this scheme.
bearer_scheme = HTTPBearer(
    scheme_name=BEARER_SCHEME_NAME,
    bearerFormat="JWT",
    description=_DESCRIPTION,
    auto_error=False,
)


def dependency_for(requirement: Requirement[T]) -> Callable[..., Awaitable[T]]:
    """The FastAPI dependency enforcing ``requirement`` (reached through its ``__wrapped__``)."""

    async def dependency(
        connection: HTTPConnection, security_scopes: SecurityScopes, **_: Any
    ) -> T:
        try:
            # Security(requires(), scopes=[...]): the scopes of that declaration (and of the
            # Security declarations above it) are required too, not only documented.
            return requirement.resolve(connection, security_scopes.scopes)
        except AuthenticationError as error:
            if isinstance(connection, WebSocket):
                raise WebSocketException(WS_POLICY_VIOLATION, error.description) from None
            raise JWTHTTPException(error_response(connection, error), error) from None

    scopes = sorted(requirement.scopes)
    parameters = [
        inspect.Parameter(
            "connection", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HTTPConnection
        ),
        inspect.Parameter(
            "security_scopes", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=SecurityScopes
        ),
        inspect.Parameter(
            "bearer_credentials",
            inspect.Parameter.KEYWORD_ONLY,
            default=Security(bearer_scheme, scopes=scopes),
            annotation=HTTPAuthorizationCredentials | None,
        ),
    ]
    returns = Identity | None if requirement.optional else Identity
    signature = inspect.Signature(parameters, return_annotation=returns)
    setattr(dependency, "__signature__", signature)  # noqa: B010 - functions have no such field
    dependency.__qualname__ = dependency.__name__ = f"requires_{'_'.join(scopes) or 'identity'}"
    return dependency


def docs_paths(app: FastAPI) -> tuple[str, ...]:
    """The paths of ``app``'s own documentation: Swagger UI (and its OAuth2 redirect page),
    ReDoc and the OpenAPI document, as configured (``None`` turns one off)."""
    paths = [app.docs_url, app.redoc_url, app.openapi_url]
    if app.docs_url and app.swagger_ui_oauth2_redirect_url:
        paths.append(app.swagger_ui_oauth2_redirect_url)
    return tuple(path for path in paths if path)


def document_openapi(app: FastAPI, settings: Settings) -> None:
    """Make ``app.openapi()`` list the bearer scheme on every operation the middleware
    protects (required paths; optional paths also allow anonymous calls: ``{}``) and name
    the scopes the API uses in the scheme's description."""
    rules = PathRules(settings)
    original = app.openapi
    cookie = settings.access_cookie_name if "cookie" in settings.sources else None
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = original()
        if not documented or documented[0] is not schema:
            _document(schema, rules, cookie)
            documented[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(schema: dict[str, Any], rules: PathRules, cookie: str | None) -> None:
    used: set[str] = set()
    protected = False
    for path, item in schema.get("paths", {}).items():
        rule = rules.rule(path)
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            security = operation.get("security")
            if security is None and rule in (REQUIRED, OPTIONAL):
                operation["security"] = [{BEARER_SCHEME_NAME: []}]
                if rule == OPTIONAL:
                    operation["security"].append({})
                security = operation["security"]
            for requirement in security or ():
                if BEARER_SCHEME_NAME in requirement:
                    protected = True
                    used.update(requirement[BEARER_SCHEME_NAME])
    if not protected:
        return
    definition = jsonable_encoder(bearer_scheme.model, by_alias=True, exclude_none=True)
    description = _DESCRIPTION
    if cookie:
        description += f" Browsers may send it in the `{cookie}` cookie instead."
    if used:
        description += " Scopes used by this API: " + ", ".join(f"`{s}`" for s in sorted(used))
        description += "; each operation lists the scopes it needs."
    definition["description"] = description
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[BEARER_SCHEME_NAME] = definition
