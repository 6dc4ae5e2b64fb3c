"""Concept drift on a device's residuals, debounced.

Two ways a regime change is declared (at most once per DEBOUNCE_READINGS): Page-Hinkley on the mean
absolute robust z of the device's sensors (a gradual change that never alerted: healthy, that mean is
~0.8), or the model itself accepting a new level: after an alert the baseline learns 10x faster for a
while (alert on change, then adapt), and if a sensor's level ended up more than 3 of its old scales
away, that was a regime change, not a blip. What the model does then (see DeviceModel): it keeps
re-baselining faster for a while (the learning rate is boosted) and restarts its surprise histogram,
since "normal" has changed. The physical-limit and supervised parts are untouched, so a real overheat
still alerts while the baseline catches up. A sensor in a young sustained shift (see
`SensorBaseline.holding`) is not boosted: on a failing device the drift is usually the failure itself (a
slow overload or thermal ramp moves the residuals like a regime change), and learning it 5x faster
taught the model the failure as the new normal (simulator: overload recall 0.85 with, 1.00 without).
"""

from __future__ import annotations

import math
from typing import Any, Final

DEBOUNCE_READINGS: Final = 500  # at most one drift event per this many readings
BOOST_READINGS: Final = 300  # how long the baseline learns faster after a drift
BOOST_FACTOR: Final = 5.0
# River's drift.PageHinkley(min_instances=60, delta=0.05, threshold=60.0), its other parameters at their defaults.
PH_MIN_INSTANCES: Final = 60
PH_DELTA: Final = 0.05
PH_THRESHOLD: Final = 60.0
PH_ALPHA: Final = 1 - 0.0001  # River's forgetting factor, computed as River computes it


class DriftWatch:
    """The Page-Hinkley test is River 0.26.1's `drift.PageHinkley` (two-sided), written out here: River's
    runs as interpreted Python on every reading, and building one was a good part of an envelope's load.
    The same arithmetic in the same order, so the same bits (tests/streams/model/test_drift.py holds it to
    River's, state for state); its fields are what the envelope has always stored of River's."""

    __slots__ = (
        "boost_left",
        "events",
        "ph_detected",
        "ph_max_decrease",
        "ph_max_unset",
        "ph_mean",
        "ph_min_increase",
        "ph_n",
        "ph_sum_decrease",
        "ph_sum_increase",
        "since_last",
    )

    def __init__(self) -> None:
        self.since_last = DEBOUNCE_READINGS
        self.boost_left = 0
        self.events = 0
        self._reset()

    def _reset(self) -> None:
        """River's PageHinkley._reset: a fresh mean and sums."""
        self.ph_n = 0.0  # River's stats.Mean: the sum of weights (1.0 per value) and the mean
        self.ph_mean = 0.0
        self.ph_sum_increase = 0.0
        self.ph_sum_decrease = 0.0
        self.ph_min_increase = math.inf
        # River starts the largest decrease at the int -1 (stored as such until a sum replaces it).
        self.ph_max_decrease = -1.0
        self.ph_max_unset = True
        self.ph_detected = False

    def _page_hinkley(self, x: float, pace: float = 1.0) -> None:
        """River's PageHinkley.update(x); with `pace` < 1 (a reading standing for that share of a 5 s step,
        DeviceModel.pace) the sums forget and grow per unit of time rather than per reading."""
        if self.ph_detected:
            self._reset()
        n = self.ph_n = self.ph_n + 1.0
        mean = self.ph_mean = self.ph_mean + (1.0 / n) * (x - self.ph_mean)
        dev = x - mean
        # At pace 1 these are River's sums, computed in River's order (x 1.0 changes no bit).
        forget = PH_ALPHA if pace == 1.0 else math.pow(PH_ALPHA, pace)
        step, delta = pace * dev, pace * PH_DELTA
        increase = self.ph_sum_increase = forget * self.ph_sum_increase + step - delta
        decrease = self.ph_sum_decrease = forget * self.ph_sum_decrease + step + delta
        if increase < self.ph_min_increase:
            self.ph_min_increase = increase
        if decrease > self.ph_max_decrease:
            self.ph_max_decrease = decrease
            self.ph_max_unset = False
        if n >= PH_MIN_INSTANCES:
            test_increase = increase - self.ph_min_increase
            test_decrease = self.ph_max_decrease - decrease
            self.ph_detected = test_increase > PH_THRESHOLD or test_decrease > PH_THRESHOLD

    def update(self, residual: float, moved: bool = False, pace: float = 1.0) -> bool:
        """Feed one residual; True when a (debounced) drift is declared on this reading. `moved`: the
        model has just accepted a new level after an alert (a step change it re-baselined to). `pace`: see
        _page_hinkley; the debounce and the boost then last as long in time as at 5 s."""
        self.since_last += 1
        self.boost_left = max(0, self.boost_left - 1)
        self._page_hinkley(min(residual, 10.0), pace)  # one wild reading must not look like a regime change
        # The debounce spaces events; the first is never held (since_last starts at DEBOUNCE_READINGS, which a
        # device faster than 5 s would otherwise have to exceed by 1 / pace).
        if not (self.ph_detected or moved) or (self.events and self.since_last < DEBOUNCE_READINGS / pace):
            return False
        self.since_last = 0
        self.boost_left = round(BOOST_READINGS / pace)
        self.events += 1
        return True

    def state(self) -> list[object]:  # object: an int stays an int (River's initial -1)
        """The watch and its Page-Hinkley test as plain numbers, as River's PageHinkley held them (its
        x_mean's n and mean, sums, min and max)."""
        return [
            self.since_last,
            self.boost_left,
            self.events,
            self.ph_n,
            self.ph_mean,
            self.ph_sum_increase,
            self.ph_sum_decrease,
            self.ph_min_increase,
            -1 if self.ph_max_unset else self.ph_max_decrease,
            float(self.ph_detected),  # a detection resets the test on its next update
        ]

    def restore(self, state: list[Any]) -> None:
        # Any, not float: the largest decrease's type says whether it is still River's initial int -1.
        since_last, boost_left, events, n, mean, increase, decrease, min_increase, max_decrease, detected = state
        self.since_last, self.boost_left, self.events = int(since_last), int(boost_left), int(events)
        self.ph_n, self.ph_mean = n, mean
        self.ph_sum_increase, self.ph_sum_decrease, self.ph_min_increase = increase, decrease, min_increase
        self.ph_max_decrease = max_decrease
        self.ph_max_unset = type(max_decrease) is int  # River's initial -1, never replaced by a sum
        self.ph_detected = bool(detected)

    def alpha_factor(self) -> float:
        return BOOST_FACTOR if self.boost_left else 1.0
