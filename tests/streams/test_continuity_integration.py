"""Offsets Faust never delivers are still applied: on the real local Kafka, the worker's consumer group is
moved past 200 readings it never saw (what Faust does when it commits past messages dropped from its
buffers across a rebalance, faust-streaming#312); the restarted worker reads them back and applies them."""

from __future__ import annotations

import signal
import uuid

import pytest
import requests
from confluent_kafka import Consumer, TopicPartition

from fleetpulse.kafka_config import confluent_config
from fleetpulse.settings import Settings
from fleetpulse.topics import create_topics
from schemas import Reading, encode
from tests.conftest import isolated_settings
from tests.harness import produce_raw, start_worker, wait_for, wait_worker_ready

pytestmark = pytest.mark.integration

DEVICES = 20
T0 = 1_795_000_020_000


def _round(round_: int) -> list[tuple[bytes | None, bytes]]:
    records: list[tuple[bytes | None, bytes]] = []
    for d in range(DEVICES):
        device_id = f"dev-{d:03d}"
        reading = Reading(
            device_id=device_id,
            device_type="raspberry_pi",
            ts=T0 + round_ * 5_000,
            seq=round_,
            temperature_c=50.0 + d % 7,
        )
        records.append((device_id.encode(), encode(reading)))
    return records


def _counts(settings: Settings) -> dict[str, int | None]:
    counts: dict[str, int | None] = {}
    for d in range(DEVICES):
        response = requests.get(f"http://127.0.0.1:{settings.worker_web_port}/devices/dev-{d:03d}/", timeout=5)
        counts[f"dev-{d:03d}"] = response.json().get("readings") if response.ok else None
    return counts


def _ends(settings: Settings) -> list[TopicPartition]:
    consumer = Consumer(confluent_config(settings, **{"group.id": f"ends-{uuid.uuid4().hex[:6]}", "log_level": 0}))
    try:
        ends = []
        for p in range(settings.topic_partitions):
            _, high = consumer.get_watermark_offsets(TopicPartition(settings.topic_readings, p), timeout=10)
            ends.append(TopicPartition(settings.topic_readings, p, high))
        return ends
    finally:
        consumer.close()


def _commit_for_worker_group(settings: Settings, offsets: list[TopicPartition]) -> None:
    committer = Consumer(
        confluent_config(settings, **{"group.id": settings.worker_app_id, "enable.auto.commit": False, "log_level": 0})
    )
    try:
        committer.commit(offsets=offsets, asynchronous=False)
    finally:
        committer.close()


def test_readings_past_a_committed_offset_the_worker_never_saw_are_read_back(stack: Settings) -> None:
    settings = isolated_settings(stack)
    create_topics(settings)
    worker = start_worker(settings, "first")
    try:
        wait_worker_ready(settings, worker)
        produce_raw(settings, settings.topic_readings, [r for k in range(10) for r in _round(k)])
        wait_for(lambda: set(_counts(settings).values()) == {10}, 60, "10 readings per device applied")
        worker.stop(signal.SIGTERM)

        # 10 rounds the worker never sees, then the group's offsets move past them, then 10 more rounds
        produce_raw(settings, settings.topic_readings, [r for k in range(10, 20) for r in _round(k)])
        skipped_to = _ends(settings)
        produce_raw(settings, settings.topic_readings, [r for k in range(20, 30) for r in _round(k)])
        _commit_for_worker_group(settings, skipped_to)

        worker = start_worker(settings, "second")
        wait_worker_ready(settings, worker)
        wait_for(lambda: set(_counts(settings).values()) == {30}, 60, "every reading applied, the skipped ones too")
        metrics = requests.get(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics", timeout=5).text
        assert f"fleetpulse_worker_skipped_records_read_back_total {10 * DEVICES}.0" in metrics.splitlines()
    finally:
        worker.stop()
