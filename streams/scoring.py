"""The scoring seam: per device and batch, `open` the scorer's state from the device's table value, `score`
each validated reading with its window/liveness context, `close` the state back to bytes (stored in the
same DeviceState, so it shares the replay guard and moves with the partition).

Two scorers, chosen by `worker_scorer`:
- `ModelScorer` (default): the per-device River failure model (streams/model/), warm-started from its
  type's fleet prior, taught by failure labels and feedback (`learn`).
- `BaselineScorer`: the stateless warning→critical rule (streams/baseline.py), a documented fallback and
  the evaluation baseline. It leaves a device's stored model bytes untouched, so switching back keeps them.
"""

from __future__ import annotations

from typing import Any, Protocol

from schemas import Reading, Score
from schemas.events import FailureLabel, Feedback
from streams import baseline
from streams.decoded import Decoded
from streams.liveness import Live
from streams.model.detector import MODEL_NAME, DeviceModel
from streams.model.service import ModelService
from streams.state import DeviceState
from streams.windows import WindowState


class DeviceContext:
    """What a scorer may know of the device beyond the reading; one per device and batch, not per reading."""

    __slots__ = ("live", "state", "windows")

    def __init__(self, windows: WindowState, live: Live, state: DeviceState) -> None:
        self.windows = windows  # 1-min buckets, open and recently closed; `.current(i)` = last 5 min
        self.live = live  # last seen, learned cadence, liveness state
        self.state = state

    @property
    def readings(self) -> int:
        """Readings applied for this device so far."""
        return self.state.readings


class Scorer(Protocol):
    name: str

    def open(self, device_id: str, device_type: str, raw: bytes) -> Any: ...

    def score(self, handle: Any, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score: ...

    def close(self, device_id: str, handle: Any) -> bytes: ...

    def learn(self, handle: Any, event: FailureLabel | Feedback) -> bool: ...


class BaselineScorer:
    name = baseline.MODEL

    def open(self, device_id: str, device_type: str, raw: bytes) -> bytes:
        return raw  # nothing to load; kept so close() gives the stored bytes back unchanged

    def score(self, handle: bytes, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score:
        return baseline.score(reading, now_ms)

    def close(self, device_id: str, handle: bytes) -> bytes:
        return handle

    def learn(self, handle: bytes, event: FailureLabel | Feedback) -> bool:
        return False  # a fixed rule learns nothing


class ModelScorer:
    def __init__(self, service: ModelService | None = None, cached_devices: int = 0) -> None:
        self.service = service or ModelService()
        self.name = MODEL_NAME
        self.decoded: Decoded[DeviceModel] = Decoded(cached_devices)

    def open(self, device_id: str, device_type: str, raw: bytes) -> Any:
        model = self.decoded.take(device_id, raw) if raw else None
        if model is not None and model.device_type == device_type:
            return model
        return self.service.open(device_type, raw or None)

    def score(self, handle: Any, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score:
        return self.service.score(handle, reading, now_ms)[0]

    def close(self, device_id: str, handle: Any) -> bytes:
        raw = self.service.close(handle)
        self.decoded.put(device_id, raw, handle)
        return raw

    def learn(self, handle: Any, event: FailureLabel | Feedback) -> bool:
        return self.service.learn(handle, event)


def make_scorer(kind: str, cached_devices: int = 0) -> Scorer:
    if kind == "baseline":
        return BaselineScorer()
    if kind == "model":
        return ModelScorer(cached_devices=cached_devices)
    raise ValueError(f"unknown scorer {kind!r}: expected 'model' or 'baseline'")
