"""The jwtdemo API: log in, read a profile (scope ``profile``), refresh, list sessions, log out
on this device or everywhere."""

from __future__ import annotations

import json
from typing import Any

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from django_jwtmiddleware import (
    jwt_required,
    login_response,
    logout_everywhere_response,
    logout_response,
    refresh_response,
    sessions_response,
)

from .users import authenticate


def _error(status: int, error: str, description: str) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def health(request: Any) -> JsonResponse:
    return JsonResponse({"status": "ok"})


# JSON only, so no cross-site HTML form can post here (that would need a CORS preflight):
# Django's CSRF token is not needed for this endpoint.
@csrf_exempt
@require_POST
def login(request: Any) -> Any:
    try:
        body = json.loads(request.body) if request.content_type == "application/json" else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _error(400, "invalid_request", "send a JSON object")
    user = authenticate(body.get("username"), body.get("password"))
    if user is None:
        return _error(401, "invalid_grant", "wrong username or password")
    return login_response(request, user.username, {"scope": user.scope})


# jwtmiddleware checks CSRF itself when the refresh token comes from the cookie.
@csrf_exempt
@require_POST
def refresh(request: Any) -> Any:
    return refresh_response(request)


@require_POST
def logout(request: Any) -> Any:
    return logout_response(request)


@require_POST
def logout_all(request: Any) -> Any:
    return logout_everywhere_response(request)


@require_GET
def sessions(request: Any) -> Any:
    return sessions_response(request)


@require_GET
@jwt_required(scopes=["profile"])
async def me(request: Any) -> JsonResponse:
    identity = request.identity
    return JsonResponse(
        {
            "subject": identity.subject,
            "scopes": sorted(identity.scopes),
            "session_id": identity.session_id,
        }
    )
