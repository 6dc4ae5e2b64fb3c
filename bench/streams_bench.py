"""The stream worker against the real local Kafka, side by side in one run.

1. throughput on the same pre-produced readings (each side its own consumer group, from the start):
   raw ceiling (confluent-kafka consume + msgspec decode/validate, no processing), a plain per-event Faust
   agent doing nothing, and the full worker (validation + windows + liveness + scores + stats + state +
   metrics); readings/s, ratios to the raw ceiling.
2. produce→output latency at 2k readings/s through the running worker: produce→score per reading and
   produce→stats per closed window (from the produce of the reading that closed it; lateness 0 here).
   Event time runs 20x wall time so minute windows close every 3 s.
3. memory per device at 10k and 100k devices, measured on the state structures (tracemalloc).
4. where time goes: pyinstrument over the framework-free batch processor.

Each phase is bounded (`FLEETPULSE_BENCH_SECONDS`, default 20; `FLEETPULSE_BENCH_ROUNDS` of 4,000 readings,
default 50). Usage: `python -m bench.streams_bench`.
`python -m bench.streams_bench scorers`: only the full worker, with the River model then with the baseline
scorer, on the same pre-produced readings (each its own consumer group), side by side.
"""

from __future__ import annotations

import bisect
import os
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
from collections import defaultdict
from pathlib import Path

import msgspec
import requests
from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

from core.kafka.config import confluent_config, faust_broker_url
from core.partitioning import Partitioner
from core.settings import Settings
from core.topics import create_topics
from producers.batching import envelopes
from schemas import Reading, Score, decode_reading, encode
from schemas.window_stats import WindowStats
from tests.harness import free_port, settings_env

ROOT = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("FLEETPULSE_BENCH_SECONDS", "20"))
DEVICES = 4_000
# 50 rounds: 200k readings, 250 s of event time at 5 s, so windows close. More rounds make a longer, steadier
# measurement on a noisy machine (`FLEETPULSE_BENCH_ROUNDS`; raise FLEETPULSE_BENCH_SECONDS with it).
ROUNDS = int(os.environ.get("FLEETPULSE_BENCH_ROUNDS", "50"))
CADENCE_MS = 5_000
# An hour ago, on a minute: the worker's admission dead-letters readings older than
# FLEETPULSE_EVENT_TIME_MAX_AGE_SECONDS (7 days), so a fixed date stops being processed at all.
T0 = (int(time.time() * 1000) - 3_600_000) // 60_000 * 60_000
TARGET = 20_000


def _reading(device: int, round_: int, ts: int, prefix: str = "bench") -> Reading:
    kind = ("pc", "server", "raspberry_pi", "phone")[device % 4]
    return Reading(
        device_id=f"{prefix}-{device:06d}",
        device_type=kind,
        ts=ts,
        seq=round_,
        temperature_c=40.0 + (device * 7 + round_) % 13,
        power_w=5.0 + (device + round_) % 9,
        load_pct=float((device + 3 * round_) % 100),
        voltage_v=3.8 if kind == "phone" else 5.1 if kind == "raspberry_pi" else 12.0,
        clock_ghz=1.5,
    )


def _producer(settings: Settings) -> Producer:
    return Producer(
        confluent_config(
            settings,
            **{"partitioner": "murmur2_random", "linger.ms": 5, "compression.type": "lz4", "log_level": 0},
        )
    )


def _send(producer: Producer, topic: str, key: bytes, value: bytes, partition: int = -1) -> None:
    """Produce, waiting for deliveries while the local queue is full."""
    while True:
        try:
            producer.produce(topic, key=key, value=value, partition=partition)
            return
        except BufferError:
            producer.poll(0.05)


def _preproduce(settings: Settings) -> int:
    producer = _producer(settings)
    for r in range(ROUNDS):
        for d in range(DEVICES):
            reading = _reading(d, r, T0 + r * CADENCE_MS)
            _send(producer, settings.topic_readings, reading.device_id.encode(), encode(reading))
        producer.poll(0)
    assert producer.flush(60) == 0
    return DEVICES * ROUNDS


