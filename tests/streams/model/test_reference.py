"""The model's rewritten hot-path classes give the bits of the implementations they replaced.

Each reference below is the replaced code as it was (array-backed, before the compiled hot path was made
cheaper), run side by side with the model's class on long random streams that reach the paths the golden
run does not (a daily cadence's time-of-day predictions after three days, gaps, re-levels, both sides),
comparing every output and the envelope's state bytes.
"""

from __future__ import annotations

import math
import random
import struct
from array import array

from streams.model.calibration import gaussian_surprise
from streams.model.degradation import RATE as DEG_RATE
from streams.model.degradation import REF_READINGS, TOLERANCE, Z_CAP_SQ, Degradation, chi2_surprise
from streams.model.degradation import YOUNG_K as DEG_YOUNG_K
from streams.model.features import YOUNG_K
from streams.model.predictor import (
    BIN_MS,
    GAUSS_SCALE,
    HUBER_K,
    RATE,
    SEASON_BINS,
    SEASON_DAYS,
    SEASON_RATE,
    SEASON_YOUNG,
    STRIDE,
    YOUNG,
    Predictors,
)
from streams.model.records import (
    BETA_DOUBT,
    DURATIONS,
    HIGHS,
    LEN_HIGH,
    LEN_LOW,
    MIN_SEEN,
    QUIET_READINGS,
    RANGE_FLOOR,
    RESOLUTION,
    RUN_HIGH,
    RUN_LOW,
    K,
    Records,
)
from streams.model.records import LAST as RECORD_LAST
from streams.model.records import STRIDE as RECORD_STRIDE
from streams.model.records import N as RECORD_N

_LOG10_2 = math.log10(2.0)
N, LEVEL, LAST, SPREAD, STEP, SEASON_MAD, SEASON_N = range(7)


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


