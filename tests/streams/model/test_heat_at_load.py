"""Dried paste raises the temperature a PC has at the same load, slowly enough that the thermal fit and the
residual's level learn it as the device's normal. The degradation channel's heat slot (detector.HEAT_AT_LOAD)
holds it against the device's early life; a device that is only busier than it was stays quiet."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from streams.model import envelope, federated
from streams.model.detector import ALERT_THRESHOLD, HABIT_FROM, HEAT_AT_LOAD, DeviceModel

STEP_MS = 5_000
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
EARLY_LIFE = "at its early-life load"


Profile = Callable[[int], float]  # a quantity over event time (ms)


def pc(
    seed: int, hours: float, load_at: Profile, resistance_at: Profile, room_at: Profile = lambda t: 30.0
) -> tuple[DeviceModel, list[tuple[float, list[str]]]]:
    """A PC in a room at `room_at(t)` °C whose load wanders around `load_at(t)` % and whose chip follows it with a
    heat sink's lag, its rise over the room times `resistance_at(t)` (1 healthy, up to 3 for dried paste): the
    model and (score, reasons) per reading."""
    model, rng = DeviceModel("pc"), random.Random(seed)
    load = temperature = 0.0
    out = []
    for k in range(int(hours * HOUR_MS / STEP_MS)):
        t = k * STEP_MS
        load = min(100.0, max(0.0, load + 0.2 * (load_at(t) - load) + rng.gauss(0, 3)))
        target = room_at(t) + 0.3 * (load + 10) * resistance_at(t)
        temperature = temperature + 0.15 * (target - temperature) if k else target
        values = {
            "load_pct": round(load, 1),
            "temperature_c": round(temperature + rng.gauss(0, 0.3), 2),
            "power_w": 20 + 0.8 * load + rng.gauss(0, 0.5),
            "fan_cfm": 35 + rng.gauss(0, 0.7),
            "voltage_v": 12 + rng.gauss(0, 0.05),
        }
        assessment = model.update(t, values)
        out.append((assessment.score, [f"{r.sensor}: {r.detail}" for r in assessment.reasons]))
    return model, out


def paste(onset_h: float, hours: float) -> Profile:
    """Thermal resistance 1 until `onset_h`, then rising to 2.4 over `hours` (the simulator's dried paste)."""
    return lambda t: 1 + 1.4 * min(1.0, max(0.0, (t / HOUR_MS - onset_h) / hours))


def test_dried_paste_alerts_and_hours_later_the_device_is_still_worn_against_its_early_life() -> None:
    """Three healthy hours, two of paste drying, three more at the worse resistance: the thermal fit and the
    residual's level learn the new heat as this device's normal within the hour, the early-life reference never."""
    for seed in (1, 2, 3):
        model, scored = pc(seed, 8.0, lambda t: 15.0, paste(3.0, 2.0))
        onset, end_of_ramp = int(3 * HOUR_MS / STEP_MS), int(5 * HOUR_MS / STEP_MS)
        assert max(score for score, _ in scored[:onset]) < ALERT_THRESHOLD, seed
        assert max(score for score, _ in scored[onset:end_of_ramp]) >= ALERT_THRESHOLD, seed
        assert model.degradation.level >= HABIT_FROM, seed
        assert any(EARLY_LIFE in r for r in scored[-1][1]), (seed, scored[-1][1])


def test_a_pc_that_is_only_busier_than_in_its_early_life_is_not_worn() -> None:
    """Early life at ~10 % load, then four hours at ~40 % and back: the same physics, so no heat at the early-life
    load."""
    for seed in (1, 2, 3):
        _, busier = pc(seed, 8.0, lambda t: 40.0 if 2 * HOUR_MS <= t < 6 * HOUR_MS else 10.0, lambda t: 1.0)
        assert not [r for _, reasons in busier for r in reasons if EARLY_LIFE in r], seed
        # Hours at four times its usual load may alert as the load's story, never as the chip's heat.
        alerting = [reasons[0] for score, reasons in busier if score >= ALERT_THRESHOLD]
        assert not [r for r in alerting if r.startswith("temperature_c")], (seed, alerting[:3])


def test_a_rooms_daily_swing_is_not_wear() -> None:
    """The room 2 °C warmer by day than by night (the chip with it): within HEAT_FLOOR_C's doubt, no alert."""
    for seed in (1, 2, 3):
        _, day = pc(seed, 24.0, lambda t: 15.0, lambda t: 1.0, lambda t: 30 + 2 * math.sin(2 * math.pi * t / DAY_MS))
        assert not [r for score, reasons in day if score >= ALERT_THRESHOLD for r in reasons if EARLY_LIFE in r], seed


def test_the_heat_slot_is_part_of_the_degradation_state_only_for_a_device_with_a_load_and_a_temperature() -> None:
    assert DeviceModel("pc").plan.worn[-1] == HEAT_AT_LOAD
    assert HEAT_AT_LOAD not in DeviceModel("pc", ("fan_cfm", "voltage_v")).plan.worn


def test_the_heat_slot_survives_its_envelope_and_its_spread_reaches_the_fleet_prior() -> None:
    fleet = []
    for seed in (1, 2, 3):
        model, rng = DeviceModel("pc"), random.Random(seed)
        load = temperature = 0.0
        for k in range(int(2.5 * HOUR_MS / STEP_MS)):  # past the slot's hour-long reference
            load = min(100.0, max(0.0, load + 0.2 * (15.0 - load) + rng.gauss(0, 3)))
            temperature += 0.15 * (30 + 0.3 * (load + 10) - temperature) if k else 30 + 0.3 * (load + 10)
            model.update(k * STEP_MS, {"load_pct": load, "temperature_c": temperature + rng.gauss(0, 0.3)})
        fleet.append(model)
    model = fleet[0]
    restored = envelope.load(envelope.dump(model))
    assert restored is not None and restored.heat_anchor == model.heat_anchor != 0.0
    assert list(restored.degradation.mean) == list(model.degradation.mean)
    for k in range(1, 200):  # hotter at the same load: both copies score every reading alike
        ts, values = model.last_ts + k * STEP_MS, {"load_pct": 15.0, "temperature_c": 40.0 + k * 0.05}
        assert restored.update(ts, values) == model.update(ts, values)
    prior = federated.aggregate(fleet)
    assert 0.0 < prior.healthy_sd[HEAT_AT_LOAD] < 2.0
    assert federated.from_prior(prior).degradation.prior_sd[-1] == prior.healthy_sd[HEAT_AT_LOAD]
