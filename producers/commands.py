"""The producers' commands: `fleetpulse simulate`."""

from __future__ import annotations

import logging
import sys
import time

import click
import msgspec
from prometheus_client import Counter, Gauge, start_http_server

from core.kafka.config import require_kafka
from core.partitioning import Partitioner
from core.settings import Settings, get_settings
from producers.batching import envelopes
from producers.fleet import PHASES, Fleet, invalid_mask, schedule_scripted, to_readings
from producers.kafka_producer import ReadingProducer, StopFlag
from schemas import DEVICE_TYPES, InvalidRecord
from schemas.admission import TimeBounds

log = logging.getLogger(__name__)
rounds_total = Counter("fleetpulse_simulator_rounds", "Rounds of readings the simulator produced.")
devices_by_phase = Gauge("fleetpulse_simulator_devices", "Simulated devices by state machine phase.", ["phase"])
_encoder = msgspec.json.Encoder()


def produce_round(
    fleet: Fleet, producer: ReadingProducer, ts: int, partitioner: Partitioner | None = None, batch_size: int = 1
) -> int:
    """Step the fleet to `ts`, validate the round as a whole, produce readings then events. With
    `batch_size` > 1 the readings go as batch envelopes (arrays) to their murmur2 partition."""
    with fleet.lock:  # the control API mutates the fleet between rounds, never during one
        batch = fleet.step(ts)
        events = fleet.take_events()
    bad, fields = invalid_mask(fleet, batch)
    readings = to_readings(fleet, batch)
    # Faster than real time, the simulation's clock runs ahead of the wall clock: its records carry it, so
    # event-time admission (schemas/admission.py) judges them by it. Never stamped into the past, where
    # the topic's time-based retention would delete them.
    stamp = ts if ts > time.time() * 1000 else None
    batched: list[tuple[bytes, bytes]] = []
    for reading, device, is_bad in zip(readings, batch.index.tolist(), bad.tolist(), strict=True):
        value = _encoder.encode(reading)
        if is_bad:  # a simulator bug, never produced as a reading: dead-lettered and counted
            producer.dead_letter(reading.device_id, value, "implausible", f"outside bounds: {', '.join(fields)}")
        elif partitioner is not None and batch_size > 1:
            batched.append((fleet.keys[device], value))
        else:
            producer.send_raw(fleet.keys[device], value, timestamp_ms=stamp)
    if batched:
        for partition, key, value, count in envelopes(batched, partitioner, batch_size):  # type: ignore[arg-type]
            producer.send_raw(key, value, partition=partition, records=count, timestamp_ms=stamp)
    for event in events:
        producer.send_event(event)
    return len(readings)


def _publish_phases(fleet: Fleet) -> None:
    counts = [int((fleet.phase == i).sum()) for i in range(len(PHASES))]
    for name, count in zip(PHASES, counts, strict=True):
        devices_by_phase.labels(name).set(count)


def run_simulation(
    settings: Settings, fleet: Fleet, producer: ReadingProducer, start: int, rounds: int, pace: float, stop: StopFlag
) -> None:
    with fleet.lock:
        fleet.start(start)
        events = fleet.take_events()
    for event in events:
        producer.send_event(event)
    batch_size = settings.simulator_batch_size
    partitioner = Partitioner(producer.partition_count()) if batch_size > 1 else None
    wall_start = time.monotonic()
    tick = 0
    while (rounds == 0 or tick < rounds) and not stop.stopping:
        ts = start + tick * fleet.cadence_ms
        if pace > 0:  # hold each round until its (accelerated) wall-clock time
            stop.sleep((ts - start) / 1000 / pace - (time.monotonic() - wall_start))
            if stop.stopping:
                break
        produce_round(fleet, producer, ts, partitioner, batch_size)
        rounds_total.inc()
        if tick % 10 == 0:
            _publish_phases(fleet)
            producer.poll(0)
            acked = producer.acknowledged_by_topic
            log.info(
                "round %d at ts %d: acknowledged readings=%d events=%d",
                tick,
                ts,
                acked.get(producer.topic, 0),
                acked.get(producer.topic_events, 0),
            )
        tick += 1


