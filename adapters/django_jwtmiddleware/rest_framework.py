"""Django REST framework: an authentication class and scope permissions.

::

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["django_jwtmiddleware.rest_framework.JWTAuthentication"],
    }

    class Profile(APIView):
        permission_classes = [IsAuthenticated, HasScope("profile")]

        def get(self, request):
            return Response({"subject": request.auth.subject})   # request.auth: the Identity

:class:`JWTAuthentication` gives DRF the identity ``JWTAuthenticationMiddleware`` verified
(``request.user`` is the middleware's user, ``request.auth`` the
:class:`~jwtmiddleware.Identity`); without the middleware it verifies the token itself, with
the same rules. Its :meth:`~JWTAuthentication.authenticate_header` is the RFC 6750 challenge, so
DRF answers unauthenticated requests with 401 (not 403) and ``WWW-Authenticate: Bearer``; list
it first in ``DEFAULT_AUTHENTICATION_CLASSES`` (DRF takes the challenge of the first class).

:class:`HasScope` (``HasScope("read", "write")``) and :class:`HasScopes` (the view's
``required_scopes``, per HTTP method or ViewSet action if you like) refuse tokens lacking a
scope with 403 ``insufficient_scope``, and anonymous callers with 401.
"""

from __future__ import annotations

try:
    import rest_framework  # noqa: F401 - present, or say how to install it
except ImportError as exc:
    raise ModuleNotFoundError(
        "django_jwtmiddleware.rest_framework needs Django REST framework: "
        "pip install 'jwtmiddleware[drf]'",
        name=exc.name,
    ) from exc

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission, BasePermissionMetaclass

from jwtmiddleware import Identity
from jwtmiddleware.errors import AuthenticationError, StoreUnavailable, TokenMissing
from jwtmiddleware.integration import render_error

from ._http import INSUFFICIENT_SCOPE
from ._verify import verify_request
from .conf import get_runtime

__all__ = [
    "HasScope",
    "HasScopes",
    "JWTAuthentication",
    "ServiceUnavailable",
    "TokenRequestInvalid",
]

#: Attribute of the Django request carrying the challenge of a refused token.
_CHALLENGE = "_jwtmiddleware_challenge"


class TokenRequestInvalid(exceptions.APIException):  # type: ignore[misc]
    """400 ``invalid_request``: credentials in two places, two headers, an empty ``Bearer``."""

    status_code = 400
    default_detail = "The request carries malformed or duplicate credentials"
    default_code = "invalid_request"


class ServiceUnavailable(exceptions.APIException):  # type: ignore[misc]
    """503 with ``Retry-After: 1``: the store could not say whether the token was revoked."""

    status_code = 503
    default_detail = "Authentication is temporarily unavailable"
    default_code = "temporarily_unavailable"


def _challenge(error: AuthenticationError) -> str | None:
    realm = get_runtime().settings.realm
    for name, value in render_error(error, realm=realm).headers:
        if name == "www-authenticate":
            return value
    return None


def _api_exception(
    request: Any, error: AuthenticationError | StoreUnavailable
) -> exceptions.APIException:
    """The DRF exception for a refusal: DRF's own classes where they fit, so a project's
    ``EXCEPTION_HANDLER`` sees ``AuthenticationFailed`` and ``PermissionDenied``."""
    if isinstance(error, StoreUnavailable):
        unavailable = ServiceUnavailable()
        unavailable.wait = 1  # DRF sends it as Retry-After
        return unavailable
    challenge = _challenge(error)
    setattr(request._request, _CHALLENGE, challenge)
    out: exceptions.APIException
    if error.status == 401:
        out = exceptions.AuthenticationFailed(error.description, error.error)
    elif error.status == 403:
        out = exceptions.PermissionDenied(error.description, error.error)
    else:
        out = TokenRequestInvalid(error.description, error.error)
    out.auth_header = challenge  # DRF sends it as WWW-Authenticate
    return out


