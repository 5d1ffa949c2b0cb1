"""Find the token in a request: header, cookie or (opt-in) query parameter.

The I/O layers wrap their native request (ASGI scope, WSGI environ) in a :class:`RequestView`
that looks headers up lazily, so a request pays only for the lookups the settings need. A
request carrying credentials in more than one place, or the same credential twice, is refused
with 400 ``invalid_request`` instead of guessing which one was meant.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

from ..core.errors import InvalidRequest, TokenTooLarge
from .views import ASGIRequestView, RequestView, WSGIRequestView

if TYPE_CHECKING:
    from ..core.settings import Settings

__all__ = ["ASGIRequestView", "RequestView", "TokenSources", "WSGIRequestView", "parse_cookie"]


_COOKIE_SEPARATORS = re.compile(r"[;,]")


def parse_cookie(header: str) -> dict[str, list[str]]:
    """Parse a ``Cookie`` header into ``{name: [values...]}`` (RFC 6265, lenient on junk).

    Commas separate pairs too: cookie values may not contain them, and WSGI servers join
    repeated ``Cookie`` lines with ``", "``.
    """
    out: dict[str, list[str]] = {}
    for part in _COOKIE_SEPARATORS.split(header):
        name, sep, value = part.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out.setdefault(name.strip(), []).append(value)
    return out


class TokenSources:
    """Extracts the token according to ``SOURCES``; built once per middleware."""

    __slots__ = (
        "_cookie",
        "_cookie_key",
        "_header",
        "_joined",
        "_max_header",
        "_prefix",
        "_prefix_len",
        "_query",
        "_query_key",
        "_scheme",
        "_ws_protocol",
        "names",
    )

    def __init__(self, settings: Settings) -> None:
        sources = settings.sources
        self._header = settings.header_name.lower() if "header" in sources else None
        self._scheme = settings.header_scheme.lower()
        self._joined = re.compile(rf",\s*{re.escape(self._scheme)}(?=[\s,]|$)", re.I)
        self._prefix = self._scheme + " "
        self._prefix_len = len(self._prefix)
        # "<scheme> <token>" with room for some stray whitespace
        self._max_header = len(self._scheme) + 1 + settings.max_token_bytes + 64
        self._cookie = settings.access_cookie_name if "cookie" in sources else None
        self._cookie_key = f"{settings.access_cookie_name}="
        self._query = settings.query_parameter if "query" in sources else None
        self._query_key = f"{settings.query_parameter}="
        #: The subprotocol marking a token in ``Sec-WebSocket-Protocol`` (``None``: off).
        self._ws_protocol = self._scheme if "websocket_protocol" in sources else None
        #: The request headers a response depends on (for ``Vary``).
        self.names: tuple[str, ...] = tuple(
            n
            for n in (
                settings.header_name if self._header else None,
                "Cookie" if self._cookie else None,
            )
            if n
        )

    def extract(self, view: RequestView) -> tuple[str, str] | None:
        """Return ``(token, source)`` or ``None``; raise :class:`InvalidRequest` on ambiguity."""
        found: tuple[str, str] | None = None
        if self._header is not None:
            found = self._from_header(view)
        if self._cookie is not None:
            token = self._from_cookie(view)
            if token is not None:
                if found is not None:
                    raise InvalidRequest("credentials in more than one place")
                found = (token, "cookie")
        if self._query is not None and self._query_key in view.query_string:
            token = self._from_query(view.query_string, self._query)
            if token is not None:
                if found is not None:
                    raise InvalidRequest("credentials in more than one place")
                found = (token, "query")
        if self._ws_protocol is not None and view.scheme in ("ws", "wss"):
            token = self._from_subprotocols(view, self._ws_protocol)
            if token is not None:
                if found is not None:
                    raise InvalidRequest("credentials in more than one place")
                found = (token, "websocket_protocol")
        return found

    @staticmethod
    def _from_subprotocols(view: RequestView, marker: str) -> str | None:
        """The token a websocket client offered as ``Sec-WebSocket-Protocol: bearer, <token>``
        (``new WebSocket(url, ["bearer", token])``)."""
        offered = [p.strip() for v in view.get_all("sec-websocket-protocol") for p in v.split(",")]
        lowered = [p.lower() for p in offered]
        if marker not in lowered:
            return None
        if lowered.count(marker) > 1:
            raise InvalidRequest("the token subprotocol is offered more than once")
        at = lowered.index(marker)
        if at + 1 >= len(offered) or not offered[at + 1]:
            raise InvalidRequest(f"the {marker!r} subprotocol is not followed by a token")
        return offered[at + 1]

    def plain_bearer(self, value: str) -> str | None:
        """The token of ``value`` when it is exactly ``<scheme> <token>`` (the scheme in any
        case, one space, no whitespace or comma in the token), else ``None``: the common case,
        in a few C-level string operations. Every other value is :meth:`extract`'s to judge.
        """
        if value[: self._prefix_len].lower() == self._prefix and len(value) <= self._max_header:
            token = value[self._prefix_len :]
            if token and " " not in token and "," not in token and "\t" not in token:
                return token
        return None

    def _from_header(self, view: RequestView) -> tuple[str, str] | None:
        assert self._header is not None
        values = view.get_all_capped(self._header, self._max_header)
        if not values:
            return None
        if len(values) > 1:
            raise InvalidRequest("more than one authorization header")
        raw = values[0]
        plain = self.plain_bearer(raw)
        if plain is not None:
            return plain, "header"
        value = raw.strip()
        # Look at the scheme in a short prefix, and at the length before copying or scanning
        # the rest, so a huge header costs no more than a small one.
        scheme, _, _ = value[: len(self._scheme) + 1].partition(" ")
        if scheme.lower() != self._scheme:
            # WSGI servers join repeated headers with ", ": "Basic x, Bearer y" was two headers.
            if "," in value and self._joined.search(value):
                raise InvalidRequest("more than one authorization header")
            return None  # another scheme (Basic, ...) is not ours to judge
        if len(raw) > self._max_header:
            raise TokenTooLarge("authorization header is over MAX_TOKEN_BYTES")
        token = value[len(scheme) + 1 :].strip()
        if not token:
            raise InvalidRequest("empty bearer token")
        if "," in token or " " in token or "\t" in token:
            raise InvalidRequest("more than one credential in the authorization header")
        return token, "header"

    def _from_cookie(self, view: RequestView) -> str | None:
        assert self._cookie is not None
        headers = view.get_all("cookie")
        if not headers:
            return None
        joined = "; ".join(headers)
        if self._cookie not in joined:
            return None
        values = self._cookie_values(joined)
        if len(values) > 1:
            raise InvalidRequest("the token cookie is present more than once")
        value = values[0].strip() if values else ""
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        return value or None

    def _cookie_values(self, joined: str) -> list[str]:
        # Only our cookie is looked for, with str.find: a huge Cookie header full of other
        # pairs costs no Python work per pair. Pairs are separated by ";" or "," (WSGI
        # servers join repeated Cookie lines with ", "; cookie values cannot contain either).
        key, values = self._cookie_key, []
        start = joined.find(key)
        while start != -1:
            before = start - 1
            while before >= 0 and joined[before] in " \t":
                before -= 1
            value_start = start + len(key)
            if before < 0 or joined[before] in ";,":
                ends = [e for e in (joined.find(";", value_start), joined.find(",", value_start))
                        if e != -1]  # fmt: skip
                values.append(joined[value_start : min(ends) if ends else len(joined)])
            start = joined.find(key, value_start)
        return values

    def extract_one_time(self, view: RequestView, parameter: str) -> str | None:
        """A one-time token from the ``Authorization`` header or the query ``parameter``
        (download links), whatever ``SOURCES`` says; both at once is a 400."""
        header = self._from_header(view) if self._header is not None else None
        query = (
            self._from_query(view.query_string, parameter)
            if f"{parameter}=" in view.query_string
            else None
        )
        if header is not None and query is not None:
            raise InvalidRequest("credentials in more than one place")
        return header[0] if header is not None else query

    @staticmethod
    def _from_query(query_string: str, name: str) -> str | None:
        values = []
        for pair in query_string.split("&"):
            key, sep, value = pair.partition("=")
            if sep and unquote(key) == name:
                values.append(unquote(value))
        if len(values) > 1:
            raise InvalidRequest("the token query parameter is present more than once")
        return values[0] if values and values[0] else None
