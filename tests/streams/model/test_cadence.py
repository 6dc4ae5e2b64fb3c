"""A device's cadence: the model's per-reading rates were chosen at 5 s, and a device that reports faster
learns at the same rate per unit of time, not per reading (detector.REFERENCE_CADENCE_MS)."""

from __future__ import annotations

import random

import pytest

from streams.model.detector import ALERT_THRESHOLD, REFERENCE_CADENCE_MS, DeviceModel

HOUR_MS = 3_600_000


def ramp_reading(rng: random.Random, t_ms: int, start_ms: int) -> dict[str, float]:
    """A healthy PC whose temperature climbs 4 °C an hour from `start_ms` at the same load: dried paste."""
    load = 40 + rng.gauss(0, 5)
    warming = 4.0 * max(0, t_ms - start_ms) / HOUR_MS
    return {
        "temperature_c": 50 + 0.2 * (load - 40) + warming + rng.gauss(0, 0.5),
        "load_pct": load,
        "power_w": 60 + 1.5 * load + rng.gauss(0, 0.5),
        "voltage_v": 12 + rng.gauss(0, 0.05),
        "fan_cfm": 35 + rng.gauss(0, 0.5),
        "clock_ghz": 3.6,
    }


def alerts(cadence_ms: int, seed: int) -> tuple[int, float | None]:
    """Two healthy hours, then two of the ramp, at `cadence_ms`: alerts before the ramp, and the minutes into
    the ramp of the first alert (None: never)."""
    model, rng = DeviceModel("pc"), random.Random(seed)
    ramp_ms, before, first = 2 * HOUR_MS, 0, None
    for k in range(4 * HOUR_MS // cadence_ms):
        t = k * cadence_ms
        alerted = model.update(t, ramp_reading(rng, t, ramp_ms)).score >= ALERT_THRESHOLD
        if alerted and t < ramp_ms:
            before += 1
        elif alerted and first is None:
            first = (t - ramp_ms) / 60_000
    return before, first


def test_pace_is_one_at_the_reference_cadence_and_slower_and_a_share_of_it_faster() -> None:
    model = DeviceModel("pc")
    assert model.pace() == 1.0  # no cadence learned yet
    for cadence, pace in ((REFERENCE_CADENCE_MS, 1.0), (60_000.0, 1.0), (1_000.0, 0.2), (500.0, 0.1)):
        model.cadence_ms = cadence
        assert model.pace() == pace


@pytest.mark.parametrize("seed", [7, 8])
def test_a_slow_ramp_alerts_at_one_second_as_it_does_at_five(seed: int) -> None:
    # Learning per reading, the 1 s device followed the ramp five times faster in time than the 5 s one and
    # learned it as its normal: it never alerted in the two hours (+8 °C) that the 5 s device alerted in.
    for cadence in (5_000, 1_000):
        before, first = alerts(cadence, seed)
        assert before == 0
        assert first is not None and first < 60, (cadence, first)
