"""The fault suite on real processes: the same seeded fleet through the whole pipeline twice, once calm and
once under faults, then every reading and score counted in DynamoDB and compared between the two runs.

Faults (one after another, under steady load): kill -9 of the worker and a restart, KILLS times; a broker
restart; a Connect restart; the DynamoDB server down for OUTAGE_S. The suite starts its own Kafka, Connect
and dynoxide (file-backed, so an outage is a stopped process, not lost data) on free ports and stops them.

Prints one row per fault (tried / survived / lost / duplicated) and the checks against the calm run:
readings and scores in DynamoDB (each reading exactly once), scores per (device, ts) equal to the calm
run's (device state unchanged by the faults). Bounded: a fixed number of rounds, and every wait times out.
Run: `python -m bench.fault_suite` (about 10 minutes on 2 cores).
"""

from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import msgspec

from connectors import rest
from connectors.desired import desired
from connectors.tables import dynamodb_client, ensure_tables
from core.settings import Settings
from core.topics import create_topics
from fleetpulse.stack.components import Connect, DynamoDb, Kafka
from schemas import FailureLabel, Score
from schemas.validation import InvalidRecord, decode_event, decode_reading
from tests.conftest import isolated_settings
from tests.harness import OwnServers, RealProcess, drain, free_port, start_worker, wait_for, wait_worker_ready

