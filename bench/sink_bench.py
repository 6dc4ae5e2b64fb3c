"""Sink throughput (items/s into DynamoDB through Kafka Connect) next to the rate the worker produces the
items it stores, and the server's own ceiling, measured in one run on the same machine.

1. A fixed simulated fleet's readings go to a fresh readings topic (not timed).
2. The worker (default storage policy) scores them: its rate = scores produced / time from the first to the
   last score. In the same time it produced the store-bound records: selected scores (each gives a score
   and a status item) and window rows.
3. Sinks, one stage at a time so they don't share the 2 cores: keep everything (the scores sink on the
   full scores topic), the default policy (scores, status and windows sinks on the store-bound topics),
   and the keep-everything scores sink with one batch in flight (the sink before concurrent batches).
   A stage's items/s = items the sink tasks report written ("Wrote N items ... in T ms" in the Connect
   log) / time from the start of the first such put to the end of the last.
4. The server's ceiling, before the sinks and after them (the machine is shared, so it moves): BatchWriteItem
   of score-sized items from a plain Java client with the sink's SDK (bench/jvm/BatchWriteCeiling.java,
   warmed up on 25k items first), 8, 24 and 48 calls in flight (one task; a connector's 3 tasks; more), no
   Kafka, no Connect. When a sink's rate is near it, the server is the bound, not the sink.
Bounded: READINGS records, each stage times out after STAGE_TIMEOUT_S. Needs the dev stack.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from connectors import rest
from connectors.desired import desired
from connectors.tables import TableSpec, dynamodb_client, ensure_table, ensure_tables, table_specs
from core.kafka.consumer import records_produced
from core.settings import Settings
from core.topics import create_topics
from tests.conftest import isolated_settings
from tests.harness import RealProcess, start_worker, wait_worker_ready

DEVICES, ROUNDS = 200, 300
READINGS = DEVICES * ROUNDS
STAGE_TIMEOUT_S = 180.0
START_MS = (int(time.time()) // 3600 - 1) * 3_600_000  # recent, so the readings TTL does not expire them
PUT = re.compile(
    r"^\[([\d-]+ [\d:,]+)\] INFO Wrote (\d+) items to DynamoDB table (\S+) from (\d+) records .* in (\d+) ms", re.M
)
CEILING_ITEMS = 40_000
ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR = ROOT / "connectors" / "dynamodb-sink" / "target" / "plugin" / "fleetpulse-dynamodb-sink"
CEILING_PROGRAM = ROOT / "bench" / "jvm" / "BatchWriteCeiling.java"


def _topic_size(settings: Settings, topic: str) -> int:
    return records_produced(settings, topic, settings.topic_partitions)


def _worker_rate(settings: Settings, target: int) -> tuple[int, float]:
    """(scores, seconds from the first to the last score)."""
    deadline = time.monotonic() + STAGE_TIMEOUT_S
    first_at = last_at = None
    count = last = 0
    while time.monotonic() < deadline and count < target:
        count = _topic_size(settings, settings.topic_scores)
        now = time.monotonic()
        if count and first_at is None:
            first_at = now
        if count != last:
            last_at, last = now, count
        time.sleep(0.25)
    if first_at is None or last_at is None or last_at == first_at:
        raise SystemExit(f"score stream: no measurable progress ({count} of {target}) in {STAGE_TIMEOUT_S:.0f}s")
    return count, last_at - first_at


class Put(NamedTuple):
    end: float
    items: int
    records: int
    ms: int


def _puts(log: Path, since: int, tables: set[str]) -> list[Put]:
    """Every put the sinks logged for `tables` since the offset."""
    with log.open("rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    out = []
    for stamp, items, table, records, ms in PUT.findall(text):
        if table in tables:
            end = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
            out.append(Put(end, int(items), int(records), int(ms)))
    return out


def _sink_stage(settings: Settings, connectors: dict[str, dict[str, str]], target: int) -> tuple[int, int, float]:
    """Runs the connectors until they took `target` records; (records, items written, seconds of writing).
    Items can be fewer than records: a put keeps one item per key (the status sink, a device's newest)."""
    log = Path(settings.stack_dir).resolve() / "logs" / "connect.log"
    since = log.stat().st_size
    tables = {config["dynamodb.table"] for config in connectors.values()}
    for name, config in connectors.items():
        rest.apply_config(settings.connect_url, name, config)
    deadline, puts = time.monotonic() + STAGE_TIMEOUT_S, []
    try:
        while time.monotonic() < deadline:
            puts = _puts(log, since, tables)
            if sum(p.records for p in puts) >= target:
                break
            time.sleep(1)
    finally:
        for name in connectors:
            rest.delete(settings.connect_url, name)
    records = sum(p.records for p in puts)
    if records < target:
        raise SystemExit(f"sinks took {records} of {target} records for {tables} in {STAGE_TIMEOUT_S:.0f}s")
    started = min(p.end - p.ms / 1000 for p in puts)
    return records, sum(p.items for p in puts), max(p.end for p in puts) - started


def _server_ceilings(settings: Settings, in_flight: tuple[int, ...] = (8, 24, 48)) -> list[tuple[int, int, float]]:
    """[(calls in flight, items, seconds)] of BatchWriteItem from a plain Java client (bench/jvm/
    BatchWriteCeiling.java: the sink's SDK and HTTP client, warmed up, no Kafka, no Connect) into a fresh table."""
    table = f"{settings.table_scores}_ceiling"
    client = dynamodb_client(settings)
    ensure_table(client, TableSpec(table, sort_key=("ts", "N")))
    classpath = [str(PLUGIN_DIR / "*"), *map(str, sorted(Path(settings.cache_dir).glob("kafka/slf4j-api-*.jar")))]
    try:
        out = subprocess.run(
            ["java", "-cp", os.pathsep.join(classpath), str(CEILING_PROGRAM), settings.dynamodb_endpoint, table,
             str(CEILING_ITEMS), ",".join(map(str, in_flight))],
            capture_output=True, text=True, check=True, timeout=STAGE_TIMEOUT_S,
        )  # fmt: skip
        runs = [line.split() for line in out.stdout.splitlines() if line.strip()]
        return [(int(threads), int(items), float(seconds)) for threads, items, seconds in runs]
    finally:
        client.delete_table(TableName=table)


def main() -> None:
    settings = isolated_settings(Settings(), readings_ttl_days=1.0, storage_raw_readings="off")
    everything = settings.model_copy(update={"storage_policy": "everything"})
    sequential = everything.model_copy(update={"table_scores": f"{settings.table_scores}_seq"})
    create_topics(settings)
    for s in (settings, sequential):
        ensure_tables(s)
    args = ["--devices", str(DEVICES), "--rounds", str(ROUNDS), "--start-ms", str(START_MS), "--speedup", "0"]
    sim = RealProcess(settings, "simulate", *args, "--api-port", "0", log_name=f"{settings.worker_app_id}-sim")
    sim.start()
    assert sim.process is not None and sim.process.wait(300) == 0, sim.log()
    readings = _topic_size(settings, settings.topic_readings)

    worker = start_worker(settings)
    try:
        wait_worker_ready(settings, worker)
        scores, score_s = _worker_rate(settings, readings)
        time.sleep(2)  # the last batch's store-bound records
        selected = _topic_size(settings, settings.topic_scores_store)
        windows = _topic_size(settings, settings.topic_windows_store)
    finally:
        worker.stop()

    prefix = f"{settings.worker_app_id}-"
    ceilings = [("before the sinks", run) for run in _server_ceilings(settings)]
    try:
        full = _sink_stage(everything, desired(everything, prefix, kinds=("scores",)), scores)
        policy_records = 2 * selected + windows  # a selected score goes to the scores and the status sink
        policy = _sink_stage(settings, desired(settings, prefix, kinds=("scores", "device-status", "windows")),
                             policy_records)  # fmt: skip
        one = desired(sequential, f"{prefix}seq-", kinds=("scores",))
        for config in one.values():
            config["dynamodb.max.in.flight"] = "1"
        single = _sink_stage(sequential, one, scores)
        ceilings += [("after the sinks", run) for run in _server_ceilings(settings)]
    finally:
        client = dynamodb_client(settings)
        for name in {spec.name for s in (settings, sequential) for spec in table_specs(s)}:
            client.delete_table(TableName=name)

    stream_rate = scores / score_s
    policy_rate = policy_records / score_s
    print(f"readings produced        {readings:>7}  ({DEVICES} devices x {ROUNDS} rounds, one reading per message)")
    print(f"worker                   {scores:>7} scores in {score_s:6.2f}s = {stream_rate:8.0f} scores/s;"
          f" store-bound: {selected} selected scores, {windows} window rows = {policy_rate:.0f} records/s")  # fmt: skip
    rows = [
        ("keep everything: scores sink", full, stream_rate),
        ("default policy: scores+status+windows", policy, policy_rate),
        ("keep everything, 1 batch in flight", single, stream_rate),
    ]
    for label, (records, items, seconds), produced in rows:
        rate = records / seconds
        print(f"{label:<38} {records:>7} records ({items} items) in {seconds:6.2f}s = {rate:8.0f} records/s"
              f" = {rate / produced:5.2f}x the worker's rate for it")  # fmt: skip
    for when, (threads, items, seconds) in ceilings:
        label = f"server ceiling, {threads} in flight, {when}"
        print(f"{label:<38} {items:>7} items in {seconds:6.2f}s = {items / seconds:8.0f} items/s"
              " (plain Java client, warmed up, BatchWriteItem of 25)")  # fmt: skip
    print(f"(one Connect worker, tasks.max={settings.topic_partitions} per connector, 8 batches in flight per task,"
          " dynoxide on loopback, 2 shared cores)")  # fmt: skip


if __name__ == "__main__":
    main()
