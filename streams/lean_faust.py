"""Faust's per-message work the worker does not use, cut (profiled at one reading per message, where Faust's
per-message path costs more than our processing; `python -m bench.worker_profile`).

- `RawSchema`: our topics carry raw bytes and schemas/ decodes them per batch, so an event is made from the
  message's key and value as they are, without the serializer registry's two codec look-ups per message.
- `BatchMonitor`: Faust's Monitor sensor updates about a dozen per-message counters and timestamps (four
  hooks per message) for its own /stats page, which nothing here reads; the worker's figures are its
  Prometheus metrics, counted per batch (streams/metrics.py). Every other Monitor figure (commits, sends,
  tables, rebalances, assignments) is kept.
- `LeanConsumer`: Faust's fetch loop hands each message to its streams with
  `wait_first(callback(message), suspend_flow.wait())`, which makes four tasks and an asyncio.wait per
  message (17 % of the worker's samples at one reading per message) so that a rebalance can interrupt a
  callback blocked on a full stream buffer. The callback almost never blocks, so it is stepped once in
  place; only when it does block does the rest of it go through Faust's own `wait_first`, unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import faust
from faust.sensors import Monitor
from faust.serializers.schemas import DecodeFunction
from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP, AppT, EventT, Message, StreamT
from mode import Service
from mode.services import WaitArgT, WaitResults


class RawSchema(faust.Schema):
    """key and value bytes straight into the event (the topic is raw bytes both ways)."""

    def compile(self, app: AppT, **_: Any) -> DecodeFunction:
        create_event = app.create_event

        async def decode(message: Message, *, propagate: bool = False) -> EventT:
            return create_event(message.key, message.value, message.headers, message)

        return decode


class BatchMonitor(Monitor):
    """Faust's Monitor without its four per-message hooks (see the module docstring)."""

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        return None

    def on_stream_event_in(self, tp: TP, offset: int, stream: StreamT, event: EventT) -> dict | None:
        return None

    def on_stream_event_out(
        self, tp: TP, offset: int, stream: StreamT, event: EventT, state: dict | None = None
    ) -> None:
        return None

    def on_message_out(self, tp: TP, offset: int, message: Message) -> None:
        return None


class SteppedWaitFirst(Service):
    """`wait_first(callback, suspend_flow.wait())` that runs an unblocked callback in place (module docstring)."""

    suspend_flow: asyncio.Event

    async def wait_first(self, *coros: WaitArgT, timeout: float | None = None) -> WaitResults:  # noqa: ASYNC109
        if not self._steppable(coros, timeout):
            return await super().wait_first(*coros, timeout=timeout)
        callback, suspended = coros
        try:
            waiting_on = callback.send(None)  # type: ignore[union-attr]
        except StopIteration as done:  # the common case: delivered without waiting
            suspended.close()  # type: ignore[union-attr]
            return WaitResults([callback], [done.value], False)
        # It waits (a full buffer, suspended flow): race the rest of it against suspension as Faust does.
        return await super().wait_first(_resumed(callback, waiting_on), suspended)  # type: ignore[arg-type]

    def _steppable(self, coros: tuple[WaitArgT, ...], timeout: float | None) -> bool:
        """The fetch loop's call (a message callback and the suspend-flow wait), while nothing is stopping."""
        return (
            timeout is None
            and len(coros) == 2
            and all(asyncio.iscoroutine(c) for c in coros)
            and not (self.suspend_flow.is_set() or self._stopped.is_set() or self._crashed.is_set())
        )


class LeanConsumer(SteppedWaitFirst, Consumer):
    """Faust's aiokafka consumer with the stepped per-message `wait_first`."""


async def _resumed(coro: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    """The rest of a coroutine stepped by hand once, driven as its own task would drive it: await what it
    waits on, then resume it (or throw the failure, a cancellation included, in where it waits)."""
    while True:
        try:
            if waiting_on is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                waiting_on._asyncio_future_blocking = False  # received, as a task does before waiting on it
                await waiting_on
        except BaseException as error:  # delivered to the coroutine, which decides
            try:
                waiting_on = coro.throw(error)
            except StopIteration as done:
                return done.value
            continue
        try:
            waiting_on = coro.send(None)
        except StopIteration as done:
            return done.value
