"""Views of the adapter tests: every surface of django_jwtmiddleware, sync and async."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from django_jwtmiddleware import (
    alogin_response,
    alogout_everywhere_response,
    alogout_response,
    arefresh_response,
    asessions_response,
    jwt_required,
    login_response,
    logout_everywhere_response,
    logout_response,
    refresh_response,
    sessions_response,
)


def _who(request: Any) -> dict[str, Any]:
    identity = request.identity
    user = request.user
    return {
        "subject": identity.subject,
        "authenticated": identity.is_authenticated,
        "scopes": sorted(identity.scopes),
        "source": identity.source,
        "user": str(user),
        "user_type": user.__class__.__name__,  # SimpleLazyObject proxies __class__
        "user_authenticated": user.is_authenticated,
        "user_pk": user.pk,
    }


def health(request: Any) -> JsonResponse:
    return JsonResponse({"status": "ok", "identity": type(request.identity).__name__})


def me(request: Any) -> JsonResponse:
    return JsonResponse(_who(request))


def vary(request: Any) -> JsonResponse:
    response = JsonResponse({"ok": True})
    response["Vary"] = "Accept-Language"
    return response


async def ame(request: Any) -> JsonResponse:
    user = await request.auser()
    return JsonResponse({**_who(request), "auser": str(user)})


@jwt_required(scopes=["profile"])
def scoped(request: Any) -> JsonResponse:
    return JsonResponse(_who(request))


@jwt_required(scopes="profile admin")
async def ascoped(request: Any) -> JsonResponse:
    return JsonResponse(_who(request))


@jwt_required
def required(request: Any) -> JsonResponse:
    return JsonResponse(_who(request))


@jwt_required(optional=True, scopes=["profile"])
def maybe(request: Any) -> JsonResponse:
    return JsonResponse(_who(request))


@permission_required("polls.vote", raise_exception=True)
def vote(request: Any) -> JsonResponse:
    return JsonResponse({"voted": True})


def echo(request: Any) -> JsonResponse:
    """What the view sees of the body after the middleware may have read a CSRF form field."""
    post = {k: request.POST.getlist(k) for k in request.POST}
    # A multipart body is streamed into request.POST and cannot be read again (Django's rule).
    multipart = request.content_type.startswith("multipart/")
    return JsonResponse({"post": post, "body": None if multipart else request.body.decode()})


def form(request: Any) -> HttpResponse:
    """A plain Django form endpoint (no token needed) protected by CsrfViewMiddleware."""
    return HttpResponse(f"ok {request.method}")


@csrf_exempt
@require_POST
def login(request: Any) -> Any:
    body = json.loads(request.body)
    return login_response(
        request,
        body["subject"],
        {"scope": body.get("scope", "")},
        tokens_in_body=body.get("tokens_in_body", True),
    )


@csrf_exempt
@require_POST
async def alogin(request: Any) -> Any:
    body = json.loads(request.body)
    return await alogin_response(
        request,
        body["subject"],
        {"scope": body.get("scope", "")},
        tokens_in_body=body.get("tokens_in_body", True),
    )


@csrf_exempt
@require_POST
def refresh(request: Any) -> Any:
    return refresh_response(request)


@csrf_exempt
@require_POST
async def arefresh(request: Any) -> Any:
    return await arefresh_response(request)


@require_POST
def logout(request: Any) -> Any:
    return logout_response(request)


@require_POST
async def alogout(request: Any) -> Any:
    return await alogout_response(request)


@require_POST
def logout_all(request: Any) -> Any:
    return logout_everywhere_response(request)


@require_POST
async def alogout_all(request: Any) -> Any:
    return await alogout_everywhere_response(request)


def sessions(request: Any) -> Any:
    return sessions_response(request)


async def asessions(request: Any) -> Any:
    return await asessions_response(request)
