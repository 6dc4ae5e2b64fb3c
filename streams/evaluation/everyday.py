"""Healthy devices in everyday use, which the simulator does not produce: a desktop idle most of the day and
busy in bursts (its clock and temperature following the load), and a phone's battery through its daily
charge cycle. Nothing fails, so every alert is a false one: `fleetpulse eval everyday` counts alert onsets
per device-day through the production path (streams/evaluation/harness.py), with their most common reasons.

Synthetic, and said to be: the shapes are ordinary (frequency scaling, a heat sink's lag, a lithium cell's
voltage falling with its charge and jumping when plugged in), the numbers are not fitted to any device.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from streams.evaluation.harness import ServiceFleet
from streams.evaluation.sim_run import BATCH_MS, CADENCE_MS
from streams.model.detector import ALERT_THRESHOLD

HOUR_MS = 3_600_000


def desktop(rng: random.Random, days: float) -> Iterator[tuple[int, dict[str, float | None]]]:
    """A PC used by day: idle at 2-15 % load (0.5-3 % at night), a burst of use every ~4 minutes by day
    averaging a minute at 40-100 %; the clock scales 0.8-4.5 GHz with load, the chip follows the load with a
    30 s lag up to 73 °C, the power follows the load."""
    temperature, burst_left, burst = 45.0, 0, 0.0
    for k in range(int(days * 24 * HOUR_MS / CADENCE_MS)):
        ts = k * CADENCE_MS
        active = 8 <= (ts / HOUR_MS) % 24 < 23
        if burst_left > 0:
            burst_left -= 1
        elif rng.random() < (0.02 if active else 0.002):
            burst_left, burst = int(rng.expovariate(1 / 12)) + 1, rng.uniform(40, 100)
        target = burst if burst_left > 0 else (rng.uniform(2, 15) if active else rng.uniform(0.5, 3))
        load = max(0.0, min(100.0, target + rng.gauss(0, 3)))
        temperature += (1 - math.exp(-CADENCE_MS / 30_000)) * (38 + 0.35 * load - temperature)
        yield (
            ts,
            {
                "load_pct": round(load, 1),
                "clock_ghz": round(max(0.4, 0.8 + 3.7 * min(1.0, load / 60) + rng.gauss(0, 0.15)), 2),
                "temperature_c": round(temperature + rng.gauss(0, 0.7), 1),
                "power_w": round(6 + 0.4 * load + rng.gauss(0, 1), 1),
            },
        )


def phone_battery_as_supply(rng: random.Random, days: float) -> Iterator[tuple[int, dict[str, float | None]]]:
    """A phone's battery voltage scored as if it were a supply voltage (what phone ingestion did before
    the voltage became the health field battery_voltage_v): plugged in for 1.5 h a day (+0.15 V at once,
    up to 4.35 V), then 4.35 -> 3.7 V over the day, 20-80 mV sags in spells of use."""
    spells, t = [], 0.0
    while t < days * 24:
        t += rng.expovariate(1 / 3.0)
        spells.append((t, t + rng.uniform(10, 40) / 60, rng.uniform(0.02, 0.08)))
    for k in range(int(days * 24 * HOUR_MS / CADENCE_MS)):
        ts = k * CADENCE_MS
        hours = ts / HOUR_MS
        in_day = hours % 24
        if in_day < 1.5:
            volts = 4.0 + min(0.35, 0.5 * in_day)
        else:
            charge = 1 - (in_day - 1.5) / 22.5
            volts = 3.70 + 0.45 * charge + (1.5 * (charge - 0.9) if charge > 0.9 else 0.0)
            volts -= sum(sag for start, end, sag in spells if start <= hours < end)
        yield ts, {"voltage_v": round(volts + rng.gauss(0, 0.003), 3)}


SCENARIOS = {"desktop": ("pc", desktop), "phone_battery_as_supply": ("phone", phone_battery_as_supply)}


@dataclass
class Result:
    scenario: str
    devices: int
    days: float
    onsets: int
    reasons: Counter[str]

    @property
    def per_device_day(self) -> float:
        return self.onsets / (self.devices * self.days)


def run(scenario: str, devices: int, days: float, seed: int) -> Result:
    """Each device's readings through ModelService; an onset is a score crossing the shipped threshold."""
    device_type, generate = SCENARIOS[scenario]
    fleet, onsets, reasons = ServiceFleet(), 0, Counter[str]()
    sources = {f"{scenario}-{d}": generate(random.Random(f"{seed}:{d}"), days) for d in range(devices)}
    alerting = dict.fromkeys(sources, False)
    for step in range(int(days * 24 * HOUR_MS / CADENCE_MS)):
        for device_id, readings in sources.items():
            ts, values = next(readings)
            score = fleet.score(device_id, device_type, ts, values)
            alert = score.score >= ALERT_THRESHOLD
            if alert and not alerting[device_id]:
                onsets += 1
                reasons[_kind(score.reasons[0].detail if score.reasons else "")] += 1
            alerting[device_id] = alert
        if (step + 1) * CADENCE_MS % BATCH_MS == 0:  # envelopes once a minute, as in the simulator replay
            fleet.end_batch()
    return Result(scenario, devices, days, onsets, reasons)


def _kind(detail: str) -> str:
    """A reason without its numbers: the sensor and the test ("clock_ghz ... scales from its usual")."""
    words = detail.split("(")[0].replace("=", " ").split()
    return " ".join(w for w in words if not any(c.isdigit() for c in w))


def table(results: list[Result]) -> str:
    lines = [f"{'scenario':<26}{'devices':>8}{'days':>6}{'alert onsets':>14}{'per device-day':>16}  top reasons"]
    for r in results:
        top = "; ".join(f"{n} x {k}" for k, n in r.reasons.most_common(3))
        lines.append(f"{r.scenario:<26}{r.devices:>8}{r.days:>6g}{r.onsets:>14}{r.per_device_day:>16.1f}  {top}")
    return "\n".join(lines)
