"""Concept drift on a device's residuals, debounced.

Page-Hinkley watches the mean absolute robust z of the device's sensors (its residuals against the
learned baseline). Healthy, that mean is stable (~0.8 for Gaussian noise); a lasting change of regime
(new workload, firmware, a moved device) shifts it. What the model does then (see DeviceModel): it
re-baselines faster for a while (the learning rate is boosted) and restarts its surprise histogram from
the fleet prior, since "normal" has changed. The physical-limit and supervised parts are untouched, so a
real overheat still alerts while the baseline catches up.
"""

from __future__ import annotations

from river import drift

DEBOUNCE_READINGS = 500  # at most one drift event per this many readings
BOOST_READINGS = 300  # how long the baseline learns faster after a drift
BOOST_FACTOR = 5.0


class DriftWatch:
    __slots__ = ("boost_left", "detector", "events", "since_last")

    def __init__(self) -> None:
        self.detector = drift.PageHinkley(min_instances=60, delta=0.05, threshold=60.0)
        self.since_last = DEBOUNCE_READINGS
        self.boost_left = 0
        self.events = 0

    def update(self, residual: float) -> bool:
        """Feed one residual; True when a (debounced) drift is declared on this reading."""
        self.since_last += 1
        self.boost_left = max(0, self.boost_left - 1)
        self.detector.update(min(residual, 10.0))  # one wild reading must not look like a regime change
        if not self.detector.drift_detected or self.since_last < DEBOUNCE_READINGS:
            return False
        self.since_last = 0
        self.boost_left = BOOST_READINGS
        self.events += 1
        return True

    def alpha_factor(self) -> float:
        return BOOST_FACTOR if self.boost_left else 1.0
