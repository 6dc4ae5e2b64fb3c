"""Replay the labelled simulator in-process (no Kafka) and measure detection per failure mode.

For each mode, a seeded fleet runs healthy for a warm-up, then failures of that one mode begin at
random (seeded) times on healthy devices of the types that can get it, through the simulator's public
`inject`. Every reading goes to the scorer; every `FailureLabel` the simulator emits (when the device
fails, never earlier) is handed back to the scorer as a delayed label, as the worker would from the
events topic. One mode per fleet makes "precision of alerts for this mode" well defined: every false
alert in that run competes with that mode's true ones. Metrics: `sim_metrics.py`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from producers.failure_modes import MODES
from producers.fleet import HEALTHY, Fleet
from schemas import DEVICE_TYPES, FailureLabel
from schemas.units import LIMITS
from streams.evaluation import sim_metrics
from streams.evaluation.harness import ServiceFleet
from streams.evaluation.sim_metrics import Failure, ModeMetrics
from streams.model.detector import ALERT_THRESHOLD

CADENCE_MS = 5_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z, any fixed instant keeps reruns identical
OPERATING_THRESHOLD = ALERT_THRESHOLD  # the model's; chosen on TUNING_SEED runs, reported on EVAL_SEED
TUNING_SEED, EVAL_SEED = 1, 2
BATCH_MS = 60_000  # a minute of readings per batch: every model goes through its envelope once a minute
PRIOR_MS = 3_600_000  # fleet priors aggregated and set once an hour of event time


@dataclass(frozen=True)
class Plan:
    devices: int = 48
    hours: float = 8.0
    warmup_hours: float = 1.0
    failures_per_device_hour: float = 0.15  # after warm-up, per healthy device
    cadence_ms: int = CADENCE_MS  # every device reports at this cadence (the model's constants were chosen at 5 s)

    @classmethod
    def quick(cls) -> Plan:
        return cls(devices=12, hours=3.0, warmup_hours=0.75, failures_per_device_hour=0.3)


class Scorer(Protocol):
    def score(self, device: str, device_type: str, ts: int, values: dict[str, float], throttled: int | None) -> float:
        """Score one reading (then learn from it)."""

    def label(self, event: FailureLabel) -> None:
        """A delayed ground-truth label."""

    def tick(self, done_ms: int, cadence_ms: int) -> None:
        """The end of one round of the fleet's readings, `done_ms` of event time after the first began."""


class ModelScorer:
    """The failure model through the production path (`ServiceFleet`): each device's model is stored as
    envelope bytes and round-tripped every `BATCH_MS` of event time, labels go through `ModelService.learn`,
    and fleet priors are aggregated and set every `PRIOR_MS`. Warming-up rows score what the model
    says (only physical evidence can raise them)."""

    def __init__(self) -> None:
        self.fleet = ServiceFleet()

    def score(self, device: str, device_type: str, ts: int, values: dict[str, float], throttled: int | None) -> float:
        return self.fleet.score(device, device_type, ts, dict(values), throttled).score

    def label(self, event: FailureLabel) -> None:
        self.fleet.learn(event.device_id, event)

    def tick(self, done_ms: int, cadence_ms: int) -> None:
        if _crossed(done_ms, cadence_ms, PRIOR_MS):
            self.fleet.publish_priors()
        elif _crossed(done_ms, cadence_ms, BATCH_MS):
            self.fleet.end_batch()


class LimitsScorer:
    """The walking skeleton's rule: share of the way from warning to critical, max over sensors."""

    def score(self, device: str, device_type: str, ts: int, values: dict[str, float], throttled: int | None) -> float:
        best = 0.0
        for sensor, (warn, critical) in LIMITS[device_type].items():
            value = values.get(sensor)
            if value is not None:
                best = max(best, min(1.0, (value - warn) / (critical - warn)))
        return best

    def label(self, event: FailureLabel) -> None:
        pass

    def tick(self, done_ms: int, cadence_ms: int) -> None:
        pass


def _crossed(done_ms: int, cadence_ms: int, period_ms: int) -> bool:
    """Whether the round that ended `done_ms` into the replay completed a `period_ms` of event time."""
    return done_ms // period_ms > (done_ms - cadence_ms) // period_ms


SCORERS: dict[str, Callable[[], Scorer]] = {"fleetpulse": ModelScorer, "limits_rule": LimitsScorer}


@dataclass
class Replay:
    mode: str
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    censored: dict[str, int] = field(default_factory=dict)  # device → onset of an unfinished failure
    device_hours: float = 0.0


