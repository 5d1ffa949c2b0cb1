"""URLs as settings name them: the origins CSRF checks compare, and the URLs keys are fetched
from (``https``, or loopback ``http`` when allowed)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = ["Origin", "check_url", "is_loopback", "parse_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback IP address (``127.0.0.0/8``, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_http_loopback: bool = False, setting: str = "JWKS_URL") -> str:
    """Return ``url`` if keys may be fetched from it, else raise :class:`ConfigurationError`.

    Only ``https`` URLs are accepted; plain ``http`` only when ``allow_http_loopback`` is set
    and the host is a loopback address (tests and local development). URLs with credentials or
    a fragment are refused.
    """
    if not isinstance(url, str) or not url or not url.isprintable() or " " in url:
        raise ConfigurationError(setting, "must be an absolute https URL")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigurationError(setting, f"is not a valid URL: {url!r}") from exc
    if not host:
        raise ConfigurationError(setting, f"has no host: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(setting, "must not contain credentials")
    if parts.fragment:
        raise ConfigurationError(setting, "must not contain a fragment")
    scheme = parts.scheme.lower()
    if scheme == "https":
        return url
    if scheme == "http" and allow_http_loopback and is_loopback(host):
        return url
    if scheme == "http" and is_loopback(host):
        raise ConfigurationError(
            setting, "plain http is refused; for loopback tests pass allow_http_loopback=True"
        )
    raise ConfigurationError(setting, f"must be an https URL (got {scheme or 'no'} scheme)")


#: An origin as compared: ``(scheme, host, port)``, lower case, the default port filled in
#: (``None`` for a scheme without a known default port and no explicit port).
Origin = tuple[str, str, int | None]


def parse_origin(text: str) -> Origin | None:
    """The ``(scheme, host, port)`` of a serialised origin ``scheme://host[:port]``.

    ``None`` when ``text`` is not one: no scheme or host, a path, query, fragment or user
    information, or a port that is not a number from 0 to 65535. The ports 80 (``http``) and
    443 (``https``) are filled in when absent, so ``http://h`` and ``http://h:80`` are equal.
    """
    parts = urlsplit(text.strip())
    if not parts.scheme or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if "@" in parts.netloc or "?" in text or "#" in text:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host:
        return None
    scheme = parts.scheme.lower()
    return scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme)
