"""The one log line per refused request: reason, request line, client and, once the token was
verified, ``iss``/``sub`` and a short hash of its ``jti``. Never the token, a cookie, a header
value or a secret."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..core.errors import AuthenticationError, StoreUnavailable

if TYPE_CHECKING:
    from ..http.sources import RequestView

__all__ = [
    "REPORTED_ATTRIBUTE",
    "RefusalLog",
    "already_reported",
    "jti_hash",
    "mark_reported",
    "scrub",
]

logger = logging.getLogger("jwtmiddleware")

_MAX_FIELD = 200
_QUOTED = frozenset(' "=\\')
# Set on a refusal already logged and counted (by the session endpoints), so that rendering
# it through a Responder does not report it twice.
REPORTED_ATTRIBUTE = "_jwtmiddleware_reported"


def mark_reported(error: BaseException) -> None:
    """Remember that ``error`` was logged and counted."""
    setattr(error, REPORTED_ATTRIBUTE, True)


def already_reported(error: BaseException) -> bool:
    """Whether ``error`` was logged and counted already."""
    return getattr(error, REPORTED_ATTRIBUTE, False) is True


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/@]*@")


def scrub(text: str) -> str:
    """``text`` with the user information of any URL in it (``redis://:password@...``)
    replaced by ``***``."""
    return _USERINFO.sub(r"\1***@", text)


def _clean(value: Any) -> str:
    """A log-safe logfmt value: no control characters (no forged lines), bounded length,
    quoted (with ``\\`` and ``"`` escaped) when it holds a space, a quote, ``=`` or an
    escape."""
    text = str(value)
    if len(text) > _MAX_FIELD:
        text = text[:_MAX_FIELD] + "..."
    if text and text.isprintable() and not any(ch in text for ch in _QUOTED):
        return text
    out = []
    for ch in text:
        if ch == "\\" or ch == '"':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return '"' + "".join(out) + '"'


def jti_hash(jti: str) -> str:
    """A short, stable hash of a ``jti`` (12 hex digits): lines of one token correlate without
    the log holding an identifier that revokes it."""
    return hashlib.blake2b(jti.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


class RefusalLog:
    """Writes the refusal line at ``LOG_REFUSALS`` (store outages at WARNING at least).

    :param level: a logging level name, or ``None`` for no refusal lines.
    """

    def __init__(self, level: str | None) -> None:
        #: The level as a number (``None``: no refusal lines).
        self.level: int | None = None if level is None else logging.getLevelName(level)

    def __call__(self, error: Exception, reason: str, view: RequestView) -> None:
        level = self.level
        if level is None:
            return
        store = isinstance(error, StoreUnavailable)
        if store:
            level = max(level, logging.WARNING)
        if not logger.isEnabledFor(level):
            return
        fields: dict[str, Any] = {
            "reason": reason,
            "status": error.status if isinstance(error, AuthenticationError | StoreUnavailable)
            else 401,
            "method": _clean(view.method),
            "path": _clean(view.path),
            "client": _clean(view.client or "-"),
        }  # fmt: skip
        claims: Mapping[str, Any] | None = getattr(error, "claims", None)
        if claims:
            for name in ("iss", "sub"):
                value = claims.get(name)
                if isinstance(value, str):
                    fields[name] = _clean(value)
            jti = claims.get("jti")
            if isinstance(jti, str):
                fields["jti_hash"] = jti_hash(jti)
        detail = error.message if isinstance(error, StoreUnavailable) else getattr(
            error, "reason", type(error).__name__
        )  # fmt: skip
        fields["detail"] = _clean(scrub(str(detail)))
        logger.log(
            level,
            "authentication refused: %s",
            " ".join(f"{key}={value}" for key, value in fields.items()),
            extra={"jwtmiddleware": fields},
        )
