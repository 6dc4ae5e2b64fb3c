"""A sensor that follows the workload (load, power, and on a PC the clock and temperature) shifts whenever the
device gets busy: its sustained shift counts only once the spell has outlasted every earlier one
toward failure (features.SensorBaseline.outlasts)."""

from __future__ import annotations

import math
import random

import pytest

from streams.model import envelope
from streams.model.detector import ALERT_THRESHOLD, DeviceModel
from streams.model.features import EVIDENCE_RATE, SensorBaseline

CADENCE = 5_000
SPELL_EVERY = 360  # readings: a busy spell every 30 minutes


class Desktop:
    """A PC idle at 10 % load with busy spells at 50-90 % (the clock up, the chip heating with a heat sink's lag):
    spells of different sizes, so no two alike (pattern habituation does not apply)."""

    def __init__(self, seed: int) -> None:
        self.model, self.rng, self.temperature, self.k = DeviceModel("pc"), random.Random(seed), 45.0, 0

    def run(self, readings: int, busy: bool, level: float = 85.0) -> list[tuple[float, list[str]]]:
        """`readings` readings, all busy at `level` % or all idle: each one's score and reasons."""
        out = []
        for _ in range(readings):
            rng = self.rng
            load = min(100.0, level + rng.gauss(0, 2)) if busy else max(0.0, 10.0 + rng.gauss(0, 3))
            self.temperature += (1 - math.exp(-5 / 30)) * (40 + 0.3 * load - self.temperature)
            values = {
                "load_pct": load,
                "clock_ghz": 0.8 + 3.6 * min(1.0, load / 50) + rng.gauss(0, 0.05),
                "temperature_c": self.temperature + rng.gauss(0, 0.5),
                "power_w": 6 + 0.4 * load + rng.gauss(0, 0.5),
                "fan_cfm": 30 + rng.gauss(0, 0.5),
                "voltage_v": 12 + rng.gauss(0, 0.03),
            }
            assessment = self.model.update(self.k * CADENCE, values)
            out.append((assessment.score, [f"{r.sensor}: {r.detail}" for r in assessment.reasons]))
            self.k += 1
        return out

    def spells(self, spell: int, spells: int) -> None:
        """`spells` busy spells of `spell` readings at 50-90 %, 30 minutes apart."""
        for _ in range(spells):
            self.run(spell, busy=True, level=self.rng.uniform(50, 90))
            self.run(SPELL_EVERY - spell, busy=False)


def test_a_busy_spell_like_earlier_ones_is_no_alert_below_its_limit() -> None:
    for seed in (1, 2, 3):
        desktop = Desktop(seed)
        desktop.run(720, busy=False)  # an idle hour
        desktop.spells(36, 6)  # three-minute spells: the first ones are records
        spell = desktop.run(36, busy=True)
        assert max(score for score, _ in spell) < ALERT_THRESHOLD, seed
        reasons = {r for _, rs in spell for r in rs}
        assert not any("has stayed" in r for r in reasons if r.startswith(("load_pct", "power_w"))), seed


def test_a_busy_spell_longer_than_any_before_alerts_as_overload() -> None:
    for seed in (1, 2, 3):
        desktop = Desktop(seed)
        desktop.run(720, busy=False)
        desktop.spells(36, 6)
        held = desktop.run(540, busy=True)  # 45 minutes at 85 %: nine times the longest shift so far (~5 min)
        scores = [score for score, _ in held]
        assert max(scores[:36]) < ALERT_THRESHOLD, seed  # as long as the earlier spells: nothing new yet
        first = next(i for i, score in enumerate(scores) if score >= ALERT_THRESHOLD)
        # The load's and the power's record grows rare with its excess over the longest (~9 min per decade here):
        # 23-30 minutes in. The chip's warmth is the load's story, not a record of its own (test_load_driven).
        assert 36 < first < 420, (seed, first)
        assert any(r.startswith(("load_pct", "power_w")) for r in held[first][1])


def test_the_spell_records_survive_the_envelope() -> None:
    desktop = Desktop(4)
    desktop.run(720, busy=False)
    desktop.spells(36, 3)
    longest = [b.longest_shift_ms for b in desktop.model.baselines.values()]
    assert max(longest) >= 30 * CADENCE  # the load's spells, as long as they shifted its recent mean
    restored = envelope.load(envelope.dump(desktop.model))
    assert restored is not None
    assert [b.state() for b in restored.baselines.values()] == [b.state() for b in desktop.model.baselines.values()]


