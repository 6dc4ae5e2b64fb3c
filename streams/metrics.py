"""The worker's Prometheus metrics (base units, _total counters, _seconds histograms).

Per-device series come from a snapshot the event loop refreshes (`Snapshot`), read by a custom collector
at scrape time, so the hot path never calls `.labels()` per reading and the HTTP thread never iterates
dicts the event loop is mutating. Cardinality: `worker_device_metrics=all` exposes every device,
`top` (default) exposes fleet aggregates plus the top-K devices by failure score; the per-device reason
and window-stat series cover the same devices (at most 6 sensors x 5 stats each).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.windows import Stats


def observe_many(histogram: Histogram, amounts: Iterable[float]) -> None:
    """`histogram.observe(amount)` for every amount, with one increment per bucket and one of the sum (the
    worker observes every reading's lag, and observe() took 0.7 us each). The counts are exact; the sum is
    added once, so its last bits may differ from adding one by one. Uses prometheus_client's Histogram
    internals (0.23.1, locked); a test holds it to observe()."""
    bounds = histogram._upper_bounds  # ascending, the last +Inf
    counts = [0] * len(bounds)
    total = 0.0
    for amount in amounts:
        total += amount
        counts[bisect_left(bounds, amount)] += 1  # observe(): the first bucket with amount <= its bound
    histogram._sum.inc(total)
    for bucket, count in zip(histogram._buckets, counts, strict=True):
        if count:
            bucket.inc(count)


records_in = Counter("fleetpulse_worker_records_in", "Records consumed by the worker.", ["topic"])
readings_applied = Counter(
    "fleetpulse_worker_readings_applied",
    "Readings applied to device state and scored (each reading of a batch envelope counts).",
)
records_out = Counter("fleetpulse_worker_records_out", "Records produced by the worker.", ["topic"])
dead_letters = Counter("fleetpulse_worker_dead_letters", "Records rejected to the dead-letter topic.", ["reason"])
late_readings = Counter(
    "fleetpulse_worker_late_readings", "Readings whose event-time window had closed (counted, not in stats)."
)
replayed_readings = Counter(
    "fleetpulse_worker_replayed_readings", "Redelivered readings skipped because their device state has them."
)
duplicate_readings = Counter(
    "fleetpulse_worker_duplicate_readings",
    "Readings re-sent at a new offset (same device and event time as one applied): skipped, not counted twice.",
)
skipped_records_read_back = Counter(
    "fleetpulse_worker_skipped_records_read_back",
    "Input records Faust never delivered (skipped across a rebalance), read back from Kafka and applied.",
    ["topic"],
)
stalled_records_taken_over = Counter(
    "fleetpulse_worker_stalled_records_taken_over",
    "Readings records of a partition Faust stopped delivering, read directly from Kafka and applied.",
)
liveness_transitions = Counter("fleetpulse_worker_liveness_transitions", "Device liveness state changes.", ["state"])
processing_seconds = Histogram(
    "fleetpulse_worker_processing_seconds",
    "Time to validate, window and score one reading (batch time / batch size, one sample per batch).",
    buckets=(0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1),
)
batch_seconds = Histogram(
    "fleetpulse_worker_batch_seconds",
    "Time to process one batch of readings, producing included.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
event_lag_seconds = Histogram(
    "fleetpulse_worker_event_lag_seconds",
    "Wall-clock time minus the reading's event time when the worker scores it.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
device_lifespan_seconds = Histogram(
    "fleetpulse_worker_device_lifespan_seconds",
    "Event time from a device's first reading to its last, observed when it turns dead.",
    buckets=(60, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400),
)
model_events = Counter(
    "fleetpulse_worker_model_events",
    "Failure-label and feedback events handled by the worker, by outcome "
    "(learned, nothing_to_learn, unknown_device, replayed).",
    ["outcome"],
)
prior_devices = Gauge(
    "fleetpulse_worker_model_prior_devices",
    "Devices behind the fleet prior that new devices of this type start from (all workers merged).",
    ["device_type"],
)
WINDOW_STATS = ("mean", "min", "max", "std", "slope_per_s")  # the `stat` label of the window gauge


@dataclass
class Snapshot:
    """What the collector exposes; replaced wholesale by the event loop (an atomic reference swap)."""

    devices: list[tuple[str, dict[str, float], float, int]] = field(default_factory=list)  # id, values, score, state
    reasons: list[tuple[str, dict[str, float]]] = field(default_factory=list)  # id, sensor -> contribution
    windows: list[tuple[str, dict[str, Stats]]] = field(default_factory=list)  # id, sensor -> last closed 1 min
    by_state: dict[str, int] = field(default_factory=dict)
    at_risk: int = 0
    kpis: dict[str, float] = field(default_factory=dict)
    consumer_lag: dict[int, int] = field(default_factory=dict)
    table_keys: dict[str, int] = field(default_factory=dict)
    recovery_remaining: dict[str, int] = field(default_factory=dict)
    recovery_completed: int = 0


class SnapshotCollector(Collector):
    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s = self.snapshot
        value = GaugeMetricFamily(
            "fleetpulse_worker_device_sensor_value", "Latest sensor value of a device.", labels=["device_id", "sensor"]
        )
        score = GaugeMetricFamily(
            "fleetpulse_worker_device_failure_score", "Latest failure score of a device (0..1).", labels=["device_id"]
        )
        state = GaugeMetricFamily(
            "fleetpulse_worker_device_liveness_state",
            "Liveness of a device: 0 on_time, 1 late, 2 silent, 3 dead.",
            labels=["device_id"],
        )
        for device_id, values, device_score, device_state in s.devices:
            for sensor, v in values.items():
                value.add_metric([device_id, sensor], v)
            score.add_metric([device_id], device_score)
            state.add_metric([device_id], device_state)
        yield from (value, score, state)
        reason = GaugeMetricFamily(
            "fleetpulse_worker_device_reason_contribution",
            "Contribution (0..1) of a sensor to a device's latest failure score (the score's reasons).",
            labels=["device_id", "sensor"],
        )
        for device_id, contributions in s.reasons:
            for sensor, contribution in contributions.items():
                reason.add_metric([device_id, sensor], contribution)
        window = GaugeMetricFamily(
            "fleetpulse_worker_device_window_stat",
            "A statistic of a device's sensor over its latest closed 1-minute window (slope_per_s per second).",
            labels=["device_id", "sensor", "stat"],
        )
        for device_id, sensors in s.windows:
            for sensor, stats in sensors.items():
                for stat in WINDOW_STATS:
                    window.add_metric([device_id, sensor, stat], getattr(stats, stat))
        yield from (reason, window)
        devices = GaugeMetricFamily(
            "fleetpulse_worker_devices", "Devices owned by this worker, by liveness.", labels=["state"]
        )
        for name, count in s.by_state.items():
            devices.add_metric([name], count)
        yield devices
        yield GaugeMetricFamily(
            "fleetpulse_worker_devices_at_risk", "Devices with a latest failure score >= 0.5.", value=s.at_risk
        )
        for name, kpi in s.kpis.items():
            yield GaugeMetricFamily(
                f"fleetpulse_worker_fleet_{name}", f"Fleet KPI {name} (this worker's devices).", value=kpi
            )
        lag = GaugeMetricFamily(
            "fleetpulse_worker_consumer_lag_records", "Readings not yet consumed, per partition.", labels=["partition"]
        )
        for partition, records in sorted(s.consumer_lag.items()):
            lag.add_metric([str(partition)], records)
        yield lag
        keys = GaugeMetricFamily(
            "fleetpulse_worker_table_keys", "Keys in a worker table (local store).", labels=["table"]
        )
        for table, count in s.table_keys.items():
            keys.add_metric([table], count)
        yield keys
        remaining = GaugeMetricFamily(
            "fleetpulse_worker_recovery_remaining_records",
            "Changelog records left to restore, active or standby.",
            labels=["kind"],
        )
        for kind, count in s.recovery_remaining.items():
            remaining.add_metric([kind], count)
        yield remaining
        yield GaugeMetricFamily(
            "fleetpulse_worker_recovery_completed", "1 once table recovery has completed.", value=s.recovery_completed
        )


collector = SnapshotCollector()
REGISTRY.register(collector)
