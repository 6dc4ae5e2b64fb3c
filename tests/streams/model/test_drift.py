"""DriftWatch's Page-Hinkley test is River's PageHinkley written out: the same bits, state for state."""

from __future__ import annotations

import math
import random

import msgspec
from river import drift

from streams.model.drift import DriftWatch


def _river_state(watch: DriftWatch, ph: drift.PageHinkley) -> list[object]:
    """What DriftWatch.state() stored when it held River's detector (the envelope's fields)."""
    return [
        watch.since_last,
        watch.boost_left,
        watch.events,
        ph._x_mean.n,
        ph._x_mean._mean,
        ph._sum_increase,
        ph._sum_decrease,
        ph._min_increase,
        ph._max_decrease,
        float(ph._drift_detected),
    ]


def _same(a: list[object], b: list[object]) -> bool:
    """Equal bits and equal types (an int -1 is not a float -1.0 in the envelope's bytes)."""
    return msgspec.msgpack.encode(a) == msgspec.msgpack.encode(b)


def test_page_hinkley_is_rivers_bit_for_bit() -> None:
    rng = random.Random(5)
    ph = drift.PageHinkley(min_instances=60, delta=0.05, threshold=60.0)
    watch = DriftWatch()
    assert _same(watch.state(), _river_state(watch, ph))  # fresh: River's int -1 included
    detections = 0
    for k in range(30_000):
        # Healthy stretches, level shifts both ways, wild values (capped at 10), and now and then a NaN.
        regime = (k // 1_500) % 4
        x = abs(rng.gauss(0.8 + (2.0 if regime == 1 else 0.0) - (0.5 if regime == 3 else 0.0), 0.3))
        if rng.random() < 0.01:
            x = 50.0 * rng.random()
        if k in (29_500, 29_501):  # a NaN poisons River's mean for good: only at the end
            x = math.nan
        moved = rng.random() < 0.001
        ph.update(min(x, 10.0))
        got = watch.update(x, moved)
        detections += ph.drift_detected
        assert watch.ph_detected == ph.drift_detected
        assert _same(watch.state(), _river_state(watch, ph)), k
        assert isinstance(got, bool)
    assert detections > 3  # the stream did exercise detections and the resets after them


def test_restore_round_trips_the_state() -> None:
    for updates in (0, 1, 70, 400):
        watch = DriftWatch()
        for k in range(updates):
            watch.update(0.8 + (k % 7) / 10)
        state = msgspec.msgpack.decode(msgspec.msgpack.encode(watch.state()))
        restored = DriftWatch()
        restored.restore(state)
        assert _same(restored.state(), watch.state())
        for k in range(200):
            assert restored.update(1.5 + k / 100) == watch.update(1.5 + k / 100)
            assert _same(restored.state(), watch.state())


def test_a_nan_first_keeps_rivers_initial_int() -> None:
    ph = drift.PageHinkley(min_instances=60, delta=0.05, threshold=60.0)
    watch = DriftWatch()
    ph.update(math.nan)
    watch.update(math.nan)
    assert ph._max_decrease == -1 and type(ph._max_decrease) is int
    assert _same(watch.state(), _river_state(watch, ph))


def test_at_a_fifth_of_the_pace_a_shift_is_declared_as_late_in_time_and_its_debounce_and_boost_last_as_long() -> None:
    def first_drift(pace: float, readings_per_step: int) -> tuple[int, int]:
        """(5 s steps until a step in the residual is declared a drift, the boost's length in readings)."""
        watch, rng = DriftWatch(), random.Random(9)
        for _ in range(200 * readings_per_step):  # a calm start, then the residual's mean jumps by 2
            watch.update(abs(rng.gauss(0, 1)), pace=pace)
        for k in range(2_000 * readings_per_step):
            if watch.update(abs(rng.gauss(2, 1)), pace=pace):
                return k // readings_per_step, watch.boost_left
        raise AssertionError("no drift declared")

    at_5s, boost_5s = first_drift(1.0, 1)
    at_1s, boost_1s = first_drift(0.2, 5)
    assert 0.75 * at_5s <= at_1s <= 1.5 * at_5s  # about as many 5 s steps (per reading: a fifth as many)
    assert boost_1s == 5 * boost_5s
