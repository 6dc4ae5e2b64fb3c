"""Records: a sensor value beyond anything its device has shown, and how rare that is per device-hour.

Per sensor and side, the `K` most extreme values the device ever reported are kept. They are never
forgotten with time: a slow move to a level the device has never been at is news however slowly it came,
which is what a failure looks like and what a change detector learns away as the new normal.

How rare a record is: if the device's readings so far are representative of it, the chance that the next
reading beats all of them is about 1 in n, and per hour of observation about 1 in (hours observed). How far
beyond the record the value goes adds to that: beyond the k-th most extreme value u, the tail is taken as
exponential (peaks over threshold), P(X > x) ~ exp(-(x - u) / beta), with beta the mean excess of the top
K - 1 values over u (its maximum-likelihood scale) at its 95% upper confidence bound, floored at a
hundredth of the device's range and at the sensor's resolution (the smallest step it has shown: a sensor
that reports whole units repeats its extremes exactly, and one unit beyond them is not many decades
rarer). So the surprise, in decades per device-hour, is

    L = log10(hours observed / sides) + (x - record) / (beta ln 10)

A record on a device watched for an hour says nothing (a simulated fleet's healthy devices set them all
the time); one after weeks of watching is rare, and more so the further it goes.

Alerts on records ratchet like the degradation channel's: once a record alerted at L1, the next alerts
only when the evidence has doubled (a value still climbing sets a record on every reading), until the
device has gone `QUIET_READINGS` readings with no value among its K most extreme (the excursion is over: a
slow drift that keeps the device at its extremes is one excursion however long it lasts).

State: a flat array per device, (n, the last value, the smallest step, K highs descending, K lows
ascending) per sensor, and the ratchet. A repair (`reset`) starts the records afresh.
"""

from __future__ import annotations

import math
from array import array
from typing import Final

K: Final = 8
MIN_SEEN: Final = 4 * K  # readings before a sensor's records say anything
# Per sensor: n, the last value, the smallest step seen (the sensor's resolution), the current high and low runs'
# extremes (NaN: no run), then the K highest and K lowest run extremes.
# Their positions, as Final ints: the compiled hot path inlines them (a module global is a dict lookup).
N: Final = 0
LAST: Final = 1
RESOLUTION: Final = 2
RUN_HIGH: Final = 3
RUN_LOW: Final = 4
HIGHS: Final = 5
STRIDE: Final = HIGHS + 2 * K
QUIET_READINGS: Final = 50  # readings without a record that end an excursion (and re-arm its alerts)
RANGE_FLOOR: Final = 0.01  # beta is at least this share of the sensor's range
# beta is a mean of K - 1 exponential excesses: its 95% upper confidence bound is 2 (K - 1) / chi2_0.05(2 (K - 1))
# times the estimate (chi2 with 14 degrees of freedom: 6.571). Taking the bound, not the estimate: with 7 excesses
# the estimate is often half the truth, and beyond the record that error is counted in decades.
BETA_DOUBT: Final = 2 * (K - 1) / 6.571
_LN10: Final = math.log(10.0)
_LOG10_2: Final = math.log10(2.0)
_HOUR_MS: Final = 3_600_000.0
_log10: Final = math.log10  # bound once: compiled, math.log10 is otherwise looked up in the module per call


