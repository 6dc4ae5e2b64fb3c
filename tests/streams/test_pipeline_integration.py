"""The walking skeleton end to end on real servers: simulator → Kafka → Faust worker → Kafka →
Kafka Connect → DynamoDB (dynoxide), with Prometheus scraping the worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from connectors import rest
from connectors.desired import desired
from connectors.tables import create_table, dynamodb_client
from core.kafka.config import confluent_config
from core.settings import Settings
from core.topics import create_topics
from schemas import DeadLetter, decode_reading
from streams.model.detector import MODEL_NAME
from streams.model.service import ModelService
from tests.conftest import isolated_settings
from tests.harness import (
    RealProcess,
    consume,
    produce_raw,
    prometheus_query,
    start_worker,
    wait_for,
    wait_worker_ready,
)

pytestmark = pytest.mark.integration

DEVICES, ROUNDS = 8, 25
K = DEVICES * ROUNDS
# Recent (the readings table has a TTL) and fixed for the module, so a rerun produces the same readings.
START_MS = (int(time.time()) // 3600 - 1) * 3_600_000


def _connectors(settings: Settings) -> dict[str, dict[str, str]]:
    """The readings and scores sinks, named and pointed at this module's topics and tables."""
    return desired(settings, name_prefix=f"{settings.worker_app_id}-", kinds=("readings", "scores"))


@pytest.fixture(scope="module")
def pipeline(stack: Settings) -> Iterator[tuple[Settings, RealProcess]]:
    settings = isolated_settings(stack, storage_policy="everything")  # keep everything: every reading and score
    create_topics(settings)
    client = dynamodb_client(settings)
    for table in (settings.table_readings, settings.table_scores):
        create_table(client, table)
    for name, config in _connectors(settings).items():
        rest.apply_config(settings.connect_url, name, config)
    worker = start_worker(settings)
    wait_worker_ready(settings, worker)
    yield settings, worker
    worker.stop()
    for name in _connectors(settings):
        rest.delete(settings.connect_url, name)


def _count(settings: Settings, table: str) -> int:
    return dynamodb_client(settings).scan(TableName=table, Select="COUNT")["Count"]


def _sink_lag(settings: Settings, name: str, topic: str) -> int:
    """Records the sink connector has not yet committed (its consumer group is connect-<name>)."""
    admin = AdminClient(confluent_config(settings, log_level=0))
    partitions = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
    future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(f"connect-{name}", partitions)])
    committed = {tp.partition: tp.offset for tp in next(iter(future.values())).result().topic_partitions}
    consumer = Consumer(confluent_config(settings, **{"group.id": "lag-probe", "log_level": 0}))
    try:
        lag = 0
        for tp in partitions:
            _, high = consumer.get_watermark_offsets(tp, timeout=10)
            lag += high - max(committed.get(tp.partition, 0), 0)
        return lag
    finally:
        consumer.close()


def _simulate(settings: Settings) -> None:
    run = RealProcess(
        settings,
        "simulate",
        "--devices",
        str(DEVICES),
        "--rounds",
        str(ROUNDS),
        "--start-ms",
        str(START_MS),
        "--speedup",
        "0",
        log_name=f"{settings.worker_app_id}-sim",
    )
    run.start()
    assert run.process is not None
    assert run.process.wait(120) == 0, run.log()


@pytest.fixture(scope="module")
def simulated(pipeline: tuple[Settings, RealProcess]) -> int:
    settings, _ = pipeline
    _simulate(settings)
    for table in (settings.table_readings, settings.table_scores):
        wait_for(lambda t=table: _count(settings, t) >= K, 120, f"{K} items in {table}")
    return K


def test_every_reading_and_score_lands_once_with_typed_numbers(pipeline: Any, simulated: int) -> None:
    settings, _ = pipeline
    assert _count(settings, settings.table_readings) == simulated
    assert _count(settings, settings.table_scores) == simulated
    client = dynamodb_client(settings)
    key = {"device_id": {"S": "sim-pc-00000"}, "ts": {"N": str(START_MS)}}
    reading = client.get_item(TableName=settings.table_readings, Key=key)["Item"]
    for attribute in ("temperature_c", "power_w", "load_pct", "voltage_v", "clock_ghz", "seq", "ts"):
        assert set(reading[attribute]) == {"N"}, f"{attribute} stored as {reading[attribute]}"
    score = client.get_item(TableName=settings.table_scores, Key=key)["Item"]
    assert set(score["score"]) == {"N"} and 0 <= float(score["score"]["N"]) <= 1
    assert score["model"] == {"S": MODEL_NAME}  # the worker scores with the River model by default
    assert score["warming_up"] == {"BOOL": True}  # the device's first reading: its model is still learning


def test_replaying_the_producer_creates_no_duplicates(pipeline: Any, simulated: int) -> None:
    settings, _ = pipeline
    _simulate(settings)  # the same seed and start time: the same K readings again
    for name, config in _connectors(settings).items():
        wait_for(lambda n=name, t=config["topics"]: _sink_lag(settings, n, t) == 0, 120, f"{name} to catch up")
    assert _count(settings, settings.table_readings) == simulated
    assert _count(settings, settings.table_scores) == simulated


