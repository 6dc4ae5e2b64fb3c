"""A device model as bytes for a changelog-backed table: a versioned envelope around its state.

The state is plain numbers and lists (msgpack), not a pickle of River objects, so it is small, cannot
run code on load, and survives a River upgrade; the River version is still recorded and checked,
because the logistic regression's weights are only meaningful for the River that learned them. Any
mismatch (format, model version, feature-schema hash, River version) or corrupt bytes makes `load`
return None and count why; the caller starts the device from the fleet prior or cold. Never a crash.
"""

from __future__ import annotations

import operator
from array import array
from collections import Counter
from typing import Any, Final

import msgspec
import river

from streams.model import telemetry
from streams.model.calibration import EmpiricalTail
from streams.model.detector import MODEL_VERSION, THERMAL_FIELDS, DeviceModel, ThermalFit
from streams.model.envelope_format import Envelope
from streams.model.features import BASELINE_FIELDS, RESIDUAL, SensorBaseline, baseline_config

ENVELOPE_FORMAT: Final = 1
RIVER_VERSION: Final = river.__version__
# Built once (the same bytes as msgspec.msgpack.encode/decode, without building or looking up a codec per call).
_encode: Final = msgspec.msgpack.Encoder().encode
_decode_envelope: Final = msgspec.msgpack.Decoder(Envelope).decode
_decode_state: Final = msgspec.msgpack.Decoder().decode
_NO_DOUBLES: Final = array("d")  # copied by _doubles, never changed
# Why loads were refused, by reason; the worker exports it as a metric.
rejections: Counter[str] = Counter()


_BASELINE_FIELDS: Final = BASELINE_FIELDS  # in order
# Each state is dumped as a tuple of its fields (msgpack writes a tuple as the same array a list gives), from the
# object's own state(): one native call (these attrgetters' 14 lookups per baseline cost ~2 us per dump); a test
# holds state() to them.
_baseline_fields = operator.attrgetter(*_BASELINE_FIELDS)
_thermal_fields = operator.attrgetter(*THERMAL_FIELDS)
assert THERMAL_FIELDS == ("lx", "mx", "my", "n", "sxx", "sxy")  # the order _restore assigns them in


def _baseline(values: list[Any], sensor: str, device_ts: int) -> SensorBaseline:
    if len(values) != len(_BASELINE_FIELDS):
        raise ValueError(f"a sensor baseline has {len(_BASELINE_FIELDS)} fields, not {len(values)}")
    # SensorBaseline(*config, *values), spelled out: compiled, a call with *args goes through the generic argument
    # parser.
    floor, share = baseline_config(sensor)
    n, loc, mad, last, last_ts, slope, step_fast, step_slow, prior_n, ewz, ewz_sq = values[:11]
    shift_ts, longest_shift, shift_span, held, shifts_n, shifts_ms = values[11:]
    if last_ts == device_ts:  # as usual, the device's last reading: one int for all (decoded, each is a new one)
        last_ts = device_ts
    return SensorBaseline(
        floor,
        share,
        n,
        loc,
        mad,
        last,
        last_ts,
        slope,
        step_fast,
        step_slow,
        prior_n,
        ewz,
        ewz_sq,
        shift_ts,
        longest_shift,
        shift_span,
        held or 0.0,  # the shared zero (decoded, each is a new float): few sensors hold a level
        shifts_n,
        shifts_ms,
    )


def dump(model: DeviceModel) -> bytes:
    sup = model.supervised
    state = {
        "n": model.n,
        "seen": model.seen,
        "habituation": model.habituation,
        "accept_left": model.accept_left,
        "accept_from": model.accept_from,
        "patterns": model.patterns.tobytes(),
        "warmup": model.warmup,
        "last_ts": model.last_ts,
        "cadence_ms": model.cadence_ms,
        "alpha": model.alpha,
        "baselines": [b.state() for b in model.baselines.values()],
        "thermal": model.thermal.state() if model.thermal else None,
        "residual": model.residual.state() if model.residual else None,
        "tail": [model.tail.counts, model.tail.total, model.tail.weight],
        "weights": sup.weights(),
        "intercept": sup.intercept(),
        "labels": [sup.positives, sup.negatives, sup.episodes],
        "buffer": [model.buffer.ts, model.buffer.vectors, model.buffer.labelled],  # vectors: float32 bytes
        "checkpoints": [[at, noise.tobytes()] for at, noise in model.checkpoints],
        "drift": model.drift.state(),
        "degradation": _degradation_state(model),
        "predictors": model.predictors.state(),
        "records": model.records.state(),
    }
    envelope = Envelope(
        ENVELOPE_FORMAT,
        MODEL_VERSION,
        RIVER_VERSION,
        model.schema_hash,
        model.device_type,
        list(model.baselines),
        msgspec.Raw(_encode(state)),
    )
    return _encode(envelope)


