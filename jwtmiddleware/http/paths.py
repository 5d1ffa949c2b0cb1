"""Path rules: which requests need a token (``EXEMPT_PATHS``, ``OPTIONAL_PATHS``,
``ONE_TIME_PATHS``, ``REQUIRED``), compiled once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.settings import Settings

__all__ = ["EXEMPT", "ONE_TIME", "OPTIONAL", "REQUIRED", "PathRules"]

EXEMPT, OPTIONAL, REQUIRED, ONE_TIME = "exempt", "optional", "required", "one-time"


def _compile(paths: Sequence[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    exact = frozenset(p for p in paths if not p.endswith("*"))
    prefixes = tuple(p.rstrip("*") for p in paths if p.endswith("*"))
    return exact, prefixes


class PathRules:
    """``EXEMPT_PATHS``, ``OPTIONAL_PATHS`` and ``ONE_TIME_PATHS`` compiled once."""

    __slots__ = ("_default", "_rules", "has_rules")

    def __init__(self, settings: Settings) -> None:
        rules: list[tuple[str, str, frozenset[str], tuple[str, ...]]] = []
        for pair in settings.one_time_paths:
            rules.append((ONE_TIME, pair[1], *_compile([pair[0]])))
        rules.append((EXEMPT, "", *_compile(settings.exempt_paths)))
        rules.append((OPTIONAL, "", *_compile(settings.optional_paths)))
        self._rules = tuple(r for r in rules if r[2] or r[3])
        self._default = REQUIRED if settings.required else OPTIONAL
        #: Whether any path has a rule other than the default.
        self.has_rules = bool(self._rules)

    def rule(self, path: str) -> str:
        """``exempt``, ``optional``, ``required`` or ``one-time`` for a request path."""
        return self.match(path)[0]

    def match(self, path: str) -> tuple[str, str]:
        """The rule and, for one-time paths, the purpose."""
        # A dot-segment could make a prefix rule match a path the router resolves elsewhere;
        # such paths never get a prefix rule.
        plain = "/." not in path and "\\" not in path
        for rule, purpose, exact, prefixes in self._rules:
            if path in exact or (plain and prefixes and path.startswith(prefixes)):
                return rule, purpose
        return self._default, ""
