"""What the streams worker needs from the failure model, framework-free, so the wiring is a few lines.

Per batch and device: `open` the model from its envelope bytes (stored beside the device's state, so it
moves with the partition and shares the replay guard), `score` each reading, `close` to bytes. A caller that
stores the envelope less often than every batch keeps each reading's `input_of` since the envelope and
`restore`s the model from both (the same bits as never having stored it: `update` is deterministic). A device
with no model (or one whose envelope is refused: counted in `fleetpulse_worker_model_envelope_rejections_total`)
starts from its type's fleet prior when one is known, else cold. Label and feedback events from the
events topic go to `learn` (same device key, so the same partition owns them). Periodically
`aggregate` the models this worker holds into per-type priors, publish them (global table or compacted
topic keyed by device type), merge what the other workers published with `federated.merge_priors`, and
hand the result to `set_prior`.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Iterable, Sequence
from typing import Final

import msgspec

from schemas import Reading, Reason, Score
from schemas.events import FailureLabel, Feedback
from schemas.units import SENSORS
from streams.model import envelope, federated, telemetry
from streams.model.calibration import to_score
from streams.model.detector import MODEL_NAME, Assessment, DeviceModel

_READING_UPDATES: Final = telemetry.model_updates.labels("reading")  # bound once
_READING_SENSORS: Final = tuple(name for name in SENSORS if name in Reading.__struct_fields__)
_sensor_values: Final = operator.attrgetter(*_READING_SENSORS)  # one call per reading, not one per sensor
_encode_input: Final = msgspec.msgpack.Encoder().encode
_decode_input: Final = msgspec.msgpack.Decoder(tuple[int, int | None, tuple[float | None, ...]]).decode


class ModelService:
    def __init__(self) -> None:
        self.priors: dict[str, federated.Prior] = {}
        # Readings scored since the last close(), counted there: one counter increment per device and batch,
        # not one per reading (a Prometheus inc takes a lock: ~0.3 us).
        self.scored = 0

    def set_prior(self, prior: federated.Prior) -> None:
        if prior.device_type:
            self.priors[prior.device_type] = prior

    def open(self, device_type: str, raw: bytes | None, sensors: tuple[str, ...] | None = None) -> DeviceModel:
        """`sensors`: a device type's own sensor names (a turbofan's, a generic metric's), when they are not
        the product's; a prior of the type brings its own."""
        model = envelope.load(raw) if raw else None
        if model is not None and model.device_type == device_type:
            return model
        prior = self.priors.get(device_type)
        return federated.from_prior(prior) if prior is not None else DeviceModel(device_type, sensors)

    def restore(self, device_type: str, raw: bytes | None, inputs: Sequence[bytes]) -> DeviceModel:
        """`open`, then the readings learned since the envelope was stored (`input_of` each) learned again."""
        model = self.open(device_type, raw)
        replay(model, inputs)
        return model

    def close(self, model: DeviceModel) -> bytes:
        self.count_scored()
        return envelope.dump(model)

    def count_scored(self) -> None:
        if self.scored:
            _READING_UPDATES.inc(self.scored)
            self.scored = 0

    @staticmethod
    def input_of(reading: Reading) -> bytes:
        """What the model learns from `reading`, as bytes for `replay`: event time, throttling, sensor values."""
        return _encode_input((reading.ts, reading.throttled, _sensor_values(reading)))

    @staticmethod
    def assess(model: DeviceModel, reading: Reading) -> Assessment:
        return model.update(reading.ts, _values(_sensor_values(reading)), reading.throttled)

    def score(self, model: DeviceModel, reading: Reading, now_ms: int | None = None) -> tuple[Score, Assessment]:
        assessment = self.assess(model, reading)
        self.scored += 1
        return _score_record(reading.device_id, reading.ts, reading.seq, assessment, now_ms), assessment

    def score_values(
        self,
        model: DeviceModel,
        device_id: str,
        ts: int,
        seq: int,
        values: dict[str, float | None],
        throttled: int | None = None,
        now_ms: int | None = None,
    ) -> tuple[Score, Assessment]:
        """A reading as sensor values by the model's own names (also sensors beyond the product's: a
        turbofan's, a generic metric's), scored like `score`."""
        assessment = model.update(ts, values, throttled)
        self.scored += 1
        return _score_record(device_id, ts, seq, assessment, now_ms), assessment

    @staticmethod
    def learn(model: DeviceModel, event: FailureLabel | Feedback) -> bool:
        """A delayed label or a person's verdict; False when the model had nothing buffered to learn from."""
        if isinstance(event, FailureLabel):
            learned = model.learn_failure(event.failure_ts, event.onset_ts) > 0
        else:
            learned = model.learn_feedback(event.alert_ts, event.verdict == "right")
        if learned:
            telemetry.model_updates.labels(type(event).__struct_config__.tag).inc()  # failure_label | feedback
        return learned

    @staticmethod
    def aggregate(models: Iterable[DeviceModel]) -> list[federated.Prior]:
        """One prior per (device type, feature schema) among the given models."""
        groups: dict[tuple[str | None, str], list[DeviceModel]] = {}
        for model in models:
            groups.setdefault((model.device_type, model.schema_hash), []).append(model)
        return [federated.aggregate(group) for group in groups.values()]


def load(raw: bytes, inputs: Sequence[bytes]) -> DeviceModel | None:
    """The model an envelope and the readings learned since it stand for; None if the envelope is refused."""
    model = envelope.load(raw)
    if model is not None:
        replay(model, inputs)
    return model


def replay(model: DeviceModel, inputs: Sequence[bytes]) -> None:
    """Learn again, in order, readings a model learned after its envelope was stored (their scores were sent
    then). An input that does not fit this code's sensors is skipped and counted, never a crash."""
    for raw in inputs:
        try:
            ts, throttled, read = _decode_input(raw)
            fits = len(read) == len(_READING_SENSORS)
        except msgspec.DecodeError:  # ValidationError included
            fits = False
        if not fits:
            telemetry.envelope_rejections.labels("pending_input").inc()
            continue
        model.update(ts, _values(read), throttled)


def _values(read: tuple[float | None, ...]) -> dict[str, float | None]:
    # dict(zip(_READING_SENSORS, ...)) as a loop (compiled, the zip is a generic iterator making a tuple per item)
    values: dict[str, float | None] = {}
    for i in range(len(_READING_SENSORS)):
        values[_READING_SENSORS[i]] = read[i]
    return values


def _score_record(device_id: str, ts: int, seq: int, assessment: Assessment, now_ms: int | None) -> Score:
    reasons = [
        Reason(sensor=r.sensor, value=r.value, contribution=round(to_score(r.surprise), 4), detail=r.detail)
        for r in assessment.reasons
    ]
    score = Score(
        device_id=device_id,
        ts=ts,
        seq=seq,
        score=min(1.0, max(0.0, assessment.score)),
        model=MODEL_NAME,
        reasons=reasons,
        scored_at=now_ms if now_ms is not None else int(time.time() * 1000),
        warming_up=assessment.warming_up,
        time_to_limit_s=max(0.0, eta) if (eta := assessment.time_to_limit_s) is not None else None,
        drift=assessment.drift or None,  # omitted unless it happened: scores stay small
    )
    return score
