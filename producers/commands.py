"""The producers' commands: `fleetpulse simulate`."""

from __future__ import annotations

import signal
import sys
import time

import click
from prometheus_client import start_http_server

from fleetpulse.settings import get_settings
from producers.fleet import build_fleet, readings
from producers.kafka_producer import ReadingProducer


@click.command("simulate")
@click.option("--devices", type=int, help="Fleet size [FLEETPULSE_SIMULATOR_DEVICES].")
@click.option("--rounds", type=int, default=0, show_default=True, help="Readings per device; 0 = forever.")
@click.option("--start-ms", type=int, help="Event time of the first round (default: now). Fix it to replay.")
@click.option("--speedup", type=float, help="Event seconds per wall second; 0 = as fast as possible.")
def simulate(devices: int | None, rounds: int, start_ms: int | None, speedup: float | None) -> None:
    """Run the seeded simulated fleet into the readings topic."""
    settings = get_settings()
    start_http_server(settings.simulator_metrics_port, addr=settings.bind_host)
    fleet = build_fleet(devices or settings.simulator_devices, settings.simulator_seed)
    cadence_ms = int(settings.simulator_cadence_seconds * 1000)
    start = start_ms if start_ms is not None else int(time.time() * 1000)
    pace = settings.simulator_speedup if speedup is None else speedup
    producer = ReadingProducer(settings)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    wall_start = time.monotonic()
    for reading in readings(fleet, start, cadence_ms, rounds):
        if stopping:
            break
        if pace > 0:  # hold each event until its (accelerated) wall-clock time
            delay = (reading.ts - start) / 1000 / pace - (time.monotonic() - wall_start)
            if delay > 0:
                time.sleep(delay)
        producer.send(reading)
    unacknowledged = producer.flush()
    click.echo(f"acknowledged {producer.acknowledged}, failed {producer.failed}, unacknowledged {unacknowledged}")
    if producer.failed or unacknowledged:
        sys.exit(1)
