"""Readings from many devices, coalesced per partition into batch envelopes within a short, bounded linger.

A server that receives one reading per request (phone ingestion) would otherwise put one reading per Kafka
message, and the worker's per-message cost would dominate (the envelope path is several times faster). Each
reading waits at most `linger_ms` for others of its partition; the envelope follows the rule of
schemas/readings.py (one partition, keyed by its first reading's device_id), so per-device order and
co-partitioning are those of one message per reading. A caller's `send` returns only once Kafka has
acknowledged the message that carries its reading, so an HTTP 200 still means stored.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message

from core.kafka.producer import DeliveryCallback
from core.partitioning import Partitioner
from producers.kafka_producer import ReadingProducer


class NotAcknowledged(RuntimeError):
    """Kafka refused (or timed out) the message that carried the reading."""


@dataclass
class _Pending:
    key: bytes  # the first reading's: the envelope's message key
    values: list[bytes] = field(default_factory=list)
    acks: list[asyncio.Future[None]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class Coalescer:
    def __init__(self, producer: ReadingProducer, partitions: int, linger_ms: float, max_readings: int) -> None:
        """linger_ms 0 or max_readings 1: every reading is its own message, as without coalescing."""
        self.producer, self.linger_s, self.max_readings = producer, linger_ms / 1000, max_readings
        self.partitioner = Partitioner(partitions)
        self._pending: dict[int, _Pending] = {}
        self._timers: set[asyncio.Task[None]] = set()  # the event loop keeps only weak references to tasks
        # one sending thread: messages reach the producer in the order they were flushed (per-device order),
        # and a full local queue blocks that thread, not the event loop
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coalescer")

    async def send(self, key: bytes, value: bytes) -> None:
        """Queue one encoded, validated reading of device `key`; return when Kafka acknowledged it."""
        await self.send_many([(key, value)])

    async def send_many(self, readings: list[tuple[bytes, bytes]]) -> None:
        """Queue (device key, encoded validated reading) pairs in order; return when Kafka acknowledged them
        all (raises NotAcknowledged if any was refused)."""
        loop = asyncio.get_running_loop()
        acks: list[asyncio.Future[None]] = []
        for key, value in readings:
            acked: asyncio.Future[None] = loop.create_future()
            acks.append(acked)
            partition = self.partitioner(key)
            pending = self._pending.setdefault(partition, _Pending(key))
            pending.values.append(value)
            pending.acks.append(acked)
            if len(pending.values) >= self.max_readings or self.linger_s <= 0:
                await self._flush(partition)
            elif pending.timer is None:
                pending.timer = loop.call_later(self.linger_s, self._flush_later, partition)
        # every future is awaited (no "exception never retrieved"), the first failure is raised
        outcomes = await asyncio.gather(*acks, return_exceptions=True)
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:
            raise failed

    def _flush_later(self, partition: int) -> None:
        task = asyncio.get_running_loop().create_task(self._flush(partition))
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def flush_all(self) -> None:
        for partition in list(self._pending):
            await self._flush(partition)

    async def _flush(self, partition: int) -> None:
        pending = self._pending.pop(partition, None)
        if pending is None:
            return  # the size limit flushed it before its timer fired
        if pending.timer is not None:
            pending.timer.cancel()
        value = pending.values[0] if len(pending.values) == 1 else b"[" + b",".join(pending.values) + b"]"
        settle = _settler(asyncio.get_running_loop(), pending.acks)
        records = len(pending.values)
        send = self.producer.send_raw
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._sender, lambda: send(pending.key, value, partition=partition, records=records, on_delivery=settle)
            )
        except Exception as error:  # not even queued: every reading of the message hears it now, not at a timeout
            for acked in pending.acks:
                if not acked.done():
                    acked.set_exception(NotAcknowledged(f"not produced: {error}"))


def _settler(loop: asyncio.AbstractEventLoop, acks: list[asyncio.Future[None]]) -> DeliveryCallback:
    """A delivery callback (run in the producer's poll thread) that settles every future of one message."""

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        def settle() -> None:
            for acked in acks:
                if acked.done():
                    continue
                if error is None:
                    acked.set_result(None)
                else:
                    acked.set_exception(NotAcknowledged(str(error)))

        loop.call_soon_threadsafe(settle)

    return on_delivery
