"""DynamoDB writes and their cost per device-hour, measured on the real pipeline, for the default storage
policy and for "keep everything", in one run.

A simulated fleet (DEVICES devices, one reading every 5 s, HOURS event-hours, the simulator's failures)
goes through Kafka, the worker (default policy: it emits the full streams and the store-bound ones) and
Kafka Connect into dynoxide. Two sets of sinks read the same topics into two sets of tables: the default
policy's (window rows, selected scores and status rows, events; raw readings off, as above
storage_raw_max_devices) and keep-everything's (every reading, score and status row, plus windows and
events).

Two counts per table: what the sink tasks report having written in this run ("Wrote N items to DynamoDB
table T", read from the Connect log), and the records the sink received (its topic's records; readings
counted per reading). The simulator runs as fast as it can, so one put often holds several scores of a
device and the status sink collapses them into one write; at the real 5 s cadence a put rarely holds two
of one device, so the cost is computed from the records received (the real-time write count, the higher).
Write units per write come from the items' DynamoDB sizes (a sample of each table; one unit per started
KB). Needs the dev stack.

    python -m bench.cost_bench [devices] [hours]
"""

from __future__ import annotations

import math
import re
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from connectors import rest
from connectors.desired import desired
from connectors.tables import dynamodb_client, ensure_tables, table_specs
from core.kafka.consumer import records_produced
from core.settings import Settings
from core.topics import create_topics
from tests.conftest import isolated_settings
from tests.harness import RealProcess, start_worker, wait_worker_ready

ON_DEMAND_PER_MILLION_WRU = 0.625  # USD, us-east-1, standard table class
PROVISIONED_PER_WCU_HOUR = 0.00065  # USD, us-east-1
HOURS_PER_MONTH = 730
CADENCE_S = 5
WROTE = re.compile(r"Wrote (\d+) items to DynamoDB table (\S+) from")
STAGE_TIMEOUT_S = 900.0
# Records per second per sink task in bench.sink_bench (keep everything: ~6.2k/s with 3 tasks, 8 batches in
# flight each, dynoxide on loopback, a shared 2-core machine), rounded down; only for the sizing table.
TASK_ITEMS_PER_S = 2_000


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item (attribute names plus values), as it bills writes."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (int, float, Decimal)):
        digits = Decimal(str(value)).normalize().as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 3 + sum(_value_bytes(v) + 1 for v in value)
    raise TypeError(type(value))


def write_units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(item_bytes(item) / 1024))


def _units_per_write(settings: Settings, table: str, sample: int = 300) -> float:
    page = dynamodb_client(settings).scan(TableName=table, Limit=sample)
    deserializer = TypeDeserializer()
    items = [{k: deserializer.deserialize(v) for k, v in raw.items()} for raw in page["Items"]]
    return sum(write_units(i) for i in items) / len(items) if items else 1.0


