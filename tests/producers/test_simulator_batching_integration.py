"""`fleetpulse simulate --batch 20` on the real Kafka: every readings message is an array whose readings all
hash (murmur2) to the message's partition, and the same seed gives the same readings and events as an
unbatched run."""

from __future__ import annotations

import re

import pytest

from core.partitioning import Partitioner
from core.settings import Settings
from core.topics import create_topics
from schemas import decode_batch, decode_reading
from tests.conftest import isolated_settings
from tests.harness import RealProcess, consume, free_port

pytestmark = pytest.mark.integration

START = 1_795_000_000_000


def _run(stack: Settings, *extra: str) -> tuple[Settings, list, list]:
    settings = isolated_settings(stack, simulator_failure_rate_per_hour=20.0)
    create_topics(settings)
    run = RealProcess(
        settings,
        "simulate",
        *("--start-ms", str(START), "--devices", "60", "--rounds", "40", "--speedup", "0", "--api-port", "0"),
        *extra,
        log_name=f"sim-batch-{free_port()}",
    )
    run.start()
    assert run.process is not None and run.process.wait(60) == 0, run.log()
    line = re.search(r"acknowledged \d+ \((.*)\), failed 0, unacknowledged 0; (\d+) messages", run.log(400))
    assert line, run.log()
    acked = {topic: int(n) for topic, n in (pair.split("=") for pair in line.group(1).split(", "))}
    events = consume(settings, settings.topic_events, acked[settings.topic_events])
    readings_messages = int(line.group(2)) - acked[settings.topic_events]
    messages = consume(settings, settings.topic_readings, readings_messages)
    return settings, messages, events


def test_batched_run_is_the_unbatched_stream_in_partition_arrays(stack: Settings) -> None:
    _, plain, plain_events = _run(stack)
    settings, batched, batched_events = _run(stack, "--batch", "20")
    partitioner = Partitioner(settings.topic_partitions)

    readings = []
    for message in batched:
        assert message.value().startswith(b"[")  # every message is an envelope
        good, bad = decode_batch(message.value())
        assert bad == [] and 1 <= len(good) <= 20
        assert message.key() == good[0].device_id.encode()
        assert {partitioner(r.device_id.encode()) for r in good} == {message.partition()}
        readings += good
    assert len(batched) < len(readings) / 10  # 60 devices over 3 partitions: ~20 readings a message

    expected = [decode_reading(m.value()) for m in plain]
    for message in plain:  # the unbatched producer (librdkafka murmur2_random) agrees with our partitioner
        assert partitioner(message.key()) == message.partition()
    key = lambda r: (r.device_id, r.seq)  # noqa: E731
    assert sorted(readings, key=key) == sorted(expected, key=key)
    assert len(readings) == len(expected) > 60 * 30
    assert sorted(m.value() for m in batched_events) == sorted(m.value() for m in plain_events)
