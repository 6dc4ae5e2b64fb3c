"""Short-memory prediction of one sensor, three ways, for the anomaly channel.

Each predicts the next reading and measures the miss in units of its own typical miss (a robust EW
mean absolute deviation, Huber-clipped, learned at `RATE` like any other reading: unlike the device
baseline's scale, outliers here widen it as usual, so an erratic series is not surprising forever):
- level: the EW level (a spike, a level shift, a changed variance);
- step: the previous reading (a jump of the series itself, even when it is noisy around a trend);
- season: the same time of day on earlier days (a changed daily pattern), once every time-of-day bin has
  been seen on `SEASON_DAYS` days. Only for cadences that put a reading in every bin; the profile is
  float32 (its precision is far below the noise).
"""

from __future__ import annotations

import math
from array import array

from streams.model.calibration import gaussian_surprise

RATE = 0.01  # ~100 readings of memory for the level and the scales
HUBER_K = 3.0
SEASON_BINS = 48  # half-hour bins of the day
SEASON_DAYS = 3  # days of each bin before the seasonal prediction counts
SEASON_RATE = 0.1  # a bin's profile moves this share toward a new day's reading (~10 days of memory)
DAY_MS = 86_400_000
BIN_MS = DAY_MS // SEASON_BINS
YOUNG = 10  # readings before a scale is trusted (no clipping, no surprise)
SEASON_YOUNG = 50  # seasonal misses before their scale is trusted
GAUSS_SCALE = 1.2533  # mean absolute deviation x this = sigma for Gaussian noise


class Predictor:
    __slots__ = ("last", "level", "n", "profile", "season_mad", "season_n", "seen", "spread", "step")

    def __init__(self) -> None:
        self.n = 0
        self.level = self.last = 0.0
        self.spread = self.step = self.season_mad = 0.0  # mean absolute misses of the three predictions
        self.season_n = 0  # readings behind season_mad
        self.profile: array | None = None  # per time-of-day bin: the level there (allocated on first use)
        self.seen: array | None = None  # per bin: days seen (up to SEASON_DAYS), the last day's tag

    def surprise(self, value: float, ts_ms: int, floor: float, seasonal: bool) -> float:
        """The largest of the three predictions' surprises for this reading, then learn it."""
        n = self.n
        if n == 0:
            self.level = self.last = value
            self.n = 1
            return 0.0
        relative = max(floor, 1e-4 * abs(self.level), 1e-9)
        scale = max(GAUSS_SCALE * self.spread, relative)
        step_scale = max(GAUSS_SCALE * self.step, relative)
        miss, jump = value - self.level, value - self.last
        surprise = max(gaussian_surprise(miss / scale), gaussian_surprise(jump / step_scale)) if n > YOUNG else 0.0
        rate = max(RATE, 1.0 / (n + 1))
        bound = HUBER_K * scale if n > YOUNG else math.inf
        self.level += rate * max(-bound, min(bound, miss))
        self.spread += rate * (min(abs(miss), bound) - self.spread)
        step_bound = HUBER_K * step_scale if n > YOUNG else math.inf
        self.step += rate * (min(abs(jump), step_bound) - self.step)
        if seasonal:
            surprise = max(surprise, self._season(value, ts_ms, relative))
        self.last = value
        self.n = n + 1
        return surprise

    def _season(self, value: float, ts_ms: int, relative: float) -> float:
        if self.profile is None or self.seen is None:
            self.profile, self.seen = array("f", bytes(4 * SEASON_BINS)), array("H", bytes(2 * 2 * SEASON_BINS))
        day, b = divmod(ts_ms // BIN_MS, SEASON_BINS)
        seen, day_tag = self.seen, (day % 65_535) + 1  # per bin: days seen, and the last day's tag (0: none)
        if seen[2 * b + 1] != day_tag:
            seen[2 * b + 1] = day_tag
            seen[2 * b] = min(SEASON_DAYS, seen[2 * b] + 1)
        if seen[2 * b] < SEASON_DAYS:  # still learning this bin: the mean of what it has seen
            self.profile[b] += SEASON_RATE * (value - self.profile[b]) if seen[2 * b] > 1 else value - self.profile[b]
            return 0.0
        young = self.season_n < SEASON_YOUNG
        scale = max(GAUSS_SCALE * self.season_mad, relative)
        miss = value - self.profile[b]
        bound = math.inf if young else HUBER_K * scale
        self.season_n += 1
        self.season_mad += max(RATE, 1.0 / self.season_n) * (min(abs(miss), bound) - self.season_mad)
        self.profile[b] += SEASON_RATE * max(-bound, min(bound, miss))
        return 0.0 if young else gaussian_surprise(miss / scale)
