"""Short-memory prediction of each sensor, three ways, for the anomaly channel.

Each predicts the next reading and measures the miss in units of its own typical miss (a robust EW
mean absolute deviation, Huber-clipped, learned at `RATE` like any other reading: unlike the device
baseline's scale, outliers here widen it as usual, so an erratic series is not surprising forever):
- level: the EW level (a spike, a level shift, a changed variance);
- step: the previous reading (a jump of the series itself, even when it is noisy around a trend);
- season: the same time of day on earlier days, once a time-of-day bin has been seen on `SEASON_DAYS`
  days. Only for cadences that put a reading in every bin.

The surprise is the larger of the level and step surprises (Bonferroni-corrected). Once the seasonal
prediction is known: if it is this sensor's best prediction (the smallest typical miss), its miss alone
is the surprise (a daily jump it predicts is no anomaly, a missing one is); otherwise the reading is
only as surprising as the less surprised of the two views.

One `Predictors` holds every sensor of a device as flat arrays (no object per sensor), so a device's
state stays a few hundred bytes plus, once it runs on a daily cadence, the float32 profile.
"""

from __future__ import annotations

import math
import struct
from array import array
from typing import Final

from streams.model.calibration import gaussian_surprise
from streams.model.features import YOUNG_K

RATE: Final = 0.01  # ~100 readings of memory for the level and the scales
HUBER_K: Final = 3.0
SEASON_BINS: Final = 48  # half-hour bins of the day
SEASON_DAYS: Final = 3  # days of a bin before its seasonal prediction counts
SEASON_RATE: Final = 0.1  # a bin's profile moves this share toward a new reading
SEASON_YOUNG: Final = 50  # seasonal misses before their scale is trusted
DAY_MS: Final = 86_400_000
BIN_MS: Final = DAY_MS // SEASON_BINS
YOUNG: Final = 10  # readings before a scale is trusted (no clipping, no surprise)
GAUSS_SCALE: Final = 1.2533  # mean absolute deviation x this = sigma for Gaussian noise
_LOG10_2: Final = math.log10(2.0)
# Per sensor, these numbers (the envelope stores them as one flat float64 array, sensor after sensor).
FIELDS: Final = ("n", "level", "last", "spread", "step", "season_mad", "season_n")
STRIDE: Final = 7  # len(FIELDS), as a literal the compiled code inlines
assert len(FIELDS) == STRIDE
# The envelope's layout of a device's numbers, per sensor count: native-order float64s, as array("d").tobytes().
_LAYOUTS: dict[int, struct.Struct] = {}


class _Sensor:
    """One sensor's numbers as typed attributes: compiled, they are plain doubles (an array('d') boxes a float
    per read and unboxes one per write, ~13 of each per sensor per reading)."""

    __slots__ = FIELDS

    def __init__(
        self,
        n: float = 0.0,
        level: float = 0.0,
        last: float = 0.0,
        spread: float = 0.0,
        step: float = 0.0,
        season_mad: float = 0.0,
        season_n: float = 0.0,
    ) -> None:
        self.n = n
        self.level = level  # the EW level
        self.last = last  # the last reading
        self.spread = spread  # the mean absolute misses of the level, step and seasonal predictions
        self.step = step
        self.season_mad = season_mad
        self.season_n = season_n  # the seasonal misses counted


