"""``IdentityDep`` and ``OptionalIdentityDep``: the caller as a FastAPI parameter annotation.

Built from :func:`~starlette_jwtmiddleware.requires`; importing this module imports FastAPI.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from jwtmiddleware import Identity

from ._requires import requires

__all__ = ["IdentityDep", "OptionalIdentityDep"]

#: The authenticated caller (401 for anonymous callers): ``def me(identity: IdentityDep)``.
IdentityDep = Annotated[Identity, Depends(requires())]
#: The caller, or ``None`` without a token (on optional or exempt paths).
OptionalIdentityDep = Annotated[Identity | None, Depends(requires(optional=True))]
