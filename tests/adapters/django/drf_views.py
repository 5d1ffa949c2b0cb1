"""Django REST framework views of the adapter tests: an ``APIView`` and a ``ViewSet``."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from django_jwtmiddleware.rest_framework import HasScope, HasScopes


def token_claims(user: Any, request: Any) -> dict[str, Any]:
    """``TOKEN_CLAIMS``: staff get every scope, others read-only ones."""
    scope = "profile notes:read notes:write" if user.is_staff else "notes:read"
    return {"scope": scope, "name": user.get_username()}


def _who(request: Any) -> dict[str, Any]:
    return {
        "user": str(request.user),
        "user_type": type(request.user).__name__,
        "subject": request.auth.subject,
        "scopes": sorted(request.auth.scopes),
        "authenticator": type(request.successful_authenticator).__name__,
    }


class Profile(APIView):
    permission_classes: ClassVar[list[Any]] = [IsAuthenticated, HasScope("profile")]

    def get(self, request: Any) -> Response:
        return Response(_who(request))


class Anyone(APIView):
    permission_classes: ClassVar[list[Any]] = []

    def get(self, request: Any) -> Response:
        authenticated = request.auth is not None
        return Response({"authenticated": authenticated, "user": str(request.user)})


class Either(APIView):
    permission_classes: ClassVar[list[Any]] = [HasScope("profile") | HasScope("notes:write")]

    def get(self, request: Any) -> Response:
        return Response(_who(request))


class Misused(APIView):
    permission_classes: ClassVar[list[Any]] = [HasScopes]  # no required_scopes on the view

    def get(self, request: Any) -> Response:
        return Response({})


#: The notes of every subject, kept in memory.
NOTES: dict[str, list[str]] = {}


class Notes(viewsets.ViewSet):
    """``list`` needs ``notes:read``, ``create`` needs ``notes:write``; ``retrieve`` is left
    out of ``required_scopes`` and therefore refused to everyone."""

    permission_classes: ClassVar[list[Any]] = [IsAuthenticated, HasScopes]
    required_scopes: ClassVar[dict[str, list[str]]] = {
        "list": ["notes:read"],
        "create": ["notes:write"],
    }

    def list(self, request: Any) -> Response:
        return Response({"notes": NOTES.get(request.auth.subject, [])})

    def create(self, request: Any) -> Response:
        NOTES.setdefault(request.auth.subject, []).append(str(request.data.get("text", "")))
        return Response({"notes": NOTES[request.auth.subject]}, status=201)

    def retrieve(self, request: Any, pk: str) -> Response:
        return Response({"note": NOTES.get(request.auth.subject, [])[int(pk)]})
