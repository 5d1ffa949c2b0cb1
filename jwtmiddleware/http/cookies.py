"""``Set-Cookie`` values for the access, refresh and CSRF cookies, built from the settings.

Defaults are the safe choice: ``Secure``, ``HttpOnly``, ``SameSite=Lax``, ``Path=/``, a
``Max-Age`` matched to the token, and the ``__Host-`` name prefix when the attributes allow it
(``__Secure-`` for the path-scoped refresh cookie). The CSRF cookie is deliberately readable by
scripts: they echo it in the ``X-CSRF-Token`` header (double submit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import CookieTooLarge

if TYPE_CHECKING:
    from ..core.settings import Settings

__all__ = ["MAX_COOKIE_BYTES", "CookiePolicy"]

#: Browsers keep cookies up to 4096 bytes (name, value and attributes together).
MAX_COOKIE_BYTES = 4096


class CookiePolicy:
    """Formats and recognises this deployment's cookies."""

    def __init__(self, settings: Settings) -> None:
        #: Names on the wire (with any ``__Host-``/``__Secure-`` prefix).
        self.access_name = settings.access_cookie_name
        self.refresh_name = settings.cookie_name_for(
            settings.refresh_cookie_name, settings.refresh_cookie_path
        )
        self.csrf_name = settings.cookie_name_for(settings.csrf_cookie_name, "/")
        common = []
        if settings.cookie_domain:
            common.append(f"Domain={settings.cookie_domain}")
        if settings.cookie_secure:
            common.append("Secure")
        common.append(f"SameSite={settings.cookie_samesite}")
        tail = "; ".join(common)
        http_only = "; HttpOnly" if settings.cookie_httponly else ""
        self._access_attrs = f"Path={settings.cookie_path}{http_only}; {tail}"
        self._refresh_attrs = f"Path={settings.refresh_cookie_path}{http_only}; {tail}"
        self._csrf_attrs = f"Path=/; {tail}"

    @staticmethod
    def _cookie(name: str, value: str, max_age: float, attrs: str) -> str:
        header = f"{name}={value}; Max-Age={max(0, int(max_age))}; {attrs}"
        if len(header.encode("latin-1", "replace")) > MAX_COOKIE_BYTES:
            raise CookieTooLarge(name, len(header))
        return header

    def access(self, token: str, max_age: float) -> str:
        """The access-token cookie."""
        return self._cookie(self.access_name, token, max_age, self._access_attrs)

    def refresh(self, token: str, max_age: float) -> str:
        """The refresh-token cookie, sent only to ``REFRESH_COOKIE_PATH``."""
        return self._cookie(self.refresh_name, token, max_age, self._refresh_attrs)

    def csrf(self, value: str, max_age: float) -> str:
        """The script-readable CSRF cookie."""
        return self._cookie(self.csrf_name, value, max_age, self._csrf_attrs)

    def clear(self) -> tuple[str, ...]:
        """``Set-Cookie`` values deleting all three cookies (logout)."""
        return (
            self._cookie(self.access_name, "", 0, self._access_attrs),
            self._cookie(self.refresh_name, "", 0, self._refresh_attrs),
            self._cookie(self.csrf_name, "", 0, self._csrf_attrs),
        )

    def sets_access_cookie(self, set_cookie: str) -> bool:
        """Whether a ``Set-Cookie`` value (from the app) sets or clears the access cookie."""
        return set_cookie.lstrip().startswith(self.access_name + "=")
