"""The Django side of the I/O layer: a ``RequestView`` over ``HttpRequest``, the CSRF form
reader, and turning core responses, cookies and refresh plans into ``HttpResponse`` changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from http.cookies import Morsel
from typing import TYPE_CHECKING, Any

from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse, QueryDict, UnreadablePostError
from django.utils.cache import patch_vary_headers

from jwtmiddleware.integration import RequestView

if TYPE_CHECKING:
    from jwtmiddleware.integration import ErrorResponse, ReadForm, RefreshPlan

__all__ = [
    "INSUFFICIENT_SCOPE",
    "DjangoRequestView",
    "add_set_cookie",
    "add_scope_challenge",
    "add_set_cookies",
    "aform_reader",
    "apply_refresh",
    "form_reader",
    "patch_vary",
    "to_http_response",
]

# Django has no stubs here; its objects are typed as Any.
HttpRequest = Any

#: Attribute of the Django request naming the scopes a permission (DRF's ``HasScope``) found
#: missing; the middleware answers the 403 with the ``insufficient_scope`` challenge.
INSUFFICIENT_SCOPE = "_jwtmiddleware_insufficient_scope"

_META_KEYS: dict[str, str] = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class DjangoRequestView(RequestView):
    """What the core reads of a Django ``HttpRequest``: method, ``path_info``, ``request.META``.

    Under WSGI ``META`` is the environ; under ASGI Django fills it from the scope (repeated
    headers joined with commas, which the core recognises). ``ERROR_HANDLER`` receives this
    view; ``view.request`` is the Django request.
    """

    __slots__ = ("_meta", "request")

    def __init__(self, request: HttpRequest) -> None:
        meta = request.META
        super().__init__(
            request.method or "GET",
            # path_info is what Django routes on (no SCRIPT_NAME prefix), like PATH_INFO in WSGI
            request.path_info or "/",
            meta.get("QUERY_STRING", ""),
            meta.get("REMOTE_ADDR"),
            # Django's own view of the scheme: honours SECURE_PROXY_SSL_HEADER behind a proxy
            scheme=request.scheme or "http",
        )
        #: The Django request.
        self.request = request
        self._meta: dict[str, Any] = meta

    def get_all(self, name: str) -> list[str]:
        key = _META_KEYS.get(name)
        if key is None:
            key = _META_KEYS[name] = "HTTP_" + name.upper().replace("-", "_")
        value = self._meta.get(key)
        return [] if value is None else [value]


def form_reader(request: HttpRequest) -> Callable[[ReadForm], str | None]:
    """Answer the core's ``ReadForm`` effect from the body Django parses itself.

    Only ``application/x-www-form-urlencoded`` bodies are asked for; Django caches such a body
    (``request.body``), so the view can still read ``request.POST`` and ``request.body`` after.
    ``request.POST`` is empty for methods other than POST, so those bodies are parsed here.
    """

    def read_form(effect: ReadForm) -> str | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= effect.limit:
            return None
        try:
            if request.method == "POST":
                data = request.POST
            else:
                data = QueryDict(request.body, encoding=request.encoding)
            values: list[str] = data.getlist(effect.field)
        except (SuspiciousOperation, UnreadablePostError, UnicodeDecodeError):
            # RequestDataTooBig, TooManyFieldsSent, a broken upload: no proof, so a 403.
            return None
        return values[0] if len(values) == 1 else None

    return read_form


def aform_reader(request: HttpRequest) -> Callable[[ReadForm], Awaitable[str | None]]:
    """:func:`form_reader` for the async driver (Django ASGI has read the whole body already)."""
    read = form_reader(request)

    async def read_form(effect: ReadForm) -> str | None:
        return read(effect)

    return read_form


_FLAGS = frozenset({"secure", "httponly"})
_VALUED = frozenset({"max-age", "path", "domain", "samesite", "expires"})


def add_set_cookie(response: Any, set_cookie: str) -> None:
    """Put one ``Set-Cookie`` value made by the core into ``response.cookies``.

    Django emits cookies only from ``response.cookies`` (a ``SimpleCookie``), so the value is
    parsed into a :class:`~http.cookies.Morsel` with the same attributes; Django's own tools (the
    test client's cookie jar) then see it as any other cookie.
    """
    first, *attributes = (part.strip() for part in set_cookie.split(";"))
    name, _, value = first.partition("=")
    morsel: Morsel[str] = Morsel()
    morsel.set(name, value, value)
    for attribute in attributes:
        key, _, attr_value = attribute.partition("=")
        key = key.strip().lower()
        if key in _FLAGS:
            morsel[key] = True
        elif key in _VALUED:
            morsel[key] = attr_value.strip()
        else:
            raise ValueError(f"unsupported cookie attribute {key!r}")
    response.cookies[name] = morsel


def add_set_cookies(response: Any, set_cookies: Iterable[str]) -> None:
    """:func:`add_set_cookie` for each value."""
    for set_cookie in set_cookies:
        add_set_cookie(response, set_cookie)


def to_http_response(error: ErrorResponse) -> HttpResponse:
    """An ``HttpResponse`` with the status, headers and body of a core ``ErrorResponse``."""
    response = HttpResponse(error.body, status=error.status)
    for key, value in error.headers:
        if key.lower() == "set-cookie":
            add_set_cookie(response, value)
        else:
            response[key] = value
    return response


def add_scope_challenge(request: Any, response: Any, realm: str) -> None:
    """On a 403 that a scope permission refused, add the RFC 6750 ``insufficient_scope``
    challenge naming the scopes (DRF renders permission refusals without one)."""
    needed = getattr(request, INSUFFICIENT_SCOPE, None)
    if needed is None or response.status_code != 403 or response.has_header("WWW-Authenticate"):
        return
    from jwtmiddleware.errors import InsufficientScope
    from jwtmiddleware.integration import render_error

    error = InsufficientScope("a view permission needs more scopes", scopes=tuple(needed))
    for name, value in render_error(error, realm=realm).headers:
        if name == "www-authenticate":
            response["WWW-Authenticate"] = value


def patch_vary(response: Any, fields: tuple[str, ...]) -> None:
    """Add ``fields`` to the response's ``Vary`` (Django's helper keeps ``*`` and dedupes)."""
    if fields:
        patch_vary_headers(response, fields)


def _header_list(response: Any) -> list[tuple[str, str]]:
    headers = [(str(k), str(v)) for k, v in response.items()]
    headers.extend(("Set-Cookie", m.OutputString()) for m in response.cookies.values())
    return headers


def apply_refresh(response: Any, plan: RefreshPlan) -> None:
    """Carry out a sliding refresh on a Django response, when the plan applies to it."""
    headers = _header_list(response)
    if not plan.applies_to(response.status_code, headers):
        return
    before = {value for key, value in headers if key.lower() == "set-cookie"}
    out = plan.apply(headers)
    kept = {key.lower() for key, _ in out}
    for key in list(response.headers):
        if key.lower() not in kept:
            del response[key]
    for key, value in out:
        if key.lower() != "set-cookie":
            response[key] = value
        elif value not in before:
            add_set_cookie(response, value)
