"""From an anomaly statistic to a score whose threshold means the same on every device.

The detector measures surprise in decibans-like units: L = -log10(tail probability). The raw tail
probability assumes Gaussian noise around the device's baseline; real sensors have heavier tails, so
`EmpiricalTail` re-calibrates L against the device's own history of L (a decaying histogram of the
readings that did not alert: the detector does not teach it its alerts), with the Gaussian tail as a prior
of fixed pseudo-mass, and never above the raw L: a device's history can make a reading less rare than
Gaussian noise would (heavy tails), not rarer. The calibrated L is continuous and strictly increasing in
the raw statistic, also beyond everything seen (where it is the raw L), so two different readings never
tie at the top.

score = L / (L + L_HALF): monotone, in [0, 1), never exactly 1 (L would need to be ~1e16), and
score >= theta means "rarer than 10^(-L_HALF * theta / (1 - theta)) for this device".
"""

from __future__ import annotations

import math
from typing import Final

L_HALF: Final = 3.0  # score 0.5 = a one-in-a-thousand reading for this device
BIN_WIDTH: Final = 0.5  # histogram of raw L in bins of half a decade
N_BINS: Final = 40  # covers L in [0, 20); above that only the parametric tail speaks
PRIOR_MASS: Final = 50.0  # pseudo-readings of the Gaussian tail
HALF_LIFE: Final = 20_000  # readings; a day at 5 s cadence
_LOG10_E: Final = math.log10(math.e)
_SQRT2: Final = math.sqrt(2.0)
_LOG_SQRT_PI: Final = 0.5 * math.log(math.pi)
_DECAY: Final = 1.0 - math.log(2) / HALF_LIFE  # per reading
# math's functions that mypyc does not call natively, bound once: compiled, `math.erfc(x)` looks the name up in
# the module on every call (gaussian_surprise runs ~18 times per reading).
_erfc: Final = math.erfc
_log10: Final = math.log10
_log1p: Final = math.log1p


def gaussian_surprise(z: float) -> float:
    """-log10 of the two-sided Gaussian tail P(|Z| >= |z|), without underflow for large |z|."""
    x = abs(z) / _SQRT2
    if x < 20.0:
        if x == 0.0:  # -log10(erfc(0.0)) = -log10(1.0) = -0.0, without the two calls (a test holds it to them)
            return -x
        tail = _erfc(x)
        return -_log10(1e-300 if tail < 1e-300 else tail)  # max(tail, 1e-300): runs per sensor per reading
    # Asymptotic erfc(x) ~ exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2)).
    log_tail = -x * x - math.log(x) - _LOG_SQRT_PI + _log1p(-0.5 / (x * x))
    return -log_tail * _LOG10_E


def power(x: float, y: float) -> float:
    """math.pow as the compiled hot path calls it (natively: mypyc's own implementation of Python's math.pow), for
    the test that holds it to ** bit for bit."""
    return math.pow(x, y)


def to_score(surprise: float) -> float:
    surprise = max(0.0, surprise)
    return surprise / (surprise + L_HALF)


def threshold_to_surprise(theta: float) -> float:
    return L_HALF * theta / (1.0 - theta)


class EmpiricalTail:
    """Decaying histogram of the raw surprise; `calibrate` maps raw L to -log10 of its empirical tail."""

    __slots__ = ("counts", "total", "weight")

    def __init__(self, counts: list[float] | None = None, total: float = 0.0, weight: float = 1.0) -> None:
        self.counts = counts if counts is not None else [0.0] * N_BINS
        self.total = total
        self.weight = weight  # grows by 1/decay per reading instead of decaying every count

    def learn(self, raw: float) -> None:
        self.weight /= _DECAY
        if self.weight > 1e6:  # renormalise now and then; keeps the floats well away from overflow
            self.counts = [c / self.weight for c in self.counts]
            self.total /= self.weight
            self.weight = 1.0
        # min(N_BINS - 1, int(max(0.0, raw) / BIN_WIDTH)) as the comparisons they make (once per reading).
        index = int((raw if raw > 0.0 else 0.0) / BIN_WIDTH)
        index = index if index < N_BINS - 1 else N_BINS - 1
        counts = self.counts
        counts[index] = counts[index] + self.weight  # += on a list item is generic, compiled
        self.total += self.weight

    def mass_above(self, raw: float) -> float:
        """Weighted count of past values above raw, linear within the bin so it is continuous."""
        position = (raw if raw > 0.0 else 0.0) / BIN_WIDTH  # max(0.0, raw)
        index = int(position)
        if index >= N_BINS:
            return 0.0
        above = sum(self.counts[index + 1 :])
        return above + self.counts[index] * (1.0 - (position - index))

    def calibrate(self, raw: float) -> float:
        """-log10 of raw's tail probability: the empirical tail mixed with the Gaussian prior, capped at the
        Gaussian tail itself. The device's history can show that its surprise is heavier-tailed than Gaussian
        noise, never that it is lighter: without the cap a reading beyond everything seen came out rarer
        than the Gaussian by the N readings before it (the mixture gives the prior only 50 / (N + 50) of
        the weight there), so after a day of history every healthy device's next record reading scored
        two to three decades too rare."""
        raw = raw if raw > 0.0 else 0.0  # max(0.0, raw)
        denominator = self.total / self.weight + PRIOR_MASS
        above = self.mass_above(raw) / self.weight
        if above <= 0.0:  # beyond everything seen: the prior's tail alone
            return raw
        # math.pow(10.0, -raw) is 10.0 ** -raw (the same libm pow and special cases; compiled, ** is generic)
        mixed = -_log10((above + PRIOR_MASS * math.pow(10.0, -raw)) / denominator)
        return mixed if mixed < raw else raw  # min(mixed, raw): never rarer than the Gaussian tail says

    def merged(self, others: list[EmpiricalTail]) -> EmpiricalTail:
        """Sum of normalised histograms: the fleet's view, for a new device's prior."""
        counts = [0.0] * N_BINS
        total = 0.0
        for tail in [self, *others]:
            counts = [c + t / tail.weight for c, t in zip(counts, tail.counts, strict=True)]
            total += tail.total / tail.weight
        return EmpiricalTail(counts, total, 1.0)