def _raw_ceiling(settings: Settings, total: int) -> tuple[int, float]:
    consumer = Consumer(
        confluent_config(
            settings,
            **{"group.id": f"bench-raw-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest", "log_level": 0},
        )
    )
    consumer.subscribe([settings.topic_readings])
    count, began = 0, None
    deadline = time.monotonic() + SECONDS + 10
    while count < total and time.monotonic() < deadline:
        for message in consumer.consume(1000, 0.5):
            if message.error() is None:
                began = began or time.perf_counter()
                decode_reading(message.value())
                count += 1
    consumer.close()
    return count, time.perf_counter() - (began or time.perf_counter())


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings_env(settings)}


def _plain_faust(settings: Settings, total: int) -> tuple[int, float]:
    """A per-event Faust agent that only counts, in its own process (Faust owns its event loop)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.streams_bench", "plain-agent", str(total)],
        env=_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SECONDS + 60,
    )
    lines = [line for line in (out.stdout + out.stderr).splitlines() if "PLAIN " in line]
    if not lines:
        raise RuntimeError(f"plain agent failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    count, seconds = lines[-1].split("PLAIN ")[1].split()[:2]
    return int(count), float(seconds)


def plain_agent_main(total: int) -> None:
    import faust

    settings = Settings()
    app = faust.App(
        f"bench-plain-{uuid.uuid4().hex[:6]}",
        broker=faust_broker_url(settings),
        web_port=free_port(),
        datadir=f"/tmp/{uuid.uuid4().hex[:6]}-bench-plain",
        autodiscover=False,
        stream_buffer_maxsize=4096,
    )
    topic = app.topic(settings.topic_readings, key_serializer="raw", value_serializer="raw")
    state = {"count": 0, "began": 0.0}

    def report() -> None:
        print(f"PLAIN {state['count']} {time.perf_counter() - state['began']:.3f}", flush=True)
        os._exit(0)

    @app.agent(topic)
    async def count(stream):
        async for _ in stream:
            if not state["count"]:
                state["began"] = time.perf_counter()
                threading.Timer(SECONDS, report).start()
            state["count"] += 1
            if state["count"] >= total:
                report()

    sys.argv = ["bench-plain", "worker", "-l", "warn"]
    app.main()


def _metric(settings: Settings, name: str) -> float:
    try:
        text = requests.get(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics", timeout=2).text
    except requests.RequestException:
        return -1.0
    lines = [line for line in text.splitlines() if line.startswith((name + "{", name + " "))]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    log = open(f"/tmp/{settings.worker_app_id}.log", "wb")  # noqa: SIM115 (kept open for the child's lifetime)
    worker = subprocess.Popen(
        [sys.executable, "-m", "fleetpulse", "worker"], env=_env(settings), cwd=ROOT, stdout=log, stderr=log
    )
    deadline, path = time.monotonic() + 90, Path(f"/tmp/{settings.worker_app_id}.log")
    while b"Worker ready" not in path.read_bytes() and time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited; see {path}")
        time.sleep(0.05)
    return worker


def _full_worker(
    settings: Settings, total: int, name: str = "fleetpulse_worker_records_in_total"
) -> tuple[subprocess.Popen[bytes], int, float]:
    worker = _start_worker(settings)
    deadline = time.monotonic() + 90
    while _metric(settings, name) <= 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    began, start_count = time.perf_counter(), max(0.0, _metric(settings, name))
    end = time.monotonic() + SECONDS
    count = start_count
    while count < total and time.monotonic() < end:
        time.sleep(0.1)
        count = _metric(settings, name)
    return worker, int(count - start_count), time.perf_counter() - began


def _latency(settings: Settings, rate: float = 2_000.0, seconds: float = 15.0, speedup: float = 20.0) -> dict:
    devices = int(rate)  # one reading per device per wall second
    consumer = Consumer(confluent_config(settings, **{"group.id": f"bench-lat-{uuid.uuid4().hex[:6]}", "log_level": 0}))
    consumer.assign(
        [TopicPartition(t, p, OFFSET_END) for t in (settings.topic_scores, settings.topic_stats) for p in range(6)]
    )
    consumer.consume(1, 2.0)  # join the assignment before producing
    produced: dict[str, list[tuple[int, float]]] = defaultdict(list)
    arrivals: list[tuple[str, bytes, float]] = []
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            for message in consumer.consume(1000, 0.2):
                if message.error() is None and message.key().startswith(b"lat-"):
                    arrivals.append((message.topic(), message.value(), time.time()))

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    producer = _producer(settings)
    wall0, event0 = time.time(), (int(time.time() * 1000) // 60_000 + 1) * 60_000
    sent, round_ = 0, 0
    while time.time() - wall0 < seconds:
        for d in range(devices):
            now = time.time()
            ts = event0 + int((now - wall0) * speedup * 1000)
            reading = _reading(d, round_, ts, prefix="lat")
            producer.produce(settings.topic_readings, key=reading.device_id.encode(), value=encode(reading))
            produced[reading.device_id].append((ts, now))
            sent += 1
            producer.poll(0)
            time.sleep(max(0.0, wall0 + sent / rate - time.time()))
        round_ += 1
    producer.flush(30)
    time.sleep(3)
    stop.set()
    thread.join(5)
    consumer.close()
    to_score, to_stats = [], []
    for topic, value, arrived in arrivals:
        if topic == settings.topic_scores:
            score = msgspec.json.decode(value, type=Score)
            sent_at = dict(produced[score.device_id]).get(score.ts)
            if sent_at:
                to_score.append(arrived - sent_at)
        else:
            stats = msgspec.json.decode(value, type=WindowStats)
            series = produced[stats.device_id]
            i = bisect.bisect_left(series, (stats.window_end, 0.0))  # the reading that closed the window
            if i < len(series):
                to_stats.append(arrived - series[i][1])

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 2 else float("nan")

    return {
        "sent": sent,
        "rate": sent / seconds,
        "score_n": len(to_score),
        "score_p50_ms": pct(to_score, 50),
        "score_p99_ms": pct(to_score, 99),
        "stats_n": len(to_stats),
        "stats_p50_ms": pct(to_stats, 50),
        "stats_p99_ms": pct(to_stats, 99),
    }


def _memory(devices: int) -> tuple[float, int]:
    """Bytes per device of the worker's state: the table value (steady state: ~6 one-minute buckets of 6
    sensors), the liveness index entry and the latest-reading entry for metrics."""
    from streams.processor import Processor, Record

    # one device to steady state (7 minutes of 5 s readings) gives the steady-state encoded size
    warm: dict[str, bytes] = {}
    readings = [Record(0, r, encode(_reading(0, r, T0 + r * CADENCE_MS))) for r in range(84)]
    warm.update(
        (d, v)
        for d, (_, v) in Processor(lateness_ms=10_000).process(readings, lambda d, _p: warm.get(d)).writes.items()
    )
    steady = next(iter(warm.values()))
    batch = [Record(d % 6, d, encode(_reading(d, 0, T0))) for d in range(devices)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    table: dict[str, bytes] = {}
    processor = Processor(lateness_ms=10_000)
    for i in range(0, devices, 2_000):
        result = processor.process(batch[i : i + 2_000], lambda d, _p: table.get(d))
        for device_id in result.writes:
            table[device_id] = bytes(bytearray(steady))  # a distinct steady-state-sized value per device
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used / devices, len(steady)


def _profile(n: int = 100_000) -> str:
    from pyinstrument import Profiler

    from streams.processor import Processor, Record
    from streams.scoring import make_scorer

    records = [
        Record(d % 6, r * 2_000 + d, encode(_reading(d, r, T0 + r * CADENCE_MS)))
        for r in range(n // 2_000)
        for d in range(2_000)
    ]

    kept = Settings().worker_model_cache_devices

    def worker_like() -> Processor:
        """As the worker builds it: device states and models kept decoded between batches."""
        return Processor(lateness_ms=10_000, scorer=make_scorer("model", kept), kept_devices=kept)

    def run() -> float:
        table: dict[str, bytes] = {}
        processor = worker_like()
        began = time.perf_counter()
        for i in range(0, len(records), 2_000):
            result = processor.process(records[i : i + 2_000], lambda d, _p: table.get(d))
            table.update({device_id: value for device_id, (_, value) in result.writes.items()})
        return len(records) / (time.perf_counter() - began)

    plain_rate = run()
    table: dict[str, bytes] = {}
    processor = worker_like()
    profiler = Profiler(interval=0.0005)
    began = time.perf_counter()
    profiler.start()
    for i in range(0, len(records), 2_000):
        result = processor.process(records[i : i + 2_000], lambda d, _p: table.get(d))
        table.update({device_id: value for device_id, (_, value) in result.writes.items()})
    profiler.stop()
    rate = len(records) / (time.perf_counter() - began)
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    lines = [line for line in text.splitlines() if line.strip()][:40]
    header = (
        f"processor alone (no Kafka, 2,000 devices): {plain_rate:,.0f} readings/s; under the profiler {rate:,.0f}/s"
    )
    return header + "\n" + "\n".join(lines)


def _settings(prefix: str) -> Settings:
    tag = f"{prefix}-{uuid.uuid4().hex[:6]}"
    return Settings().model_copy(
        update={
            "topic_readings": f"{tag}.readings",
            "topic_scores": f"{tag}.scores",
            "topic_dead_letters": f"{tag}.dead-letters",
            "topic_events": f"{tag}.events",
            "topic_stats": f"{tag}.stats",
            "worker_app_id": f"{tag}-worker",
            "worker_web_port": free_port(),
            "worker_metrics_port": free_port(),
            "worker_lateness_seconds": 0.0,
            "topic_partitions": 6,
        }
    )


def main() -> None:
    settings = _settings("bench")
    create_topics(settings)
    began = time.perf_counter()
    total = _preproduce(settings)
    print(f"pre-produced {total:,} readings ({DEVICES:,} devices x {ROUNDS}) in {time.perf_counter() - began:.1f}s")

    raw = _raw_ceiling(settings, total)
    plain = _plain_faust(settings, total)
    worker, *full = _full_worker(settings, total)
    worker.terminate()
    worker.wait(30)
    # latency on a fresh worker and topic, so the throughput backlog does not queue in front of it
    fresh = _settings("benchlat")
    create_topics(fresh)
    worker = _start_worker(fresh)
    try:
        latency = _latency(fresh)
    finally:
        worker.terminate()
        worker.wait(30)
    rows = [("raw consume + decode", *raw), ("plain Faust agent", *plain), ("full worker", *full)]
    ceiling = raw[0] / raw[1] if raw[1] else float("nan")
    print(f"\n{'side':<24}{'readings':>10}{'seconds':>9}{'readings/s':>12}{'vs raw':>8}{'vs target':>10}")
    for name, count, seconds in rows:
        rate = count / seconds if seconds else float("nan")
        print(f"{name:<24}{count:>10,}{seconds:>9.1f}{rate:>12,.0f}{rate / ceiling:>8.2f}{rate / TARGET:>10.2f}")
    print(
        f"\nlatency at {latency['rate']:,.0f} readings/s: produce->score p50 {latency['score_p50_ms']:.0f} ms, "
        f"p99 {latency['score_p99_ms']:.0f} ms (n={latency['score_n']:,}); produce->stats p50 "
        f"{latency['stats_p50_ms']:.0f} ms, p99 {latency['stats_p99_ms']:.0f} ms (n={latency['stats_n']:,}) "
        "[target p99 < 1000 ms]"
    )
    for devices in (10_000, 100_000):
        per_device, encoded = _memory(devices)
        print(
            f"memory at {devices:,} devices: {per_device / 1024:.1f} KiB/device "
            f"(steady-state value {encoded:,} B) [target <= 20 KB]"
        )
    print("\n" + _profile())


def scorers_main() -> None:
    settings = _settings("benchsc")
    create_topics(settings)
    total = _preproduce(settings)
    print(f"pre-produced {total:,} readings ({DEVICES:,} devices x {ROUNDS})")
    rows = []
    for scorer in ("model", "baseline"):
        side = settings.model_copy(
            update={"worker_scorer": scorer, "worker_app_id": f"{settings.worker_app_id}-{scorer}"}
        )
        worker, count, seconds = _full_worker(side, total)
        worker.terminate()
        worker.wait(30)
        rows.append((scorer, count, seconds))
    print(f"\n{'full worker, scorer':<24}{'readings':>10}{'seconds':>9}{'readings/s':>12}{'us/reading':>11}")
    for name, count, seconds in rows:
        rate = count / seconds if seconds else float("nan")
        print(f"{name:<24}{count:>10,}{seconds:>9.1f}{rate:>12,.0f}{1e6 / rate:>11.0f}")


def _preproduce_envelopes(settings: Settings, per_message: int) -> int:
    """The same readings as _preproduce, as batch envelopes of up to `per_message` readings per message."""
    producer = _producer(settings)
    partitioner = Partitioner(settings.topic_partitions)
    for r in range(ROUNDS):
        pairs = []
        for d in range(DEVICES):
            reading = _reading(d, r, T0 + r * CADENCE_MS)
            pairs.append((reading.device_id.encode(), encode(reading)))
        for partition, key, value, _ in envelopes(pairs, partitioner, per_message):
            _send(producer, settings.topic_readings, key, value, partition)
        producer.poll(0)
    assert producer.flush(60) == 0
    return DEVICES * ROUNDS


def envelopes_main(per_message: int = 20) -> None:
    """The full worker on one reading per message and on batch envelopes, side by side, both scorers, beside a
    plain do-nothing Faust agent on the one-reading messages (the per-message framework cost)."""
    rows = []
    plain: tuple[int, float] | None = None
    for label, produce in (
        ("1 reading/message", _preproduce),
        (f"{per_message} readings/message", lambda s: _preproduce_envelopes(s, per_message)),
    ):
        settings = _settings("benchenv")
        create_topics(settings)
        total = produce(settings)
        if plain is None:
            plain = _plain_faust(settings, total)
            rows.append(("plain Faust agent, 1/message", *plain))
            print(f"plain Faust agent: {plain[0]:,} in {plain[1]:.1f}s = {plain[0] / plain[1]:,.0f}/s", flush=True)
        for scorer in ("model", "baseline"):
            side = settings.model_copy(
                update={"worker_scorer": scorer, "worker_app_id": f"{settings.worker_app_id}-{scorer}"}
            )
            worker, count, seconds = _full_worker(side, total, "fleetpulse_worker_readings_applied_total")
            worker.terminate()
            worker.wait(30)
            rows.append((f"{label}, {scorer}", count, seconds))
            print(f"{rows[-1][0]}: {count:,} in {seconds:.1f}s = {count / seconds:,.0f}/s", flush=True)
    plain_rate = plain[0] / plain[1] if plain and plain[1] else float("nan")
    print(f"\n{'side':<32}{'readings':>10}{'seconds':>9}{'readings/s':>12}{'vs target':>10}{'vs plain':>9}")
    for name, count, seconds in rows:
        rate = count / seconds if seconds else float("nan")
        print(f"{name:<32}{count:>10,}{seconds:>9.1f}{rate:>12,.0f}{rate / TARGET:>10.2f}{rate / plain_rate:>9.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "plain-agent":
        plain_agent_main(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "scorers":
        scorers_main()
    elif len(sys.argv) > 1 and sys.argv[1] == "envelopes":
        envelopes_main()
    else:
        main()