class Predictors:
    __slots__ = ("day_tag", "each", "profile", "seen", "sensors", "slot", "slot_ts")

    def __init__(self, sensors: int) -> None:
        self.sensors = sensors
        self.each = [_Sensor() for _ in range(sensors)]
        # Per sensor and time-of-day bin: the level there, and the days seen with the last day's tag; allocated
        # when a daily cadence first needs them.
        self.profile: array[float] | None = None
        self.seen: array[int] | None = None
        # The time-of-day bin and day tag (1..63; 0: none yet) of the reading at slot_ts (the same for each of
        # its sensors): computed once per reading.
        self.slot_ts = 0
        self.slot = 0
        self.day_tag = 0

    def surprise(
        self, i: int, value: float, ts_ms: int, floor: float, seasonal: bool, side: int = 0, steps: float = 1.0
    ) -> float:
        """Sensor i's prediction surprise for this reading (see the module's notes), then learn it. `side`:
        +1 or -1 when only misses that way can mean a failure (a hotter chip, a sagging supply), 0 for both.
        `steps`: readings' worth of time since the previous one (>= 1; more after a gap in the data)."""
        p = self.each[i]
        n = p.n
        if n == 0:
            p.level = p.last = value
            p.n = 1.0
            return 0.0
        level, spread, step = p.level, p.spread, p.step
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
        last = p.last
        miss, jump = value - level, value - last
        abs_miss, abs_jump = abs(miss), abs(jump)
        surprise = 0.0
        young = n <= YOUNG
        if not young:
            # The surprise is monotone in |z|: one tail evaluation, of the larger z (this is the hot path).
            level_z = abs_miss / scale if miss * side >= 0 else 0.0
            step_z = abs_jump / step_scale if jump * side >= 0 else 0.0
            if abs(last - level) > HUBER_K * scale:
                # The previous reading was itself an outlier: it predicts nothing, and a return toward the
                # level is the outlier ending, not a jump (the level's miss still counts a sustained one).
                step_z = 0.0
            larger = step_z if step_z > level_z else level_z
            surprise = gaussian_surprise(larger) - _LOG10_2  # Bonferroni: the larger of two tails
        rate = 1.0 / (n + 1)  # max(RATE, 1 / (n + 1))
        rate = rate if rate > RATE else RATE
        bound = math.inf if young else HUBER_K * scale
        capped = miss if miss < bound else bound  # max(-bound, min(bound, miss))
        p.level = level + rate * (capped if capped > -bound else -bound)
        spread = p.spread = spread + rate * ((bound if bound < abs_miss else abs_miss) - spread)
        step_bound = math.inf if young else HUBER_K * step_scale
        per_step = (step_bound if step_bound < abs_jump else abs_jump) / stride
        step = p.step = step + rate * (per_step - step)
        if seasonal:
            season = self._season(i, p, value, ts_ms, relative, side)
            if season is not None:
                # When the time of day predicts this sensor best, its miss is the surprise; otherwise a
                # reading is only as surprising as the less surprised of the two views.
                best = p.season_mad < (step if step < spread else spread)
                surprise = season if best else (season if season < surprise else surprise)
        p.last = value
        p.n = n + 1
        return surprise if surprise > 0.0 else 0.0

    def _season(self, i: int, p: _Sensor, value: float, ts_ms: int, relative: float, side: int) -> float | None:
        profile, seen = self.profile, self.seen
        if profile is None or seen is None:
            profile = self.profile = array("f", bytes(4 * SEASON_BINS * self.sensors))
            seen = self.seen = array("B", bytes(SEASON_BINS * self.sensors))
        if ts_ms != self.slot_ts or not self.day_tag:  # divmod as // and % (the same for ints)
            bins = ts_ms // BIN_MS
            self.slot, self.day_tag, self.slot_ts = bins % SEASON_BINS, bins // SEASON_BINS % 63 + 1, ts_ms
        slot, day_tag = i * SEASON_BINS + self.slot, self.day_tag
        # One byte per bin: the last day's tag (1..63, 0 = never) and the days seen (0..3).
        packed = seen[slot]
        tag, days = packed // 4, packed % 4
        if tag != day_tag:
            days = min(SEASON_DAYS, days + 1)
            seen[slot] = 4 * day_tag + days
        if days < SEASON_DAYS:  # still learning this bin: no prediction yet
            # profile[slot] += ..., read once and written once (compiled, += on an array item is generic)
            level = profile[slot]
            profile[slot] = level + (SEASON_RATE * (value - level) if days > 1 else value - level)
            return None
        young = p.season_n < SEASON_YOUNG
        mad = p.season_mad
        scale = GAUSS_SCALE * mad  # max(GAUSS_SCALE * mad, relative), and so on: comparisons, as in `surprise`
        scale = relative if relative > scale else scale
        level = profile[slot]
        miss = value - level
        abs_miss = abs(miss)
        bound = math.inf if young else HUBER_K * scale
        count = p.season_n = p.season_n + 1
        rate = 1.0 / count
        rate = rate if rate > RATE else RATE
        p.season_mad = mad + rate * ((bound if bound < abs_miss else abs_miss) - mad)
        capped = miss if miss < bound else bound
        profile[slot] = level + SEASON_RATE * (capped if capped > -bound else -bound)
        if young:
            return None
        return 0.0 if miss * side < 0 else gaussian_surprise(miss / scale)

    def relevel(self) -> None:
        """After a repair: predict from the repaired device's own readings again (its level and typical
        misses are re-learned within YOUNG readings); the time-of-day profile, its usage, is kept."""
        for p in self.each:
            p.n = 0.0

    def state(self) -> list[bytes | None]:
        numbers: list[float] = []
        for p in self.each:
            numbers.append(p.n)
            numbers.append(p.level)
            numbers.append(p.last)
            numbers.append(p.spread)
            numbers.append(p.step)
            numbers.append(p.season_mad)
            numbers.append(p.season_n)
        stats: bytes = _layout(self.sensors).pack(*numbers)
        if self.profile is None or self.seen is None:
            return [stats, None, None]
        return [stats, self.profile.tobytes(), self.seen.tobytes()]

    def restore(self, state: list[bytes | None]) -> None:
        stats, profile, seen = state
        if stats is None or len(stats) != 8 * STRIDE * self.sensors:
            raise ValueError("predictor state does not fit the model's sensors")
        numbers: tuple[float, ...] = _layout(self.sensors).unpack(stats)
        for i, p in enumerate(self.each):  # in place: the model was just built, one object per sensor
            at = STRIDE * i
            p.n, p.level, p.last, p.spread = numbers[at], numbers[at + 1], numbers[at + 2], numbers[at + 3]
            p.step, p.season_mad, p.season_n = numbers[at + 4], numbers[at + 5], numbers[at + 6]
        if profile is not None and seen is not None:
            self.profile, self.seen = array("f", bytes(profile)), array("B", bytes(seen))


def _layout(sensors: int) -> struct.Struct:
    layout = _LAYOUTS.get(sensors)
    if layout is None:
        layout = _LAYOUTS[sensors] = struct.Struct(f"={STRIDE * sensors}d")
    return layout
