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

Durations: an excursion beyond the k-th most extreme value that lasts longer than any excursion before it
is a record too (a slow fall that never reaches the lowest glitch the device once showed, but stays down
for days). Every excursion since the first readings counts, each against the k-th extreme as it stood then,
so the first ones, against the loose extremes of a few readings, are long: they measure how long the
series stays on one side of its level, and a drift must outlast that, not just a few readings beyond the
extremes (counting only the excursions of the K extremes made a C-MAPSS engine's first cycles beyond its
range a record: 11 of 11 healthy engines alerted). The rarity has the same form: about one excursion in
(excursions so far) is the longest yet, so per hour about 1 in (hours observed); beyond the longest, lengths
are taken as exponential with beta the mean excess of the K - 1 longest over the k-th, in readings (at its
95% bound, at least one reading):

    L = log10(hours observed / sides) + (length - longest) / (beta ln 10)

Alerts on records ratchet like the degradation channel's: once a record alerted at L1, the next alerts
only when the evidence has doubled (a value still climbing sets a record on every reading), until the
device has gone `QUIET_READINGS` readings with no value among its K most extreme (the excursion is over: a
slow drift that keeps the device at its extremes is one excursion however long it lasts).

State: a flat array per device, (n, the last value, the smallest step, the current runs' extremes and
lengths, K highs descending, K lows ascending, the K longest high and low runs descending) per sensor, and
the ratchet. A repair (`reset`) starts the records afresh.
"""

from __future__ import annotations

import math
import struct
from array import array
from typing import Final

K: Final = 8
MIN_SEEN: Final = 4 * K  # readings before a sensor's records say anything
# Per sensor: n, the last value, the smallest step seen (the sensor's resolution), the current high and low runs'
# extremes (NaN: no run) and lengths, then the K highest and K lowest run extremes, then the K longest high and
# low runs. Their positions, as Final ints: the compiled hot path inlines them (a module global is a dict lookup).
N: Final = 0
LAST: Final = 1
RESOLUTION: Final = 2
RUN_HIGH: Final = 3
RUN_LOW: Final = 4
LEN_HIGH: Final = 5
LEN_LOW: Final = 6
HIGHS: Final = 7
DURATIONS: Final = HIGHS + 2 * K
STRIDE: Final = DURATIONS + 2 * K
_LONGEST: Final = DURATIONS - HIGHS  # where the longest runs start in a track's array
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


class _Track:
    """One sensor's records: its scalars as typed attributes (compiled, plain doubles: a flat array('d') boxed
    every read and PyArg-parsed every write) and its K highest and K lowest run extremes, then the K longest
    high and low runs, as one array (read a few times per reading, written only when a run ends)."""

    __slots__ = ("extremes", "last", "len_high", "len_low", "n", "resolution", "run_high", "run_low")

    def __init__(self) -> None:
        self.n = 0.0
        self.last = 0.0
        self.resolution = 0.0  # the smallest step seen (the sensor's resolution)
        self.run_high = math.nan  # the current high and low runs' extremes (NaN: no run)
        self.run_low = math.nan
        self.len_high = 0.0  # the current high and low runs' lengths, in readings
        self.len_low = 0.0
        # K highs descending, K lows ascending, then the K longest high runs and low runs, descending
        self.extremes: array[float] = _NO_EXTREMES[:]


_NO_EXTREMES: Final = array("d", bytes(8 * 4 * K))  # copied (sliced: cheaper than calling array()), never changed
_NO_DOUBLES: Final = array("d")
_SCALARS: Final = struct.Struct("=7d")  # a track's scalars in the envelope's layout (native order, as array("d"))


class Records:
    __slots__ = ("alerted", "extreme", "quiet", "sensors", "tracks")

    def __init__(self, sensors: int) -> None:
        self.sensors = sensors
        self.tracks = [_Track() for _ in range(sensors)]
        self.alerted = 0.0  # surprise at the latest record alert, doubled less the alert level (0: armed)
        self.quiet = 0  # readings since a value was last among its sensor's K most extreme
        self.extreme = False  # this reading has a value among its sensor's K most extreme (on a side that counts)

    @property
    def stats(self) -> array[float]:
        """Every sensor's numbers in the envelope's layout (STRIDE per sensor: N, LAST, RESOLUTION, RUN_HIGH,
        RUN_LOW, LEN_HIGH, LEN_LOW, then the K highs and K lows, then the K longest high and low runs)."""
        return array("d", self._stats())

    def surprise(
        self, i: int, value: float, side: int, floor: float, noise: float, cadence_ms: float
    ) -> tuple[float, float]:
        """(L, the record it beats) for sensor i's value, before learning it; (0, value) when it beats none, and
        (L, NaN) when the value's excursion beats the longest (a duration record).
        `side`: +1 only the high records count, -1 only the low ones, 0 both. `floor`: the sensor's
        resolution when known. `noise`: its noise scale (sigma). `cadence_ms`: the device's time between
        readings."""
        track = self.tracks[i]
        n = track.n
        if n < MIN_SEEN or cadence_ms <= 0.0:
            return 0.0, value
        hours = n * cadence_ms / _HOUR_MS
        extremes = track.extremes
        highest, lowest = extremes[0], extremes[K]
        # The record is the highest value shown, in a past run or in the current one (a comparison with NaN,
        # no run, is False).
        run_high, run_low = track.run_high, track.run_low
        high = run_high if run_high > highest else highest
        low = run_low if run_low < lowest else lowest
        sides = _LOG10_2 if side == 0 else 0.0
        resolution = track.resolution
        floor = floor if floor > resolution else resolution
        unit = floor  # the smallest difference the sensor reports
        # The tail near the extremes of n readings of Gaussian noise has scale sigma / sqrt(2 ln n): a sensor's
        # extremes are not credibly thinner-tailed than its noise (eight record lows of a simulated supply
        # within 0.009 V of each other made a 4-sigma reading 3 decades rare).
        gaussian = noise / math.sqrt(2.0 * math.log(n))
        floor = floor if floor > gaussian else gaussian
        kth_high, kth_low = extremes[K - 1], extremes[2 * K - 1]
        if (side >= 0 and value > kth_high) or (side <= 0 and value < kth_low):
            self.extreme = True
        # A quantity that has only shown values above zero (by more than its resolution: a price, a rate, a
        # latency, an absolute temperature) varies by ratios: its records are measured on the log scale.
        ratio = unit > 0.0 and low > unit
        if side >= 0 and value > high:
            if ratio:
                return _ratio_rarity(hours, extremes, 0, value, unit, floor, high, low) - sides, high
            beta = (sum(extremes[0 : K - 1]) - (K - 1) * kth_high) / (K - 1)
            return _rarity(hours, value - high, beta, floor, high - low) - sides, high
        if side <= 0 and value < low:
            if ratio:
                return _ratio_rarity(hours, extremes, K, value, unit, floor, high, low) - sides, low
            beta = ((K - 1) * kth_low - sum(extremes[K : 2 * K - 1])) / (K - 1)
            return _rarity(hours, low - value, beta, floor, high - low) - sides, low
        lasting = 0.0
        if side >= 0 and value > kth_high:
            lasting = _lasting(hours, track.len_high + 1.0, extremes, _LONGEST)
        elif side <= 0 and value < kth_low:
            lasting = _lasting(hours, track.len_low + 1.0, extremes, _LONGEST + K)
        if lasting > 0.0:
            return lasting - sides, math.nan
        return 0.0, value

    def reset(self) -> None:
        """A repair: the failure's extremes are no part of the repaired device's range."""
        self.tracks = [_Track() for _ in range(self.sensors)]
        self.alerted, self.quiet, self.extreme = 0.0, 0, False

    def learn(self, i: int, value: float) -> None:
        track = self.tracks[i]
        n = int(track.n)
        track.n = float(n + 1)
        step = abs(value - track.last)
        resolution = track.resolution
        if n and step > 0.0 and (step < resolution or resolution == 0.0):
            track.resolution = step
        track.last = value
        extremes = track.extremes
        if n < K:  # the first K values fill the extremes as they come
            _insert(extremes, 0, n, value, 1.0)
            _insert(extremes, K, n, value, -1.0)
            return
        run_high = track.run_high = _run(extremes, track.run_high, 0, value, 1.0)
        run_low = track.run_low = _run(extremes, track.run_low, K, value, -1.0)
        track.len_high = _length(extremes, _LONGEST, track.len_high, run_high == run_high)
        track.len_low = _length(extremes, _LONGEST + K, track.len_low, run_low == run_low)

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

    def _stats(self) -> bytes:
        parts = []
        for t in self.tracks:
            parts.append(_SCALARS.pack(t.n, t.last, t.resolution, t.run_high, t.run_low, t.len_high, t.len_low))
            parts.append(t.extremes.tobytes())
        return b"".join(parts)

    def state(self) -> list[bytes | float | int]:
        return [self._stats(), self.alerted, self.quiet]

    def restore(self, state: list[bytes | float | int]) -> None:
        raw, alerted, quiet = state
        if not isinstance(raw, bytes) or len(raw) != 8 * STRIDE * self.sensors:
            raise ValueError("records state does not fit the model's sensors")
        if not isinstance(alerted, float) or not isinstance(quiet, int):
            raise ValueError("records state is malformed")
        for i, track in enumerate(self.tracks):  # in place: the model was just built, one track per sensor
            at = 8 * STRIDE * i
            n, last, resolution, run_high, run_low, len_high, len_low = _SCALARS.unpack_from(raw, at)
            track.n, track.last, track.resolution = n, last, resolution
            track.run_high, track.run_low, track.len_high, track.len_low = run_high, run_low, len_high, len_low
            extremes = track.extremes = _NO_DOUBLES[:]  # array("d", raw[...]), cheaper
            extremes.frombytes(raw[at + 8 * HIGHS : at + 8 * STRIDE])
        self.alerted, self.quiet = alerted, quiet


def _run(extremes: array[float], current: float, start: int, value: float, sign: float) -> float:
    """Decluster (the runs method of peaks over threshold): consecutive values beyond the k-th extreme are one
    excursion, and only its most extreme value joins the extremes, once the excursion is over. A device's
    extremes are otherwise one excursion's neighbouring readings, whose spread says nothing of the tail
    (a simulated fan's eight lowest readings of four hours lay within 0.02 CFM of each other). Returns the
    run's extreme after this value (NaN: no run)."""
    if sign * (value - extremes[start + K - 1]) > 0:  # beyond the k-th extreme: in a run
        if current != current or sign * (value - current) > 0:  # no run yet (NaN), or further out
            return value
    elif current == current:  # the run is over: its extreme joins the extremes
        _insert(extremes, start, K, current, sign)
        return math.nan
    return current


def _length(stats: array[float], start: int, length: float, in_run: bool) -> float:
    """The current run's length after this reading; a run that just ended joins the longest runs (sorted at
    stats[start:start + K])."""
    if in_run:
        return length + 1.0
    if length > 0.0:
        _insert(stats, start, K, length, 1.0)
    return 0.0


def _lasting(hours: float, length: float, stats: array[float], start: int) -> float:
    """A run of `length` readings beyond the k-th extreme: its decades if it is longer than the longest runs
    (stats[start:start + K]), else 0."""
    longest, kth = stats[start], stats[start + K - 1]
    if kth <= 0.0 or length <= longest:  # fewer than K runs so far, or not the longest
        return 0.0
    beta = (sum(stats[start : start + K - 1]) - (K - 1) * kth) / (K - 1)
    return _rarity(hours, length - longest, beta, 1.0, 0.0)


def _rarity(hours: float, excess: float, beta: float, floor: float, spread: float) -> float:
    """log10(hours) plus the exponential tail's decades for `excess` beyond the record."""
    beta = beta if beta > floor else floor
    relative = RANGE_FLOOR * spread
    beta = beta if beta > relative else relative
    beta = 1e-9 if beta < 1e-9 else beta
    return _log10(hours) + excess / (beta * BETA_DOUBT * _LN10)


def _ratio_rarity(
    hours: float,
    extremes: array[float],
    start: int,
    value: float,
    unit: float,
    floor: float,
    high: float,
    low: float,
) -> float:
    """_rarity on the log scale, for a sensor whose values have all been above its resolution `unit` (> 0): the
    excess is log(value / record) (the record: `high` for the highs, at `start` 0, else `low`) and the tail's
    scale the mean log-excess of the K - 1 most extreme values over the k-th (its floors likewise relative:
    `floor` over the record, a hundredth of log(high / low)). A positive
    quantity cannot fall below zero, so a linear tail calls a fall from 0.045 to 0.001 a move of 0.044, smaller
    than its everyday swings; as a ratio it is a 45-fold fall. A value below the resolution (zero, a negative
    glitch) counts as the resolution: as low as the sensor can tell."""
    sign, record = (1.0, high) if start == 0 else (-1.0, low)
    kth = math.log(extremes[start + K - 1])
    total = 0.0
    for j in range(start, start + K - 1):
        total += math.log(extremes[j])
    beta = sign * (total - (K - 1) * kth) / (K - 1)
    bottom = value if value > unit else unit
    excess = sign * (math.log(bottom) - math.log(record))
    return _rarity(hours, excess, beta, floor / record, math.log(high / low))


def _insert(stats: array[float], start: int, filled: int, value: float, sign: float) -> None:
    """Put value into the sorted run stats[start:start + K] (descending for sign 1, ascending for -1), of
    which `filled` slots hold values; the least extreme one drops out when the run is full."""
    j = filled if filled < K else K - 1
    while j > 0 and sign * (value - stats[start + j - 1]) > 0:
        stats[start + j] = stats[start + j - 1]
        j -= 1
    stats[start + j] = value