def test_only_shifts_toward_failure_set_the_record() -> None:
    """An evening idling below the usual load is no busy spell (a clock's fall, its failure side, would be): only a
    shift toward failure is a duration record against earlier ones."""
    baseline, rng, k = SensorBaseline(), random.Random(7), 0

    def feed(level: float, readings: int) -> bool:
        nonlocal k
        outlasts = False
        for _ in range(readings):
            value = level + rng.gauss(0, 1)
            if baseline.n > 0:
                baseline.evidence(baseline.z(value, baseline.scale()))
                outlasts = baseline.outlasts()
            baseline.learn(value, k * CADENCE, 0.002, False, 0.0, False, 0.0, 1)  # records rises, no gap cap
            k += 1
        return outlasts

    feed(10.0, 720)
    feed(4.0, 120)  # ten minutes six scales low
    feed(10.0, 720)
    assert baseline.longest_shift_ms < 2 * 60_000
    assert feed(16.0, 24)  # two minutes six scales high: the longest rise yet, though shorter than the fall


def test_a_device_asleep_mid_spell_does_not_set_a_record_of_hours() -> None:
    """A laptop shut while busy and opened next morning: the spell's record counts the time it was watched,
    not the night, so later spells longer than the watched part still count."""
    desktop = Desktop(8)
    desktop.run(720, busy=False)
    desktop.run(24, busy=True)  # two busy minutes, then the device sleeps for eight hours
    desktop.k += 8 * 720
    desktop.run(720, busy=False)
    load = desktop.model.baselines["load_pct"]
    assert load.longest_shift_ms < 10 * 60_000
    held = desktop.run(240, busy=True)  # twenty minutes busy: longer than anything watched
    assert max(score for score, _ in held) >= ALERT_THRESHOLD


def test_a_burst_to_full_load_is_use_and_a_pinned_load_is_overload() -> None:
    """The load's limit (90-100 %) counts once the load held over minutes is past its warning (features.HELD_MS):
    minute-long bursts to 100 % never cite it; a load pinned at 100 % does, within minutes."""
    limit = "of the way from warning to critical"
    for seed in (1, 2, 3):
        desktop = Desktop(seed)
        desktop.run(720, busy=False)
        desktop.run(480, busy=True, level=60.0)  # a long spell at 60 %
        desktop.run(360, busy=False)
        bursts = []
        for _ in range(8):
            bursts += desktop.run(12, busy=True, level=100.0)
            bursts += desktop.run(48, busy=False)
        assert not any(limit in r for _, reasons in bursts for r in reasons), seed
        pinned = desktop.run(300, busy=True, level=100.0)
        cited = [i for i, (_, reasons) in enumerate(pinned) if any(limit in r for r in reasons)]
        assert cited and 60 < cited[0] < 180, (seed, cited[:1])  # 5-15 minutes in


def test_a_workload_spell_counts_as_far_as_its_record_is_rare_among_many() -> None:
    """After many busy spells, one a little longer than the longest yet raises no alert for the load or the power
    (a record among n spells is 1-in-n news, and a small excess over it is within their usual lengths); one far
    longer does. A device with no earlier spell has its first long one count (test_device_model's held load)."""
    workload = ("load_pct has stayed", "power_w has stayed")

    def alerts_on_workload(scored: list[tuple[float, list[str]]]) -> bool:
        return any(
            score >= ALERT_THRESHOLD and any(w in r for w in workload for r in reasons) for score, reasons in scored
        )

    for seed in (1, 2, 3):
        desktops = [Desktop(seed), Desktop(seed)]  # the same history, then two different spells
        for desktop in desktops:
            desktop.run(720, busy=False)
            desktop.spells(36, 24)  # 24 three-minute spells at 50-90 %
        longest = max(desktops[0].model.baselines[s].longest_shift_ms for s in ("load_pct", "power_w"))
        assert not alerts_on_workload(desktops[0].run(longest // CADENCE + 12, busy=True)), seed  # a minute longer
        assert alerts_on_workload(desktops[1].run(360, busy=True)), seed  # 30 minutes


def test_a_spell_record_is_as_rare_as_its_device_hour() -> None:
    """A record among n spells is 1-in-(n + 1) news per spell; the false-alert budget is per device-hour, so a device
    with ten spells an hour sets records ten times as often per hour as one with a spell an hour: a decade less."""
    baseline, rng, k = SensorBaseline(), random.Random(3), 0
    for level, readings in (
        [(10.0, 720)] + [(16.0, 24), (10.0, 120)] * 20 + [(16.0, 120)]
    ):  # 20 spells, then a longer one
        for _ in range(readings):
            value = level + rng.gauss(0, 1)
            if baseline.n > 0:
                baseline.evidence(baseline.z(value, baseline.scale()))
            baseline.learn(value, k * CADENCE, 0.002, False, 0.0, False, 0.0, 1)
            k += 1
    shortest = CADENCE / EVIDENCE_RATE
    n = baseline.shifts_n
    assert n >= 20 and baseline.outlasts()
    hourly, often, seldom = (baseline.spell_rarity(shortest, hours * 3_600_000.0) for hours in (n, n / 10, 10 * n))
    assert hourly > 1.0
    assert often == pytest.approx(hourly - 1.0)  # ten an hour
    assert seldom == hourly  # fewer than one an hour: news per spell, as before
