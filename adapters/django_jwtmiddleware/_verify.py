"""Authenticating one request without the middleware: the same decision, driven in place.

:class:`~django_jwtmiddleware.rest_framework.JWTAuthentication` and the ready URL views use it
when ``JWTAuthenticationMiddleware`` is not installed (or did not see the request); with the
middleware they read ``request.identity`` instead. The core's authenticator decides exactly as
in the middleware: path rules, sources, signature and claims, CSRF proof for cookie tokens on
unsafe methods, revocation, ``REQUIRED_SCOPES``; only the sliding refresh is not carried out
(it changes the response, which only the middleware sees).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction

from jwtmiddleware import AnonymousIdentity, Identity
from jwtmiddleware.errors import ClaimCheckFailed
from jwtmiddleware.integration import AuthResult, as_auth_error, run_sync

from ._http import DjangoRequestView, form_reader
from .conf import Runtime, get_runtime

__all__ = ["identity_or_verify", "load_user", "verify_request"]

#: Attribute of the Django request remembering a verification done here (one per request).
_VERIFIED = "_jwtmiddleware_verified"


def load_user(runtime: Runtime, identity: Identity, request: Any) -> Any:
    """``request.user`` for ``identity``: the ``USER_LOADER``'s user, else a ``TokenUser``."""
    from .users import TokenUser

    loader = runtime.options.user_loader
    if loader is None:
        return TokenUser(identity)
    if iscoroutinefunction(loader):
        return async_to_sync(loader)(identity, request)
    return loader(identity, request)


def verify_request(request: Any) -> tuple[Identity | AnonymousIdentity, Any]:
    """Authenticate the Django ``request`` (sync; Django runs sync views in a thread under
    ASGI): ``(identity, user)``, with ``user`` ``None`` for ``ANONYMOUS``.

    The answer is remembered on the request, so a second caller (a view after
    ``JWTAuthentication``) does not verify again.

    :raises AuthenticationError: the refusal (``TokenMissing`` when there is no token on a
        path that needs one), or ``ClaimCheckFailed`` when ``USER_LOADER`` finds no user.
    :raises StoreUnavailable: the store could not answer under ``STORE_FAILURE = "closed"``.
    """
    done = getattr(request, _VERIFIED, None)
    if done is not None:
        if isinstance(done, BaseException):
            raise done
        return done  # type: ignore[no-any-return]
    runtime = get_runtime()
    view = DjangoRequestView(request)
    authenticator = runtime.authenticator
    try:
        decided = authenticator.decide(view, runtime.clock())
        if isinstance(decided, AuthResult):
            result = decided
        else:
            result = run_sync(decided, runtime.store, form_reader(request))
        identity = result.identity
        user = None
        if isinstance(identity, Identity):
            user = load_user(runtime, identity, request)
            if user is None:
                raise ClaimCheckFailed("USER_LOADER found no active user for this subject")
    except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
        error = as_auth_error(exc)
        setattr(request, _VERIFIED, error)
        raise error from None
    answer = (identity, user)
    setattr(request, _VERIFIED, answer)
    return answer


def identity_or_verify(request: Any) -> Identity | AnonymousIdentity:
    """``request.identity`` when the middleware set it, else :func:`verify_request`'s."""
    identity = getattr(request, "identity", None)
    if isinstance(identity, Identity | AnonymousIdentity):
        return identity
    return verify_request(request)[0]
