"""This process's mirrors: by the store each one mirrors, so that a write made here reaches them
at once (:func:`publish_local`), and all of them, to reset in a child after ``fork()``."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING

from ._changes import Change

if TYPE_CHECKING:
    from .mirror import Mirror

__all__ = ["publish_local", "register_mirror"]

# Every mirror of this process, by the identity of the store it mirrors.
_by_identity: dict[Hashable, weakref.WeakSet[Mirror]] = {}
_registry_lock = threading.Lock()
_all_mirrors: weakref.WeakSet[Mirror] = weakref.WeakSet()


def register_mirror(mirror: Mirror, identity: Hashable) -> None:
    """Count a new mirror among this process's mirrors and, unless ``identity`` is ``None``,
    among the mirrors of the store it names."""
    _all_mirrors.add(mirror)
    if identity is not None:
        with _registry_lock:
            _by_identity.setdefault(identity, weakref.WeakSet()).add(mirror)


def publish_local(identity: Hashable, changes: Iterable[Change], now: float) -> None:
    """Apply ``changes`` (just written to the store named ``identity``) to every mirror of it in
    this process, so a revocation takes effect here at once."""
    mirrors = _by_identity.get(identity)
    if not mirrors:
        return
    batch = list(changes)
    for mirror in list(mirrors):
        mirror.apply(batch, now)


def _after_fork_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    for mirror in list(_all_mirrors):
        mirror._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
