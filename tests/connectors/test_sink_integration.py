"""The DynamoDB sink on its own real Connect worker and a file-backed dynoxide (started here on
free ports, sharing the dev Kafka): exactly N items for N records, no duplicates after a replay from
offset 0 and a Connect restart, poison records in the DLQ while the rest flow, and a 60 s DynamoDB
outage survived with every record written and nothing in the DLQ."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from api.metrics import DeadLetterTopicSize
from connectors import rest
from connectors.desired import desired
from connectors.tables import dynamodb_client, ensure_tables
from core.kafka.config import confluent_config
from core.settings import Settings
from core.topics import create_topics
from fleetpulse.stack.components import Connect, DynamoDb
from tests.conftest import isolated_settings
from tests.harness import OwnServers, consume, free_port, produce_raw, wait_for

pytestmark = pytest.mark.integration

# Recent event times, so no item's TTL (event time + readings_ttl_days) has passed when a server honours it.
START_MS = (int(time.time()) // 3600 - 1) * 3_600_000
N = 300
OUTAGE_SECONDS = 60


class OwnStack(OwnServers):
    def __init__(self, settings: Settings, connect: Connect, dynamodb: DynamoDb, prefix: str) -> None:
        super().__init__(settings.stack_dir)
        self.settings, self.connect, self.dynamodb, self.prefix = settings, connect, dynamodb, prefix

    def name(self, kind: str) -> str:
        return f"{self.prefix}fleetpulse-{kind}-dynamodb"


@pytest.fixture(scope="module")
def own(stack: Settings) -> Iterator[OwnStack]:
    tag = uuid.uuid4().hex[:8]
    dynamodb_port, connect_port = free_port(), free_port()
    settings = isolated_settings(
        stack,
        stack_dir=stack.stack_dir.resolve() / f"sink-test-{tag}",
        dynamodb_port=dynamodb_port,
        dynamodb_endpoint=f"http://127.0.0.1:{dynamodb_port}",
        connect_port=connect_port,
        connect_url=f"http://127.0.0.1:{connect_port}",
        connect_metrics_port=free_port(),  # the JMX exporter agent of our own worker
        readings_ttl_days=2.0,
        storage_policy="everything",  # the sinks' own guarantees, on the full topics
    )
    connect = Connect("connect", settings)
    connect.group_id = f"test-{tag}-connect"
    dynamodb = DynamoDb("dynamodb", settings)
    dynamodb.db_path = settings.stack_dir / "dynamodb.sqlite"
    dynamodb.db_path.parent.mkdir(parents=True, exist_ok=True)
    own = OwnStack(settings, connect, dynamodb, f"test-{tag}-")
    try:
        own.start(dynamodb)
        own.start(connect)
        create_topics(settings)
        ensure_tables(settings)
        yield own
    finally:
        own.stop(connect)
        own.stop(dynamodb)


def _readings(first: int, count: int) -> list[tuple[bytes, bytes]]:
    records = []
    for i in range(first, first + count):
        device = f"dev-{i % 10:02d}"
        value = {"device_id": device, "device_type": "pc", "ts": START_MS + i * 1000, "seq": i,
                 "temperature_c": 40 + (i % 7) * 0.25, "load_pct": 12.5}  # fmt: skip
        records.append((device.encode(), json.dumps(value).encode()))
    return records


def _count(settings: Settings, table: str) -> int:
    client, total, start = dynamodb_client(settings), 0, None
    while True:  # a COUNT scan is fine in a test: it checks the whole table for duplicates
        params: dict[str, Any] = {"TableName": table, "Select": "COUNT"}
        if start:
            params["ExclusiveStartKey"] = start
        page = client.scan(**params)
        total += page["Count"]
        if not (start := page.get("LastEvaluatedKey")):
            return total


def _lag(settings: Settings, connector: str, topic: str) -> int:
    admin = AdminClient(confluent_config(settings, log_level=0))
    partitions = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
    future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(f"connect-{connector}", partitions)])
    committed = {tp.partition: tp.offset for tp in next(iter(future.values())).result().topic_partitions}
    consumer = Consumer(confluent_config(settings, **{"group.id": "lag-probe", "log_level": 0}))
    try:
        high = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions}
    finally:
        consumer.close()
    return sum(high[p] - max(committed.get(p, 0), 0) for p in high)


def _apply(own: OwnStack, kind: str, name: str | None = None) -> str:
    config = desired(own.settings, own.prefix)[own.name(kind)]
    rest.apply_config(own.settings.connect_url, name or own.name(kind), config, timeout=120)
    return name or own.name(kind)


def _dlq_size(settings: Settings) -> int:
    return DeadLetterTopicSize(settings).records() or 0


@pytest.fixture(scope="module")
def loaded(own: OwnStack) -> str:
    """N readings produced and sunk."""
    s = own.settings
    produce_raw(s, s.topic_readings, _readings(0, N))
    name = _apply(own, "readings")
    wait_for(lambda: _count(s, s.table_readings) >= N, 120, f"{N} items")
    return name


def test_n_records_give_exactly_n_typed_items_with_ttl(own: OwnStack, loaded: str) -> None:
    s = own.settings
    wait_for(lambda: _lag(s, loaded, s.topic_readings) == 0, 60, "the sink to commit")
    assert _count(s, s.table_readings) == N
    key = {"device_id": {"S": "dev-03"}, "ts": {"N": str(START_MS + 3000)}}
    item = dynamodb_client(s).get_item(TableName=s.table_readings, Key=key)["Item"]
    assert item["temperature_c"] == {"N": "40.75"} and item["seq"] == {"N": "3"}
    assert item["expires_at"] == {"N": str((START_MS + 3000) // 1000 + 2 * 86_400)}  # the TTL setting


def test_replay_from_offset_zero_and_connect_restart_create_no_duplicates(own: OwnStack, loaded: str) -> None:
    s = own.settings
    replay = f"{loaded}-replay"  # a new name is a new consumer group: it reads the topic from offset 0
    rest.delete(s.connect_url, loaded)
    _apply(own, "readings", replay)
    own.stop(own.connect)  # restart the Connect worker mid-replay: tasks resume from committed offsets
    own.start(own.connect)
    rest.wait_running(s.connect_url, replay, timeout=120)
    wait_for(lambda: _lag(s, replay, s.topic_readings) == 0, 120, "the replay to finish")
    assert _count(s, s.table_readings) == N


def test_poison_records_go_to_the_dlq_while_the_rest_keep_flowing(own: OwnStack, loaded: str) -> None:
    s = own.settings
    before = _count(s, s.table_readings)
    future = b'{"device_id": "dev-03", "device_type": "pc", "ts": 3500000000000, "seq": 1, "temperature_c": 40}'
    poison = [(b"dev-00", b"{not json"), (b"dev-01", b'{"device_id": "dev-01"}'), (b"dev-02", b"[1, 2]")]
    poison.append((b"dev-03", future))  # dated 2080: refused by the sink as by the worker (future_time)
    good = _readings(N, 20)
    produce_raw(s, s.topic_readings, good[:10] + poison + good[10:])
    wait_for(lambda: _count(s, s.table_readings) == before + 20, 60, "the good records behind the poison")
    dead = consume(s, s.topic_connect_dead_letters, 4, timeout=60)
    assert sorted(m.value() for m in dead) == sorted(v for _, v in poison)
    headers = {k: v.decode() for k, v in dead[0].headers()}
    assert headers["__connect.errors.topic"] == s.topic_readings
    assert "__connect.errors.exception.message" in headers and "__connect.errors.offset" in headers
    assert _dlq_size(s) == 4  # what the API exports as fleetpulse_api_connect_dead_letter_records
    reasons = [dict(m.headers())["__connect.errors.exception.message"].decode() for m in dead if m.value() == future]
    assert "future_time" in reasons[0], reasons


def test_a_batch_envelope_array_gives_one_item_per_element_and_reports_bad_elements_once(
    own: OwnStack, loaded: str
) -> None:
    s = own.settings
    before, dlq_before = _count(s, s.table_readings), _dlq_size(s)

    def reading(i: int) -> dict[str, Any]:
        return {"device_id": f"env-{i % 40:02d}", "device_type": "pc", "ts": START_MS + i // 40 * 5000, "seq": i // 40}

    envelopes = [json.dumps([reading(m * 20 + j) for j in range(20)]).encode() for m in range(2)]
    mixed = json.dumps([reading(40), {"device_type": "pc", "ts": 1}, 7, reading(41)]).encode()
    produce_raw(s, s.topic_readings, [(b"env-00", v) for v in envelopes] + [(b"env-00", mixed)])
    wait_for(lambda: _count(s, s.table_readings) == before + 42, 60, "one item per good array element")
    wait_for(lambda: _dlq_size(s) == dlq_before + 1, 60, "the mixed array dead-lettered once")
    dead = [m for m in consume(s, s.topic_connect_dead_letters, dlq_before + 1, timeout=60) if m.value() == mixed]
    assert len(dead) == 1
    message = {k: v.decode() for k, v in dead[0].headers()}["__connect.errors.exception.message"]
    assert "2 of 4 array elements are bad (2 written)" in message and "[1] missing partition key" in message


def test_status_and_event_sinks_keep_one_row_per_device_and_composite_event_keys(own: OwnStack) -> None:
    s = own.settings
    scores = [(f"dev-{d}".encode(), json.dumps({"device_id": f"dev-{d}", "ts": START_MS + r * 1000, "seq": r,
               "score": round(0.1 * r, 2), "model": "m", "reasons": [], "scored_at": START_MS}).encode())
              for r in range(5) for d in range(3)]  # fmt: skip
    kinds = (("liveness", {"state": "silent"}), ("feedback", {"alert_ts": 1, "verdict": "right"}))
    events = [(b"dev-0", json.dumps({"kind": kind, "device_id": "dev-0", "ts": START_MS, **extra}).encode())
              for kind, extra in kinds]  # fmt: skip
    produce_raw(s, s.topic_scores, scores)
    produce_raw(s, s.topic_events, events)
    _apply(own, "device-status")
    _apply(own, "events")
    client = dynamodb_client(s)
    wait_for(lambda: _count(s, s.table_device_status) == 3 and _count(s, s.table_events) == 2, 60, "status, events")
    wait_for(lambda: _lag(s, own.name("device-status"), s.topic_scores) == 0, 60, "the status sink to commit")
    row = client.get_item(TableName=s.table_device_status, Key={"device_id": {"S": "dev-1"}})["Item"]
    assert row["ts"] == {"N": str(START_MS + 4000)} and row["fleet"] == {"S": "all"}  # the newest score wins
    keys = {i["event_key"]["S"] for i in client.scan(TableName=s.table_events)["Items"]}
    assert keys == {f"liveness#{START_MS}", f"feedback#{START_MS}"}  # same ms, two kinds: no collision


def test_dynamodb_outage_of_60s_loses_nothing_and_dead_letters_nothing(own: OwnStack, loaded: str) -> None:
    s = own.settings
    wait_for(lambda: _lag(s, f"{loaded}-replay", s.topic_readings) == 0, 60, "a quiet sink before the outage")
    before, dlq_before = _count(s, s.table_readings), _dlq_size(s)
    own.stop(own.dynamodb)
    started = time.monotonic()
    produce_raw(s, s.topic_readings, _readings(N + 20, 100))
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - started)))
    own.start(own.dynamodb)  # file-backed: the tables and items written before the outage are still there
    wait_for(lambda: _count(s, s.table_readings) == before + 100, 120, "the records produced during the outage")
    status = rest.status(s.connect_url, f"{loaded}-replay")
    assert all(task["state"] == "RUNNING" for task in status["tasks"]), status
    assert _dlq_size(s) == dlq_before
