"""Produce → DynamoDB latency through the real pipeline, for readings (producer → Kafka → Connect →
DynamoDB) and for scores (… → Faust worker → Kafka → Connect → DynamoDB), measured in one run.

Each reading carries its produce time as event time; a poller Queries every device's newest items and
records when each item first appears, so latencies are exact to the polling interval (reported).
Needs a running stack: `FLEETPULSE_STACK_DIR=.stack-dev fleetpulse stack up`.
"""

from __future__ import annotations

import statistics
import threading
import time

from connectors import rest
from connectors.desired import desired
from connectors.tables import create_table, dynamodb_client
from core.settings import Settings
from core.topics import create_topics
from producers.kafka_producer import ReadingProducer
from schemas import Reading
from tests.conftest import isolated_settings
from tests.harness import start_worker, wait_worker_ready

READINGS, DEVICES, RATE_PER_S = 1_000, 20, 200
POLL_INTERVAL_S = 0.05


def _setup(settings: Settings) -> list[str]:
    create_topics(settings)
    client = dynamodb_client(settings)
    for table in (settings.table_readings, settings.table_scores):
        create_table(client, table)
    connectors = desired(settings, name_prefix=f"{settings.worker_app_id}-", kinds=("readings", "scores"))
    for name, config in connectors.items():
        rest.apply_config(settings.connect_url, name, config)
    return list(connectors)


def _produce(settings: Settings, sent: dict[tuple[str, int], float]) -> None:
    """READINGS readings at RATE_PER_S, each stamped with its produce time into `sent` (key → send time)."""
    producer = ReadingProducer(settings, linger_ms=0)
    last_ts: dict[str, int] = {}
    start = time.monotonic()
    for index in range(READINGS):
        time.sleep(max(0.0, start + index / RATE_PER_S - time.monotonic()))
        device_id = f"lat-{index % DEVICES:03d}"
        ts = max(int(time.time() * 1000), last_ts.get(device_id, 0) + 1)  # (device_id, ts) stays unique
        last_ts[device_id] = ts
        reading = Reading(
            device_id=device_id, device_type="server", ts=ts, seq=index, temperature_c=60.0, load_pct=50.0
        )
        sent[(device_id, ts)] = time.time()
        producer.send(reading)
    assert producer.flush(30) == 0


def _poll_arrivals(settings: Settings, table: str, arrived: dict[tuple[str, int], float], timeout: float) -> None:
    """Record when each item first shows up in `table`, until READINGS arrived or the timeout."""
    client = dynamodb_client(settings)
    devices = [f"lat-{index:03d}" for index in range(DEVICES)]
    deadline = time.monotonic() + timeout
    while len(arrived) < READINGS and time.monotonic() < deadline:
        for device in devices:
            items = client.query(
                TableName=table,
                KeyConditionExpression="device_id = :d",
                ExpressionAttributeValues={":d": {"S": device}},
                ProjectionExpression="ts",
                ScanIndexForward=False,
                Limit=100,
            )["Items"]
            now = time.time()
            for item in items:
                arrived.setdefault((device, int(item["ts"]["N"])), now)
        time.sleep(POLL_INTERVAL_S)
    return arrived


def _percentiles(latencies: list[float]) -> str:
    cut = statistics.quantiles(latencies, n=100)
    return f"p50 {cut[49] * 1000:7.0f} ms   p99 {cut[98] * 1000:7.0f} ms   max {max(latencies) * 1000:7.0f} ms"


def main() -> None:
    settings = isolated_settings(Settings(), storage_policy="everything")  # every score, to time each one
    connectors = _setup(settings)
    worker = start_worker(settings)
    try:
        wait_worker_ready(settings, worker)
        print(f"producing {READINGS} readings for {DEVICES} devices at {RATE_PER_S}/s …")
        sent: dict[tuple[str, int], float] = {}
        tables = {"readings": settings.table_readings, "scores": settings.table_scores}
        arrivals: dict[str, dict[tuple[str, int], float]] = {label: {} for label in tables}
        pollers = [
            threading.Thread(target=_poll_arrivals, args=(settings, table, arrivals[label], 120))
            for label, table in tables.items()
        ]
        for poller in pollers:
            poller.start()
        _produce(settings, sent)
        for poller in pollers:
            poller.join()
        for label, arrived in arrivals.items():
            latencies = [arrived[key] - sent[key] for key in sent if key in arrived]
            missing = len(sent) - len(latencies)
            print(f"produce → DynamoDB ({label:<8}): {_percentiles(latencies)}   n={len(latencies)} missing={missing}")
        print(
            f"(arrival times are exact to the polling pass over {DEVICES} devices, ~{POLL_INTERVAL_S * 1000:.0f} ms+)"
        )
    finally:
        worker.stop()
        for name in connectors:
            rest.delete(settings.connect_url, name)


if __name__ == "__main__":
    main()