@click.command("simulate")
@click.option("--devices", type=int, help="Fleet size, 1..100000 [FLEETPULSE_SIMULATOR_DEVICES].")
@click.option("--rounds", type=int, default=0, show_default=True, help="Readings per device; 0 = forever.")
@click.option("--start-ms", type=int, help="Event time of the first round (default: now). Fix it to replay.")
@click.option("--speedup", type=float, help="Event seconds per wall second; 0 = as fast as possible.")
@click.option("--seed", type=int, help="[FLEETPULSE_SIMULATOR_SEED]")
@click.option("--failure-rate", type=float, help="Failures per device per event-hour [..._FAILURE_RATE_PER_HOUR].")
@click.option("--api-port", type=int, help="Control API port, 0 = none [FLEETPULSE_SIMULATOR_API_PORT].")
@click.option(
    "--batch",
    type=click.IntRange(1, 1000),
    help="Readings per message; > 1 = batch envelope arrays per partition [FLEETPULSE_SIMULATOR_BATCH_SIZE].",
)
def simulate(
    devices: int | None,
    rounds: int,
    start_ms: int | None,
    speedup: float | None,
    seed: int | None,
    failure_rate: float | None,
    api_port: int | None,
    batch: int | None,
) -> None:
    """Run the seeded simulated fleet into the readings topic, ground truth into the events topic."""
    settings = get_settings()
    if batch is not None:
        settings = settings.model_copy(update={"simulator_batch_size": batch})
    size = devices or settings.simulator_devices
    if not 1 <= size <= 100_000:
        raise click.BadParameter("must be 1..100000", param_hint="--devices")
    require_kafka(settings)
    start_http_server(settings.simulator_metrics_port, addr=settings.bind_host)
    fleet = Fleet(
        size=size,
        seed=settings.simulator_seed if seed is None else seed,
        cadence_ms=int(settings.simulator_cadence_seconds * 1000),
        failure_rate_per_hour=settings.simulator_failure_rate_per_hour if failure_rate is None else failure_rate,
    )
    start = start_ms if start_ms is not None else int(time.time() * 1000)
    try:
        for device_id, mode, onset in schedule_scripted(fleet, settings.simulator_scripted_failures, start):
            log.info("scripted failure: %s begins %s at event time %d", device_id, mode, onset)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="FLEETPULSE_SIMULATOR_SCRIPTED_FAILURES") from error
    pace = settings.simulator_speedup if speedup is None else speedup
    producer = ReadingProducer(settings, stage="simulator")
    stop = StopFlag()
    port = settings.simulator_api_port if api_port is None else api_port
    api = None
    if port:
        from producers.control_api import ControlApi

        api = ControlApi(fleet, settings.bind_host, port).start()
    try:
        run_simulation(settings, fleet, producer, start, rounds, pace, stop)
    finally:
        if api is not None:
            api.stop()
        unacknowledged = producer.flush()
    by_topic = ", ".join(f"{t}={n}" for t, n in sorted(producer.acknowledged_by_topic.items()))
    click.echo(
        f"acknowledged {producer.acknowledged} ({by_topic}), failed {producer.failed}, unacknowledged {unacknowledged}"
        f"; {producer.acknowledged_messages} messages"
    )
    if producer.failed or unacknowledged:
        sys.exit(1)


@click.command("agent")
@click.option("--once", is_flag=True, help="Produce one reading, wait for Kafka's acknowledgement, exit.")
@click.option("--device-id", help="[FLEETPULSE_AGENT_DEVICE_ID]; default host-<hostname>.")
@click.option("--device-type", type=click.Choice(DEVICE_TYPES), help="Default: raspberry_pi when detected, else pc.")
def agent(once: bool, device_id: str | None, device_type: str | None) -> None:
    """Report this machine's real sensor readings (psutil; vcgencmd on a Raspberry Pi)."""
    from producers.host_agent import HostAgent

    settings = get_settings()
    require_kafka(settings)
    host = HostAgent(device_id or settings.agent_device_id, device_type)
    producer = ReadingProducer(settings, stage="agent")
    stop = StopFlag()
    if not once:
        start_http_server(settings.agent_metrics_port, addr=settings.bind_host)
    while not stop.stopping:
        reading = host.read()
        try:
            producer.send(reading)
        except InvalidRecord as error:  # e.g. an implausible sensor value: dead-lettered, counted
            producer.dead_letter(reading.device_id, _encoder.encode(reading), error.reason, error.error)
        if once:
            break
        stop.sleep(settings.agent_interval_seconds)
        producer.poll(0)
    unacknowledged = producer.flush()
    click.echo(f"acknowledged {producer.acknowledged}, failed {producer.failed}, unacknowledged {unacknowledged}")
    if producer.failed or unacknowledged:
        sys.exit(1)


@click.command("ingest")
@click.option("--port", type=int, help="[FLEETPULSE_INGEST_PORT]")
def ingest(port: int | None) -> None:
    """Receive Sensor Logger HTTP pushes from phones (POST /push) and produce canonical readings."""
    from aiohttp import web

    from producers.coalescing import Coalescer
    from producers.phone_ingest import IngestServer, load_tokens

    settings = get_settings()
    tokens = load_tokens(settings.ingest_tokens_file)  # a bad file ends here, before any port is taken
    require_kafka(settings)
    start_http_server(settings.ingest_metrics_port, addr=settings.bind_host)
    producer = ReadingProducer(settings, stage="ingest")
    coalescer = Coalescer(
        producer, producer.partition_count(), settings.ingest_linger_ms, settings.ingest_envelope_max_readings
    )
    server = IngestServer(
        producer,
        tokens,
        settings.ingest_max_body_bytes,
        settings.ingest_rate_per_minute,
        TimeBounds.from_seconds(settings.event_time_max_ahead_seconds, settings.event_time_max_age_seconds),
        coalescer,
    )
    # aiohttp handles SIGTERM/SIGINT itself: stops accepting, runs cleanup (which flushes the producer).
    web.run_app(server.app(), host=settings.bind_host, port=port or settings.ingest_port, print=None)
