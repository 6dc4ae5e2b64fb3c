"""The supervised half: an online logistic regression taught by delayed labels.

Labels arrive long after the readings they are about: a failure label says "this device failed at t",
so the features seen in [t - H, t] were precursors (positives); a person's feedback says an alert was
right or wrong. A small ring buffer of recent feature vectors per device (sampled so it spans about H)
lets the model learn from what it saw then. A vector that ages past H without a failure is learned as
a negative ("did not fail within H"), which is what makes the probability a probability.
"""

from __future__ import annotations

import functools
import math
from array import array
from typing import Final

from river import linear_model, optim

HORIZON_MS: Final = 45 * 60_000  # "fails within H"
BUFFER_SIZE: Final = 24
POSITIVE_WEIGHT: Final = 8.0  # failures are rare; a positive counts this many negatives
FEEDBACK_WEIGHT: Final = 5.0
MIN_LABELS: Final = 3  # of each class before the model's opinion is blended in


def new_regression() -> linear_model.LogisticRegression:
    # Constant-rate SGD: no optimiser state to persist; l2 keeps weights from running off on few labels.
    return linear_model.LogisticRegression(optimizer=optim.SGD(0.05), l2=1e-4)


class LabelBuffer:
    """Ring of (ts, features, labelled) with one entry per `stride_ms` of event time."""

    __slots__ = ("labelled", "stride_ms", "ts", "vectors", "width")

    def __init__(self, width: int, horizon_ms: int = HORIZON_MS, size: int = BUFFER_SIZE) -> None:
        self.width = width
        self.stride_ms = horizon_ms // size
        self.ts: list[int] = []
        # float32 (half the memory, plenty of precision for SGD), kept as its bytes: that is what the envelope
        # stores, so a decoded model holds them as decoded and a dump writes them as they are. Read only
        # through `Supervised.learn`, which unpacks them.
        self.vectors: list[bytes] = []
        self.labelled: list[bool] = []

    def due(self, ts_ms: int) -> bool:
        return not self.ts or ts_ms - self.ts[-1] >= self.stride_ms

    def push(self, ts_ms: int, values: list[float], size: int = BUFFER_SIZE) -> tuple[int, bytes, bool] | None:
        """Append; return the evicted entry (ts, vector, already_labelled) when the ring is full."""
        self.ts.append(ts_ms)
        self.vectors.append(array("f", values).tobytes())
        self.labelled.append(False)
        if len(self.ts) > size:
            return self.ts.pop(0), self.vectors.pop(0), self.labelled.pop(0)
        return None

    def between(self, start_ms: int, end_ms: int) -> list[int]:
        return [i for i, ts in enumerate(self.ts) if start_ms <= ts <= end_ms]

    def nearest(self, ts_ms: int) -> int | None:
        if not self.ts:
            return None
        return min(range(len(self.ts)), key=lambda i: abs(self.ts[i] - ts_ms))


class Supervised:
    """LogisticRegression + label counters; `probability` is None until it has seen both classes."""

    __slots__ = ("_intercept", "_regression", "_weights", "episodes", "names", "negatives", "positives")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        # Built on first use: a model decoded from its envelope gets its own from `set_weights`, and most
        # devices are never labelled, so building one per model up front was wasted work.
        self._regression: linear_model.LogisticRegression | None = None
        # Weights and intercept decoded from an envelope, not yet given to a regression (None: none pending).
        # A regression is built only when one is asked for (to learn or to predict): a dump gives the weights
        # back as the regression would, so an envelope round trip builds none.
        self._weights: dict[str, float] | None = None
        self._intercept: object = 0.0
        self.positives = 0.0
        self.negatives = 0.0
        self.episodes = 0.0  # distinct labelled episodes (failure labels, feedback verdicts)

    @property
    def regression(self) -> linear_model.LogisticRegression:
        if self._regression is None:
            regression = self._regression = new_regression()
            if self._weights is not None:  # what set_weights was given, applied as it used to apply it
                for name, value in self._weights.items():
                    regression._weights[name] = value
                regression.intercept = self._intercept
                self._weights = None
        return self._regression

    def intercept(self) -> float:
        if self._regression is not None:
            return float(self._regression.intercept)
        return 0.0 if self._weights is None else float(self._intercept)  # type: ignore[arg-type]

    def ready(self) -> bool:
        return self.positives >= MIN_LABELS and self.negatives >= MIN_LABELS

    def as_dict(self, values: list[float] | array | bytes) -> dict[str, float]:
        """`values`: the feature vector, or a buffered one as its float32 bytes."""
        if isinstance(values, bytes):
            values = array("f", values)
        # Clipped: one wild z must not swamp the linear model (the unsupervised half handles magnitude).
        # max(-20, min(20, v)) written as the comparisons they make: this runs on every reading of a
        # labelled device, and the two builtin calls per feature were most of its cost.
        clipped = {}
        for name, v in zip(self.names, values, strict=True):
            x = float(v)
            capped = x if x < 20.0 else 20.0
            clipped[name] = capped if capped > -20.0 else -20.0
        return clipped

    def probability(self, values: list[float]) -> float | None:
        if not self.ready():
            return None
        return self.regression.predict_proba_one(self.as_dict(values))[True]

    def learn(self, values: list[float] | array | bytes, failed: bool, weight: float = 1.0) -> None:
        self.regression.learn_one(self.as_dict(values), failed, w=weight)
        if failed:
            self.positives += 1
        else:
            self.negatives += 1

    def weights(self) -> dict[str, float]:
        if self._regression is None:
            if self._weights is None:
                return {}
            # What the regression's weights would be: River's VectorDict keeps insertion order and floats.
            return {k: v for k, v in self._weights.items() if math.isfinite(v)}
        return {k: float(v) for k, v in self._regression.weights.items() if math.isfinite(v)}

    def set_weights(self, weights: dict[str, object], intercept: float) -> None:
        self._regression = None
        self._weights = None
        if not weights and intercept == 0.0 and math.copysign(1.0, intercept) > 0:
            # Nothing learned yet (what `weights` and `intercept` give for an unbuilt regression): stay
            # unbuilt, like a new model, instead of building a regression per decoded envelope.
            return
        known = _name_set(self.names)
        if known.issuperset(weights) and _all_floats(weights):
            # The common case, kept as decoded (its own dict): every name known, every weight a float.
            self._weights, self._intercept = weights, intercept  # type: ignore[assignment]
            return
        kept: dict[str, float] = {}
        for name, value in weights.items():
            if name in known:
                kept[name] = _weight(value)
        self._weights, self._intercept = kept, intercept


def _all_floats(weights: dict[str, object]) -> bool:
    return all(type(value) is float for value in weights.values())


def _weight(value: object) -> float:
    """A decoded weight as River's VectorDict stores it: a real number as a float (bool and int too), anything
    else refused with the TypeError it raises."""
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            pass
    raise TypeError("VectorDict values must be real numbers")


@functools.cache  # one per kind of model: a tuple scan per weight was half of `set_weights`
def _name_set(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(names)
