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

from typing import Final

from river import drift

DEBOUNCE_READINGS: Final = 500  # at most one drift event per this many readings
BOOST_READINGS: Final = 300  # how long the baseline learns faster after a drift
BOOST_FACTOR: Final = 5.0


class DriftWatch:
    __slots__ = ("boost_left", "detector", "events", "since_last")

    def __init__(self) -> None:
        self.detector = drift.PageHinkley(min_instances=60, delta=0.05, threshold=60.0)
        self.since_last = DEBOUNCE_READINGS
        self.boost_left = 0
        self.events = 0

    def update(self, residual: float, moved: bool = False) -> bool:
        """Feed one residual; True when a (debounced) drift is declared on this reading. `moved`: the
        model has just accepted a new level after an alert (a step change it re-baselined to)."""
        self.since_last += 1
        self.boost_left = max(0, self.boost_left - 1)
        self.detector.update(min(residual, 10.0))  # one wild reading must not look like a regime change
        if not (self.detector.drift_detected or moved) or self.since_last < DEBOUNCE_READINGS:
            return False
        self.since_last = 0
        self.boost_left = BOOST_READINGS
        self.events += 1
        return True

    def state(self) -> list[float]:
        """The watch and its Page-Hinkley test as plain numbers. River's private fields: the envelope is
        refused on any other River version, so they are only ever read back by the River that wrote them."""
        ph = self.detector
        return [
            self.since_last,
            self.boost_left,
            self.events,
            ph._x_mean.n,
            ph._x_mean._mean,
            ph._sum_increase,
            ph._sum_decrease,
            ph._min_increase,
            ph._max_decrease,
            float(ph._drift_detected),  # a detection resets the test on its next update
        ]

    def restore(self, state: list[float]) -> None:
        ph = self.detector
        since_last, boost_left, events, n, mean, *sums, detected = state
        self.since_last, self.boost_left, self.events = int(since_last), int(boost_left), int(events)
        ph._x_mean.n, ph._x_mean._mean = n, mean
        ph._sum_increase, ph._sum_decrease, ph._min_increase, ph._max_decrease = sums
        ph._drift_detected = bool(detected)

    def alpha_factor(self) -> float:
        return BOOST_FACTOR if self.boost_left else 1.0
