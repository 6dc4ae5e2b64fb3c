"""Window maths: tumbling and hopping stats, out-of-order within lateness, late readings, bounded state."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from streams.windows import (
    BUCKET_MS,
    F_LAST,
    F_LAST_TS,
    F_MAX,
    F_MIN,
    F_N,
    F_ST,
    F_STT,
    F_STV,
    F_SUM,
    F_SUMSQ,
    HOP_MS,
    SENSOR_NAMES,
    WIDTH,
    WindowState,
    add_values,
    encode_bucket,
    new_bucket,
)

T0 = 1_795_000_020_000 - 1_795_000_020_000 % BUCKET_MS  # a minute boundary
TEMP = SENSOR_NAMES.index("temperature_c")
LATENESS = 10_000


def _temperature(value: float) -> tuple[float | None, ...]:
    """A reading's window sensors (SENSOR_NAMES order) with only the temperature."""
    return tuple(value if i == TEMP else None for i in range(len(SENSOR_NAMES)))


def _feed(ws: WindowState, points: list[tuple[int, float]]) -> list:
    out = []
    for ts, value in points:
        ws.add(ts, _temperature(value), LATENESS)
        out += ws.close(LATENESS)
    return out


def _by(out: list, kind: str) -> dict[tuple[int, int], object]:
    return {(w.start, w.end): w.stats for k, w in out if k == kind and w.sensor == "temperature_c"}


def test_tumbling_minute_stats_match_a_direct_computation() -> None:
    points = [(T0 + i * 5_000, 40.0 + (i % 4) * 1.5 + i * 0.1) for i in range(12)]
    ws = WindowState()
    out = _feed(ws, [*points, (T0 + BUCKET_MS + LATENESS, 50.0)])  # advances the watermark past the close
    stats = _by(out, "1m")[(T0, T0 + BUCKET_MS)]
    values = [v for _, v in points]
    assert stats.count == 12
    assert stats.mean == pytest.approx(statistics.fmean(values))
    assert stats.std == pytest.approx(statistics.pstdev(values))
    assert (stats.min, stats.max, stats.last) == (min(values), max(values), values[-1])
    ts = [t / 1000 for t, _ in points]
    slope = statistics.linear_regression(ts, values).slope
    assert stats.slope_per_s == pytest.approx(slope)


def test_hopping_five_minute_windows_merge_buckets_with_the_right_slope() -> None:
    # a clean ramp of 0.01 units/s over 7 minutes: every 5-min window has slope 0.01
    points = [(T0 + i * 10_000, 20.0 + i * 0.1) for i in range(42)]
    ws = WindowState()
    out = _feed(ws, [*points, (T0 + 12 * BUCKET_MS, 30.0)])
    hopping = _by(out, "5m")
    full = [key for key in hopping if key[0] >= T0 and key[1] <= T0 + 7 * BUCKET_MS]
    assert (T0, T0 + HOP_MS) in full and (T0 + 2 * BUCKET_MS, T0 + 2 * BUCKET_MS + HOP_MS) in full
    for key in full:
        assert key[1] - key[0] == HOP_MS
        assert hopping[key].count == 30
        assert hopping[key].slope_per_s == pytest.approx(0.01)
    # windows that only partly overlap the data are emitted too (first one ends one minute after T0)
    assert hopping[(T0 - 4 * BUCKET_MS, T0 + BUCKET_MS)].count == 6


def test_out_of_order_within_lateness_lands_in_its_own_window() -> None:
    ws = WindowState()
    out = _feed(ws, [(T0 + 10_000, 1.0), (T0 + BUCKET_MS + 2_000, 5.0), (T0 + 55_000, 3.0)])
    assert ws.closed_until == T0  # not closed yet: the watermark is T0+62s, lateness 10s
    out += _feed(ws, [(T0 + 3 * BUCKET_MS, 9.0)])
    minute = _by(out, "1m")
    assert minute[(T0, T0 + BUCKET_MS)].count == 2 and minute[(T0, T0 + BUCKET_MS)].last == 3.0
    assert minute[(T0 + BUCKET_MS, T0 + 2 * BUCKET_MS)].count == 1


