"""Sink throughput (items/s into DynamoDB through Kafka Connect) next to the score stream's rate
(scores/s out of the Faust worker), measured in one run on the same machine.

1. A fixed simulated fleet's readings go to a fresh readings topic (not timed).
2. The worker scores them: scores/s = scores produced / time from the first to the last score.
3. Then the scores sink starts on the full scores topic: items/s = items / time from the first to the
   last item in DynamoDB. The two stages run one after the other so they don't share the 2 cores.
Bounded: READINGS records, each stage times out after STAGE_TIMEOUT_S. Needs the dev stack.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition

from connectors import rest
from connectors.desired import desired
from connectors.tables import dynamodb_client, ensure_tables
from core.kafka.config import confluent_config
from core.settings import Settings
from core.topics import create_topics
from tests.conftest import isolated_settings
from tests.harness import RealProcess, start_worker, wait_worker_ready

DEVICES, ROUNDS = 50, 200
READINGS = DEVICES * ROUNDS
STAGE_TIMEOUT_S = 90.0
START_MS = (int(time.time()) // 3600 - 1) * 3_600_000  # recent, so the readings TTL does not expire them


def _topic_size(settings: Settings, topic: str) -> int:
    consumer = Consumer(confluent_config(settings, **{"group.id": "bench-probe", "log_level": 0}))
    try:
        partitions = range(settings.topic_partitions)
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
    finally:
        consumer.close()


def _scan_count(settings: Settings, table: str) -> int:
    client, total, start = dynamodb_client(settings), 0, None
    while True:
        params = {"TableName": table, "Select": "COUNT", **({"ExclusiveStartKey": start} if start else {})}
        page = client.scan(**params)
        total += page["Count"]
        if not (start := page.get("LastEvaluatedKey")):
            return total


def _rate(progress: Callable[[], int], target: int, what: str, interval: float = 0.25) -> tuple[int, float]:
    """(count, seconds from the first to the last unit); the clock starts when progress first moves."""
    deadline = time.monotonic() + STAGE_TIMEOUT_S
    first_at = last_at = None
    count = last = 0
    while time.monotonic() < deadline:
        count = progress()
        now = time.monotonic()
        if count and first_at is None:
            first_at = now
        if count != last:
            last_at, last = now, count
        if count >= target:
            break
        time.sleep(interval)
    if first_at is None or last_at is None or last_at == first_at:
        raise SystemExit(f"{what}: no measurable progress ({count} of {target}) within {STAGE_TIMEOUT_S:.0f}s")
    return count, last_at - first_at


def main() -> None:
    settings = isolated_settings(Settings(), readings_ttl_days=1.0)
    create_topics(settings)
    ensure_tables(settings)
    args = ["--devices", str(DEVICES), "--rounds", str(ROUNDS), "--start-ms", str(START_MS), "--speedup", "0"]
    sim = RealProcess(settings, "simulate", *args, "--api-port", "0", log_name=f"{settings.worker_app_id}-sim")
    sim.start()
    assert sim.process is not None and sim.process.wait(120) == 0, sim.log()
    readings = _topic_size(settings, settings.topic_readings)

    worker = start_worker(settings)
    try:
        wait_worker_ready(settings, worker)
        scores, score_s = _rate(lambda: _topic_size(settings, settings.topic_scores), readings, "score stream")
    finally:
        worker.stop()

    name = f"{settings.worker_app_id}-fleetpulse-scores-dynamodb"
    config = desired(settings, f"{settings.worker_app_id}-")[name]
    rest.apply_config(settings.connect_url, name, config)
    try:
        items, sink_s = _rate(lambda: _scan_count(settings, settings.table_scores), scores, "scores sink", 0.5)
    finally:
        rest.delete(settings.connect_url, name)
        for table in (settings.table_readings, settings.table_scores, settings.table_events,
                      settings.table_device_status, settings.table_alert_acks):  # fmt: skip
            dynamodb_client(settings).delete_table(TableName=table)

    score_rate, sink_rate = scores / score_s, items / sink_s
    print(f"readings produced      {readings:>7}")
    print(f"score stream (worker)  {scores:>7} scores in {score_s:6.2f}s = {score_rate:8.0f} scores/s")
    print(f"scores sink (Connect)  {items:>7} items  in {sink_s:6.2f}s = {sink_rate:8.0f} items/s")
    print(f"sink / score stream    {sink_rate / score_rate:.2f}x  (>= 1: the sink keeps up with the scores)")
    print("(one Connect worker, tasks.max=2, DynamoDB Local on loopback, 2 shared cores)")


if __name__ == "__main__":
    main()
