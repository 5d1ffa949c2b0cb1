"""The jwtdemo API: a plain Django view (``/api/me``), a Django REST framework ``APIView``
(``/api/profile``) and ``ViewSet`` (``/api/notes``); logins, refresh, sessions and logout are the
ready views of ``django_jwtmiddleware.urls``."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import JsonResponse
from django.views.decorators.http import require_GET
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwtmiddleware import jwt_required
from django_jwtmiddleware.rest_framework import HasScope, HasScopes


@require_GET
def health(request: Any) -> JsonResponse:
    return JsonResponse({"status": "ok"})


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


class Profile(APIView):
    """``GET /api/profile``: needs the scope ``profile``."""

    permission_classes: ClassVar[list[Any]] = [IsAuthenticated, HasScope("profile")]

    def get(self, request: Any) -> Response:
        # request.user: the token's user; request.auth: the verified Identity
        return Response({"user": request.user.username, "scopes": sorted(request.auth.scopes)})


#: Notes per user, in memory (the demo has no database).
NOTES: dict[str, list[str]] = {}


class Notes(viewsets.ViewSet):
    """``GET /api/notes``: any signed-in user; ``POST`` needs the scope ``profile``."""

    permission_classes: ClassVar[list[Any]] = [IsAuthenticated, HasScopes]
    required_scopes: ClassVar[dict[str, list[str]]] = {"list": [], "create": ["profile"]}

    def list(self, request: Any) -> Response:
        return Response({"notes": NOTES.get(request.user.username, [])})

    def create(self, request: Any) -> Response:
        text = request.data.get("text") if isinstance(request.data, dict) else None
        if not isinstance(text, str) or not text:
            return Response({"detail": 'send {"text": ...}'}, status=400)
        NOTES.setdefault(request.user.username, []).append(text)
        return Response({"notes": NOTES[request.user.username]}, status=201)