def test_a_reading_after_its_window_closed_is_late_and_not_mixed_in() -> None:
    ws = WindowState()
    out = _feed(ws, [(T0 + 1_000, 1.0), (T0 + BUCKET_MS + 15_000, 2.0)])  # closes [T0, T0+1m)
    assert _by(out, "1m")[(T0, T0 + BUCKET_MS)].count == 1
    assert ws.add(T0 + 30_000, _temperature(100.0), LATENESS) is False
    out = _feed(ws, [(T0 + 10 * BUCKET_MS, 3.0)])
    assert all(w.stats.max < 100.0 for _, w in out)


def test_every_reading_is_counted_exactly_once_per_window_kind() -> None:
    points = [(T0 + i * 7_000 + (3_000 if i % 3 == 0 else 0), float(i)) for i in range(200)]
    ws = WindowState()
    out = _feed(ws, [*points, (T0 + 1000 * BUCKET_MS, 0.0)])
    assert sum(s.count for s in _by(out, "1m").values()) == 201 - 1  # the last one is still open
    assert sum(s.count for s in _by(out, "5m").values()) == 5 * 200  # each reading is in 5 hopping windows


def test_state_stays_bounded_and_long_gaps_are_cheap() -> None:
    ws = WindowState()
    for i in range(2_000):
        ws.add(T0 + i * 5_000, _temperature(1.0), LATENESS)
        ws.close(LATENESS)
    assert len(ws.buckets) <= 6
    ws.add(T0 + 10**10, _temperature(1.0), LATENESS)  # months later: no loop over every minute in between
    ws.close(LATENESS)
    assert len(ws.buckets) == 1


def test_missing_sensor_has_no_stats_and_no_nan() -> None:
    ws = WindowState()
    out = _feed(ws, [(T0, 1.0), (T0 + 2 * BUCKET_MS, 1.0)])
    assert {w.sensor for _, w in out} == {"temperature_c"}
    assert all(not math.isnan(v) for _, w in out for v in w.stats)


def _add_values_reference(bucket: list[float], start_ms: int, ts_ms: int, values: tuple[float | None, ...]) -> None:
    """The moments of one reading, each field by its name."""
    t = (ts_ms - start_ms) / 1000.0
    for sensor, value in enumerate(values):
        if value is None:
            continue
        o = sensor * WIDTH
        bucket[o + F_N] += 1.0
        bucket[o + F_SUM] += value
        bucket[o + F_SUMSQ] += value * value
        if value < bucket[o + F_MIN]:
            bucket[o + F_MIN] = value
        if value > bucket[o + F_MAX]:
            bucket[o + F_MAX] = value
        if ts_ms >= bucket[o + F_LAST_TS]:
            bucket[o + F_LAST_TS] = float(ts_ms)
            bucket[o + F_LAST] = value
        bucket[o + F_ST] += t
        bucket[o + F_STT] += t * t
        bucket[o + F_STV] += t * value


def test_add_values_is_the_plain_loop_bit_for_bit() -> None:
    """add_values (one loop with the time terms computed once) against the moments written out per field."""
    rng = random.Random(7)
    fast, slow = new_bucket(), new_bucket()
    for _ in range(2_000):
        ts = T0 + rng.randrange(0, BUCKET_MS, 250)  # repeated and out-of-order event times
        values = tuple(
            None if rng.random() < 0.3 else rng.choice([-0.0, 0.0, 1e-300, rng.uniform(-1e4, 1e4)])
            for _ in SENSOR_NAMES
        )
        add_values(fast, T0, ts, values)
        _add_values_reference(slow, T0, ts, values)
    assert encode_bucket(fast) == encode_bucket(slow)
