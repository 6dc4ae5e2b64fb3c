"""Federated learning across devices: a fleet prior per device type, and new devices started from it.

Each device learns only from its own readings and labels. `aggregate(models)` combines them without
any reading leaving its device's model: federated averaging of the logistic-regression weights
(weighted by how many labels each device learned from), the median scale of each sensor, and the
sum of the surprise histograms. It is a pure function, so the streams worker can run it per device
type on whatever it holds (per partition), publish the `Prior` (msgpack bytes, e.g. in a global
table keyed by device type), and merge the partitions' priors with `merge_priors`.

`from_prior(prior)` starts a device warm: the sensors' noise scales and the surprise calibration come
from the fleet (those need many readings), only its own level is learned (a few readings), and the
supervised model starts from the fleet's weights.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import msgspec

from streams.model.calibration import N_BINS, EmpiricalTail
from streams.model.detector import MODEL_VERSION, PRIOR_WARMUP, DeviceModel

PRIOR_SCALE_PSEUDO_N = 200  # readings' worth of confidence in the fleet's noise scale
PRIOR_TAIL_MASS = 2_000.0  # readings' worth of the fleet's surprise histogram


class Prior(msgspec.Struct, frozen=True):
    model_version: int
    schema_hash: str
    device_type: str | None
    sensors: list[str]
    devices: int
    label_weight: float  # labels behind the averaged weights
    weights: dict[str, float]
    intercept: float
    positives: float
    negatives: float
    mad: dict[str, float]  # median per-sensor mean absolute deviation
    step: dict[str, float]  # median per-sensor typical step
    residual_mad: float | None
    tail: list[float]  # normalised histogram (sums to tail_total)
    tail_total: float
    episodes: float = 0.0  # labelled episodes behind the weights (trust in the supervised half)
    healthy_sd: dict[str, float] = {}  # median spread of each degradation slot over its devices' early lives


def aggregate(models: Sequence[DeviceModel]) -> Prior:
    """One device type's prior from its devices' models (all must share the feature schema)."""
    if not models:
        raise ValueError("aggregate needs at least one model")
    first = models[0]
    if any(m.schema_hash != first.schema_hash for m in models):
        raise ValueError("models with different feature schemas cannot be averaged")
    learned = [m for m in models if m.supervised.positives + m.supervised.negatives > 0]
    total = sum(m.supervised.positives + m.supervised.negatives for m in learned)
    weights: dict[str, float] = {}
    intercept = 0.0
    for m in learned:
        share = (m.supervised.positives + m.supervised.negatives) / total
        for name, value in m.supervised.weights().items():
            weights[name] = weights.get(name, 0.0) + share * value
        intercept += share * float(m.supervised.regression.intercept)
    warm = [m for m in models if not m.warming_up] or list(models)
    mad = {s: statistics.median(m.baselines[s].mad for m in warm) for s in first.baselines}
    step = {s: statistics.median(m.baselines[s].step_slow for m in warm) for s in first.baselines}
    residuals = [m.residual.mad for m in warm if m.residual is not None]
    tail = warm[0].tail.merged([m.tail for m in warm[1:]])
    return Prior(
        MODEL_VERSION,
        first.schema_hash,
        first.device_type,
        list(first.baselines),
        len(models),
        total,
        weights,
        intercept,
        sum(m.supervised.positives for m in models),
        sum(m.supervised.negatives for m in models),
        mad,
        step,
        statistics.median(residuals) if residuals else None,
        tail.counts,
        tail.total,
        sum(m.supervised.episodes for m in models),
        _healthy_sd(models),
    )


def _healthy_sd(models: Sequence[DeviceModel]) -> dict[str, float]:
    """Per degradation slot, the median of the healthy spreads its devices have fixed (their own reference)."""
    out = {}
    for i, sensor in enumerate(models[0].plan.worn):
        spreads = [m.degradation.healthy_sd(i) for m in models]
        known = [sd for sd in spreads if sd > 0]
        if known:
            out[sensor] = statistics.median(known)
    return out


def merge_priors(priors: Sequence[Prior]) -> Prior:
    """Priors from several workers/partitions of one device type, weighted like one big aggregate."""
    if not priors:
        raise ValueError("merge_priors needs at least one prior")
    devices = sum(p.devices for p in priors)
    labels = sum(p.label_weight for p in priors)
    weights: dict[str, float] = {}
    for p in priors:
        for name, value in p.weights.items():
            weights[name] = weights.get(name, 0.0) + value * (p.label_weight / labels if labels else 0.0)
    intercept = sum(p.intercept * p.label_weight for p in priors) / labels if labels else 0.0
    by_devices = [p.devices / devices for p in priors]
    first = priors[0]
    return msgspec.structs.replace(
        first,
        devices=devices,
        label_weight=labels,
        weights=weights,
        intercept=intercept,
        positives=sum(p.positives for p in priors),
        negatives=sum(p.negatives for p in priors),
        episodes=sum(p.episodes for p in priors),
        mad={s: sum(p.mad[s] * w for p, w in zip(priors, by_devices, strict=True)) for s in first.mad},
        step={s: sum(p.step[s] * w for p, w in zip(priors, by_devices, strict=True)) for s in first.step},
        tail=[sum(p.tail[i] for p in priors) for i in range(N_BINS)],
        healthy_sd=_merged_sd(priors, by_devices),
        tail_total=sum(p.tail_total for p in priors),
    )


def _merged_sd(priors: Sequence[Prior], shares: Sequence[float]) -> dict[str, float]:
    """Device-weighted mean of the priors' healthy spreads, over the priors that know each sensor."""
    out = {}
    for sensor in sorted({name for p in priors for name in p.healthy_sd}):
        pairs = [(p.healthy_sd[sensor], w) for p, w in zip(priors, shares, strict=True) if sensor in p.healthy_sd]
        out[sensor] = sum(sd * w for sd, w in pairs) / sum(w for _, w in pairs)
    return out


def from_prior(prior: Prior) -> DeviceModel:
    """A new device, warm-started from its type's prior (cold if the prior does not fit the model)."""
    model = DeviceModel(prior.device_type, tuple(prior.sensors), warmup=PRIOR_WARMUP)
    if prior.model_version != MODEL_VERSION or prior.schema_hash != model.schema_hash:
        return DeviceModel(prior.device_type, tuple(prior.sensors))
    for sensor, baseline in model.baselines.items():
        baseline.mad = prior.mad.get(sensor, 0.0)
        baseline.step_slow = prior.step.get(sensor, 0.0)
        baseline.prior_n = PRIOR_SCALE_PSEUDO_N if baseline.mad > 0 else 0
    if model.residual is not None and prior.residual_mad:
        model.residual.mad = prior.residual_mad
        model.residual.prior_n = PRIOR_SCALE_PSEUDO_N
    for i, sensor in enumerate(model.plan.worn):
        model.degradation.prior_sd[i] = prior.healthy_sd.get(sensor, 0.0)
    if prior.tail_total > 0:
        shrink = min(1.0, PRIOR_TAIL_MASS / prior.tail_total)
        model.tail = EmpiricalTail([c * shrink for c in prior.tail], prior.tail_total * shrink, 1.0)
    if prior.label_weight > 0:
        model.supervised.set_weights(prior.weights, prior.intercept)
        model.supervised.positives, model.supervised.negatives = prior.positives, prior.negatives
        model.supervised.episodes = prior.episodes
    return model


def encode_prior(prior: Prior) -> bytes:
    return msgspec.msgpack.encode(prior)


def decode_prior(data: bytes) -> Prior | None:
    try:
        return msgspec.msgpack.decode(data, type=Prior)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
