"""Key commands of the CLI: ``keygen``, ``jwks`` and ``inspect``.

Exit codes: 0 success, 1 a token that does not verify, 2 bad input (missing file, unsupported
algorithm, malformed token, bad settings).

Each command is one module of this package, with its arguments: ``_keygen``, ``_jwks`` and
``_inspect``; what they share (:class:`BadInput`, JSON output) is in ``_common``.
"""

from __future__ import annotations

from typing import Any

from ._common import BadInput
from ._inspect import add_inspect
from ._jwks import add_jwks
from ._keygen import add_keygen

__all__ = ["BadInput", "add_key_commands"]


def add_key_commands(sub: Any) -> None:
    """Register ``keygen``, ``jwks`` and ``inspect`` on the CLI's subparsers."""
    add_keygen(sub)
    add_jwks(sub)
    add_inspect(sub)
