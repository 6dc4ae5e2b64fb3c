"""The simulator at fleet scale vs raw confluent-kafka, side by side in one run.

Target: 100k simulated devices at a 5 s cadence = 20k readings/s from one process into local Kafka.
Side 1 (raw): confluent-kafka producing pre-serialized readings (same producer config: idempotent,
acks=all, lz4, linger 20 ms), no per-message callback. Side 2 (ours): the full simulator path, each
round stepped (state machines + physics), validated, encoded and produced with delivery callbacks.
Side 3 (ours, batched): the same simulator path with `--batch 20` (batch envelope arrays of up to 20
readings per murmur2 partition), counted in readings; it also prints readings per message.
All run unpaced (as fast as possible) for a bounded time and include the final flush; the ratios are
ours / raw. `FLEETPULSE_BENCH_SECONDS` (default 20) bounds each side.
"""

from __future__ import annotations

import os
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from core.kafka.config import confluent_config
from core.partitioning import Partitioner
from core.settings import Settings
from core.topics import create_topics
from producers.commands import produce_round
from producers.fleet import Fleet, to_readings
from producers.kafka_producer import ReadingProducer
from schemas import encode

DEVICES, CADENCE_S = 100_000, 5.0
TARGET_PER_S = DEVICES / CADENCE_S
START = 1_795_000_000_000
BATCH = 20


def _raw(settings: Settings, payloads: list[tuple[bytes, bytes]], seconds: float) -> tuple[int, float]:
    producer = Producer(
        confluent_config(
            settings,
            **{
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 20,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 100_000,
            },
        )
    )
    sent, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        for key, value in payloads:
            while True:
                try:
                    producer.produce(settings.topic_readings, value=value, key=key)
                    break
                except BufferError:
                    producer.poll(0.05)
            producer.poll(0)
        sent += len(payloads)
    assert producer.flush(60) == 0
    return sent, time.perf_counter() - began


def _ours(settings: Settings, seconds: float, batch: int = 1) -> tuple[int, float, int, int]:
    fleet = Fleet(size=DEVICES, seed=1, cadence_ms=int(CADENCE_S * 1000))
    producer = ReadingProducer(settings, stage="bench")
    partitioner = Partitioner(producer.partition_count()) if batch > 1 else None
    fleet.start(START)
    fleet.take_events()
    began, tick = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        produce_round(fleet, producer, START + tick * fleet.cadence_ms, partitioner, batch)
        tick += 1
    assert producer.flush(60) == 0 and producer.failed == 0
    readings = producer.acknowledged_by_topic.get(settings.topic_readings, 0)
    events = producer.acknowledged_by_topic.get(settings.topic_events, 0)
    return readings, time.perf_counter() - began, tick, producer.acknowledged_messages - events


def main() -> None:
    seconds = float(os.environ.get("FLEETPULSE_BENCH_SECONDS", "20"))
    tag = uuid.uuid4().hex[:8]
    base = Settings()
    raw_settings = base.model_copy(update={"topic_readings": f"bench-{tag}.raw"})
    ours_settings = base.model_copy(
        update={"topic_readings": f"bench-{tag}.readings", "topic_events": f"bench-{tag}.events"}
    )
    create_topics(raw_settings, [raw_settings.topic_readings])
    batched_settings = base.model_copy(
        update={"topic_readings": f"bench-{tag}.batched", "topic_events": f"bench-{tag}.batched-events"}
    )
    create_topics(ours_settings, [ours_settings.topic_readings, ours_settings.topic_events])
    create_topics(batched_settings, [batched_settings.topic_readings, batched_settings.topic_events])

    fleet = Fleet(size=DEVICES, seed=1)
    payloads = [(r.device_id.encode(), encode(r)) for r in to_readings(fleet, fleet.step(START))]
    try:
        raw_n, raw_s = _raw(raw_settings, payloads, seconds)
        ours_n, ours_s, rounds, _ = _ours(ours_settings, seconds)
        batched_n, batched_s, batched_rounds, messages = _ours(batched_settings, seconds, BATCH)
    finally:  # millions of records: don't leave them on a shared broker
        topics = [raw_settings.topic_readings, ours_settings.topic_readings, ours_settings.topic_events]
        topics += [batched_settings.topic_readings, batched_settings.topic_events]
        admin = AdminClient(confluent_config(base))  # kept referenced: a destroyed handle fails its futures
        for future in admin.delete_topics(topics).values():
            future.result(30)
    raw_rate, ours_rate, batched_rate = raw_n / raw_s, ours_n / ours_s, batched_n / batched_s
    print(f"producers bench: {DEVICES} devices, {CADENCE_S:g} s cadence, target {TARGET_PER_S:,.0f} readings/s")
    print(f"  raw confluent-kafka, pre-serialized: {raw_n:>9,} in {raw_s:5.1f} s = {raw_rate:>9,.0f}/s")
    print(
        f"  simulator (step+validate+encode+produce): {ours_n:>9,} in {ours_s:5.1f} s = {ours_rate:>9,.0f}/s"
        f" ({rounds} rounds)"
    )
    print(
        f"  ratio simulator/raw = {ours_rate / raw_rate:.2f}; simulator/target = {ours_rate / TARGET_PER_S:.2f}"
        f" ({'sustains' if ours_rate >= TARGET_PER_S else 'does NOT sustain'} 100k devices at 5 s)"
    )
    print(
        f"  simulator --batch {BATCH} (envelopes per partition): {batched_n:>9,} in {batched_s:5.1f} s"
        f" = {batched_rate:>9,.0f}/s ({batched_rounds} rounds, {batched_n / max(messages, 1):.1f} readings/message)"
    )
    print(
        f"  ratio batched/raw = {batched_rate / raw_rate:.2f}; batched/unbatched = {batched_rate / ours_rate:.2f};"
        f" batched/target = {batched_rate / TARGET_PER_S:.2f}"
    )


if __name__ == "__main__":
    main()
