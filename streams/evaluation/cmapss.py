"""NASA C-MAPSS turbofan engines (FD001) as a fleet of one device type degrading toward failure.

Each engine is a device, each cycle a reading of 14 generic sensors (the other 7 are constant in FD001).
On the test split an engine's records stop `rul` cycles before it fails. Metrics, as the data's notes
define them: an engine with rul <= `HIT_RUL` should have alerted by its last record (a hit; lead = rul +
the cycles from its first alert to its last record), and an engine with rul > `HEALTHY_RUL` is healthy
throughout by the usual convention, so any alert on it is an early alarm.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SENSOR_COLUMNS = (2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 17, 20, 21)  # s1..s21 numbering; the informative 14
SENSORS = tuple(f"s{k}" for k in SENSOR_COLUMNS)
DEVICE_TYPE = "turbofan"
HIT_RUL, HEALTHY_RUL = 30, 125
BAND_CYCLES = 30  # the static band's reference: each engine's first 30 cycles


@dataclass
class Engine:
    unit: int
    cycles: list[int]
    readings: list[list[float]]  # per cycle, one value per sensor in SENSORS order
    rul: int  # cycles from the last record to failure


def load(root: Path) -> list[Engine]:
    """The test split: `test_FD001.txt` (unit, cycle, 3 settings, s1..s21) and `RUL_FD001.txt`."""
    engines: dict[int, Engine] = {}
    for line in (root / "test_FD001.txt").read_text().splitlines():
        fields = line.split()
        if not fields:
            continue
        unit, cycle = int(fields[0]), int(fields[1])
        engine = engines.setdefault(unit, Engine(unit, [], [], 0))
        engine.cycles.append(cycle)
        engine.readings.append([float(fields[4 + k]) for k in SENSOR_COLUMNS])
    ruls = [int(x) for x in (root / "RUL_FD001.txt").read_text().split()]
    ordered = [engines[unit] for unit in sorted(engines)]
    if len(ruls) != len(ordered):
        raise ValueError(f"{len(ruls)} RUL values for {len(ordered)} engines")
    for engine, rul in zip(ordered, ruls, strict=True):
        engine.rul = rul
    return ordered


@dataclass
class Outcome:
    engines: int
    at_risk: int  # engines with rul <= HIT_RUL
    hits: int
    healthy: int  # engines with rul > HEALTHY_RUL
    early_alarms: int
    leads: list[int]  # cycles ahead of failure, per hit
    # Over every engine's records, not only the healthy ones': engines whose first alert came while more
    # than HEALTHY_RUL cycles were left (what a run-to-failure fleet would count as early), of those alerted.
    alerted: int = 0
    early_first: int = 0

    @property
    def median_lead(self) -> float:
        return statistics.median(self.leads) if self.leads else float("nan")


def first_alert(scores: Sequence[float], threshold: float) -> int | None:
    return next((i for i, s in enumerate(scores) if s >= threshold), None)


def outcome(engines: Sequence[Engine], scores: Sequence[Sequence[float]], threshold: float) -> Outcome:
    hits, early, leads, alerted, early_first = 0, 0, [], 0, 0
    for engine, series in zip(engines, scores, strict=True):
        alert = first_alert(series, threshold)
        if alert is not None:
            alerted += 1
            early_first += engine.rul + len(series) - 1 - alert > HEALTHY_RUL
        if engine.rul <= HIT_RUL and alert is not None:
            hits += 1
            leads.append(engine.rul + len(series) - 1 - alert)
        if engine.rul > HEALTHY_RUL and alert is not None:
            early += 1
    at_risk = sum(e.rul <= HIT_RUL for e in engines)
    healthy = sum(e.rul > HEALTHY_RUL for e in engines)
    return Outcome(len(engines), at_risk, hits, healthy, early, leads, alerted, early_first)


def static_band(engine: Engine) -> list[float]:
    """Max over sensors of |value - mean| / sd, both from the engine's first BAND_CYCLES cycles (its score
    scale is not a probability: the band is reported at its own best threshold)."""
    head = engine.readings[:BAND_CYCLES]
    means = [statistics.fmean(column) for column in zip(*head, strict=True)]
    sds = [statistics.pstdev(column) or 1e-9 for column in zip(*head, strict=True)]
    return [max(abs(v - m) / s for v, m, s in zip(row, means, sds, strict=True)) for row in engine.readings]


def best_threshold(engines: Sequence[Engine], scores: Sequence[Sequence[float]]) -> tuple[float, Outcome]:
    """The threshold maximising hits minus early alarms (an oracle; on ties the lowest, earliest-alerting θ)."""
    candidates = sorted({round(s, 3) for series in scores for s in series})
    best: tuple[float, Outcome] | None = None
    for threshold in candidates:
        result = outcome(engines, scores, threshold)
        key = result.hits - result.early_alarms
        if best is None or key > best[1].hits - best[1].early_alarms:
            best = (threshold, result)
    assert best is not None
    return best
