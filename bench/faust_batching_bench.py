"""How fast can a Faust agent take readings when each Kafka message carries more than one?

The streams bench found Faust's per-message consumer path (aiokafka fetch, stream, acks) costing ~70 %
of the worker's CPU, with a do-nothing Faust agent below 20k messages/s here. This experiment measures, in
one run and side by side, a plain Faust agent that decodes and validates every reading (msgspec) when the
same readings arrive 1, 10 and 50 to a message — the design option of a batch envelope. It changes no
product code. Needs a running stack (`FLEETPULSE_STACK_DIR=.stack-dev fleetpulse stack up`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import msgspec
from confluent_kafka import Producer

from bench.streams_bench import ROOT, _env, _reading
from core.kafka.config import confluent_config, faust_broker_url
from core.settings import Settings
from core.topics import create_topics
from schemas import Reading
from tests.harness import free_port

READINGS = int(os.environ.get("FLEETPULSE_BENCH_READINGS", "120000"))
DEVICES = 2_000
SECONDS = float(os.environ.get("FLEETPULSE_BENCH_SECONDS", "20"))
PER_MESSAGE = (1, 10, 50)
_encoder = msgspec.json.Encoder()


def _produce(settings: Settings, topic: str, per_message: int) -> None:
    """READINGS readings, `per_message` to a message (a JSON array, keyed by its first device)."""
    producer = Producer(confluent_config(settings, **{"linger.ms": 5, "compression.type": "lz4", "log_level": 0}))
    batch: list[Reading] = []
    for index in range(READINGS):
        batch.append(_reading(index % DEVICES, index // DEVICES, 1_795_000_000_000 + index))
        if len(batch) == per_message:
            value = _encoder.encode(batch if per_message > 1 else batch[0])
            while True:
                try:
                    producer.produce(topic, key=batch[0].device_id.encode(), value=value)
                    break
                except BufferError:
                    producer.poll(0.05)
            batch = []
    assert producer.flush(60) == 0


def _run_agent(settings: Settings, topic: str, per_message: int) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "bench.faust_batching_bench", "agent", topic, str(per_message)],
        env=_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SECONDS + 90,
    )
    lines = [line for line in (out.stdout + out.stderr).splitlines() if "RATE " in line]  # Faust logs stdout
    if not lines:
        raise RuntimeError(f"agent failed:\n{out.stdout[-1500:]}\n{out.stderr[-1500:]}")
    return float(lines[-1].split("RATE ")[1].split()[0])


def agent_main(topic_name: str, per_message: int) -> None:
    """A Faust agent that decodes every reading of every message; prints readings/s and exits."""
    import faust

    single, many = msgspec.json.Decoder(Reading), msgspec.json.Decoder(list[Reading])
    app = faust.App(
        f"bench-batching-{uuid.uuid4().hex[:6]}",
        broker=faust_broker_url(Settings()),
        web_port=free_port(),
        datadir=f"/tmp/{uuid.uuid4().hex[:6]}-bench-batching",
        autodiscover=False,
        stream_buffer_maxsize=4096,
    )
    topic = app.topic(topic_name, key_serializer="raw", value_serializer="raw")
    state = {"readings": 0, "began": 0.0}

    def report() -> None:
        print(f"RATE {state['readings'] / (time.perf_counter() - state['began']):.0f}", flush=True)
        os._exit(0)

    @app.agent(topic)
    async def decode(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            if not state["readings"]:
                state["began"] = time.perf_counter()
                threading.Timer(SECONDS, report).start()
            state["readings"] += len(many.decode(value)) if per_message > 1 else bool(single.decode(value))
            if state["readings"] >= READINGS:
                report()

    sys.argv = ["bench-batching", "worker", "-l", "warn"]
    app.main()


def main() -> None:
    settings = Settings()
    tag = uuid.uuid4().hex[:6]
    rates = {}
    for per_message in PER_MESSAGE:
        topic = f"bench-batching-{tag}-{per_message}"
        create_topics(settings.model_copy(update={"topic_partitions": 6}), [topic])
        _produce(settings, topic, per_message)
        rates[per_message] = _run_agent(settings, topic, per_message)
        print(
            f"plain Faust agent, decode + validate, {per_message:>2} reading(s)/message: "
            f"{rates[per_message]:>9,.0f} readings/s   {rates[per_message] / rates[1]:5.1f}x",
            flush=True,
        )
    print(f"(target per worker process: 20,000 readings/s; {READINGS:,} readings per run)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["agent"]:
        agent_main(sys.argv[2], int(sys.argv[3]))
    else:
        main()
