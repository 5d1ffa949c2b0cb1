"""What the key commands share: the bad-input error (exit code 2), JSON output, and the
asymmetric algorithms (and EC curves) keys are generated and published for."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ..core.errors import JWTMiddlewareError
from ..core.keys import SUPPORTED_ALGORITHMS, family

__all__ = ["ASYMMETRIC", "CURVES", "BadInput", "print_json"]

#: The curve of each EC algorithm.
CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
    "ES256K": ec.SECP256K1(),
}
#: The algorithms with key pairs (``keygen`` makes them, ``jwks`` publishes them).
ASYMMETRIC = tuple(a for a in SUPPORTED_ALGORITHMS if family(a) != "oct")


class BadInput(JWTMiddlewareError):
    """Input the CLI cannot work with (exit code 2)."""


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON."""
    print(json.dumps(value, indent=2, sort_keys=False))