class ReferencePredictors:
    __slots__ = ("profile", "seen", "sensors", "stats")

    def __init__(self, sensors: int) -> None:
        self.sensors = sensors
        # n, the EW level, the last reading, the mean absolute misses of the level, step and seasonal
        # predictions, and the seasonal misses counted, for each sensor in turn.
        self.stats = array("d", bytes(8 * STRIDE * sensors))
        # Per sensor and time-of-day bin: the level there, and the days seen with the last day's tag; allocated
        # when a daily cadence first needs them.
        self.profile: array | None = None
        self.seen: array | None = None

    def surprise(
        self, i: int, value: float, ts_ms: int, floor: float, seasonal: bool, side: int = 0, steps: float = 1.0
    ) -> float:
        """Sensor i's prediction surprise for this reading (see the module's notes), then learn it. `side`:
        +1 or -1 when only misses that way can mean a failure (a hotter chip, a sagging supply), 0 for both.
        `steps`: readings' worth of time since the previous one (>= 1; more after a gap in the data)."""
        stats, at = self.stats, STRIDE * i
        n = stats[at + N]
        if n == 0:
            stats[at + LEVEL] = stats[at + LAST] = value
            stats[at + N] = 1
            return 0.0
        level, spread, step = stats[at + LEVEL], stats[at + SPREAD], stats[at + STEP]
        # Runs for every sensor of every reading: min/max are written as the comparisons they make
        # (max(a, b) is `b if b > a else a`, min(a, b) is `b if b < a else a`: the same result for NaN and
        # signed zeros too), which saves ten builtin calls per sensor.
        relative = 1e-4 * abs(level)  # max(floor, 1e-4 * |level|, 1e-9)
        relative = relative if relative > floor else floor
        relative = 1e-9 if relative < 1e-9 else relative
        # Typical misses learned from n readings (after a start or a repair: a device warming up) are an
        # underestimate more often than not; widen them by the same small-sample factor as the baseline's.
        doubt = GAUSS_SCALE * math.sqrt(1.0 + YOUNG_K / n)
        scale = doubt * spread  # max(doubt * spread, relative)
        scale = relative if relative > scale else scale
        # The previous reading predicts the next as a random walk would: over k steps' time its miss spreads
        # sqrt(k)-fold, so a level reached during a gap is not a jump; the typical miss is learned per step.
        stride = math.sqrt(steps) if steps > 1.0 else 1.0
        step_scale = doubt * step * stride  # max(doubt * step * stride, relative)
        step_scale = relative if relative > step_scale else step_scale
        miss, jump = value - level, value - stats[at + LAST]
        abs_miss, abs_jump = abs(miss), abs(jump)
        surprise = 0.0
        young = n <= YOUNG
        if not young:
            # The surprise is monotone in |z|: one tail evaluation, of the larger z (this is the hot path).
            level_z = abs_miss / scale if miss * side >= 0 else 0.0
            step_z = abs_jump / step_scale if jump * side >= 0 else 0.0
            if abs(stats[at + LAST] - level) > HUBER_K * scale:
                step_z = 0.0  # the previous reading was an outlier: returning from it is no jump
            larger = step_z if step_z > level_z else level_z
            surprise = gaussian_surprise(larger) - _LOG10_2  # Bonferroni: the larger of two tails
        rate = 1.0 / (n + 1)  # max(RATE, 1 / (n + 1))
        rate = rate if rate > RATE else RATE
        bound = math.inf if young else HUBER_K * scale
        capped = miss if miss < bound else bound  # max(-bound, min(bound, miss))
        stats[at + LEVEL] = level + rate * (capped if capped > -bound else -bound)
        spread = stats[at + SPREAD] = spread + rate * ((bound if bound < abs_miss else abs_miss) - spread)
        step_bound = math.inf if young else HUBER_K * step_scale
        per_step = (step_bound if step_bound < abs_jump else abs_jump) / stride
        step = stats[at + STEP] = step + rate * (per_step - step)
        if seasonal:
            season = self._season(i, value, ts_ms, relative, side)
            if season is not None:
                # When the time of day predicts this sensor best, its miss is the surprise; otherwise a
                # reading is only as surprising as the less surprised of the two views.
                best = stats[at + SEASON_MAD] < (step if step < spread else spread)
                surprise = season if best else (season if season < surprise else surprise)
        stats[at + LAST] = value
        stats[at + N] = n + 1
        return surprise if surprise > 0.0 else 0.0

    def _season(self, i: int, value: float, ts_ms: int, relative: float, side: int) -> float | None:
        sensors, stats, at = self.sensors, self.stats, STRIDE * i
        if self.profile is None or self.seen is None:
            self.profile = array("f", bytes(4 * SEASON_BINS * sensors))
            self.seen = array("B", bytes(SEASON_BINS * sensors))
        day, b = divmod(ts_ms // BIN_MS, SEASON_BINS)
        slot, profile = i * SEASON_BINS + b, self.profile
        # One byte per bin: the last day's tag (1..63, 0 = never) and the days seen (0..3).
        tag, days = divmod(self.seen[slot], 4)
        day_tag = day % 63 + 1
        if tag != day_tag:
            days = min(SEASON_DAYS, days + 1)
            self.seen[slot] = 4 * day_tag + days
        if days < SEASON_DAYS:  # still learning this bin: no prediction yet
            profile[slot] += SEASON_RATE * (value - profile[slot]) if days > 1 else value - profile[slot]
            return None
        young = stats[at + SEASON_N] < SEASON_YOUNG
        mad = stats[at + SEASON_MAD]
        scale = GAUSS_SCALE * mad  # max(GAUSS_SCALE * mad, relative), and so on: comparisons, as in `surprise`
        scale = relative if relative > scale else scale
        miss = value - profile[slot]
        abs_miss = abs(miss)
        bound = math.inf if young else HUBER_K * scale
        count = stats[at + SEASON_N] = stats[at + SEASON_N] + 1
        rate = 1.0 / count
        rate = rate if rate > RATE else RATE
        stats[at + SEASON_MAD] = mad + rate * ((bound if bound < abs_miss else abs_miss) - mad)
        capped = miss if miss < bound else bound
        profile[slot] += SEASON_RATE * (capped if capped > -bound else -bound)
        if young:
            return None
        return 0.0 if miss * side < 0 else gaussian_surprise(miss / scale)

    def relevel(self) -> None:
        """After a repair: predict from the repaired device's own readings again (its level and typical
        misses are re-learned within YOUNG readings); the time-of-day profile, its usage, is kept."""
        for i in range(self.sensors):
            self.stats[STRIDE * i + N] = 0.0

    def state(self) -> list[bytes | None]:
        if self.profile is None or self.seen is None:
            return [self.stats.tobytes(), None, None]
        return [self.stats.tobytes(), self.profile.tobytes(), self.seen.tobytes()]

    def restore(self, state: list[bytes | None]) -> None:
        stats, profile, seen = state
        if stats is None or len(stats) != 8 * STRIDE * self.sensors:
            raise ValueError("predictor state does not fit the model's sensors")
        self.stats = array("d", bytes(stats))
        if profile is not None and seen is not None:
            self.profile, self.seen = array("f", bytes(profile)), array("B", bytes(seen))


def _stream(rng: random.Random, cadence_ms: int, readings: int) -> list[tuple[int, list[float]]]:
    out, ts = [], 1_767_225_600_000 + rng.randrange(86_400_000)
    for k in range(readings):
        ts += cadence_ms if rng.random() > 0.02 else cadence_ms * rng.randint(2, 40)  # now and then a gap
        day = math.sin(2 * math.pi * (ts % 86_400_000) / 86_400_000)
        values = [50 + 10 * day + rng.gauss(0, 1), 12 + rng.gauss(0, 0.05) - (0.5 if k % 500 > 480 else 0.0)]
        values.append(round(3.0 + rng.gauss(0, 0.2), 1))  # a coarse sensor: repeats, exact ties
        out.append((ts, values))
    return out


def test_predictors_give_the_replaced_bits() -> None:
    rng = random.Random(11)
    for cadence_ms, readings in ((10 * 60_000, 3_000), (BIN_MS, 1_000), (5_000, 3_000), (2 * BIN_MS, 500)):
        new, old = Predictors(3), ReferencePredictors(3)
        for k, (ts, values) in enumerate(_stream(rng, cadence_ms, readings)):
            seasonal = cadence_ms <= BIN_MS
            steps = 1.0 + (rng.random() * 5 if rng.random() < 0.05 else 0.0)
            for i, value in enumerate(values):
                side = (-1, 0, 1)[(i + k // 300) % 3]
                floor = (0.05, 0.002, 0.0)[i]
                got = new.surprise(i, value, ts, floor, seasonal, side, steps)
                want = old.surprise(i, value, ts, floor, seasonal, side, steps)
                assert _bits(got) == _bits(want), (cadence_ms, k, i)
            if k % 700 == 699:
                new.relevel()
                old.relevel()
            if k % 250 == 0:
                assert new.state() == old.state()
                restored = Predictors(3)
                restored.restore(new.state())
                assert restored.state() == old.state()
                new = restored
        assert new.state() == old.state()
        stats = new.state()[0]
        assert stats is not None
        if cadence_ms in (10 * 60_000, BIN_MS):  # the time-of-day predictions were made (and counted)
            assert struct.unpack_from("=7d", stats)[SEASON_N] > 10 * SEASON_YOUNG


def test_decoded_weights_are_what_an_eagerly_built_regression_gives() -> None:
    """Supervised.set_weights keeps decoded weights until a regression is needed; weights() and intercept()
    answer what the regression built at once (as it used to be) answers, and so does the regression built later."""
    import pytest

    from streams.model.supervised import Supervised, new_regression

    names = ("z:a", "z:b", "z:c", "gap", "surprise")
    cases: list[tuple[dict[str, object], object]] = [
        ({"z:a": 1.5, "nope": 2.0, "gap": -0.0, "surprise": math.nan, "z:c": math.inf}, 0.25),
        ({"z:c": 3, "z:a": True, "z:b": 10**20}, -0.0),
        ({}, 0.5),
        ({"z:b": 0.5, "z:a": -1.25, "surprise": math.nan, "gap": -math.inf}, 1.0),  # kept as decoded
        ({"nope": 1.0}, 0),
    ]
    for weights, intercept in cases:
        eager = new_regression()
        for name, value in weights.items():
            if name in names:
                eager._weights[name] = value
        eager.intercept = intercept
        want_weights = {k: float(v) for k, v in eager.weights.items() if math.isfinite(v)}
        want_intercept = float(eager.intercept)  # type: ignore[arg-type]
        lazy = Supervised(names)
        lazy.set_weights(weights, intercept)  # type: ignore[arg-type]
        assert lazy._regression is None
        got = lazy.weights()
        assert list(got.items()) == list(want_weights.items()) and _bits(lazy.intercept()) == _bits(want_intercept)
        built = lazy.regression  # now built: the same weights, in the same order
        same = [(k, _bits(v)) for k, v in built.weights.items()] == [(k, _bits(v)) for k, v in eager.weights.items()]
        assert same and built.intercept == eager.intercept
        assert list(lazy.weights().items()) == list(want_weights.items())
    for corrupt in ("1.5", None, 2**1024, [1.0]):
        with pytest.raises(TypeError):
            Supervised(names).set_weights({"z:a": corrupt}, 0.0)  # type: ignore[dict-item]


_REF_LN10 = math.log(10.0)
_REF_HOUR_MS = 3_600_000.0
_REF_LOG10_2 = math.log10(2.0)


class ReferenceRecords:
    __slots__ = ("alerted", "extreme", "quiet", "sensors", "stats")

    def __init__(self, sensors: int) -> None:
        self.sensors = sensors
        self.stats = _ref_empty(sensors)
        self.alerted = 0.0  # surprise at the latest record alert, doubled less the alert level (0: armed)
        self.quiet = 0  # readings since a value was last among its sensor's K most extreme
        self.extreme = False  # this reading has a value among its sensor's K most extreme (on a side that counts)

    def surprise(
        self, i: int, value: float, side: int, floor: float, noise: float, cadence_ms: float
    ) -> tuple[float, float]:
        """(L, the record it beats) for sensor i's value, before learning it; (0, value) when it beats none.
        `side`: +1 only the high records count, -1 only the low ones, 0 both. `floor`: the sensor's
        resolution when known. `noise`: its noise scale (sigma). `cadence_ms`: the device's time between
        readings."""
        stats, at = self.stats, RECORD_STRIDE * i
        n = stats[at + RECORD_N]
        if n < MIN_SEEN or cadence_ms <= 0.0:
            return 0.0, value
        hours = n * cadence_ms / _REF_HOUR_MS
        hi, lo = at + HIGHS, at + HIGHS + K
        # The record is the highest value shown, in a past run or in the current one (a comparison with NaN,
        # no run, is False).
        run_high, run_low = stats[at + RUN_HIGH], stats[at + RUN_LOW]
        high = run_high if run_high > stats[hi] else stats[hi]
        low = run_low if run_low < stats[lo] else stats[lo]
        sides = _REF_LOG10_2 if side == 0 else 0.0
        floor = floor if floor > stats[at + RESOLUTION] else stats[at + RESOLUTION]
        unit = floor  # the smallest difference the sensor reports
        # The tail near the extremes of n readings of Gaussian noise has scale sigma / sqrt(2 ln n): a sensor's
        # extremes are not credibly thinner-tailed than its noise (eight record lows of a simulated supply
        # within 0.009 V of each other made a 4-sigma reading 3 decades rare).
        gaussian = noise / math.sqrt(2.0 * math.log(n))
        floor = floor if floor > gaussian else gaussian
        if (side >= 0 and value > stats[hi + K - 1]) or (side <= 0 and value < stats[lo + K - 1]):
            self.extreme = True
        # A quantity whose values have all been above its resolution varies by ratios: records on the log scale.
        ratio = unit > 0.0 and low > unit
        if side >= 0 and value > high:
            if ratio:
                logs = [math.log(x) for x in stats[hi : hi + K]]
                beta = (sum(logs[: K - 1]) - (K - 1) * logs[K - 1]) / (K - 1)
                rare = _ref_rarity(hours, math.log(value) - math.log(high), beta, floor / high, math.log(high / low))
                return rare - sides, high
            beta = (sum(stats[hi : hi + K - 1]) - (K - 1) * stats[hi + K - 1]) / (K - 1)
            return _ref_rarity(hours, value - high, beta, floor, high - low) - sides, high
        if side <= 0 and value < low:
            if ratio:
                logs = [math.log(x) for x in stats[lo : lo + K]]
                beta = ((K - 1) * logs[K - 1] - sum(logs[: K - 1])) / (K - 1)
                bottom = max(value, unit)  # below the resolution (zero, a negative glitch): as low as it can tell
                excess = math.log(low) - math.log(bottom)
                rare = _ref_rarity(hours, excess, beta, floor / low, math.log(high / low))
                return rare - sides, low
            beta = ((K - 1) * stats[lo + K - 1] - sum(stats[lo : lo + K - 1])) / (K - 1)
            return _ref_rarity(hours, low - value, beta, floor, high - low) - sides, low
        lasting = 0.0
        if side >= 0 and value > stats[hi + K - 1]:
            lasting = _ref_lasting(hours, stats[at + LEN_HIGH] + 1.0, stats, at + DURATIONS)
        elif side <= 0 and value < stats[lo + K - 1]:
            lasting = _ref_lasting(hours, stats[at + LEN_LOW] + 1.0, stats, at + DURATIONS + K)
        if lasting > 0.0:
            return lasting - sides, math.nan
        return 0.0, value

    def reset(self) -> None:
        """A repair: the failure's extremes are no part of the repaired device's range."""
        self.stats = _ref_empty(self.sensors)
        self.alerted, self.quiet, self.extreme = 0.0, 0, False

    def learn(self, i: int, value: float) -> None:
        stats, at = self.stats, RECORD_STRIDE * i
        n = int(stats[at + RECORD_N])
        stats[at + RECORD_N] = n + 1
        step = abs(value - stats[at + RECORD_LAST])
        if n and step > 0.0 and (step < stats[at + RESOLUTION] or stats[at + RESOLUTION] == 0.0):
            stats[at + RESOLUTION] = step
        stats[at + RECORD_LAST] = value
        hi, lo = at + HIGHS, at + HIGHS + K
        if n < K:  # the first K values fill the extremes as they come
            _ref_insert(stats, hi, n, value, 1.0)
            _ref_insert(stats, lo, n, value, -1.0)
            return
        _ref_run(stats, at + RUN_HIGH, hi, value, 1.0)
        _ref_run(stats, at + RUN_LOW, lo, value, -1.0)
        for run, length, longest in ((RUN_HIGH, LEN_HIGH, DURATIONS), (RUN_LOW, LEN_LOW, DURATIONS + K)):
            if stats[at + run] == stats[at + run]:  # in a run (not NaN)
                stats[at + length] += 1.0
            elif stats[at + length] > 0.0:  # a run just ended: its length joins the longest runs
                _ref_insert(stats, at + longest, K, stats[at + length], 1.0)
                stats[at + length] = 0.0

    def fresh(self, surprise: float, alert_from: float) -> float:
        """The part of this reading's record surprise not already alerted on (see the module's notes); ends
        the reading (the next starts with no extreme value seen)."""
        extreme, self.extreme = self.extreme, False
        self.quiet = 0 if extreme else self.quiet + 1
        if self.quiet >= QUIET_READINGS:
            self.alerted = 0.0
        if surprise <= 0.0:
            return 0.0
        fresh = surprise - self.alerted
        if fresh >= alert_from:
            self.alerted = 2 * surprise - alert_from
        return fresh

    def state(self) -> list[bytes | float | int]:
        return [self.stats.tobytes(), self.alerted, self.quiet]

    def restore(self, state: list[bytes | float | int]) -> None:
        raw, alerted, quiet = state
        if not isinstance(raw, bytes) or len(raw) != 8 * RECORD_STRIDE * self.sensors:
            raise ValueError("records state does not fit the model's sensors")
        if not isinstance(alerted, float) or not isinstance(quiet, int):
            raise ValueError("records state is malformed")
        self.stats = array("d", raw)
        self.alerted, self.quiet = alerted, quiet


def _ref_empty(sensors: int) -> array:
    stats = array("d", bytes(8 * RECORD_STRIDE * sensors))
    for i in range(sensors):
        stats[RECORD_STRIDE * i + RUN_HIGH] = stats[RECORD_STRIDE * i + RUN_LOW] = math.nan
    return stats


def _ref_run(stats: array, run: int, start: int, value: float, sign: float) -> None:
    """Decluster (the runs method of peaks over threshold): consecutive values beyond the k-th extreme are one
    excursion, and only its most extreme value joins the extremes, once the excursion is over. A device's
    extremes are otherwise one excursion's neighbouring readings, whose spread says nothing of the tail
    (a simulated fan's eight lowest readings of four hours lay within 0.02 CFM of each other)."""
    current = stats[run]
    if sign * (value - stats[start + K - 1]) > 0:  # beyond the k-th extreme: in a run
        if current != current or sign * (value - current) > 0:  # no run yet (NaN), or further out
            stats[run] = value
    elif current == current:  # the run is over: its extreme joins the extremes
        _ref_insert(stats, start, K, current, sign)
        stats[run] = math.nan


def _ref_lasting(hours: float, length: float, stats: array, start: int) -> float:
    if stats[start + K - 1] <= 0.0 or length <= stats[start]:
        return 0.0
    beta = (sum(stats[start : start + K - 1]) - (K - 1) * stats[start + K - 1]) / (K - 1)
    return _ref_rarity(hours, length - stats[start], beta, 1.0, 0.0)


def _ref_rarity(hours: float, excess: float, beta: float, floor: float, spread: float) -> float:
    """log10(hours) plus the exponential tail's decades for `excess` beyond the record."""
    beta = beta if beta > floor else floor
    relative = RANGE_FLOOR * spread
    beta = beta if beta > relative else relative
    beta = 1e-9 if beta < 1e-9 else beta
    return math.log10(hours) + excess / (beta * BETA_DOUBT * _REF_LN10)


def _ref_insert(stats: array, start: int, filled: int, value: float, sign: float) -> None:
    """Put value into the sorted run stats[start:start + K] (descending for sign 1, ascending for -1), of
    which `filled` slots hold values; the least extreme one drops out when the run is full."""
    j = filled if filled < K else K - 1
    while j > 0 and sign * (value - stats[start + j - 1]) > 0:
        stats[start + j] = stats[start + j - 1]
        j -= 1
    stats[start + j] = value


def test_records_give_the_replaced_bits() -> None:
    rng = random.Random(12)
    for sensors, readings, cadence_ms in ((3, 6_000, 5_000.0), (1, 3_000, 3_600_000.0), (2, 200, 0.0)):
        new, old = Records(sensors), ReferenceRecords(sensors)
        beaten = lasted = 0
        for k in range(readings):
            drift = 0.002 * (k % 1_500)  # slow drifts to new extremes, and back
            for i in range(sensors):
                value = [20 + drift + rng.gauss(0, 1), round(5 - drift + rng.gauss(0, 0.3), 1), rng.expovariate(1.0)][
                    i % 3
                ]
                if rng.random() < 0.003:
                    value += rng.choice((-1, 1)) * rng.uniform(3, 30)  # an excursion beyond the records
                side = (0, -1, 1)[(i + k // 1_000) % 3]
                floor, noise = (0.0, 0.05, 0.01)[i % 3], rng.uniform(0.0, 1.5)
                got = new.surprise(i, value, side, floor, noise, cadence_ms)
                want = old.surprise(i, value, side, floor, noise, cadence_ms)
                assert [_bits(x) for x in got] == [_bits(x) for x in want], (k, i)
                beaten += got[0] > 0
                lasted += got[0] > 0 and got[1] != got[1]  # NaN: a duration record
                new.learn(i, value)
                old.learn(i, value)
            rare = rng.uniform(-1, 8) if rng.random() < 0.1 else 0.0
            assert _bits(new.fresh(rare, 3.0)) == _bits(old.fresh(rare, 3.0))
            if k % 2_000 == 1_999:
                new.reset()
                old.reset()
            if k % 333 == 0:
                assert new.state() == old.state()
                restored = Records(sensors)
                restored.restore(new.state())
                assert restored.state() == old.state()
                new = restored
        assert new.state() == old.state() and bytes(new.stats) == old.stats.tobytes()
        assert beaten > 10 or cadence_ms <= 0.0, beaten
        assert lasted > 0 or cadence_ms <= 0.0 or readings < 5_000, lasted


class ReferenceDegradation:
    """Frozen per-sensor references, the smoothed z against them, and the alert ratchet.

    State is a few small float arrays (one slot per sensor), so it is cheap to keep and to persist."""

    __slots__ = ("alerted", "count", "ewz", "level", "mean", "prior_sd", "sq")

    def __init__(self, sensors: int) -> None:
        self.count = array("d", bytes(8 * sensors))  # readings in the reference so far (frozen at REF_READINGS)
        self.mean = array("d", bytes(8 * sensors))
        self.sq = array("d", bytes(8 * sensors))  # sum of squared deviations (Welford), for the spread
        self.prior_sd = array("d", bytes(8 * sensors))  # the fleet's healthy spread, 0 when none
        self.ewz = array("d", bytes(8 * sensors))
        self.alerted = 0.0  # surprise at the latest degradation alert (0: none since the last reset)
        self.level = 0.0  # the latest surprise

    def reset(self) -> None:
        """A repair, a replacement or an explicit re-baseline: learn the healthy reference afresh. The
        spread learned so far is kept as the prior's (how noisy a healthy sensor is survives a repair)."""
        for i in range(len(self.mean)):
            if self.prior_sd[i] <= 0 and self.count[i] > 1:
                self.prior_sd[i] = math.sqrt(self.sq[i] / (self.count[i] - 1))
        n = len(self.mean)
        self.count, self.mean, self.sq, self.ewz = (array("d", bytes(8 * n)) for _ in range(4))
        self.alerted = self.level = 0.0

    def healthy_sd(self, i: int) -> float:
        """The sensor's own healthy spread once its reference is fixed (0 before): what a fleet prior pools."""
        count = self.count[i]
        return math.sqrt(self.sq[i] / (count - 1)) if count >= REF_READINGS else 0.0

    def spread(self, i: int, floor: float) -> float:
        count = self.count[i]
        own = math.sqrt(self.sq[i] / (count - 1)) * math.sqrt(1.0 + DEG_YOUNG_K / count) if count > 1 else 0.0
        prior = self.prior_sd[i]
        sd = own if prior <= 0 else (prior if count < REF_READINGS else math.sqrt(0.5 * (own * own + prior * prior)))
        relative = 1e-4 * abs(self.mean[i])
        # max(sd, floor, relative, 1e-9), as the comparisons it makes (per tracked sensor per reading)
        sd = floor if floor > sd else sd
        sd = relative if relative > sd else sd
        return 1e-9 if sd < 1e-9 else sd

    def update(self, values: list[float | None], floors: list[float]) -> tuple[float, int, int]:
        """Fold one reading in: (surprise, index of the sensor furthest off, sensors that counted).
        While a sensor's reference is still being learned it counts nothing and learns the reading."""
        statistic, counted, worst, worst_sq = 0.0, 0, -1, 0.0
        for i, value in enumerate(values):
            if value is None:
                continue
            count = self.count[i]
            if count < REF_READINGS:
                count += 1
                delta = value - self.mean[i]
                self.mean[i] += delta / count
                self.sq[i] += delta * (value - self.mean[i])
                self.count[i] = count
                continue
            z = (value - self.mean[i]) / self.spread(i, floors[i])
            ewz = self.ewz[i] = self.ewz[i] + DEG_RATE * (z - self.ewz[i])
            excess = abs(ewz) - TOLERANCE
            square = excess * excess if excess > 0 else 0.0
            if square > worst_sq:
                worst, worst_sq = i, square
            statistic += square if square < Z_CAP_SQ else Z_CAP_SQ
            counted += 1
        if not counted:
            return 0.0, -1, 0
        null_var = (DEG_RATE / (2 - DEG_RATE)) + 1.0 / REF_READINGS  # smoothing noise + the reference mean's own error
        self.level = chi2_surprise(statistic / null_var, counted)
        return self.level, worst, counted

    def fresh(self, surprise: float, alert_from: float) -> float:
        """The part of the surprise not already alerted on. An alert (fresh >= alert_from) at surprise L
        moves the mark so that the next one needs 2L: the evidence must double to alert again."""
        fresh = surprise - self.alerted
        if fresh >= alert_from:
            self.alerted = 2 * surprise - alert_from
        return fresh


def test_degradation_gives_the_replaced_bits() -> None:
    rng = random.Random(13)
    floors = [0.01, 0.002, 0.0]
    new, old = Degradation(3), ReferenceDegradation(3)
    for k in range(4_000):
        wear = 0.001 * (k % 1_200)
        values: list[float | None] = [
            35 - wear + rng.gauss(0, 0.5),
            12 + rng.gauss(0, 0.05),
            rng.gauss(5, 1) * (1 + wear),
        ]
        if rng.random() < 0.05:
            values[rng.randrange(3)] = None
        got, want = new.update(values, floors), old.update(values, floors)
        assert [_bits(float(x)) for x in got] == [_bits(float(x)) for x in want], k
        assert _bits(new.fresh(got[0], 3.0)) == _bits(old.fresh(want[0], 3.0))
        if k % 1_300 == 1_299:  # a repair: the learned spread becomes the prior
            new.reset()
            old.reset()
        if k == 2_000:
            new.prior_sd[2] = old.prior_sd[2] = 0.7  # a fleet prior
        for i in range(3):
            assert _bits(new.spread(i, floors[i])) == _bits(old.spread(i, floors[i]))
    for name in ("count", "mean", "sq", "prior_sd", "ewz"):
        assert getattr(new, name).tobytes() == getattr(old, name).tobytes(), name
