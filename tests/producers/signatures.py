"""Checks that a device's readings show the signature of a failure mode, shared by the unit tests
(fleet in memory) and the integration tests (records read back from Kafka)."""

from __future__ import annotations

import statistics

from schemas import FailureLabel, Reading

MINUTE = 60_000


def _window(readings: list[Reading], start: int, end: int) -> list[Reading]:
    return [r for r in readings if start <= r.ts < end]


def check_signature(mode: str, readings: list[Reading], label: FailureLabel) -> None:
    """Assert `readings` (one device, ts order) carry `mode`'s signature and stop at the failure."""
    before = _window(readings, label.onset_ts - 10 * MINUTE, label.onset_ts)
    last = _window(readings, label.failure_ts - 10 * MINUTE, label.failure_ts)
    after = _window(readings, label.failure_ts, label.failure_ts + 5 * MINUTE)
    assert not after, f"{mode}: device kept reporting after it failed"
    assert label.mode == mode
    if mode == "silent_death":
        assert label.onset_ts == label.failure_ts and not label.detectable
        return
    assert label.failure_ts - label.onset_ts >= 30 * MINUTE, "degrading too short for a 15 min lead time"
    assert before and last, f"{mode}: no readings around onset/failure"

    def mean(field: str, rows: list[Reading]) -> float:
        return statistics.fmean(getattr(r, field) for r in rows)

    if mode == "fan_failure":
        assert mean("fan_cfm", last) < 0.3 * mean("fan_cfm", before)
        assert mean("temperature_c", last) > mean("temperature_c", before) + 15
    elif mode == "thermal_paste":
        assert mean("temperature_c", last) > mean("temperature_c", before) + 10
        if last[0].fan_cfm is not None:
            assert mean("fan_cfm", last) > 0.9 * mean("fan_cfm", before)  # not the fan
    elif mode == "undervoltage":
        assert mean("voltage_v", last) < 0.93 * mean("voltage_v", before)
        if last[0].device_type == "raspberry_pi":
            bits = [r.throttled or 0 for r in last]
            assert any(b & 0x1 for b in bits) and bits[-1] & 0x10000 and bits[-1] & 0x20000
            assert min(r.clock_ghz for r in last) <= 1.2
    elif mode == "overload":
        assert mean("load_pct", last) > 90 and mean("power_w", last) > mean("power_w", before)
    elif mode == "stuck_sensor":
        stuck = _window(readings, label.onset_ts, label.failure_ts)
        assert len({r.temperature_c for r in stuck}) == 1, "temperature should repeat one value"
        assert len({r.load_pct for r in stuck}) > 10, "the other sensors keep moving"
    elif mode == "flapping_connectivity":
        expected = (label.failure_ts - label.onset_ts) // 5000
        arrived = len(_window(readings, label.onset_ts, label.failure_ts))
        assert arrived < 0.85 * expected, f"only {expected - arrived} of {expected} readings missing"
        assert not label.detectable
    else:
        raise AssertionError(f"no signature check for {mode}")