class Records:
    __slots__ = ("alerted", "extreme", "quiet", "sensors", "stats")

    def __init__(self, sensors: int) -> None:
        self.sensors = sensors
        self.stats = _empty(sensors)
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
        stats, at = self.stats, STRIDE * i
        n = stats[at + N]
        if n < MIN_SEEN or cadence_ms <= 0.0:
            return 0.0, value
        hours = n * cadence_ms / _HOUR_MS
        hi, lo = at + HIGHS, at + HIGHS + K
        # The record is the highest value shown, in a past run or in the current one (a comparison with NaN,
        # no run, is False).
        run_high, run_low = stats[at + RUN_HIGH], stats[at + RUN_LOW]
        high = run_high if run_high > stats[hi] else stats[hi]
        low = run_low if run_low < stats[lo] else stats[lo]
        sides = _LOG10_2 if side == 0 else 0.0
        floor = floor if floor > stats[at + RESOLUTION] else stats[at + RESOLUTION]
        # The tail near the extremes of n readings of Gaussian noise has scale sigma / sqrt(2 ln n): a sensor's
        # extremes are not credibly thinner-tailed than its noise (eight record lows of a simulated supply
        # within 0.009 V of each other made a 4-sigma reading 3 decades rare).
        gaussian = noise / math.sqrt(2.0 * math.log(n))
        floor = floor if floor > gaussian else gaussian
        if (side >= 0 and value > stats[hi + K - 1]) or (side <= 0 and value < stats[lo + K - 1]):
            self.extreme = True
        if side >= 0 and value > high:
            beta = (sum(stats[hi : hi + K - 1]) - (K - 1) * stats[hi + K - 1]) / (K - 1)
            return _rarity(hours, value - high, beta, floor, high - low) - sides, high
        if side <= 0 and value < low:
            beta = ((K - 1) * stats[lo + K - 1] - sum(stats[lo : lo + K - 1])) / (K - 1)
            return _rarity(hours, low - value, beta, floor, high - low) - sides, low
        return 0.0, value

    def reset(self) -> None:
        """A repair: the failure's extremes are no part of the repaired device's range."""
        self.stats = _empty(self.sensors)
        self.alerted, self.quiet, self.extreme = 0.0, 0, False

    def learn(self, i: int, value: float) -> None:
        stats, at = self.stats, STRIDE * i
        n = int(stats[at + N])
        stats[at + N] = n + 1
        step = abs(value - stats[at + LAST])
        if n and step > 0.0 and (step < stats[at + RESOLUTION] or stats[at + RESOLUTION] == 0.0):
            stats[at + RESOLUTION] = step
        stats[at + LAST] = value
        hi, lo = at + HIGHS, at + HIGHS + K
        if n < K:  # the first K values fill the extremes as they come
            _insert(stats, hi, n, value, 1.0)
            _insert(stats, lo, n, value, -1.0)
            return
        _run(stats, at + RUN_HIGH, hi, value, 1.0)
        _run(stats, at + RUN_LOW, lo, value, -1.0)

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
        if not isinstance(raw, bytes) or len(raw) != 8 * STRIDE * self.sensors:
            raise ValueError("records state does not fit the model's sensors")
        if not isinstance(alerted, float) or not isinstance(quiet, int):
            raise ValueError("records state is malformed")
        self.stats = array("d", raw)
        self.alerted, self.quiet = alerted, quiet


def _empty(sensors: int) -> array[float]:
    stats = array("d", bytes(8 * STRIDE * sensors))
    for i in range(sensors):
        stats[STRIDE * i + RUN_HIGH] = stats[STRIDE * i + RUN_LOW] = math.nan
    return stats


def _run(stats: array[float], run: int, start: int, value: float, sign: float) -> None:
    """Decluster (the runs method of peaks over threshold): consecutive values beyond the k-th extreme are one
    excursion, and only its most extreme value joins the extremes, once the excursion is over. A device's
    extremes are otherwise one excursion's neighbouring readings, whose spread says nothing of the tail
    (a simulated fan's eight lowest readings of four hours lay within 0.02 CFM of each other)."""
    current = stats[run]
    if sign * (value - stats[start + K - 1]) > 0:  # beyond the k-th extreme: in a run
        if current != current or sign * (value - current) > 0:  # no run yet (NaN), or further out
            stats[run] = value
    elif current == current:  # the run is over: its extreme joins the extremes
        _insert(stats, start, K, current, sign)
        stats[run] = math.nan


def _rarity(hours: float, excess: float, beta: float, floor: float, spread: float) -> float:
    """log10(hours) plus the exponential tail's decades for `excess` beyond the record."""
    beta = beta if beta > floor else floor
    relative = RANGE_FLOOR * spread
    beta = beta if beta > relative else relative
    beta = 1e-9 if beta < 1e-9 else beta
    return _log10(hours) + excess / (beta * BETA_DOUBT * _LN10)


def _insert(stats: array[float], start: int, filled: int, value: float, sign: float) -> None:
    """Put value into the sorted run stats[start:start + K] (descending for sign 1, ascending for -1), of
    which `filled` slots hold values; the least extreme one drops out when the run is full."""
    j = filled if filled < K else K - 1
    while j > 0 and sign * (value - stats[start + j - 1]) > 0:
        stats[start + j] = stats[start + j - 1]
        j -= 1
    stats[start + j] = value