def _writes_by_table(log: Path, since: int) -> dict[str, int]:
    with log.open("rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    totals: dict[str, int] = {}
    for count, table in WROTE.findall(text):
        totals[table] = totals.get(table, 0) + int(count)
    return totals


def _wait_quiet(log: Path, since: int, quiet_s: float = 20.0) -> dict[str, int]:
    """The sink totals once they stopped moving for quiet_s (the sinks caught up with every topic)."""
    deadline, last, last_change = time.monotonic() + STAGE_TIMEOUT_S, None, time.monotonic()
    while time.monotonic() < deadline:
        totals = _writes_by_table(log, since)
        if totals != last:
            last, last_change = totals, time.monotonic()
        elif totals and time.monotonic() - last_change >= quiet_s:
            return totals
        time.sleep(2)
    raise SystemExit(f"sinks still writing after {STAGE_TIMEOUT_S:.0f}s: {last}")


def _topic_size(settings: Settings, topic: str) -> int:
    return records_produced(settings, topic, settings.topic_partitions)


def _tables(settings: Settings, readings: int) -> dict[str, tuple[str, int]]:
    """{label: (table, records its sink received)} for the sinks the settings' policy runs."""
    scores_topic = settings.topic_scores_store if settings.storage_policy == "aggregated" else settings.topic_scores
    scores = _topic_size(settings, scores_topic)
    return {
        "readings": (settings.table_readings, readings if settings.stores_raw_readings() else 0),
        "windows": (settings.table_windows, _topic_size(settings, settings.topic_windows_store)),
        "scores": (settings.table_scores, scores),
        "device status": (settings.table_device_status, scores),
        "events": (settings.table_events, _topic_size(settings, settings.topic_events)),
    }


def _report(name: str, settings: Settings, totals: dict[str, int], readings: int, device_hours: float) -> float:
    """Prints one policy's table; returns its write units per device-hour at the real-time pace."""
    print(f"\n{name}")
    print(f"  {'table':<14} {'sink wrote':>10} {'records':>9} {'per device-h':>13} {'units/write':>12}")
    writes = units = 0.0
    for label, (table, records) in _tables(settings, readings).items():
        wrote = totals.get(table, 0)
        per_write = _units_per_write(settings, table) if wrote else 1.0
        writes, units = writes + records, units + records * per_write
        print(f"  {label:<14} {wrote:>10} {records:>9} {records / device_hours:>13.1f} {per_write:>12.2f}")
    per_device_hour = writes / device_hours
    unit_hours = units / device_hours
    dollars = unit_hours * 1_000 * HOURS_PER_MONTH * ON_DEMAND_PER_MILLION_WRU / 1e6
    print(f"  writes per device-hour: {per_device_hour:.1f}  ({unit_hours:.1f} write units; at 5 s cadence, real time)")
    print(f"  $ per 1,000 devices per month: {dollars:,.2f}  (on-demand, ${ON_DEMAND_PER_MILLION_WRU}/M units)")
    return unit_hours


def _sizing(policies: dict[str, float], devices: int = 100_000) -> None:
    print(f"\nsizing for {devices:,} devices at one reading per {CADENCE_S}s")
    print(f"  {'policy':<12} {'units/s':>9} {'on-demand $/month':>18} {'provisioned WCU':>16} "
          f"{'provisioned $/month':>20} {'sink tasks':>11}")  # fmt: skip
    for name, unit_hours in policies.items():
        per_s = unit_hours * devices / 3600
        on_demand = per_s * 3600 * HOURS_PER_MONTH * ON_DEMAND_PER_MILLION_WRU / 1e6
        wcu = math.ceil(per_s * 1.3)  # 30% headroom over the mean rate
        provisioned = wcu * PROVISIONED_PER_WCU_HOUR * HOURS_PER_MONTH
        tasks = max(1, math.ceil(per_s / TASK_ITEMS_PER_S))
        print(f"  {name:<12} {per_s:>9,.0f} {on_demand:>18,.0f} {wcu:>16,} {provisioned:>20,.0f} {tasks:>11}")


def main(devices: int = 100, hours: float = 2.0) -> None:
    base = isolated_settings(Settings(), readings_ttl_days=7.0)
    default = base.model_copy(update={"storage_policy": "aggregated", "storage_raw_readings": "off"})
    tag = base.table_scores.removesuffix("_scores")
    everything = base.model_copy(
        update={"storage_policy": "everything"}
        | {f"table_{t}": f"{tag}_all_{t}" for t in ("readings", "scores", "events", "device_status", "windows")}
    )
    create_topics(default)
    ensure_tables(default)
    ensure_tables(everything)
    log = Path(base.stack_dir).resolve() / "logs" / "connect.log"
    since = log.stat().st_size
    connectors = desired(default, f"{base.worker_app_id}-") | desired(everything, f"{base.worker_app_id}-all-")
    for name, config in connectors.items():
        rest.apply_config(base.connect_url, name, config)
    rounds = int(hours * 3600 / CADENCE_S)
    start_ms = (int(time.time()) // 3600) * 3_600_000 - int((hours + 1) * 3_600_000)
    args = ["--devices", str(devices), "--rounds", str(rounds), "--start-ms", str(start_ms), "--speedup", "0"]
    sim = RealProcess(default, "simulate", *args, "--batch", "20", "--api-port", "0",
                      log_name=f"{base.worker_app_id}-sim")  # fmt: skip
    worker = start_worker(default)
    try:
        wait_worker_ready(default, worker)
        sim.start()
        assert sim.process is not None and sim.process.wait(STAGE_TIMEOUT_S) == 0, sim.log()
        totals = _wait_quiet(log, since)
        print(f"{devices} devices x {hours:g} event-hours at {CADENCE_S}s = {devices * rounds} readings")
        device_hours, readings = devices * hours, devices * rounds
        policies = {
            "default": _report("default policy (aggregated, raw off)", default, totals, readings, device_hours),
            "everything": _report("keep everything", everything, totals, readings, device_hours),
        }
        _sizing(policies)
    finally:
        worker.stop()
        for name in connectors:
            rest.delete(base.connect_url, name)
        client = dynamodb_client(default)
        for name in {spec.name for s in (default, everything) for spec in table_specs(s)}:
            client.delete_table(TableName=name)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100, float(sys.argv[2]) if len(sys.argv) > 2 else 2.0)
