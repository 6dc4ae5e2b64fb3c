"""Degradation tracking: how far a device has moved from its own healthy early life.

Each health sensor gets a reference (mean and spread) learned from the device's first `REF_READINGS`
readings and then frozen: elapsed time never moves it, only a failure label or an explicit re-baseline
(`reset`) does. A slow, monotone degradation therefore keeps counting against the healthy device it
started from instead of becoming its new normal. The spread can come from the device type's fleet
prior (many devices' healthy lives), which a new device cannot estimate from a few readings.

Per reading, every sensor's z against that reference is smoothed (EW mean, rate `RATE`), so one noisy
reading says little and a held shift adds up. Only the part of it beyond `TOLERANCE` counts: a drift
smaller than three standard errors of the reference's own mean is within what 30 readings can say about
the healthy level, and counting it made a fleet's slowest, earliest wear alert while the devices had
well over a hundred cycles to live (C-MAPSS: 12 of the 65 engines that alerted did so at RUL > 125).
The squares of those excesses, each capped so one broken sensor cannot speak for the device, are summed
across sensors into a chi-square statistic with one degree of freedom per sensor (its null variance
includes the reference's own estimation error).
The statistic's upper tail probability is the degradation surprise L = -log10 p.

Alerts on it ratchet: once the device alerted at surprise L1, it alerts again only when the surprise
has doubled, so a device degrading for days raises a few alerts as it gets clearly worse, never one per
reading, and its health stays visible in the reasons.
"""

from __future__ import annotations

import math
from array import array
from typing import Final

from streams.model.calibration import gaussian_surprise

REF_READINGS: Final = 30  # readings of healthy early life behind a device's own reference
RATE: Final = 0.1  # EW smoothing of z: ~10 readings of memory
Z_CAP_SQ: Final = 36.0  # one sensor adds at most a 6-scale deviation to the statistic
TOLERANCE: Final = 3.0 / math.sqrt(REF_READINGS)  # smoothed z within this of 0 is no wear (0.55 spreads)
YOUNG_K: Final = 30.0  # a spread learned from n readings counts sqrt(1 + K/n) wider (small-sample doubt: x1.4 at 30)
_EW_VAR: Final = RATE / (2 - RATE)  # variance of the EW mean of iid N(0, 1)
_LOG10_2: Final = math.log10(2.0)


def chi2_surprise(statistic: float, dof: int) -> float:
    """-log10 P(chi2(dof) >= statistic), by the Wilson-Hilferty cube-root normal approximation."""
    if dof <= 0 or statistic <= 0:
        return 0.0
    c = 2.0 / (9.0 * dof)
    z = (math.pow(statistic / dof, 1.0 / 3.0) - (1.0 - c)) / math.sqrt(c)  # x ** (1/3), natively (the same libm pow)
    if z <= 0:
        return 0.0
    return max(0.0, gaussian_surprise(z) + _LOG10_2)  # one-sided: half the two-sided tail


class Degradation:
    """Frozen per-sensor references, the smoothed z against them, and the alert ratchet.

    State is a few small float arrays (one slot per sensor), so it is cheap to keep and to persist."""

    __slots__ = ("alerted", "count", "ewz", "level", "mean", "prior_sd", "sq")

    def __init__(self, sensors: int) -> None:
        # Copies of one zero array (slicing an array is a third of the cost of calling array(): one per envelope load)
        zeros = array("d", bytes(8 * sensors))
        self.count = zeros  # readings in the reference so far (frozen at REF_READINGS)
        self.mean = zeros[:]
        self.sq = zeros[:]  # sum of squared deviations (Welford), for the spread
        self.prior_sd = zeros[:]  # the fleet's healthy spread, 0 when none
        self.ewz = zeros[:]
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
        return _spread(self.count[i], self.mean[i], self.sq[i], self.prior_sd[i], floor)

    def update(self, values: list[float | None], floors: list[float], held: int = -1) -> tuple[float, int, int]:
        """Fold one reading in: (surprise, index of the sensor furthest off, sensors that counted).
        While a sensor's reference is still being learned it counts nothing and learns the reading.
        `held`: a slot sampled less often than every reading; between its samples (None) it counts with the
        smoothed z of its last one, once its reference is fixed."""
        statistic, counted, worst, worst_sq = 0.0, 0, -1, 0.0
        for i, value in enumerate(values):
            # Each array item read once (compiled, every read boxes a float).
            count = self.count[i]
            if value is None:
                if i != held or count < REF_READINGS:
                    continue
                ewz = self.ewz[i]
            elif count < REF_READINGS:
                count += 1
                mean = self.mean[i]
                delta = value - mean
                mean = self.mean[i] = mean + delta / count
                self.sq[i] = self.sq[i] + delta * (value - mean)  # += on an array item is generic, compiled
                self.count[i] = count
                continue
            else:
                mean = self.mean[i]
                z = (value - mean) / _spread(count, mean, self.sq[i], self.prior_sd[i], floors[i])
                ewz = self.ewz[i]
                ewz = self.ewz[i] = ewz + RATE * (z - ewz)
            excess = abs(ewz) - TOLERANCE
            square = excess * excess if excess > 0 else 0.0
            if square > worst_sq:
                worst, worst_sq = i, square
            statistic += square if square < Z_CAP_SQ else Z_CAP_SQ
            counted += 1
        if not counted:
            return 0.0, -1, 0
        null_var = _EW_VAR + 1.0 / REF_READINGS  # smoothing noise + the reference mean's own error
        self.level = chi2_surprise(statistic / null_var, counted)
        return self.level, worst, counted

    def fresh(self, surprise: float, alert_from: float) -> float:
        """The part of the surprise not already alerted on. An alert (fresh >= alert_from) at surprise L
        moves the mark so that the next one needs 2L: the evidence must double to alert again."""
        fresh = surprise - self.alerted
        if fresh >= alert_from:
            self.alerted = 2 * surprise - alert_from
        return fresh


def _spread(count: float, mean: float, sq: float, prior: float, floor: float) -> float:
    """A tracked sensor's spread for its z (Degradation.spread), from its reference's numbers."""
    own = math.sqrt(sq / (count - 1)) * math.sqrt(1.0 + YOUNG_K / count) if count > 1 else 0.0
    sd = own if prior <= 0 else (prior if count < REF_READINGS else math.sqrt(0.5 * (own * own + prior * prior)))
    relative = 1e-4 * abs(mean)
    # max(sd, floor, relative, 1e-9), as the comparisons it makes (per tracked sensor per reading)
    sd = floor if floor > sd else sd
    sd = relative if relative > sd else sd
    return 1e-9 if sd < 1e-9 else sd
