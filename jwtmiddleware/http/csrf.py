"""CSRF protection for tokens that ride in cookies (sans-IO).

A browser attaches cookies to cross-site requests, so a cookie-carried token alone does not
prove the request came from our own pages. For unsafe methods the request must also:

1. not come from another site: ``Sec-Fetch-Site`` (when sent) is ``same-origin`` or ``none``,
   and ``Origin`` (when sent) is the request's own origin or one of ``CSRF_TRUSTED_ORIGINS``.
   Origins are compared whole (RFC 6454): scheme, host and port, with the default ports of
   ``http`` (80) and ``https`` (443) filled in. The request's own origin is the scheme the
   server saw (ASGI ``scope["scheme"]``, WSGI ``wsgi.url_scheme``) and the ``Host`` header, so
   ``https://host`` or ``ftp://host`` is another origin to an ``http`` server on ``host``;
2. echo the token's ``csrf`` claim in the ``X-CSRF-Token`` header or the ``csrf_token`` form
   field (double submit, bound into the signed token), compared in constant time.

Tokens sent in the ``Authorization`` header need none of this: browsers never add them on
their own.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ..core._urls import Origin, parse_origin
from ..core.errors import CSRFError

if TYPE_CHECKING:
    from ..core.settings import Settings
    from .sources import RequestView

__all__ = ["SAFE_METHODS", "CSRFGuard", "Origin", "form_value", "parse_origin"]

#: Methods that must not change state (RFC 9110 §9.2.1), exempt from CSRF checks.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM = "application/x-www-form-urlencoded"
_MAX_FIELDS = 1000
#: A websocket handshake's own scheme, as the page that opened it would name its origin.
_PAGE_SCHEME = {"ws": "http", "wss": "https"}


def form_value(body: bytes, field: str) -> str | None:
    """The value of ``field`` in an urlencoded ``body``; ``None`` when it is missing, repeated,
    or the body is not a sane form (too many fields)."""
    try:
        values = parse_qs(body.decode("latin-1"), max_num_fields=_MAX_FIELDS).get(field)
    except ValueError:  # over _MAX_FIELDS: no proof, a 403 like any other missing field
        return None
    return values[0] if values and len(values) == 1 else None


class CSRFGuard:
    """Applies the checks above; build once per middleware."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.csrf_protection
        self.header = settings.csrf_header_name.lower()
        #: Form field read when the header is absent.
        self.field = settings.csrf_field_name
        # Settings validated every entry as an origin; one that does not parse trusts nothing.
        self._trusted: frozenset[Origin] = frozenset(
            o for o in map(parse_origin, settings.csrf_trusted_origins) if o is not None
        )

    def applies(self, method: str, source: str) -> bool:
        """Whether a request needs CSRF proof."""
        return self.enabled and source == "cookie" and method not in SAFE_METHODS

    def check_origin(self, view: RequestView) -> None:
        """Refuse requests that say they come from another site."""
        site = view.get("sec-fetch-site")
        cross_site = site is not None and site.strip().lower() not in ("same-origin", "none")
        if cross_site and not self._trusted_origin(view.get("origin")):
            raise CSRFError(f"Sec-Fetch-Site is {site!r}")
        origin = view.get("origin")
        if origin is None:
            return
        if origin.strip().lower() == "null":
            raise CSRFError("Origin is null")
        claimed = parse_origin(origin)
        if claimed is None:
            raise CSRFError("Origin is not an origin")
        if claimed in self._trusted or claimed == self._own_origin(view):
            return
        raise CSRFError("cross-origin request")

    @staticmethod
    def _own_origin(view: RequestView) -> Origin | None:
        """The request's own origin: the scheme the server saw and the ``Host`` header."""
        host = view.get("host")
        if host is None or not host.strip() or "/" in host:
            return None
        scheme = view.scheme.lower()
        return parse_origin(f"{_PAGE_SCHEME.get(scheme, scheme)}://{host.strip()}")

    def _trusted_origin(self, origin: str | None) -> bool:
        return origin is not None and parse_origin(origin) in self._trusted

    @staticmethod
    def wants_form(view: RequestView) -> bool:
        """Whether the body may carry the CSRF field."""
        ctype = view.get("content-type") or ""
        return ctype.split(";", 1)[0].strip().lower() == _FORM

    @staticmethod
    def check_token(claims: Mapping[str, Any], presented: str | None) -> None:
        """Compare the echoed value with the token's ``csrf`` claim in constant time."""
        expected = claims.get("csrf")
        if not isinstance(expected, str) or not expected:
            raise CSRFError("cookie token has no csrf claim")
        if presented is None or not hmac.compare_digest(
            presented.strip().encode("utf-8", "replace"), expected.encode("utf-8", "replace")
        ):
            raise CSRFError("CSRF token missing or wrong")
