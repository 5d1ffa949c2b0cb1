"""The answers of the session endpoints as data, and the pure rules behind them.

A :class:`ResponsePlan` is what :class:`~jwtmiddleware.endpoints.SessionEndpoints` decides and
an adapter renders. The helpers are the rules every adapter shares: where the refresh token is
taken from (:func:`pick_refresh_token`, :func:`refresh_token_in_body`), what a token answer's
JSON carries (:func:`token_body`) and how a sessions list looks (:func:`session_list_body`).
None of them does I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ..core import _json
from ..core.errors import AuthenticationError, InvalidRequest, StoreUnavailable, TokenMissing
from ._records import RequestInfo

if TYPE_CHECKING:
    from ..http.sources import RequestView
    from ..stores.base import SessionInfo
    from ._records import TokenPair

__all__ = [
    "FORM",
    "MAX_REFRESH_BODY",
    "NO_STORE",
    "REFRESH_FIELD",
    "ResponsePlan",
    "is_json",
    "media_type",
    "pick_refresh_token",
    "refresh_token_in_body",
    "request_info",
    "session_list_body",
    "token_body",
]

#: Headers of every response carrying or clearing tokens (RFC 6749 §5.1).
NO_STORE: tuple[tuple[str, str], ...] = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
#: The JSON member or form field carrying a refresh token in the request body.
REFRESH_FIELD = "refresh_token"
#: Largest refresh request body read, in bytes; a larger one is a 400.
MAX_REFRESH_BODY = 64 * 1024
_MAX_FIELDS = 100
#: The urlencoded form media type, whose body may carry the refresh and CSRF fields.
FORM = "application/x-www-form-urlencoded"


Refusal = AuthenticationError | StoreUnavailable


@dataclass(frozen=True, slots=True)
class ResponsePlan:
    """A session endpoint's answer as data, for the adapter to render.

    When :attr:`error` is set the request is refused: render the error the way the adapter
    renders every refusal (RFC 6750, ``ERROR_HANDLER``, the framework's error handlers) and add
    :attr:`set_cookies`. Otherwise answer :attr:`status` with :attr:`headers`, every
    ``Set-Cookie`` of :attr:`set_cookies` and :attr:`body` as JSON (no body when ``None``).
    """

    #: HTTP status code.
    status: int
    #: The JSON body; ``None`` for an empty body (204, refusals).
    body: Mapping[str, Any] | None = None
    #: Header name/value pairs other than ``Set-Cookie``.
    headers: tuple[tuple[str, str], ...] = NO_STORE
    #: ``Set-Cookie`` values: the session's cookies, or their deletion.
    set_cookies: tuple[str, ...] = ()
    #: The refusal, when the request is refused.
    error: Refusal | None = None

    @classmethod
    def refusal(cls, error: Refusal, set_cookies: tuple[str, ...] = ()) -> ResponsePlan:
        """The plan refusing a request with ``error`` (plus ``set_cookies``)."""
        return cls(error.status, None, (), set_cookies, error)


# -- pure rules ------------------------------------------------------------------------------------


def pick_refresh_token(cookie_values: Sequence[str], body_value: object) -> tuple[str, bool]:
    """``(token, from_cookie)`` from the refresh cookie's values and the body's member.

    Empty cookie values (a deleted cookie a client kept) count as absent.

    :param cookie_values: every value of the refresh cookie in the request.
    :param body_value: the body's ``refresh_token`` (``None`` when absent; any JSON type).
    :raises InvalidRequest: a body value that is empty or not a string, two refresh cookies,
        or the token in both places (400).
    :raises TokenMissing: no refresh token at all (401).
    """
    if body_value is not None and (not isinstance(body_value, str) or not body_value):
        raise InvalidRequest("refresh_token must be a non-empty string")
    cookies = [value for value in cookie_values if value]
    if len(cookies) > 1:
        raise InvalidRequest("the refresh cookie is present more than once")
    if cookies and body_value is not None:
        raise InvalidRequest("refresh token in both the cookie and the body")
    if cookies:
        return cookies[0], True
    if isinstance(body_value, str):
        return body_value, False
    raise TokenMissing("no refresh token")


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` value, lower-cased, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json(media: str) -> bool:
    """Whether ``media`` (from :func:`media_type`) is JSON: ``application/json`` or ``+json``."""
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def refresh_token_in_body(content_type: str | None, body: bytes) -> object:
    """The ``refresh_token`` of a JSON object or urlencoded form body (``None`` when absent).

    Bodies of other content types are not read. The value is returned as found (it may be any
    JSON type); :func:`pick_refresh_token` judges it.

    :raises InvalidRequest: a body over :data:`MAX_REFRESH_BODY`, JSON that is not an object,
        a form with the field twice or over 100 fields (400).
    """
    if not body:
        return None
    if len(body) > MAX_REFRESH_BODY:
        raise InvalidRequest("refresh request body too large")
    media = media_type(content_type)
    if media == FORM:
        try:
            fields = parse_qs(body.decode("latin-1"), keep_blank_values=True,
                              max_num_fields=_MAX_FIELDS)  # fmt: skip
        except ValueError:
            raise InvalidRequest("too many form fields") from None
        values = fields.get(REFRESH_FIELD)
        if values is not None and len(values) > 1:
            raise InvalidRequest("refresh_token given more than once")
        return values[0] if values else None
    if not is_json(media):
        return None
    try:
        document: Any = _json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise InvalidRequest("the refresh request body is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidRequest("the refresh request body is not a JSON object")
    return document.get(REFRESH_FIELD)


def token_body(
    pair: TokenPair, now: float, *, tokens_in_body: bool, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON body of a login or refresh: ``pair.body(now)`` plus ``extra``'s members.

    Without ``tokens_in_body`` the access and refresh tokens stay in their ``HttpOnly``
    cookies only; ``token_type``, ``expires_in`` and ``csrf_token`` remain.
    """
    out = pair.body(now)
    if not tokens_in_body:
        del out["access_token"], out["refresh_token"]
    out.update(extra or {})
    return out


def session_list_body(sessions: Iterable[SessionInfo], current_sid: str | None) -> dict[str, Any]:
    """``{"sessions": [...]}``: each session's fields but the subject, and ``current`` (whether
    it is the caller's own session)."""
    items = []
    for session in sessions:
        item = dataclasses.asdict(session)
        del item["subject"]
        item["current"] = session.session_id == current_sid
        items.append(item)
    return {"sessions": items}


def request_info(view: RequestView) -> RequestInfo:
    """The device metadata of a login: the ``User-Agent`` and the client address."""
    return RequestInfo(user_agent=view.get("user-agent") or "", ip=view.client or "")
