"""Phone ingestion from 1,000 simulated phones, one reading per message next to coalesced envelopes, in one run.

For each mode a real `fleetpulse ingest` process receives Sensor Logger pushes over HTTP from PHONES phones
(PUSHES each, CONCURRENCY in flight); then the bench counts the Kafka messages and readings that landed on the
readings topic, and starts the real worker on that topic to measure its rate on exactly those messages.
Prints readings per message, push latency (answered only after Kafka's ack), and the worker's readings/s.
Needs the dev stack (Kafka). Usage: `python -m bench.ingest_bench`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.streams_bench import _full_worker, _settings
from core.kafka.consumer import records_produced
from core.topics import create_topics
from schemas import decode_batch
from tests.harness import drain, free_port, start_ingest

PHONES, PUSHES, CONCURRENCY = 1_000, 20, 200
FIXTURE = json.loads((Path(__file__).parents[1] / "tests/producers/fixtures/sensor_logger_android.json").read_text())
MODES = (("one reading per message", 0.0), ("coalesced, 20 ms linger", 20.0))


def _token(phone: int) -> str:
    return f"bench-token-{phone:08d}-0123456789"


def _body(phone: int, push: int, now_ns: int) -> bytes:
    body = json.loads(json.dumps(FIXTURE))
    body["deviceId"], body["messageId"] = f"bench-phone-{phone:05d}", push
    for sample in body["payload"]:
        sample["time"] = now_ns + push * 1_000_000_000
    return json.dumps(body).encode()


async def _push_all(url: str) -> list[float]:
    """Every phone's pushes (each phone's in order, phones concurrently); the latency of each push, seconds."""
    latencies: list[float] = []
    limit = asyncio.Semaphore(CONCURRENCY)
    now_ns = time.time_ns() - PUSHES * 1_000_000_000

    async def phone(session: aiohttp.ClientSession, index: int) -> None:
        headers = {"Authorization": f"Bearer {_token(index)}", "Content-Type": "application/json"}
        for push in range(PUSHES):
            async with limit:
                began = time.perf_counter()
                async with session.post(f"{url}/push", data=_body(index, push, now_ns), headers=headers) as answer:
                    assert answer.status == 200, await answer.text()
                latencies.append(time.perf_counter() - began)

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(phone(session, i) for i in range(PHONES)))
    return latencies


def _run(mode: str, linger_ms: float, tokens: Path) -> dict[str, float | str]:
    settings = _settings("ingest").model_copy(
        update={
            "ingest_port": free_port(),
            "ingest_metrics_port": free_port(),
            "ingest_tokens_file": str(tokens),
            "ingest_rate_per_minute": 10_000,
            "ingest_linger_ms": linger_ms,
        }
    )
    create_topics(settings)
    server, url = start_ingest(settings, f"bench-ingest-{settings.ingest_port}")
    try:
        began = time.perf_counter()
        latencies = asyncio.run(_push_all(url))
        push_s = time.perf_counter() - began
    finally:
        server.stop()
    readings = sum(len(decode_batch(value)[0]) for value in drain(settings, settings.topic_readings, idle_s=3.0))
    messages = records_produced(settings, settings.topic_readings, settings.topic_partitions)
    worker, applied, seconds = _full_worker(settings, readings, "fleetpulse_worker_readings_applied_total")
    worker.terminate()
    worker.wait(30)
    latencies.sort()
    return {
        "mode": mode,
        "readings": readings,
        "messages": messages,
        "per_message": readings / max(1, messages),
        "pushes_per_s": len(latencies) / push_s,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "worker_per_s": applied / seconds if seconds else 0.0,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tokens = Path(tmp) / "tokens.json"
        tokens.write_text(json.dumps({f"bench-phone-{i:05d}": _token(i) for i in range(PHONES)}))
        rows = [_run(mode, linger, tokens) for mode, linger in MODES]
    print(f"{PHONES} phones x {PUSHES} pushes, {CONCURRENCY} in flight; the worker on the messages that landed")
    print("| mode | readings | Kafka messages | readings/message | pushes/s | push p50 / p99 ms | worker readings/s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['mode']} | {r['readings']} | {r['messages']} | {r['per_message']:.1f} | {r['pushes_per_s']:,.0f} "
            f"| {r['p50_ms']:.0f} / {r['p99_ms']:.0f} | {r['worker_per_s']:,.0f} |"
        )
    print(
        f"worker rate, coalesced / one per message: {rows[1]['worker_per_s'] / max(1.0, rows[0]['worker_per_s']):.2f}x"
    )


if __name__ == "__main__":
    main()
