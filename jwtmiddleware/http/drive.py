"""The two drivers of the core's flows: the only place sync and async differ.

Each driver runs a flow generator to completion, answers every effect it yields, and throws
store failures back into the generator so policies (fail closed or open) are decided once, in
the core. Effects that need the request body are answered by the I/O layer's ``read_form``.
With a :class:`~jwtmiddleware.telemetry.Telemetry`, every store call is timed (by store
method) and its failures counted: the middleware's per-request checks and the session
manager's flows alike.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from ..core.effects import Effect, FetchKeys, Notify, ReadForm, Sleep, StoreCall
from ..core.errors import StoreUnavailable
from ..telemetry.events import acall_hook, call_hook

if TYPE_CHECKING:
    from ..stores.base import Store
    from ..telemetry import Telemetry

__all__ = ["run_async", "run_sync"]

T = TypeVar("T")
Flow = Generator[Effect, Any, T]
_perf = time.perf_counter


def _fetch_failed(exc: Exception) -> Exception:
    from ..keysets import KeyFetchError

    if isinstance(exc, KeyFetchError):
        return exc
    error = KeyFetchError(f"{type(exc).__name__} while fetching keys")
    error.__cause__ = exc
    return error


def _unavailable(exc: Exception) -> StoreUnavailable:
    if isinstance(exc, StoreUnavailable):
        return exc
    error = StoreUnavailable(f"store raised {type(exc).__name__}")
    error.__cause__ = exc
    return error


def run_sync(
    flow: Flow[T],
    store: Store | None,
    read_form: Callable[[ReadForm], str | None] | None = None,
    *,
    first: Effect | None = None,
    telemetry: Telemetry | None = None,
) -> T:
    """Drive ``flow`` to completion with the store's sync methods.

    :param first: the effect the flow already yielded, when the caller started it.
    :param telemetry: where store calls are timed and their failures counted.
    """
    try:
        effect = next(flow) if first is None else first
        while True:
            if isinstance(effect, StoreCall):
                started = _perf()
                try:
                    if store is None:
                        raise StoreUnavailable("no store configured")
                    answer = getattr(store, effect.method)(*effect.args, **effect.kwargs)
                except Exception as exc:  # noqa: BLE001 - every store failure is "unavailable"
                    if telemetry is not None:
                        telemetry.store_call(effect.method, _perf() - started, ok=False)
                    effect = flow.throw(_unavailable(exc))
                    continue
                if telemetry is not None:
                    telemetry.store_call(effect.method, _perf() - started, ok=True)
            elif isinstance(effect, FetchKeys):
                from ..keysets import fetch_sync

                try:
                    answer = fetch_sync(effect.request)
                except Exception as exc:  # noqa: BLE001 - every fetch failure is reported back
                    effect = flow.throw(_fetch_failed(exc))
                    continue
            elif isinstance(effect, Sleep):
                time.sleep(effect.seconds)
                answer = None
            elif isinstance(effect, Notify):
                call_hook(effect.hook, effect.event)
                answer = None
            else:
                answer = read_form(effect) if read_form is not None else None
            effect = flow.send(answer)
    except StopIteration as stop:
        result: T = stop.value
        return result


async def run_async(
    flow: Flow[T],
    store: Store | None,
    read_form: Callable[[ReadForm], Awaitable[str | None]] | None = None,
    *,
    first: Effect | None = None,
    telemetry: Telemetry | None = None,
) -> T:
    """Drive ``flow`` to completion with the store's async twins.

    :param first: the effect the flow already yielded, when the caller started it.
    :param telemetry: where store calls are timed and their failures counted.
    """
    try:
        effect = next(flow) if first is None else first
        while True:
            if isinstance(effect, StoreCall):
                started = _perf()
                try:
                    if store is None:
                        raise StoreUnavailable("no store configured")
                    method = getattr(store, "a" + effect.method)
                    answer = await method(*effect.args, **effect.kwargs)
                except Exception as exc:  # noqa: BLE001 - every store failure is "unavailable"
                    if telemetry is not None:
                        telemetry.store_call(effect.method, _perf() - started, ok=False)
                    effect = flow.throw(_unavailable(exc))
                    continue
                if telemetry is not None:
                    telemetry.store_call(effect.method, _perf() - started, ok=True)
            elif isinstance(effect, FetchKeys):
                from ..keysets import fetch_async

                try:
                    answer = await fetch_async(effect.request)
                except Exception as exc:  # noqa: BLE001 - every fetch failure is reported back
                    effect = flow.throw(_fetch_failed(exc))
                    continue
            elif isinstance(effect, Sleep):
                await anyio.sleep(effect.seconds)
                answer = None
            elif isinstance(effect, Notify):
                await acall_hook(effect.hook, effect.event)
                answer = None
            else:
                answer = await read_form(effect) if read_form is not None else None
            effect = flow.send(answer)
    except StopIteration as stop:
        result: T = stop.value
        return result
