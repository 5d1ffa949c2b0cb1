"""The pieces of a compact JWS, decoded strictly: canonical unpadded base64url, JSON objects,
NumericDate claims and media types."""

from __future__ import annotations

import binascii
import sys
from typing import Any

from . import _json
from .errors import ClaimCheckFailed, TokenMalformed

__all__ = [
    "MAX_NUMERIC",
    "b64decode",
    "check_header",
    "decode_segment",
    "json_object",
    "media_type",
    "numeric",
    "shape_problem",
]

#: Larger NumericDates are not real times.
MAX_NUMERIC = 2**53
_B64URL_AND_DOT = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
_B64_VALUE = [0] * 256  # the 6-bit value of each base64url byte (only those are ever looked up)
for _index, _byte in enumerate(_B64URL_AND_DOT[:64]):
    _B64_VALUE[_byte] = _index
_UNUSED_BITS_MASK = {2: 0x0F, 3: 0x03}
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_PADDING = {0: b"", 2: b"==", 3: b"="}

_PLUS, _SLASH, _EQUALS = b"+/="  # int needles: "in" is a plain memchr then
if sys.version_info < (3, 11):  # pragma: no cover - Python 3.10 has no strict_mode
    _STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def b64decode(segment: str) -> bytes:
    """Strict, canonical base64url without padding."""
    try:
        data = segment.encode("ascii")
    except UnicodeEncodeError:
        raise TokenMalformed("bad base64url") from None
    if _PLUS in data or _SLASH in data or _EQUALS in data:
        raise TokenMalformed("bad base64url")
    return decode_segment(data)


def decode_segment(segment: bytes) -> bytes:
    rem = len(segment) % 4
    if rem == 1:
        raise TokenMalformed("impossible base64url length")
    mask = _UNUSED_BITS_MASK.get(rem)
    if mask is not None and _B64_VALUE[segment[-1]] & mask:
        raise TokenMalformed("non-canonical base64url")
    try:
        # "+", "/" and "=" were refused by the caller: translate, and let the strict decoder
        # refuse anything else outside the alphabet.
        data = segment.translate(_TO_STANDARD) + _PADDING[rem]
        if sys.version_info >= (3, 11):
            # Refuses every byte outside the alphabet, and padding anywhere but at the end.
            return binascii.a2b_base64(data, strict_mode=True)
        if data.translate(None, _STANDARD):  # pragma: no cover - Python 3.10
            raise TokenMalformed("bad base64url")
        return binascii.a2b_base64(data)  # pragma: no cover - Python 3.10
    except (binascii.Error, ValueError) as exc:
        raise TokenMalformed("bad base64url") from exc


def json_object(data: bytes, what: str, *, strict: bool) -> dict[str, Any]:
    try:
        value = _json.loads_strict(data) if strict else _json.loads(data)
    except (ValueError, RecursionError, UnicodeDecodeError, TypeError) as exc:
        raise TokenMalformed(f"{what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise TokenMalformed(f"{what} is not a JSON object")
    return value


def numeric(claims: dict[str, Any], name: str) -> float:
    """The NumericDate claim ``name`` (present), or the refusal saying what is wrong with it."""
    value = claims[name]
    if value is None:
        raise ClaimCheckFailed(f"{name} is null")
    if type(value) is not int and type(value) is not float:
        raise ClaimCheckFailed(f"{name} is not a JSON number")
    if not 0 <= value <= MAX_NUMERIC:  # also false for NaN; inf and huge ints are out of range
        raise ClaimCheckFailed(f"{name} is out of range")
    return float(value)


def media_type(value: str) -> str:
    value = value.lower()
    return value[12:] if value.startswith("application/") else value


def shape_problem(token: str) -> str:
    """What is wrong with the shape of a token that is not a compact JWS."""
    dots = token.count(".")
    if dots == 4:
        return "encrypted tokens (JWE) are not accepted"
    if token.lstrip().startswith("{"):
        return "JSON serialization is not accepted"
    if dots != 2:
        return "a compact JWS has exactly three segments"
    return "segments must be unpadded base64url"


def check_header(header: dict[str, Any], typ_expected: str | None) -> None:
    """Refuse header members this library does not accept, and a wrong ``typ``
    (``typ_expected``: the media type ``TOKEN_TYPE`` names; else only ``JWT`` or none)."""
    if "crit" in header:
        raise TokenMalformed("crit extensions are not supported")
    if "b64" in header:
        raise TokenMalformed("unencoded payloads (b64) are not accepted")
    cty = header.get("cty")
    if "cty" in header and (not isinstance(cty, str) or media_type(cty) == "jwt"):
        raise TokenMalformed("nested tokens (cty: JWT) are not accepted")
    typ = header.get("typ")
    if "typ" in header and not isinstance(typ, str):
        raise TokenMalformed("typ is not a string")
    if typ_expected is not None:
        if typ is None or media_type(typ) != typ_expected:
            raise ClaimCheckFailed("wrong token type", code="wrong_type")
    elif typ is not None and media_type(typ) != "jwt":
        raise ClaimCheckFailed("wrong token type", code="wrong_type")
