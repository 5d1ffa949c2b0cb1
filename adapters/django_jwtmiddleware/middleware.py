"""``JWTAuthenticationMiddleware``: the core's authentication flow as Django middleware.

Sync and async capable: under WSGI (or a sync chain) it drives the flow with
:func:`~jwtmiddleware.integration.run_sync`, under ASGI with
:func:`~jwtmiddleware.integration.run_async`; the decision is the core's, once.
It sets ``request.identity`` and ``request.user``, answers refusals itself (RFC 6750), and on
the way out adds ``Vary`` and carries out a sliding refresh.

Order in ``MIDDLEWARE``: after ``django.contrib.auth.middleware.AuthenticationMiddleware``
(which would otherwise replace ``request.user``); the position relative to
``CsrfViewMiddleware`` does not matter (see :func:`_exempt_from_django_csrf`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async

from jwtmiddleware import Identity
from jwtmiddleware.errors import ClaimCheckFailed
from jwtmiddleware.integration import AuthResult, as_auth_error, run_async, run_sync

from ._http import (
    DjangoRequestView,
    add_scope_challenge,
    aform_reader,
    apply_refresh,
    form_reader,
    patch_vary,
)
from ._http import to_http_response as render
from ._verify import load_user as _load_user
from .conf import Runtime, get_runtime
from .users import TokenUser, anonymous_user

__all__ = ["JWTAuthenticationMiddleware"]

HttpRequest = Any
HttpResponse = Any


def _exempt_from_django_csrf(runtime: Runtime, request: HttpRequest, identity: Identity) -> bool:
    """Whether Django's ``CsrfViewMiddleware`` may skip this request.

    A token from the ``Authorization`` header cannot be attached by another site, and a cookie
    token on an unsafe method has just passed jwtmiddleware's own CSRF check (double submit plus
    ``Origin``): either way Django's check adds nothing and would refuse API clients that never
    saw a ``csrftoken``. Query-string tokens are not exempt (another site can put them in a
    link or form).
    """
    if identity.source == "header":
        return True
    return runtime.authenticator.csrf.applies(request.method or "GET", identity.source)


def _no_user(runtime: Runtime, request: HttpRequest) -> HttpResponse:
    error = ClaimCheckFailed("USER_LOADER found no active user for this subject")
    return render(runtime.responder.response_for(error, DjangoRequestView(request)))


def _attach(runtime: Runtime, request: HttpRequest, result: AuthResult, user: Any) -> None:
    identity = result.identity
    request.identity = identity
    if isinstance(identity, Identity):
        request.user = user

        async def auser() -> Any:
            return user

        request.auser = auser
        if _exempt_from_django_csrf(runtime, request, identity):
            request._dont_enforce_csrf_checks = True
    elif not hasattr(request, "user"):
        # No token: leave a session user from AuthenticationMiddleware in place.
        anonymous = anonymous_user()
        request.user = anonymous

        async def aanonymous() -> Any:
            return anonymous

        request.auser = aanonymous


def _finish(
    runtime: Runtime, request: HttpRequest, result: AuthResult, response: HttpResponse
) -> HttpResponse:
    if result.exempt:
        return response
    add_scope_challenge(request, response, runtime.settings.realm)
    patch_vary(response, runtime.vary)
    if result.refresh is not None:
        apply_refresh(response, result.refresh)
    return response


async def _aload_user(runtime: Runtime, identity: Identity, request: HttpRequest) -> Any:
    loader = runtime.options.user_loader
    if loader is None:
        return TokenUser(identity)
    if iscoroutinefunction(loader):
        return await loader(identity, request)
    # The ORM must not run in the event loop.
    return await sync_to_async(loader)(identity, request)


class JWTAuthenticationMiddleware:
    """Authenticate every request with the settings in ``settings.JWTMIDDLEWARE``.

    Sets ``request.identity`` (an :class:`~jwtmiddleware.Identity`, or
    :data:`~jwtmiddleware.ANONYMOUS` on exempt and optional paths without a token) and, for a
    verified token, ``request.user`` / ``request.auser()`` (a
    :class:`~django_jwtmiddleware.users.TokenUser` or the ``USER_LOADER``'s user). Refused
    requests never reach the view: they get the RFC 6750 JSON response (401/403/400/503).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
        # Django loads middleware at start-up: validate the settings and open the store now.
        get_runtime()

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self.__acall__(request)
        # The runtime is looked up per request, so override_settings takes effect at once.
        runtime = get_runtime()
        view = DjangoRequestView(request)
        authenticator = runtime.authenticator
        try:
            result = authenticator.decide(view, runtime.clock())
            if not isinstance(result, AuthResult):
                result = run_sync(result, runtime.store, form_reader(request))
        except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
            return render(runtime.responder.response_for(as_auth_error(exc), view))
        user = None
        if isinstance(result.identity, Identity):
            user = _load_user(runtime, result.identity, request)
            if user is None:
                return _no_user(runtime, request)
        _attach(runtime, request, result, user)
        return _finish(runtime, request, result, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> Any:
        runtime = get_runtime()
        view = DjangoRequestView(request)
        authenticator = runtime.authenticator
        try:
            result = authenticator.decide(view, runtime.clock())
            if not isinstance(result, AuthResult):
                result = await run_async(result, runtime.store, aform_reader(request))
        except Exception as exc:  # noqa: BLE001 - every refusal is rendered, never a 500
            return render(runtime.responder.response_for(as_auth_error(exc), view))
        user = None
        if isinstance(result.identity, Identity):
            user = await _aload_user(runtime, result.identity, request)
            if user is None:
                return _no_user(runtime, request)
        _attach(runtime, request, result, user)
        get_response: Callable[[HttpRequest], Awaitable[Any]] = self.get_response
        return _finish(runtime, request, result, await get_response(request))
