"""The local DynamoDB-compatible server on its own: start time, raw BatchWriteItem throughput and memory.

Starts the stack's server (`fleetpulse.stack.components.DynamoDb`, i.e. dynoxide) on a free port, times
until `ListTables` answers, then writes ITEMS items of about the size of a score in 25-item batches from
THREADS boto3 clients, and reads its resident memory. Bounded by ITEMS; needs nothing else running.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from connectors.tables import create_table, dynamodb_client
from core.settings import Settings
from fleetpulse.stack.components import DynamoDb
from fleetpulse.stack.processes import ProcessTable
from tests.harness import free_port, wait_for

ITEMS, THREADS, BATCH = 40_000, 4, 25
TABLE = "bench_scores"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _item(i: int) -> dict:
    return {
        "PutRequest": {
            "Item": {
                "device_id": {"S": f"dev-{i % 1000:05d}"},
                "ts": {"N": str(1_700_000_000_000 + i)},
                "score": {"N": "0.1234"},
                "model": {"S": "bench"},
                "reasons": {"S": '[{"sensor": "temperature_c", "contribution": 0.12}]'},
            }
        }
    }


def _write(settings: Settings, start: int, stop: int) -> None:
    client = dynamodb_client(settings)
    for first in range(start, stop, BATCH):
        pending = {TABLE: [_item(i) for i in range(first, min(first + BATCH, stop))]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(stack_dir=Path(tmp), dynamodb_port=free_port())
        settings = settings.model_copy(update={"dynamodb_endpoint": f"http://127.0.0.1:{settings.dynamodb_port}"})
        server, processes = DynamoDb("dynamodb", settings), ProcessTable(Path(tmp))
        argv = server.prepare()  # builds the binary on first use: not timed
        started = time.monotonic()
        processes.start("dynamodb", argv)
        try:
            wait_for(server.healthy, 30, "the DynamoDB server", interval=0.005)
            start_s = time.monotonic() - started
            create_table(dynamodb_client(settings), TABLE)
            share = ITEMS // THREADS
            began = time.monotonic()
            with ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(lambda k: _write(settings, k * share, (k + 1) * share), range(THREADS)))
            seconds = time.monotonic() - began
            print(f"server: {argv[0]}")
            print(f"start until ListTables answers: {start_s * 1000:.0f} ms")
            print(f"batch writes: {ITEMS / seconds:,.0f} items/s ({THREADS} boto3 threads, {BATCH}-item batches)")
            print(f"RSS after {ITEMS:,} items: {_rss_mb(processes.pid('dynamodb')):.0f} MB")
        finally:
            processes.stop("dynamodb")


if __name__ == "__main__":
    main()
