"""The two drivers of :meth:`Authenticator.flow`: the only place sync and async differ.

Each driver runs the generator, answers every effect it yields against the store, and throws
store failures back into the generator so the failure policy is decided once, in the core.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from .errors import StoreUnavailable
from .flow import AuthResult, CheckRevoked, Effect, TouchSession

if TYPE_CHECKING:
    from .stores.base import Store

__all__ = ["run_async", "run_sync"]


def _unavailable(exc: Exception) -> StoreUnavailable:
    if isinstance(exc, StoreUnavailable):
        return exc
    error = StoreUnavailable(f"store raised {type(exc).__name__}")
    error.__cause__ = exc
    return error


def _answer_sync(store: Store, effect: Effect) -> Any:
    if isinstance(effect, CheckRevoked):
        return store.is_revoked(effect.query, now=effect.now)
    if isinstance(effect, TouchSession):
        return store.touch_session(effect.session_id, now=effect.now)
    raise TypeError(f"unknown effect {effect!r}")


async def _answer_async(store: Store, effect: Effect) -> Any:
    if isinstance(effect, CheckRevoked):
        return await store.ais_revoked(effect.query, now=effect.now)
    if isinstance(effect, TouchSession):
        return await store.atouch_session(effect.session_id, now=effect.now)
    raise TypeError(f"unknown effect {effect!r}")


def run_sync(flow: Generator[Effect, Any, AuthResult], store: Store | None) -> AuthResult:
    """Drive ``flow`` to completion, answering effects with the store's sync methods."""
    try:
        effect = next(flow)
        while True:
            if store is None:
                raise StoreUnavailable("no store configured")
            try:
                answer = _answer_sync(store, effect)
            except Exception as exc:  # noqa: BLE001 - every store failure is "unavailable"
                effect = flow.throw(_unavailable(exc))
            else:
                effect = flow.send(answer)
    except StopIteration as stop:
        result: AuthResult = stop.value
        return result


async def run_async(flow: Generator[Effect, Any, AuthResult], store: Store | None) -> AuthResult:
    """Drive ``flow`` to completion, answering effects with the store's async twins."""
    try:
        effect = next(flow)
        while True:
            if store is None:
                raise StoreUnavailable("no store configured")
            try:
                answer = await _answer_async(store, effect)
            except Exception as exc:  # noqa: BLE001 - every store failure is "unavailable"
                effect = flow.throw(_unavailable(exc))
            else:
                effect = flow.send(answer)
    except StopIteration as stop:
        result: AuthResult = stop.value
        return result
