"""The coalescer with a stand-in producer: envelopes per partition within the linger, acknowledgements only
after Kafka's delivery report, errors reach every reading of the message, order is kept."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from core.partitioning import partition_for
from producers.coalescing import Coalescer, NotAcknowledged

PARTITIONS = 3


class FakeProducer:
    """Records each send_raw and reports delivery from another thread, like librdkafka's poll thread."""

    def __init__(self, error: str | None = None) -> None:
        self.sent: list[dict] = []
        self.error = error

    def send_raw(self, key: bytes, value: bytes, *, partition: int, records: int, on_delivery) -> None:
        self.sent.append({"key": key, "value": value, "partition": partition, "records": records})
        threading.Timer(0.01, on_delivery, args=(self.error, None)).start()


def _reading(device: str, seq: int) -> tuple[bytes, bytes]:
    return device.encode(), json.dumps({"device_id": device, "seq": seq}).encode()


def _same_partition_devices(n: int) -> list[str]:
    devices = [f"phone-{i}" for i in range(200)]
    first = partition_for(devices[0].encode(), PARTITIONS)
    return [d for d in devices if partition_for(d.encode(), PARTITIONS) == first][:n]


async def test_one_envelope_per_partition_within_the_linger() -> None:
    producer = FakeProducer()
    coalescer = Coalescer(producer, PARTITIONS, linger_ms=50, max_readings=100)
    devices = _same_partition_devices(5)
    await asyncio.gather(*(coalescer.send(*_reading(d, 0)) for d in devices))
    assert len(producer.sent) == 1
    message = producer.sent[0]
    assert message["key"] == devices[0].encode() and message["records"] == 5
    assert message["partition"] == partition_for(devices[0].encode(), PARTITIONS)
    assert [r["device_id"] for r in json.loads(message["value"])] == devices


async def test_devices_of_other_partitions_get_their_own_messages() -> None:
    producer = FakeProducer()
    coalescer = Coalescer(producer, PARTITIONS, linger_ms=30, max_readings=100)
    devices = [f"phone-{i}" for i in range(30)]
    await asyncio.gather(*(coalescer.send(*_reading(d, 0)) for d in devices))
    assert sum(m["records"] for m in producer.sent) == 30
    for message in producer.sent:
        body = json.loads(message["value"])
        for reading in body if isinstance(body, list) else [body]:
            assert partition_for(reading["device_id"].encode(), PARTITIONS) == message["partition"]


async def test_size_limit_flushes_at_once() -> None:
    producer = FakeProducer()
    coalescer = Coalescer(producer, PARTITIONS, linger_ms=10_000, max_readings=4)
    devices = _same_partition_devices(8)
    await asyncio.wait_for(asyncio.gather(*(coalescer.send(*_reading(d, 0)) for d in devices)), timeout=2)
    assert [m["records"] for m in producer.sent] == [4, 4]


async def test_no_linger_is_one_plain_message_per_reading() -> None:
    producer = FakeProducer()
    coalescer = Coalescer(producer, PARTITIONS, linger_ms=0, max_readings=100)
    await coalescer.send(*_reading("phone-1", 0))
    assert producer.sent[0]["records"] == 1 and json.loads(producer.sent[0]["value"])["device_id"] == "phone-1"


async def test_a_refused_message_fails_every_reading_in_it() -> None:
    coalescer = Coalescer(FakeProducer(error="broker down"), PARTITIONS, linger_ms=20, max_readings=100)
    results = await asyncio.gather(
        *(coalescer.send(*_reading(d, 0)) for d in _same_partition_devices(3)), return_exceptions=True
    )
    assert all(isinstance(r, NotAcknowledged) for r in results)


async def test_a_message_the_producer_cannot_queue_fails_its_readings_at_once() -> None:
    producer = FakeProducer()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("local queue closed")

    producer.send_raw = refuse  # type: ignore[method-assign]
    coalescer = Coalescer(producer, PARTITIONS, linger_ms=20, max_readings=100)
    sends = (coalescer.send(*_reading(d, 0)) for d in _same_partition_devices(3))
    results = await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), timeout=2)
    assert all(isinstance(r, NotAcknowledged) and "local queue closed" in str(r) for r in results)


async def test_a_send_waits_for_the_acknowledgement() -> None:
    producer = FakeProducer()
    producer_ack = asyncio.Event()

    def late_ack(key: bytes, value: bytes, *, partition: int, records: int, on_delivery) -> None:
        producer.sent.append({"records": records})
        threading.Timer(0.3, lambda: (on_delivery(None, None), producer_ack.set())).start()

    producer.send_raw = late_ack  # type: ignore[method-assign]
    coalescer = Coalescer(producer, PARTITIONS, linger_ms=0, max_readings=1)
    task = asyncio.create_task(coalescer.send(*_reading("phone-1", 0)))
    await asyncio.sleep(0.15)
    assert producer.sent and not task.done(), "answered before Kafka acknowledged"
    await asyncio.wait_for(task, timeout=2)


async def test_order_of_one_device_is_kept_across_messages() -> None:
    producer = FakeProducer()
    coalescer = Coalescer(producer, PARTITIONS, linger_ms=5, max_readings=2)
    await asyncio.gather(*(coalescer.send(*_reading("phone-1", seq)) for seq in range(40)))
    seqs = []
    for message in producer.sent:
        body = json.loads(message["value"])
        seqs += [r["seq"] for r in (body if isinstance(body, list) else [body])]
    assert seqs == list(range(40)) and len(producer.sent) == 20


@pytest.fixture(autouse=True)
def _no_thread_leak() -> None:
    yield
    for timer in threading.enumerate():
        if isinstance(timer, threading.Timer):
            timer.join(1)
