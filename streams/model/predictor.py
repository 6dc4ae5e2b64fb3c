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
# Per sensor, these numbers in one flat array (one array object per device, not one per field).
FIELDS: Final = ("n", "level", "last", "spread", "step", "season_mad", "season_n")
# Their positions, as Final ints: the compiled hot path inlines them (a module global is a dict lookup).
N: Final = 0
LEVEL: Final = 1
LAST: Final = 2
SPREAD: Final = 3
STEP: Final = 4
SEASON_MAD: Final = 5
SEASON_N: Final = 6
STRIDE: Final = len(FIELDS)


class Predictors:
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
        # divmod as // and % (the same for ints): compiled, divmod is a builtin call and a tuple.
        bins = ts_ms // BIN_MS
        day, b = bins // SEASON_BINS, bins % SEASON_BINS
        slot, profile = i * SEASON_BINS + b, self.profile
        # One byte per bin: the last day's tag (1..63, 0 = never) and the days seen (0..3).
        packed = self.seen[slot]
        tag, days = packed // 4, packed % 4
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