def _degradation_state(model: DeviceModel) -> list[Any]:
    d = model.degradation
    arrays = [d.count, d.mean, d.sq, d.prior_sd, d.ewz]
    return [[a.tobytes() for a in arrays], d.alerted, d.level, model.deg_slope, model.heat_anchor]


def _restore_degradation(model: DeviceModel, state: list[Any]) -> None:
    arrays, alerted, level, slope, anchor = state
    d = model.degradation
    restored = [_doubles(raw) for raw in arrays]
    if len(restored) != 5 or any(len(a) != len(d.mean) for a in restored):
        raise ValueError("degradation state does not fit the model's degradation slots")
    d.count, d.mean, d.sq, d.prior_sd, d.ewz = restored
    d.alerted, d.level, model.deg_slope, model.heat_anchor = alerted, level, slope, anchor


def _doubles(raw: Any) -> array[float]:
    """array("d", bytes(raw)), by copying an empty array and filling it (a third cheaper than calling array())."""
    doubles = _NO_DOUBLES[:]
    doubles.frombytes(bytes(raw))
    return doubles


def _float32s(value: Any) -> bytes:
    """A buffered feature vector as msgpack's bin decodes it: bytes of whole float32s (else corrupt)."""
    if type(value) is not bytes or len(value) % 4:
        raise ValueError("a feature vector is not float32 bytes")
    return value


def _reject(reason: str) -> None:
    rejections[reason] += 1
    telemetry.envelope_rejections.labels(reason).inc()


def load(data: bytes) -> DeviceModel | None:
    try:
        envelope = _decode_envelope(data)
    except (msgspec.DecodeError, msgspec.ValidationError, TypeError):
        _reject("corrupt")
        return None
    if envelope.format != ENVELOPE_FORMAT:
        _reject("format")
        return None
    if envelope.model_version != MODEL_VERSION:
        _reject("model_version")
        return None
    if envelope.river_version != RIVER_VERSION:
        _reject("river_version")
        return None
    model = DeviceModel(envelope.device_type, tuple(envelope.sensors), restoring=True)
    if envelope.schema_hash != model.schema_hash:
        _reject("feature_schema")
        return None
    try:
        _restore(model, _decode_state(envelope.state))
    except (msgspec.DecodeError, KeyError, TypeError, ValueError):
        _reject("corrupt")
        return None
    return model


def _restore(model: DeviceModel, state: dict[str, Any]) -> None:
    model.n, model.seen, model.warmup, model.last_ts = state["n"], state["seen"], state["warmup"], state["last_ts"]
    model.cadence_ms, model.alpha, model.habituation = state["cadence_ms"], state["alpha"], state["habituation"]
    model.accept_left, model.accept_from = state["accept_left"], list(state["accept_from"])
    model.patterns = _doubles(state["patterns"])
    names, baselines = model.plan.names, state["baselines"]
    if len(names) != len(baselines):
        raise ValueError("the baselines do not fit the model's sensors")
    device_ts = model.last_ts
    model.baselines = {names[i]: _baseline(baselines[i], names[i], device_ts) for i in range(len(names))}
    if state["thermal"]:
        thermal = model.thermal = model.thermal or ThermalFit()
        # THERMAL_FIELDS, in order, as attributes (compiled, setattr by name is a generic lookup per field)
        thermal.lx, thermal.mx, thermal.my, thermal.n, thermal.sxx, thermal.sxy = state["thermal"]
    if state["residual"]:
        model.residual = _baseline(state["residual"], RESIDUAL, device_ts)
    counts, total, weight = state["tail"]
    model.tail = EmpiricalTail(list(counts), total, weight)
    model.supervised.set_weights(state["weights"], state["intercept"])
    model.supervised.positives, model.supervised.negatives, model.supervised.episodes = state["labels"]
    ts, vectors, labelled = state["buffer"]
    model.checkpoints = [(at, _doubles(noise)) for at, noise in state.get("checkpoints", [])]
    # The model was just built: its label buffer and drift watch are fresh, filled in place.
    model.buffer.ts = list(ts)
    model.buffer.vectors = [_float32s(v) for v in vectors]
    model.buffer.labelled = list(labelled)
    model.drift.restore(state["drift"])  # Page-Hinkley's sums too: a round trip changes nothing
    _restore_degradation(model, state["degradation"])
    model.predictors.restore(state["predictors"])
    model.records.restore(state["records"])