def replay(mode: str, scorer: Scorer, plan: Plan, seed: int) -> Replay:
    cadence = plan.cadence_ms
    fleet = Fleet(plan.devices, seed, cadence_ms=cadence, failure_rate_per_hour=0.0)
    spec = next(m for m in MODES if m.name == mode)
    eligible = [d for d in range(fleet.size) if spec.weight[DEVICE_TYPES[fleet.type_idx[d]]] > 0]
    chance = plan.failures_per_device_hour * cadence / 3_600_000
    rng = random.Random(f"{seed}:{mode}")
    out = Replay(mode, {device_id: [] for device_id in fleet.device_ids})
    rounds = int(plan.hours * 3_600_000 / cadence)
    warmup_rounds = int(plan.warmup_hours * 3_600_000 / cadence)
    fleet.start(START_MS)
    readings = 0
    for r in range(rounds):
        ts = START_MS + r * cadence
        if r >= warmup_rounds:
            for device in eligible:
                if fleet.phase[device] == HEALTHY and fleet.running[device] and rng.random() < chance:
                    fleet.inject(device, mode, ts)
        batch = fleet.step(ts)
        columns = {name: values.tolist() for name, values in batch.values.items()}
        bits = batch.throttled.tolist()
        for row, device in enumerate(batch.index.tolist()):
            device_id = fleet.device_ids[device]
            values = {name: column[row] for name, column in columns.items() if column[row] == column[row]}
            device_type = DEVICE_TYPES[fleet.type_idx[device]]
            score = scorer.score(device_id, device_type, ts, values, bits[row] if bits[row] >= 0 else None)
            out.series[device_id].append((ts, score))
        readings += len(bits)
        for event in fleet.take_events():
            if isinstance(event, FailureLabel):
                out.failures.append(
                    Failure(event.device_id, event.mode, event.onset_ts, event.failure_ts, event.detectable)
                )
                scorer.label(event)
        scorer.tick((r + 1) * cadence, cadence)
    for device in range(fleet.size):
        if fleet.phase[device] != HEALTHY:  # failing (or failed, label already out) at the end
            labelled = any(
                f.device == fleet.device_ids[device] and f.onset_ts == fleet.onset_ms[device] for f in out.failures
            )
            if not labelled:
                out.censored[fleet.device_ids[device]] = int(fleet.onset_ms[device])
    out.device_hours = readings * cadence / 3_600_000
    return out


def measure(run: Replay, threshold: float, rearm_ms: int = sim_metrics.REARM_MS) -> ModeMetrics:
    alerts = {device: sim_metrics.alert_times(series, threshold, rearm_ms) for device, series in run.series.items()}
    hits, false = sim_metrics.classify(alerts, run.failures, run.censored)
    return sim_metrics.mode_metrics(run.mode, run.failures, hits, false, run.device_hours)


def evaluate(
    scorers: Sequence[str],
    plan: Plan,
    seed: int,
    modes: Sequence[str] = tuple(m.name for m in MODES),
    progress: Callable[[str], None] = print,
) -> dict[str, list[Replay]]:
    runs: dict[str, list[Replay]] = {}
    for name in scorers:
        for mode in modes:
            started = time.perf_counter()
            run = replay(mode, SCORERS[name](), plan, seed)
            runs.setdefault(name, []).append(run)
            progress(
                f"  {name}: {mode}: {len(run.failures)} failures, {run.device_hours:.0f} device-hours, "
                f"{time.perf_counter() - started:.1f} s"
            )
    return runs


TARGETS = "targets: recall >= 0.95, precision >= 0.95, median lead >= 15 min (detectable modes)"


def table(name: str, runs: Sequence[Replay], threshold: float) -> str:
    lines = [
        f"{name} @ θ={threshold:g}",
        "mode                   detectable failures recall precision lead_min false/1000h",
    ]
    for run in runs:
        m = measure(run, threshold)
        lines.append(
            f"{m.mode:<22} {'yes' if m.detectable else 'no':>10} {m.failures:8d} {m.recall:6.2f} "
            f"{m.precision:9.2f} {m.median_lead_min:8.1f} {m.false_per_1000h:11.1f}"
        )
    return "\n".join(lines)


def sweep(runs: Sequence[Replay], thresholds: Sequence[float]) -> str:
    """Detectable modes pooled, per threshold: how recall, precision and false alerts trade off."""
    lines = ["θ      recall(min) precision(min) lead_min(min) false/1000h(mean)"]
    for threshold in thresholds:
        ms = [measure(run, threshold) for run in runs]
        ms = [m for m in ms if m.detectable and m.failures]
        if not ms:
            continue
        lines.append(
            f"{threshold:<6g} {min(m.recall for m in ms):11.2f} {min(m.precision for m in ms):14.2f} "
            f"{min(m.median_lead_min for m in ms):13.1f} {sum(m.false_per_1000h for m in ms) / len(ms):17.1f}"
        )
    return "\n".join(lines)


SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
