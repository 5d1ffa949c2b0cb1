"""starlette_jwtmiddleware: jwtmiddleware for Starlette and FastAPI.

The core :class:`~jwtmiddleware.JWTMiddleware` already sets ``request.user`` and
``request.auth``; this adapter adds :class:`JWTAuth` (settings from the environment, a
``Settings`` object or a mapping, validated at start-up; the middleware entry; login, refresh and
logout responses with cookies), :func:`requires` (a Starlette endpoint decorator and a FastAPI
dependency in one), :func:`current_identity`, and for FastAPI ``IdentityDep`` /
``OptionalIdentityDep`` and the OpenAPI bearer scheme. FastAPI is imported only when one of its
names is used.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401 - present, or say how to install it
except ImportError as exc:
    raise ModuleNotFoundError(
        "starlette_jwtmiddleware needs Starlette: pip install 'jwtmiddleware[starlette]'",
        name=exc.name,
    ) from exc

from typing import TYPE_CHECKING, Any

from jwtmiddleware import ANONYMOUS, AnonymousIdentity, Identity

from ._auth import JWTAuth
from ._middleware import JWTAuthMiddleware, current_identity
from ._refusals import JWTHTTPException
from ._requires import Requirement, requires

if TYPE_CHECKING:
    from ._dependencies import IdentityDep, OptionalIdentityDep
    from ._fastapi import BEARER_SCHEME_NAME, bearer_scheme

__all__ = [
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
]

_FASTAPI_NAMES = frozenset({"BEARER_SCHEME_NAME", "bearer_scheme"})
_DEPENDENCY_NAMES = frozenset({"IdentityDep", "OptionalIdentityDep"})


def __getattr__(name: str) -> Any:
    if name in _FASTAPI_NAMES or name in _DEPENDENCY_NAMES:
        from . import _fastapi  # first: says how to install FastAPI when it is missing

        if name in _FASTAPI_NAMES:
            return getattr(_fastapi, name)
        from . import _dependencies

        return getattr(_dependencies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
