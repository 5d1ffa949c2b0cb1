"""PEM key files that carry their key id and algorithm in ``kid:`` and ``alg:`` lines.

RFC 7468 (section 5.2) lets explanatory text precede a PEM block, and PEM parsers (OpenSSL,
``cryptography``) skip it. ``keygen`` writes the key's id and algorithm there::

    kid: 2026-11
    alg: ES256
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg...
    -----END PRIVATE KEY-----

and every reader in jwtmiddleware (``KEYS``, ``jwks``) takes them back, so the key id in the
tokens, in the published JWKS and in the file is one and the same. Other lines before the
block are ignored, as RFC 7468 says.
"""

from __future__ import annotations

import re

from .errors import ConfigurationError

__all__ = ["ATTRIBUTES", "PEMKey", "find_pem", "with_attributes"]

#: The lines read before the PEM block.
ATTRIBUTES = ("kid", "alg")
_BEGIN = re.compile(r"^-----BEGIN [A-Z0-9 ]+-----", re.MULTILINE)
_LINE = re.compile(r"^\s*(kid|alg)\s*:\s*(.*?)\s*$", re.IGNORECASE)


class PEMKey:
    """A PEM text split into the block itself and the attributes written before it."""

    __slots__ = ("alg", "kid", "pem")

    def __init__(self, pem: str, kid: str | None, alg: str | None) -> None:
        #: The PEM block, from its ``-----BEGIN`` line.
        self.pem = pem
        #: The ``kid:`` line's value, if any.
        self.kid = kid
        #: The ``alg:`` line's value, if any.
        self.alg = alg


def find_pem(text: str, *, setting: str = "KEYS") -> PEMKey | None:
    """Split ``text`` if it holds a PEM block (possibly after ``kid:``/``alg:`` lines).

    ``None`` when there is no ``-----BEGIN`` line at all (a file path, JSON, ...).

    :raises ConfigurationError: naming ``setting`` for an empty or repeated attribute.
    """
    match = _BEGIN.search(text)
    if match is None:
        return None
    found: dict[str, str] = {}
    for line in text[: match.start()].splitlines():
        attribute = _LINE.match(line)
        if attribute is None:
            continue
        name, value = attribute.group(1).lower(), attribute.group(2)
        if not value:
            raise ConfigurationError(setting, f"a PEM key file has an empty '{name}:' line")
        if name in found:
            raise ConfigurationError(setting, f"a PEM key file has more than one '{name}:' line")
        found[name] = value
    return PEMKey(text[match.start() :].strip() + "\n", found.get("kid"), found.get("alg"))


def with_attributes(pem: str, *, kid: str, alg: str) -> str:
    """``pem`` preceded by its ``kid:`` and ``alg:`` lines (what ``keygen`` writes)."""
    if "\n" in kid or "\r" in kid or not kid.strip() or kid != kid.strip():
        raise ValueError("a kid written to a PEM file must be one line without outer spaces")
    return f"kid: {kid}\nalg: {alg}\n{pem.strip()}\n"
