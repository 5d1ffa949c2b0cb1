"""Start-up checks of a store: what was found, and how the middleware reports it.

Each store says what it can check (:meth:`Store.check <jwtmiddleware.stores.Store.check>`):
whether it answers at all, and whether it can lose revocations (Redis: an evicting
``maxmemory-policy``, no persistence; SQLite: a file this process cannot write). The middleware
runs the checks once when it is built, under ``STORE_CHECKS``: ``"warn"`` logs them,
``"fail"`` also refuses to start on an error, ``"off"`` skips them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..core.errors import ConfigurationError

if TYPE_CHECKING:
    from .base import Store

__all__ = ["Finding", "Level", "report_checks"]

logger = logging.getLogger("jwtmiddleware")

Level = Literal["info", "warning", "error"]
_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of a check; never holds a password."""

    #: ``"error"``: revocations can be lost or the store cannot be used; ``"warning"``: they
    #: can be lost in some circumstances; ``"info"``: something could not be checked.
    level: Level
    #: The setting to look at (``"STORE"``: the URL and the server behind it).
    setting: str
    #: What was found and how to fix it.
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.setting}: {self.message}"


def report_checks(store: Store, mode: str) -> Sequence[Finding]:
    """Run ``store``'s checks and log each finding at its level.

    :param mode: ``STORE_CHECKS``.
    :raises ConfigurationError: under ``"fail"``, for the first error-level finding.
    """
    if mode == "off":
        return ()
    findings = store.check()
    for finding in findings:
        logger.log(_LOG_LEVELS[finding.level], "store check: %s", finding)
    if mode == "fail":
        for finding in findings:
            if finding.level == "error":
                raise ConfigurationError(
                    finding.setting, f"{finding.message} (STORE_CHECKS = 'fail')"
                )
    return findings