DEVICES, ROUNDS, SEED = 24, 360, 7  # 8,640 readings
FAULTED_SPEEDUP = 5.0  # ~6 min of steady load: long enough for every fault; the calm run goes flat out
START_MS = (int(time.time()) // 3600 - 2) * 3_600_000  # recent: the readings TTL must not expire them
KILLS, OUTAGE_S = 10, 60
SETTLE_TIMEOUT_S = 300.0


@dataclass
class Fault:
    name: str
    tried: int = 0
    survived: int = 0
    notes: list[str] = field(default_factory=list)


class OwnStack(OwnServers):
    """Kafka, dynoxide (on one SQLite file) and Connect of the suite's own, each restartable."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        kafka, ctl, dynamo, connect = free_port(), free_port(), free_port(), free_port()
        self.settings = Settings(
            stack_dir=root,
            kafka_port=kafka,
            kafka_controller_port=ctl,
            kafka_bootstrap_servers=f"127.0.0.1:{kafka}",
            dynamodb_port=dynamo,
            dynamodb_endpoint=f"http://127.0.0.1:{dynamo}",
            connect_port=connect,
            connect_url=f"http://127.0.0.1:{connect}",
            connect_metrics_port=free_port(),
            readings_ttl_days=7.0,
        )
        self.kafka = Kafka("kafka", self.settings)
        self.dynamodb = DynamoDb("dynamodb", self.settings)
        self.dynamodb.db_path = root / "dynamodb.sqlite"
        self.connect = Connect("connect", self.settings)

    def up(self) -> None:
        for component in (self.kafka, self.dynamodb, self.connect):
            self.start(component)

    def down(self) -> None:
        for component in (self.connect, self.dynamodb, self.kafka):
            self.stop(component)


def _run_settings(stack: OwnStack, tag: str) -> Settings:
    return isolated_settings(
        stack.settings,
        worker_app_id=f"faults-{tag}-worker",
        worker_session_timeout_seconds=8.0,
        simulator_api_port=0,
        simulator_batch_size=1,
        storage_policy="everything",  # every score in the table, so each one can be counted
    )


def _connectors(settings: Settings) -> dict[str, dict[str, str]]:
    return desired(settings, name_prefix=f"{settings.worker_app_id}-", kinds=("readings", "scores"))


def _simulator(settings: Settings, speedup: float) -> RealProcess:
    args = ("simulate", "--devices", str(DEVICES), "--rounds", str(ROUNDS), "--seed", str(SEED))
    args += ("--start-ms", str(START_MS), "--speedup", str(speedup), "--failure-rate", "0.5")
    return RealProcess(settings, *args, log_name=f"{settings.worker_app_id}-simulator")


def _scan(settings: Settings, table: str) -> list[dict]:
    client, items, start = dynamodb_client(settings), [], None
    while True:
        params: dict = {"TableName": table}
        if start:
            params["ExclusiveStartKey"] = start
        page = client.scan(**params)
        items.extend(page["Items"])
        if not (start := page.get("LastEvaluatedKey")):
            return items


def _valid_readings(settings: Settings) -> set[tuple[str, int]]:
    keys = set()
    for raw in drain(settings, settings.topic_readings, idle_s=8.0):
        try:
            reading = decode_reading(raw)
        except InvalidRecord:
            continue
        keys.add((reading.device_id, reading.ts))
    return keys


def _settle(settings: Settings, expected: int) -> None:
    """Wait until both tables hold `expected` items, or their counts stop moving for a minute."""
    last, since = (-1, -1), time.monotonic()
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        now = (len(_scan(settings, settings.table_readings)), len(_scan(settings, settings.table_scores)))
        if now == (expected, expected):
            return
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > 60:
            return
        time.sleep(5)


@dataclass
class Outcome:
    readings: set[tuple[str, int]]
    readings_items: int
    scores: dict[tuple[str, int], Decimal]
    score_records: Counter
    first_label: dict[str, int]  # device -> event time of its first failure label


def _first_labels(settings: Settings) -> dict[str, int]:
    first: dict[str, int] = {}
    for raw in drain(settings, settings.topic_events, idle_s=5.0):
        event = decode_event(raw)
        if isinstance(event, FailureLabel):
            first[event.device_id] = min(first.get(event.device_id, event.failure_ts), event.failure_ts)
    return first


def _outcome(settings: Settings) -> Outcome:
    readings = _valid_readings(settings)
    _settle(settings, len(readings))
    scores = {
        (i["device_id"]["S"], int(i["ts"]["N"])): Decimal(i["score"]["N"])
        for i in _scan(settings, settings.table_scores)
    }
    records = Counter(
        (s.device_id, s.ts)
        for s in (msgspec.json.decode(raw, type=Score) for raw in drain(settings, settings.topic_scores, idle_s=8.0))
    )
    return Outcome(readings, len(_scan(settings, settings.table_readings)), scores, records, _first_labels(settings))


def _pipeline(
    stack: OwnStack, tag: str, faults: Callable[[Settings, list[RealProcess]], list[Fault]] | None
) -> tuple[Outcome, list[Fault]]:
    settings = _run_settings(stack, tag)
    create_topics(settings)
    ensure_tables(settings)
    for name, config in _connectors(settings).items():
        rest.apply_config(settings.connect_url, name, config, timeout=120)
    workers = [start_worker(settings, "w0")]
    wait_worker_ready(settings, workers[0])
    speedup = FAULTED_SPEEDUP if faults is not None else 0.0
    simulator = _simulator(settings, speedup).start()
    done: list[Fault] = []
    try:
        if faults is not None:
            done = faults(settings, workers)
        load_s = ROUNDS * settings.simulator_cadence_seconds / FAULTED_SPEEDUP
        wait_for(lambda: not simulator.alive(), load_s + SETTLE_TIMEOUT_S, "the simulator to finish", interval=2)
        return _outcome(settings), done
    finally:
        simulator.stop()
        for worker in workers:
            worker.stop()
        for name in _connectors(settings):
            rest.delete(settings.connect_url, name)


def _faults(stack: OwnStack) -> Callable[[Settings, list[RealProcess]], list[Fault]]:
    def inject(settings: Settings, workers: list[RealProcess]) -> list[Fault]:
        kill = Fault("kill -9 of the worker, restarted")
        for _ in range(KILLS):
            time.sleep(6)
            kill.tried += 1
            workers[-1].stop(signal.SIGKILL)
            workers.append(start_worker(settings, f"w{len(workers)}"))
            wait_worker_ready(settings, workers[-1], timeout=120)
            kill.survived += 1
        broker, connect, dynamodb = (
            Fault("broker restart"),
            Fault("Connect restart"),
            Fault(f"DynamoDB down {OUTAGE_S} s"),
        )
        for fault, component, pause in (
            (broker, stack.kafka, 2),
            (connect, stack.connect, 2),
            (dynamodb, stack.dynamodb, OUTAGE_S),
        ):
            time.sleep(5)
            fault.tried += 1
            stack.stop(component)
            time.sleep(pause)
            stack.start(component)
            time.sleep(10)
            if workers[-1].alive():
                fault.survived += 1
            else:  # what Kubernetes would do: restart it, and say so
                fault.notes.append(f"worker exited:\n{workers[-1].log(15)}")
                workers.append(start_worker(settings, f"w{len(workers)}"))
                wait_worker_ready(settings, workers[-1], timeout=120)
        return [kill, broker, connect, dynamodb]

    return inject


def _report(calm: Outcome, faulted: Outcome, faults: list[Fault]) -> str:
    expected = len(faulted.readings)
    lost_readings = expected - faulted.readings_items
    lost_scores = len(faulted.readings - set(faulted.scores))
    duplicated = sum(n - 1 for n in faulted.score_records.values() if n > 1)
    differing = [key for key, value in calm.scores.items() if faulted.scores.get(key, value) != value]
    # A failure label reaches the model through the events topic, at whatever point of the readings stream
    # the worker happens to be: scores after a device's first label depend on that timing, not on faults.
    before_label = [(d, ts) for d, ts in differing if ts < faulted.first_label.get(d, ts + 1)]
    lines = [
        "| fault | tried | survived | readings lost | scores lost | score records duplicated |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {f.name} | {f.tried} | {f.survived} | (counted below, for the whole run) | | |" for f in faults]
    notes = [note for f in faults for note in f.notes]
    lines.append(
        f"| **all of the above, one run** | {sum(f.tried for f in faults)} | {sum(f.survived for f in faults)} "
        f"| {lost_readings} of {expected} | {lost_scores} of {expected} | {duplicated} |"
    )
    lines += [
        "",
        f"calm run: {len(calm.readings)} readings, {calm.readings_items} reading items, {len(calm.scores)} score items",
        f"faulted run: {expected} readings, {faulted.readings_items} reading items, {len(faulted.scores)} score items",
        f"scores that differ from the calm run's for the same (device, ts): {len(differing)} of {len(calm.scores)}, "
        f"{len(before_label)} of them before the device's first failure label "
        f"({len(faulted.first_label)} devices got a label)",
        f"same readings in both runs: {calm.readings == faulted.readings}",
        *notes,
    ]
    return "\n".join(lines)


def main() -> None:
    root = Path(".stack-faults").resolve() / uuid.uuid4().hex[:8]
    root.mkdir(parents=True)
    stack = OwnStack(root)
    stack.up()
    try:
        started = time.monotonic()
        calm, _ = _pipeline(stack, "calm", None)
        print(f"calm run done in {time.monotonic() - started:.0f} s", flush=True)
        started = time.monotonic()
        faulted, faults = _pipeline(stack, "faulted", _faults(stack))
        print(f"faulted run done in {time.monotonic() - started:.0f} s", flush=True)
        print(_report(calm, faulted, faults))
    finally:
        stack.down()


if __name__ == "__main__":
    main()
