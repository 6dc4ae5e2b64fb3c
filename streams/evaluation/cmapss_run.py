"""`fleetpulse eval cmapss`: the C-MAPSS FD001 test split through the production scoring path.

Engines enter service one after another (`STAGGER_CYCLES` apart) and then run side by side, a cycle per
reading (one cycle = one hour of event time); every cycle is one batch through `ServiceFleet` (envelope
round trip per engine), and every `PRIOR_EVERY` cycles the fleet's models are aggregated into the
turbofan prior, so later engines start from it. Reported at the model's shipped threshold, beside a
static band fitted on each engine's first 30 cycles (at its own best threshold, an oracle).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from streams.evaluation import cmapss
from streams.evaluation.harness import ServiceFleet
from streams.model.detector import ALERT_THRESHOLD

CYCLE_MS = 3_600_000
START_MS = 1_767_225_600_000
STAGGER_CYCLES = 2
PRIOR_EVERY = 10
SWEEP = (0.5, 0.6, 0.7, 0.8, 0.9)


def model_scores(engines: Sequence[cmapss.Engine]) -> list[list[float]]:
    """Each engine's score per cycle, scored through ModelService (warming-up cycles score what it says)."""
    fleet = ServiceFleet({cmapss.DEVICE_TYPE: cmapss.SENSORS})
    scores: list[list[float]] = [[] for _ in engines]
    starts = [STAGGER_CYCLES * i for i in range(len(engines))]
    end = max(start + len(e.readings) for start, e in zip(starts, engines, strict=True))
    for t in range(end):
        for k, (engine, start) in enumerate(zip(engines, starts, strict=True)):
            cycle = t - start
            if 0 <= cycle < len(engine.readings):
                values = dict(zip(cmapss.SENSORS, engine.readings[cycle], strict=True))
                device = f"engine-{engine.unit:03d}"
                score = fleet.score(device, cmapss.DEVICE_TYPE, START_MS + t * CYCLE_MS, values)
                scores[k].append(score.score)
        fleet.end_batch()
        if t % PRIOR_EVERY == PRIOR_EVERY - 1:
            fleet.publish_priors()
    return scores


@dataclass
class Report:
    threshold: float
    model: cmapss.Outcome
    band_threshold: float
    band: cmapss.Outcome
    sweep: list[tuple[float, cmapss.Outcome]]
    seconds: float


def evaluate(root: Path, threshold: float = ALERT_THRESHOLD, progress: Callable[[str], None] = print) -> Report:
    engines = cmapss.load(root)
    progress(f"C-MAPSS FD001 test: {len(engines)} engines, {sum(len(e.readings) for e in engines):,} cycles")
    started = time.perf_counter()
    scores = model_scores(engines)
    seconds = time.perf_counter() - started
    band = [cmapss.static_band(e) for e in engines]
    band_threshold, band_outcome = cmapss.best_threshold(engines, band)
    sweep = [(t, cmapss.outcome(engines, scores, t)) for t in SWEEP]
    return Report(threshold, cmapss.outcome(engines, scores, threshold), band_threshold, band_outcome, sweep, seconds)


def _row(name: str, threshold: float, o: cmapss.Outcome) -> str:
    return (
        f"{name:<34} {threshold:9.3f} {o.hits:4d}/{o.at_risk:<3d} {o.early_alarms:5d}/{o.healthy:<3d} "
        f"{o.median_lead:11.1f} {o.early_first:8d}/{o.alerted:<3d}"
    )


def table(report: Report) -> str:
    lines = [
        f"hits: rul <= {cmapss.HIT_RUL} alerted by the last record; early: any alert with rul > {cmapss.HEALTHY_RUL}",
        f"early first: of the engines that alerted, first alerts with > {cmapss.HEALTHY_RUL} cycles left",
        "detector                           threshold hits     early    lead_cycles(median) early_first",
        _row("fleetpulse (shipped threshold)", report.threshold, report.model),
        _row("static band, first 30 cycles (best θ)", report.band_threshold, report.band),
        "fleetpulse at other thresholds:",
        *(_row("  fleetpulse", t, o) for t, o in report.sweep),
        f"model run: {report.seconds:.1f} s",
    ]
    return "\n".join(lines)
