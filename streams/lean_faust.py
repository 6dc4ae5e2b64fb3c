"""Faust's per-message work the worker does not use, cut (profiled at one reading per message, where Faust's
per-message path costs more than our processing; `python -m bench.worker_profile`).

- `RawSchema`: our topics carry raw bytes and schemas/ decodes them per batch, so an event is made from the
  message's key and value as they are, without the serializer registry's two codec look-ups per message
  (and with the event class looked up once, not in the settings per message).
- `BatchMonitor`: Faust's Monitor sensor updates about a dozen per-message counters and timestamps (four
  hooks per message) for its own /stats page, which nothing here reads; the worker's figures are its
  Prometheus metrics, counted per batch (streams/metrics.py). Every other Monitor figure (commits, sends,
  tables, rebalances, assignments) is kept.
- `LeanConsumer`: Faust's fetch loop hands each message to its streams with
  `wait_first(callback(message), suspend_flow.wait())`, which makes four tasks and an asyncio.wait per
  message (17 % of the worker's samples at one reading per message) so that a rebalance can interrupt a
  callback blocked on a full stream buffer. The callback almost never blocks, so it is stepped once in
  place; only when it does block does the rest of it go through Faust's own `wait_first`, unchanged.
- `LeanConsumerThread`: Faust builds its aiokafka consumer with `fetch_max_wait_ms=1500`. aiokafka keeps one
  fetch request in flight per broker, and while the readings' partitions still hold fetched records that
  request asks only for the quiet ones (events, priors), so the broker holds it the full 1.5 s and the
  readings wait behind it: at 2k readings/s, batches came 1-1.5 s apart with the worker idle, and
  produce->score p50 was 1.7 s. A short wait only costs an idle worker a few more empty fetches a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import faust
from faust.sensors import Monitor
from faust.serializers.schemas import DecodeFunction
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer, Transport
from faust.types import TP, AppT, EventT, Message, StreamT
from mode import Service
from mode.services import WaitArgT, WaitResults

# How long the broker may hold a fetch that finds no new data (module docstring), milliseconds.
FETCH_MAX_WAIT_MS = 100


class RawSchema(faust.Schema):
    """key and value bytes straight into the event (the topic is raw bytes both ways)."""

    def compile(self, app: AppT, **_: Any) -> DecodeFunction:
        # app.create_event looks the class up in the settings (a tracked attribute read) on every message
        event_cls = app.conf.Event

        async def decode(message: Message, *, propagate: bool = False) -> EventT:
            return event_cls(app, message.key, message.value, message.headers, message)

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


class LeanConsumerThread(AIOKafkaConsumerThread):
    """Faust's consumer thread, its aiokafka consumer with a short fetch wait (module docstring)."""

    def _create_worker_consumer(self, transport: Transport) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by the fetcher the consumer makes on start
        return consumer


class LeanConsumer(SteppedWaitFirst, Consumer):
    """Faust's aiokafka consumer with the stepped per-message `wait_first` and a short fetch wait."""

    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return LeanConsumerThread(self, loop=self.loop, beacon=self.beacon)


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


async def take_batches(
    stream: StreamT, max_: int, within: float, max_bytes: int | None = None
) -> AsyncIterator[list[EventT]]:
    """`stream.take_events(max_, within)` without the stream's per-event iterator (module docstring): up to
    `max_` events and (past the first) `max_bytes` of message values, waiting at most `within` seconds
    after the first for the batch to fill; the batch's events are acked once the consumer of the batch
    returns control (as take_events acks them)."""
    app, channel = stream.app, stream.channel
    queue = channel.queue  # type: ignore[attr-defined]
    consumer, flow_control = app.consumer, app.flow_control
    acking_topics = app.topics.acking_topics
    loop = asyncio.get_running_loop()
    budget = max_bytes if max_bytes is not None else float("inf")
    try:
        while not stream.should_stop:
            batch: list[EventT] = []
            skipped: list[EventT] = []
            try:
                first = await queue.get()
            except StopAsyncIteration:  # the channel was closed (the stream stops): as Faust's iterator ends
                return
            deadline = loop.time() + within
            size = _add(first, batch, skipped, app, flow_control, consumer, acking_topics)
            while len(batch) < max_ and size < budget:
                while len(batch) < max_ and size < budget and not queue.empty():
                    size += _add(queue.get_nowait(), batch, skipped, app, flow_control, consumer, acking_topics)
                remaining = deadline - loop.time()
                if len(batch) >= max_ or size >= budget or remaining <= 0:
                    break
                await asyncio.sleep(min(remaining, _FILL_STEP_S))  # the fetcher fills the queue meanwhile
            for event in skipped:
                event.ack()
            if batch:
                try:
                    yield batch
                finally:
                    for event in batch:
                        event.ack()
    finally:
        channel.on_stop_iteration()  # type: ignore[attr-defined]


_FILL_STEP_S = 0.005  # how often a filling batch looks at the queue: a full one is taken within this


def _add(item: Any, batch: list, skipped: list, app: AppT, flow_control: Any, consumer: Any, acking: Any) -> int:
    """One queue item into the batch, by the rules of Faust's stream iterator (streams.Stream._py_aiter);
    the bytes of value it added."""
    if not isinstance(item, faust.Event):
        return 0  # not an event (nothing else is sent on a topic channel)
    message = item.message
    if not flow_control.is_active() or message.generation_id != app.consumer_generation_id:
        skipped.append(item)  # fetched before a rebalance: acked, never processed (its offsets are redone)
        return 0
    if message.topic in acking and not message.tracked:
        message.tracked = True
        consumer.track_message(message)
    batch.append(item)
    return len(message.value or b"")
