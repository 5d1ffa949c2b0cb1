"""The exceptions jwtmiddleware raises: the public home of :mod:`jwtmiddleware.core.errors`.

See that module for the tree. Import them from here or from :mod:`jwtmiddleware`.
"""

from __future__ import annotations

from .core.errors import *  # noqa: F403 - the public re-export of every exception
from .core.errors import __all__ as __all__
