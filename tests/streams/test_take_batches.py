"""`take_batches` (streams/lean_faust.py) keeps take_events' contract without the stream's per-event
iterator: at most `max_` events a batch, a partial batch after `within`, events tracked when taken and
acked only after the batch's consumer is done, events of an older consumer generation acked and dropped."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import faust
from faust.types.tuples import ConsumerMessage
from mode.utils.queues import FlowControlEvent, ThrowableQueue

from streams.lean_faust import take_batches

TOPIC = "readings"


class FakeConsumer:
    def __init__(self) -> None:
        self.tracked: list[int] = []
        self.acked: list[int] = []

    def track_message(self, message: ConsumerMessage) -> None:
        self.tracked.append(message.offset)

    def ack(self, message: ConsumerMessage) -> bool:
        self.acked.append(message.offset)
        return True


def fake_stream(generation: int = 1) -> SimpleNamespace:
    flow = FlowControlEvent()
    flow.resume()
    app = SimpleNamespace(
        consumer=FakeConsumer(),
        flow_control=flow,
        topics=SimpleNamespace(acking_topics={TOPIC}),
        consumer_generation_id=generation,
    )
    queue: ThrowableQueue = ThrowableQueue(maxsize=100, flow_control=flow)
    channel = SimpleNamespace(queue=queue, on_stop_iteration=lambda: None)
    return SimpleNamespace(app=app, channel=channel, should_stop=False)


def event(stream: SimpleNamespace, offset: int, generation: int = 1) -> faust.Event:
    message = ConsumerMessage(TOPIC, 0, offset, 0.0, 0, None, b"k", b"v", None, generation_id=generation)
    return faust.Event(stream.app, b"k", b"v", None, message)


async def test_a_full_batch_is_taken_at_once_and_acked_after_it_is_processed() -> None:
    stream = fake_stream()
    for offset in range(5):
        stream.channel.queue.put_nowait(event(stream, offset))
    batches = take_batches(stream, max_=3, within=1.0)  # type: ignore[arg-type]
    began = time.monotonic()
    first = await anext(batches)
    assert [e.message.offset for e in first] == [0, 1, 2] and time.monotonic() - began < 0.5  # no wait when full
    assert stream.app.consumer.tracked == [0, 1, 2] and stream.app.consumer.acked == []
    second = await asyncio.wait_for(anext(batches), 5)  # resuming acks the first batch
    assert stream.app.consumer.acked == [0, 1, 2]
    assert [e.message.offset for e in second] == [3, 4]  # partial: `within` passed without a third
    await batches.aclose()
    assert stream.app.consumer.acked == [0, 1, 2, 3, 4]


async def test_a_partial_batch_waits_for_events_arriving_within_the_window() -> None:
    stream = fake_stream()
    stream.channel.queue.put_nowait(event(stream, 0))
    asyncio.get_running_loop().call_later(0.02, stream.channel.queue.put_nowait, event(stream, 1))
    batch = await anext(take_batches(stream, max_=10, within=0.2))  # type: ignore[arg-type]
    assert [e.message.offset for e in batch] == [0, 1]


async def test_events_of_an_older_generation_are_acked_and_dropped() -> None:
    stream = fake_stream(generation=2)
    for offset, generation in ((0, 1), (1, 1), (2, 2)):
        stream.channel.queue.put_nowait(event(stream, offset, generation))
    batch = await anext(take_batches(stream, max_=10, within=0.01))  # type: ignore[arg-type]
    assert [e.message.offset for e in batch] == [2]
    assert stream.app.consumer.acked == [0, 1] and stream.app.consumer.tracked == [2]


async def test_a_batch_stops_at_its_byte_budget() -> None:
    stream = fake_stream()
    for offset in range(5):
        stream.channel.queue.put_nowait(event(stream, offset))  # values of 1 byte
    batch = await anext(take_batches(stream, max_=10, within=1.0, max_bytes=2))  # type: ignore[arg-type]
    assert [e.message.offset for e in batch] == [0, 1]


async def test_a_closed_channel_ends_the_batches() -> None:
    stream = fake_stream()
    stream.channel.queue._throw(StopAsyncIteration())  # what the stream's stop sends its channel
    assert [batch async for batch in take_batches(stream, max_=10, within=0.01)] == []  # type: ignore[arg-type]