def test_prometheus_scrapes_the_worker(pipeline: Any, simulated: int) -> None:
    settings, _ = pipeline
    instance = f'instance="127.0.0.1:{settings.worker_metrics_port}"'
    wait_for(
        lambda: prometheus_query(settings, f'up{{job="fleetpulse-worker",{instance}}} == 1'),
        30,
        "Prometheus to scrape the worker",
    )
    expr = f'fleetpulse_worker_records_in_total{{job="fleetpulse-worker",{instance}}}'
    result = wait_for(
        lambda: [r for r in prometheus_query(settings, expr) if float(r["value"][1]) >= simulated],
        30,
        f"{expr} >= {simulated}",
    )
    assert float(result[0]["value"][1]) >= simulated


BAD_RECORDS = {
    "bad_json": b'{"device_id": "sim-pc-1", "ts": ',
    "missing_field": b'{"device_type": "pc", "ts": 1795000000000, "seq": 1}',
    "out_of_range": b'{"device_id": "x1", "device_type": "pc", "ts": 1795000000000, "seq": 1, "load_pct": 140}',
    "implausible": b'{"device_id": "x1", "device_type": "raspberry_pi", "ts": 1795000000000, "seq": 1, '
    b'"clock_ghz": 1.5, "voltage_v": 51.0}',
    "wrong_type": b'{"device_id": "x1", "device_type": "pc", "ts": "yesterday", "seq": 1}',
}


def test_bad_records_go_to_dead_letters_and_the_worker_keeps_going(pipeline: Any) -> None:
    settings, worker = pipeline
    good = b'{"device_id": "good-1", "device_type": "pc", "ts": 1796000000000, "seq": 0, "temperature_c": 90.5}'
    records = [(b"bad", value) for value in BAD_RECORDS.values()] + [(b"good-1", good)]
    produce_raw(settings, settings.topic_readings, records)

    letters = consume(settings, settings.topic_dead_letters, expected=len(BAD_RECORDS))
    by_reason = {dict(m.headers())["x-dead-letter-reason"].decode(): m for m in letters}
    assert set(by_reason) == set(BAD_RECORDS)
    for reason, message in by_reason.items():
        letter = msgspec.json.decode(message.value(), type=DeadLetter)
        assert letter.reason == reason and letter.payload == BAD_RECORDS[reason].decode()
        assert letter.source_topic == settings.topic_readings and letter.source_offset is not None

    client = dynamodb_client(settings)
    key = {"device_id": {"S": "good-1"}, "ts": {"N": "1796000000000"}}
    item = wait_for(
        lambda: client.get_item(TableName=settings.table_scores, Key=key).get("Item"),
        60,
        "the good record's score in DynamoDB",
    )
    service = ModelService()  # a new device, as the worker saw it: its model's first score of this reading
    expected, _ = service.score(service.open("pc", None), decode_reading(good), now_ms=0)
    assert float(item["score"]["N"]) == pytest.approx(expected.score, abs=1e-4) and expected.score > 0.5
    assert item["reasons"]["L"][0]["M"]["sensor"] == {"S": "temperature_c"}  # 90.5 °C: near critical
    assert worker.alive()


def test_batch_envelopes_are_scored_reading_by_reading(pipeline: Any) -> None:
    settings, worker = pipeline
    ts = START_MS + 3_600_000

    def reading(device: str, i: int) -> bytes:
        return msgspec.json.encode(
            {"device_id": device, "device_type": "server", "ts": ts + i * 5_000, "seq": i, "temperature_c": 50.0}
        )

    bad = b'{"device_id": "env-b", "device_type": "server", "ts": 1, "seq": 9, "voltage_v": 900}'
    envelopes = [
        (b"env-a", b"[" + b",".join(reading("env-a", i) for i in range(4)) + b"]"),
        (b"env-b", b"[" + b",".join([*(reading("env-b", i) for i in range(3)), bad]) + b"]"),
    ]
    produce_raw(settings, settings.topic_readings, envelopes)

    client = dynamodb_client(settings)

    def scored(device: str) -> int:
        return client.query(
            TableName=settings.table_scores,
            KeyConditionExpression="device_id = :d",
            ExpressionAttributeValues={":d": {"S": device}},
            Select="COUNT",
        )["Count"]

    wait_for(lambda: scored("env-a") == 4 and scored("env-b") == 3, 60, "a score per reading of the envelopes")

    def from_envelopes(messages: list[Any]) -> list[Any]:
        return [m for m in messages if "x-batch-index" in dict(m.headers())]

    batch_letters = from_envelopes(consume(settings, settings.topic_dead_letters, until=from_envelopes))
    assert [dict(m.headers())["x-batch-index"] for m in batch_letters] == [b"3"]
    assert msgspec.json.decode(batch_letters[0].value(), type=DeadLetter).payload == bad.decode()
    assert worker.alive()
