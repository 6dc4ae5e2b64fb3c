"""The fuzz suite's inputs produced straight to the real readings topic, beside a real healthy simulated
fleet, into a real worker: everything refused is dead-lettered with a reason (counted exactly), the
worker keeps running, and the devices that kept reporting never leave on_time/late."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator

import pytest
import requests
from confluent_kafka import Producer

from bench import fuzz_bench
from core.kafka.config import confluent_producer_config
from core.settings import Settings
from core.topics import create_topics
from producers.fleet import Fleet, to_readings
from tests.conftest import isolated_settings
from tests.harness import RealProcess, start_worker, wait_for, wait_worker_ready

pytestmark = pytest.mark.integration
DEVICES, SEED, INPUTS = 12, 5, 1_000
SKIPPED = {"duplicates (redelivery)"}  # a produced copy gets a new offset: not a redelivery


def _metrics(settings: Settings) -> str:
    return requests.get(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics", timeout=5).text


def _series(text: str, name: str) -> dict[str, float]:
    return {m[0]: float(m[1]) for m in re.findall(rf'{name}\{{\w+="([^"]+)"\}} (\S+)', text)}


@pytest.fixture(scope="module")
def fuzzed(stack: Settings) -> Iterator[tuple[Settings, int, RealProcess]]:
    settings = isolated_settings(
        stack,
        topic_partitions=fuzz_bench.PARTITIONS,
        worker_device_metrics="all",
        worker_liveness_sweep_seconds=0.5,
        worker_silent_seconds=30.0,
        simulator_cadence_seconds=1.0,
        simulator_failure_rate_per_hour=0.0,
        event_time_max_age_seconds=7 * 86400.0,  # the production bounds: the inputs are dated around now
    )
    create_topics(settings)
    worker = start_worker(settings)
    simulator = None
    try:
        wait_worker_ready(settings, worker)
        args = ("--devices", str(DEVICES), "--seed", str(SEED), "--speedup", "1", "--api-port", "0")
        simulator = RealProcess(settings, "simulate", *args, log_name=f"{settings.worker_app_id}-sim").start()
        yield settings, _produce_fuzz(settings), worker
    finally:
        for process in (simulator, worker):
            if process is not None:
                process.stop()


def _produce_fuzz(settings: Settings) -> int:
    """The fuzz bench's inputs (all but redeliveries) over ~20 s; returns how many parts must be refused."""
    fleet = Fleet(size=DEVICES, seed=SEED, failure_rate_per_hour=0.0)
    fleet.start(int(time.time() * 1000))
    honest = to_readings(fleet, fleet.step(int(time.time() * 1000)))  # ids and types of the simulated fleet
    generator = fuzz_bench.Generator(random.Random(17))
    makers = [(name, make) for name, make in generator.categories().items() if name not in SKIPPED]
    producer = Producer(confluent_producer_config(settings, log_level=0, **{"message.max.bytes": 4_000_000}))
    refused = 0
    for i in range(INPUTS):
        _, make = makers[i % len(makers)]
        for part in make(int(time.time() * 1000), honest):
            producer.produce(settings.topic_readings, value=part.value, key=part.key, partition=part.partition)
            refused += part.expect.rejects
        if i % 50 == 0:
            producer.poll(0)
            time.sleep(1)
    assert producer.flush(30) == 0
    return refused


def test_every_refused_part_is_dead_lettered_and_counted(fuzzed: tuple[Settings, int, RealProcess]) -> None:
    settings, refused, worker = fuzzed

    def counted() -> float:
        return sum(_series(_metrics(settings), "fleetpulse_worker_dead_letters_total").values())

    wait_for(lambda: counted() >= refused, 120, f"{refused} dead letters")
    time.sleep(3)
    reasons = _series(_metrics(settings), "fleetpulse_worker_dead_letters_total")
    print(f"{INPUTS} fuzzed inputs, {refused} parts to refuse; dead-lettered: {reasons}")  # shown with -s
    assert counted() == refused
    assert worker.alive(), worker.log()


def test_the_devices_that_kept_reporting_stay_on_time(fuzzed: tuple[Settings, int, RealProcess]) -> None:
    settings, _, worker = fuzzed
    fleet = Fleet(size=DEVICES, seed=SEED)
    text = _metrics(settings)
    states = {d: s for d, s in _series(text, "fleetpulse_worker_device_liveness_state").items() if d in fleet.index_of}
    assert len(states) == DEVICES, sorted(states)
    assert max(states.values()) <= 1, states  # never silent (2) or dead (3)
    transitions = requests.get(f"http://127.0.0.1:{settings.worker_web_port}/fleet/kpis/", timeout=5).json()
    assert transitions["devices"] >= DEVICES and worker.alive()