class JWTAuthentication(BaseAuthentication):  # type: ignore[misc]  # DRF has no type information
    """DRF authentication by a jwtmiddleware access token.

    ``authenticate`` returns ``(user, identity)``: ``request.user`` is the user the middleware
    (or ``USER_LOADER``) gave, a :class:`~django_jwtmiddleware.users.TokenUser` by default;
    ``request.auth`` is the :class:`~jwtmiddleware.Identity` (``subject``, ``claims``,
    ``scopes``, ``session_id``). Without a token it returns ``None`` (anonymous; permissions
    decide). A bad token is ``AuthenticationFailed`` (401 ``invalid_token``) when this class
    verified it; with the middleware such requests never reach DRF.
    """

    def authenticate(self, request: Any) -> tuple[Any, Identity] | None:
        django_request = request._request
        identity = getattr(django_request, "identity", None)
        if identity is not None:  # the middleware authenticated this request
            if not isinstance(identity, Identity):
                return None
            return django_request.user, identity
        try:
            identity, user = verify_request(django_request)
        except TokenMissing:
            return None
        except (AuthenticationError, StoreUnavailable) as error:
            raise _api_exception(request, error) from None
        if not isinstance(identity, Identity):
            return None
        return user, identity

    def authenticate_header(self, request: Any) -> str:
        """The ``WWW-Authenticate`` challenge of a 401: RFC 6750 ``Bearer realm="api"``, with
        ``error="invalid_token"`` when a token was refused. Because it is not empty, DRF answers
        unauthenticated requests with 401 rather than 403."""
        challenge = getattr(request._request, _CHALLENGE, None)
        if challenge:
            return str(challenge)
        return f'Bearer realm="{get_runtime().settings.realm}"'


def _scope_list(scopes: Iterable[str] | str, where: str) -> tuple[str, ...]:
    names = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
    if not all(isinstance(s, str) and s and not any(c.isspace() for c in s) for s in names):
        raise ImproperlyConfigured(f"{where}: scopes must be non-empty strings without spaces")
    return names


def _identity(request: Any) -> Identity | None:
    auth = getattr(request, "auth", None)
    if isinstance(auth, Identity):
        return auth
    identity = getattr(request._request, "identity", None)  # the middleware's, other auth
    return identity if isinstance(identity, Identity) else None


class HasScopes(BasePermission):  # type: ignore[misc]  # DRF has no type information
    """Require the scopes the view declares in ``required_scopes``.

    ``required_scopes`` is a list (or space-separated string) for every method, or a mapping
    from a ViewSet action (``"list"``, ``"create"``, ...) or an HTTP method (``"GET"``, ...) to
    scopes; the action is looked up first, ``HEAD`` falls back to ``GET``. A request whose
    action and method are both missing from the mapping is refused: forgetting one never
    opens it. A token lacking a scope gets 403 ``insufficient_scope`` (with the middleware,
    also the RFC 6750 challenge naming the scopes); an anonymous caller gets 401.
    """

    message = "The access token does not grant the required scope"
    code = "insufficient_scope"

    def required(self, request: Any, view: Any) -> tuple[str, ...] | None:
        """The scopes this request needs; ``None`` refuses it (no mapping entry)."""
        declared = getattr(view, "required_scopes", None)
        name = f"{type(view).__name__}.required_scopes"
        if declared is None:
            raise ImproperlyConfigured(f"HasScopes needs {name} on the view")
        if not isinstance(declared, Mapping):
            return _scope_list(declared, name)
        method = request.method.upper()
        for key in (getattr(view, "action", None), method, method.lower()):
            if key is not None and key in declared:
                return _scope_list(declared[key], name)
        if method == "HEAD":
            for key in ("GET", "get"):
                if key in declared:
                    return _scope_list(declared[key], name)
        return None

    def has_permission(self, request: Any, view: Any) -> bool:
        needed = self.required(request, view)
        identity = _identity(request)
        if identity is None:
            return False  # DRF: 401 NotAuthenticated, with JWTAuthentication's challenge
        if needed is not None and identity.has_scopes(*needed):
            return True
        setattr(request._request, INSUFFICIENT_SCOPE, needed or ())
        return False


class _BindScopes(BasePermissionMetaclass):  # type: ignore[misc]
    """``HasScope("read")`` makes a permission class bound to those scopes; DRF then
    instantiates it with no arguments, and ``|``, ``&`` and ``~`` compose it as usual."""

    def __call__(cls, *scopes: str) -> Any:
        if scopes:
            bound = _scope_list(scopes, "HasScope(...)")
            name = f"HasScope({', '.join(map(repr, bound))})"
            return type(cls)(name, (cls,), {"scopes": bound, "__module__": cls.__module__})
        return super().__call__()


class HasScope(HasScopes, metaclass=_BindScopes):
    """``permission_classes = [HasScope("read", "write")]``: the token must grant every one of
    these scopes (403 ``insufficient_scope``; anonymous callers 401)."""

    #: The scopes bound by ``HasScope(...)``.
    scopes: tuple[str, ...] = ()

    def required(self, request: Any, view: Any) -> tuple[str, ...] | None:
        if not self.scopes:
            raise ImproperlyConfigured('use HasScope("scope", ...) with the scopes it requires')
        return self.scopes
