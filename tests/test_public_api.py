"""The public API does not move: every name below imports from where it did before the
package was reorganised into layers (issue 18), and old module paths still import."""

from __future__ import annotations

import importlib

import pytest

#: Public modules and the names each exports (its ``__all__``, which may only grow).
PUBLIC: dict[str, tuple[str, ...]] = {
    "jwtmiddleware": (
        "ANONYMOUS",
        "AccountDisabled",
        "AnonymousIdentity",
        "AuthEvent",
        "AuthenticationError",
        "Authenticator",
        "CSRFError",
        "ClaimCheckFailed",
        "Claims",
        "ConfigurationError",
        "CookieTooLarge",
        "Credentials",
        "ErrorResponse",
        "Identity",
        "InsufficientScope",
        "InvalidRequest",
        "InvalidSignature",
        "IssuedToken",
        "Issuer",
        "JWTMiddleware",
        "JWTMiddlewareError",
        "JWTWSGIMiddleware",
        "RefreshTokenReused",
        "RequestInfo",
        "SessionLimitReached",
        "SessionManager",
        "Settings",
        "StoreStale",
        "StoreUnavailable",
        "TokenAlreadyUsed",
        "TokenExpired",
        "TokenInvalid",
        "TokenMalformed",
        "TokenMissing",
        "TokenNotYetValid",
        "TokenPair",
        "TokenRevoked",
        "TokenTooLarge",
        "VerifiedToken",
        "Verifier",
        "__version__",
        "require_claims",
        "require_scopes",
    ),
    "jwtmiddleware.stores": (
        "MemoryStore",
        "Mirror",
        "RedisStore",
        "RevocationQuery",
        "SQLiteStore",
        "SessionInfo",
        "Store",
        "open_store",
    ),
    "jwtmiddleware.testing": (
        "FrozenClock",
        "mint_token",
        "sign_compact",
    ),
    "jwtmiddleware.integration": (
        "ASGIRequestView",
        "CSRFGuard",
        "ErrorResponse",
        "IDENTITY_KEY",
        "MAX_REFRESH_BODY",
        "NO_STORE",
        "REFRESH_FIELD",
        "ReadForm",
        "RequestView",
        "Responder",
        "ResponsePlan",
        "SessionEndpoints",
        "WSGIRequestView",
        "as_auth_error",
        "import_string",
        "parse_cookie",
        "parse_store_url",
        "pick_refresh_token",
        "refresh_token_in_body",
        "render_error",
        "render_store_unavailable",
        "request_info",
        "resolve_store",
        "run_async",
        "run_sync",
        "session_list_body",
        "store_mirror",
        "to_callable",
        "to_callables",
        "token_body",
    ),
    "jwtmiddleware.errors": (
        "AccountDisabled",
        "AuthenticationError",
        "CSRFError",
        "ClaimCheckFailed",
        "ConfigurationError",
        "CookieTooLarge",
        "InsufficientScope",
        "InvalidRequest",
        "InvalidSignature",
        "JWTMiddlewareError",
        "RefreshTokenReused",
        "SessionLimitReached",
        "StoreStale",
        "StoreUnavailable",
        "TokenAlreadyUsed",
        "TokenExpired",
        "TokenInvalid",
        "TokenMalformed",
        "TokenMissing",
        "TokenNotYetValid",
        "TokenRevoked",
        "TokenTooLarge",
    ),
    "flask_jwtmiddleware": (
        "AppState",
        "FreshTokenRequired",
        "JWTAuth",
        "JWTBadRequest",
        "JWTForbidden",
        "JWTHTTPException",
        "JWTServiceUnavailable",
        "JWTUnauthorized",
        "current_identity",
        "current_user",
        "get_current_user",
        "get_identity",
        "jwt_required",
    ),
    "quart_jwtmiddleware": (
        "AppState",
        "FreshTokenRequired",
        "JWTAuth",
        "JWTBadRequest",
        "JWTForbidden",
        "JWTHTTPException",
        "JWTServiceUnavailable",
        "JWTUnauthorized",
        "current_identity",
        "current_user",
        "get_current_user",
        "get_identity",
        "jwt_required",
    ),
    "django_jwtmiddleware": (
        "AnonymousTokenUser",
        "JWTAuthenticationMiddleware",
        "TokenUser",
        "alogin_response",
        "alogout_everywhere_response",
        "alogout_response",
        "arefresh_response",
        "asessions_response",
        "jwt_required",
        "load_model_user",
        "login_response",
        "logout_everywhere_response",
        "logout_response",
        "refresh_response",
        "session_manager",
        "sessions_response",
    ),
    "starlette_jwtmiddleware": (
        "ANONYMOUS",
        "AnonymousIdentity",
        "BEARER_SCHEME_NAME",
        "Identity",
        "IdentityDep",
        "JWTAuth",
        "JWTAuthMiddleware",
        "JWTHTTPException",
        "OptionalIdentityDep",
        "Requirement",
        "bearer_scheme",
        "current_identity",
        "requires",
    ),
}
#: Public paths outside any ``__all__``: the names settings and docs spell out in full.
DOTTED = (
    "django_jwtmiddleware.middleware.JWTAuthenticationMiddleware",
    "django_jwtmiddleware.rest_framework.JWTAuthentication",
    "django_jwtmiddleware.rest_framework.HasScope",
    "django_jwtmiddleware.rest_framework.HasScopes",
    "django_jwtmiddleware.users.load_model_user",
    "django_jwtmiddleware.urls.urlpatterns",
    "jwtmiddleware.testing.FrozenClock",
    "jwtmiddleware.testing.mint_token",
    "jwtmiddleware.stores.MemoryStore",
    "jwtmiddleware.stores.SQLiteStore",
    "jwtmiddleware.stores.RedisStore",
    "jwtmiddleware.stores.open_store",
)
#: Module paths of the flat layout (before the layers), still importable: old imports work.
OLD_PATHS = {
    "jwtmiddleware.settings": "Settings",
    "jwtmiddleware.keys": "load_keyset",
    "jwtmiddleware.verifier": "Verifier",
    "jwtmiddleware.identity": "Identity",
    "jwtmiddleware.claims": "require_scopes",
    "jwtmiddleware.issuer": "Issuer",
    "jwtmiddleware.reasons": "REASONS",
    "jwtmiddleware.sources": "TokenSources",
    "jwtmiddleware.cookies": "CookiePolicy",
    "jwtmiddleware.csrf": "CSRFGuard",
    "jwtmiddleware.responses": "render_error",
    "jwtmiddleware.flow": "Authenticator",
    "jwtmiddleware.asgi": "JWTMiddleware",
    "jwtmiddleware.wsgi": "JWTWSGIMiddleware",
    "jwtmiddleware.refresh": "RefreshPlan",
    "jwtmiddleware.manager": "SessionManager",
    "jwtmiddleware.lifecycle": "TokenPair",
    "jwtmiddleware.endpoints": "SessionEndpoints",
    "jwtmiddleware.plans": "ResponsePlan",
    "jwtmiddleware.events": "EVENTS",
    "jwtmiddleware.jwks": "JWKSDocument",
    "jwtmiddleware.remote_keys": "RemoteKeySetCache",
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_imports_from_its_module(module: str) -> None:
    imported = importlib.import_module(module)
    exported = set(imported.__all__)
    missing = [name for name in PUBLIC[module] if name not in exported]
    assert missing == [], f"{module}.__all__ lost {missing}"
    absent = [name for name in PUBLIC[module] if not hasattr(imported, name)]
    assert absent == []


@pytest.mark.parametrize("path", DOTTED)
def test_dotted_public_paths_resolve(path: str) -> None:
    module, _, name = path.rpartition(".")
    assert hasattr(importlib.import_module(module), name), path


@pytest.mark.parametrize("old", sorted(OLD_PATHS))
def test_old_module_paths_still_import(old: str) -> None:
    module = importlib.import_module(old)
    assert hasattr(module, OLD_PATHS[old])
    # The same module object as at its new home: patching one patches the other.
    assert importlib.import_module(module.__name__) is module


def test_top_level_names_are_the_objects_of_their_home_modules() -> None:
    import jwtmiddleware
    from jwtmiddleware.http.decision import Authenticator
    from jwtmiddleware.sessions.manager import SessionManager

    assert jwtmiddleware.Authenticator is Authenticator
    assert jwtmiddleware.SessionManager is SessionManager
    assert sorted(jwtmiddleware.__all__) == jwtmiddleware.__all__
